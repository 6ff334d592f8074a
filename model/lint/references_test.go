package lint

import (
	"testing"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

func TestCheckReferences(t *testing.T) {
	nmRun(t, []nmCase{
		{
			name: "sink names an unknown datastore",
			mutate: func(m *modelv1.Model) {
				g := nmWS(m, "SalesAnalytics").DatasetGroups[0]
				g.Sinks = append(g.Sinks, nmSink("Inventory", "stock"))
			},
			at: map[string]string{"workspace[SalesAnalytics]/dsg[main]/sink[Inventory.stock]#datastore": "analytics.yaml:9:23"},
			want: []nmProblem{nmE(RuleReferenceUnknown, "workspace[SalesAnalytics]/dsg[main]/sink[Inventory.stock]", "analytics.yaml:9:23",
				"datastore 'Inventory' does not exist")},
		},
		{
			name: "sink matches a datastore only by case: did you mean",
			mutate: func(m *modelv1.Model) {
				nmWS(m, "SalesAnalytics").DatasetGroups[0].Sinks[0].Datastore = "salesdb"
			},
			at: map[string]string{"workspace[SalesAnalytics]/dsg[main]/sink[salesdb.orders]#datastore": "analytics.yaml:7:23"},
			want: []nmProblem{nmE(RuleReferenceUnknown, "workspace[SalesAnalytics]/dsg[main]/sink[salesdb.orders]", "analytics.yaml:7:23",
				"datastore 'salesdb' does not exist; did you mean 'SalesDB'?")},
		},
		{
			name: "an empty sink datastore is the loader's",
			mutate: func(m *modelv1.Model) {
				nmWS(m, "SalesAnalytics").DatasetGroups[0].Sinks[0].Datastore = ""
			},
		},
		{
			name: "capture container ref to an unknown team container, with did you mean",
			mutate: func(m *modelv1.Model) {
				nmStore1(m, "SalesDB").GetCapture().GetSqlSnapshot().Container = nmRef("Sales_PG")
			},
			at: map[string]string{"datastore[SalesDB]#capture.sqlSnapshot.container.ref": "salesdb.yaml:8:18"},
			want: []nmProblem{nmE(RuleReferenceUnknown, "datastore[SalesDB]", "salesdb.yaml:8:18",
				"team container 'Sales_PG' does not exist; did you mean 'sales_pg'?")},
		},
		{
			name: "container ref of a team without a Team document",
			mutate: func(m *modelv1.Model) {
				nmStore1(m, "PaymentsDB").GetCapture().GetSqlSnapshot().Container = nmRef("pay_pg")
			},
			at: map[string]string{"datastore[PaymentsDB]#capture.sqlSnapshot.container.ref": "paymentsdb.yaml:8:18"},
			want: []nmProblem{nmE(RuleReferenceUnknown, "datastore[PaymentsDB]", "paymentsdb.yaml:8:18",
				"team container 'pay_pg' does not exist")},
		},
		{
			name: "a ref resolves only within the object's own team",
			mutate: func(m *modelv1.Model) {
				nmWS(m, "Totals").Container = nmRef("sales_pg") // Totals is Europe/Analytics; sales_pg is Sales'
			},
			at: map[string]string{"workspace[Totals]#container.ref": "totals.yaml:7:18"},
			want: []nmProblem{nmE(RuleReferenceUnknown, "workspace[Totals]", "totals.yaml:7:18",
				"team container 'sales_pg' does not exist")},
		},
		{
			name: "workspace container ref that resolves",
			mutate: func(m *modelv1.Model) {
				m.Teams = append(m.Teams, &modelv1.Team{Name: "Analytics", Zone: "Europe",
					Containers: []*modelv1.DataContainer{nmPG("an_pg", "Acme:EU/Dublin")}})
				nmWS(m, "Totals").Container = nmRef("an_pg")
			},
		},
	}, checkReferences)
}
