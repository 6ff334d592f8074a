package compat_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	"github.com/datasurface/datasurface/model/compat"
	"github.com/datasurface/datasurface/model/problem"
	"github.com/datasurface/datasurface/model/srcmap"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// ---------------------------------------------------------------------------------------------
// Model builders

func cls(ts ...modelv1.ClassificationType) []*modelv1.Classification {
	out := make([]*modelv1.Classification, len(ts))
	for i, t := range ts {
		out[i] = &modelv1.Classification{Type: t}
	}
	return out
}

const (
	pub = modelv1.ClassificationType_CLASSIFICATION_TYPE_PUB
	ip  = modelv1.ClassificationType_CLASSIFICATION_TYPE_IP
	pc1 = modelv1.ClassificationType_CLASSIFICATION_TYPE_PC1
	pc2 = modelv1.ClassificationType_CLASSIFICATION_TYPE_PC2
)

func column(name string, t *modelv1.DataType, nullable bool) *modelv1.Column {
	return &modelv1.Column{Name: name, Type: t, Nullable: nullable}
}

var deprecatedStatus = &modelv1.Deprecation{Status: modelv1.DeprecationStatus_DEPRECATION_STATUS_DEPRECATED}

func snapshot(c modelv1.Consistency) *modelv1.CaptureMetadata {
	return &modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_SqlSnapshot{SqlSnapshot: &modelv1.SqlSnapshotCapture{
		Container: &modelv1.DataContainer{Kind: &modelv1.DataContainer_Postgres{Postgres: &modelv1.HostDatabase{
			Host: "sales-db", Port: 5432, Database: "sales", Locations: []string{"Acme:EU"}}}},
		Credential:  &modelv1.Credential{Name: "SALES_PG", Type: modelv1.CredentialType_CREDENTIAL_TYPE_USER_PASSWORD},
		Consistency: c,
		Trigger:     &modelv1.Trigger{Kind: &modelv1.Trigger_Cron{Cron: "*/10 * * * *"}},
	}}}
}

func postgres(host string, port int32, db string) *modelv1.DataContainer {
	return &modelv1.DataContainer{Kind: &modelv1.DataContainer_Postgres{Postgres: &modelv1.HostDatabase{
		Host: host, Port: port, Database: db, Locations: []string{"Acme:EU"}}}}
}

// baseModel is the committed model every case starts from.
func baseModel() *modelv1.Model {
	return &modelv1.Model{
		Ecosystem: &modelv1.Ecosystem{
			Name: "Acme", OwningRepo: "acme/model@eco", LiveRepo: "acme/model@main",
			Compatibility: &modelv1.Compatibility{Mode: modelv1.CompatibilityMode_COMPATIBILITY_MODE_BACKWARD},
			Zones:         []*modelv1.ZoneDeclaration{{Name: "Europe", OwningRepo: "acme/model@europe"}},
		},
		Datastores: []*modelv1.Datastore{
			{
				Name: "Old", Zone: "Europe", Team: "Sales",
				ProductionStatus: modelv1.ProductionStatus_PRODUCTION_STATUS_PRODUCTION,
				Capture:          snapshot(modelv1.Consistency_CONSISTENCY_MULTI_DATASET),
				Datasets: []*modelv1.Dataset{
					{Name: "legacy", Classifications: cls(ip), Columns: []*modelv1.Column{column("id", named("Integer"), false)}},
				},
			},
			{
				Name: "Sales", Zone: "Europe", Team: "Sales",
				ProductionStatus: modelv1.ProductionStatus_PRODUCTION_STATUS_PRODUCTION,
				Capture:          snapshot(modelv1.Consistency_CONSISTENCY_MULTI_DATASET),
				Datasets: []*modelv1.Dataset{
					{
						Name: "customers", PrimaryKey: []string{"id"},
						Columns: []*modelv1.Column{
							{Name: "id", Type: named("Integer"), Nullable: false, Classifications: cls(ip)},
							{Name: "name", Type: sized("VarChar", 100), Nullable: false, Classifications: cls(pc1)},
							{Name: "country", Type: sized("Char", 2), Nullable: true, Classifications: cls(pub)},
						},
					},
					{
						Name: "orders", Classifications: cls(ip), PrimaryKey: []string{"order_id"},
						Columns: []*modelv1.Column{
							column("order_id", named("BigInt"), false),
							column("customer_id", named("Integer"), false),
							column("amount", decimal(12, 2), false),
							column("note", sized("VarChar", 100), true),
							column("placed_at", timestamp("UTC"), false),
						},
					},
				},
			},
		},
		Psps: []*modelv1.PlatformServicesProvider{{
			Name: "Core", Locations: []string{"Acme:EU"},
			Platforms: []*modelv1.DataPlatform{
				{Name: "Legacy", Kind: &modelv1.DataPlatform_Legacy{Legacy: &modelv1.LegacyPlatform{}}},
				{Name: "YellowLive", Kind: &modelv1.DataPlatform_Yellow{Yellow: &modelv1.YellowPlatform{
					Milestoning:     modelv1.PlatformMilestoning_PLATFORM_MILESTONING_LIVE_ONLY,
					MergeDatabase:   postgres("merge-db", 5432, "ds_merge"),
					MergeCredential: &modelv1.Credential{Name: "MERGE", Type: modelv1.CredentialType_CREDENTIAL_TYPE_USER_PASSWORD},
				}}},
			},
		}},
		Assignments: []*modelv1.DatasetGroupAssignment{
			{Workspace: "Analytics", DatasetGroup: "main", Platforms: []*modelv1.PlatformAssignment{
				{Platform: "Legacy", Status: modelv1.AssignmentStatus_ASSIGNMENT_STATUS_DECOMMISSIONED},
				{Platform: "YellowLive", Status: modelv1.AssignmentStatus_ASSIGNMENT_STATUS_PROVISIONED},
			}},
		},
		PrimaryIngestions: []*modelv1.PrimaryIngestion{{Datastore: "Sales", Platforms: []string{"YellowLive"}}},
	}
}

