package ylint

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	"github.com/datasurface/datasurface/model/index"
	"github.com/datasurface/datasurface/model/lint"
	"github.com/datasurface/datasurface/model/problem"
	"github.com/datasurface/datasurface/model/srcmap"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// The base model: platforms Live (LIVE_ONLY) and Forensic (FORENSIC) sharing merge database
// db:5432/merge; Sales (SQL snapshot, MULTI_DATASET), Events (Kafka CDC, SINGLE_DATASET) and
// Totals (written by workspace Summary's transformer); workspace Analytics reads Sales and Totals
// on Live (group live) and Sales on Forensic (group history). It lints clean.

func userPassword(n string) *modelv1.Credential {
	return &modelv1.Credential{Name: n, Type: modelv1.CredentialType_CREDENTIAL_TYPE_USER_PASSWORD}
}

func postgres(host, db string) *modelv1.DataContainer {
	return &modelv1.DataContainer{Kind: &modelv1.DataContainer_Postgres{Postgres: &modelv1.HostDatabase{Host: host, Port: 5432, Database: db}}}
}

func yellow(name string, m modelv1.PlatformMilestoning) *modelv1.DataPlatform {
	return &modelv1.DataPlatform{Name: name, Kind: &modelv1.DataPlatform_Yellow{Yellow: &modelv1.YellowPlatform{
		Milestoning:          m,
		StagingBatchesToKeep: 50,
		MergeDatabase:        postgres("db", "merge"),
		MergeCredential:      userPassword(strings.ToUpper(name) + "_MERGE"),
		SecurityCredential:   userPassword(strings.ToUpper(name) + "_SECURITY"),
	}}}
}

func column(name, typ string) *modelv1.Column {
	return &modelv1.Column{Name: name, Type: &modelv1.DataType{Name: typ}}
}

func dataset(name string, cols ...*modelv1.Column) *modelv1.Dataset {
	return &modelv1.Dataset{Name: name, Columns: cols}
}

func cron() *modelv1.Trigger {
	return &modelv1.Trigger{Kind: &modelv1.Trigger_Cron{Cron: "*/10 * * * *"}}
}

func sink(s, t string) *modelv1.DatasetSink { return &modelv1.DatasetSink{Datastore: s, Dataset: t} }

func requires(m modelv1.Milestoning) *modelv1.PlatformRequirements {
	return &modelv1.PlatformRequirements{Milestoning: m}
}

func assign(w, g string, platforms ...string) *modelv1.DatasetGroupAssignment {
	a := &modelv1.DatasetGroupAssignment{Workspace: w, DatasetGroup: g}
	for _, p := range platforms {
		a.Platforms = append(a.Platforms, &modelv1.PlatformAssignment{Platform: p, Status: modelv1.AssignmentStatus_ASSIGNMENT_STATUS_PROVISIONED})
	}
	return a
}

const (
	liveOnly = modelv1.PlatformMilestoning_PLATFORM_MILESTONING_LIVE_ONLY
	forensic = modelv1.PlatformMilestoning_PLATFORM_MILESTONING_FORENSIC
)

