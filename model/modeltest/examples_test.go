package modeltest

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/datasurface/datasurface/model/gate"
	"github.com/datasurface/datasurface/model/lint"
	"github.com/datasurface/datasurface/model/load"
	"github.com/datasurface/datasurface/model/problem"
)

// These tests load the example models and generated models with the real loader and lint them
// (without platform rules: package model never imports a platform; the Yellow rules are
// exercised on the same models by platforms/yellow).

const examples = "../../examples"

// lintDir loads and lints a model directory and returns every problem, sorted.
func lintDir(t testing.TB, dir string) []problem.Problem {
	t.Helper()
	r, err := load.Dir(dir, load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ps := append(slices.Clone(r.Problems), lint.Run(r.Model, r.Source, lint.Options{})...)
	problem.Sort(ps)
	return ps
}

func format(ps []problem.Problem) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "  %s %s %s %s: %s\n", p.Pos, p.Severity, p.Rule.ID, p.Path, p.Message)
	}
	return b.String()
}

// above returns the problems of severity Warning or Error.
func above(ps []problem.Problem) []problem.Problem {
	var out []problem.Problem
	for _, p := range ps {
		if p.Severity >= problem.Warning {
			out = append(out, p)
		}
	}
	return out
}

// acmeMasked is what examples/acme/README.md promises: the sinks with masked columns.
var acmeMasked = []string{
	"workspace[CustomerTotals]/dsg[inputs]/sink[SalesDB.customers]",
	"workspace[PaymentsOps]/dsg[ops]/sink[PaymentsDB.accounts]",
	"workspace[PaymentsOps]/dsg[ops]/sink[PaymentsDB.transactions]",
	"workspace[RiskAnalytics]/dsg[alerts]/sink[PaymentsDB.transactions]",
	"workspace[RiskAnalytics]/dsg[history]/sink[PaymentsDB.transactions]",
	"workspace[RiskAnalytics]/dsg[history]/sink[SalesDB.customers]",
}

// checkAcmeLike asserts that ps are exactly the INFO problems of the Acme model (plus extra
// error rule ids, in order).
func checkAcmeLike(t *testing.T, ps []problem.Problem, wantErrors ...string) {
	t.Helper()
	var masked, errs []string
	for _, p := range ps {
		switch {
		case p.Severity == problem.Info && p.Rule.ID == "DS-LINT-087":
			masked = append(masked, p.Path)
		case p.Severity == problem.Error:
			errs = append(errs, p.Rule.ID)
		default:
			t.Errorf("unexpected problem:\n%s", format([]problem.Problem{p}))
		}
	}
	slices.Sort(masked)
	if !slices.Equal(masked, acmeMasked) {
		t.Errorf("masked sinks = %q, want %q", masked, acmeMasked)
	}
	if !slices.Equal(errs, wantErrors) {
		t.Errorf("errors = %q, want %q:\n%s", errs, wantErrors, format(ps))
	}
}

func TestAcmeLintsClean(t *testing.T) {
	ps := lintDir(t, filepath.Join(examples, "acme"))
	checkAcmeLike(t, ps)
}

