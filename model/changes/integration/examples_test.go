// Package integration_test runs compat and changes on the example models loaded by the real
// loader (kept apart so that the unit tests do not depend on package load).
package integration_test

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/datasurface/datasurface/model/changes"
	"github.com/datasurface/datasurface/model/compat"
	"github.com/datasurface/datasurface/model/load"
	"github.com/datasurface/datasurface/model/problem"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// TestExamples runs Check and Diff on the change scenarios of examples/changes, loaded by the
// real loader, against examples/acme: rule ids, paths and sides of the problems, and the change
// set.
func TestExamples(t *testing.T) {
	const root = "../../../examples"
	if _, err := os.Stat(root + "/acme"); err != nil {
		t.Fatalf("examples not available: %v", err)
	}
	base, err := load.Dir(root+"/acme", load.Options{Side: problem.Base, Lenient: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(base.Problems) > 0 {
		t.Fatalf("examples/acme has load problems: %v", base.Problems)
	}
	type found struct {
		Rule     string
		Severity problem.Severity
		Path     string
		File     string
		Side     problem.Side
	}
	type change struct {
		Kind          modelv1.ChangeKind
		Path          string
		Before, After string
	}
	const (
		salesDB    = "zones/europe/teams/sales/datastores/SalesDB.yaml"
		paymentsDB = "zones/americas/teams/payments/datastores/PaymentsDB.yaml"
	)
	tests := []struct {
		scenario string
		problems []found
		changes  []change
	}{
		{scenario: "add-nullable-column",
			changes: []change{{modelv1.ChangeKind_CHANGE_KIND_COLUMN_ADDED, "datastore[SalesDB]/dataset[orders]/column[coupon_code]", "", "VarChar(32)"}}},
		{scenario: "widen-column",
			problems: []found{{"DS-COMPAT-COLUMN-WIDENED", problem.Info, "datastore[SalesDB]/dataset[orders]/column[status]", salesDB, problem.Head}},
			changes:  []change{{modelv1.ChangeKind_CHANGE_KIND_COLUMN_WIDENED, "datastore[SalesDB]/dataset[orders]/column[status]", "VarChar(20)", "VarChar(40)"}}},
		{scenario: "remove-deprecated-dataset",
			changes: []change{
				{modelv1.ChangeKind_CHANGE_KIND_CAPTURE_CHANGED, "datastore[SalesDB]", "", ""}, // its sourceTables entry went too
				{modelv1.ChangeKind_CHANGE_KIND_DATASET_REMOVED, "datastore[SalesDB]/dataset[legacy_discounts]", "", ""},
			}},
		{scenario: "drop-column",
			problems: []found{{"DS-COMPAT-COLUMN-REMOVED", problem.Error, "datastore[SalesDB]/dataset[orders]/column[notes]", salesDB, problem.Base}},
			changes:  []change{{modelv1.ChangeKind_CHANGE_KIND_TEAM_CHANGED, "datastore[SalesDB]/dataset[orders]/column[notes]", "NVarChar", ""}}},
		{scenario: "add-not-null-column",
			problems: []found{{"DS-COMPAT-COLUMN-ADDED-NOT-NULL", problem.Error, "datastore[PaymentsDB]/dataset[refunds]/column[channel]", paymentsDB, problem.Head}},
			changes:  []change{{modelv1.ChangeKind_CHANGE_KIND_COLUMN_ADDED, "datastore[PaymentsDB]/dataset[refunds]/column[channel]", "", "VarChar(16)"}}},
		{scenario: "unauthorized",
			changes: []change{{modelv1.ChangeKind_CHANGE_KIND_COLUMN_ADDED, "datastore[PaymentsDB]/dataset[accounts]/column[fraud_flag]", "", "Boolean"}}},
		{scenario: "lint-error",
			changes: []change{
				{modelv1.ChangeKind_CHANGE_KIND_SINK_ADDED, "workspace[RiskAnalytics]/dsg[history]/sink[PaymentsDB.chargebacks]", "", ""},
				{modelv1.ChangeKind_CHANGE_KIND_SINK_REMOVED, "workspace[RiskAnalytics]/dsg[history]/sink[PaymentsDB.refunds]", "", ""},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			head, err := load.Dir(root+"/changes/"+tt.scenario, load.Options{})
			if err != nil {
				t.Fatal(err)
			}
			ps := compat.Check(compat.Input{Base: base.Model, Head: head.Model, BaseSrc: base.Source, HeadSrc: head.Source})
			problem.Sort(ps)
			var gotPs []found
			for _, p := range ps {
				gotPs = append(gotPs, found{p.Rule.ID, p.Severity, p.Path, p.Pos.File, p.Pos.Side})
			}
			if diff := cmp.Diff(tt.problems, gotPs); diff != "" {
				t.Errorf("Check mismatch (-want +got):\n%s", diff)
			}
			var gotCs []change
			for _, c := range changes.Diff(base.Model, head.Model) {
				gotCs = append(gotCs, change{c.GetKind(), c.GetPath(), c.GetBefore(), c.GetAfter()})
			}
			if diff := cmp.Diff(tt.changes, gotCs); diff != "" {
				t.Errorf("Diff mismatch (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("unchanged", func(t *testing.T) {
		same, err := load.Dir(root+"/acme", load.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if ps := compat.Check(compat.Input{Base: base.Model, Head: same.Model}); len(ps) != 0 {
			t.Errorf("Check(acme, acme) = %v, want none", ps)
		}
		if cs := changes.Diff(base.Model, same.Model); len(cs) != 0 {
			t.Errorf("Diff(acme, acme) = %v, want none", cs)
		}
	})
}
