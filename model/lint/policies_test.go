package lint

import (
	"testing"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

func TestCheckZonesPolicyOverlap(t *testing.T) {
	nmRun(t, []nmCase{
		{
			name: "zone policies of every kind and a workspace's own policy",
			mutate: func(m *modelv1.Model) {
				z := nmZone(m, "Europe")
				z.LocationPolicies[0].NotAllowed = []string{"AWS:eu-central-1", "AWS:us-east-1", "AWS:eu-central-1"}
				z.ClassificationPolicies = []*modelv1.AllowDenyPolicy{nmPolicy("NoPC3", []string{"PUB", "PC3"}, []string{"PC3"})}
				z.PlatformPolicies = []*modelv1.AllowDenyPolicy{nmPolicy("Core", []string{"YellowLive"}, []string{"Other"})}
				nmWS(m, "Totals").ClassificationPolicy = nmPolicy("Mine", []string{"IP"}, []string{"IP"})
			},
			at: map[string]string{
				"zone[Europe]#locationPolicies[EUOnly].notAllowed[AWS:eu-central-1]": "europe.yaml:21:11",
				"zone[Europe]#classificationPolicies[NoPC3].notAllowed[PC3]":         "europe.yaml:31:11",
				"workspace[Totals]#classificationPolicy.notAllowed[IP]":              "totals.yaml:8:20",
			},
			want: []nmProblem{
				nmE(RulePolicyOverlap, "zone[Europe]", "europe.yaml:21:11", "policy 'EUOnly' both allows and forbids 'AWS:eu-central-1'"),
				nmE(RulePolicyOverlap, "zone[Europe]", "europe.yaml:31:11", "policy 'NoPC3' both allows and forbids 'PC3'"),
				nmE(RulePolicyOverlap, "workspace[Totals]", "totals.yaml:8:20", "policy 'Mine' both allows and forbids 'IP'"),
			},
		},
	}, checkZones)
}

func TestCheckZonesStoragePolicies(t *testing.T) {
	const key = "datastore[SalesDB]/dataset[orders]#storagePolicies[GDPR]"
	deprecate := func(m *modelv1.Model) { nmZone(m, "Europe").StoragePolicies[0].Deprecation = nmDeprecated() }
	nmRun(t, []nmCase{
		{
			name: "a policy of another zone or of none",
			mutate: func(m *modelv1.Model) {
				nmZone(m, "Americas").StoragePolicies = []*modelv1.StoragePolicy{{Name: "SOX"}}
				nmStore1(m, "SalesDB").Datasets[1].StoragePolicies = []string{"GDPR", "SOX", "gdpr"}
			},
			at: map[string]string{
				"datastore[SalesDB]/dataset[orders]#storagePolicies[SOX]":  "salesdb.yaml:31:25",
				"datastore[SalesDB]/dataset[orders]#storagePolicies[gdpr]": "salesdb.yaml:31:30",
			},
			want: []nmProblem{
				nmE(RuleStoragePolicyForeign, "datastore[SalesDB]/dataset[orders]", "salesdb.yaml:31:25",
					"dataset 'orders' uses storage policy 'SOX', which is not a policy of zone 'Europe'"),
				nmE(RuleStoragePolicyForeign, "datastore[SalesDB]/dataset[orders]", "salesdb.yaml:31:30",
					"dataset 'orders' uses storage policy 'gdpr', which is not a policy of zone 'Europe'"),
			},
		},
		{
			name:   "a deprecated policy",
			mutate: deprecate,
			at:     map[string]string{key: "salesdb.yaml:31:19"},
			want: []nmProblem{nmE(RuleStoragePolicyDeprecated, "datastore[SalesDB]/dataset[orders]", "salesdb.yaml:31:19",
				"dataset 'orders' uses deprecated storage policy 'GDPR'")},
		},
		{
			name: "a deprecated policy on a deprecated dataset is a warning",
			mutate: func(m *modelv1.Model) {
				deprecate(m)
				nmStore1(m, "SalesDB").Datasets[1].Deprecation = nmDeprecated()
			},
			at: map[string]string{key: "salesdb.yaml:31:19"},
			want: []nmProblem{nmW(RuleStoragePolicyDeprecated, "datastore[SalesDB]/dataset[orders]", "salesdb.yaml:31:19",
				"dataset 'orders' uses deprecated storage policy 'GDPR'")},
		},
		{
			name: "a deprecated policy in a deprecated datastore is a warning",
			mutate: func(m *modelv1.Model) {
				deprecate(m)
				nmStore1(m, "SalesDB").Deprecation = nmDeprecated()
			},
			at: map[string]string{key: "salesdb.yaml:31:19"},
			want: []nmProblem{nmW(RuleStoragePolicyDeprecated, "datastore[SalesDB]/dataset[orders]", "salesdb.yaml:31:19",
				"dataset 'orders' uses deprecated storage policy 'GDPR'")},
		},
		{
			name: "NOT_DEPRECATED is not deprecated",
			mutate: func(m *modelv1.Model) {
				nmZone(m, "Europe").StoragePolicies[0].Deprecation = &modelv1.Deprecation{Status: modelv1.DeprecationStatus_DEPRECATION_STATUS_NOT_DEPRECATED}
			},
		},
	}, checkZones)
}

func TestCheckZonesPlacement(t *testing.T) {
	nmRun(t, []nmCase{
		{
			name: "capture containers are checked against their own zone; a listed node covers descendants",
			mutate: func(m *modelv1.Model) {
				// SalesDB's team container is in Acme:EU/Frankfurt, covered by EUOnly's Acme:EU.
				// PaymentsDB is in Americas, which has no policies, so Acme:US is fine there.
				m.Datastores = append(m.Datastores, nmStore("Leads", "Europe", "Sales", nmSnapshot(nmPG("", "Acme:US/Virginia", "AWS:eu-central-1"), "L"),
					nmDataset("leads", "id")))
			},
			at: map[string]string{
				"datastore[Leads]#capture.sqlSnapshot.container.postgres.locations[Acme:US/Virginia]": "leads.yaml:9:13",
			},
			want: []nmProblem{nmE(RuleLocationPolicyViolation, "datastore[Leads]", "leads.yaml:9:13",
				"location 'Acme:US/Virginia' of datastore 'Leads' is not allowed by location policy 'EUOnly' of zone 'Europe'")},
		},
		{
			name: "a referenced team container is cited at the ref",
			mutate: func(m *modelv1.Model) {
				m.Teams[0].Containers[0].GetPostgres().Locations = []string{"Acme:US"}
			},
			at: map[string]string{"datastore[SalesDB]#capture.sqlSnapshot.container.ref": "salesdb.yaml:8:18"},
			want: []nmProblem{nmE(RuleLocationPolicyViolation, "datastore[SalesDB]", "salesdb.yaml:8:18",
				"location 'Acme:US' of datastore 'SalesDB' is not allowed by location policy 'EUOnly' of zone 'Europe'")},
		},
		{
			name: "a workspace container against the zones of the datastores it sinks, not its own",
			mutate: func(m *modelv1.Model) {
				nmZone(m, "Americas").LocationPolicies = []*modelv1.AllowDenyPolicy{nmPolicy("NotEU", nil, []string{"Acme:EU/Dublin"})}
				w := nmWorkspace("Mixed", "Americas", "Payments", nmDSG("g", nmSink("PaymentsDB", "payments"), nmSink("SalesDB", "orders")))
				w.Container = nmPG("", "Acme:EU/Dublin", "Acme:US/Virginia")
				m.Workspaces = append(m.Workspaces, w)
				// Totals sinks only Europe, whose policy accepts Dublin; Americas' policy does not apply.
				nmWS(m, "Totals").Container = nmPG("", "Acme:EU/Dublin")
			},
			at: map[string]string{
				"workspace[Mixed]#container.postgres.locations[Acme:EU/Dublin]":   "mixed.yaml:9:13",
				"workspace[Mixed]#container.postgres.locations[Acme:US/Virginia]": "mixed.yaml:10:13",
			},
			want: []nmProblem{
				nmE(RuleLocationPolicyViolation, "workspace[Mixed]", "mixed.yaml:9:13",
					"location 'Acme:EU/Dublin' of workspace 'Mixed' is not allowed by location policy 'NotEU' of zone 'Americas'"),
				nmE(RuleLocationPolicyViolation, "workspace[Mixed]", "mixed.yaml:10:13",
					"location 'Acme:US/Virginia' of workspace 'Mixed' is not allowed by location policy 'EUOnly' of zone 'Europe'"),
			},
		},
		{
			name: "platform-managed workspaces have no locations to check",
			mutate: func(m *modelv1.Model) {
				nmZone(m, "Europe").LocationPolicies[0].Allowed = []string{"AWS:us-east-1"}
				nmStore1(m, "SalesDB").GetCapture().GetSqlSnapshot().Container = nmPG("", "AWS:us-east-1")
			},
		},
		{
			name: "vendor policy",
			mutate: func(m *modelv1.Model) {
				nmZone(m, "Americas").VendorPolicies = []*modelv1.AllowDenyPolicy{nmPolicy("CloudOnly", []string{"AWS"}, nil)}
			},
			at: map[string]string{"datastore[PaymentsDB]#capture.sqlSnapshot.container.postgres.locations[Acme:US/Virginia]": "paymentsdb.yaml:9:13"},
			want: []nmProblem{nmE(RuleLocationPolicyViolation, "datastore[PaymentsDB]", "paymentsdb.yaml:9:13",
				"location 'Acme:US/Virginia' of datastore 'PaymentsDB' is not allowed by vendor policy 'CloudOnly' of zone 'Americas'")},
		},
		{
			name: "hard-vendor policy",
			mutate: func(m *modelv1.Model) {
				nmZone(m, "Americas").HardVendorPolicies = []*modelv1.AllowDenyPolicy{nmPolicy("NoPrivate", nil, []string{"PRIVATE"})}
				m.Datastores = append(m.Datastores, nmStore("CloudDB", "Americas", "Payments", nmSnapshot(nmPG("", "AWS:us-east-1"), "C"), nmDataset("d", "id")))
			},
			at: map[string]string{"datastore[PaymentsDB]#capture.sqlSnapshot.container.postgres.locations[Acme:US/Virginia]": "paymentsdb.yaml:9:13"},
			want: []nmProblem{nmE(RuleLocationPolicyViolation, "datastore[PaymentsDB]", "paymentsdb.yaml:9:13",
				"location 'Acme:US/Virginia' of datastore 'PaymentsDB' is not allowed by hard-vendor policy 'NoPrivate' of zone 'Americas'")},
		},
		{
			name: "hard-vendor policy over a vendor without cloudVendor: reported once, at the vendor",
			mutate: func(m *modelv1.Model) {
				m.Ecosystem.Vendors[1].CloudVendor = modelv1.CloudVendor_CLOUD_VENDOR_UNSPECIFIED
				nmZone(m, "Americas").HardVendorPolicies = []*modelv1.AllowDenyPolicy{nmPolicy("NoPrivate", nil, []string{"PRIVATE"})}
				w := nmWorkspace("Ops", "Americas", "Payments", nmDSG("g", nmSink("PaymentsDB", "payments")))
				w.Container = nmPG("", "Acme:US")
				m.Workspaces = append(m.Workspaces, w)
			},
			at: map[string]string{"vendor[Acme]#cloudVendor": "eco.yaml:11:20"},
			want: []nmProblem{nmE(RuleHardVendorMissing, "vendor[Acme]", "eco.yaml:11:20",
				"vendor 'Acme' has no cloudVendor but zone 'Americas' has hard-vendor policy 'NoPrivate'")},
		},
		{
			name: "unresolved locations are left to the location rules",
			mutate: func(m *modelv1.Model) {
				nmStore1(m, "SalesDB").GetCapture().GetSqlSnapshot().Container = nmPG("", "Acme:Mars", "Mars:X", "bad")
			},
		},
	}, checkZones)
}
