package main

import (
	"bytes"
	"flag"
	"fmt"
	"github.com/datasurface/datasurface/kit/pgtest"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datasurface/datasurface/model/compat"
	"github.com/datasurface/datasurface/model/gate"
	"github.com/datasurface/datasurface/model/schema"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const (
	salesRepo     = "acme/datasurface-model@team-sales"
	analyticsRepo = "acme/datasurface-model@team-analytics"
	ecoRepo       = "acme/datasurface-model@eco"
)

// Edits of testdata/base.
const salesDB = "teams/sales/salesdb.yaml"

var (
	lastColumn  = "        - {name: placed_at, type: Timestamp, nullable: false}\n"
	addedColumn = lastColumn + "        - {name: channel, type: VarChar(20)}\n"
)

// readTestdata reads testdata/base into a map of model-relative paths.
func readTestdata() (map[string]string, error) {
	root := filepath.Join("testdata", "base")
	files := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	return files, err
}

func edited(t *testing.T, files map[string]string, file, old, new string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range files {
		out[k] = v
	}
	if !strings.Contains(out[file], old) {
		t.Fatalf("fixture: %q not in %s", old, file)
	}
	out[file] = strings.Replace(out[file], old, new, 1)
	return out
}

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// setup builds, in a temporary directory that becomes the working directory:
//
//	base/      testdata/base
//	good/      base + a nullable column in SalesDB.orders (compatible, team Sales)
//	breaking/  base without SalesDB.orders.placed_at (breaking)
//	noeco/     base without its Ecosystem document
//	repo/      a git repository with the model under model/ and a README outside it:
//	           commit 1 (refs/remotes/origin/main, tag v1) = base,
//	           commit 2 = a README change only, commit 3 (branch feature-good) = good,
//	           commit 4 (branch feature-breaking, parent commit 1, HEAD) = breaking.
func setup(t *testing.T) {
	t.Helper()
	root := t.TempDir()
	t.Chdir(root)
	base := testdataBase
	good := edited(t, base, salesDB, lastColumn, addedColumn)
	breaking := edited(t, base, salesDB, lastColumn, "")
	writeTree(t, "base", base)
	writeTree(t, "good", good)
	writeTree(t, "breaking", breaking)
	noeco := edited(t, base, "ecosystem.yaml", "", "")
	delete(noeco, "ecosystem.yaml")
	writeTree(t, "noeco", noeco)

	repo, err := git.PlainInit("repo", false)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	commit := func(files map[string]string, readme, msg string) plumbing.Hash {
		t.Helper()
		writeTree(t, filepath.Join("repo", "model"), files)
		if err := os.WriteFile(filepath.Join("repo", "README.md"), []byte(readme), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
			t.Fatal(err)
		}
		h, err := wt.Commit(msg, &git.CommitOptions{All: true, Author: &object.Signature{
			Name: "test", Email: "test@example.com", When: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		}})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	c1 := commit(base, "v1\n", "base")
	ref := func(name string, h plumbing.Hash) {
		t.Helper()
		if err := repo.Storer.SetReference(plumbing.NewHashReference(plumbing.ReferenceName(name), h)); err != nil {
			t.Fatal(err)
		}
	}
	ref("refs/remotes/origin/main", c1)
	ref("refs/tags/v1", c1)
	commit(base, "v2\n", "readme only")
	c3 := commit(good, "v2\n", "good")
	ref("refs/heads/feature-good", c3)
	if err := wt.Checkout(&git.CheckoutOptions{Hash: c1, Branch: "refs/heads/feature-breaking", Create: true}); err != nil {
		t.Fatal(err)
	}
	commit(breaking, "v1\n", "breaking")
}

// testdataBase is testdata/base, read once by TestMain (tests change the working directory).
var testdataBase map[string]string

// packageDir is the package directory, for golden files after t.Chdir.
var packageDir string

func TestMain(m *testing.M) {
	flag.Parse()
	var err error
	if packageDir, err = os.Getwd(); err != nil {
		panic(err)
	}
	if testdataBase, err = readTestdata(); err != nil {
		panic(err)
	}
	code := m.Run()
	pgtest.Shutdown()
	os.Exit(code)
}

// runCLI runs a command line and returns its stdout, stderr and exit code.
func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(t.Context(), args, &out, &errb)
	code := exitCode(err, &errb)
	return out.String(), errb.String(), code
}

func compareGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(packageDir, "testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStderr string // a substring of stderr; "" = stderr must be empty
	}{
		{name: "dirs pass", args: []string{"--base", "base", "--head", "good", "--source", salesRepo}},
		{name: "dirs json", args: []string{"--base", "base", "--head", "good", "--source", salesRepo, "--format", "json"}},
		{name: "dirs github", args: []string{"--base", "base", "--head", "good", "--source", analyticsRepo, "--format", "github"}, wantCode: 1},
		{name: "breaking change", args: []string{"--base", "base", "--head", "breaking", "--source", salesRepo}, wantCode: 1},
		{name: "breaking change json", args: []string{"--base", "base", "--head", "breaking", "--source", salesRepo, "--format", "json"}, wantCode: 1},
		{name: "unauthorized", args: []string{"--base", "base", "--head", "good", "--source", analyticsRepo}, wantCode: 1},
		{name: "unknown source", args: []string{"--base", "base", "--head", "good", "--source", "someone/fork@main"}, wantCode: 1},
		{name: "initial check-in", args: []string{"--base", "none", "--head", "base", "--source", ecoRepo}},
		{name: "initial check-in by a team", args: []string{"--base", "none", "--head", "base", "--source", salesRepo, "--format", "json"}, wantCode: 1},
		{name: "git revisions", args: []string{"--repo", "repo", "--path", "model", "--base", "origin/main", "--head", "feature-good", "--source", salesRepo}},
		{name: "git revisions with history", args: []string{"--repo", "repo", "--path", "model", "--base", "v1", "--head", "feature-good", "--source", salesRepo, "--history", "origin/main..feature-good"}},
		{name: "git breaking", args: []string{"--repo", "repo", "--path", "model", "--base", "origin/main", "--head", "feature-breaking", "--source", salesRepo}, wantCode: 1},
		{name: "git HEAD", args: []string{"--repo", "repo", "--path", "model", "--base", "origin/main", "--head", "HEAD", "--source", salesRepo, "--format", "github"}, wantCode: 1},
		{name: "fail on warning", args: []string{"--base", "base", "--head", "good", "--source", salesRepo, "--fail-on", "warning"}},
		{
			name: "step summary", args: []string{"--base", "base", "--head", "breaking", "--source", salesRepo, "--format", "github"},
			env: map[string]string{envStepSummary: "summary.md"}, wantCode: 1,
		},
		// Exit code 2: the check cannot run.
		{name: "missing base", args: []string{"--head", "good", "--source", salesRepo}, wantCode: 2, wantStderr: "--base is required"},
		{name: "missing source", args: []string{"--base", "base", "--head", "good"}, wantCode: 2, wantStderr: "--source is required"},
		{name: "bad format", args: []string{"--base", "base", "--source", salesRepo, "--format", "xml"}, wantCode: 2, wantStderr: `--format must be one of text, json, github, not "xml"`},
		{name: "bad fail-on", args: []string{"--base", "base", "--source", salesRepo, "--fail-on", "info"}, wantCode: 2, wantStderr: "--fail-on must be one of error, warning"},
		{name: "unknown flag", args: []string{"--bogus"}, wantCode: 2, wantStderr: "flag provided but not defined: -bogus"},
		{name: "extra argument", args: []string{"--base", "base", "--source", salesRepo, "extra"}, wantCode: 2, wantStderr: `unexpected argument "extra"`},
		{name: "unknown revision", args: []string{"--repo", "repo", "--base", "nosuchbranch", "--head", "good", "--source", salesRepo}, wantCode: 2, wantStderr: `unknown git revision "nosuchbranch"`},
		{name: "not a repository", args: []string{"--repo", "base", "--base", "nosuchdir", "--head", "good", "--source", salesRepo}, wantCode: 2, wantStderr: `"nosuchdir" is not a directory and cannot be read as a git revision`},
		{name: "unknown history revision", args: []string{"--repo", "repo", "--path", "model", "--base", "v1", "--head", "feature-good", "--source", salesRepo, "--history", "nope..feature-good"}, wantCode: 2, wantStderr: `--history: unknown git revision "nope"`},
		{name: "base without ecosystem", args: []string{"--base", "noeco", "--head", "good", "--source", salesRepo}, wantCode: 2, wantStderr: "it has no Ecosystem document"},
		{name: "help", args: []string{"-h"}, wantStderr: "Usage: datasurface validate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setup(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			if _, ok := tt.env[envStepSummary]; !ok {
				t.Setenv(envStepSummary, "")
			}
			stdout, stderr, code := runCLI(t, append([]string{"validate"}, tt.args...)...)
			if diff := cmp.Diff(tt.wantCode, code); diff != "" {
				t.Errorf("exit code (-want +got):\n%s\nstdout:\n%s\nstderr:\n%s", diff, stdout, stderr)
			}
			if tt.wantStderr == "" && stderr != "" || !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantStderr)
			}
			if code != 2 && tt.name != "help" {
				compareGolden(t, "validate/"+strings.ReplaceAll(tt.name, " ", "_")+".out", stdout)
			} else if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if p, ok := tt.env[envStepSummary]; ok {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				compareGolden(t, "validate/"+strings.ReplaceAll(tt.name, " ", "_")+".md", string(b))
			}
		})
	}
}

