package lint

import (
	"cmp"
	"slices"
	"strings"
	"testing"

	"github.com/datasurface/datasurface/model/index"
	"github.com/datasurface/datasurface/model/problem"
	"github.com/datasurface/datasurface/model/srcmap"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	gocmp "github.com/google/go-cmp/cmp"
)

// Test helpers of the object rules (datastores, workspaces, assignments). Every helper starts
// with "ob" so it cannot clash with other helpers of package lint.

// obProblem is the comparable view of a problem: Pos is the source-map key the position was
// found under (obSrc records every key with File = the key itself), so a case asserts both the
// cited node and the fallback to the object when a field has no node.
type obProblem struct {
	ID   string
	Sev  string
	Msg  string
	Path string
	Pos  string
}

type obCase struct {
	name   string
	mutate func(m *modelv1.Model)
	keys   []string // field nodes recorded in the source map besides every object's own node
	want   []obProblem
}

// obRun lints the base model (obModel) changed by each case with the object checks only and
// compares every problem they report.
func obRun(t *testing.T, cases []obCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := obModel()
			if tc.mutate != nil {
				tc.mutate(m)
			}
			got := obLint(m, tc.keys...)
			// Problems() orders by position, rule and message; compare in that order so a case
			// lists its problems in whatever order reads best.
			want := slices.Clone(tc.want)
			slices.SortStableFunc(want, obCompare)
			if diff := gocmp.Diff(want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func obCompare(a, b obProblem) int {
	return cmp.Or(strings.Compare(a.Pos, b.Pos), strings.Compare(a.ID, b.ID), strings.Compare(a.Msg, b.Msg))
}

// obLint runs checkDatastores, checkWorkspaces and checkAssignments on m.
func obLint(m *modelv1.Model, keys ...string) []obProblem {
	c := NewContext(m, obSrc(m, keys...))
	checkDatastores(c)
	checkWorkspaces(c)
	checkAssignments(c)
	var out []obProblem
	for _, p := range c.Problems() {
		out = append(out, obProblem{ID: p.Rule.ID, Sev: p.Severity.String(), Msg: p.Message, Path: p.Path, Pos: p.Pos.File})
	}
	return out
}

// obSrc records the node of every object of m, and the given field keys, each at a position
// whose file name is the key.
func obSrc(m *modelv1.Model, keys ...string) *srcmap.Map {
	src := srcmap.New(problem.Head)
	put := func(k string) { src.Set(k, k, 1, 1) }
	for _, k := range keys {
		put(k)
	}
	for _, t := range m.GetTeams() {
		put(index.TeamPath(t.GetZone(), t.GetName()))
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
	for _, p := range m.GetPsps() {
		put(index.PSPPath(p.GetName()))
		for _, d := range p.GetPlatforms() {
			put(index.PlatformPath(p.GetName(), d.GetName()))
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
	return src
}

// obE, obW and obI build expected problems.
func obE(r problem.Rule, path, pos, msg string) obProblem {
	return obProblem{ID: r.ID, Sev: "ERROR", Msg: msg, Path: path, Pos: pos}
}

func obW(r problem.Rule, path, pos, msg string) obProblem {
	return obProblem{ID: r.ID, Sev: "WARNING", Msg: msg, Path: path, Pos: pos}
}

func obI(r problem.Rule, path, pos, msg string) obProblem {
	return obProblem{ID: r.ID, Sev: "INFO", Msg: msg, Path: path, Pos: pos}
}

// obModel is the base model, clean for the object rules: zone Z with team T; datastore S
// (sqlSnapshot from postgres, dataset D with columns id Integer NOT NULL [IP] and name
// VarChar(100) [PUB], primary key id); workspace W with dataset group G (LIVE_ONLY) sinking
// S.D; PSP P (env store) with Yellow platform Y; W.G assigned to Y.
func obModel() *modelv1.Model {
	return &modelv1.Model{
		Ecosystem: &modelv1.Ecosystem{Name: "Eco", Zones: []*modelv1.ZoneDeclaration{{Name: "Z"}}},
		Zones:     []*modelv1.GovernanceZone{{Name: "Z", Teams: []*modelv1.TeamDeclaration{{Name: "T"}, {Name: "U"}}}},
		Datastores: []*modelv1.Datastore{
			obStore("S", obDataset("D",
				obCol("id", obT("Integer"), false, modelv1.ClassificationType_CLASSIFICATION_TYPE_IP),
				obCol("name", obVarChar(100), true, modelv1.ClassificationType_CLASSIFICATION_TYPE_PUB),
			)),
		},
		Workspaces: []*modelv1.Workspace{obWorkspace("W", obDSG("G", obSink("S", "D")))},
		Psps: []*modelv1.PlatformServicesProvider{{
			Name:            "P",
			Locations:       []string{"V:L"},
			CredentialStore: &modelv1.CredentialStore{Kind: &modelv1.CredentialStore_Env{Env: &modelv1.EnvCredentialStore{}}},
			Platforms: []*modelv1.DataPlatform{{
				Name: "Y",
				Kind: &modelv1.DataPlatform_Yellow{Yellow: &modelv1.YellowPlatform{
					Milestoning:     modelv1.PlatformMilestoning_PLATFORM_MILESTONING_LIVE_ONLY,
					MergeDatabase:   obPG("merge.db", 5432),
					MergeCredential: obCred("Y_MERGE", modelv1.CredentialType_CREDENTIAL_TYPE_USER_PASSWORD),
				}},
			}},
		}},
		Assignments: []*modelv1.DatasetGroupAssignment{{
			Workspace: "W", DatasetGroup: "G",
			Platforms: []*modelv1.PlatformAssignment{{Platform: "Y", Status: modelv1.AssignmentStatus_ASSIGNMENT_STATUS_PROVISIONED}},
		}},
	}
}

// obStore returns a clean NOT_PRODUCTION datastore of team Z/T captured by sqlSnapshot.
func obStore(name string, datasets ...*modelv1.Dataset) *modelv1.Datastore {
	return &modelv1.Datastore{
		Name: name, Zone: "Z", Team: "T",
		ProductionStatus: modelv1.ProductionStatus_PRODUCTION_STATUS_NOT_PRODUCTION,
		Capture: &modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_SqlSnapshot{SqlSnapshot: &modelv1.SqlSnapshotCapture{
			Container:   obPG("src.db", 5432),
			Credential:  obCred("SRC", modelv1.CredentialType_CREDENTIAL_TYPE_USER_PASSWORD),
			Consistency: modelv1.Consistency_CONSISTENCY_MULTI_DATASET,
			Trigger:     obCron("*/10 * * * *"),
		}}},
		Datasets: datasets,
	}
}

// obDataset returns a dataset keyed by its first column.
func obDataset(name string, cols ...*modelv1.Column) *modelv1.Dataset {
	d := &modelv1.Dataset{Name: name, Columns: cols}
	if len(cols) > 0 {
		d.PrimaryKey = []string{cols[0].GetName()}
	}
	return d
}

func obCol(name string, t *modelv1.DataType, nullable bool, cls ...modelv1.ClassificationType) *modelv1.Column {
	return &modelv1.Column{Name: name, Type: t, Nullable: nullable, Classifications: obCls(cls...)}
}

func obCls(ts ...modelv1.ClassificationType) []*modelv1.Classification {
	var out []*modelv1.Classification
	for _, t := range ts {
		out = append(out, &modelv1.Classification{Type: t})
	}
	return out
}

func obT(name string) *modelv1.DataType { return &modelv1.DataType{Name: name} }

func obVarChar(n int64) *modelv1.DataType { return &modelv1.DataType{Name: "VarChar", MaxSize: &n} }

func obPG(host string, port int32) *modelv1.DataContainer {
	return &modelv1.DataContainer{Kind: &modelv1.DataContainer_Postgres{Postgres: &modelv1.HostDatabase{
		Host: host, Port: port, Database: "db", Locations: []string{"V:L"},
	}}}
}

func obKafka(servers ...string) *modelv1.DataContainer {
	return &modelv1.DataContainer{Kind: &modelv1.DataContainer_Kafka{Kafka: &modelv1.KafkaCluster{
		BootstrapServers: servers, Locations: []string{"V:L"},
	}}}
}

func obRef(name string) *modelv1.DataContainer {
	return &modelv1.DataContainer{Kind: &modelv1.DataContainer_Ref{Ref: name}}
}

func obCred(name string, t modelv1.CredentialType) *modelv1.Credential {
	return &modelv1.Credential{Name: name, Type: t}
}

func obCron(expr string) *modelv1.Trigger {
	return &modelv1.Trigger{Kind: &modelv1.Trigger_Cron{Cron: expr}}
}

// obWorkspace returns a NOT_PRODUCTION workspace of team Z/T approving [PUB, IP].
func obWorkspace(name string, dsgs ...*modelv1.DatasetGroup) *modelv1.Workspace {
	return &modelv1.Workspace{
		Name: name, Zone: "Z", Team: "T",
		ProductionStatus: modelv1.ProductionStatus_PRODUCTION_STATUS_NOT_PRODUCTION,
		Access: &modelv1.Access{ApprovedClassifications: []modelv1.ClassificationType{
			modelv1.ClassificationType_CLASSIFICATION_TYPE_PUB, modelv1.ClassificationType_CLASSIFICATION_TYPE_IP,
		}},
		DatasetGroups: dsgs,
	}
}

// obDSG returns a LIVE_ONLY dataset group.
func obDSG(name string, sinks ...*modelv1.DatasetSink) *modelv1.DatasetGroup {
	return &modelv1.DatasetGroup{
		Name:                 name,
		PlatformRequirements: &modelv1.PlatformRequirements{Milestoning: modelv1.Milestoning_MILESTONING_LIVE_ONLY},
		Sinks:                sinks,
	}
}

func obSink(s, d string) *modelv1.DatasetSink {
	return &modelv1.DatasetSink{Datastore: s, Dataset: d, DeprecationsAllowed: modelv1.DeprecationsAllowed_DEPRECATIONS_ALLOWED_NEVER}
}

// obTransformer makes workspace name of team Z/T a transformer workspace writing store out
// (added with transformerOutput capture and the given datasets) with SQL queries.
func obTransformer(m *modelv1.Model, name, out string, queries map[string]string, datasets ...*modelv1.Dataset) *modelv1.Workspace {
	ws := obWorkspace(name, &modelv1.DatasetGroup{Name: "in", Sinks: []*modelv1.DatasetSink{obSink("S", "D")}})
	ws.Transformer = &modelv1.DataTransformer{
		Name: name + "_tx", OutputDatastore: out,
		Code: &modelv1.TransformerCode{Kind: &modelv1.TransformerCode_Sql{Sql: &modelv1.SqlTransformerCode{Queries: queries}}},
	}
	m.Workspaces = append(m.Workspaces, ws)
	if len(datasets) > 0 {
		st := obStore(out, datasets...)
		st.Capture = &modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_TransformerOutput{
			TransformerOutput: &modelv1.TransformerOutputCapture{Workspace: name},
		}}
		m.Datastores = append(m.Datastores, st)
	}
	return ws
}

func obFindStore(m *modelv1.Model, name string) *modelv1.Datastore {
	for _, s := range m.GetDatastores() {
		if s.GetName() == name {
			return s
		}
	}
	panic("no datastore " + name)
}

func obFindWS(m *modelv1.Model, name string) *modelv1.Workspace {
	for _, w := range m.GetWorkspaces() {
		if w.GetName() == name {
			return w
		}
	}
	panic("no workspace " + name)
}

func obYellow(m *modelv1.Model) *modelv1.YellowPlatform {
	return m.GetPsps()[0].GetPlatforms()[0].GetYellow()
}

// obSnapshot returns the sqlSnapshot capture of store.
func obSnapshot(s *modelv1.Datastore) *modelv1.SqlSnapshotCapture {
	return s.GetCapture().GetSqlSnapshot()
}

func TestObjectRulesBaseModelIsClean(t *testing.T) {
	obRun(t, []obCase{{name: "base model"}})
}
