package main

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/datasurface/datasurface/kit/pgtest"
	"github.com/jackc/pgx/v5"
)

// TestSecurityLocal runs `datasurface security plan|apply` in local mode (--model, --dsn)
// against a real merge database: without the platform's merge credential the plan shows an
// error naming it and apply exits 1 with it; with the credentials the plan lists the changes
// (text and JSON, passwords redacted), apply applies them and the next plan is empty.
func TestSecurityLocal(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db := strings.TrimPrefix(u.Path, "/")
	admin, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	roles := []string{"cli_sec_login", "cli_merge_live"}
	t.Cleanup(func() {
		ctx := context.Background()
		defer admin.Close(ctx)
		rows, err := admin.Query(ctx, `SELECT r.rolname::text FROM pg_catalog.pg_roles r
JOIN pg_catalog.pg_shdescription d ON d.objoid = r.oid AND d.classoid = 'pg_catalog.pg_authid'::pg_catalog.regclass
WHERE d.description LIKE 'datasurface:managed %'`)
		if err == nil {
			managed, _ := pgx.CollectRows(rows, pgx.RowTo[string])
			roles = append(managed, roles...)
		}
		for _, r := range roles {
			_, _ = admin.Exec(ctx, "DROP OWNED BY "+pgx.Identifier{r}.Sanitize()+" CASCADE")
		}
		for _, r := range roles {
			if _, err := admin.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{r}.Sanitize()); err != nil {
				t.Logf("cleanup: %v", err)
			}
		}
	})
	for _, s := range []string{
		"CREATE ROLE cli_sec_login LOGIN CREATEROLE",
		"GRANT CREATE, CONNECT ON DATABASE " + pgx.Identifier{db}.Sanitize() + " TO cli_sec_login WITH GRANT OPTION",
		"CREATE ROLE cli_merge_live LOGIN",
	} {
		if _, err := admin.Exec(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	u.User = url.User("cli_sec_login")
	base := []string{"--model", "../../examples/acme", "--platform", "YellowLive", "--dsn", u.String()}

	// No merge credential: a plan error, and apply exits 1 naming it.
	out, _, code := runCLI(t, append([]string{"security", "plan"}, base...)...)
	const missing = "mergeCredential YELLOWLIVE_MERGE cannot be resolved"
	if code != exitProblems || !strings.Contains(out, "  x platform 'YellowLive': "+missing) {
		t.Errorf("plan without the merge credential: exit %d\n%s", code, out)
	}
	_, errOut, code := runCLI(t, append([]string{"security", "apply"}, base...)...)
	if code != exitProblems || !strings.Contains(errOut, "security apply: ") || !strings.Contains(errOut, missing) {
		t.Errorf("apply without the merge credential: exit %d\n%s", code, errOut)
	}

	t.Setenv("YELLOWLIVE_MERGE_USER", "cli_merge_live")
	t.Setenv("YELLOWLIVE_MERGE_PASSWORD", "unused")
	t.Setenv("YELLOWLIVE_DT_CUSTOMERTOTALS_USER", "yellowlive_dt_customertotals")
	t.Setenv("YELLOWLIVE_DT_CUSTOMERTOTALS_PASSWORD", "Kn0wnCliSecret")
	out, _, code = runCLI(t, append([]string{"security", "plan"}, base...)...)
	if code != exitOK || !strings.HasPrefix(out, "plan platform=YellowLive model=local: ") ||
		!strings.Contains(out, `  + create role "yellowlive_ws_salesanalytics"`) {
		t.Errorf("plan: exit %d\n%s", code, out)
	}
	out, _, code = runCLI(t, append([]string{"security", "plan", "--format", "json"}, base...)...)
	var p planJSON
	if err := json.Unmarshal([]byte(out), &p); err != nil || code != exitOK {
		t.Fatalf("plan --format json: exit %d, %v\n%s", code, err, out)
	}
	redacted := false
	for _, a := range p.Actions {
		if strings.Contains(a.Statement, "PASSWORD") {
			redacted = redacted || strings.Contains(a.Statement, "PASSWORD '<redacted>'")
		}
	}
	if p.Platform != "YellowLive" || len(p.Actions) == 0 || !redacted || strings.Contains(out, "Kn0wnCliSecret") {
		t.Errorf("plan JSON: platform %q, %d actions, password redacted %v", p.Platform, len(p.Actions), redacted)
	}
	out, _, code = runCLI(t, append([]string{"security", "apply"}, base...)...)
	if code != exitOK || !strings.HasPrefix(out, "applied platform=YellowLive") || strings.Contains(out, "Kn0wnCliSecret") {
		t.Errorf("apply: exit %d\n%s", code, out)
	}
	out, _, code = runCLI(t, append([]string{"security", "plan"}, base...)...)
	if code != exitOK || !strings.HasPrefix(out, "plan platform=YellowLive model=local: 0 changes, 0 destructive") {
		t.Errorf("plan after apply: exit %d\n%s", code, out)
	}
}
