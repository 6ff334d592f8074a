package security_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/datasurface/datasurface/model/lint"
	"github.com/datasurface/datasurface/model/load"
	"github.com/datasurface/datasurface/platforms/yellow/ylint"
	"github.com/datasurface/datasurface/services/security"
	"github.com/datasurface/datasurface/services/security/internal/securitytest"
	"github.com/datasurface/datasurface/services/security/internal/sqlcheck"
	"github.com/google/go-cmp/cmp"
)

const evilName = `x"; DROP TABLE t; --`

// copyTree copies examples/acme to a temporary directory.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestInjectionRejected: names crafted to inject SQL never reach the database. Model names that
// are not SQL identifiers and consumers that are not valid, reserved or managed principals are
// lint errors (DS-LINT-001, DS-LINT-089); a model that skipped lint is refused by the planner (plan
// errors, Apply changes nothing); consumers that are valid principals but full of quotes,
// semicolons and comments are quoted: each gets its membership and nothing else happens.
func TestInjectionRejected(t *testing.T) {
	dir := copyTree(t, "../../examples/acme")
	ws := filepath.Join(dir, "zones/europe/teams/analytics/workspaces")
	sa, err := os.ReadFile(filepath.Join(ws, "SalesAnalytics.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(ws, "SalesAnalytics.yaml"), strings.Replace(string(sa), "consumers: [bi_reader]",
		`consumers: [bi_reader, "bad\nname", postgres, PG_MONITOR, yellowlive_ws_riskanalytics, "`+strings.Repeat("l", 64)+`"]`, 1))
	write(t, filepath.Join(ws, "Evil.yaml"), `apiVersion: datasurface/v1
kind: Workspace
metadata:
  name: 'x"; DROP TABLE t; --'
  zone: Europe
  team: Analytics
spec:
  datasetGroups:
    - name: main
      platformRequirements: {milestoning: LIVE_ONLY}
      sinks:
        - {datastore: SalesDB, dataset: orders}
`)
	asg := filepath.Join(dir, "ecosystem/assignments.yaml")
	b, err := os.ReadFile(asg)
	if err != nil {
		t.Fatal(err)
	}
	write(t, asg, strings.Replace(string(b), "  datasetGroups:\n", "  datasetGroups:\n    - workspace: '"+evilName+"'\n      datasetGroup: main\n      platforms:\n        - platform: YellowLive\n          status: PROVISIONED\n", 1))

	res, err := load.Dir(dir, load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) > 0 {
		t.Fatalf("load problems: %v", res.Problems)
	}
	problems := lint.Run(res.Model, res.Source, lint.Options{Platforms: []lint.PlatformRules{ylint.Rules()}})
	var got []string
	for _, p := range problems {
		if p.Rule.ID == "DS-LINT-001" || p.Rule.ID == "DS-LINT-089" {
			got = append(got, p.Rule.ID+" "+p.Message)
		}
	}
	want := []string{
		"DS-LINT-089 consumer 'bad\\nname' of workspace 'SalesAnalytics' is not a valid role name (1–63 bytes, no control characters)",
		"DS-LINT-089 consumer 'postgres' of workspace 'SalesAnalytics' is reserved (postgres, public, pg_*)",
		"DS-LINT-089 consumer 'PG_MONITOR' of workspace 'SalesAnalytics' is reserved (postgres, public, pg_*)",
		"DS-LINT-089 consumer 'yellowlive_ws_riskanalytics' of workspace 'SalesAnalytics' is a datasurface-managed role",
		"DS-LINT-089 consumer '" + strings.Repeat("l", 64) + "' of workspace 'SalesAnalytics' is not a valid role name (1–63 bytes, no control characters)",
		"DS-LINT-001 workspace name '" + evilName + "' must start with a letter and contain only letters, digits and '_' (at most 128)",
	}
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lint problems (-want +got):\n%s", diff)
	}

	// The planner re-checks every name: the un-linted model is refused, nothing is executed.
	f := newFixture(t, &security.ModelVersion{Model: res.Model, Source: res.Source}, security.Config{}, security.Deps{})
	f.env.Exec(`CREATE TABLE public.t (x int)`)
	p := f.plan(platLive)
	for _, sub := range []string{"bad\\nname", `"postgres"`, `"PG_MONITOR"`, `"yellowlive_ws_riskanalytics"`, "llll", `workspace name "x\"; DROP TABLE t; --"`} {
		if !slices.ContainsFunc(p.GetErrors(), func(e string) bool { return strings.Contains(e, sub) }) {
			t.Errorf("no plan error mentions %s: %v", sub, p.GetErrors())
		}
	}
	for _, a := range p.GetActions() {
		if strings.Contains(a.GetStatement(), "DROP TABLE") && !strings.Contains(a.GetStatement(), `"x""; DROP TABLE t; --"`) {
			t.Errorf("unquoted injection in %s", a.GetStatement())
		}
	}
	_, err = f.svc.Activities().ApplyGrants(context.Background(), security.ApplyGrantsInput{Platform: platLive})
	if !security.IsPermanent(err) {
		t.Fatalf("apply of an un-linted model: %v", err)
	}
	if f.roleExists("yellowlive_owner") || !f.tableExists("public", "t") {
		t.Error("the refused plan changed the database")
	}
}