// yamlFiles returns the model files under root (relative, slash-separated) with their content.
func yamlFiles(t *testing.T, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		data, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var expectedLine = regexp.MustCompile(`(?m)^Expected: --source (\S+) → (PASS|FAIL)(?: (DS-[A-Z0-9-]+))?`)

func TestChangeScenarios(t *testing.T) {
	acme := yamlFiles(t, filepath.Join(examples, "acme"))
	scenarios := []struct {
		name string
		// file is the one model file the scenario edits.
		file string
		// lintErrors are the rule ids of the head's lint errors.
		lintErrors []string
	}{
		{name: "add-nullable-column", file: "zones/europe/teams/sales/datastores/SalesDB.yaml"},
		{name: "drop-column", file: "zones/europe/teams/sales/datastores/SalesDB.yaml"},
		{name: "widen-column", file: "zones/europe/teams/sales/datastores/SalesDB.yaml"},
		{name: "remove-deprecated-dataset", file: "zones/europe/teams/sales/datastores/SalesDB.yaml"},
		{name: "add-not-null-column", file: "zones/americas/teams/payments/datastores/PaymentsDB.yaml"},
		{name: "unauthorized", file: "zones/americas/teams/payments/datastores/PaymentsDB.yaml"},
		{name: "lint-error", file: "zones/americas/teams/risk/workspaces/RiskAnalytics.yaml", lintErrors: []string{"DS-LINT-081"}},
	}
	entries, err := os.ReadDir(filepath.Join(examples, "changes"))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	var names []string
	for _, s := range scenarios {
		names = append(names, s.name)
	}
	slices.Sort(names)
	if !slices.Equal(dirs, names) {
		t.Errorf("examples/changes holds %q, the test knows %q", dirs, names)
	}

	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			dir := filepath.Join(examples, "changes", s.name)
			// A complete copy of acme that differs in exactly one file (run
			// examples/changes/regenerate.sh after editing acme).
			head := yamlFiles(t, dir)
			if !slices.Equal(sortedKeys(head), sortedKeys(acme)) {
				t.Fatalf("files differ from examples/acme's: %q", sortedKeys(head))
			}
			for p, data := range head {
				if differs := !bytes.Equal(data, acme[p]); differs != (p == s.file) {
					t.Errorf("%s: differs from acme = %v, want %v (run examples/changes/regenerate.sh)", p, differs, !differs)
				}
			}
			readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
			if err != nil {
				t.Fatal(err)
			}
			if m := expectedLine.FindAllStringSubmatch(string(readme), -1); len(m) == 0 {
				t.Errorf("README.md has no line 'Expected: --source <repo> → PASS|FAIL [rule]'")
			} else if len(s.lintErrors) > 0 && (m[0][2] != "FAIL" || m[0][3] != s.lintErrors[0]) {
				t.Errorf("README.md expects %s %s, lint finds %q", m[0][2], m[0][3], s.lintErrors)
			}
			checkAcmeLike(t, lintDir(t, dir), s.lintErrors...)
		})
	}
}

