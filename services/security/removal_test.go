package security_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/datasurface/datasurface/platforms/yellow/naming"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	securityv1 "github.com/datasurface/datasurface/proto/gen/datasurface/security/v1"
	"github.com/datasurface/datasurface/services/security"
	"github.com/datasurface/datasurface/services/security/internal/securitytest"
	"github.com/google/go-cmp/cmp"
)

func workspace(m *modelv1.Model, w string) *modelv1.Workspace {
	for _, ws := range m.GetWorkspaces() {
		if ws.GetName() == w {
			return ws
		}
	}
	panic("no workspace " + w)
}

func yellow(m *modelv1.Model, d string) *modelv1.YellowPlatform {
	for _, p := range m.GetPsps() {
		for _, dp := range p.GetPlatforms() {
			if dp.GetName() == d {
				return dp.GetYellow()
			}
		}
	}
	panic("no platform " + d)
}

func setStatus(m *modelv1.Model, w, g, d string, s modelv1.AssignmentStatus) {
	for _, a := range m.GetAssignments() {
		if a.GetWorkspace() == w && a.GetDatasetGroup() == g {
			for _, p := range a.GetPlatforms() {
				if p.GetPlatform() == d {
					p.Status = s
					return
				}
			}
		}
	}
	panic("no assignment")
}

// ops renders a plan's actions as "op object grantee" lines, destructive ones marked.
func ops(p *securityv1.Plan) []string {
	var out []string
	for _, a := range p.GetActions() {
		s := strings.TrimPrefix(strings.ToLower(a.GetOp().String()), "action_op_") + " " + a.GetObject()
		if a.GetGrantee() != "" {
			s += " " + a.GetGrantee()
		}
		if a.GetDestructive() {
			s += " [destructive]"
		}
		out = append(out, s)
	}
	return out
}

func (f *fixture) roleExists(name string) bool {
	var ok bool
	if err := f.env.Admin.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1)`, name).Scan(&ok); err != nil {
		f.t.Fatal(err)
	}
	return ok
}

func (f *fixture) schemaExists(name string) bool {
	var ok bool
	if err := f.env.Admin.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)`, name).Scan(&ok); err != nil {
		f.t.Fatal(err)
	}
	return ok
}

func (f *fixture) hasSelect(role string, v naming.Name) bool {
	var ok bool
	if err := f.env.Admin.QueryRow(context.Background(), `SELECT pg_catalog.has_table_privilege($1::name, c.oid, 'SELECT')
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $2 AND c.relname = $3`,
		role, v.Schema, v.Name).Scan(&ok); err != nil {
		f.t.Fatal(err)
	}
	return ok
}

