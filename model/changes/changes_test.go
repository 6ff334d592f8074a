package changes_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/datasurface/datasurface/model/changes"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// ---------------------------------------------------------------------------------------------
// Model builders

func doc(s string) *modelv1.Documentation { return &modelv1.Documentation{Description: s} }

func named(name string) *modelv1.DataType { return &modelv1.DataType{Name: name} }

func sized(name string, n int64) *modelv1.DataType {
	return &modelv1.DataType{Name: name, MaxSize: proto.Int64(n)}
}

func column(name string, t *modelv1.DataType, nullable bool) *modelv1.Column {
	return &modelv1.Column{Name: name, Type: t, Nullable: nullable}
}

func cls(ts ...modelv1.ClassificationType) []*modelv1.Classification {
	out := make([]*modelv1.Classification, len(ts))
	for i, t := range ts {
		out[i] = &modelv1.Classification{Type: t}
	}
	return out
}

const (
	ip  = modelv1.ClassificationType_CLASSIFICATION_TYPE_IP
	pc1 = modelv1.ClassificationType_CLASSIFICATION_TYPE_PC1
	pub = modelv1.ClassificationType_CLASSIFICATION_TYPE_PUB
)

var deprecatedStatus = &modelv1.Deprecation{Status: modelv1.DeprecationStatus_DEPRECATION_STATUS_DEPRECATED}

func postgres(host, db string) *modelv1.DataContainer {
	return &modelv1.DataContainer{Kind: &modelv1.DataContainer_Postgres{Postgres: &modelv1.HostDatabase{
		Host: host, Port: 5432, Database: db, Locations: []string{"Acme:EU"}}}}
}

func cron(c string) *modelv1.Trigger { return &modelv1.Trigger{Kind: &modelv1.Trigger_Cron{Cron: c}} }

func snapshot() *modelv1.CaptureMetadata {
	return &modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_SqlSnapshot{SqlSnapshot: &modelv1.SqlSnapshotCapture{
		Container:   postgres("sales-db", "sales"),
		Credential:  &modelv1.Credential{Name: "SALES_PG", Type: modelv1.CredentialType_CREDENTIAL_TYPE_USER_PASSWORD},
		Consistency: modelv1.Consistency_CONSISTENCY_MULTI_DATASET,
		Trigger:     cron("*/10 * * * *"),
	}}}
}

func yellowPlatform(name string) *modelv1.DataPlatform {
	return &modelv1.DataPlatform{Name: name, Kind: &modelv1.DataPlatform_Yellow{Yellow: &modelv1.YellowPlatform{
		Milestoning:     modelv1.PlatformMilestoning_PLATFORM_MILESTONING_LIVE_ONLY,
		MergeDatabase:   postgres("merge-db", "ds_merge"),
		MergeCredential: &modelv1.Credential{Name: "MERGE", Type: modelv1.CredentialType_CREDENTIAL_TYPE_USER_PASSWORD},
	}}}
}

func sink(s, d string) *modelv1.DatasetSink {
	return &modelv1.DatasetSink{Datastore: s, Dataset: d, DeprecationsAllowed: modelv1.DeprecationsAllowed_DEPRECATIONS_ALLOWED_NEVER}
}

