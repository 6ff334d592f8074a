package lint

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/datasurface/datasurface/model/problem"
	"github.com/datasurface/datasurface/model/srcmap"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// Test helpers of the names/ecosystem/policy rules. Every helper is prefixed "nm" so the other
// test files of the package can define their own.

// nmProblem is a problem as the tests compare it.
type nmProblem struct {
	ID, Sev, Msg, Path, Pos string
}

// nmE and nmW build expected problems.
func nmE(r problem.Rule, path, pos, msg string) nmProblem {
	return nmProblem{ID: r.ID, Sev: "ERROR", Msg: msg, Path: path, Pos: pos}
}

func nmW(r problem.Rule, path, pos, msg string) nmProblem {
	return nmProblem{ID: r.ID, Sev: "WARNING", Msg: msg, Path: path, Pos: pos}
}

// nmCase is one table case: a mutation of nmBase, the source positions it adds, and the
// problems expected from the checks under test.
type nmCase struct {
	name   string
	mutate func(m *modelv1.Model)
	at     map[string]string // source-map key → "file:line:column"
	want   []nmProblem
}

// nmBaseAt are the positions of nmBase's objects.
var nmBaseAt = map[string]string{
	"ecosystem":                           "eco.yaml:1:1",
	"vendor[Acme]":                        "eco.yaml:10:7",
	"vendor[AWS]":                         "eco.yaml:20:7",
	"zone[Europe]":                        "europe.yaml:1:1",
	"zone[Americas]":                      "americas.yaml:1:1",
	"zone[Europe]/team[Sales]":            "sales.yaml:1:1",
	"datastore[SalesDB]":                  "salesdb.yaml:1:1",
	"datastore[PaymentsDB]":               "paymentsdb.yaml:1:1",
	"datastore[SalesSummary]":             "summary.yaml:1:1",
	"workspace[SalesAnalytics]":           "analytics.yaml:1:1",
	"workspace[Totals]":                   "totals.yaml:1:1",
	"psp[Core]":                           "psp.yaml:1:1",
	"psp[Core]/platform[YellowLive]":      "psp.yaml:8:7",
	"assignment[SalesAnalytics.main]":     "assign.yaml:5:7",
	"primary[SalesDB]":                    "assign.yaml:20:7",
	"datastore[SalesDB]/dataset[orders]":  "salesdb.yaml:30:7",
	"datastore[SalesDB]/dataset[clients]": "salesdb.yaml:20:7",
}

// nmSrc builds a source map from nmBaseAt and at (at wins).
func nmSrc(t testing.TB, at map[string]string) *srcmap.Map {
	t.Helper()
	m := srcmap.New(problem.Head)
	set := func(k, v string) {
		parts := strings.Split(v, ":")
		if len(parts) != 3 {
			t.Fatalf("position %q of %q is not file:line:column", v, k)
		}
		line, err1 := strconv.Atoi(parts[1])
		col, err2 := strconv.Atoi(parts[2])
		if err1 != nil || err2 != nil {
			t.Fatalf("position %q of %q is not file:line:column", v, k)
		}
		m.Set(k, parts[0], line, col)
	}
	for k, v := range at {
		set(k, v)
	}
	for k, v := range nmBaseAt {
		set(k, v)
	}
	return m
}