// TestRemovalRevokes: removing a consumer revokes its membership in the next reconcile;
// DECOMMISSIONING an assignment removes the workspace's views (merge), schema, role and
// memberships (security); each reconcile ends with an empty plan (security.md §9 "stale grants").
func TestRemovalRevokes(t *testing.T) {
	f := newFixture(t, loadAcme(t), security.Config{}, security.Deps{})
	f.converge(platForensic, platLive)
	orders := naming.LiveView(platLive, "SalesAnalytics", "main", "SalesDB", "orders")
	if !f.hasSelect("bi_reader", orders) {
		t.Fatal("bi_reader cannot read its view after the first apply")
	}

	// A consumer removed.
	m := f.model()
	workspace(m, "SalesAnalytics").Access.Consumers = nil
	f.models.Add(m)
	if diff := cmp.Diff([]string{"revoke_membership yellowlive_ws_salesanalytics bi_reader [destructive]"}, ops(f.plan(platLive))); diff != "" {
		t.Errorf("plan after removing a consumer (-want +got):\n%s", diff)
	}
	f.apply(platLive)
	if f.hasSelect("bi_reader", orders) {
		t.Error("bi_reader still reads the view after its removal")
	}
	if ok, err := f.env.CanSelect("bi_reader", securitytest.Relation{Schema: orders.Schema, Name: orders.Name, Kind: "v"}); err != nil || ok {
		t.Errorf("bi_reader SELECT after removal: %v %v", ok, err)
	}
	f.requireEmpty(platLive)

	// An assignment DECOMMISSIONED: PaymentsOps leaves YellowLive. The merge service drops its
	// views first; security then drops the schema and the role.
	m = f.model()
	setStatus(m, "PaymentsOps", "ops", platLive, modelv1.AssignmentStatus_ASSIGNMENT_STATUS_DECOMMISSIONED)
	f.models.Add(m)
	f.env.ReconcileViews(m, f.platforms[platLive], mergeLive)
	p := f.plan(platLive)
	want := []string{
		"revoke_membership yellowlive_ws_paymentsops payments_ops [destructive]",
		"revoke " + f.env.DB + " yellowlive_ws_paymentsops [destructive]",
		"drop_schema yellowlive_paymentsops [destructive]",
		"drop_role yellowlive_ws_paymentsops [destructive]",
	}
	if diff := cmp.Diff(want, ops(p)); diff != "" {
		t.Errorf("plan after DECOMMISSIONED (-want +got):\n%s", diff)
	}
	f.apply(platLive)
	if f.roleExists("yellowlive_ws_paymentsops") || f.schemaExists("yellowlive_paymentsops") {
		t.Error("the removed workspace's role or schema survived")
	}
	for _, r := range f.env.Relations() {
		if ok, _ := f.env.CanSelect("payments_ops", r); ok {
			t.Errorf("payments_ops still reads %s", r.QName())
		}
	}
	f.requireEmpty(platLive)

	// A workspace removed while its views still exist (merge has not run): the schema holds
	// managed objects only and is dropped with them.
	m = f.model()
	setStatus(m, "RiskAnalytics", "alerts", platLive, modelv1.AssignmentStatus_ASSIGNMENT_STATUS_DECOMMISSIONED)
	f.models.Add(m)
	p = f.plan(platLive)
	if !slices.Contains(ops(p), "drop_schema yellowlive_riskanalytics [destructive]") {
		t.Errorf("plan does not drop the schema with managed views: %v", ops(p))
	}
	f.apply(platLive)
	if f.schemaExists("yellowlive_riskanalytics") || f.roleExists("yellowlive_ws_riskanalytics") {
		t.Error("schema or role of RiskAnalytics survived on YellowLive")
	}
	if !f.roleExists("yellowforensic_ws_riskanalytics") {
		t.Error("RiskAnalytics lost its role on YellowForensic")
	}
	f.requireEmpty(platLive)

	// YellowLive no longer copies PaymentsDB from YellowForensic, so the reader role goes.
	want = []string{
		"revoke_membership yellowforensic_reader merge_live [destructive]",
		"revoke yellowforensic yellowforensic_reader [destructive]",
		"revoke yellowforensic.yellowforensic_batch_metrics yellowforensic_reader [destructive]",
		"revoke yellowforensic.yellowforensic_paymentsdb_accounts_merge yellowforensic_reader [destructive]",
		"revoke yellowforensic.yellowforensic_paymentsdb_refunds_merge yellowforensic_reader [destructive]",
		"revoke yellowforensic.yellowforensic_paymentsdb_transactions_merge yellowforensic_reader [destructive]",
		"drop_role yellowforensic_reader [destructive]",
	}
	if diff := cmp.Diff(want, ops(f.plan(platForensic))); diff != "" {
		t.Errorf("YellowForensic plan once no platform copies from it (-want +got):\n%s", diff)
	}
	f.apply(platForensic)
	if f.roleExists("yellowforensic_reader") {
		t.Error("the reader role survived")
	}
	f.requireEmpty(platForensic)
}

// TestPrepareIsNonDestructive: Prepare (before the merge service reconciles views) grants a new
// consumer but revokes nothing; ApplyGrants afterwards revokes the removed one; then the plan
// is empty.
func TestPrepareIsNonDestructive(t *testing.T) {
	f := newFixture(t, loadAcme(t), security.Config{}, security.Deps{})
	f.converge(platForensic, platLive)
	m := f.model()
	workspace(m, "SalesAnalytics").Access.Consumers = []string{"outsider"}
	f.models.Add(m)
	res, err := f.svc.Activities().Prepare(context.Background(), security.ApplyGrantsInput{Platform: platLive})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"grant_membership role yellowlive_ws_salesanalytics outsider"}, res.Applied); diff != "" {
		t.Errorf("Prepare applied (-want +got):\n%s", diff)
	}
	members := f.members("yellowlive_ws_salesanalytics")
	if !slices.Contains(members, "bi_reader") || !slices.Contains(members, "outsider") {
		t.Errorf("members after Prepare: %v", members)
	}
	res = f.apply(platLive)
	if diff := cmp.Diff([]string{"revoke_membership role yellowlive_ws_salesanalytics bi_reader"}, res.Applied); diff != "" {
		t.Errorf("ApplyGrants applied (-want +got):\n%s", diff)
	}
	f.requireEmpty(platLive)
}