// fullModel is a small model with one object of every kind.
func fullModel() *modelv1.Model {
	return &modelv1.Model{
		Ecosystem: &modelv1.Ecosystem{
			Name: "Acme", OwningRepo: "acme/model@eco", LiveRepo: "acme/model@main",
			Compatibility: &modelv1.Compatibility{Mode: modelv1.CompatibilityMode_COMPATIBILITY_MODE_BACKWARD},
			Vendors: []*modelv1.Vendor{{
				Name: "Acme", CloudVendor: modelv1.CloudVendor_CLOUD_VENDOR_PRIVATE, Documentation: doc("Acme's data centres"),
				Locations: []*modelv1.Location{{Name: "EU", Documentation: doc("Europe"), Children: []*modelv1.Location{{Name: "Frankfurt"}}}},
			}},
			Zones: []*modelv1.ZoneDeclaration{{Name: "Europe", OwningRepo: "acme/model@europe"}},
		},
		Zones: []*modelv1.GovernanceZone{{
			Name: "Europe", Documentation: doc("EU-resident data"),
			Teams: []*modelv1.TeamDeclaration{
				{Name: "Analytics", OwningRepo: "acme/model@analytics"},
				{Name: "Sales", OwningRepo: "acme/model@sales"},
			},
			LocationPolicies: []*modelv1.AllowDenyPolicy{{Name: "EUOnly", Allowed: []string{"Acme:EU"}}},
		}},
		Teams: []*modelv1.Team{{Name: "Sales", Zone: "Europe", Documentation: doc("The sales team")}},
		Datastores: []*modelv1.Datastore{
			{
				Name: "Sales", Zone: "Europe", Team: "Sales",
				ProductionStatus: modelv1.ProductionStatus_PRODUCTION_STATUS_PRODUCTION,
				Capture:          snapshot(),
				Datasets: []*modelv1.Dataset{
					{Name: "customers", PrimaryKey: []string{"id"}, Columns: []*modelv1.Column{
						{Name: "id", Type: named("Integer"), Classifications: cls(ip)},
						{Name: "name", Type: sized("VarChar", 100), Classifications: cls(pc1)},
						{Name: "country", Type: sized("Char", 2), Nullable: true, Classifications: cls(pub)},
					}},
					{Name: "orders", Classifications: cls(ip), PrimaryKey: []string{"order_id"}, Columns: []*modelv1.Column{
						column("order_id", named("BigInt"), false),
						column("amount", &modelv1.DataType{Name: "Decimal", Precision: 12, Scale: 2}, false),
						column("note", sized("VarChar", 100), true),
					}},
				},
			},
			{
				Name: "Summary", Zone: "Europe", Team: "Analytics",
				Capture: &modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_TransformerOutput{
					TransformerOutput: &modelv1.TransformerOutputCapture{Workspace: "Totals"}}},
				Datasets: []*modelv1.Dataset{{Name: "totals", Columns: []*modelv1.Column{column("n", named("BigInt"), true)}}},
			},
		},
		Workspaces: []*modelv1.Workspace{
			{
				Name: "Analytics", Zone: "Europe", Team: "Analytics",
				Priority:  modelv1.Priority_PRIORITY_HIGH,
				Container: &modelv1.DataContainer{Kind: &modelv1.DataContainer_PlatformManaged{PlatformManaged: &modelv1.PlatformManaged{}}},
				Access: &modelv1.Access{Consumers: []string{"bi_reader"},
					ApprovedClassifications: []modelv1.ClassificationType{pub, ip}},
				DatasetGroups: []*modelv1.DatasetGroup{{
					Name:                 "main",
					PlatformRequirements: &modelv1.PlatformRequirements{Milestoning: modelv1.Milestoning_MILESTONING_LIVE_ONLY},
					Sinks:                []*modelv1.DatasetSink{sink("Sales", "orders"), sink("Summary", "totals")},
				}},
			},
			{
				Name: "Totals", Zone: "Europe", Team: "Analytics",
				DatasetGroups: []*modelv1.DatasetGroup{{Name: "inputs", Sinks: []*modelv1.DatasetSink{sink("Sales", "orders")}}},
				Transformer: &modelv1.DataTransformer{
					Name: "totals_tx", OutputDatastore: "Summary",
					Code: &modelv1.TransformerCode{Kind: &modelv1.TransformerCode_Sql{Sql: &modelv1.SqlTransformerCode{
						Queries: map[string]string{"totals": "SELECT count(*) AS n FROM {{ inputs.Sales.orders }}"}}}},
				},
			},
		},
		Psps: []*modelv1.PlatformServicesProvider{{
			Name: "Core", Locations: []string{"Acme:EU"},
			CredentialStore: &modelv1.CredentialStore{Kind: &modelv1.CredentialStore_Env{Env: &modelv1.EnvCredentialStore{}}},
			Platforms:       []*modelv1.DataPlatform{yellowPlatform("YellowLive")},
		}},
		Assignments: []*modelv1.DatasetGroupAssignment{{Workspace: "Analytics", DatasetGroup: "main", Platforms: []*modelv1.PlatformAssignment{
			{Platform: "YellowLive", Status: modelv1.AssignmentStatus_ASSIGNMENT_STATUS_PROVISIONED},
		}}},
		PrimaryIngestions: []*modelv1.PrimaryIngestion{{Datastore: "Sales", Platforms: []string{"YellowLive"}}},
	}
}

func store(m *modelv1.Model, name string) *modelv1.Datastore {
	for _, s := range m.GetDatastores() {
		if s.GetName() == name {
			return s
		}
	}
	panic("no datastore " + name)
}

func dataset(m *modelv1.Model, s, d string) *modelv1.Dataset {
	for _, x := range store(m, s).GetDatasets() {
		if x.GetName() == d {
			return x
		}
	}
	panic("no dataset " + d)
}

func col(m *modelv1.Model, s, d, c string) *modelv1.Column {
	for _, x := range dataset(m, s, d).GetColumns() {
		if x.GetName() == c {
			return x
		}
	}
	panic("no column " + c)
}

func workspace(m *modelv1.Model, name string) *modelv1.Workspace {
	for _, w := range m.GetWorkspaces() {
		if w.GetName() == name {
			return w
		}
	}
	panic("no workspace " + name)
}

func capture(m *modelv1.Model, s string) *modelv1.SqlSnapshotCapture {
	return store(m, s).GetCapture().GetSqlSnapshot()
}

// ---------------------------------------------------------------------------------------------
// Diff

func ch(k modelv1.ChangeKind, path string, beforeAfter ...string) *modelv1.Change {
	c := &modelv1.Change{Kind: k, Path: path}
	if len(beforeAfter) == 2 {
		c.Before, c.After = beforeAfter[0], beforeAfter[1]
	}
	return c
}

