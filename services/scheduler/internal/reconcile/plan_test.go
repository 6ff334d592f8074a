package reconcile_test

import (
	"testing"

	"github.com/datasurface/datasurface/services/scheduler/internal/reconcile"
	"github.com/datasurface/datasurface/services/scheduler/internal/testmodel"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestNewPlan(t *testing.T) {
	tests := []struct {
		name      string
		model     testmodel.Model
		streams   []reconcile.Stream
		schedules []reconcile.Schedule
	}{
		{
			name: "example: a cron stream and an input-triggered transformer",
			streams: []reconcile.Stream{
				{Platform: "YellowLive", Key: "SalesDB", Datastore: "SalesDB", Datasets: []string{"customers", "orders"},
					Capture: "sqlSnapshot", Trigger: reconcile.TriggerCron, Cron: "*/10 * * * *", ScheduleID: "batch/YellowLive/SalesDB"},
				{Platform: "YellowLive", Key: "SalesSummary", Datastore: "SalesSummary", Datasets: []string{"customer_totals"},
					Capture: "transformerOutput", Trigger: reconcile.TriggerAfterInputs, Transformer: "CustomerTotals"},
			},
			schedules: []reconcile.Schedule{
				{ID: "batch/YellowLive/SalesDB", Kind: "batch", Platform: "YellowLive", Key: "SalesDB", Cron: "*/10 * * * *"},
			},
		},
		{
			name:  "external trigger and a cron transformer",
			model: testmodel.Model{Stores: []testmodel.Store{{Name: "Payments"}}, TransformerCron: "0 * * * *"},
			streams: []reconcile.Stream{
				{Platform: "YellowLive", Key: "Payments", Datastore: "Payments", Datasets: []string{"items"},
					Capture: "sqlSnapshot", Trigger: reconcile.TriggerExternal, ScheduleID: "batch/YellowLive/Payments"},
				{Platform: "YellowLive", Key: "SalesDB", Datastore: "SalesDB", Datasets: []string{"customers", "orders"},
					Capture: "sqlSnapshot", Trigger: reconcile.TriggerCron, Cron: "*/10 * * * *", ScheduleID: "batch/YellowLive/SalesDB"},
				{Platform: "YellowLive", Key: "SalesSummary", Datastore: "SalesSummary", Datasets: []string{"customer_totals"},
					Capture: "transformerOutput", Trigger: reconcile.TriggerCron, Cron: "0 * * * *", Transformer: "CustomerTotals",
					ScheduleID: "transformer/YellowLive/CustomerTotals"},
			},
			schedules: []reconcile.Schedule{
				{ID: "batch/YellowLive/Payments", Kind: "batch", Platform: "YellowLive", Key: "Payments"},
				{ID: "batch/YellowLive/SalesDB", Kind: "batch", Platform: "YellowLive", Key: "SalesDB", Cron: "*/10 * * * *"},
				{ID: "transformer/YellowLive/CustomerTotals", Kind: "transformer", Platform: "YellowLive", Key: "CustomerTotals", Cron: "0 * * * *"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, digest, err := tc.model.Load()
			if err != nil {
				t.Fatal(err)
			}
			p := reconcile.NewPlan(m, 3, digest)
			if diff := cmp.Diff([]string{"YellowLive"}, p.Platforms); diff != "" {
				t.Errorf("platforms (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.streams, p.Streams); diff != "" {
				t.Errorf("streams (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.schedules, p.Schedules, cmpopts.IgnoreFields(reconcile.Schedule{}, "Fingerprint")); diff != "" {
				t.Errorf("schedules (-want +got):\n%s", diff)
			}
			if db := p.Databases["YellowLive"]; db.Host.GetHost() != "merge-db.acme.internal" || db.Credential != "YELLOWLIVE_MERGE" {
				t.Errorf("merge database = %+v", db)
			}
		})
	}
}

func TestFingerprintFollowsTrigger(t *testing.T) {
	fp := func(cron string) string {
		m, d, err := testmodel.Model{Stores: []testmodel.Store{{Name: "Payments", Cron: cron}}}.Load()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range reconcile.NewPlan(m, 1, d).Schedules {
			if s.Key == "Payments" {
				return s.Fingerprint
			}
		}
		t.Fatal("no schedule for Payments")
		return ""
	}
	external, cron, again := fp(""), fp("5 * * * *"), fp("5 * * * *")
	if external == cron || cron != again {
		t.Error("the fingerprint must change with the trigger and only with it")
	}
}