func (f *fixture) tableExists(schema, name string) bool {
	var ok bool
	if err := f.env.Admin.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2)`, schema, name).Scan(&ok); err != nil {
		f.t.Fatal(err)
	}
	return ok
}

// nastyPrincipals are valid role names (1–63 bytes, no control characters) that would break
// unquoted SQL.
var nastyPrincipals = []string{
	evilName,
	`Robert'); DROP TABLE t;--`,
	`a"b""c`,
	`semi;colon`,
	`dash--dash /* not a comment */`,
	`ünïcødé ロール`,
	`back\slash\`,
	`$$dollar$$ $tag$`,
	`"`,
	`'`,
	` leading and trailing `,
	`E'\x41'`,
}

// TestNastyConsumersAreQuoted: consumers whose names are full of SQL syntax get exactly their
// membership; every generated statement is exactly one statement; the catalog holds the exact
// names; nothing else happens (security.md §9 "SQL injection").
func TestNastyConsumersAreQuoted(t *testing.T) {
	mv := loadAcme(t)
	f := newFixture(t, mv, security.Config{}, security.Deps{})
	m := f.model()
	workspace(m, "SalesAnalytics").Access.Consumers = append([]string{"bi_reader"}, nastyPrincipals...)
	f.models.Add(m)
	for _, p := range nastyPrincipals {
		f.env.CreateRole(p, "LOGIN")
	}
	f.env.Exec(`CREATE TABLE public.t (x int)`, `CREATE ROLE y`)
	defer f.env.Exec(`DROP ROLE IF EXISTS y`)

	p := f.plan(platLive)
	if len(p.GetErrors()) > 0 {
		t.Fatalf("plan errors: %v", p.GetErrors())
	}
	for _, a := range p.GetActions() {
		if err := sqlcheck.Single(a.GetStatement()); err != nil {
			t.Errorf("%s: %v", a.GetStatement(), err)
		}
	}
	f.converge(platForensic, platLive)
	got := f.members("yellowlive_ws_salesanalytics")
	want := append([]string{"bi_reader"}, nastyPrincipals...)
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	if !f.tableExists("public", "t") || !f.roleExists("y") {
		t.Error("an injected statement ran")
	}
	orders := securitytest.Relation{Schema: "yellowlive_salesanalytics", Name: "yellowlive_salesanalytics_main_salesdb_orders_view_live", Kind: "v"}
	for _, p := range nastyPrincipals {
		if ok, err := f.env.CanSelect(p, orders); err != nil || !ok {
			t.Errorf("%q cannot read its view: %v %v", p, ok, err)
		}
	}

	// Remove them again: each is revoked by its exact name.
	m = f.model()
	workspace(m, "SalesAnalytics").Access.Consumers = []string{"bi_reader"}
	f.models.Add(m)
	if n := len(f.plan(platLive).GetActions()); n != len(nastyPrincipals) {
		t.Errorf("%d actions to revoke %d consumers", n, len(nastyPrincipals))
	}
	f.apply(platLive)
	if diff := cmp.Diff([]string{"bi_reader"}, f.members("yellowlive_ws_salesanalytics")); diff != "" {
		t.Errorf("members after removal (-want +got):\n%s", diff)
	}
	f.requireEmpty(platLive)
}