func baseModel() *modelv1.Model {
	platformManaged := &modelv1.DataContainer{Kind: &modelv1.DataContainer_PlatformManaged{PlatformManaged: &modelv1.PlatformManaged{}}}
	return &modelv1.Model{
		Psps: []*modelv1.PlatformServicesProvider{{
			Name:      "Core",
			Platforms: []*modelv1.DataPlatform{yellow("Forensic", forensic), yellow("Live", liveOnly)},
		}},
		Teams: []*modelv1.Team{{Name: "T", Zone: "Z", Containers: []*modelv1.DataContainer{
			{Kind: &modelv1.DataContainer_Postgres{Postgres: &modelv1.HostDatabase{Name: "pg", Host: "src", Port: 5432, Database: "sales"}}},
			{Kind: &modelv1.DataContainer_Oracle{Oracle: &modelv1.HostDatabase{Name: "ora", Host: "ora", Port: 1521, Database: "erp"}}},
		}}},
		Datastores: []*modelv1.Datastore{
			{
				Name: "Events", Zone: "Z", Team: "T",
				Capture: &modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_KafkaCdc{KafkaCdc: &modelv1.KafkaCdcCapture{
					Container:   &modelv1.DataContainer{Kind: &modelv1.DataContainer_Kafka{Kafka: &modelv1.KafkaCluster{BootstrapServers: []string{"kafka:9092"}}}},
					Credential:  userPassword("KAFKA"),
					Consistency: modelv1.Consistency_CONSISTENCY_SINGLE_DATASET,
					Trigger:     cron(),
					Format:      modelv1.CdcFormat_CDC_FORMAT_DEBEZIUM_POSTGRES_JSON,
					TopicPrefix: "events",
				}}},
				Datasets: []*modelv1.Dataset{dataset("clicks", column("id", "BigInt"), column("at", "Timestamp"))},
			},
			{
				Name: "Sales", Zone: "Z", Team: "T",
				Capture: &modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_SqlSnapshot{SqlSnapshot: &modelv1.SqlSnapshotCapture{
					Container:   postgres("src", "sales"),
					Credential:  userPassword("SALES_PG"),
					Consistency: modelv1.Consistency_CONSISTENCY_MULTI_DATASET,
					Trigger:     cron(),
				}}},
				Datasets: []*modelv1.Dataset{
					dataset("customers", column("id", "Integer"), &modelv1.Column{Name: "name", Type: &modelv1.DataType{Name: "VarChar", MaxSize: proto.Int64(100)}}),
					dataset("orders", column("id", "BigInt"), &modelv1.Column{Name: "amount", Type: &modelv1.DataType{Name: "Decimal", Precision: 12, Scale: 2}}),
				},
			},
			{
				Name: "Totals", Zone: "Z", Team: "T",
				Capture: &modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_TransformerOutput{
					TransformerOutput: &modelv1.TransformerOutputCapture{Workspace: "Summary"},
				}},
				Datasets: []*modelv1.Dataset{dataset("totals", column("id", "Integer"), column("n", "BigInt"))},
			},
		},
		Workspaces: []*modelv1.Workspace{
			{
				Name: "Analytics", Zone: "Z", Team: "T", Container: platformManaged,
				DatasetGroups: []*modelv1.DatasetGroup{
					{Name: "history", PlatformRequirements: requires(modelv1.Milestoning_MILESTONING_FORENSIC), Sinks: []*modelv1.DatasetSink{sink("Sales", "customers")}},
					{Name: "live", PlatformRequirements: requires(modelv1.Milestoning_MILESTONING_LIVE_ONLY), Sinks: []*modelv1.DatasetSink{sink("Sales", "orders"), sink("Totals", "totals")}},
				},
			},
			{
				Name: "Summary", Zone: "Z", Team: "T",
				DatasetGroups: []*modelv1.DatasetGroup{{Name: "in", Sinks: []*modelv1.DatasetSink{sink("Events", "clicks"), sink("Sales", "orders")}}},
				Transformer: &modelv1.DataTransformer{
					Name: "summary_tx", OutputDatastore: "Totals",
					Code: &modelv1.TransformerCode{Kind: &modelv1.TransformerCode_Sql{Sql: &modelv1.SqlTransformerCode{
						Queries: map[string]string{"totals": "SELECT 1 AS id, 2 AS n"},
					}}},
				},
			},
		},
		Assignments: []*modelv1.DatasetGroupAssignment{
			assign("Analytics", "history", "Forensic"),
			assign("Analytics", "live", "Live"),
		},
	}
}

// Lookups for mutations.

func platformOf(m *modelv1.Model, name string) *modelv1.DataPlatform {
	for _, p := range m.GetPsps()[0].GetPlatforms() {
		if p.GetName() == name {
			return p
		}
	}
	panic("no platform " + name)
}

func yellowOf(m *modelv1.Model, name string) *modelv1.YellowPlatform {
	return platformOf(m, name).GetYellow()
}

func storeOf(m *modelv1.Model, name string) *modelv1.Datastore {
	for _, s := range m.GetDatastores() {
		if s.GetName() == name {
			return s
		}
	}
	panic("no datastore " + name)
}

func workspaceOf(m *modelv1.Model, name string) *modelv1.Workspace {
	for _, w := range m.GetWorkspaces() {
		if w.GetName() == name {
			return w
		}
	}
	panic("no workspace " + name)
}

func snapshot(m *modelv1.Model) *modelv1.SqlSnapshotCapture {
	return storeOf(m, "Sales").GetCapture().GetSqlSnapshot()
}

// addPlatform adds a Yellow platform to PSP Core, keeping the platforms sorted.
func addPlatform(m *modelv1.Model, p *modelv1.DataPlatform) {
	psp := m.GetPsps()[0]
	psp.Platforms = append(psp.Platforms, p)
	slicesSortPlatforms(psp.Platforms)
}

func slicesSortPlatforms(ps []*modelv1.DataPlatform) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].GetName() < ps[j-1].GetName(); j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// yProblem is the comparable view of a problem; Pos is the source-map key its position was
// recorded under (src records each key with File = the key).
type yProblem struct {
	ID   string
	Sev  string
	Msg  string
	Path string
	Pos  string
}