// nmRun runs checks over the case's model and compares the problems with want.
func nmRun(t *testing.T, cases []nmCase, checks ...func(*Context)) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := nmBase()
			if tc.mutate != nil {
				tc.mutate(m)
			}
			c := NewContext(m, nmSrc(t, tc.at))
			for _, check := range checks {
				check(c)
			}
			got := []nmProblem{}
			for _, p := range c.Problems() {
				pos := ""
				if !p.Pos.IsZero() {
					pos = p.Pos.String()
				}
				got = append(got, nmProblem{ID: p.Rule.ID, Sev: p.Severity.String(), Msg: p.Message, Path: p.Path, Pos: pos})
			}
			want := tc.want
			if want == nil {
				want = []nmProblem{}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("problems mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// nmAll is every check of the names/ecosystem/policy rules.
var nmAll = []func(*Context){checkNames, checkReferences, checkEcosystem, checkZones}

func nmDoc(s string) *modelv1.Documentation { return &modelv1.Documentation{Description: s} }

func nmDeprecated() *modelv1.Deprecation {
	return &modelv1.Deprecation{Status: modelv1.DeprecationStatus_DEPRECATION_STATUS_DEPRECATED}
}

func nmLoc(name string, children ...*modelv1.Location) *modelv1.Location {
	return &modelv1.Location{Name: name, Children: children}
}

func nmPG(name string, locs ...string) *modelv1.DataContainer {
	return &modelv1.DataContainer{Kind: &modelv1.DataContainer_Postgres{Postgres: &modelv1.HostDatabase{
		Name: name, Host: "db.acme.internal", Port: 5432, Database: "db", Locations: locs,
	}}}
}

func nmRef(name string) *modelv1.DataContainer {
	return &modelv1.DataContainer{Kind: &modelv1.DataContainer_Ref{Ref: name}}
}

func nmCred(name string) *modelv1.Credential {
	return &modelv1.Credential{Name: name, Type: modelv1.CredentialType_CREDENTIAL_TYPE_USER_PASSWORD}
}

func nmSnapshot(dc *modelv1.DataContainer, cred string) *modelv1.CaptureMetadata {
	return &modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_SqlSnapshot{SqlSnapshot: &modelv1.SqlSnapshotCapture{
		Container: dc, Credential: nmCred(cred), Consistency: modelv1.Consistency_CONSISTENCY_MULTI_DATASET,
		Trigger: &modelv1.Trigger{Kind: &modelv1.Trigger_Cron{Cron: "*/10 * * * *"}},
	}}}
}

func nmDataset(name string, cols ...string) *modelv1.Dataset {
	d := &modelv1.Dataset{Name: name}
	for _, c := range cols {
		d.Columns = append(d.Columns, &modelv1.Column{Name: c, Type: &modelv1.DataType{Name: "Integer"}, Nullable: true})
	}
	return d
}

func nmStore(name, zone, team string, capture *modelv1.CaptureMetadata, sets ...*modelv1.Dataset) *modelv1.Datastore {
	return &modelv1.Datastore{Name: name, Zone: zone, Team: team, Capture: capture, Datasets: sets}
}

func nmSink(store, set string) *modelv1.DatasetSink {
	return &modelv1.DatasetSink{Datastore: store, Dataset: set}
}

func nmDSG(name string, sinks ...*modelv1.DatasetSink) *modelv1.DatasetGroup {
	return &modelv1.DatasetGroup{Name: name, Sinks: sinks}
}

func nmWorkspace(name, zone, team string, dsgs ...*modelv1.DatasetGroup) *modelv1.Workspace {
	return &modelv1.Workspace{Name: name, Zone: zone, Team: team, DatasetGroups: dsgs,
		Container: &modelv1.DataContainer{Kind: &modelv1.DataContainer_PlatformManaged{PlatformManaged: &modelv1.PlatformManaged{}}}}
}

func nmPolicy(name string, allowed, notAllowed []string) *modelv1.AllowDenyPolicy {
	return &modelv1.AllowDenyPolicy{Name: name, Allowed: allowed, NotAllowed: notAllowed}
}

// nmStore1 returns datastore name of m.
func nmStore1(m *modelv1.Model, name string) *modelv1.Datastore {
	for _, s := range m.GetDatastores() {
		if s.GetName() == name {
			return s
		}
	}
	panic("no datastore " + name)
}

func nmWS(m *modelv1.Model, name string) *modelv1.Workspace {
	for _, w := range m.GetWorkspaces() {
		if w.GetName() == name {
			return w
		}
	}
	panic("no workspace " + name)
}

func nmZone(m *modelv1.Model, name string) *modelv1.GovernanceZone {
	for _, z := range m.GetZones() {
		if z.GetName() == name {
			return z
		}
	}
	panic("no zone " + name)
}

// nmBase is a small model that is clean under the names, references, ecosystem and zone rules:
// two vendors, zones Europe (teams Sales, Analytics) and Americas (team Payments), a Team
// document with a container, three datastores, two workspaces (one with a transformer), a PSP with
// a Yellow platform, an assignment and a primary ingestion.
func nmBase() *modelv1.Model {
	return &modelv1.Model{
		Ecosystem: &modelv1.Ecosystem{
			Name: "Acme", OwningRepo: "acme/model@eco", LiveRepo: "acme/model@main",
			Vendors: []*modelv1.Vendor{
				{Name: "AWS", CloudVendor: modelv1.CloudVendor_CLOUD_VENDOR_AWS, Documentation: nmDoc("Amazon"),
					Locations: []*modelv1.Location{nmLoc("eu-central-1"), nmLoc("us-east-1")}},
				{Name: "Acme", CloudVendor: modelv1.CloudVendor_CLOUD_VENDOR_PRIVATE, Documentation: nmDoc("own data centres"),
					Locations: []*modelv1.Location{
						nmLoc("EU", nmLoc("Frankfurt"), nmLoc("Dublin")),
						nmLoc("US", nmLoc("Virginia")),
					}},
			},
			Zones: []*modelv1.ZoneDeclaration{
				{Name: "Americas", OwningRepo: "acme/model@zone-americas"},
				{Name: "Europe", OwningRepo: "acme/model@zone-europe"},
			},
		},
		Zones: []*modelv1.GovernanceZone{
			{Name: "Americas", Teams: []*modelv1.TeamDeclaration{{Name: "Payments", OwningRepo: "acme/model@team-payments"}}},
			{Name: "Europe",
				Teams: []*modelv1.TeamDeclaration{
					{Name: "Analytics", OwningRepo: "acme/model@team-analytics"},
					{Name: "Sales", OwningRepo: "acme/model@team-sales"},
				},
				StoragePolicies: []*modelv1.StoragePolicy{
					{Name: "GDPR", Mandatory: modelv1.StoragePolicyMandate_STORAGE_POLICY_MANDATE_INDIVIDUALLY_MANDATED},
				},
				LocationPolicies: []*modelv1.AllowDenyPolicy{nmPolicy("EUOnly", []string{"Acme:EU", "AWS:eu-central-1"}, nil)},
			},
		},
		Teams: []*modelv1.Team{
			{Name: "Sales", Zone: "Europe", Containers: []*modelv1.DataContainer{nmPG("sales_pg", "Acme:EU/Frankfurt")}},
		},
		Datastores: []*modelv1.Datastore{
			nmStore("PaymentsDB", "Americas", "Payments", nmSnapshot(nmPG("pay_pg", "Acme:US/Virginia"), "PAY_PG"),
				nmDataset("payments", "id", "amount")),
			func() *modelv1.Datastore {
				s := nmStore("SalesDB", "Europe", "Sales", nmSnapshot(nmRef("sales_pg"), "SALES_PG"),
					nmDataset("clients", "id", "name"), nmDataset("orders", "order_id", "amount"))
				s.Datasets[1].StoragePolicies = []string{"GDPR"}
				return s
			}(),
			nmStore("SalesSummary", "Europe", "Analytics", &modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_TransformerOutput{
				TransformerOutput: &modelv1.TransformerOutputCapture{Workspace: "Totals"}}},
				nmDataset("totals", "client_id", "total")),
		},
		Workspaces: []*modelv1.Workspace{
			nmWorkspace("SalesAnalytics", "Europe", "Analytics",
				nmDSG("main", nmSink("SalesDB", "orders"), nmSink("SalesSummary", "totals"))),
			func() *modelv1.Workspace {
				w := nmWorkspace("Totals", "Europe", "Analytics", nmDSG("inputs", nmSink("SalesDB", "clients"), nmSink("SalesDB", "orders")))
				w.Transformer = &modelv1.DataTransformer{Name: "totals_tx", OutputDatastore: "SalesSummary"}
				return w
			}(),
		},
		Psps: []*modelv1.PlatformServicesProvider{{
			Name: "Core", Locations: []string{"Acme:EU/Frankfurt"},
			Platforms: []*modelv1.DataPlatform{{Name: "YellowLive", Kind: &modelv1.DataPlatform_Yellow{Yellow: &modelv1.YellowPlatform{
				Milestoning:     modelv1.PlatformMilestoning_PLATFORM_MILESTONING_LIVE_ONLY,
				MergeDatabase:   nmPG("", "Acme:EU/Frankfurt"),
				MergeCredential: nmCred("YELLOW_MERGE"),
			}}}},
		}},
		Assignments: []*modelv1.DatasetGroupAssignment{{Workspace: "SalesAnalytics", DatasetGroup: "main",
			Platforms: []*modelv1.PlatformAssignment{{Platform: "YellowLive"}}}},
		PrimaryIngestions: []*modelv1.PrimaryIngestion{{Datastore: "SalesDB", Platforms: []string{"YellowLive"}}},
	}
}

