package gate_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/datasurface/datasurface/model/compat"
	"github.com/datasurface/datasurface/model/gate"
	"github.com/datasurface/datasurface/model/load"
	"github.com/datasurface/datasurface/model/problem"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// Repositories of testdata/base (the example of spec/model.md §5 plus an empty team Marketing).
const (
	ecoRepo       = "acme/datasurface-model@eco"
	salesRepo     = "acme/datasurface-model@team-sales"
	analyticsRepo = "acme/datasurface-model@team-analytics"
)

// readTree reads testdata/<dir> into a map of model-relative paths.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	root := filepath.Join("testdata", dir)
	files := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// edit changes a model tree.
type edit func(t *testing.T, files map[string]string)

func replace(file, old, new string) edit {
	return func(t *testing.T, files map[string]string) {
		t.Helper()
		if !strings.Contains(files[file], old) {
			t.Fatalf("fixture: %q not found in %s", old, file)
		}
		files[file] = strings.Replace(files[file], old, new, 1)
	}
}

func put(file, content string) edit {
	return func(_ *testing.T, files map[string]string) { files[file] = content }
}

func remove(file string) edit {
	return func(_ *testing.T, files map[string]string) { delete(files, file) }
}

func apply(t *testing.T, files map[string]string, edits ...edit) map[string]string {
	t.Helper()
	out := maps.Clone(files)
	for _, e := range edits {
		e(t, out)
	}
	return out
}

func loadTree(t *testing.T, files map[string]string, opts load.Options) *load.Result {
	t.Helper()
	var in []load.File
	for _, p := range slices.Sorted(maps.Keys(files)) {
		in = append(in, load.File{Path: p, Content: []byte(files[p])})
	}
	res, err := load.Files(in, opts)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return res
}

var (
	addNullableColumn = replace("teams/sales/salesdb.yaml",
		"        - {name: placed_at, type: Timestamp, nullable: false}\n",
		"        - {name: placed_at, type: Timestamp, nullable: false}\n        - {name: channel, type: VarChar(20)}\n")
	removeColumn = replace("teams/sales/salesdb.yaml",
		"        - {name: placed_at, type: Timestamp, nullable: false}\n", "")
	singleDataset = replace("teams/sales/salesdb.yaml", "consistency: MULTI_DATASET", "consistency: SINGLE_DATASET")
	unknownField  = replace("teams/sales/salesdb.yaml", "  productionStatus: PRODUCTION\n", "  productionStatus: PRODUCTION\n  owner: sales\n")
	badEnum       = replace("teams/sales/salesdb.yaml", "productionStatus: PRODUCTION", "productionStatus: LIVE")
	yamlError     = put("broken.yaml", "apiVersion: datasurface/v1\nkind: [unclosed\n")
	ecoDoc        = replace("ecosystem.yaml", "documentation: Acme's data ecosystem", "documentation: Acme's data ecosystem, now with more data")
)

// phases renders the phase outcomes as "lint=passed source=…".
func phases(r *gate.Report) string {
	var out []string
	for _, p := range r.Phases {
		out = append(out, p.Name+"="+p.Status.String())
	}
	return strings.Join(out, " ")
}

func ruleIDs(r *gate.Report) []string {
	var out []string
	for _, p := range r.Problems {
		out = append(out, p.Severity.String()+" "+p.Rule.ID)
	}
	return out
}