// sourceMap records a position for every object of m and the field nodes the rules cite: each
// key gets its own line, so a position identifies the key it came from.
func sourceMap(side problem.Side, file string, m *modelv1.Model) *srcmap.Map {
	sm := srcmap.New(side)
	line := 0
	set := func(key string) {
		line++
		sm.Set(key, file, line, 3)
	}
	for _, s := range m.GetDatastores() {
		sp := "datastore[" + s.GetName() + "]"
		set(sp)
		set(sp + "#capture")
		set(sp + "#capture.sqlSnapshot.consistency")
		for _, d := range s.GetDatasets() {
			dp := sp + "/dataset[" + d.GetName() + "]"
			set(dp)
			set(dp + "#primaryKey")
			set(dp + "#partitionKey")
			set(dp + "#classifications")
			for _, c := range d.GetColumns() {
				cp := dp + "/column[" + c.GetName() + "]"
				set(cp)
				set(cp + "#type")
				set(cp + "#nullable")
				set(cp + "#classifications")
			}
		}
	}
	for _, psp := range m.GetPsps() {
		for _, p := range psp.GetPlatforms() {
			pp := "psp[" + psp.GetName() + "]/platform[" + p.GetName() + "]"
			set(pp)
			set(pp + "#yellow.milestoning")
			set(pp + "#yellow.mergeDatabase")
		}
	}
	for _, a := range m.GetAssignments() {
		for _, p := range a.GetPlatforms() {
			ap := "assignment[" + a.GetWorkspace() + "." + a.GetDatasetGroup() + "]/platform[" + p.GetPlatform() + "]"
			set(ap)
			set(ap + "#status")
		}
	}
	for _, p := range m.GetPrimaryIngestions() {
		set("primary[" + p.GetDatastore() + "]")
	}
	return sm
}

// exact returns the recorded position of key or fails the test.
func exact(t *testing.T, sm *srcmap.Map, key string) problem.Position {
	t.Helper()
	p, ok := sm.Exact(key)
	if !ok {
		t.Fatalf("no position recorded for %q", key)
	}
	return p
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
	panic("no dataset " + s + "." + d)
}

func col(m *modelv1.Model, s, d, c string) *modelv1.Column {
	for _, x := range dataset(m, s, d).GetColumns() {
		if x.GetName() == c {
			return x
		}
	}
	panic("no column " + c)
}

func removeDatastore(m *modelv1.Model, name string) {
	var keep []*modelv1.Datastore
	for _, s := range m.GetDatastores() {
		if s.GetName() != name {
			keep = append(keep, s)
		}
	}
	m.Datastores = keep
}

func removeDataset(m *modelv1.Model, s, d string) {
	ds := store(m, s)
	var keep []*modelv1.Dataset
	for _, x := range ds.GetDatasets() {
		if x.GetName() != d {
			keep = append(keep, x)
		}
	}
	ds.Datasets = keep
}

func removeColumn(m *modelv1.Model, s, d, c string) {
	ds := dataset(m, s, d)
	var keep []*modelv1.Column
	for _, x := range ds.GetColumns() {
		if x.GetName() != c {
			keep = append(keep, x)
		}
	}
	ds.Columns = keep
}

func yellow(m *modelv1.Model) *modelv1.YellowPlatform {
	return m.GetPsps()[0].GetPlatforms()[1].GetYellow()
}

// ---------------------------------------------------------------------------------------------
// Check

// where says which side and key a wanted problem is positioned at.
type where struct {
	base bool
	key  string
}

type want struct {
	rule problem.Rule
	sev  problem.Severity // zero: the rule's severity
	path string
	at   where
	msg  string
}