func TestNmBaseIsClean(t *testing.T) {
	nmRun(t, []nmCase{{name: "base model"}}, nmAll...)
}

func TestCheckNamesSyntax(t *testing.T) {
	nmRun(t, []nmCase{
		{
			name: "datastore name starts with a digit",
			mutate: func(m *modelv1.Model) {
				m.Datastores = append(m.Datastores, nmStore("1Store", "Europe", "Sales", nmSnapshot(nmRef("sales_pg"), "X"), nmDataset("d", "c")))
			},
			at: map[string]string{"datastore[1Store]": "one.yaml:2:9"},
			want: []nmProblem{nmE(RuleSQLIdentifierInvalid, "datastore[1Store]", "one.yaml:2:9",
				"datastore name '1Store' must start with a letter and contain only letters, digits and '_' (at most 128)")},
		},
		{
			name: "column with a hyphen, dataset too long",
			mutate: func(m *modelv1.Model) {
				s := nmStore1(m, "PaymentsDB")
				s.Datasets[0].Columns[1].Name = "pay-amount"
				s.Datasets = append(s.Datasets, nmDataset("d"+strings.Repeat("x", 128), "c"))
			},
			at: map[string]string{
				"datastore[PaymentsDB]/dataset[payments]/column[pay-amount]":       "paymentsdb.yaml:12:11",
				"datastore[PaymentsDB]/dataset[d" + strings.Repeat("x", 128) + "]": "paymentsdb.yaml:20:7",
			},
			want: []nmProblem{
				nmE(RuleSQLIdentifierInvalid, "datastore[PaymentsDB]/dataset[payments]/column[pay-amount]", "paymentsdb.yaml:12:11",
					"column name 'pay-amount' must start with a letter and contain only letters, digits and '_' (at most 128)"),
				nmE(RuleSQLIdentifierInvalid, "datastore[PaymentsDB]/dataset[d"+strings.Repeat("x", 128)+"]", "paymentsdb.yaml:20:7",
					"dataset name 'd"+strings.Repeat("x", 128)+"' must start with a letter and contain only letters, digits and '_' (at most 128)"),
			},
		},
		{
			name: "workspace, dataset group and transformer names",
			mutate: func(m *modelv1.Model) {
				w := nmWS(m, "Totals")
				w.DatasetGroups[0].Name = "in puts"
				w.Transformer.Name = "_tx"
				m.Workspaces = append(m.Workspaces, nmWorkspace("Sales.WS", "Europe", "Analytics", nmDSG("g", nmSink("SalesDB", "orders"))))
			},
			at: map[string]string{
				"workspace[Totals]/dsg[in puts]":     "totals.yaml:5:9",
				"workspace[Totals]/transformer#name": "totals.yaml:20:11",
				"workspace[Totals]/transformer":      "totals.yaml:19:5",
				"workspace[Sales.WS]":                "ws.yaml:1:1",
			},
			want: []nmProblem{
				nmE(RuleSQLIdentifierInvalid, "workspace[Totals]/dsg[in puts]", "totals.yaml:5:9",
					"dataset group name 'in puts' must start with a letter and contain only letters, digits and '_' (at most 128)"),
				nmE(RuleSQLIdentifierInvalid, "workspace[Totals]/transformer", "totals.yaml:20:11",
					"transformer name '_tx' must start with a letter and contain only letters, digits and '_' (at most 128)"),
				nmE(RuleSQLIdentifierInvalid, "workspace[Sales.WS]", "ws.yaml:1:1",
					"workspace name 'Sales.WS' must start with a letter and contain only letters, digits and '_' (at most 128)"),
			},
		},
		{
			name: "reserved words in any case",
			mutate: func(m *modelv1.Model) {
				s := nmStore1(m, "PaymentsDB")
				s.Datasets[0].Columns[1].Name = "Order"
				s.Datasets[0].Name = "TABLE"
			},
			at: map[string]string{
				"datastore[PaymentsDB]/dataset[TABLE]":               "paymentsdb.yaml:10:7",
				"datastore[PaymentsDB]/dataset[TABLE]/column[Order]": "paymentsdb.yaml:14:11",
			},
			want: []nmProblem{
				nmE(RuleSQLIdentifierReserved, "datastore[PaymentsDB]/dataset[TABLE]", "paymentsdb.yaml:10:7", "dataset name 'TABLE' is a reserved SQL word"),
				nmE(RuleSQLIdentifierReserved, "datastore[PaymentsDB]/dataset[TABLE]/column[Order]", "paymentsdb.yaml:14:11", "column name 'Order' is a reserved SQL word"),
			},
		},
		{
			name: "a reserved word as a prefix is fine",
			mutate: func(m *modelv1.Model) {
				nmStore1(m, "PaymentsDB").Datasets[0].Columns[1].Name = "order_total"
			},
		},
		{
			name: "display names of ecosystem, vendor, location, zone and team declarations",
			mutate: func(m *modelv1.Model) {
				m.Ecosystem.Name = "Acme "
				m.Ecosystem.Vendors[0].Name = "AWS:Cloud"
				m.Ecosystem.Vendors[1].Locations[0].Children[1].Name = "Dub/lin"
				m.Ecosystem.Zones[0].Name = "Amer\nicas"
				nmZone(m, "Europe").Teams[0].Name = ""
			},
			at: map[string]string{
				"vendor[AWS:Cloud]":                           "eco.yaml:20:13",
				"vendor[Acme]/location[EU]/location[Dub/lin]": "eco.yaml:15:17",
				"ecosystem#zones[Amer\nicas]":                 "eco.yaml:40:9",
				"zone[Europe]#teams[]":                        "europe.yaml:5:7",
			},
			want: []nmProblem{
				nmE(RuleDisplayNameInvalid, "ecosystem", "eco.yaml:1:1",
					"ecosystem name 'Acme ' must be 1–128 printable characters without '/' or ':' or surrounding spaces"),
				nmE(RuleDisplayNameInvalid, "vendor[Acme]/location[EU]/location[Dub/lin]", "eco.yaml:15:17",
					"location name 'Dub/lin' must be 1–128 printable characters without '/' or ':' or surrounding spaces"),
				nmE(RuleDisplayNameInvalid, "vendor[AWS:Cloud]", "eco.yaml:20:13",
					"vendor name 'AWS:Cloud' must be 1–128 printable characters without '/' or ':' or surrounding spaces"),
				nmE(RuleDisplayNameInvalid, "ecosystem", "eco.yaml:40:9",
					`zone name 'Amer\nicas' must be 1–128 printable characters without '/' or ':' or surrounding spaces`),
				nmE(RuleDisplayNameInvalid, "zone[Europe]", "europe.yaml:5:7",
					"team name '' must be 1–128 printable characters without '/' or ':' or surrounding spaces"),
			},
		},
		{
			name: "a zone document repeats its declaration's name: reported once, at the declaration",
			mutate: func(m *modelv1.Model) {
				m.Ecosystem.Zones[0].Name = "Amer/icas"
				m.Zones[0].Name = "Amer/icas"
			},
			at: map[string]string{
				"ecosystem#zones[Amer/icas]": "eco.yaml:40:9",
				"zone[Amer/icas]":            "americas.yaml:4:9",
			},
			want: []nmProblem{
				nmE(RuleDisplayNameInvalid, "ecosystem", "eco.yaml:40:9",
					"zone name 'Amer/icas' must be 1–128 printable characters without '/' or ':' or surrounding spaces"),
			},
		},
		{
			name: "undeclared zone and team documents are checked themselves",
			mutate: func(m *modelv1.Model) {
				m.Zones = append(m.Zones, &modelv1.GovernanceZone{Name: "Asia:Pacific"})
				m.Teams = append(m.Teams, &modelv1.Team{Name: " Ops", Zone: "Europe"})
			},
			at: map[string]string{
				"zone[Asia:Pacific]":      "asia.yaml:4:9",
				"zone[Europe]/team[ Ops]": "ops.yaml:4:9",
			},
			want: []nmProblem{
				nmE(RuleDisplayNameInvalid, "zone[Asia:Pacific]", "asia.yaml:4:9",
					"zone name 'Asia:Pacific' must be 1–128 printable characters without '/' or ':' or surrounding spaces"),
				nmE(RuleDisplayNameInvalid, "zone[Europe]/team[ Ops]", "ops.yaml:4:9",
					"team name ' Ops' must be 1–128 printable characters without '/' or ':' or surrounding spaces"),
			},
		},
		{
			name: "display names of PSP, platform, policies and containers",
			mutate: func(m *modelv1.Model) {
				m.Psps[0].Name = "Core/1"
				m.Psps[0].Platforms[0].Name = "Yellow:Live"
				m.Psps[0].Platforms[0].GetYellow().MergeDatabase = nmPG("merge:db", "Acme:EU/Frankfurt")
				nmZone(m, "Europe").StoragePolicies[0].Name = "GDPR/EU"
				nmStore1(m, "SalesDB").Datasets[1].StoragePolicies = []string{"GDPR/EU"}
				nmZone(m, "Europe").LocationPolicies[0].Name = "EU:Only"
				m.Teams[0].Containers[0].GetPostgres().Name = "sales:pg"
				nmStore1(m, "SalesDB").GetCapture().GetSqlSnapshot().Container = nmRef("sales:pg")
				nmStore1(m, "PaymentsDB").GetCapture().GetSqlSnapshot().Container = nmPG(" pay", "Acme:US/Virginia")
				nmWS(m, "Totals").ClassificationPolicy = nmPolicy("No/PC3", nil, []string{"PC3"})
			},
			at: map[string]string{
				"psp[Core/1]":                       "psp.yaml:3:9",
				"psp[Core/1]/platform[Yellow:Live]": "psp.yaml:9:9",
				"psp[Core/1]/platform[Yellow:Live]#yellow.mergeDatabase.postgres.name": "psp.yaml:12:15",
				"zone[Europe]#storagePolicies[GDPR/EU]":                                "europe.yaml:9:9",
				"zone[Europe]#locationPolicies[EU:Only]":                               "europe.yaml:15:9",
				"zone[Europe]/team[Sales]#containers[sales:pg]":                        "sales.yaml:8:9",
				"datastore[PaymentsDB]#capture.sqlSnapshot.container.postgres.name":    "paymentsdb.yaml:8:15",
				"workspace[Totals]#classificationPolicy.name":                          "totals.yaml:6:13",
			},
			want: []nmProblem{
				nmE(RuleDisplayNameInvalid, "zone[Europe]", "europe.yaml:9:9",
					"storage policy name 'GDPR/EU' must be 1–128 printable characters without '/' or ':' or surrounding spaces"),
				nmE(RuleDisplayNameInvalid, "zone[Europe]", "europe.yaml:15:9",
					"location policy name 'EU:Only' must be 1–128 printable characters without '/' or ':' or surrounding spaces"),
				nmE(RuleDisplayNameInvalid, "datastore[PaymentsDB]", "paymentsdb.yaml:8:15",
					"container name ' pay' must be 1–128 printable characters without '/' or ':' or surrounding spaces"),
				nmE(RuleDisplayNameInvalid, "psp[Core/1]", "psp.yaml:3:9",
					"platform services provider name 'Core/1' must be 1–128 printable characters without '/' or ':' or surrounding spaces"),
				nmE(RuleDisplayNameInvalid, "psp[Core/1]/platform[Yellow:Live]", "psp.yaml:9:9",
					"platform name 'Yellow:Live' must be 1–128 printable characters without '/' or ':' or surrounding spaces"),
				nmE(RuleDisplayNameInvalid, "psp[Core/1]/platform[Yellow:Live]", "psp.yaml:12:15",
					"container name 'merge:db' must be 1–128 printable characters without '/' or ':' or surrounding spaces"),
				nmE(RuleDisplayNameInvalid, "zone[Europe]/team[Sales]", "sales.yaml:8:9",
					"team container name 'sales:pg' must be 1–128 printable characters without '/' or ':' or surrounding spaces"),
				nmE(RuleDisplayNameInvalid, "workspace[Totals]", "totals.yaml:6:13",
					"classification policy name 'No/PC3' must be 1–128 printable characters without '/' or ':' or surrounding spaces"),
			},
		},
		{
			name: "credential names",
			mutate: func(m *modelv1.Model) {
				nmStore1(m, "SalesDB").GetCapture().GetSqlSnapshot().Credential.Name = "SALES-PG"
				y := m.Psps[0].Platforms[0].GetYellow()
				y.SecurityCredential = nmCred("1SEC")
				y.RawArchive = &modelv1.RawArchive{Bucket: "b", Credential: nmCred("ok_name")}
			},
			at: map[string]string{
				"datastore[SalesDB]#capture.sqlSnapshot.credential.name":        "salesdb.yaml:9:15",
				"psp[Core]/platform[YellowLive]#yellow.securityCredential.name": "psp.yaml:14:15",
			},
			want: []nmProblem{
				nmE(RuleCredentialNameInvalid, "psp[Core]/platform[YellowLive]", "psp.yaml:14:15",
					"credential name '1SEC' must match ^[A-Za-z_][A-Za-z0-9_]*$"),
				nmE(RuleCredentialNameInvalid, "datastore[SalesDB]", "salesdb.yaml:9:15",
					"credential name 'SALES-PG' must match ^[A-Za-z_][A-Za-z0-9_]*$"),
			},
		},
	}, checkNames)
}

