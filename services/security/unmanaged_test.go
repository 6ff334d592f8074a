package security_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	securityv1 "github.com/datasurface/datasurface/proto/gen/datasurface/security/v1"
	"github.com/datasurface/datasurface/services/security"
	"github.com/datasurface/datasurface/services/security/internal/securitytest"
	"github.com/google/go-cmp/cmp"
)

// aclOf returns the ACL of a relation as text (superuser view).
func (f *fixture) aclOf(rel string) string {
	var acl *string
	if err := f.env.Admin.QueryRow(context.Background(), `SELECT c.relacl::text FROM pg_catalog.pg_class c WHERE c.oid = $1::regclass`, rel).Scan(&acl); err != nil {
		f.t.Fatal(err)
	}
	return deref(acl)
}

func (f *fixture) members(role string) []string {
	rows, err := f.env.Admin.Query(context.Background(), `SELECT m.rolname::text FROM pg_catalog.pg_auth_members am
JOIN pg_catalog.pg_roles r ON r.oid = am.roleid JOIN pg_catalog.pg_roles m ON m.oid = am.member WHERE r.rolname = $1 ORDER BY 1`, role)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		out = append(out, s)
	}
	return out
}

// TestUnmanagedUntouched: roles, grants and objects the service does not manage are left as they
// are; privileges on managed views granted by hand are drift (revoked with pruneUnmanagedGrants,
// reported without); a hand-made view keeps a removed workspace's schema.
func TestUnmanagedUntouched(t *testing.T) {
	f := newFixture(t, loadAcme(t), security.Config{}, security.Deps{})
	f.env.CreateRole("hand_role", "LOGIN")
	f.env.CreateRole("hand_group", "NOLOGIN")
	// A role with a managed-looking name, but no marker and not desired.
	f.env.CreateRole("yellowlive_ws_ghost", "NOLOGIN")
	f.env.Exec(
		`CREATE TABLE public.hand_table (x int)`,
		`GRANT SELECT ON public.hand_table TO hand_role`,
		`GRANT hand_group TO bi_reader`,
		`COMMENT ON ROLE hand_group IS 'made by hand'`,
	)
	f.converge(platForensic, platLive)

	before := map[string]string{
		"hand_table":  f.aclOf("public.hand_table"),
		"hand_group":  strings.Join(f.members("hand_group"), ","),
		"ghost":       strings.Join(f.members("yellowlive_ws_ghost"), ","),
		"ghost_count": "",
	}
	orders := naming.LiveView(platLive, "SalesAnalytics", "main", "SalesDB", "orders")

	// A hand-made grant on a managed view: drift, revoked (pruneUnmanagedGrants defaults to true).
	f.env.Exec(`GRANT SELECT ON ` + securitytest.Q(orders.Schema, orders.Name) + ` TO hand_role`)
	if diff := cmp.Diff([]string{"revoke " + orders.String() + " hand_role [destructive]"}, ops(f.plan(platLive))); diff != "" {
		t.Errorf("plan with a hand-made grant (-want +got):\n%s", diff)
	}
	p := f.plan(platLive)
	if got := p.GetActions()[0].GetReason(); !strings.Contains(got, "pruneUnmanagedGrants") {
		t.Errorf("reason %q", got)
	}
	f.apply(platLive)
	if f.hasSelect("hand_role", orders) {
		t.Error("the hand-made grant on a managed view survived")
	}

	// Without pruneUnmanagedGrants it is only reported.
	m := f.model()
	yellow(m, platLive).PruneUnmanagedGrants = false
	f.models.Add(m)
	f.env.Exec(`GRANT SELECT ON ` + securitytest.Q(orders.Schema, orders.Name) + ` TO hand_role`)
	p = f.plan(platLive)
	if len(p.GetActions()) != 0 || !slices.ContainsFunc(p.GetWarnings(), func(w string) bool {
		return strings.Contains(w, "hand_role") && strings.Contains(w, "pruneUnmanagedGrants is false")
	}) {
		t.Errorf("without pruneUnmanagedGrants: actions %v, warnings %v", ops(p), p.GetWarnings())
	}
	f.apply(platLive)
	if !f.hasSelect("hand_role", orders) {
		t.Error("the hand-made grant was revoked although pruneUnmanagedGrants is false")
	}

	// Everything unmanaged is as it was.
	after := map[string]string{
		"hand_table":  f.aclOf("public.hand_table"),
		"hand_group":  strings.Join(f.members("hand_group"), ","),
		"ghost":       strings.Join(f.members("yellowlive_ws_ghost"), ","),
		"ghost_count": "",
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("unmanaged state changed (-before +after):\n%s", diff)
	}
	var comment *string
	if err := f.env.Admin.QueryRow(context.Background(), `SELECT pg_catalog.shobj_description(oid, 'pg_authid') FROM pg_catalog.pg_roles WHERE rolname = 'yellowlive_ws_ghost'`).Scan(&comment); err != nil || comment != nil {
		t.Errorf("the unmarked managed-looking role was touched: comment %v, %v", deref(comment), err)
	}

	// A removed workspace whose schema holds a hand-made view: the schema is kept and reported,
	// the managed role is still revoked and dropped.
	m = f.model()
	setStatus(m, "PaymentsOps", "ops", platLive, modelv1.AssignmentStatus_ASSIGNMENT_STATUS_DECOMMISSIONED)
	f.models.Add(m)
	f.env.Exec(`CREATE VIEW yellowlive_paymentsops.hand_view AS SELECT 1 AS one`)
	f.env.ReconcileViews(m, f.platforms[platLive], mergeLive)
	p = f.plan(platLive)
	if slices.Contains(ops(p), "drop_schema yellowlive_paymentsops [destructive]") ||
		!slices.ContainsFunc(p.GetWarnings(), func(w string) bool {
			return strings.Contains(w, "yellowlive_paymentsops") && strings.Contains(w, "view hand_view")
		}) {
		t.Errorf("schema with a hand-made view: actions %v, warnings %v", ops(p), p.GetWarnings())
	}
	f.apply(platLive)
	if !f.schemaExists("yellowlive_paymentsops") || f.roleExists("yellowlive_ws_paymentsops") {
		t.Errorf("schema kept %v (want true), role kept %v (want false)", f.schemaExists("yellowlive_paymentsops"), f.roleExists("yellowlive_ws_paymentsops"))
	}
	f.requireEmpty(platLive)
}