func TestValidateOutputFile(t *testing.T) {
	setup(t)
	stdout, stderr, code := runCLI(t, "validate", "--base", "base", "--head", "breaking", "--source", salesRepo,
		"--format", "json", "--output", "report.json")
	if diff := cmp.Diff(1, code); diff != "" {
		t.Errorf("exit code (-want +got):\n%s\n%s", diff, stderr)
	}
	if diff := cmp.Diff("", stdout+stderr); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	b, err := os.ReadFile("report.json")
	if err != nil {
		t.Fatal(err)
	}
	compareGolden(t, "validate/breaking_change_json.out", string(b))
}

func TestValidatePrintReportSchema(t *testing.T) {
	stdout, stderr, code := runCLI(t, "validate", "--print-report-schema")
	if diff := cmp.Diff(0, code); diff != "" {
		t.Errorf("exit code (-want +got):\n%s\n%s", diff, stderr)
	}
	if diff := cmp.Diff(string(gate.ReportSchema()), stdout); diff != "" {
		t.Errorf("schema (-want +got):\n%s", diff)
	}
}

func TestModel(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{name: "lint", args: []string{"model", "lint", "base"}},
		{name: "lint breaking head", args: []string{"model", "lint", "breaking"}},
		{name: "lint without ecosystem", args: []string{"model", "lint", "noeco"}, wantCode: 1},
		{name: "lint missing directory", args: []string{"model", "lint", "nosuchdir"}, wantCode: 2, wantStderr: "model lint:"},
		{name: "lint without argument", args: []string{"model", "lint"}, wantCode: 2, wantStderr: "expected one directory"},
		{name: "diff directories", args: []string{"model", "diff", "base", "good"}},
		{name: "diff identical", args: []string{"model", "diff", "base", "base"}},
		{name: "diff git revisions", args: []string{"model", "diff", "--repo", "repo", "--path", "model", "origin/main", "feature-breaking"}},
		{name: "diff unknown revision", args: []string{"model", "diff", "--repo", "repo", "base", "nope"}, wantCode: 2, wantStderr: `unknown git revision "nope"`},
		{name: "diff without ecosystem", args: []string{"model", "diff", "noeco", "base"}, wantCode: 2, wantStderr: "cannot be loaded"},
		{name: "no model command", args: []string{"model"}, wantCode: 2, wantStderr: "missing command"},
		{name: "unknown model command", args: []string{"model", "frobnicate"}, wantCode: 2, wantStderr: `unknown command "frobnicate"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setup(t)
			stdout, stderr, code := runCLI(t, tt.args...)
			if diff := cmp.Diff(tt.wantCode, code); diff != "" {
				t.Errorf("exit code (-want +got):\n%s\nstdout:\n%s\nstderr:\n%s", diff, stdout, stderr)
			}
			if tt.wantStderr == "" && stderr != "" || !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantStderr)
			}
			if code != 2 {
				compareGolden(t, "model/"+strings.ReplaceAll(tt.name, " ", "_")+".out", stdout)
			}
		})
	}
}

func TestModelSchema(t *testing.T) {
	want, err := schema.JSON()
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCLI(t, "model", "schema")
	if diff := cmp.Diff(0, code); diff != "" {
		t.Errorf("exit code (-want +got):\n%s\n%s", diff, stderr)
	}
	if diff := cmp.Diff(string(want), stdout); diff != "" {
		t.Errorf("schema (-want +got):\n%s", diff)
	}
}

func TestTopLevel(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "version", args: []string{"version"}, wantStdout: "datasurface " + version + "\n"},
		{name: "help", args: []string{"-h"}, wantStdout: "Usage: datasurface <command>"},
		{name: "model help", args: []string{"model", "help"}, wantStdout: "Usage: datasurface model <command>"},
		{name: "no command", args: nil, wantCode: 2, wantStderr: "missing command"},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: 2, wantStderr: `unknown command "frobnicate"`},
		{name: "version with argument", args: []string{"version", "x"}, wantCode: 2, wantStderr: `unexpected argument "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, tt.args...)
			if diff := cmp.Diff(tt.wantCode, code); diff != "" {
				t.Errorf("exit code (-want +got):\n%s", diff)
			}
			if !strings.HasPrefix(stdout, tt.wantStdout) {
				t.Errorf("stdout = %q, want it to start with %q", stdout, tt.wantStdout)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantStderr)
			}
		})
	}
}