func TestCheckNamesUniqueness(t *testing.T) {
	dupStore := func(name string) func(m *modelv1.Model) {
		return func(m *modelv1.Model) {
			m.Datastores = append(m.Datastores, nmStore(name, "Americas", "Payments", nmSnapshot(nmPG("", "Acme:US"), "PAY_PG"), nmDataset("x", "c")))
		}
	}
	nmRun(t, []nmCase{
		{
			name:   "duplicate datastore: the repeat is cited at the only recorded node",
			mutate: dupStore("PaymentsDB"),
			want: []nmProblem{nmE(RuleDuplicateName, "datastore[PaymentsDB]", "paymentsdb.yaml:1:1",
				"datastore 'PaymentsDB' is already defined in the ecosystem at paymentsdb.yaml:1:1")},
		},
		{
			name:   "duplicate datastore: the repeat's own node when the loader records it",
			mutate: dupStore("PaymentsDB"),
			at:     map[string]string{"datastore[PaymentsDB]~2": "other/paymentsdb.yaml:3:7"},
			want: []nmProblem{nmE(RuleDuplicateName, "datastore[PaymentsDB]", "other/paymentsdb.yaml:3:7",
				"datastore 'PaymentsDB' is already defined in the ecosystem at paymentsdb.yaml:1:1")},
		},
		{
			name:   "datastore names differing only by case",
			mutate: dupStore("paymentsdb"),
			at:     map[string]string{"datastore[paymentsdb]": "lower.yaml:1:1"},
			want: []nmProblem{nmE(RuleNameCaseCollision, "datastore[paymentsdb]", "lower.yaml:1:1",
				"datastore 'paymentsdb' differs from 'PaymentsDB' (at paymentsdb.yaml:1:1) only by letter case")},
		},
		{
			name: "three spellings: a collision and a duplicate of the second",
			mutate: func(m *modelv1.Model) {
				dupStore("paymentsdb")(m)
				dupStore("paymentsdb")(m)
			},
			at: map[string]string{"datastore[paymentsdb]": "lower.yaml:1:1", "datastore[paymentsdb]~2": "lower2.yaml:1:1"},
			want: []nmProblem{
				nmE(RuleNameCaseCollision, "datastore[paymentsdb]", "lower.yaml:1:1",
					"datastore 'paymentsdb' differs from 'PaymentsDB' (at paymentsdb.yaml:1:1) only by letter case"),
				nmE(RuleDuplicateName, "datastore[paymentsdb]", "lower2.yaml:1:1",
					"datastore 'paymentsdb' is already defined in the ecosystem at lower.yaml:1:1"),
			},
		},
		{
			name: "datasets of one datastore, columns of one dataset",
			mutate: func(m *modelv1.Model) {
				s := nmStore1(m, "SalesDB")
				s.Datasets = append(s.Datasets, nmDataset("Orders", "x"))
				s.Datasets[0].Columns = append(s.Datasets[0].Columns, &modelv1.Column{Name: "ID"}, &modelv1.Column{Name: "name"})
			},
			at: map[string]string{
				"datastore[SalesDB]/dataset[Orders]":               "salesdb.yaml:50:7",
				"datastore[SalesDB]/dataset[clients]/column[id]":   "salesdb.yaml:22:11",
				"datastore[SalesDB]/dataset[clients]/column[ID]":   "salesdb.yaml:25:11",
				"datastore[SalesDB]/dataset[clients]/column[name]": "salesdb.yaml:23:11",
			},
			want: []nmProblem{
				nmE(RuleDuplicateName, "datastore[SalesDB]/dataset[clients]/column[name]", "salesdb.yaml:23:11",
					"column 'name' is already defined in dataset 'SalesDB.clients' at salesdb.yaml:23:11"),
				nmE(RuleNameCaseCollision, "datastore[SalesDB]/dataset[clients]/column[ID]", "salesdb.yaml:25:11",
					"column 'ID' differs from 'id' (at salesdb.yaml:22:11) only by letter case"),
				nmE(RuleNameCaseCollision, "datastore[SalesDB]/dataset[Orders]", "salesdb.yaml:50:7",
					"dataset 'Orders' differs from 'orders' (at salesdb.yaml:30:7) only by letter case"),
			},
		},
		{
			name: "the same dataset or column name in different scopes is fine",
			mutate: func(m *modelv1.Model) {
				nmStore1(m, "PaymentsDB").Datasets[0].Name = "orders"
			},
		},
		{
			name: "vendors and sibling locations; cousins may share a name",
			mutate: func(m *modelv1.Model) {
				m.Ecosystem.Vendors = append(m.Ecosystem.Vendors, &modelv1.Vendor{Name: "aws", Documentation: nmDoc("x"),
					CloudVendor: modelv1.CloudVendor_CLOUD_VENDOR_AWS})
				acme := m.Ecosystem.Vendors[1]
				acme.Locations = append(acme.Locations, nmLoc("EU"))
				acme.Locations[0].Children = append(acme.Locations[0].Children, nmLoc("frankfurt"))
				acme.Locations[1].Children = append(acme.Locations[1].Children, nmLoc("Dublin"))
			},
			at: map[string]string{
				"vendor[aws]":               "eco.yaml:30:7",
				"vendor[Acme]/location[EU]": "eco.yaml:11:9",
				"vendor[Acme]/location[EU]/location[Frankfurt]": "eco.yaml:12:11",
				"vendor[Acme]/location[EU]/location[frankfurt]": "eco.yaml:13:11",
			},
			want: []nmProblem{
				nmE(RuleDuplicateName, "vendor[Acme]/location[EU]", "eco.yaml:11:9",
					"location 'EU' is already defined in vendor 'Acme' at eco.yaml:11:9"),
				nmE(RuleNameCaseCollision, "vendor[Acme]/location[EU]/location[frankfurt]", "eco.yaml:13:11",
					"location 'frankfurt' differs from 'Frankfurt' (at eco.yaml:12:11) only by letter case"),
				nmE(RuleNameCaseCollision, "vendor[aws]", "eco.yaml:30:7",
					"vendor 'aws' differs from 'AWS' (at eco.yaml:20:7) only by letter case"),
			},
		},
		{
			name: "zone declarations, zone documents, team declarations and Team documents",
			mutate: func(m *modelv1.Model) {
				m.Ecosystem.Zones = append(m.Ecosystem.Zones, &modelv1.ZoneDeclaration{Name: "EUROPE", OwningRepo: "acme/model@x"})
				m.Zones = append(m.Zones, &modelv1.GovernanceZone{Name: "Europe"})
				nmZone(m, "Americas").Teams = append(nmZone(m, "Americas").Teams, &modelv1.TeamDeclaration{Name: "Payments", OwningRepo: "acme/model@y"})
				m.Teams = append(m.Teams, &modelv1.Team{Name: "sales", Zone: "Europe"}, &modelv1.Team{Name: "Sales", Zone: "Americas"})
			},
			at: map[string]string{
				"ecosystem#zones[Europe]":        "eco.yaml:41:9",
				"ecosystem#zones[EUROPE]":        "eco.yaml:42:9",
				"zone[Americas]#teams[Payments]": "americas.yaml:6:9",
				"zone[Europe]/team[sales]":       "sales2.yaml:1:1",
				"zone[Americas]/team[Sales]":     "sales3.yaml:1:1",
			},
			want: []nmProblem{
				nmE(RuleDuplicateName, "zone[Americas]", "americas.yaml:6:9",
					"team 'Payments' is already defined in zone 'Americas' at americas.yaml:6:9"),
				nmE(RuleNameCaseCollision, "ecosystem", "eco.yaml:42:9",
					"zone 'EUROPE' differs from 'Europe' (at eco.yaml:41:9) only by letter case"),
				nmE(RuleDuplicateName, "zone[Europe]", "europe.yaml:1:1",
					"zone 'Europe' is already defined in the ecosystem at europe.yaml:1:1"),
				nmE(RuleNameCaseCollision, "zone[Europe]/team[sales]", "sales2.yaml:1:1",
					"team 'sales' differs from 'Sales' (at sales.yaml:1:1) only by letter case"),
			},
		},
		{
			name: "policies are unique per zone and kind; team containers per team",
			mutate: func(m *modelv1.Model) {
				z := nmZone(m, "Europe")
				z.StoragePolicies = append(z.StoragePolicies, &modelv1.StoragePolicy{Name: "gdpr"})
				z.LocationPolicies = append(z.LocationPolicies, nmPolicy("EUOnly", nil, nil))
				z.VendorPolicies = []*modelv1.AllowDenyPolicy{nmPolicy("EUOnly", nil, nil)} // another kind: fine
				m.Teams[0].Containers = append(m.Teams[0].Containers, nmPG("Sales_PG"))
			},
			at: map[string]string{
				"zone[Europe]#storagePolicies[GDPR]":            "europe.yaml:8:9",
				"zone[Europe]#storagePolicies[gdpr]":            "europe.yaml:9:9",
				"zone[Europe]#locationPolicies[EUOnly]":         "europe.yaml:12:9",
				"zone[Europe]/team[Sales]#containers[sales_pg]": "sales.yaml:5:9",
				"zone[Europe]/team[Sales]#containers[Sales_PG]": "sales.yaml:9:9",
			},
			want: []nmProblem{
				nmE(RuleNameCaseCollision, "zone[Europe]", "europe.yaml:9:9",
					"storage policy 'gdpr' differs from 'GDPR' (at europe.yaml:8:9) only by letter case"),
				nmE(RuleDuplicateName, "zone[Europe]", "europe.yaml:12:9",
					"location policy 'EUOnly' is already defined in zone 'Europe' at europe.yaml:12:9"),
				nmE(RuleNameCaseCollision, "zone[Europe]/team[Sales]", "sales.yaml:9:9",
					"team container 'Sales_PG' differs from 'sales_pg' (at sales.yaml:5:9) only by letter case"),
			},
		},
		{
			name: "PSPs, and platforms across PSPs",
			mutate: func(m *modelv1.Model) {
				m.Psps = append(m.Psps, &modelv1.PlatformServicesProvider{Name: "core", Locations: []string{"Acme:EU"},
					Platforms: []*modelv1.DataPlatform{{Name: "YellowLive", Kind: &modelv1.DataPlatform_Legacy{Legacy: &modelv1.LegacyPlatform{}}}}})
			},
			at: map[string]string{
				"psp[core]":                      "psp2.yaml:1:1",
				"psp[core]/platform[YellowLive]": "psp2.yaml:6:9",
			},
			want: []nmProblem{
				nmE(RuleNameCaseCollision, "psp[core]", "psp2.yaml:1:1",
					"platform services provider 'core' differs from 'Core' (at psp.yaml:1:1) only by letter case"),
				nmE(RuleDuplicateName, "psp[core]/platform[YellowLive]", "psp2.yaml:6:9",
					"platform 'YellowLive' is already defined in the ecosystem at psp.yaml:8:7"),
			},
		},
		{
			name: "workspaces, dataset groups, sinks and transformers",
			mutate: func(m *modelv1.Model) {
				w := nmWS(m, "SalesAnalytics")
				w.DatasetGroups = append(w.DatasetGroups, nmDSG("Main", nmSink("SalesDB", "orders")))
				w.DatasetGroups[0].Sinks = append(w.DatasetGroups[0].Sinks, nmSink("SalesDB", "orders"), nmSink("SalesDB", "Orders"))
				w2 := nmWorkspace("salesanalytics", "Europe", "Analytics", nmDSG("g", nmSink("SalesDB", "orders")))
				w2.Transformer = &modelv1.DataTransformer{Name: "Totals_TX", OutputDatastore: "X"}
				m.Workspaces = append(m.Workspaces, w2)
			},
			at: map[string]string{
				"workspace[salesanalytics]":                                "ws2.yaml:1:1",
				"workspace[salesanalytics]/transformer":                    "ws2.yaml:9:5",
				"workspace[Totals]/transformer#name":                       "totals.yaml:20:11",
				"workspace[SalesAnalytics]/dsg[main]":                      "analytics.yaml:5:7",
				"workspace[SalesAnalytics]/dsg[Main]":                      "analytics.yaml:15:7",
				"workspace[SalesAnalytics]/dsg[main]/sink[SalesDB.orders]": "analytics.yaml:7:11",
			},
			want: []nmProblem{
				nmE(RuleDuplicateName, "workspace[SalesAnalytics]/dsg[main]/sink[SalesDB.orders]", "analytics.yaml:7:11",
					"sink 'SalesDB.orders' is already defined in dataset group 'SalesAnalytics.main' at analytics.yaml:7:11"),
				nmE(RuleNameCaseCollision, "workspace[SalesAnalytics]/dsg[Main]", "analytics.yaml:15:7",
					"dataset group 'Main' differs from 'main' (at analytics.yaml:5:7) only by letter case"),
				nmE(RuleNameCaseCollision, "workspace[salesanalytics]", "ws2.yaml:1:1",
					"workspace 'salesanalytics' differs from 'SalesAnalytics' (at analytics.yaml:1:1) only by letter case"),
				nmE(RuleNameCaseCollision, "workspace[salesanalytics]/transformer", "ws2.yaml:9:5",
					"transformer 'Totals_TX' differs from 'totals_tx' (at totals.yaml:20:11) only by letter case"),
			},
		},
		{
			name: "assignment keys, their platforms, primary ingestions and their platforms",
			mutate: func(m *modelv1.Model) {
				m.Assignments[0].Platforms = append(m.Assignments[0].Platforms, &modelv1.PlatformAssignment{Platform: "YellowLive"})
				m.Assignments = append(m.Assignments, &modelv1.DatasetGroupAssignment{Workspace: "SalesAnalytics", DatasetGroup: "main"},
					&modelv1.DatasetGroupAssignment{Workspace: "salesanalytics", DatasetGroup: "main"})
				m.PrimaryIngestions[0].Platforms = append(m.PrimaryIngestions[0].Platforms, "YellowLive")
				m.PrimaryIngestions = append(m.PrimaryIngestions, &modelv1.PrimaryIngestion{Datastore: "SalesDB", Platforms: []string{"X"}})
			},
			at: map[string]string{
				"assignment[SalesAnalytics.main]/platform[YellowLive]": "assign.yaml:7:11",
				"primary[SalesDB]#platforms[YellowLive]":               "assign.yaml:22:11",
			},
			want: []nmProblem{
				nmE(RuleDuplicateName, "assignment[SalesAnalytics.main]", "assign.yaml:5:7",
					"assignment 'SalesAnalytics.main' is already defined in the ecosystem at assign.yaml:5:7"),
				nmE(RuleDuplicateName, "assignment[SalesAnalytics.main]/platform[YellowLive]", "assign.yaml:7:11",
					"platform 'YellowLive' is already defined in assignment 'SalesAnalytics.main' at assign.yaml:7:11"),
				nmE(RuleDuplicateName, "primary[SalesDB]", "assign.yaml:20:7",
					"primary ingestion 'SalesDB' is already defined in the ecosystem at assign.yaml:20:7"),
				nmE(RuleDuplicateName, "primary[SalesDB]", "assign.yaml:22:11",
					"platform 'YellowLive' is already defined in primary ingestion 'SalesDB' at assign.yaml:22:11"),
			},
		},
	}, checkNames)
}