// TestUnmarkedNameClash: a desired role or schema held by an object without the marker is a plan
// error, and Apply changes nothing.
func TestUnmarkedNameClash(t *testing.T) {
	f := newFixture(t, loadAcme(t), security.Config{}, security.Deps{})
	f.env.CreateRole("yellowforensic_ws_riskanalytics", "NOLOGIN")
	f.env.Exec(`CREATE SCHEMA yellowforensic`)
	p := f.plan(platForensic)
	want := []string{
		`role "yellowforensic_ws_riskanalytics" exists and is not managed by platform YellowForensic (comment ""); it is neither altered nor granted`,
		`schema "yellowforensic" exists and is not managed by platform YellowForensic (comment ""); it is left alone`,
	}
	if diff := cmp.Diff(want, p.GetErrors()); diff != "" {
		t.Errorf("plan errors (-want +got):\n%s", diff)
	}
	_, err := f.svc.Activities().ApplyGrants(context.Background(), security.ApplyGrantsInput{Platform: platForensic})
	if err == nil || !security.IsPermanent(err) {
		t.Fatalf("apply with plan errors: %v (permanent %v)", err, security.IsPermanent(err))
	}
	_, rerr := f.svc.Handler().Apply(context.Background(), connect.NewRequest(&securityv1.ApplyRequest{Platform: platForensic}))
	if connect.CodeOf(rerr) != connect.CodeFailedPrecondition {
		t.Errorf("Apply RPC with plan errors: %v", rerr)
	}
	if f.roleExists("yellowforensic_owner") {
		t.Error("apply with plan errors created roles")
	}
	var e *security.Error
	if !errors.As(err, &e) || e.Activity != "ApplyGrants" {
		t.Errorf("error type %T", err)
	}
}

// TestConsumerEdgeCases: a consumer role that does not exist yet is skipped with a warning and
// granted by the first reconcile after it appears; a superuser consumer is a warning; a removed
// workspace whose role owns an object the service does not manage is a plan error — its role is
// never dropped by force and the apply changes nothing.
func TestConsumerEdgeCases(t *testing.T) {
	f := newFixture(t, loadAcme(t), security.Config{}, security.Deps{})
	f.converge(platForensic, platLive)

	m := f.model()
	workspace(m, "SalesAnalytics").Access.Consumers = []string{"bi_reader", "late_consumer", "super_consumer"}
	f.models.Add(m)
	f.env.CreateRole("super_consumer", "LOGIN SUPERUSER")
	p := f.plan(platLive)
	for _, w := range []string{
		`consumer "late_consumer" of SalesAnalytics does not exist; membership skipped`,
		`consumer "super_consumer" of SalesAnalytics is a superuser or has BYPASSRLS: it sees everything anyway`,
	} {
		if !slices.Contains(p.GetWarnings(), w) {
			t.Errorf("no warning %q in %v", w, p.GetWarnings())
		}
	}
	f.apply(platLive)
	f.requireEmpty(platLive)
	f.env.CreateRole("late_consumer", "LOGIN")
	if diff := cmp.Diff([]string{"grant_membership yellowlive_ws_salesanalytics late_consumer"}, ops(f.plan(platLive))); diff != "" {
		t.Errorf("plan once the consumer exists (-want +got):\n%s", diff)
	}
	f.apply(platLive)
	orders := naming.LiveView(platLive, "SalesAnalytics", "main", "SalesDB", "orders")
	if !f.hasSelect("late_consumer", orders) {
		t.Error("the late consumer cannot read its view")
	}

	// A removed workspace whose role owns something unmanaged.
	f.env.Exec(`CREATE TABLE public.blocker (x int)`, `ALTER TABLE public.blocker OWNER TO yellowlive_ws_paymentsops`)
	defer f.env.Exec(`DROP TABLE public.blocker`)
	m = f.model()
	setStatus(m, "PaymentsOps", "ops", platLive, modelv1.AssignmentStatus_ASSIGNMENT_STATUS_DECOMMISSIONED)
	f.models.Add(m)
	p = f.plan(platLive)
	if !slices.ContainsFunc(p.GetErrors(), func(e string) bool {
		return e == `role "yellowlive_ws_paymentsops" is no longer desired but cannot be dropped: it owns table public.blocker`
	}) {
		t.Errorf("plan errors: %v", p.GetErrors())
	}
	if _, err := f.svc.Activities().ApplyGrants(t.Context(), security.ApplyGrantsInput{Platform: platLive}); !security.IsPermanent(err) {
		t.Errorf("apply with a blocked drop: %v", err)
	}
	if !f.roleExists("yellowlive_ws_paymentsops") || !slices.Contains(f.members("yellowlive_ws_paymentsops"), "payments_ops") {
		t.Error("the failed apply changed the blocked workspace's role or membership")
	}
}