func TestRun(t *testing.T) {
	tests := []struct {
		name         string
		noBase       bool
		base, head   []edit // base: applied to testdata/base; head: applied to the base
		source       string
		history      bool
		failOn       problem.Severity
		wantPhases   string
		wantProblems []string
		wantExit     int
		wantChanges  bool
	}{
		{
			name: "initial check-in by the owning repository", noBase: true, source: ecoRepo,
			wantPhases:   "lint=passed source=skipped authorization=passed compatibility=skipped",
			wantProblems: []string{"INFO DS-GATE-001", "INFO DS-LINT-087"},
			wantChanges:  true,
		},
		{
			name: "initial check-in by another repository", noBase: true, source: salesRepo,
			wantPhases:   "lint=passed source=skipped authorization=failed compatibility=skipped",
			wantProblems: []string{"INFO DS-GATE-001", "ERROR DS-AUTH-005", "INFO DS-LINT-087"},
			wantExit:     1,
		},
		{
			name: "compatible change by the owner", head: []edit{addNullableColumn}, source: salesRepo,
			wantPhases:   "lint=passed source=passed authorization=passed compatibility=passed",
			wantProblems: []string{"INFO DS-GATE-004", "INFO DS-LINT-087"},
			wantChanges:  true,
		},
		{
			name: "history given", head: []edit{addNullableColumn}, source: salesRepo, history: true,
			wantPhases:   "lint=passed source=passed authorization=passed compatibility=passed",
			wantProblems: []string{"INFO DS-LINT-087"},
			wantChanges:  true,
		},
		{
			name: "no change", source: analyticsRepo, history: true,
			wantPhases:   "lint=passed source=passed authorization=passed compatibility=passed",
			wantProblems: []string{"INFO DS-LINT-087"},
			wantChanges:  true,
		},
		{
			name: "lint error stops before the source check", head: []edit{unknownField}, source: "someone/fork@main",
			wantPhases:   "lint=failed source=skipped authorization=skipped compatibility=skipped",
			wantProblems: []string{"ERROR DS-LINT-006", "ERROR DS-LINT-006", "ERROR DS-LINT-006", "ERROR DS-LOAD-006"},
			wantExit:     1,
		},
		{
			name: "a YAML error in the head is a lint error", head: []edit{yamlError}, source: salesRepo,
			wantPhases:   "lint=failed source=skipped authorization=skipped compatibility=skipped",
			wantProblems: []string{"ERROR DS-LOAD-001", "INFO DS-LINT-087"},
			wantExit:     1,
		},
		{
			name: "unknown source stops before authorization", head: []edit{ecoDoc}, source: "someone/fork@main",
			wantPhases:   "lint=passed source=failed authorization=skipped compatibility=skipped",
			wantProblems: []string{"ERROR DS-AUTH-001", "INFO DS-LINT-087"},
			wantExit:     1,
		},
		{
			name: "unauthorized change stops before compatibility", head: []edit{removeColumn}, source: analyticsRepo,
			wantPhases:   "lint=passed source=passed authorization=failed compatibility=skipped",
			wantProblems: []string{"INFO DS-LINT-087", "ERROR DS-AUTH-002"},
			wantExit:     1,
		},
		{
			name: "breaking change", head: []edit{removeColumn}, source: salesRepo,
			wantPhases:   "lint=passed source=passed authorization=passed compatibility=failed",
			wantProblems: []string{"INFO DS-GATE-004", "INFO DS-LINT-087", "ERROR DS-COMPAT-COLUMN-REMOVED"},
			wantExit:     1,
		},
		{
			name: "a warning passes with --fail-on error", head: []edit{singleDataset}, source: salesRepo, history: true,
			wantPhases:   "lint=passed source=passed authorization=passed compatibility=passed",
			wantProblems: []string{"INFO DS-LINT-087", "WARNING DS-COMPAT-CONSISTENCY-CHANGED"},
			wantChanges:  true,
		},
		{
			name: "a warning fails with --fail-on warning", head: []edit{singleDataset}, source: salesRepo, history: true,
			failOn:       problem.Warning,
			wantPhases:   "lint=passed source=passed authorization=passed compatibility=passed",
			wantProblems: []string{"INFO DS-LINT-087", "WARNING DS-COMPAT-CONSISTENCY-CHANGED"},
			wantExit:     1, wantChanges: true,
		},
		{
			name: "base lint errors are one warning", base: []edit{badEnum}, head: []edit{replace("teams/sales/salesdb.yaml", "productionStatus: LIVE", "productionStatus: PRODUCTION")},
			source: salesRepo, history: true,
			wantPhases:   "lint=passed source=passed authorization=passed compatibility=passed",
			wantProblems: []string{"WARNING DS-GATE-002", "INFO DS-LINT-087"},
			wantChanges:  true,
		},
		{
			name: "base unknown fields are one warning", base: []edit{unknownField}, head: []edit{replace("teams/sales/salesdb.yaml", "  owner: sales\n", "")},
			source: salesRepo, history: true,
			wantPhases:   "lint=passed source=passed authorization=passed compatibility=passed",
			wantProblems: []string{"WARNING DS-GATE-003", "INFO DS-LINT-087"},
			wantChanges:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			baseTree := apply(t, readTree(t, "base"), tt.base...)
			in := gate.Input{
				Head:        loadTree(t, apply(t, baseTree, tt.head...), load.Options{Side: problem.Head}),
				BaseRef:     "origin/main",
				HeadRef:     "HEAD",
				Source:      tt.source,
				FailOn:      tt.failOn,
				ToolVersion: "0.0.0-test",
			}
			if !tt.noBase {
				in.Base = loadTree(t, baseTree, load.Options{Side: problem.Base, Lenient: true})
			}
			if tt.history {
				in.HistoryGiven = true
				in.History = []compat.Version{{Number: 1, Model: in.Base.Model}}
			}
			rep, err := gate.Run(t.Context(), in)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if diff := cmp.Diff(tt.wantPhases, phases(rep)); diff != "" {
				t.Errorf("phases (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantProblems, ruleIDs(rep)); diff != "" {
				t.Errorf("problems (-want +got):\n%s\n%s", diff, text(t, rep))
			}
			if diff := cmp.Diff(tt.wantExit, rep.ExitCode()); diff != "" {
				t.Errorf("exit code (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantChanges, rep.Changes != nil); diff != "" {
				t.Errorf("changes present (-want +got):\n%s", diff)
			}
			golden(t, rep)
		})
	}
}

func TestRunBaseUnusable(t *testing.T) {
	tests := []struct {
		name string
		base []edit
		want string
	}{
		{name: "YAML syntax error", base: []edit{yamlError}, want: "base model unusable: base:broken.yaml:"},
		{name: "no Ecosystem document", base: []edit{remove("ecosystem.yaml")}, want: "base model unusable: it has no Ecosystem document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := readTree(t, "base")
			_, err := gate.Run(t.Context(), gate.Input{
				Base:   loadTree(t, apply(t, files, tt.base...), load.Options{Side: problem.Base, Lenient: true}),
				Head:   loadTree(t, files, load.Options{Side: problem.Head}),
				Source: salesRepo,
			})
			var be *gate.BaseError
			if !errAs(err, &be) || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Run error = %v, want a *gate.BaseError starting with %q", err, tt.want)
			}
		})
	}
}