// Change kinds, abbreviated.
const (
	ecosystemChanged     = modelv1.ChangeKind_CHANGE_KIND_ECOSYSTEM_CHANGED
	vendorAdded          = modelv1.ChangeKind_CHANGE_KIND_VENDOR_ADDED
	vendorRemoved        = modelv1.ChangeKind_CHANGE_KIND_VENDOR_REMOVED
	vendorChanged        = modelv1.ChangeKind_CHANGE_KIND_VENDOR_CHANGED
	pspAdded             = modelv1.ChangeKind_CHANGE_KIND_PSP_ADDED
	pspRemoved           = modelv1.ChangeKind_CHANGE_KIND_PSP_REMOVED
	pspChanged           = modelv1.ChangeKind_CHANGE_KIND_PSP_CHANGED
	platformAdded        = modelv1.ChangeKind_CHANGE_KIND_PLATFORM_ADDED
	platformRemoved      = modelv1.ChangeKind_CHANGE_KIND_PLATFORM_REMOVED
	platformChanged      = modelv1.ChangeKind_CHANGE_KIND_PLATFORM_CHANGED
	zoneDeclared         = modelv1.ChangeKind_CHANGE_KIND_ZONE_DECLARED
	zoneUndeclared       = modelv1.ChangeKind_CHANGE_KIND_ZONE_UNDECLARED
	zoneDefined          = modelv1.ChangeKind_CHANGE_KIND_ZONE_DEFINED
	zoneUndefined        = modelv1.ChangeKind_CHANGE_KIND_ZONE_UNDEFINED
	zoneHandedOver       = modelv1.ChangeKind_CHANGE_KIND_ZONE_HANDED_OVER
	teamDeclared         = modelv1.ChangeKind_CHANGE_KIND_TEAM_DECLARED
	teamUndeclared       = modelv1.ChangeKind_CHANGE_KIND_TEAM_UNDECLARED
	teamDefined          = modelv1.ChangeKind_CHANGE_KIND_TEAM_DEFINED
	teamUndefined        = modelv1.ChangeKind_CHANGE_KIND_TEAM_UNDEFINED
	teamChanged          = modelv1.ChangeKind_CHANGE_KIND_TEAM_CHANGED
	teamHandedOver       = modelv1.ChangeKind_CHANGE_KIND_TEAM_HANDED_OVER
	policyChanged        = modelv1.ChangeKind_CHANGE_KIND_POLICY_CHANGED
	datastoreAdded       = modelv1.ChangeKind_CHANGE_KIND_DATASTORE_ADDED
	datastoreRemoved     = modelv1.ChangeKind_CHANGE_KIND_DATASTORE_REMOVED
	captureChanged       = modelv1.ChangeKind_CHANGE_KIND_CAPTURE_CHANGED
	triggerChanged       = modelv1.ChangeKind_CHANGE_KIND_TRIGGER_CHANGED
	datasetAdded         = modelv1.ChangeKind_CHANGE_KIND_DATASET_ADDED
	datasetRemoved       = modelv1.ChangeKind_CHANGE_KIND_DATASET_REMOVED
	datasetDeprecated    = modelv1.ChangeKind_CHANGE_KIND_DATASET_DEPRECATED
	datasetUndeprecated  = modelv1.ChangeKind_CHANGE_KIND_DATASET_UNDEPRECATED
	columnAdded          = modelv1.ChangeKind_CHANGE_KIND_COLUMN_ADDED
	columnWidened        = modelv1.ChangeKind_CHANGE_KIND_COLUMN_WIDENED
	documentationChanged = modelv1.ChangeKind_CHANGE_KIND_DOCUMENTATION_CHANGED
	workspaceAdded       = modelv1.ChangeKind_CHANGE_KIND_WORKSPACE_ADDED
	workspaceRemoved     = modelv1.ChangeKind_CHANGE_KIND_WORKSPACE_REMOVED
	workspaceChanged     = modelv1.ChangeKind_CHANGE_KIND_WORKSPACE_CHANGED
	dsgAdded             = modelv1.ChangeKind_CHANGE_KIND_DSG_ADDED
	dsgRemoved           = modelv1.ChangeKind_CHANGE_KIND_DSG_REMOVED
	sinkAdded            = modelv1.ChangeKind_CHANGE_KIND_SINK_ADDED
	sinkRemoved          = modelv1.ChangeKind_CHANGE_KIND_SINK_REMOVED
	consumersChanged     = modelv1.ChangeKind_CHANGE_KIND_CONSUMERS_CHANGED
	approvalsChanged     = modelv1.ChangeKind_CHANGE_KIND_APPROVALS_CHANGED
	transformerAdded     = modelv1.ChangeKind_CHANGE_KIND_TRANSFORMER_ADDED
	transformerRemoved   = modelv1.ChangeKind_CHANGE_KIND_TRANSFORMER_REMOVED
	transformerChanged   = modelv1.ChangeKind_CHANGE_KIND_TRANSFORMER_CHANGED
	assignmentAdded      = modelv1.ChangeKind_CHANGE_KIND_ASSIGNMENT_ADDED
	assignmentRemoved    = modelv1.ChangeKind_CHANGE_KIND_ASSIGNMENT_REMOVED
	assignmentStatus     = modelv1.ChangeKind_CHANGE_KIND_ASSIGNMENT_STATUS_CHANGED
	primaryChanged       = modelv1.ChangeKind_CHANGE_KIND_PRIMARY_INGESTION_CHANGED
)