// TestChangeScenarioVerdicts runs the gate on every "Expected:" line of the scenario READMEs.
func TestChangeScenarioVerdicts(t *testing.T) {
	base, err := load.Dir(filepath.Join(examples, "acme"), load.Options{Side: problem.Base, Lenient: true})
	if err != nil {
		t.Fatal(err)
	}
	readmes, err := filepath.Glob(filepath.Join(examples, "changes", "*", "README.md"))
	if err != nil || len(readmes) == 0 {
		t.Fatalf("no scenario READMEs: %v", err)
	}
	for _, readme := range readmes {
		dir := filepath.Dir(readme)
		text, err := os.ReadFile(readme)
		if err != nil {
			t.Fatal(err)
		}
		head, err := load.Dir(dir, load.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range expectedLine.FindAllStringSubmatch(string(text), -1) {
			source, verdict, rule := m[1], m[2], m[3]
			t.Run(filepath.Base(dir)+"/"+source, func(t *testing.T) {
				r, err := gate.Run(context.Background(), gate.Input{
					Base: base, Head: head, BaseRef: "examples/acme", HeadRef: dir, Source: source,
				})
				if err != nil {
					t.Fatal(err)
				}
				if got := map[bool]string{true: "PASS", false: "FAIL"}[r.Passed]; got != verdict {
					t.Errorf("verdict %s, README says %s:\n%s", got, verdict, format(r.Problems))
				}
				if rule != "" && !slices.ContainsFunc(r.Problems, func(p problem.Problem) bool {
					return p.Rule.ID == rule && p.Severity == problem.Error
				}) {
					t.Errorf("no ERROR %s:\n%s", rule, format(r.Problems))
				}
				if verdict == "PASS" {
					if bad := above(r.Problems); len(bad) > 0 {
						t.Errorf("a passing change has warnings:\n%s", format(bad))
					}
				}
			})
		}
	}
}

func TestGeneratedModelLintsClean(t *testing.T) {
	cfg := smallConfig()
	cfg.Datastores, cfg.Workspaces, cfg.SinksPerWorkspace = 120, 30, 8
	cfg.DatasetsPerDatastore, cfg.ColumnsPerDataset = 4, 7
	dir := t.TempDir()
	if err := Generate(dir, cfg); err != nil {
		t.Fatal(err)
	}
	ps := lintDir(t, dir)
	if bad := above(ps); len(bad) > 0 {
		t.Fatalf("generated model has problems:\n%s", format(bad))
	}
	for _, p := range ps {
		if p.Rule.ID != "DS-LINT-087" {
			t.Errorf("unexpected INFO:\n%s", format([]problem.Problem{p}))
		}
	}
	if len(ps) == 0 {
		t.Error("no masked columns in the generated model; expected some PC1 columns to be masked")
	}

	team := Teams(cfg)[len(Teams(cfg))-1]
	if err := Change(dir, team); err != nil {
		t.Fatal(err)
	}
	r, err := load.Dir(dir, load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if bad := above(append(slices.Clone(r.Problems), lint.Run(r.Model, r.Source, lint.Options{})...)); len(bad) > 0 {
		t.Fatalf("changed model has problems:\n%s", format(bad))
	}
	found := false
	for _, w := range r.Model.GetWorkspaces() {
		found = found || w.GetName() == ChangeWorkspace(team)
	}
	if !found {
		t.Errorf("workspace %s not in the changed model", ChangeWorkspace(team))
	}
	added := 0
	for _, s := range r.Model.GetDatastores() {
		for _, c := range s.GetDatasets()[0].GetColumns() {
			if c.GetName() == ChangeColumn {
				added++
				if !c.GetNullable() {
					t.Errorf("%s.%s is not nullable", s.GetName(), ChangeColumn)
				}
				if s.GetZone()+"/"+s.GetTeam() != team {
					t.Errorf("%s of team %s/%s got %s", s.GetName(), s.GetZone(), s.GetTeam(), ChangeColumn)
				}
			}
		}
	}
	if want := cfg.Datastores / (cfg.Zones * cfg.TeamsPerZone); added < want {
		t.Errorf("%d datastores got %s, want at least %d", added, ChangeColumn, want)
	}
}

// TestGeneratedChangePassesGate checks that Change is a compatible change that the gate accepts
// from the team's repository only.
func TestGeneratedChangePassesGate(t *testing.T) {
	cfg := smallConfig()
	base, head := t.TempDir(), filepath.Join(t.TempDir(), "head")
	if err := Generate(base, cfg); err != nil {
		t.Fatal(err)
	}
	if err := CopyTree(base, head); err != nil {
		t.Fatal(err)
	}
	team := Teams(cfg)[1]
	if err := Change(head, team); err != nil {
		t.Fatal(err)
	}
	b, err := load.Dir(base, load.Options{Side: problem.Base, Lenient: true})
	if err != nil {
		t.Fatal(err)
	}
	h, err := load.Dir(head, load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	run := func(source string) *gate.Report {
		r, err := gate.Run(context.Background(), gate.Input{Base: b, Head: h, Source: source})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := run(TeamRepo(team)); !r.Passed || len(above(r.Problems)) > 0 {
		t.Errorf("the change of %s from %s: passed=%v\n%s", team, TeamRepo(team), r.Passed, format(above(r.Problems)))
	} else if len(r.Changes) == 0 {
		t.Error("a passing change has an empty change set")
	}
	other := Teams(cfg)[0]
	if r := run(TeamRepo(other)); r.Passed || !slices.ContainsFunc(r.Problems, func(p problem.Problem) bool {
		return p.Rule.ID == "DS-AUTH-002"
	}) {
		t.Errorf("the change of %s from %s: passed=%v, want DS-AUTH-002\n%s", team, TeamRepo(other), r.Passed, format(r.Problems))
	}
}