func text(t *testing.T, rep *gate.Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := gate.WriteText(&b, rep); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// golden compares the text, JSON and GitHub renderings of rep with testdata/golden/<test>.*,
// and checks the JSON against the report schema.
func golden(t *testing.T, rep *gate.Report) {
	t.Helper()
	name := strings.ReplaceAll(strings.TrimPrefix(t.Name(), "TestRun/"), " ", "_")
	renderers := []struct {
		ext   string
		write func(*bytes.Buffer, *gate.Report) error
	}{
		{"txt", func(b *bytes.Buffer, r *gate.Report) error { return gate.WriteText(b, r) }},
		{"json", func(b *bytes.Buffer, r *gate.Report) error { return gate.WriteJSON(b, r) }},
		{"github", func(b *bytes.Buffer, r *gate.Report) error { return gate.WriteGitHub(b, r) }},
		{"md", func(b *bytes.Buffer, r *gate.Report) error { return gate.WriteStepSummary(b, r) }},
	}
	for _, r := range renderers {
		var b bytes.Buffer
		if err := r.write(&b, rep); err != nil {
			t.Fatalf("%s: %v", r.ext, err)
		}
		compareGolden(t, filepath.Join("testdata", "golden", name+"."+r.ext), b.Bytes())
		if r.ext == "json" {
			var doc any
			if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
				t.Fatalf("report is not JSON: %v", err)
			}
			if errs := validateSchema(t, doc); len(errs) > 0 {
				t.Errorf("report does not match its schema:\n%s", strings.Join(errs, "\n"))
			}
		}
	}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}