// src records every object of m, and the given field keys, each at a position whose file is
// the key.
func src(m *modelv1.Model, keys ...string) *srcmap.Map {
	sm := srcmap.New(problem.Head)
	put := func(k string) { sm.Set(k, k, 1, 1) }
	for _, k := range keys {
		put(k)
	}
	for _, p := range m.GetPsps() {
		for _, d := range p.GetPlatforms() {
			put(index.PlatformPath(p.GetName(), d.GetName()))
		}
	}
	for _, s := range m.GetDatastores() {
		put(index.DatastorePath(s.GetName()))
		for _, d := range s.GetDatasets() {
			put(index.DatasetPath(s.GetName(), d.GetName()))
			for _, c := range d.GetColumns() {
				put(index.ColumnPath(s.GetName(), d.GetName(), c.GetName()))
			}
		}
	}
	for _, w := range m.GetWorkspaces() {
		put(index.WorkspacePath(w.GetName()))
		for _, g := range w.GetDatasetGroups() {
			put(index.DSGPath(w.GetName(), g.GetName()))
			for _, s := range g.GetSinks() {
				put(index.SinkPath(w.GetName(), g.GetName(), s.GetDatastore(), s.GetDataset()))
			}
		}
		if w.GetTransformer() != nil {
			put(index.TransformerPath(w.GetName()))
		}
	}
	for _, a := range m.GetAssignments() {
		put(index.AssignmentPath(a.GetWorkspace(), a.GetDatasetGroup()))
		for _, p := range a.GetPlatforms() {
			put(index.AssignmentPlatformPath(a.GetWorkspace(), a.GetDatasetGroup(), p.GetPlatform()))
		}
	}
	for _, p := range m.GetPrimaryIngestions() {
		put(index.PrimaryPath(p.GetDatastore()))
	}
	return sm
}

func yLint(m *modelv1.Model, keys ...string) []yProblem {
	c := lint.NewContext(m, src(m, keys...))
	New().Check(c)
	var out []yProblem
	for _, p := range c.Problems() {
		out = append(out, yProblem{ID: p.Rule.ID, Sev: p.Severity.String(), Msg: p.Message, Path: p.Path, Pos: p.Pos.File})
	}
	return out
}

type yCase struct {
	name   string
	mutate func(m *modelv1.Model)
	keys   []string
	want   []yProblem
}

func yRun(t *testing.T, cases []yCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := baseModel()
			if tc.mutate != nil {
				tc.mutate(m)
			}
			if d := cmp.Diff(tc.want, yLint(m, tc.keys...)); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}

func e(r string, path, pos, msg string) yProblem {
	return yProblem{ID: r, Sev: "ERROR", Msg: msg, Path: path, Pos: pos}
}

func TestPlatformClean(t *testing.T) {
	yRun(t, []yCase{
		{name: "base model"},
		{
			name: "LIVE_WITH_FORENSIC_HISTORY on a forensic platform, postgis, remote from a forensic primary",
			mutate: func(m *modelv1.Model) {
				workspaceOf(m, "Analytics").GetDatasetGroups()[0].PlatformRequirements = requires(modelv1.Milestoning_MILESTONING_LIVE_WITH_FORENSIC_HISTORY)
				yellowOf(m, "Live").Postgis = true
				storeOf(m, "Sales").GetDatasets()[0].Columns = append(storeOf(m, "Sales").GetDatasets()[0].Columns, column("where", "Geography"))
				yellowOf(m, "Forensic").Postgis = true
				m.PrimaryIngestions = []*modelv1.PrimaryIngestion{{Datastore: "Sales", Platforms: []string{"Forensic"}}}
			},
		},
		{
			name: "a team container that is postgres; a legacy platform is not linted",
			mutate: func(m *modelv1.Model) {
				snapshot(m).Container = &modelv1.DataContainer{Kind: &modelv1.DataContainer_Ref{Ref: "pg"}}
				addPlatform(m, &modelv1.DataPlatform{Name: "Old Pipelines", Kind: &modelv1.DataPlatform_Legacy{Legacy: &modelv1.LegacyPlatform{}}})
			},
		},
		{
			name:   "no Yellow platform",
			mutate: func(m *modelv1.Model) { m.Psps = nil },
		},
	})
}