func TestDiff(t *testing.T) {
	const (
		sales     = "datastore[Sales]"
		orders    = "datastore[Sales]/dataset[orders]"
		customers = "datastore[Sales]/dataset[customers]"
		analytics = "workspace[Analytics]"
		mainDSG   = "workspace[Analytics]/dsg[main]"
		totalsTx  = "workspace[Totals]/transformer"
		yellow    = "psp[Core]/platform[YellowLive]"
		assigned  = "assignment[Analytics.main]/platform[YellowLive]"
	)
	tests := []struct {
		name string
		edit func(b, h *modelv1.Model)
		want []*modelv1.Change
	}{
		{name: "identical models", edit: func(b, h *modelv1.Model) {}},

		// ecosystem, vendors
		{name: "ecosystem owner changed",
			edit: func(b, h *modelv1.Model) { h.Ecosystem.OwningRepo = "acme/model@eco2" },
			want: []*modelv1.Change{ch(ecosystemChanged, "ecosystem#owningRepo", "acme/model@eco", "acme/model@eco2")}},
		{name: "compatibility mode changed",
			edit: func(b, h *modelv1.Model) {
				h.Ecosystem.Compatibility.Mode = modelv1.CompatibilityMode_COMPATIBILITY_MODE_BACKWARD_TRANSITIVE
			},
			want: []*modelv1.Change{ch(ecosystemChanged, "ecosystem#compatibility.mode", "BACKWARD", "BACKWARD_TRANSITIVE")}},
		{name: "ecosystem documentation changed",
			edit: func(b, h *modelv1.Model) { h.Ecosystem.Documentation = doc("new") },
			want: []*modelv1.Change{ch(documentationChanged, "ecosystem")}},
		{name: "vendor added",
			edit: func(b, h *modelv1.Model) {
				h.Ecosystem.Vendors = append(h.Ecosystem.Vendors, &modelv1.Vendor{Name: "Cloud", CloudVendor: modelv1.CloudVendor_CLOUD_VENDOR_AWS, Documentation: doc("AWS")})
			},
			want: []*modelv1.Change{ch(vendorAdded, "vendor[Cloud]")}},
		{name: "vendor removed",
			edit: func(b, h *modelv1.Model) { h.Ecosystem.Vendors = nil },
			want: []*modelv1.Change{ch(vendorRemoved, "vendor[Acme]")}},
		{name: "vendor changed",
			edit: func(b, h *modelv1.Model) {
				h.Ecosystem.Vendors[0].Locations[0].Children = append(h.Ecosystem.Vendors[0].Locations[0].Children, &modelv1.Location{Name: "Paris"})
			},
			want: []*modelv1.Change{ch(vendorChanged, "vendor[Acme]")}},
		{name: "vendor location documentation changed",
			edit: func(b, h *modelv1.Model) { h.Ecosystem.Vendors[0].Locations[0].Documentation = doc("Europe, mostly") },
			want: []*modelv1.Change{ch(documentationChanged, "vendor[Acme]")}},

		// PSPs and platforms
		{name: "psp added with its platform",
			edit: func(b, h *modelv1.Model) {
				h.Psps = append(h.Psps, &modelv1.PlatformServicesProvider{Name: "Edge", Locations: []string{"Acme:EU"},
					Platforms: []*modelv1.DataPlatform{yellowPlatform("YellowEdge")}})
			},
			want: []*modelv1.Change{ch(pspAdded, "psp[Edge]"), ch(platformAdded, "psp[Edge]/platform[YellowEdge]")}},
		{name: "psp removed with its platform",
			edit: func(b, h *modelv1.Model) { h.Psps = nil },
			want: []*modelv1.Change{ch(pspRemoved, "psp[Core]"), ch(platformRemoved, yellow)}},
		{name: "psp changed",
			edit: func(b, h *modelv1.Model) { h.Psps[0].Locations = []string{"Acme:EU/Frankfurt"} },
			want: []*modelv1.Change{ch(pspChanged, "psp[Core]")}},
		{name: "platform added",
			edit: func(b, h *modelv1.Model) {
				h.Psps[0].Platforms = append(h.Psps[0].Platforms, yellowPlatform("YellowTwo"))
			},
			want: []*modelv1.Change{ch(platformAdded, "psp[Core]/platform[YellowTwo]")}},
		{name: "platform removed",
			edit: func(b, h *modelv1.Model) {
				b.Psps[0].Platforms = append(b.Psps[0].Platforms, yellowPlatform("YellowTwo"))
			},
			want: []*modelv1.Change{ch(platformRemoved, "psp[Core]/platform[YellowTwo]")}},
		{name: "platform changed",
			edit: func(b, h *modelv1.Model) {
				h.Psps[0].Platforms[0].GetYellow().Milestoning = modelv1.PlatformMilestoning_PLATFORM_MILESTONING_FORENSIC
			},
			want: []*modelv1.Change{ch(platformChanged, yellow)}},
		{name: "platform moved to another psp",
			edit: func(b, h *modelv1.Model) {
				p := h.Psps[0].Platforms[0]
				h.Psps[0].Platforms = []*modelv1.DataPlatform{{Name: "Old", Kind: &modelv1.DataPlatform_Legacy{Legacy: &modelv1.LegacyPlatform{}}}}
				h.Psps = append(h.Psps, &modelv1.PlatformServicesProvider{Name: "Edge", Locations: []string{"Acme:EU"}, Platforms: []*modelv1.DataPlatform{p}})
			},
			want: []*modelv1.Change{
				ch(platformAdded, "psp[Core]/platform[Old]"),
				ch(pspAdded, "psp[Edge]"),
				ch(platformChanged, "psp[Edge]/platform[YellowLive]", "Core", "Edge"),
			}},
		{name: "platform documentation changed",
			edit: func(b, h *modelv1.Model) { h.Psps[0].Platforms[0].Documentation = doc("live") },
			want: []*modelv1.Change{ch(documentationChanged, yellow)}},

		// zones and teams
		{name: "zone declared",
			edit: func(b, h *modelv1.Model) {
				h.Ecosystem.Zones = append(h.Ecosystem.Zones, &modelv1.ZoneDeclaration{Name: "Asia", OwningRepo: "acme/model@asia"})
			},
			want: []*modelv1.Change{ch(zoneDeclared, "zone[Asia]", "", "acme/model@asia")}},
		{name: "zone undeclared",
			edit: func(b, h *modelv1.Model) {
				b.Ecosystem.Zones = append(b.Ecosystem.Zones, &modelv1.ZoneDeclaration{Name: "Asia", OwningRepo: "acme/model@asia"})
			},
			want: []*modelv1.Change{ch(zoneUndeclared, "zone[Asia]", "acme/model@asia", "")}},
		{name: "zone handed over",
			edit: func(b, h *modelv1.Model) { h.Ecosystem.Zones[0].OwningRepo = "acme/model@eu" },
			want: []*modelv1.Change{ch(zoneHandedOver, "zone[Europe]", "acme/model@europe", "acme/model@eu")}},
		{name: "zone defined with its team declarations",
			edit: func(b, h *modelv1.Model) {
				h.Zones = append(h.Zones, &modelv1.GovernanceZone{Name: "Asia",
					Teams: []*modelv1.TeamDeclaration{{Name: "Ops", OwningRepo: "acme/model@ops"}}})
			},
			want: []*modelv1.Change{ch(zoneDefined, "zone[Asia]"), ch(teamDeclared, "zone[Asia]/team[Ops]", "", "acme/model@ops")}},
		{name: "zone undefined",
			edit: func(b, h *modelv1.Model) {
				b.Zones = append(b.Zones, &modelv1.GovernanceZone{Name: "Asia", Documentation: doc("APAC")})
			},
			want: []*modelv1.Change{ch(zoneUndefined, "zone[Asia]")}},
		{name: "empty zone document is not a definition",
			edit: func(b, h *modelv1.Model) { h.Zones = append(h.Zones, &modelv1.GovernanceZone{Name: "Asia"}) }},
		{name: "zone documentation changed",
			edit: func(b, h *modelv1.Model) { h.Zones[0].Documentation = doc("EU data") },
			want: []*modelv1.Change{ch(documentationChanged, "zone[Europe]")}},
		{name: "team declared",
			edit: func(b, h *modelv1.Model) {
				h.Zones[0].Teams = append(h.Zones[0].Teams, &modelv1.TeamDeclaration{Name: "Ops", OwningRepo: "acme/model@ops"})
			},
			want: []*modelv1.Change{ch(teamDeclared, "zone[Europe]/team[Ops]", "", "acme/model@ops")}},
		{name: "team undeclared",
			edit: func(b, h *modelv1.Model) {
				b.Zones[0].Teams = append(b.Zones[0].Teams, &modelv1.TeamDeclaration{Name: "Ops", OwningRepo: "acme/model@ops"})
			},
			want: []*modelv1.Change{ch(teamUndeclared, "zone[Europe]/team[Ops]", "acme/model@ops", "")}},
		{name: "team handed over",
			edit: func(b, h *modelv1.Model) { h.Zones[0].Teams[1].OwningRepo = "acme/model@sales2" },
			want: []*modelv1.Change{ch(teamHandedOver, "zone[Europe]/team[Sales]", "acme/model@sales", "acme/model@sales2")}},
		{name: "team defined by its first datastore",
			edit: func(b, h *modelv1.Model) {
				s := proto.Clone(store(h, "Summary")).(*modelv1.Datastore)
				s.Name, s.Team = "Ops", "Ops"
				h.Datastores = append(h.Datastores, s)
			},
			want: []*modelv1.Change{ch(datastoreAdded, "datastore[Ops]"), ch(teamDefined, "zone[Europe]/team[Ops]")}},
		{name: "team defined by its Team document",
			edit: func(b, h *modelv1.Model) {
				h.Teams = append(h.Teams, &modelv1.Team{Name: "Ops", Zone: "Europe", Documentation: doc("ops")})
			},
			want: []*modelv1.Change{ch(teamDefined, "zone[Europe]/team[Ops]")}},
		{name: "empty Team document is not a definition",
			edit: func(b, h *modelv1.Model) { h.Teams = append(h.Teams, &modelv1.Team{Name: "Ops", Zone: "Europe"}) }},
		{name: "team undefined by removing its last object",
			edit: func(b, h *modelv1.Model) {
				h.Teams = nil
				h.Datastores = h.Datastores[1:] // Sales
			},
			want: []*modelv1.Change{ch(datastoreRemoved, sales), ch(teamUndefined, "zone[Europe]/team[Sales]")}},
		{name: "team changed",
			edit: func(b, h *modelv1.Model) {
				h.Teams[0].Containers = []*modelv1.DataContainer{postgres("sales-db", "sales")}
			},
			want: []*modelv1.Change{ch(teamChanged, "zone[Europe]/team[Sales]")}},
		{name: "team documentation changed",
			edit: func(b, h *modelv1.Model) { h.Teams[0].Documentation = doc("Sales") },
			want: []*modelv1.Change{ch(documentationChanged, "zone[Europe]/team[Sales]")}},
		{name: "policy added and changed",
			edit: func(b, h *modelv1.Model) {
				h.Zones[0].LocationPolicies[0].Allowed = []string{"Acme:EU/Frankfurt"}
				h.Zones[0].ClassificationPolicies = []*modelv1.AllowDenyPolicy{{Name: "NoPC3", NotAllowed: []string{"PC3"}}}
			},
			want: []*modelv1.Change{
				ch(policyChanged, "zone[Europe]#classificationPolicies[NoPC3]"),
				ch(policyChanged, "zone[Europe]#locationPolicies[EUOnly]"),
			}},
		{name: "policy documentation changed",
			edit: func(b, h *modelv1.Model) { h.Zones[0].LocationPolicies[0].Documentation = doc("EU only") },
			want: []*modelv1.Change{ch(documentationChanged, "zone[Europe]#locationPolicies[EUOnly]")}},

		// producers
		{name: "datastore added",
			edit: func(b, h *modelv1.Model) {
				s := proto.Clone(store(h, "Sales")).(*modelv1.Datastore)
				s.Name = "Sales2"
				h.Datastores = append(h.Datastores, s)
			},
			want: []*modelv1.Change{ch(datastoreAdded, "datastore[Sales2]")}},
		{name: "datastore removed",
			edit: func(b, h *modelv1.Model) { h.Datastores = h.Datastores[:1] },
			want: []*modelv1.Change{ch(datastoreRemoved, "datastore[Summary]")}},
		{name: "datastore moved to another team",
			edit: func(b, h *modelv1.Model) { store(h, "Summary").Team = "Sales" },
			want: []*modelv1.Change{ch(teamChanged, "datastore[Summary]", "Europe/Analytics", "Europe/Sales")}},
		{name: "capture changed",
			edit: func(b, h *modelv1.Model) { capture(h, "Sales").Container = postgres("sales-db2", "sales") },
			want: []*modelv1.Change{ch(captureChanged, sales)}},
		{name: "capture kind changed",
			edit: func(b, h *modelv1.Model) {
				store(h, "Sales").Capture = &modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_SqlWatermark{SqlWatermark: &modelv1.SqlWatermarkCapture{
					Container: postgres("sales-db", "sales"), Consistency: modelv1.Consistency_CONSISTENCY_MULTI_DATASET,
					Trigger: cron("*/10 * * * *"), WatermarkColumn: "updated_at"}}}
			},
			want: []*modelv1.Change{ch(captureChanged, sales, "sqlSnapshot", "sqlWatermark")}},
		{name: "capture container documentation changed",
			edit: func(b, h *modelv1.Model) { capture(h, "Sales").Container.GetPostgres().Documentation = doc("primary") },
			want: []*modelv1.Change{ch(documentationChanged, sales)}},
		{name: "trigger changed",
			edit: func(b, h *modelv1.Model) { capture(h, "Sales").Trigger = cron("0 * * * *") },
			want: []*modelv1.Change{ch(triggerChanged, sales, "*/10 * * * *", "0 * * * *")}},
		{name: "trigger made external",
			edit: func(b, h *modelv1.Model) {
				capture(h, "Sales").Trigger = &modelv1.Trigger{Kind: &modelv1.Trigger_External{External: &modelv1.External{}}}
			},
			want: []*modelv1.Change{ch(triggerChanged, sales, "*/10 * * * *", "external")}},
		{name: "approvals changed",
			edit: func(b, h *modelv1.Model) { store(h, "Sales").Approvals = &modelv1.Approvals{} },
			want: []*modelv1.Change{ch(approvalsChanged, sales)}},
		{name: "production status changed",
			edit: func(b, h *modelv1.Model) {
				store(h, "Sales").ProductionStatus = modelv1.ProductionStatus_PRODUCTION_STATUS_NOT_PRODUCTION
			},
			want: []*modelv1.Change{ch(teamChanged, sales+"#productionStatus", "PRODUCTION", "NOT_PRODUCTION")}},
		{name: "dataset added",
			edit: func(b, h *modelv1.Model) {
				s := store(h, "Sales")
				s.Datasets = append(s.Datasets, &modelv1.Dataset{Name: "returns", Columns: []*modelv1.Column{column("id", named("Integer"), false)}})
			},
			want: []*modelv1.Change{ch(datasetAdded, "datastore[Sales]/dataset[returns]")}},
		{name: "dataset removed",
			edit: func(b, h *modelv1.Model) { store(h, "Sales").Datasets = store(h, "Sales").Datasets[1:] },
			want: []*modelv1.Change{ch(datasetRemoved, customers)}},
		{name: "dataset deprecated",
			edit: func(b, h *modelv1.Model) { dataset(h, "Sales", "orders").Deprecation = deprecatedStatus },
			want: []*modelv1.Change{ch(datasetDeprecated, orders)}},
		{name: "dataset undeprecated",
			edit: func(b, h *modelv1.Model) { dataset(b, "Sales", "orders").Deprecation = deprecatedStatus },
			want: []*modelv1.Change{ch(datasetUndeprecated, orders)}},
		{name: "datastore deprecated deprecates its datasets",
			edit: func(b, h *modelv1.Model) {
				dataset(b, "Sales", "orders").Deprecation = deprecatedStatus
				dataset(h, "Sales", "orders").Deprecation = deprecatedStatus
				store(h, "Sales").Deprecation = &modelv1.Deprecation{Status: modelv1.DeprecationStatus_DEPRECATION_STATUS_DEPRECATED, Reason: doc("use Sales2")}
			},
			want: []*modelv1.Change{
				ch(documentationChanged, sales),
				ch(teamChanged, sales+"#deprecation", "NOT_DEPRECATED", "DEPRECATED"),
				ch(datasetDeprecated, customers),
			}},
		{name: "dataset documentation changed",
			edit: func(b, h *modelv1.Model) { dataset(h, "Sales", "orders").Documentation = doc("orders") },
			want: []*modelv1.Change{ch(documentationChanged, orders)}},
		{name: "dataset classifications and keys changed",
			edit: func(b, h *modelv1.Model) {
				ds := dataset(h, "Sales", "orders")
				ds.Classifications = []*modelv1.Classification{{Type: pc1, Label: "orders"}}
				ds.PrimaryKey = []string{"order_id", "amount"}
				ds.PartitionKey = []string{"order_id"}
			},
			want: []*modelv1.Change{
				ch(teamChanged, orders+"#classifications", "[IP]", "[PC1:orders]"),
				ch(teamChanged, orders+"#partitionKey", "[]", "[order_id]"),
				ch(teamChanged, orders+"#primaryKey", "[order_id]", "[order_id, amount]"),
			}},
		{name: "column added",
			edit: func(b, h *modelv1.Model) {
				ds := dataset(h, "Sales", "orders")
				ds.Columns = append(ds.Columns, column("channel", sized("VarChar", 20), true))
			},
			want: []*modelv1.Change{ch(columnAdded, orders+"/column[channel]", "", "VarChar(20)")}},
		{name: "column widened",
			edit: func(b, h *modelv1.Model) { col(h, "Sales", "orders", "note").Type = named("VarChar") },
			want: []*modelv1.Change{ch(columnWidened, orders+"/column[note]", "VarChar(100)", "VarChar")}},
		{name: "column narrowed",
			edit: func(b, h *modelv1.Model) { col(h, "Sales", "orders", "note").Type = sized("VarChar", 10) },
			want: []*modelv1.Change{ch(teamChanged, orders+"/column[note]#type", "VarChar(100)", "VarChar(10)")}},
		{name: "column removed",
			edit: func(b, h *modelv1.Model) {
				dataset(h, "Sales", "orders").Columns = dataset(h, "Sales", "orders").Columns[:2]
			},
			want: []*modelv1.Change{ch(teamChanged, orders+"/column[note]", "VarChar(100)", "")}},
		{name: "column nullability and classifications changed",
			edit: func(b, h *modelv1.Model) {
				c := col(h, "Sales", "customers", "country")
				c.Nullable = false
				c.Classifications = cls(ip)
			},
			want: []*modelv1.Change{
				ch(teamChanged, customers+"/column[country]#classifications", "[PUB]", "[IP]"),
				ch(teamChanged, customers+"/column[country]#nullable", "nullable", "not null"),
			}},
		{name: "column documentation changed",
			edit: func(b, h *modelv1.Model) { col(h, "Sales", "orders", "note").Documentation = doc("free text") },
			want: []*modelv1.Change{ch(documentationChanged, orders+"/column[note]")}},
		{name: "columns reordered",
			edit: func(b, h *modelv1.Model) {
				ds := dataset(h, "Sales", "orders")
				c := ds.Columns
				ds.Columns = []*modelv1.Column{c[2], c[0], c[1]}
			},
			want: []*modelv1.Change{ch(teamChanged, orders+"#columns", "order_id, amount, note", "note, order_id, amount")}},
		{name: "datasets reordered",
			edit: func(b, h *modelv1.Model) {
				s := store(h, "Sales")
				s.Datasets = []*modelv1.Dataset{s.Datasets[1], s.Datasets[0]}
			},
			want: []*modelv1.Change{ch(teamChanged, sales+"#datasets", "customers, orders", "orders, customers")}},

		// consumers
		{name: "workspace added",
			edit: func(b, h *modelv1.Model) {
				w := proto.Clone(workspace(h, "Analytics")).(*modelv1.Workspace)
				w.Name = "Reports"
				h.Workspaces = append(h.Workspaces, w)
			},
			want: []*modelv1.Change{ch(workspaceAdded, "workspace[Reports]")}},
		{name: "workspace removed",
			edit: func(b, h *modelv1.Model) { h.Workspaces = h.Workspaces[1:] },
			want: []*modelv1.Change{ch(workspaceRemoved, analytics)}},
		{name: "workspace changed",
			edit: func(b, h *modelv1.Model) { workspace(h, "Analytics").Priority = modelv1.Priority_PRIORITY_CRITICAL },
			want: []*modelv1.Change{ch(workspaceChanged, analytics+"#priority", "HIGH", "CRITICAL")}},
		{name: "workspace approved classifications changed",
			edit: func(b, h *modelv1.Model) {
				workspace(h, "Analytics").Access.ApprovedClassifications = []modelv1.ClassificationType{pub, ip, pc1}
			},
			want: []*modelv1.Change{ch(workspaceChanged, analytics+"#access.approvedClassifications", "[PUB, IP]", "[PUB, IP, PC1]")}},
		{name: "consumers changed",
			edit: func(b, h *modelv1.Model) { workspace(h, "Analytics").Access.Consumers = []string{"bi_reader", "etl"} },
			want: []*modelv1.Change{ch(consumersChanged, analytics, "bi_reader", "bi_reader, etl")}},
		{name: "dataset group added",
			edit: func(b, h *modelv1.Model) {
				w := workspace(h, "Analytics")
				w.DatasetGroups = append(w.DatasetGroups, &modelv1.DatasetGroup{Name: "extra", Sinks: []*modelv1.DatasetSink{sink("Sales", "customers")}})
			},
			want: []*modelv1.Change{ch(dsgAdded, analytics+"/dsg[extra]")}},
		{name: "dataset group removed",
			edit: func(b, h *modelv1.Model) {
				w := workspace(b, "Analytics")
				w.DatasetGroups = append(w.DatasetGroups, &modelv1.DatasetGroup{Name: "extra", Sinks: []*modelv1.DatasetSink{sink("Sales", "customers")}})
			},
			want: []*modelv1.Change{ch(dsgRemoved, analytics+"/dsg[extra]")}},
		{name: "sink added and removed",
			edit: func(b, h *modelv1.Model) {
				g := workspace(h, "Analytics").DatasetGroups[0]
				g.Sinks = []*modelv1.DatasetSink{sink("Sales", "customers"), sink("Summary", "totals")}
			},
			want: []*modelv1.Change{
				ch(sinkAdded, mainDSG+"/sink[Sales.customers]"),
				ch(sinkRemoved, mainDSG+"/sink[Sales.orders]"),
			}},
		{name: "sink acknowledges deprecation",
			edit: func(b, h *modelv1.Model) {
				workspace(h, "Analytics").DatasetGroups[0].Sinks[0].DeprecationsAllowed = modelv1.DeprecationsAllowed_DEPRECATIONS_ALLOWED_ALLOWED
			},
			want: []*modelv1.Change{ch(workspaceChanged, mainDSG+"/sink[Sales.orders]#deprecationsAllowed", "NEVER", "ALLOWED")}},
		{name: "platform requirements changed",
			edit: func(b, h *modelv1.Model) {
				workspace(h, "Analytics").DatasetGroups[0].PlatformRequirements.Latency = modelv1.Latency_LATENCY_HOURS
			},
			want: []*modelv1.Change{ch(workspaceChanged, mainDSG+"#platformRequirements")}},
		{name: "transformer added",
			edit: func(b, h *modelv1.Model) { workspace(b, "Totals").Transformer = nil },
			want: []*modelv1.Change{ch(transformerAdded, totalsTx)}},
		{name: "transformer removed",
			edit: func(b, h *modelv1.Model) { workspace(h, "Totals").Transformer = nil },
			want: []*modelv1.Change{ch(transformerRemoved, totalsTx)}},
		{name: "transformer changed",
			edit: func(b, h *modelv1.Model) {
				workspace(h, "Totals").Transformer.GetCode().GetSql().Queries["totals"] = "SELECT 1 AS n"
			},
			want: []*modelv1.Change{ch(transformerChanged, totalsTx)}},
		{name: "transformer trigger added",
			edit: func(b, h *modelv1.Model) { workspace(h, "Totals").Transformer.Trigger = cron("0 3 * * *") },
			want: []*modelv1.Change{ch(triggerChanged, totalsTx, "", "0 3 * * *")}},
		{name: "transformer documentation changed",
			edit: func(b, h *modelv1.Model) { workspace(h, "Totals").Transformer.Documentation = doc("totals") },
			want: []*modelv1.Change{ch(documentationChanged, totalsTx)}},

		// platform mapping
		{name: "assignment added",
			edit: func(b, h *modelv1.Model) {
				h.Assignments = append(h.Assignments, &modelv1.DatasetGroupAssignment{Workspace: "Totals", DatasetGroup: "inputs",
					Platforms: []*modelv1.PlatformAssignment{{Platform: "YellowLive", Status: modelv1.AssignmentStatus_ASSIGNMENT_STATUS_PROVISIONING}}})
			},
			want: []*modelv1.Change{ch(assignmentAdded, "assignment[Totals.inputs]/platform[YellowLive]", "", "PROVISIONING")}},
		{name: "assignment removed",
			edit: func(b, h *modelv1.Model) { h.Assignments = nil },
			want: []*modelv1.Change{ch(assignmentRemoved, assigned, "PROVISIONED", "")}},
		{name: "assignment status changed",
			edit: func(b, h *modelv1.Model) {
				h.Assignments[0].Platforms[0].Status = modelv1.AssignmentStatus_ASSIGNMENT_STATUS_DECOMMISSIONING
			},
			want: []*modelv1.Change{ch(assignmentStatus, assigned, "PROVISIONED", "DECOMMISSIONING")}},
		{name: "assignment production status changed",
			edit: func(b, h *modelv1.Model) {
				h.Assignments[0].Platforms[0].ProductionStatus = modelv1.ProductionStatus_PRODUCTION_STATUS_PRODUCTION
			},
			want: []*modelv1.Change{ch(ecosystemChanged, assigned+"#productionStatus", "UNSPECIFIED", "PRODUCTION")}},
		{name: "primary ingestion changed",
			edit: func(b, h *modelv1.Model) { h.PrimaryIngestions[0].Platforms = []string{"YellowLive", "YellowTwo"} },
			want: []*modelv1.Change{ch(primaryChanged, "primary[Sales]", "YellowLive", "YellowLive, YellowTwo")}},
		{name: "primary ingestion removed",
			edit: func(b, h *modelv1.Model) { h.PrimaryIngestions = nil },
			want: []*modelv1.Change{ch(primaryChanged, "primary[Sales]", "YellowLive", "")}},

		// several changes are sorted by path
		{name: "changes sorted by path",
			edit: func(b, h *modelv1.Model) {
				h.Assignments[0].Platforms[0].Status = modelv1.AssignmentStatus_ASSIGNMENT_STATUS_DECOMMISSIONING
				ds := dataset(h, "Sales", "orders")
				ds.Columns = append(ds.Columns, column("channel", sized("VarChar", 20), true))
				h.Ecosystem.LiveRepo = "acme/model@live"
			},
			want: []*modelv1.Change{
				ch(assignmentStatus, assigned, "PROVISIONED", "DECOMMISSIONING"),
				ch(columnAdded, orders+"/column[channel]", "", "VarChar(20)"),
				ch(ecosystemChanged, "ecosystem#liveRepo", "acme/model@main", "acme/model@live"),
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, h := fullModel(), fullModel()
			tt.edit(b, h)
			got := changes.Diff(b, h)
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("Diff mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDiffInitial(t *testing.T) {
	got := changes.Diff(nil, fullModel())
	want := []*modelv1.Change{
		ch(assignmentAdded, "assignment[Analytics.main]/platform[YellowLive]", "", "PROVISIONED"),
		ch(datastoreAdded, "datastore[Sales]"),
		ch(datastoreAdded, "datastore[Summary]"),
		ch(ecosystemChanged, "ecosystem"),
		ch(primaryChanged, "primary[Sales]", "", "YellowLive"),
		ch(pspAdded, "psp[Core]"),
		ch(platformAdded, "psp[Core]/platform[YellowLive]"),
		ch(vendorAdded, "vendor[Acme]"),
		ch(workspaceAdded, "workspace[Analytics]"),
		ch(workspaceAdded, "workspace[Totals]"),
		ch(zoneDeclared, "zone[Europe]", "", "acme/model@europe"),
		ch(zoneDefined, "zone[Europe]"),
		ch(teamDeclared, "zone[Europe]/team[Analytics]", "", "acme/model@analytics"),
		ch(teamDefined, "zone[Europe]/team[Analytics]"),
		ch(teamDeclared, "zone[Europe]/team[Sales]", "", "acme/model@sales"),
		ch(teamDefined, "zone[Europe]/team[Sales]"),
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("Diff(nil, model) mismatch (-want +got):\n%s", diff)
	}
	if got := changes.Diff(fullModel(), fullModel()); len(got) != 0 {
		t.Errorf("Diff of identical models = %v, want empty", got)
	}
}
