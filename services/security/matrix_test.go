package security_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/datasurface/datasurface/services/security"
	"github.com/datasurface/datasurface/services/security/internal/securitytest"
	"github.com/google/go-cmp/cmp"
)

// TestAccessMatrix applies examples/acme (YellowLive and YellowForensic on one merge database)
// and then connects as every principal and tries SELECT on every table and view of the
// database: it succeeds exactly where the model grants it (security.md §9 "masking bypass"),
// never on staging, merge or bookkeeping tables, never on another workspace's views; masked
// columns come back NULL; a second apply is an empty plan.
func TestAccessMatrix(t *testing.T) {
	f := newFixture(t, loadAcme(t), security.Config{}, security.Deps{})
	f.converge(platForensic, platLive)

	exp := expect(f.model(), f.logins)
	rels := f.env.Relations()
	principals := append(slices.Clone(acmeConsumers), dtRole, mergeLive, mergeForensic)
	var kinds = map[string]int{}
	checked, granted := 0, 0
	for _, r := range rels {
		kinds[relKind(r)]++
	}
	if kinds["staging table"] == 0 || kinds["merge table"] == 0 || kinds["view"] == 0 || kinds["transformer output"] == 0 || kinds["bookkeeping table"] == 0 {
		t.Fatalf("the platforms lack tables or views: %v", kinds)
	}
	for _, p := range principals {
		for _, r := range rels {
			got, err := f.env.CanSelect(p, r)
			if err != nil {
				t.Fatalf("SELECT %s as %s: %v", r.QName(), p, err)
			}
			want := exp.allowed(p, r)
			if got != want {
				t.Errorf("%s on %s %s: SELECT succeeded=%v, model grants=%v", p, relKind(r), r.QName(), got, want)
			}
			checked++
			if got {
				granted++
			}
			isConsumer := slices.Contains(acmeConsumers, p) || p == dtRole
			if got && isConsumer && r.Kind != "v" && !strings.HasPrefix(r.Schema, "yellowlive_dt_") {
				t.Errorf("consumer %s can read table %s", p, r.QName())
			}
		}
	}
	t.Logf("access matrix: %d principals × %d relations (%v) = %d checks, %d granted", len(principals), len(rels), kinds, checked, granted)

	// Writes: only a transformer, on its own output tables, and a merge login (as its platform's
	// owner), on its platform's objects, may INSERT, UPDATE, DELETE or TRUNCATE (security.md §1).
	writers := 0
	for _, p := range principals {
		for _, r := range rels {
			var can bool
			if err := f.env.Admin.QueryRow(context.Background(), `SELECT pg_catalog.has_table_privilege($1::name, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $2 AND c.relname = $3`,
				p, r.Schema, r.Name).Scan(&can); err != nil {
				t.Fatal(err)
			}
			if want := exp.writeAllowed(p, r); can != want {
				t.Errorf("%s on %s %s: may write=%v, model grants=%v", p, relKind(r), r.QName(), can, want)
			}
			if can {
				writers++
			}
		}
	}
	t.Logf("write matrix: %d principal × relation pairs may write", writers)

	// Masked columns are NULL (security.md §5), in live and full views and for transformers.
	maskedCases := []struct {
		who, platform, workspace, dsg, store, dataset string
		full                                          bool
		masked, clear                                 []string
	}{
		{dtRole, platLive, "CustomerTotals", "inputs", "SalesDB", "customers", false,
			[]string{"full_name", "email", "phone", "date_of_birth", "tax_id"}, []string{"id", "country_code", "loyalty_tier"}},
		{"payments_ops", platLive, "PaymentsOps", "ops", "PaymentsDB", "transactions", false,
			[]string{"card_number"}, []string{"txn_id", "merchant_name", "amount"}},
		{"payments_ops", platLive, "PaymentsOps", "ops", "PaymentsDB", "accounts", false,
			[]string{"holder_name", "billing_address"}, []string{"account_id", "credit_limit"}},
		{"risk_analyst", platForensic, "RiskAnalytics", "history", "SalesDB", "customers", false,
			[]string{"tax_id"}, []string{"full_name", "email", "phone"}},
		{"risk_analyst", platForensic, "RiskAnalytics", "history", "SalesDB", "customers", true,
			[]string{"tax_id"}, []string{"full_name", "ds_surf_batch_in"}},
		{"fraud_model", platLive, "RiskAnalytics", "alerts", "PaymentsDB", "transactions", false,
			[]string{"card_number"}, []string{"merchant_name"}},
	}
	for _, c := range maskedCases {
		n := naming.LiveView(c.platform, c.workspace, c.dsg, c.store, c.dataset)
		if c.full {
			n = naming.FullView(c.platform, c.workspace, c.dsg, c.store, c.dataset)
		}
		row, err := f.env.Row(c.who, n.Schema, n.Name)
		if err != nil {
			t.Errorf("%s reads %s: %v", c.who, n, err)
			continue
		}
		for _, col := range c.masked {
			if v, ok := row[col]; !ok || v != nil {
				t.Errorf("%s: column %s must be masked (NULL), got %v (present %v)", n, col, deref(v), ok)
			}
		}
		for _, col := range c.clear {
			if v, ok := row[col]; !ok || v == nil {
				t.Errorf("%s: column %s must be in clear, got NULL (present %v)", n, col, ok)
			}
		}
	}

	checkStructure(t, f)
	// A second apply is a no-op.
	for _, d := range []string{platLive, platForensic} {
		if res := f.apply(d); res.Actions != 0 {
			t.Errorf("second apply of %s: %d actions %v", d, res.Actions, res.Applied)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "NULL"
	}
	return *s
}

func relKind(r securitytest.Relation) string {
	kind := ""
	for _, fld := range strings.Fields(r.Comment) {
		if v, ok := strings.CutPrefix(fld, "kind="); ok {
			kind = v
		}
	}
	switch {
	case r.Kind == "v":
		return "view"
	case kind == "staging" || kind == "cdcload":
		return "staging table"
	case kind == "merge":
		return "merge table"
	case kind == "transformer_output":
		return "transformer output"
	}
	return "bookkeeping table"
}

// checkStructure asserts the privilege-escalation defences of security.md §9: no managed role
// has ADMIN members, no group role has CREATE on a schema or owns anything, transformer roles
// are members of their own workspace role only and cannot SET ROLE to the owner, nothing is
// granted to PUBLIC on managed schemas, every managed role has the safe attributes.
func checkStructure(t *testing.T, f *fixture) {
	t.Helper()
	ctx := context.Background()
	q := func(sql string, args ...any) []string {
		t.Helper()
		rows, err := f.env.Admin.Query(ctx, sql, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	const managed = `(SELECT r.oid FROM pg_catalog.pg_roles r JOIN pg_catalog.pg_shdescription d ON d.objoid = r.oid
  AND d.classoid = 'pg_catalog.pg_authid'::pg_catalog.regclass WHERE d.description LIKE 'datasurface:managed %')`
	if got := q(`SELECT r.rolname || ' → ' || m.rolname FROM pg_catalog.pg_auth_members am
JOIN pg_catalog.pg_roles r ON r.oid = am.roleid JOIN pg_catalog.pg_roles m ON m.oid = am.member
WHERE am.admin_option AND am.roleid IN ` + managed); len(got) > 0 {
		t.Errorf("managed roles with ADMIN members: %v", got)
	}
	if got := q(`SELECT r.rolname || ' on ' || n.nspname FROM pg_catalog.pg_roles r, pg_catalog.pg_namespace n
WHERE r.oid IN ` + managed + ` AND r.rolname LIKE '%\_ws\_%' AND pg_catalog.has_schema_privilege(r.oid, n.oid, 'CREATE')`); len(got) > 0 {
		t.Errorf("group roles with CREATE: %v", got)
	}
	if got := q(`SELECT r.rolname FROM pg_catalog.pg_roles r WHERE r.oid IN ` + managed + `
AND (r.rolsuper OR r.rolcreatedb OR r.rolcreaterole OR r.rolreplication OR r.rolbypassrls)`); len(got) > 0 {
		t.Errorf("managed roles with unsafe attributes: %v", got)
	}
	if got := q(`SELECT c.relname FROM pg_catalog.pg_class c WHERE c.relowner IN ` + managed + ` AND c.relowner NOT IN
  (SELECT oid FROM pg_catalog.pg_roles WHERE rolname IN ('yellowlive_owner', 'yellowforensic_owner'))`); len(got) > 0 {
		t.Errorf("relations owned by roles other than the owner roles: %v", got)
	}
	if diff := cmp.Diff([]string{"yellowlive_ws_customertotals"}, q(`SELECT r.rolname FROM pg_catalog.pg_auth_members am
JOIN pg_catalog.pg_roles r ON r.oid = am.roleid JOIN pg_catalog.pg_roles m ON m.oid = am.member WHERE m.rolname = $1`, dtRole)); diff != "" {
		t.Errorf("transformer memberships (-want +got):\n%s", diff)
	}
	if _, err := f.env.Conn(dtRole).Exec(ctx, "SET ROLE yellowlive_owner"); err == nil {
		t.Error("the transformer login can SET ROLE to the owner")
	}
	for _, c := range acmeConsumers {
		if _, err := f.env.Conn(c).Exec(ctx, "SET ROLE yellowlive_owner"); err == nil {
			t.Errorf("consumer %s can SET ROLE to the owner", c)
		}
	}
	if got := q(`SELECT n.nspname FROM pg_catalog.pg_namespace n
WHERE pg_catalog.obj_description(n.oid, 'pg_namespace') LIKE 'datasurface:managed %'
  AND EXISTS (SELECT 1 FROM pg_catalog.aclexplode(n.nspacl) a WHERE a.grantee = 0)`); len(got) > 0 {
		t.Errorf("managed schemas granted to PUBLIC: %v", got)
	}
	var limit int32
	var login bool
	if err := f.env.Admin.QueryRow(ctx, `SELECT rolconnlimit, rolcanlogin FROM pg_catalog.pg_roles WHERE rolname = $1`, dtRole).Scan(&limit, &login); err != nil {
		t.Fatal(err)
	}
	if limit != 10 || !login {
		t.Errorf("transformer role: connection limit %d, login %v", limit, login)
	}
	if got := q(`SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'yellowlive' AND pg_catalog.has_table_privilege($1, c.oid, 'SELECT')`, "bi_reader"); len(got) > 0 {
		t.Errorf("bi_reader can read platform tables: %v", got)
	}
}