func TestPlatformSettings(t *testing.T) {
	live := "psp[Core]/platform[Live]"
	yRun(t, []yCase{
		{
			name: "DS-YELLOW-001 platform name",
			mutate: func(m *modelv1.Model) {
				addPlatform(m, yellow("Yellow Live", liveOnly))
				addPlatform(m, yellow("Select", liveOnly))
			},
			keys: []string{"psp[Core]/platform[Select]#name"},
			want: []yProblem{
				e("DS-YELLOW-001", "psp[Core]/platform[Select]", "psp[Core]/platform[Select]#name", "Yellow platform name 'Select' must be a SQL identifier"),
				e("DS-YELLOW-001", "psp[Core]/platform[Yellow Live]", "psp[Core]/platform[Yellow Live]", "Yellow platform name 'Yellow Live' must be a SQL identifier"),
			},
		},
		{
			name: "DS-YELLOW-002 merge database kind",
			mutate: func(m *modelv1.Model) {
				yellowOf(m, "Live").MergeDatabase = &modelv1.DataContainer{Kind: &modelv1.DataContainer_Mysql{Mysql: &modelv1.HostDatabase{Host: "db", Port: 3306, Database: "merge"}}}
			},
			keys: []string{live + "#yellow.mergeDatabase"},
			want: []yProblem{e("DS-YELLOW-002", live, live+"#yellow.mergeDatabase", "mergeDatabase of 'Live' must be a postgres container")},
		},
		{
			name: "DS-YELLOW-003 staging batches to keep",
			mutate: func(m *modelv1.Model) {
				y := yellowOf(m, "Live")
				y.StagingBatchesToKeep = -2
				y.StreamOverrides = []*modelv1.StreamOverride{
					{Datastore: "Events", Dataset: "clicks", StagingBatchesToKeep: proto.Int32(-5)},
					{Datastore: "Sales", StagingBatchesToKeep: proto.Int32(-1)},
				}
			},
			keys: []string{live + "#yellow.stagingBatchesToKeep", live + "#yellow.streamOverrides[Events.clicks].stagingBatchesToKeep"},
			want: []yProblem{
				e("DS-YELLOW-003", live, live+"#yellow.stagingBatchesToKeep", "stagingBatchesToKeep must be ≥ -1, found -2"),
				e("DS-YELLOW-003", live, live+"#yellow.streamOverrides[Events.clicks].stagingBatchesToKeep", "stagingBatchesToKeep must be ≥ -1, found -5"),
			},
		},
		{
			name: "DS-YELLOW-018 credential types",
			mutate: func(m *modelv1.Model) {
				y := yellowOf(m, "Live")
				y.MergeCredential.Type = modelv1.CredentialType_CREDENTIAL_TYPE_API_TOKEN
				y.SecurityCredential.Type = modelv1.CredentialType_CREDENTIAL_TYPE_API_KEY_PAIR
			},
			keys: []string{live + "#yellow.mergeCredential.type"},
			want: []yProblem{
				e("DS-YELLOW-018", live, live, "securityCredential of 'Live' must be USER_PASSWORD"),
				e("DS-YELLOW-018", live, live+"#yellow.mergeCredential.type", "mergeCredential of 'Live' must be USER_PASSWORD"),
			},
		},
	})
}

func TestPlatformCaptures(t *testing.T) {
	yRun(t, []yCase{
		{
			name:   "DS-YELLOW-004 capture missing",
			mutate: func(m *modelv1.Model) { storeOf(m, "Sales").Capture = nil },
			want:   []yProblem{e("DS-YELLOW-004", "datastore[Sales]", "datastore[Sales]", "datastore 'Sales': capture none is not supported by Yellow")},
		},
		{
			name: "DS-YELLOW-005 source not postgres",
			mutate: func(m *modelv1.Model) {
				snapshot(m).Container = &modelv1.DataContainer{Kind: &modelv1.DataContainer_SqlServer{SqlServer: &modelv1.HostDatabase{Host: "mssql", Port: 1433, Database: "sales"}}}
			},
			keys: []string{"datastore[Sales]#capture.sqlSnapshot.container"},
			want: []yProblem{e("DS-YELLOW-005", "datastore[Sales]", "datastore[Sales]#capture.sqlSnapshot.container", "datastore 'Sales': Yellow reads SQL sources from postgres containers only")},
		},
		{
			name: "DS-YELLOW-005 through a team container",
			mutate: func(m *modelv1.Model) {
				s := storeOf(m, "Sales")
				s.Capture = &modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_SqlWatermark{SqlWatermark: &modelv1.SqlWatermarkCapture{
					Container: &modelv1.DataContainer{Kind: &modelv1.DataContainer_Ref{Ref: "ora"}}, Credential: userPassword("ERP"),
					Consistency: modelv1.Consistency_CONSISTENCY_MULTI_DATASET, Trigger: cron(), WatermarkColumn: "id",
				}}}
			},
			want: []yProblem{e("DS-YELLOW-005", "datastore[Sales]", "datastore[Sales]", "datastore 'Sales': Yellow reads SQL sources from postgres containers only")},
		},
		{
			name:   "DS-YELLOW-006 trigger required",
			mutate: func(m *modelv1.Model) { snapshot(m).Trigger = nil },
			keys:   []string{"datastore[Sales]#capture.sqlSnapshot"},
			want:   []yProblem{e("DS-YELLOW-006", "datastore[Sales]", "datastore[Sales]#capture.sqlSnapshot", "datastore 'Sales' needs a trigger (cron or external) on Yellow")},
		},
		{
			name:   "DS-YELLOW-007 credential required",
			mutate: func(m *modelv1.Model) { storeOf(m, "Events").GetCapture().GetKafkaCdc().Credential = nil },
			keys:   []string{"datastore[Events]#capture.kafkaCdc"},
			want:   []yProblem{e("DS-YELLOW-007", "datastore[Events]", "datastore[Events]#capture.kafkaCdc", "datastore 'Events' needs a credential on Yellow")},
		},
		{
			name: "DS-YELLOW-008 Kafka CDC multi-dataset",
			mutate: func(m *modelv1.Model) {
				storeOf(m, "Events").GetCapture().GetKafkaCdc().Consistency = modelv1.Consistency_CONSISTENCY_MULTI_DATASET
			},
			keys: []string{"datastore[Events]#capture.kafkaCdc.consistency"},
			want: []yProblem{e("DS-YELLOW-008", "datastore[Events]", "datastore[Events]#capture.kafkaCdc.consistency", "datastore 'Events': Kafka CDC must use consistency SINGLE_DATASET")},
		},
		{
			name: "a copied (remote) datastore's source is not checked",
			mutate: func(m *modelv1.Model) {
				snapshot(m).Trigger = nil
				m.PrimaryIngestions = []*modelv1.PrimaryIngestion{{Datastore: "Sales", Platforms: []string{"Other"}}}
				addPlatform(m, &modelv1.DataPlatform{Name: "Other", Kind: &modelv1.DataPlatform_Yellow{Yellow: yellow("Other", forensic).GetYellow()}})
			},
		},
		{
			name: "a datastore no root names is not checked",
			mutate: func(m *modelv1.Model) {
				s := proto.Clone(storeOf(m, "Sales")).(*modelv1.Datastore)
				s.Name = "Unused"
				s.GetCapture().GetSqlSnapshot().Trigger = nil
				m.Datastores = append(m.Datastores, s)
			},
		},
	})
}