// TestVersionFile keeps the version in step with the repository's VERSION file.
func TestVersionFile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(strings.TrimSpace(string(b)), version); diff != "" {
		t.Errorf("version (-want +got):\n%s", diff)
	}
}

func TestFormatChange(t *testing.T) {
	const kind = modelv1.ChangeKind_CHANGE_KIND_COLUMN_WIDENED
	tests := []struct {
		name, before, after, want string
	}{
		{"both", "VarChar(20)", "VarChar(40)", "COLUMN_WIDENED p VarChar(20) → VarChar(40)"},
		{"after only", "", "VarChar(40)", "COLUMN_WIDENED p → VarChar(40)"},
		{"before only", "VarChar(20)", "", "COLUMN_WIDENED p VarChar(20) →"},
		{"neither", "", "", "COLUMN_WIDENED p"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, formatChange(kind, "p", tt.before, tt.after)); diff != "" {
				t.Errorf("formatChange (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHistory(t *testing.T) {
	setup(t)
	// columns returns the number of columns of SalesDB.orders in a version.
	columns := func(v compat.Version) int {
		for _, d := range v.Model.GetDatastores() {
			if d.GetName() == "SalesDB" {
				return len(d.GetDatasets()[1].GetColumns())
			}
		}
		return -1
	}
	tests := []struct {
		name string
		rng  string
		want []string // "number:columns of SalesDB.orders", newest first
	}{
		// feature-good = commit 3 (good) ← commit 2 (README only, same model) ← commit 1 (base).
		{name: "range stops at the merge base", rng: "origin/main..feature-good", want: []string{"2:5", "1:4"}},
		{name: "identical models are loaded once", rng: "feature-good", want: []string{"2:5", "1:4"}},
		{name: "open end is HEAD", rng: "origin/main..", want: []string{"1:3"}},
		{name: "empty range", rng: "feature-good..feature-good", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &resolver{repoDir: "repo", path: "model"}
			vs, err := r.history(t.Context(), tt.rng)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range vs {
				got = append(got, fmt.Sprintf("%d:%d", v.Number, columns(v)))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("history(%q) (-want +got):\n%s", tt.rng, diff)
			}
		})
	}
}