func TestCheck(t *testing.T) {
	const (
		orders    = "datastore[Sales]/dataset[orders]"
		customers = "datastore[Sales]/dataset[customers]"
	)
	colp := func(ds, c string) string { return ds + "/column[" + c + "]" }
	head := func(k string) where { return where{key: k} }
	base := func(k string) where { return where{base: true, key: k} }

	tests := []struct {
		name    string
		edit    func(b, h *modelv1.Model) // b and h are copies of baseModel
		history func(b, h *modelv1.Model) []compat.Version
		want    []want
	}{
		{name: "identical models", edit: func(b, h *modelv1.Model) {}},
		{name: "new nullable column and new dataset are fine",
			edit: func(b, h *modelv1.Model) {
				ds := dataset(h, "Sales", "orders")
				ds.Columns = append(ds.Columns, column("channel", sized("VarChar", 20), true))
				s := store(h, "Sales")
				s.Datasets = append(s.Datasets, &modelv1.Dataset{Name: "returns", Columns: []*modelv1.Column{column("id", named("Integer"), false)}})
			},
			want: []want{{DatasetAdded, 0, "datastore[Sales]/dataset[returns]", head("datastore[Sales]/dataset[returns]"),
				"dataset 'Sales.returns' added"}}},

		// datastore rules
		{name: "datastore removed",
			edit: func(b, h *modelv1.Model) { removeDatastore(h, "Old") },
			want: []want{{DatastoreRemoved, 0, "datastore[Old]", base("datastore[Old]"),
				"datastore 'Old' was removed but was not deprecated in the base"}}},
		{name: "deprecated datastore removed",
			edit: func(b, h *modelv1.Model) { store(b, "Old").Deprecation = deprecatedStatus; removeDatastore(h, "Old") }},
		{name: "datastore whose datasets are all deprecated removed",
			edit: func(b, h *modelv1.Model) {
				dataset(b, "Old", "legacy").Deprecation = deprecatedStatus
				removeDatastore(h, "Old")
			}},
		{name: "capture kind changed",
			edit: func(b, h *modelv1.Model) {
				store(h, "Sales").Capture = &modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_SqlWatermark{SqlWatermark: &modelv1.SqlWatermarkCapture{
					Container: postgres("sales-db", 5432, "sales"), Consistency: modelv1.Consistency_CONSISTENCY_MULTI_DATASET,
					WatermarkColumn: "updated_at"}}}
			},
			want: []want{{CaptureKindChanged, 0, "datastore[Sales]", head("datastore[Sales]#capture"),
				"capture of 'Sales' changed from sqlSnapshot to sqlWatermark; consumers will see different delete behaviour"}}},
		{name: "consistency changed",
			edit: func(b, h *modelv1.Model) {
				store(h, "Sales").Capture = snapshot(modelv1.Consistency_CONSISTENCY_SINGLE_DATASET)
			},
			want: []want{{ConsistencyChanged, 0, "datastore[Sales]", head("datastore[Sales]#capture.sqlSnapshot.consistency"),
				"consistency of 'Sales' changed from MULTI_DATASET to SINGLE_DATASET; ingestion streams are re-keyed and start new batch sequences"}}},
		{name: "primary ingestion platforms changed",
			edit: func(b, h *modelv1.Model) { h.PrimaryIngestions[0].Platforms = []string{"YellowLive", "Legacy"} },
			want: []want{{PrimaryIngestionChanged, 0, "primary[Sales]", head("primary[Sales]"),
				"primary ingestion platforms of 'Sales' changed; secondaries will reseed"}}},
		{name: "primary ingestion removed",
			edit: func(b, h *modelv1.Model) { h.PrimaryIngestions = nil },
			want: []want{{PrimaryIngestionChanged, 0, "primary[Sales]", base("primary[Sales]"),
				"primary ingestion platforms of 'Sales' changed; secondaries will reseed"}}},

		// dataset rules
		{name: "dataset removed",
			edit: func(b, h *modelv1.Model) { removeDataset(h, "Sales", "customers") },
			want: []want{{DatasetRemoved, 0, customers, base(customers),
				"dataset 'Sales.customers' was removed but was not deprecated in the base"}}},
		{name: "deprecated dataset removed",
			edit: func(b, h *modelv1.Model) {
				dataset(b, "Sales", "customers").Deprecation = deprecatedStatus
				removeDataset(h, "Sales", "customers")
			}},
		{name: "dataset of a deprecated datastore removed",
			edit: func(b, h *modelv1.Model) {
				store(b, "Sales").Deprecation = deprecatedStatus
				store(h, "Sales").Deprecation = deprecatedStatus
				removeDataset(h, "Sales", "customers")
			}},
		{name: "primary key changed",
			edit: func(b, h *modelv1.Model) {
				dataset(h, "Sales", "orders").PrimaryKey = []string{"order_id", "customer_id"}
			},
			want: []want{{PrimaryKeyChanged, 0, orders, head(orders + "#primaryKey"),
				"primary key of 'Sales.orders' changed from [order_id] to [order_id, customer_id]"}}},
		{name: "partition key changed",
			edit: func(b, h *modelv1.Model) { dataset(h, "Sales", "orders").PartitionKey = []string{"customer_id"} },
			want: []want{{PartitionKeyChanged, 0, orders, head(orders + "#partitionKey"),
				"partition key of 'Sales.orders' changed from [] to [customer_id]"}}},
		{name: "dataset classification changed",
			edit: func(b, h *modelv1.Model) { dataset(h, "Sales", "orders").Classifications = cls(pc1) },
			want: []want{{DatasetClassificationChanged, 0, orders, head(orders + "#classifications"),
				"dataset-level classifications of 'Sales.orders' changed from [IP] to [PC1]"}}},
		{name: "dataset classification changed on a NOT_PRODUCTION datastore warns",
			edit: func(b, h *modelv1.Model) {
				store(b, "Sales").ProductionStatus = modelv1.ProductionStatus_PRODUCTION_STATUS_NOT_PRODUCTION
				store(h, "Sales").ProductionStatus = modelv1.ProductionStatus_PRODUCTION_STATUS_PRODUCTION
				dataset(h, "Sales", "orders").Classifications = cls(ip, pc1)
			},
			want: []want{{DatasetClassificationChanged, problem.Warning, orders, head(orders + "#classifications"),
				"dataset-level classifications of 'Sales.orders' changed from [IP] to [IP, PC1]"}}},
		{name: "classification labels are not compared",
			edit: func(b, h *modelv1.Model) { dataset(h, "Sales", "orders").Classifications[0].Label = "orders" }},

		// column rules
		{name: "column removed",
			edit: func(b, h *modelv1.Model) { removeColumn(h, "Sales", "orders", "note") },
			want: []want{{ColumnRemoved, 0, colp(orders, "note"), base(colp(orders, "note")),
				"column 'note' was removed from 'Sales.orders'"}}},
		{name: "column added not null",
			edit: func(b, h *modelv1.Model) {
				ds := dataset(h, "Sales", "orders")
				ds.Columns = append(ds.Columns, column("channel", sized("VarChar", 20), false))
			},
			want: []want{{ColumnAddedNotNull, 0, colp(orders, "channel"), head(colp(orders, "channel") + "#nullable"),
				"new column 'channel' of 'Sales.orders' must be nullable"}}},
		{name: "column made not null",
			edit: func(b, h *modelv1.Model) { col(h, "Sales", "orders", "note").Nullable = false },
			want: []want{{ColumnNullabilityChanged, 0, colp(orders, "note"), head(colp(orders, "note") + "#nullable"),
				"column 'note' of 'Sales.orders' changed from nullable to not null"}}},
		{name: "column made nullable",
			edit: func(b, h *modelv1.Model) { col(h, "Sales", "orders", "amount").Nullable = true },
			want: []want{{ColumnNullabilityChanged, 0, colp(orders, "amount"), head(colp(orders, "amount") + "#nullable"),
				"column 'amount' of 'Sales.orders' changed from not null to nullable"}}},
		{name: "column classification changed",
			edit: func(b, h *modelv1.Model) { col(h, "Sales", "customers", "name").Classifications = cls(pc2) },
			want: []want{{ColumnClassificationChanged, 0, colp(customers, "name"), head(colp(customers, "name") + "#classifications"),
				"classifications of column 'name' changed from [PC1] to [PC2]"}}},
		{name: "column classification changed on a NOT_PRODUCTION datastore warns",
			edit: func(b, h *modelv1.Model) {
				store(b, "Sales").ProductionStatus = modelv1.ProductionStatus_PRODUCTION_STATUS_NOT_PRODUCTION
				store(h, "Sales").ProductionStatus = modelv1.ProductionStatus_PRODUCTION_STATUS_NOT_PRODUCTION
				col(h, "Sales", "customers", "name").Classifications = nil
			},
			want: []want{{ColumnClassificationChanged, problem.Warning, colp(customers, "name"), head(colp(customers, "name") + "#classifications"),
				"classifications of column 'name' changed from [PC1] to []"}}},
		{name: "column widened",
			edit: func(b, h *modelv1.Model) { col(h, "Sales", "orders", "note").Type = sized("VarChar", 200) },
			want: []want{{ColumnWidened, 0, colp(orders, "note"), head(colp(orders, "note") + "#type"),
				"column 'note' of 'Sales.orders' widened from VarChar(100) to VarChar(200); platforms will alter the column"}}},
		{name: "column type narrowed",
			edit: func(b, h *modelv1.Model) { col(h, "Sales", "orders", "note").Type = sized("VarChar", 50) },
			want: []want{{TypeNarrowed, 0, colp(orders, "note"), head(colp(orders, "note") + "#type"),
				"column 'note' of 'Sales.orders': size reduced from 100 to 50"}}},
		{name: "column type family changed",
			edit: func(b, h *modelv1.Model) { col(h, "Sales", "orders", "customer_id").Type = sized("VarChar", 20) },
			want: []want{{TypeFamilyChanged, 0, colp(orders, "customer_id"), head(colp(orders, "customer_id") + "#type"),
				"column 'customer_id' of 'Sales.orders': type changed from Integer to VarChar(20), a different type family"}}},
		{name: "decimal integer digits reduced",
			edit: func(b, h *modelv1.Model) { col(h, "Sales", "orders", "amount").Type = decimal(12, 4) },
			want: []want{{TypeNarrowed, 0, colp(orders, "amount"), head(colp(orders, "amount") + "#type"),
				"column 'amount' of 'Sales.orders': integer digits reduced from 10 to 8"}}},
		{name: "timestamp time zone changed",
			edit: func(b, h *modelv1.Model) { col(h, "Sales", "orders", "placed_at").Type = timestamp("Europe/Berlin") },
			want: []want{{TypeTimezoneChanged, 0, colp(orders, "placed_at"), head(colp(orders, "placed_at") + "#type"),
				"column 'placed_at' of 'Sales.orders': time zone changed from UTC to Europe/Berlin"}}},
		{name: "column moved",
			edit: func(b, h *modelv1.Model) {
				ds := dataset(h, "Sales", "orders")
				c := ds.Columns
				ds.Columns = []*modelv1.Column{c[3], c[0], c[1], c[2], c[4]}
			},
			want: []want{{ColumnMoved, 0, colp(orders, "note"), head(colp(orders, "note")),
				"column 'note' moved; column order has no effect on platforms"}}},
		{name: "adding and removing columns moves nothing",
			edit: func(b, h *modelv1.Model) {
				ds := dataset(h, "Sales", "orders")
				c := ds.Columns
				ds.Columns = []*modelv1.Column{column("first", named("Integer"), true), c[0], c[1], c[2], c[3], c[4]}
			}},
		{name: "position falls back to the column when the type node is unknown",
			edit: func(b, h *modelv1.Model) {
				ds := dataset(h, "Sales", "orders")
				ds.Columns = append(ds.Columns, column("late", named("Integer"), false))
			},
			// the source map has no "#nullable" key for a column it did not see: the column node
			want: []want{{ColumnAddedNotNull, 0, colp(orders, "late"), head(colp(orders, "late")),
				"new column 'late' of 'Sales.orders' must be nullable"}}},

		// platform and assignment rules
		{name: "platform milestoning changed",
			edit: func(b, h *modelv1.Model) {
				yellow(h).Milestoning = modelv1.PlatformMilestoning_PLATFORM_MILESTONING_FORENSIC
			},
			want: []want{{PlatformMilestoningChanged, 0, "psp[Core]/platform[YellowLive]", head("psp[Core]/platform[YellowLive]#yellow.milestoning"),
				"platform 'YellowLive' changed milestoning from LIVE_ONLY to FORENSIC; create a new platform instead"}}},
		{name: "platform merge database changed",
			edit: func(b, h *modelv1.Model) { yellow(h).MergeDatabase = postgres("merge-db", 5433, "ds_merge") },
			want: []want{{PlatformDatabaseChanged, 0, "psp[Core]/platform[YellowLive]", head("psp[Core]/platform[YellowLive]#yellow.mergeDatabase"),
				"platform 'YellowLive' moved to another merge database; all its streams start again from batch 1"}}},
		{name: "merge database container name and locations are not compared",
			edit: func(b, h *modelv1.Model) {
				db := postgres("MERGE-DB", 5432, "ds_merge")
				db.GetPostgres().Name = "renamed"
				db.GetPostgres().Locations = []string{"Acme:EU/Frankfurt"}
				yellow(h).MergeDatabase = db
			}},
		{name: "assignment status regressed",
			edit: func(b, h *modelv1.Model) {
				h.Assignments[0].Platforms[1].Status = modelv1.AssignmentStatus_ASSIGNMENT_STATUS_PROVISIONING
			},
			want: []want{{AssignmentStatusRegressed, 0, "assignment[Analytics.main]/platform[YellowLive]",
				head("assignment[Analytics.main]/platform[YellowLive]#status"),
				"assignment 'Analytics.main' → 'YellowLive' went back from PROVISIONED to PROVISIONING"}}},
		{name: "assignment status advanced",
			edit: func(b, h *modelv1.Model) {
				h.Assignments[0].Platforms[1].Status = modelv1.AssignmentStatus_ASSIGNMENT_STATUS_DECOMMISSIONING
			}},
		{name: "assignment removed while active",
			edit: func(b, h *modelv1.Model) { h.Assignments = nil },
			// the DECOMMISSIONED Legacy entry may go
			want: []want{{AssignmentRemovedActive, 0, "assignment[Analytics.main]/platform[YellowLive]",
				base("assignment[Analytics.main]/platform[YellowLive]"),
				"assignment 'Analytics.main' → 'YellowLive' removed while PROVISIONED; its consumers lose their views at once"}}},

		// history: name reuse and TRANSITIVE
		{name: "dataset name reused incompatibly",
			edit: func(b, h *modelv1.Model) {
				s := store(h, "Sales")
				s.Datasets = append(s.Datasets, &modelv1.Dataset{Name: "returns", Columns: []*modelv1.Column{column("id", sized("VarChar", 10), true)}})
			},
			history: func(b, h *modelv1.Model) []compat.Version {
				v3 := proto.Clone(b).(*modelv1.Model)
				v2 := proto.Clone(b).(*modelv1.Model)
				s := store(v2, "Sales")
				s.Datasets = append(s.Datasets, &modelv1.Dataset{Name: "returns", Columns: []*modelv1.Column{
					column("id", named("Integer"), false), column("reason", sized("VarChar", 10), true)}})
				return []compat.Version{{Number: 3, Model: v3}, {Number: 2, Model: v2}}
			},
			want: []want{
				{DatasetAdded, 0, "datastore[Sales]/dataset[returns]", head("datastore[Sales]/dataset[returns]"),
					"dataset 'Sales.returns' added"},
				{DatasetNameReused, 0, "datastore[Sales]/dataset[returns]", head("datastore[Sales]/dataset[returns]"),
					"dataset 'Sales.returns' existed in version 2; its new schema is not compatible with that one: " +
						"column 'id' of 'Sales.returns' changed from not null to nullable"},
			}},
		{name: "dataset name reused compatibly",
			edit: func(b, h *modelv1.Model) {
				s := store(h, "Sales")
				s.Datasets = append(s.Datasets, &modelv1.Dataset{Name: "returns", Columns: []*modelv1.Column{
					column("id", named("BigInt"), false), column("reason", sized("VarChar", 10), true)}})
			},
			history: func(b, h *modelv1.Model) []compat.Version {
				v2 := proto.Clone(b).(*modelv1.Model)
				s := store(v2, "Sales")
				s.Datasets = append(s.Datasets, &modelv1.Dataset{Name: "returns", Columns: []*modelv1.Column{
					column("id", named("Integer"), false), column("reason", sized("VarChar", 10), true)}})
				v1 := proto.Clone(v2).(*modelv1.Model)
				dataset(v1, "Sales", "returns").Columns[1].Type = sized("VarChar", 20) // older and wider: not checked in BACKWARD
				return []compat.Version{{Number: 2, Model: v2}, {Number: 1, Model: v1}}
			},
			want: []want{{DatasetAdded, 0, "datastore[Sales]/dataset[returns]", head("datastore[Sales]/dataset[returns]"),
				"dataset 'Sales.returns' added"}}},
		{name: "datastore name reused incompatibly",
			edit: func(b, h *modelv1.Model) {
				h.Datastores = append(h.Datastores, &modelv1.Datastore{Name: "Gone", Capture: snapshot(modelv1.Consistency_CONSISTENCY_MULTI_DATASET),
					Datasets: []*modelv1.Dataset{{Name: "things", Columns: []*modelv1.Column{column("id", named("Integer"), false)}}}})
			},
			history: func(b, h *modelv1.Model) []compat.Version {
				v1 := proto.Clone(b).(*modelv1.Model)
				v1.Datastores = append(v1.Datastores, &modelv1.Datastore{Name: "Gone", Capture: snapshot(modelv1.Consistency_CONSISTENCY_MULTI_DATASET),
					Datasets: []*modelv1.Dataset{{Name: "things", Columns: []*modelv1.Column{column("id", named("BigInt"), false)}}}})
				return []compat.Version{{Number: 1, Model: v1}}
			},
			want: []want{{DatasetNameReused, 0, "datastore[Gone]/dataset[things]", head("datastore[Gone]/dataset[things]"),
				"dataset 'Gone.things' existed in version 1; its new schema is not compatible with that one: " +
					"column 'id' of 'Gone.things': bits reduced from 64 to 32"}}},
		{name: "transitive: changed dataset checked against every version",
			edit: func(b, h *modelv1.Model) {
				b.Ecosystem.Compatibility.Mode = modelv1.CompatibilityMode_COMPATIBILITY_MODE_BACKWARD_TRANSITIVE
				h.Ecosystem.Compatibility.Mode = modelv1.CompatibilityMode_COMPATIBILITY_MODE_BACKWARD_TRANSITIVE
				// base has note VarChar(100); head VarChar(150): a widening against the base
				col(h, "Sales", "orders", "note").Type = sized("VarChar", 150)
			},
			history: func(b, h *modelv1.Model) []compat.Version {
				v2 := proto.Clone(b).(*modelv1.Model)
				col(v2, "Sales", "orders", "note").Type = sized("VarChar", 200)
				removeColumn(v2, "Sales", "orders", "amount") // the head's NOT NULL amount cannot read v4 data
				v1 := proto.Clone(b).(*modelv1.Model)
				col(v1, "Sales", "orders", "note").Type = sized("VarChar", 300)
				ds := dataset(v1, "Sales", "orders")
				ds.Columns = append(ds.Columns, column("dropped", named("Integer"), true))
				return []compat.Version{{Number: 5, Model: b}, {Number: 4, Model: v2}, {Number: 3, Model: v1}}
			},
			want: []want{
				{ColumnWidened, 0, colp(orders, "note"), head(colp(orders, "note") + "#type"),
					"column 'note' of 'Sales.orders' widened from VarChar(100) to VarChar(150); platforms will alter the column"},
				{TypeNarrowed, 0, colp(orders, "note"), head(colp(orders, "note") + "#type"),
					"column 'note' of 'Sales.orders': size reduced from 200 to 150 (against version 4)"},
				{ColumnAddedNotNull, 0, colp(orders, "amount"), head(colp(orders, "amount") + "#nullable"),
					"new column 'amount' of 'Sales.orders' must be nullable (against version 4)"},
				{ColumnRemoved, 0, colp(orders, "dropped"), head(orders),
					"column 'dropped' was removed from 'Sales.orders' (against version 3)"},
			}},
		{name: "transitive mode selected by the head alone",
			edit: func(b, h *modelv1.Model) {
				h.Ecosystem.Compatibility.Mode = modelv1.CompatibilityMode_COMPATIBILITY_MODE_BACKWARD_TRANSITIVE
				col(h, "Sales", "orders", "note").Type = sized("VarChar", 150)
			},
			history: func(b, h *modelv1.Model) []compat.Version {
				v1 := proto.Clone(b).(*modelv1.Model)
				col(v1, "Sales", "orders", "note").Type = sized("VarChar", 200)
				return []compat.Version{{Number: 1, Model: v1}}
			},
			want: []want{
				{ColumnWidened, 0, colp(orders, "note"), head(colp(orders, "note") + "#type"),
					"column 'note' of 'Sales.orders' widened from VarChar(100) to VarChar(150); platforms will alter the column"},
				{TypeNarrowed, 0, colp(orders, "note"), head(colp(orders, "note") + "#type"),
					"column 'note' of 'Sales.orders': size reduced from 200 to 150 (against version 1)"},
			}},
		{name: "backward mode ignores older versions of a changed dataset",
			edit: func(b, h *modelv1.Model) { col(h, "Sales", "orders", "note").Type = sized("VarChar", 150) },
			history: func(b, h *modelv1.Model) []compat.Version {
				v1 := proto.Clone(b).(*modelv1.Model)
				col(v1, "Sales", "orders", "note").Type = sized("VarChar", 200)
				return []compat.Version{{Number: 1, Model: v1}}
			},
			want: []want{{ColumnWidened, 0, colp(orders, "note"), head(colp(orders, "note") + "#type"),
				"column 'note' of 'Sales.orders' widened from VarChar(100) to VarChar(150); platforms will alter the column"}}},
		{name: "transitive: reported once per rule and node",
			edit: func(b, h *modelv1.Model) {
				h.Ecosystem.Compatibility.Mode = modelv1.CompatibilityMode_COMPATIBILITY_MODE_BACKWARD_TRANSITIVE
				col(h, "Sales", "orders", "note").Type = sized("VarChar", 50)
			},
			history: func(b, h *modelv1.Model) []compat.Version {
				v1 := proto.Clone(b).(*modelv1.Model)
				col(v1, "Sales", "orders", "note").Type = sized("VarChar", 200)
				return []compat.Version{{Number: 1, Model: v1}}
			},
			want: []want{{TypeNarrowed, 0, colp(orders, "note"), head(colp(orders, "note") + "#type"),
				"column 'note' of 'Sales.orders': size reduced from 100 to 50"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := baseModel()
			h := baseModel()
			tt.edit(b, h)
			baseSrc := sourceMap(problem.Base, "base.yaml", b)
			headSrc := sourceMap(problem.Head, "head.yaml", h)
			if tt.name == "position falls back to the column when the type node is unknown" {
				headSrc = srcmap.New(problem.Head)
				headSrc.Set(colp(orders, "late"), "head.yaml", 99, 5)
			}
			in := compat.Input{Base: b, Head: h, BaseSrc: baseSrc, HeadSrc: headSrc}
			if tt.history != nil {
				in.History = tt.history(b, h)
			}
			var wantPs []problem.Problem
			for _, w := range tt.want {
				sev := w.sev
				if sev == 0 {
					sev = w.rule.Severity
				}
				var pos problem.Position
				if w.at.base {
					pos = exact(t, baseSrc, w.at.key)
				} else {
					pos = exact(t, headSrc, w.at.key)
				}
				wantPs = append(wantPs, problem.Problem{Rule: w.rule, Severity: sev, Phase: "compatibility",
					Message: w.msg, Path: w.path, Pos: pos})
			}
			got := compat.Check(in)
			problem.Sort(got)
			problem.Sort(wantPs)
			if diff := cmp.Diff(wantPs, got); diff != "" {
				t.Errorf("Check mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// Short names for the rules in the table above.
var (
	DatastoreRemoved             = compat.DatastoreRemoved
	CaptureKindChanged           = compat.CaptureKindChanged
	ConsistencyChanged           = compat.ConsistencyChanged
	PrimaryIngestionChanged      = compat.PrimaryIngestionChanged
	DatasetAdded                 = compat.DatasetAdded
	DatasetRemoved               = compat.DatasetRemoved
	DatasetNameReused            = compat.DatasetNameReused
	PrimaryKeyChanged            = compat.PrimaryKeyChanged
	PartitionKeyChanged          = compat.PartitionKeyChanged
	DatasetClassificationChanged = compat.DatasetClassificationChanged
	ColumnRemoved                = compat.ColumnRemoved
	ColumnAddedNotNull           = compat.ColumnAddedNotNull
	ColumnNullabilityChanged     = compat.ColumnNullabilityChanged
	ColumnClassificationChanged  = compat.ColumnClassificationChanged
	ColumnWidened                = compat.ColumnWidened
	ColumnMoved                  = compat.ColumnMoved
	TypeFamilyChanged            = compat.TypeFamilyChanged
	TypeNarrowed                 = compat.TypeNarrowed
	TypeTimezoneChanged          = compat.TypeTimezoneChanged
	PlatformMilestoningChanged   = compat.PlatformMilestoningChanged
	PlatformDatabaseChanged      = compat.PlatformDatabaseChanged
	AssignmentStatusRegressed    = compat.AssignmentStatusRegressed
	AssignmentRemovedActive      = compat.AssignmentRemovedActive
)

func TestCheckInitial(t *testing.T) {
	if got := compat.Check(compat.Input{Head: baseModel()}); got != nil {
		t.Errorf("Check without a base = %v, want nil", got)
	}
}

func TestRules(t *testing.T) {
	if got := len(compat.Rules); got != 35 {
		t.Errorf("len(Rules) = %d, want 35", got)
	}
	seen := map[string]bool{}
	for _, r := range compat.Rules {
		if seen[r.ID] {
			t.Errorf("duplicate rule %s", r.ID)
		}
		seen[r.ID] = true
	}
	tests := []struct {
		rule problem.Rule
		want problem.Rule
	}{
		{compat.DatastoreRemoved, problem.Rule{ID: "DS-COMPAT-DATASTORE-REMOVED", Name: "datastore-removed", Severity: problem.Error}},
		{compat.DatasetAdded, problem.Rule{ID: "DS-COMPAT-DATASET-ADDED", Name: "dataset-added", Severity: problem.Info}},
		{compat.CaptureKindChanged, problem.Rule{ID: "DS-COMPAT-CAPTURE-KIND-CHANGED", Name: "capture-kind-changed", Severity: problem.Warning}},
		{compat.MXChanged, problem.Rule{ID: "DS-COMPAT-MX-CHANGED", Name: "mx-changed", Severity: problem.Error}},
		{compat.GeoSRSChanged, problem.Rule{ID: "DS-COMPAT-GEO-SRS-CHANGED", Name: "geo-srs-changed", Severity: problem.Error}},
		{compat.AssignmentRemovedActive, problem.Rule{ID: "DS-COMPAT-ASSIGNMENT-REMOVED-ACTIVE", Name: "assignment-removed-active", Severity: problem.Warning}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.rule); diff != "" {
			t.Errorf("rule mismatch (-want +got):\n%s", diff)
		}
	}
}

func TestMode(t *testing.T) {
	b, h := baseModel(), baseModel()
	if got := compat.Mode(b, h); got != modelv1.CompatibilityMode_COMPATIBILITY_MODE_BACKWARD {
		t.Errorf("Mode = %v, want BACKWARD", got)
	}
	b.Ecosystem.Compatibility.Mode = modelv1.CompatibilityMode_COMPATIBILITY_MODE_BACKWARD_TRANSITIVE
	if got := compat.Mode(b, h); got != modelv1.CompatibilityMode_COMPATIBILITY_MODE_BACKWARD_TRANSITIVE {
		t.Errorf("Mode = %v, want BACKWARD_TRANSITIVE", got)
	}
}