func TestPlatformPrimaryIngestion(t *testing.T) {
	yRun(t, []yCase{
		{
			name: "DS-YELLOW-015 primary not forensic",
			mutate: func(m *modelv1.Model) {
				m.PrimaryIngestions = []*modelv1.PrimaryIngestion{{Datastore: "Sales", Platforms: []string{"Live"}}}
			},
			keys: []string{"primary[Sales]#platforms[Live]"},
			want: []yProblem{e("DS-YELLOW-015", "primary[Sales]", "primary[Sales]#platforms[Live]", "datastore 'Sales': primary ingestion platform 'Live' must be a FORENSIC Yellow platform")},
		},
		{
			name: "DS-YELLOW-015 first platform legacy, a later one Yellow",
			mutate: func(m *modelv1.Model) {
				addPlatform(m, &modelv1.DataPlatform{Name: "Old", Kind: &modelv1.DataPlatform_Legacy{Legacy: &modelv1.LegacyPlatform{}}})
				m.PrimaryIngestions = []*modelv1.PrimaryIngestion{{Datastore: "Sales", Platforms: []string{"Old", "Forensic"}}}
			},
			want: []yProblem{e("DS-YELLOW-015", "primary[Sales]", "primary[Sales]", "datastore 'Sales': primary ingestion platform 'Old' must be a FORENSIC Yellow platform")},
		},
		{
			name: "DS-YELLOW-016 no Yellow primary (reported once for both copying platforms)",
			mutate: func(m *modelv1.Model) {
				addPlatform(m, &modelv1.DataPlatform{Name: "Old", Kind: &modelv1.DataPlatform_Legacy{Legacy: &modelv1.LegacyPlatform{}}})
				m.PrimaryIngestions = []*modelv1.PrimaryIngestion{{Datastore: "Sales", Platforms: []string{"Old"}}}
			},
			keys: []string{"primary[Sales]#platforms"},
			want: []yProblem{e("DS-YELLOW-016", "primary[Sales]", "primary[Sales]#platforms", "datastore 'Sales' lists primary ingestion platforms but none is a Yellow platform")},
		},
	})
}

