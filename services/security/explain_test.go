package security_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	securityv1 "github.com/datasurface/datasurface/proto/gen/datasurface/security/v1"
	"github.com/datasurface/datasurface/services/security"
	"github.com/google/go-cmp/cmp"
)

func (f *fixture) explain(r *securityv1.ExplainAccessRequest) *securityv1.ExplainAccessResponse {
	f.t.Helper()
	resp, err := f.svc.Handler().ExplainAccess(context.Background(), connect.NewRequest(r))
	if err != nil {
		f.t.Fatalf("explain %v: %v", r, err)
	}
	return resp.Msg
}

// summary renders the answers as "platform access reason | role via views…".
func summary(r *securityv1.ExplainAccessResponse) []string {
	var out []string
	for _, a := range r.GetAnswers() {
		s := a.GetPlatform() + " " + map[bool]string{true: "yes", false: "no"}[a.GetAccess()]
		if a.GetReason() != "" {
			s += " (" + a.GetReason() + ")"
		}
		for _, p := range a.GetPaths() {
			s += " | " + p.GetRole() + " via " + p.GetVia()
			for _, v := range p.GetViews() {
				s += " " + v.GetKind() + "[" + strings.Join(v.GetMaskedColumns(), ",") + "]"
			}
		}
		if d := a.GetLive().GetDrift(); len(d) > 0 {
			s += " drift: " + strings.Join(d, "; ")
		}
		out = append(out, s)
	}
	return out
}

// TestExplainAccess: the model's answer with its path (role → membership → grant → view and
// masked columns), the reasons for no access, and the catalog's answer with drift.
func TestExplainAccess(t *testing.T) {
	f := newFixture(t, loadAcme(t), security.Config{}, security.Deps{})
	f.converge(platForensic, platLive)

	cases := []struct {
		name string
		req  *securityv1.ExplainAccessRequest
		want []string
	}{
		{"consumer", &securityv1.ExplainAccessRequest{Principal: "bi_reader", Datastore: "SalesDB", Dataset: "orders"},
			[]string{"YellowLive yes | yellowlive_ws_salesanalytics via consumer live[]"}},
		{"not a consumer", &securityv1.ExplainAccessRequest{Principal: "outsider", Datastore: "SalesDB", Dataset: "orders"},
			[]string{"YellowLive no (not a consumer of any workspace that sinks SalesDB.orders on YellowLive)"}},
		{"principal missing", &securityv1.ExplainAccessRequest{Principal: "ghost", Datastore: "SalesDB", Dataset: "orders"},
			[]string{"YellowLive no (the principal does not exist)"}},
		{"forensic with masking, two platforms", &securityv1.ExplainAccessRequest{Principal: "risk_analyst", Datastore: "SalesDB", Dataset: "customers"},
			[]string{
				"YellowForensic yes | yellowforensic_ws_riskanalytics via consumer live[tax_id] full[tax_id]",
				"YellowLive no (not a consumer of any workspace that sinks SalesDB.customers on YellowLive)",
			}},
		{"transformer login", &securityv1.ExplainAccessRequest{Principal: dtRole, Datastore: "SalesDB", Dataset: "customers", Platform: platLive},
			[]string{"YellowLive yes | yellowlive_ws_customertotals via transformer live[date_of_birth,email,full_name,phone,tax_id]"}},
		{"one view", &securityv1.ExplainAccessRequest{Principal: "fraud_model", View: naming.LiveView(platLive, "RiskAnalytics", "alerts", "PaymentsDB", "transactions").String()},
			[]string{"YellowLive yes | yellowlive_ws_riskanalytics via consumer live[card_number]"}},
		{"model only", &securityv1.ExplainAccessRequest{Principal: "payments_ops", Datastore: "PaymentsDB", Dataset: "accounts", Platform: platLive, SkipLive: true},
			[]string{"YellowLive yes | yellowlive_ws_paymentsops via consumer live[billing_address,holder_name]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, summary(f.explain(c.req))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	got := f.explain(&securityv1.ExplainAccessRequest{Principal: "bi_reader", Datastore: "SalesDB", Dataset: "orders"})
	if at := got.GetAnswers()[0].GetPaths()[0].GetConsumerAt(); !regexp.MustCompile(`^zones/europe/teams/analytics/workspaces/SalesAnalytics\.yaml:\d+:\d+$`).MatchString(at) {
		t.Errorf("consumer_at %q", at)
	}

	// Drift: a membership revoked by hand and a grant made by hand.
	f.env.Exec(`REVOKE yellowlive_ws_salesanalytics FROM bi_reader`, `GRANT yellowlive_ws_paymentsops TO outsider`)
	want := []string{`YellowLive yes | yellowlive_ws_salesanalytics via consumer live[] drift: "bi_reader" is not a member of "yellowlive_ws_salesanalytics"; "bi_reader" cannot read yellowlive_salesanalytics.yellowlive_salesanalytics_main_salesdb_orders_view_live, which the model grants`}
	if diff := cmp.Diff(want, summary(f.explain(&securityv1.ExplainAccessRequest{Principal: "bi_reader", Datastore: "SalesDB", Dataset: "orders"}))); diff != "" {
		t.Errorf("drift (-want +got):\n%s", diff)
	}
	want = []string{`YellowLive no (not a consumer of any workspace that sinks PaymentsDB.accounts on YellowLive) drift: "outsider" can read yellowlive_paymentsops.yellowlive_paymentsops_ops_paymentsdb_accounts_view_live, which the model does not grant`}
	if diff := cmp.Diff(want, summary(f.explain(&securityv1.ExplainAccessRequest{Principal: "outsider", Datastore: "PaymentsDB", Dataset: "accounts", Platform: platLive}))); diff != "" {
		t.Errorf("drift (-want +got):\n%s", diff)
	}
	f.apply(platLive)
	if diff := cmp.Diff([]string{"YellowLive yes | yellowlive_ws_salesanalytics via consumer live[]"},
		summary(f.explain(&securityv1.ExplainAccessRequest{Principal: "bi_reader", Datastore: "SalesDB", Dataset: "orders"}))); diff != "" {
		t.Errorf("after apply (-want +got):\n%s", diff)
	}

	// DECOMMISSIONED and unmanaged platforms.
	m := f.model()
	setStatus(m, "PaymentsOps", "ops", platLive, modelv1.AssignmentStatus_ASSIGNMENT_STATUS_DECOMMISSIONED)
	yellow(m, platForensic).SecurityCredential = nil
	f.models.Add(m)
	if diff := cmp.Diff([]string{"YellowLive no (the assignment of PaymentsOps.ops to YellowLive is DECOMMISSIONED)"},
		summary(f.explain(&securityv1.ExplainAccessRequest{Principal: "payments_ops", Datastore: "PaymentsDB", Dataset: "transactions", Platform: platLive, SkipLive: true}))); diff != "" {
		t.Errorf("DECOMMISSIONED (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"YellowForensic no (the platform is not managed (it has no securityCredential))"},
		summary(f.explain(&securityv1.ExplainAccessRequest{Principal: "risk_analyst", Datastore: "PaymentsDB", Dataset: "refunds", SkipLive: true}))); diff != "" {
		t.Errorf("unmanaged (-want +got):\n%s", diff)
	}
	p := f.plan(platForensic)
	if p.GetManaged() || len(p.GetActions()) != 0 || len(p.GetWarnings()) != 1 {
		t.Errorf("plan of an unmanaged platform: managed %v, %v, %v", p.GetManaged(), ops(p), p.GetWarnings())
	}
}