// BenchmarkNmLintLarge runs the names, references, ecosystem and zone rules over the benchmark
// model size of spec/model.md: 10,000 datastores, 100,000 datasets of 6 columns, 3,000
// workspaces of 10 sinks.
func BenchmarkNmLintLarge(b *testing.B) {
	m := nmLarge(10000, 10, 6, 3000, 10)
	src := srcmap.New(problem.Head)
	for b.Loop() {
		c := NewContext(m, src)
		for _, check := range nmAll {
			check(c)
		}
		if n := len(c.Problems()); n != 0 {
			b.Fatalf("%d problems, first %+v", n, c.Problems()[0])
		}
	}
}

// nmLarge builds a lint-clean model of the given size on nmBase's ecosystem, zones and PSP.
func nmLarge(stores, sets, cols, workspaces, sinks int) *modelv1.Model {
	m := nmBase()
	m.Datastores, m.Workspaces, m.Assignments, m.PrimaryIngestions = nil, nil, nil, nil
	zones := []struct{ zone, team, loc string }{{"Europe", "Sales", "Acme:EU/Frankfurt"}, {"Americas", "Payments", "Acme:US/Virginia"}}
	colNames := make([]string, cols)
	for k := range colNames {
		colNames[k] = fmt.Sprintf("Column_%d", k)
	}
	for i := range stores {
		z := zones[i%2]
		s := nmStore(fmt.Sprintf("Store%05d", i), z.zone, z.team, nmSnapshot(nmPG(fmt.Sprintf("pg%d", i), z.loc), "PG_CRED"))
		for j := range sets {
			d := nmDataset(fmt.Sprintf("dataset_%d", j), colNames...)
			if z.zone == "Europe" {
				d.StoragePolicies = []string{"GDPR"}
			}
			s.Datasets = append(s.Datasets, d)
		}
		m.Datastores = append(m.Datastores, s)
	}
	for i := range workspaces {
		g := nmDSG("main")
		for k := range sinks {
			g.Sinks = append(g.Sinks, nmSink(fmt.Sprintf("Store%05d", (i*sinks+k)%stores), fmt.Sprintf("dataset_%d", k%sets)))
		}
		w := nmWorkspace(fmt.Sprintf("Work%05d", i), "Europe", "Analytics", g)
		w.Container = nmPG("", "Acme:EU/Dublin")
		m.Workspaces = append(m.Workspaces, w)
	}
	return m
}