func TestPlatformColumns(t *testing.T) {
	long := strings.Repeat("c", 64)
	yRun(t, []yCase{
		{
			name: "DS-YELLOW-013 column name too long",
			mutate: func(m *modelv1.Model) {
				ds := storeOf(m, "Sales").GetDatasets()[1]
				ds.Columns = append(ds.Columns, column(long, "Integer"), column(strings.Repeat("d", 63), "Integer"))
			},
			keys: []string{"datastore[Sales]/dataset[orders]/column[" + long + "]#name"},
			want: []yProblem{e("DS-YELLOW-013", "datastore[Sales]/dataset[orders]/column["+long+"]",
				"datastore[Sales]/dataset[orders]/column["+long+"]#name", "column '"+long+"' of 'Sales.orders' is longer than 63 bytes")},
		},
		{
			name: "DS-YELLOW-014 type unsupported",
			mutate: func(m *modelv1.Model) {
				ds := storeOf(m, "Sales").GetDatasets()[1]
				ds.Columns = append(ds.Columns, column("big", "IEEE128"),
					&modelv1.Column{Name: "grid", Type: &modelv1.DataType{Name: "Array", ElementType: &modelv1.DataType{Name: "Array", ElementType: &modelv1.DataType{Name: "Integer"}}}})
				tot := storeOf(m, "Totals").GetDatasets()[0]
				tot.Columns = append(tot.Columns, column("mx", "MXFP8_E4M3"))
			},
			keys: []string{"datastore[Sales]/dataset[orders]/column[big]#type"},
			want: []yProblem{
				e("DS-YELLOW-014", "datastore[Sales]/dataset[orders]/column[big]", "datastore[Sales]/dataset[orders]/column[big]#type",
					"column 'big' of 'Sales.orders': type IEEE128 cannot be stored on Yellow"),
				e("DS-YELLOW-014", "datastore[Sales]/dataset[orders]/column[grid]", "datastore[Sales]/dataset[orders]/column[grid]",
					"column 'grid' of 'Sales.orders': type Array(Array(Integer)) cannot be stored on Yellow"),
				e("DS-YELLOW-014", "datastore[Totals]/dataset[totals]/column[mx]", "datastore[Totals]/dataset[totals]/column[mx]",
					"column 'mx' of 'Totals.totals': type MXFP8_E4M3 cannot be stored on Yellow"),
			},
		},
		{
			name: "DS-YELLOW-014 Geography needs postgis on every platform that stores it",
			mutate: func(m *modelv1.Model) {
				yellowOf(m, "Forensic").Postgis = true
				ds := storeOf(m, "Sales").GetDatasets()[0]
				ds.Columns = append(ds.Columns, column("where", "Geography"))
			},
			want: []yProblem{e("DS-YELLOW-014", "datastore[Sales]/dataset[customers]/column[where]", "datastore[Sales]/dataset[customers]/column[where]",
				"column 'where' of 'Sales.customers': type Geography cannot be stored on Yellow")},
		},
	})
}

func TestPlatformWorkspaces(t *testing.T) {
	yRun(t, []yCase{
		{
			name: "DS-YELLOW-009 workspace container (on each platform)",
			mutate: func(m *modelv1.Model) {
				workspaceOf(m, "Analytics").Container = postgres("ws", "analytics")
			},
			keys: []string{"workspace[Analytics]#container"},
			want: []yProblem{
				e("DS-YELLOW-009", "workspace[Analytics]", "workspace[Analytics]#container", "workspace 'Analytics' on 'Forensic' must use a platformManaged container"),
				e("DS-YELLOW-009", "workspace[Analytics]", "workspace[Analytics]#container", "workspace 'Analytics' on 'Live' must use a platformManaged container"),
			},
		},
		{
			name: "DS-YELLOW-009 a pulled-in transformer workspace too",
			mutate: func(m *modelv1.Model) {
				workspaceOf(m, "Summary").Container = &modelv1.DataContainer{Kind: &modelv1.DataContainer_Ref{Ref: "pg"}}
			},
			want: []yProblem{e("DS-YELLOW-009", "workspace[Summary]", "workspace[Summary]", "workspace 'Summary' on 'Live' must use a platformManaged container")},
		},
		{
			name: "DS-YELLOW-010 milestoning mismatch both ways",
			mutate: func(m *modelv1.Model) {
				m.Assignments = []*modelv1.DatasetGroupAssignment{
					assign("Analytics", "history", "Live"),
					assign("Analytics", "live", "Forensic"),
				}
			},
			want: []yProblem{
				e("DS-YELLOW-010", "assignment[Analytics.history]/platform[Live]", "assignment[Analytics.history]/platform[Live]",
					"'Analytics.history' requires FORENSIC but 'Live' is a LIVE_ONLY platform"),
				e("DS-YELLOW-010", "assignment[Analytics.live]/platform[Forensic]", "assignment[Analytics.live]/platform[Forensic]",
					"'Analytics.live' requires LIVE_ONLY but 'Forensic' is a FORENSIC platform"),
			},
		},
		{
			name: "DS-YELLOW-010 LIVE_WITH_FORENSIC_HISTORY needs a forensic platform",
			mutate: func(m *modelv1.Model) {
				workspaceOf(m, "Analytics").GetDatasetGroups()[1].PlatformRequirements = requires(modelv1.Milestoning_MILESTONING_LIVE_WITH_FORENSIC_HISTORY)
			},
			want: []yProblem{e("DS-YELLOW-010", "assignment[Analytics.live]/platform[Live]", "assignment[Analytics.live]/platform[Live]",
				"'Analytics.live' requires LIVE_WITH_FORENSIC_HISTORY but 'Live' is a LIVE_ONLY platform")},
		},
	})
}

func TestPlatformTransformers(t *testing.T) {
	tx := "workspace[Summary]/transformer"
	yRun(t, []yCase{
		{
			name: "DS-YELLOW-011 image code",
			mutate: func(m *modelv1.Model) {
				workspaceOf(m, "Summary").GetTransformer().Code = &modelv1.TransformerCode{Kind: &modelv1.TransformerCode_Image{Image: &modelv1.ImageTransformerCode{Image: "acme/tx:1"}}}
			},
			keys: []string{tx + "#code.image"},
			want: []yProblem{e("DS-YELLOW-011", tx, tx+"#code.image", "transformer 'summary_tx': Yellow runs sql code only")},
		},
		{
			name: "DS-YELLOW-012 external trigger",
			mutate: func(m *modelv1.Model) {
				workspaceOf(m, "Summary").GetTransformer().Trigger = &modelv1.Trigger{Kind: &modelv1.Trigger_External{External: &modelv1.External{}}}
			},
			keys: []string{tx + "#trigger"},
			want: []yProblem{e("DS-YELLOW-012", tx, tx+"#trigger", "transformer 'summary_tx': trigger must be cron or absent")},
		},
		{
			name: "a cron trigger is fine",
			mutate: func(m *modelv1.Model) {
				workspaceOf(m, "Summary").GetTransformer().Trigger = cron()
			},
		},
	})
}

func TestPlatformNameCollisions(t *testing.T) {
	otherWorkspace := func(name string) *modelv1.Workspace {
		return &modelv1.Workspace{Name: name, Zone: "Z", Team: "T", DatasetGroups: []*modelv1.DatasetGroup{
			{Name: "g", PlatformRequirements: requires(modelv1.Milestoning_MILESTONING_LIVE_ONLY), Sinks: []*modelv1.DatasetSink{sink("Sales", "orders")}},
		}}
	}
	yRun(t, []yCase{
		{
			name: "workspace schema and transformer output schema",
			mutate: func(m *modelv1.Model) {
				m.Workspaces = append(m.Workspaces, otherWorkspace("dt_Summary"))
				m.Assignments = append(m.Assignments, assign("dt_Summary", "g", "Live"))
			},
			want: []yProblem{e("DS-YELLOW-017", "workspace[Summary]/transformer", "workspace[Summary]/transformer",
				"schema name 'live_dt_summary' on 'Live' is produced by both the schema of workspace 'dt_Summary' and the output schema of transformer workspace 'Summary'")},
		},
		{
			name: "tables and views of two datasets whose names join alike (forensic: full views too)",
			mutate: func(m *modelv1.Model) {
				for _, s := range []struct{ store, ds string }{{"A", "b_c"}, {"A_b", "c"}} {
					st := proto.Clone(storeOf(m, "Sales")).(*modelv1.Datastore)
					st.Name = s.store
					st.Datasets = []*modelv1.Dataset{dataset(s.ds, column("id", "Integer"))}
					m.Datastores = append(m.Datastores, st)
					g := workspaceOf(m, "Analytics").GetDatasetGroups()[0] // history, on Forensic
					g.Sinks = append(g.Sinks, sink(s.store, s.ds))
				}
			},
			want: []yProblem{
				e("DS-YELLOW-017", "datastore[A_b]/dataset[c]", "datastore[A_b]/dataset[c]",
					"table name 'forensic_a_b_c_merge' on 'Forensic' is produced by both the merge table of 'A.b_c' and the merge table of 'A_b.c'"),
				e("DS-YELLOW-017", "datastore[A_b]/dataset[c]", "datastore[A_b]/dataset[c]",
					"table name 'forensic_a_b_c_staging' on 'Forensic' is produced by both the staging table of 'A.b_c' and the staging table of 'A_b.c'"),
				e("DS-YELLOW-017", "workspace[Analytics]/dsg[history]/sink[A_b.c]", "workspace[Analytics]/dsg[history]/sink[A_b.c]",
					"view name 'forensic_analytics_history_a_b_c_view_full' on 'Forensic' is produced by both the full-history view of 'Analytics.history' on 'A.b_c' and the full-history view of 'Analytics.history' on 'A_b.c'"),
				e("DS-YELLOW-017", "workspace[Analytics]/dsg[history]/sink[A_b.c]", "workspace[Analytics]/dsg[history]/sink[A_b.c]",
					"view name 'forensic_analytics_history_a_b_c_view_live' on 'Forensic' is produced by both the live view of 'Analytics.history' on 'A.b_c' and the live view of 'Analytics.history' on 'A_b.c'"),
			},
		},
		{
			// The staging names of Sales.d62658 and Sales.d249710 on Forensic have the same 32-bit
			// FNV-1a hash; the names differ, so nothing collides.
			name: "equal hashes of different names",
			mutate: func(m *modelv1.Model) {
				s := storeOf(m, "Sales")
				s.Datasets = append(s.Datasets, dataset("d249710", column("id", "Integer")), dataset("d62658", column("id", "Integer")))
			},
		},
		{
			name: "platform schema and another platform's workspace schema in one database",
			mutate: func(m *modelv1.Model) {
				addPlatform(m, yellow("Live_Analytics", liveOnly))
			},
			want: []yProblem{e("DS-YELLOW-017", "psp[Core]/platform[Live_Analytics]", "psp[Core]/platform[Live_Analytics]",
				"schema name 'live_analytics' on 'Live_Analytics' is produced by both the schema of workspace 'Analytics' of platform 'Live' and the platform schema of 'Live_Analytics'")},
		},
		{
			name: "another database on the same cluster: schemas do not collide",
			mutate: func(m *modelv1.Model) {
				p := yellow("Live_Analytics", liveOnly)
				p.GetYellow().MergeDatabase = postgres("DB", "other")
				addPlatform(m, p)
			},
		},
		{
			name: "role names across databases of one cluster",
			mutate: func(m *modelv1.Model) {
				m.Workspaces = append(m.Workspaces, otherWorkspace("owner"))
				m.Assignments = append(m.Assignments, assign("owner", "g", "Live"))
				p := yellow("Live_ws", liveOnly)
				p.GetYellow().MergeDatabase = postgres("db", "ws_db")
				addPlatform(m, p)
			},
			want: []yProblem{e("DS-YELLOW-017", "psp[Core]/platform[Live_ws]", "psp[Core]/platform[Live_ws]",
				"role name 'live_ws_owner' on 'Live_ws' is produced by both the group role of workspace 'owner' of platform 'Live' and the owner role of 'Live_ws'")},
		},
		{
			name: "roles on another cluster do not collide",
			mutate: func(m *modelv1.Model) {
				m.Workspaces = append(m.Workspaces, otherWorkspace("owner"))
				m.Assignments = append(m.Assignments, assign("owner", "g", "Live"))
				p := yellow("Live_ws", liveOnly)
				p.GetYellow().MergeDatabase = &modelv1.DataContainer{Kind: &modelv1.DataContainer_Postgres{Postgres: &modelv1.HostDatabase{Host: "db", Port: 5433, Database: "merge"}}}
				addPlatform(m, p)
			},
		},
		{
			name: "reader role of a primary platform",
			mutate: func(m *modelv1.Model) {
				addPlatform(m, yellow("Forensic_ws_Analytics", forensic))
				m.PrimaryIngestions = []*modelv1.PrimaryIngestion{{Datastore: "Sales", Platforms: []string{"Forensic_ws_Analytics"}}}
				m.Workspaces = append(m.Workspaces, &modelv1.Workspace{Name: "Analytics_reader", Zone: "Z", Team: "T", DatasetGroups: []*modelv1.DatasetGroup{
					{Name: "g", PlatformRequirements: requires(modelv1.Milestoning_MILESTONING_FORENSIC), Sinks: []*modelv1.DatasetSink{sink("Sales", "orders")}},
				}})
				m.Assignments = append(m.Assignments, assign("Analytics_reader", "g", "Forensic"))
			},
			want: []yProblem{e("DS-YELLOW-017", "psp[Core]/platform[Forensic_ws_Analytics]", "psp[Core]/platform[Forensic_ws_Analytics]",
				"role name 'forensic_ws_analytics_reader' on 'Forensic_ws_Analytics' is produced by both the group role of workspace 'Analytics_reader' of platform 'Forensic' and the reader role of 'Forensic_ws_Analytics'")},
		},
	})
}

func TestPlatformRuleList(t *testing.T) {
	var got []string
	for _, r := range Rules().Rules() {
		if r.Severity != problem.Error {
			t.Errorf("%s is %v, want ERROR", r.ID, r.Severity)
		}
		got = append(got, r.ID+" "+r.Name)
	}
	want := []string{
		"DS-YELLOW-001 platform-name", "DS-YELLOW-002 merge-database-kind", "DS-YELLOW-003 staging-keep-invalid",
		"DS-YELLOW-004 capture-unsupported", "DS-YELLOW-005 source-not-postgres", "DS-YELLOW-006 trigger-required",
		"DS-YELLOW-007 credential-required", "DS-YELLOW-008 kafka-single-dataset", "DS-YELLOW-009 workspace-container",
		"DS-YELLOW-010 milestoning-mismatch", "DS-YELLOW-011 transformer-code", "DS-YELLOW-012 transformer-trigger",
		"DS-YELLOW-013 column-name-too-long", "DS-YELLOW-014 type-unsupported", "DS-YELLOW-015 primary-not-forensic",
		"DS-YELLOW-016 primary-missing", "DS-YELLOW-017 physical-name-collision", "DS-YELLOW-018 credential-type",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("rules (-want +got):\n%s", d)
	}
}

// TestPlatformNameHashCollision keeps the "equal hashes of different names" case meaningful.
func TestPlatformNameHashCollision(t *testing.T) {
	a, b := []byte("forensic_sales_d62658_staging"), []byte("forensic_sales_d249710_staging")
	if fnv32(a) != fnv32(b) {
		t.Fatalf("fnv32(%s) != fnv32(%s)", a, b)
	}
}
