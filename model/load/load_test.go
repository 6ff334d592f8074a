package load

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/datasurface/datasurface/model/problem"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

const ecoDoc = `apiVersion: datasurface/v1
kind: Ecosystem
metadata: {name: Acme}
spec:
  owningRepo: acme/m@eco
  liveRepo: acme/m@main
`

// loadFiles loads the given files (path → content) as a snapshot.
func loadFiles(t *testing.T, files map[string]string, opts Options) *Result {
	t.Helper()
	var fs []File
	for p, c := range files {
		fs = append(fs, File{Path: p, Content: []byte(c)})
	}
	r, err := Files(fs, opts)
	if err != nil {
		t.Fatal(err)
	}
	if r.Model == nil {
		t.Fatal("nil model")
	}
	return r
}

// got is a problem reduced to what the tests compare.
type got struct {
	Rule, Pos, Path, Message string
}

func reduce(ps []problem.Problem) []got {
	var out []got
	for _, p := range ps {
		pos := ""
		if !p.Pos.IsZero() {
			pos = p.Pos.String()
		}
		out = append(out, got{p.Rule.ID, pos, p.Path, p.Message})
	}
	return out
}

func TestSpecExample(t *testing.T) {
	r, err := Dir("testdata/spec-example", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]got(nil), reduce(r.Problems)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	wantFiles := []string{
		"ecosystem.yaml",
		"europe/analytics/customer-totals.yaml",
		"europe/analytics/sales-analytics.yaml",
		"europe/sales/salesdb.yaml",
		"europe/zone.yaml",
		"platforms/assignments.yaml",
		"platforms/core.yaml",
	}
	if diff := cmp.Diff(wantFiles, r.Files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	m := r.Model
	names := func(n int, f func(i int) string) []string {
		var s []string
		for i := range n {
			s = append(s, f(i))
		}
		return s
	}
	if diff := cmp.Diff([]string{"SalesDB", "SalesSummary"}, names(len(m.Datastores), func(i int) string { return m.Datastores[i].GetName() })); diff != "" {
		t.Errorf("datastores (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"CustomerTotals", "SalesAnalytics"}, names(len(m.Workspaces), func(i int) string { return m.Workspaces[i].GetName() })); diff != "" {
		t.Errorf("workspaces (-want +got):\n%s", diff)
	}
	// Zone teams are sorted by name: Analytics before Sales.
	if diff := cmp.Diff([]string{"Analytics", "Sales"}, names(len(m.Zones[0].Teams), func(i int) string { return m.Zones[0].Teams[i].GetName() })); diff != "" {
		t.Errorf("zone teams (-want +got):\n%s", diff)
	}
	// Authored order of datasets and columns is kept.
	sales := m.Datastores[0]
	if diff := cmp.Diff([]string{"customers", "orders"}, names(len(sales.Datasets), func(i int) string { return sales.Datasets[i].GetName() })); diff != "" {
		t.Errorf("datasets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"id", "name", "email", "country"}, names(len(sales.Datasets[0].Columns), func(i int) string { return sales.Datasets[0].Columns[i].GetName() })); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	// The whole example in one file is the same model, with another digest.
	single := loadFiles(t, map[string]string{"model.yaml": concatDir(t, "testdata/spec-example")}, Options{})
	if len(single.Problems) > 0 {
		t.Errorf("single-file example: %v", reduce(single.Problems))
	}
	if diff := cmp.Diff(r.Model, single.Model, protocmp.Transform()); diff != "" {
		t.Errorf("split and single-file models differ (-split +single):\n%s", diff)
	}
	if r.Digest == single.Digest {
		t.Error("split and single-file snapshots have the same digest")
	}
}

// concatDir joins the documents of every file under dir into one stream.
func concatDir(t *testing.T, dir string) string {
	t.Helper()
	var docs []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		docs = append(docs, string(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(docs, "---\n")
}

func TestRules(t *testing.T) {
	const team = "apiVersion: datasurface/v1\nkind: Team\nmetadata: {name: T, zone: Z}\n"
	tests := []struct {
		name  string
		files map[string]string
		want  []got
	}{
		{
			name:  "DS-LOAD-001 syntax error; the next document still loads",
			files: map[string]string{"t.yaml": team + "spec:\n  documentation: [x\n---\n" + team + "spec: {}\n"},
			want:  []got{{"DS-LOAD-001", "t.yaml:5:1", "", "YAML syntax error: did not find expected ',' or ']'"}},
		},
		{
			name:  "DS-LOAD-001 tab indentation",
			files: map[string]string{"t.yaml": team + "spec:\n\tdocumentation: x\n"},
			want:  []got{{"DS-LOAD-001", "t.yaml:5:1", "", "YAML syntax error: found character that cannot start any token"}},
		},
		{
			name:  "DS-LOAD-002 duplicate key in spec",
			files: map[string]string{"t.yaml": team + "spec:\n  documentation: a\n  documentation: b\n"},
			want:  []got{{"DS-LOAD-002", "t.yaml:6:3", "zone[Z]/team[T]", "duplicate key 'documentation'"}},
		},
		{
			name:  "DS-LOAD-002 duplicate key in metadata",
			files: map[string]string{"t.yaml": "apiVersion: datasurface/v1\nkind: Team\nmetadata: {name: T, zone: Z, name: U}\nspec: {}\n"},
			want:  []got{{"DS-LOAD-002", "t.yaml:3:30", "zone[Z]/team[T]", "duplicate key 'name'"}},
		},
		{
			name:  "DS-LOAD-002 duplicate key in a map",
			files: map[string]string{"t.yaml": team + "spec:\n  documentation: {description: d, tags: {a: x, b: y, a: z}}\n"},
			want:  []got{{"DS-LOAD-002", "t.yaml:5:54", "zone[Z]/team[T]", "duplicate key 'a'"}},
		},
		{
			name:  "DS-LOAD-002 duplicate envelope key",
			files: map[string]string{"t.yaml": team + "spec: {}\nkind: Team\n"},
			want:  []got{{"DS-LOAD-002", "t.yaml:5:1", "zone[Z]/team[T]", "duplicate key 'kind'"}},
		},
		{
			name: "DS-LOAD-003 anchors, tags, merge keys and aliases",
			files: map[string]string{"t.yaml": "apiVersion: datasurface/v1\nkind: Team\nmetadata: &m {name: T, zone: Z}\n" +
				"spec:\n  documentation: !!str x\n  <<: {a: b}\n  containers: [*m]\n"},
			want: []got{
				{"DS-LOAD-003", "t.yaml:3:11", "", "YAML anchors are not allowed in model files"},
				{"DS-LOAD-003", "t.yaml:5:18", "", "YAML tags are not allowed in model files"},
				{"DS-LOAD-003", "t.yaml:6:3", "", "YAML merge keys are not allowed in model files"},
				{"DS-LOAD-003", "t.yaml:7:16", "", "YAML aliases are not allowed in model files"},
			},
		},
		{
			name:  "DS-LOAD-003 a merge key alone (no anchor: the fast parser reads the file)",
			files: map[string]string{"t.yaml": team + "spec:\n  <<: {a: b}\n"},
			want:  []got{{"DS-LOAD-003", "t.yaml:5:3", "", "YAML merge keys are not allowed in model files"}},
		},
		{
			name:  "DS-LOAD-004 api version",
			files: map[string]string{"t.yaml": "apiVersion: datasurface/v2\nkind: Team\nmetadata: {name: T, zone: Z}\nspec: {}\n"},
			want:  []got{{"DS-LOAD-004", "t.yaml:1:13", "zone[Z]/team[T]", "apiVersion 'datasurface/v2' is not supported; use 'datasurface/v1'"}},
		},
		{
			name:  "DS-LOAD-005 unknown kind",
			files: map[string]string{"t.yaml": "apiVersion: datasurface/v1\nkind: Tame\nmetadata: {name: T}\nspec: {}\n"},
			want:  []got{{"DS-LOAD-005", "t.yaml:2:7", "", "unknown kind 'Tame'"}},
		},
		{
			name: "DS-LOAD-006 unknown fields, with and without a suggestion",
			files: map[string]string{"t.yaml": team + "spec:\n  documentaton: x\n  frobnicate: 1\n",
				"u.yaml": "apiVersion: datasurface/v1\nkind: Team\nmetadata: {name: U, zone: Z, labels: x}\nspec: {}\nstatus: {}\n"},
			want: []got{
				{"DS-LOAD-006", "t.yaml:5:3", "zone[Z]/team[T]", "unknown field 'documentaton' in Team; did you mean 'documentation'?"},
				{"DS-LOAD-006", "t.yaml:6:3", "zone[Z]/team[T]", "unknown field 'frobnicate' in Team"},
				{"DS-LOAD-006", "u.yaml:3:30", "zone[Z]/team[U]", "unknown field 'labels' in Team metadata"},
				{"DS-LOAD-006", "u.yaml:5:1", "zone[Z]/team[U]", "unknown field 'status' in Team document"},
			},
		},
		{
			name: "DS-LOAD-007 wrong types",
			files: map[string]string{"t.yaml": team + "spec:\n  containers:\n" +
				"    - postgres: {name: a, host: h, database: d, port: \"5432\"}\n" +
				"    - postgres: {name: b, host: h, database: d, port: 99999999999, locations: {x: y}}\n" +
				"    - postgres: {name: c, host: 1, database: d, readOnly: yes}\n"},
			want: []got{
				{"DS-LOAD-007", "t.yaml:6:55", "zone[Z]/team[T]", "'port' must be an integer, found a string"},
				{"DS-LOAD-007", "t.yaml:7:55", "zone[Z]/team[T]", "'port' must be a 32-bit integer, found '99999999999'"},
				{"DS-LOAD-007", "t.yaml:7:79", "zone[Z]/team[T]", "'locations' must be a list, found a mapping"},
				{"DS-LOAD-007", "t.yaml:8:33", "zone[Z]/team[T]", "'host' must be a string, found an integer"},
				{"DS-LOAD-007", "t.yaml:8:59", "zone[Z]/team[T]", "'readOnly' must be a boolean (true or false), found a string"},
			},
		},
		{
			name: "DS-LOAD-007 document, metadata and spec shapes",
			files: map[string]string{
				"a.yaml": "- not a mapping\n",
				"b.yaml": "apiVersion: datasurface/v1\nkind: Team\nmetadata: [T]\nspec: x\n",
			},
			want: []got{
				{"DS-LOAD-007", "a.yaml:1:1", "", "'document' must be a mapping, found a list"},
				{"DS-LOAD-007", "b.yaml:3:11", "", "'metadata' must be a mapping, found a list"},
				{"DS-LOAD-007", "b.yaml:4:7", "zone[]/team[]", "'spec' must be a mapping, found a string"},
			},
		},
		{
			name: "DS-LOAD-008 required fields and minimum lengths",
			files: map[string]string{"t.yaml": "apiVersion: datasurface/v1\nkind: Datastore\nmetadata: {name: S, team: T}\n" +
				"spec:\n  capture: {transformerOutput: {}}\n  datasets: []\n",
				"u.yaml": "kind: Team\nspec: {}\n"},
			want: []got{
				{"DS-LOAD-008", "t.yaml:3:11", "datastore[S]", "'zone' is required"},
				{"DS-LOAD-008", "t.yaml:5:32", "datastore[S]", "'workspace' is required"},
				{"DS-LOAD-008", "t.yaml:6:13", "datastore[S]", "'datasets' needs at least 1 element"},
				{"DS-LOAD-008", "u.yaml:1:1", "", "'apiVersion' is required"},
				{"DS-LOAD-008", "u.yaml:1:1", "", "'metadata' is required"},
			},
		},
		{
			name:  "DS-LOAD-009 unknown enum value",
			files: map[string]string{"t.yaml": team + "spec:\n  containers:\n    - kafka: {name: k, bootstrapServers: [b:9092], encryption: {serverSide: [{name: e, thirdPartySuperUser: true}]}, locations: [\"A:B\"]}\n", "w.yaml": "apiVersion: datasurface/v1\nkind: Workspace\nmetadata: {name: W, zone: Z, team: T}\nspec:\n  priority: URGENT\n  datasetGroups: [{name: g, sinks: [{datastore: S, dataset: D}]}]\n"},
			want:  []got{{"DS-LOAD-009", "w.yaml:5:13", "workspace[W]", "'URGENT' is not a valid Priority; expected one of UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL"}},
		},
		{
			name: "DS-LOAD-010 one-ofs with no or two members",
			files: map[string]string{"t.yaml": team + "spec:\n  containers:\n    - {}\n" +
				"    - {ref: a, platformManaged: {}}\n"},
			want: []got{
				{"DS-LOAD-010", "t.yaml:6:7", "zone[Z]/team[T]", "'containers' must have exactly one of postgres, mysql, oracle, sqlServer, db2, snowflake, kafka, objectStorage, platformManaged, ref"},
				{"DS-LOAD-010", "t.yaml:7:33", "zone[Z]/team[T]", "'containers' must have exactly one of postgres, mysql, oracle, sqlServer, db2, snowflake, kafka, objectStorage, platformManaged, ref"},
			},
		},
		{
			name:  "DS-LOAD-011 no ecosystem",
			files: map[string]string{"t.yaml": team + "spec: {}\n"},
			want:  []got{{"DS-LOAD-011", "", "", "the model must contain exactly one Ecosystem document, found 0"}},
		},
		{
			name:  "DS-LOAD-011 two ecosystems cite the second",
			files: map[string]string{"z.yaml": ecoDoc},
			want:  []got{{"DS-LOAD-011", "z.yaml:1:1", "", "the model must contain exactly one Ecosystem document, found 2"}},
		},
		{
			name: "DS-LOAD-012 type syntax; DS-LOAD-007 numbers out of range",
			files: map[string]string{"t.yaml": "apiVersion: datasurface/v1\nkind: Datastore\nmetadata: {name: S, zone: Z, team: T}\n" +
				"spec:\n  capture: {transformerOutput: {workspace: W}}\n  datasets:\n    - name: d\n      columns:\n" +
				"        - {name: a, type: \"VarChar(\"}\n" +
				"        - {name: b, type: Varchar(10)}\n" +
				"        - {name: c, type: \"Decimal(99999999999,2)\"}\n" +
				"        - {name: d, type: {type: Decimal, precison: 3}}\n" +
				"        - {name: e, type: {type: Array}}\n" +
				"        - {name: f, type: {type: CustomFloat, nonFinite: SOMETIMES}}\n" +
				"        - {name: g, type: {type: \"VarChar(3)\"}}\n" +
				"        - {name: h, type: {type: Struct, fields: [{name: x, type: Integer, nulable: false}]}}\n"},
			want: []got{
				{"DS-LOAD-012", "t.yaml:9:27", "datastore[S]/dataset[d]/column[a]", "'VarChar(' is not a valid type; expected Name, Name(n) or Name(n,m)"},
				{"DS-LOAD-012", "t.yaml:10:27", "datastore[S]/dataset[d]/column[b]", "'Varchar(10)' is not a valid type; expected Name, Name(n) or Name(n,m)"},
				{"DS-LOAD-007", "t.yaml:11:27", "datastore[S]/dataset[d]/column[c]", "'type' must be a type whose numbers fit their parameters, found 'Decimal(99999999999,2)'"},
				{"DS-LOAD-008", "t.yaml:12:27", "datastore[S]/dataset[d]/column[d]", "'precision' is required"},
				{"DS-LOAD-006", "t.yaml:12:43", "datastore[S]/dataset[d]/column[d]", "unknown field 'precison' in Decimal type; did you mean 'precision'?"},
				{"DS-LOAD-008", "t.yaml:13:27", "datastore[S]/dataset[d]/column[e]", "'elementType' is required"},
				{"DS-LOAD-009", "t.yaml:14:58", "datastore[S]/dataset[d]/column[f]", "'SOMETIMES' is not a valid FloatNonFinite; expected one of IEEE754, NAN_ONLY, FINITE_ONLY"},
				{"DS-LOAD-012", "t.yaml:15:34", "datastore[S]/dataset[d]/column[g]", "'VarChar(3)' is not a valid type; expected Name, Name(n) or Name(n,m)"},
				{"DS-LOAD-006", "t.yaml:16:76", "datastore[S]/dataset[d]/column[h]", "unknown field 'nulable' in struct field; did you mean 'nullable'?"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"eco.yaml": ecoDoc}
			for p, c := range tt.files {
				files[p] = c
			}
			if tt.name == "DS-LOAD-011 no ecosystem" {
				delete(files, "eco.yaml")
			}
			r := loadFiles(t, files, Options{})
			if diff := cmp.Diff(tt.want, reduce(r.Problems)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFailedDocumentsAreSkipped checks that a document with a problem is left out of the model
// and out of the source map, while the other documents of its file load.
func TestFailedDocumentsAreSkipped(t *testing.T) {
	const team = "apiVersion: datasurface/v1\nkind: Team\nmetadata: {name: %s, zone: Z}\nspec: %s\n"
	r := loadFiles(t, map[string]string{
		"eco.yaml": ecoDoc,
		"t.yaml": fmt.Sprintf(team, "A", "{documentation: a}") + "---\n" + fmt.Sprintf(team, "B", "{bogus: 1}") +
			"---\n" + fmt.Sprintf(team, "C", "[") + "---\n" + fmt.Sprintf(team, "D", "{}"),
	}, Options{})
	var teams []string
	for _, tm := range r.Model.Teams {
		teams = append(teams, tm.GetName())
	}
	if diff := cmp.Diff([]string{"A", "D"}, teams); diff != "" {
		t.Errorf("teams (-want +got):\n%s", diff)
	}
	if _, ok := r.Source.Exact("zone[Z]/team[B]"); ok {
		t.Error("the failed document B is in the source map")
	}
	if p, ok := r.Source.Exact("zone[Z]/team[D]"); !ok || p.String() != "t.yaml:18:18" {
		t.Errorf("zone[Z]/team[D] at %v, %v; want t.yaml:18:18", p, ok)
	}
	wantRules := []string{"DS-LOAD-006", "DS-LOAD-001"}
	var rules []string
	for _, p := range r.Problems {
		rules = append(rules, p.Rule.ID)
	}
	if diff := cmp.Diff(wantRules, rules); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
}

func TestRulesCatalogue(t *testing.T) {
	want := []string{
		"DS-LOAD-001 yaml-syntax", "DS-LOAD-002 duplicate-key", "DS-LOAD-003 yaml-feature-forbidden",
		"DS-LOAD-004 api-version-unknown", "DS-LOAD-005 kind-unknown", "DS-LOAD-006 field-unknown",
		"DS-LOAD-007 field-type", "DS-LOAD-008 field-required", "DS-LOAD-009 enum-value-unknown",
		"DS-LOAD-010 one-of-invalid", "DS-LOAD-011 ecosystem-count", "DS-LOAD-012 type-syntax",
	}
	var gotRules []string
	for _, r := range Rules {
		if r.Severity != problem.Error {
			t.Errorf("%s has severity %v", r.ID, r.Severity)
		}
		gotRules = append(gotRules, r.ID+" "+r.Name)
	}
	if diff := cmp.Diff(want, gotRules); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
}

func TestDefaults(t *testing.T) {
	files := map[string]string{
		"eco.yaml": ecoDoc,
		"psp.yaml": `apiVersion: datasurface/v1
kind: PlatformServicesProvider
metadata: {name: P}
spec:
  locations: ["A:B"]
  credentialStore: {env: {}}
  platforms:
    - name: Y
      yellow:
        milestoning: FORENSIC
        mergeDatabase: {postgres: {host: h, database: d}}
        mergeCredential: {name: M, type: USER_PASSWORD}
`,
		"zone.yaml": `apiVersion: datasurface/v1
kind: GovernanceZone
metadata: {name: Z}
spec:
  storagePolicies: [{name: S}]
`,
		"team.yaml": `apiVersion: datasurface/v1
kind: Team
metadata: {name: T, zone: Z}
spec:
  containers:
    - mysql: {name: a, host: h, database: d}
    - oracle: {name: b, host: h, database: d}
    - sqlServer: {name: c, host: h, database: d}
    - db2: {name: d, host: h, database: d}
    - postgres: {name: e, host: h, database: d, port: 0}
`,
		"ws.yaml": `apiVersion: datasurface/v1
kind: Workspace
metadata: {name: W, zone: Z, team: T}
spec:
  datasetGroups:
    - name: g
      platformRequirements: {milestoning: LIVE_ONLY}
      sinks: [{datastore: S, dataset: D}]
`,
		"ds.yaml": `apiVersion: datasurface/v1
kind: Datastore
metadata: {name: S, zone: Z, team: T}
spec:
  capture: {transformerOutput: {workspace: W}}
  datasets:
    - name: D
      columns: [{name: c, type: Integer}]
`,
		"pa.yaml": `apiVersion: datasurface/v1
kind: PlatformAssignments
metadata: {name: a}
spec:
  datasetGroups: [{workspace: W, datasetGroup: g, platforms: [{platform: Y}]}]
`,
	}
	r := loadFiles(t, files, Options{})
	if len(r.Problems) > 0 {
		t.Fatalf("problems: %v", reduce(r.Problems))
	}
	host := func(name string, port int32) *modelv1.HostDatabase {
		return &modelv1.HostDatabase{Name: name, Host: "h", Database: "d", Port: port}
	}
	want := &modelv1.Model{
		Ecosystem: &modelv1.Ecosystem{
			Name: "Acme", OwningRepo: "acme/m@eco", LiveRepo: "acme/m@main",
			Compatibility: &modelv1.Compatibility{Mode: modelv1.CompatibilityMode_COMPATIBILITY_MODE_BACKWARD},
		},
		Zones: []*modelv1.GovernanceZone{{
			Name: "Z",
			StoragePolicies: []*modelv1.StoragePolicy{{
				Name: "S", Mandatory: modelv1.StoragePolicyMandate_STORAGE_POLICY_MANDATE_INDIVIDUALLY_MANDATED,
			}},
		}},
		Teams: []*modelv1.Team{{
			Name: "T", Zone: "Z",
			Containers: []*modelv1.DataContainer{
				{Kind: &modelv1.DataContainer_Mysql{Mysql: host("a", 3306)}},
				{Kind: &modelv1.DataContainer_Oracle{Oracle: host("b", 1521)}},
				{Kind: &modelv1.DataContainer_SqlServer{SqlServer: host("c", 1433)}},
				{Kind: &modelv1.DataContainer_Db2{Db2: host("d", 50000)}},
				{Kind: &modelv1.DataContainer_Postgres{Postgres: host("e", 0)}}, // written as 0: kept
			},
		}},
		Datastores: []*modelv1.Datastore{{
			Name: "S", Zone: "Z", Team: "T",
			ProductionStatus: modelv1.ProductionStatus_PRODUCTION_STATUS_NOT_PRODUCTION,
			Capture: &modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_TransformerOutput{
				TransformerOutput: &modelv1.TransformerOutputCapture{Workspace: "W"},
			}},
			Datasets: []*modelv1.Dataset{{
				Name:    "D",
				Columns: []*modelv1.Column{{Name: "c", Type: &modelv1.DataType{Name: "Integer"}, Nullable: true}},
			}},
		}},
		Workspaces: []*modelv1.Workspace{{
			Name: "W", Zone: "Z", Team: "T",
			ProductionStatus: modelv1.ProductionStatus_PRODUCTION_STATUS_NOT_PRODUCTION,
			Priority:         modelv1.Priority_PRIORITY_UNKNOWN,
			Container:        &modelv1.DataContainer{Kind: &modelv1.DataContainer_PlatformManaged{PlatformManaged: &modelv1.PlatformManaged{}}},
			Access: &modelv1.Access{ApprovedClassifications: []modelv1.ClassificationType{
				modelv1.ClassificationType_CLASSIFICATION_TYPE_PUB, modelv1.ClassificationType_CLASSIFICATION_TYPE_IP,
			}},
			DatasetGroups: []*modelv1.DatasetGroup{{
				Name: "g",
				PlatformRequirements: &modelv1.PlatformRequirements{
					Milestoning: modelv1.Milestoning_MILESTONING_LIVE_ONLY,
					Latency:     modelv1.Latency_LATENCY_MINUTES,
				},
				Sinks: []*modelv1.DatasetSink{{
					Datastore: "S", Dataset: "D",
					DeprecationsAllowed: modelv1.DeprecationsAllowed_DEPRECATIONS_ALLOWED_NEVER,
				}},
			}},
		}},
		Psps: []*modelv1.PlatformServicesProvider{{
			Name:            "P",
			Locations:       []string{"A:B"},
			CredentialStore: &modelv1.CredentialStore{Kind: &modelv1.CredentialStore_Env{Env: &modelv1.EnvCredentialStore{}}},
			Platforms: []*modelv1.DataPlatform{{
				Name: "Y",
				Kind: &modelv1.DataPlatform_Yellow{Yellow: &modelv1.YellowPlatform{
					Milestoning:          modelv1.PlatformMilestoning_PLATFORM_MILESTONING_FORENSIC,
					StagingBatchesToKeep: 50,
					MergeDatabase:        &modelv1.DataContainer{Kind: &modelv1.DataContainer_Postgres{Postgres: &modelv1.HostDatabase{Host: "h", Database: "d", Port: 5432}}},
					MergeCredential:      &modelv1.Credential{Name: "M", Type: modelv1.CredentialType_CREDENTIAL_TYPE_USER_PASSWORD},
					TransformerTimeout:   "30m",
					PruneUnmanagedGrants: true,
				}},
			}},
		}},
		Assignments: []*modelv1.DatasetGroupAssignment{{
			Workspace: "W", DatasetGroup: "g",
			Platforms: []*modelv1.PlatformAssignment{{
				Platform:            "Y",
				Status:              modelv1.AssignmentStatus_ASSIGNMENT_STATUS_PROVISIONING,
				ProductionStatus:    modelv1.ProductionStatus_PRODUCTION_STATUS_NOT_PRODUCTION,
				DeprecationsAllowed: modelv1.DeprecationsAllowed_DEPRECATIONS_ALLOWED_NEVER,
			}},
		}},
	}
	if diff := cmp.Diff(want, r.Model, protocmp.Transform()); diff != "" {
		t.Errorf("model (-want +got):\n%s", diff)
	}
}

// Two trees holding the same documents in different orders and files load to equal models with
// different digests.
func TestCanonicalOrder(t *testing.T) {
	const ws = "apiVersion: datasurface/v1\nkind: Workspace\nmetadata: {name: %s, zone: Z, team: T}\nspec:\n%s"
	const pa = "apiVersion: datasurface/v1\nkind: PlatformAssignments\nmetadata: {name: %s}\nspec:\n%s"
	a := map[string]string{
		"eco.yaml": ecoDoc + "  vendors:\n    - {name: V2, cloudVendor: AWS, documentation: d, locations: [{name: L2}, {name: L1, children: [{name: c2}, {name: c1}]}]}\n    - {name: V1, cloudVendor: GCP, documentation: d}\n  zones: [{name: Zb, owningRepo: r@b}, {name: Za, owningRepo: r@a}]\n",
		"w/b.yaml": fmt.Sprintf(ws, "B", "  access: {consumers: [z, a], approvedClassifications: [PC1, PUB]}\n  datasetGroups:\n    - {name: g2, sinks: [{datastore: S2, dataset: d}, {datastore: S1, dataset: d}]}\n    - {name: g1, sinks: [{datastore: S, dataset: d}]}\n"),
		"w/a.yaml": fmt.Sprintf(ws, "A", "  datasetGroups: [{name: g, sinks: [{datastore: S, dataset: d}]}]\n"),
		"pa.yaml": fmt.Sprintf(pa, "one", "  datasetGroups: [{workspace: B, datasetGroup: g2, platforms: [{platform: Y}, {platform: X}]}]\n  primaryIngestion: [{datastore: S2, platforms: [Y, X]}]\n") +
			"---\n" + fmt.Sprintf(pa, "two", "  datasetGroups: [{workspace: A, datasetGroup: g, platforms: [{platform: X}]}]\n  primaryIngestion: [{datastore: S1, platforms: [X]}]\n"),
	}
	b := map[string]string{
		"all.yaml": fmt.Sprintf(pa, "two", "  primaryIngestion: [{datastore: S1, platforms: [X]}]\n  datasetGroups: [{workspace: A, datasetGroup: g, platforms: [{platform: X}]}]\n") + "---\n" +
			fmt.Sprintf(ws, "A", "  datasetGroups: [{name: g, sinks: [{datastore: S, dataset: d}]}]\n") + "---\n" +
			ecoDoc + "  zones: [{name: Za, owningRepo: r@a}, {name: Zb, owningRepo: r@b}]\n  vendors:\n    - {name: V1, cloudVendor: GCP, documentation: d}\n    - {name: V2, cloudVendor: AWS, documentation: d, locations: [{name: L1, children: [{name: c2}, {name: c1}]}, {name: L2}]}\n",
		"z/more.yaml": fmt.Sprintf(ws, "B", "  datasetGroups:\n    - {name: g1, sinks: [{datastore: S, dataset: d}]}\n    - {name: g2, sinks: [{dataset: d, datastore: S1}, {datastore: S2, dataset: d}]}\n  access: {approvedClassifications: [PUB, PC1], consumers: [a, z]}\n") + "---\n" +
			fmt.Sprintf(pa, "one", "  datasetGroups: [{workspace: B, datasetGroup: g2, platforms: [{platform: X}, {platform: Y}]}]\n  primaryIngestion: [{datastore: S2, platforms: [Y, X]}]\n"),
	}
	ra, rb := loadFiles(t, a, Options{}), loadFiles(t, b, Options{})
	if len(ra.Problems)+len(rb.Problems) > 0 {
		t.Fatalf("problems: %v %v", reduce(ra.Problems), reduce(rb.Problems))
	}
	if diff := cmp.Diff(ra.Model, rb.Model, protocmp.Transform()); diff != "" {
		t.Errorf("models differ (-a +b):\n%s", diff)
	}
	if !proto.Equal(ra.Model, rb.Model) {
		t.Error("models are not proto.Equal")
	}
	if ra.Digest == rb.Digest {
		t.Error("different layouts have the same digest")
	}
	// Spot checks of the canonical order.
	m := ra.Model
	if got := m.Ecosystem.Vendors[1].Locations[0].Children[0].GetName(); got != "c2" {
		t.Errorf("location children reordered: first child %q", got)
	}
	if diff := cmp.Diff([]string{"V1", "V2"}, []string{m.Ecosystem.Vendors[0].GetName(), m.Ecosystem.Vendors[1].GetName()}); diff != "" {
		t.Errorf("vendors (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"X", "Y"}, []string{m.Assignments[1].Platforms[0].GetPlatform(), m.Assignments[1].Platforms[1].GetPlatform()}); diff != "" {
		t.Errorf("assignment platforms (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Y", "X"}, m.PrimaryIngestions[1].Platforms); diff != "" {
		t.Errorf("primary ingestion platforms keep their order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a", "z"}, m.Workspaces[1].Access.Consumers); diff != "" {
		t.Errorf("consumers (-want +got):\n%s", diff)
	}
}

func TestDigest(t *testing.T) {
	files := map[string]string{
		"b.yml":            ecoDoc,
		"a/x.yaml":         "# empty\n",
		"a/.hidden.yaml":   "not: loaded\n",
		".git/config.yaml": "not: loaded\n",
		"notes.txt":        "not a model file",
		"a.yaml":           "",
	}
	r := loadFiles(t, files, Options{})
	order := []string{"a.yaml", "a/x.yaml", "b.yml"} // byte order: '.' < '/'
	if diff := cmp.Diff(order, r.Files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	h := sha256.New()
	for _, p := range order {
		fmt.Fprintf(h, "%s\x00%d\x00%s", p, len(files[p]), files[p])
	}
	want := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if r.Digest != want {
		t.Errorf("digest %s, want %s", r.Digest, want)
	}
	// The same snapshot through the file system gives the same digest.
	fsys := fstest.MapFS{}
	for p, c := range files {
		fsys["model/"+p] = &fstest.MapFile{Data: []byte(c)}
	}
	rf, err := FS(fsys, "model", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rf.Digest != want || !slices.Equal(rf.Files, order) {
		t.Errorf("FS: digest %s files %v; want %s %v", rf.Digest, rf.Files, want, order)
	}
}

func TestIOErrors(t *testing.T) {
	if _, err := Dir(filepath.Join(t.TempDir(), "missing"), Options{}); err == nil {
		t.Error("Dir of a missing directory: no error")
	}
	for _, files := range [][]File{
		{{Path: "/abs.yaml"}},
		{{Path: "a/../b.yaml"}},
		{{Path: "x.yaml"}, {Path: "x.yaml"}},
	} {
		if _, err := Files(files, Options{}); err == nil {
			t.Errorf("Files(%v): no error", files)
		}
	}
}

func TestTypes(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	tests := []struct {
		name string
		yaml string
		want *modelv1.DataType
	}{
		{"shorthand", "VarChar(100)", &modelv1.DataType{Name: "VarChar", MaxSize: i64(100)}},
		{"decimal shorthand", `"Decimal(12,2)"`, &modelv1.DataType{Name: "Decimal", Precision: 12, Scale: 2}},
		{"decimal mapping", "{type: Decimal, precision: 14, scale: 2}", &modelv1.DataType{Name: "Decimal", Precision: 14, Scale: 2}},
		{"char default size", "Char", &modelv1.DataType{Name: "Char", MaxSize: i64(1)}},
		{"alias Float", "Float", &modelv1.DataType{Name: "IEEE32"}},
		{"alias Double", "Double", &modelv1.DataType{Name: "IEEE64"}},
		{"alias String", "{type: String, maxSize: 10, collation: C}", &modelv1.DataType{Name: "NVarChar", MaxSize: i64(10), Collation: "C"}},
		{"vector shorthand", "Vector(768)", &modelv1.DataType{Name: "Array", MaxSize: i64(768), ElementType: &modelv1.DataType{Name: "IEEE32"}}},
		{"vector mapping", "{type: Vector, dimensions: 3}", &modelv1.DataType{Name: "Array", MaxSize: i64(3), ElementType: &modelv1.DataType{Name: "IEEE32"}}},
		{"timestamp default zone", "Timestamp", &modelv1.DataType{Name: "Timestamp", TimeZone: "UTC"}},
		{"timestamp zone", "{type: Timestamp, timeZone: Europe/Paris}", &modelv1.DataType{Name: "Timestamp", TimeZone: "Europe/Paris"}},
		{"custom float equal to IEEE16", "{type: CustomFloat, sizeInBits: 16, precision: 11, maxExponent: 15, minExponent: -14}", &modelv1.DataType{Name: "IEEE16"}},
		{"custom float equal to FNUZ", "{type: CustomFloat, sizeInBits: 8, precision: 3, maxExponent: 15, minExponent: -15, nonFinite: NAN_ONLY, nanEncoding: NEGATIVE_ZERO}", &modelv1.DataType{Name: "FP8_E5M2FNUZ"}},
		{"custom float kept", "{type: CustomFloat, sizeInBits: 16, precision: 8, maxExponent: 127, minExponent: -126}", &modelv1.DataType{
			Name: "CustomFloat", SizeInBits: 16, Precision: 8, MaxExponent: 127, MinExponent: -126,
			NonFinite: modelv1.FloatNonFinite_FLOAT_NON_FINITE_IEEE754, NanEncoding: modelv1.FloatNanEncoding_FLOAT_NAN_ENCODING_IEEE,
		}},
		{"MX canonical", "{type: MicroScalingFloat, batchSize: 32, scaleType: FP8_E8M0, elementType: FP4_E2M1}", &modelv1.DataType{Name: "MXFP4_E2M1"}},
		{"MX kept", "{type: MicroScalingFloat, batchSize: 16, scaleType: FP8_E8M0, elementType: Float}", &modelv1.DataType{Name: "MicroScalingFloat", BatchSize: 16, ScaleType: "FP8_E8M0", MxElementType: "IEEE32"}},
		{"array", "{type: Array, elementType: {type: Decimal, precision: 5}, maxSize: 3}", &modelv1.DataType{Name: "Array", MaxSize: i64(3), ElementType: &modelv1.DataType{Name: "Decimal", Precision: 5}}},
		{"map", "{type: Map, keyType: String, valueType: \"VarChar(3)\"}", &modelv1.DataType{Name: "Map", KeyType: &modelv1.DataType{Name: "NVarChar"}, ValueType: &modelv1.DataType{Name: "VarChar", MaxSize: i64(3)}}},
		{"struct", "{type: Struct, fields: [{name: a, type: Integer}, {name: b, type: Double, nullable: false}]}", &modelv1.DataType{Name: "Struct", Fields: []*modelv1.StructField{
			{Name: "a", Type: &modelv1.DataType{Name: "Integer"}, Nullable: true},
			{Name: "b", Type: &modelv1.DataType{Name: "IEEE64"}},
		}}},
		{"geography defaults", "Geography", &modelv1.DataType{Name: "Geography", Srid: 4326, SrsName: "WGS84"}},
		{"geography", "{type: Geography, srid: 3857, geometryType: POINT, maxSize: 100}", &modelv1.DataType{Name: "Geography", Srid: 3857, SrsName: "WGS84", GeometryType: modelv1.GeometryType_GEOMETRY_TYPE_POINT, MaxSize: i64(100)}},
		{"values are lint's business", "{type: Decimal, precision: 5000, scale: -1}", &modelv1.DataType{Name: "Decimal", Precision: 5000, Scale: -1}},
		{"zero size loads", "VarChar(0)", &modelv1.DataType{Name: "VarChar", MaxSize: i64(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := "apiVersion: datasurface/v1\nkind: Datastore\nmetadata: {name: S, zone: Z, team: T}\nspec:\n" +
				"  capture: {transformerOutput: {workspace: W}}\n  datasets:\n    - name: d\n      columns:\n" +
				"        - name: c\n          type: " + tt.yaml + "\n"
			r := loadFiles(t, map[string]string{"eco.yaml": ecoDoc, "s.yaml": doc}, Options{})
			if len(r.Problems) > 0 {
				t.Fatalf("problems: %v", reduce(r.Problems))
			}
			got := r.Model.Datastores[0].Datasets[0].Columns[0].Type
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("type (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEnumsAndOneOfs(t *testing.T) {
	r := loadFiles(t, map[string]string{
		"eco.yaml": ecoDoc + "  compatibility: {mode: BACKWARD_TRANSITIVE}\n  vendors:\n    - {name: V, cloudVendor: AWS_CHINA, documentation: d}\n",
		"psp.yaml": `apiVersion: datasurface/v1
kind: PlatformServicesProvider
metadata: {name: P}
spec:
  locations: ["V:L"]
  credentialStore: {vault: {address: "https://vault", mount: kv}}
  platforms:
    - {name: L, legacy: {}}
`,
	}, Options{})
	if len(r.Problems) > 0 {
		t.Fatalf("problems: %v", reduce(r.Problems))
	}
	if got := r.Model.Ecosystem.Compatibility.GetMode(); got != modelv1.CompatibilityMode_COMPATIBILITY_MODE_BACKWARD_TRANSITIVE {
		t.Errorf("mode %v", got)
	}
	if got := r.Model.Ecosystem.Vendors[0].GetCloudVendor(); got != modelv1.CloudVendor_CLOUD_VENDOR_AWS_CHINA {
		t.Errorf("cloud vendor %v", got)
	}
	psp := r.Model.Psps[0]
	if psp.CredentialStore.GetVault().GetMount() != "kv" || psp.Platforms[0].GetLegacy() == nil {
		t.Errorf("one-ofs not set: %v", psp)
	}
	// The prefixed proto names and UNSPECIFIED are not YAML names.
	for _, v := range []string{"CLOUD_VENDOR_AWS", "UNSPECIFIED", "aws"} {
		r := loadFiles(t, map[string]string{"eco.yaml": ecoDoc + "  vendors: [{name: V, cloudVendor: " + v + ", documentation: d}]\n"}, Options{})
		if len(r.Problems) != 1 || r.Problems[0].Rule.ID != "DS-LOAD-009" {
			t.Errorf("%s: problems %v", v, reduce(r.Problems))
		}
	}
}

func TestLenient(t *testing.T) {
	files := map[string]string{
		"eco.yaml": ecoDoc + "  color: blue\n",
		"s.yaml": `apiVersion: datasurface/v1
kind: Datastore
metadata: {name: S, zone: Z, team: T, labels: {a: b}}
spec:
  capture: {transformerOutput: {workspace: W}}
  datasets:
    - name: d
      columns:
        - {name: c, type: Integer, colour: red}
        - {name: e, type: Integer, colour: blue}
        - {name: f, type: {type: VarChar, maxSize: 3, charset: utf8}}
extra: 1
`,
	}
	strict := loadFiles(t, files, Options{})
	if len(strict.Problems) != 6 || len(strict.Model.Datastores) != 0 {
		t.Errorf("strict: %v", reduce(strict.Problems))
	}
	r := loadFiles(t, files, Options{Lenient: true, Side: problem.Base})
	if len(r.Problems) > 0 {
		t.Fatalf("lenient problems: %v", reduce(r.Problems))
	}
	want := []string{
		"Datastore.extra",
		"Datastore.metadata.labels",
		"Datastore.spec.datasets.columns.colour",
		"Datastore.spec.datasets.columns.type.charset",
		"Ecosystem.spec.color",
	}
	if diff := cmp.Diff(want, r.UnknownFields); diff != "" {
		t.Errorf("unknown fields (-want +got):\n%s", diff)
	}
	if len(r.Model.Datastores) != 1 {
		t.Fatal("the datastore did not load")
	}
	p, _ := r.Source.Exact("datastore[S]")
	if p.Side != problem.Base || p.String() != "base:s.yaml:3:18" {
		t.Errorf("position %v", p)
	}
}

func TestSourceMap(t *testing.T) {
	r, err := Dir("testdata/spec-example", Options{})
	if err != nil {
		t.Fatal(err)
	}
	const (
		db  = "europe/sales/salesdb.yaml"
		ct  = "europe/analytics/customer-totals.yaml"
		sa  = "europe/analytics/sales-analytics.yaml"
		eco = "ecosystem.yaml"
	)
	tests := map[string]string{
		"ecosystem":                                     eco + ":3:18",
		"ecosystem#owningRepo":                          eco + ":5:15",
		"ecosystem#zones[Europe]":                       eco + ":16:7",
		"ecosystem#zones[Europe].owningRepo":            eco + ":16:34",
		"vendor[Acme]":                                  eco + ":9:13",
		"vendor[Acme]#cloudVendor":                      eco + ":10:20",
		"vendor[Acme]/location[EU]":                     eco + ":13:17",
		"vendor[Acme]/location[EU]/location[Frankfurt]": eco + ":14:29",
		"psp[Core]":                                     "platforms/core.yaml:3:18",
		"psp[Core]#locations[Acme:EU/Frankfurt]":        "platforms/core.yaml:5:15",
		"psp[Core]/platform[YellowLive]":                "platforms/core.yaml:8:13",
		"psp[Core]/platform[YellowLive]#yellow.mergeDatabase.postgres.host": "platforms/core.yaml:14:28",
		"assignment[SalesAnalytics.main]":                                   "platforms/assignments.yaml:6:7",
		"assignment[SalesAnalytics.main]/platform[YellowLive]":              "platforms/assignments.yaml:9:11",
		"assignment[SalesAnalytics.main]/platform[YellowLive]#status":       "platforms/assignments.yaml:9:42",
		"zone[Europe]":                                                                         "europe/zone.yaml:3:18",
		"zone[Europe]#teams[Sales].owningRepo":                                                 "europe/zone.yaml:7:33",
		"zone[Europe]#locationPolicies[EUOnly].allowed[Acme:EU]":                               "europe/zone.yaml:10:32",
		"datastore[SalesDB]":                                                                   db + ":3:18",
		"datastore[SalesDB]#metadata.zone":                                                     db + ":3:33",
		"datastore[SalesDB]#metadata.team":                                                     db + ":3:47",
		"datastore[SalesDB]#capture.sqlSnapshot.container.postgres.host":                       db + ":10:42",
		"datastore[SalesDB]#capture.sqlSnapshot.sourceTables.customers":                        db + ":15:33",
		"datastore[SalesDB]/dataset[customers]":                                                db + ":17:13",
		"datastore[SalesDB]/dataset[customers]#primaryKey":                                     db + ":18:19",
		"datastore[SalesDB]/dataset[customers]#primaryKey[id]":                                 db + ":18:20",
		"datastore[SalesDB]/dataset[customers]/column[email]":                                  db + ":22:18",
		"datastore[SalesDB]/dataset[customers]/column[email]#type":                             db + ":22:31",
		"datastore[SalesDB]/dataset[customers]/column[email]#classifications[PC1]":             db + ":22:63",
		"datastore[SalesSummary]/dataset[customer_totals]/column[total_amount]#type":           ct + ":15:38",
		"datastore[SalesSummary]/dataset[customer_totals]/column[total_amount]#type.precision": ct + ":15:65",
		"workspace[CustomerTotals]/transformer":                                                ct + ":28:5",
		"workspace[CustomerTotals]/transformer#code.sql.customer_totals":                       ct + ":32:26",
		"workspace[CustomerTotals]/dsg[inputs]/sink[SalesDB.orders]":                           ct + ":26:11",
		"workspace[SalesAnalytics]#access.approvedClassifications[IP]":                         sa + ":9:36",
		"workspace[SalesAnalytics]/dsg[main]#platformRequirements.milestoning":                 sa + ":12:43",
	}
	for key, want := range tests {
		p, ok := r.Source.Exact(key)
		if !ok {
			t.Errorf("%s: not recorded", key)
			continue
		}
		if p.String() != want {
			t.Errorf("%s at %s, want %s", key, p, want)
		}
	}
	// A field without its own key falls back to its object.
	if got := r.Source.Pos("datastore[SalesDB]/dataset[orders]#partitionKey").String(); got != db+":24:13" {
		t.Errorf("fallback %s", got)
	}
}

func TestFS(t *testing.T) {
	fsys := fstest.MapFS{
		"root/eco.yaml":          {Data: []byte(ecoDoc)},
		"root/.hidden/x.yaml":    {Data: []byte("junk: [")},
		"root/teams/t.yaml":      {Data: []byte("apiVersion: datasurface/v1\nkind: Team\nmetadata: {name: T, zone: Z}\nspec: {}\n")},
		"root/teams/README.md":   {Data: []byte("# not a model file")},
		"other/ignored.yaml":     {Data: []byte("junk: [")},
		"root/teams/.draft.yaml": {Data: []byte("junk: [")},
		"root/teams/empty.yml":   {Data: []byte("---\n---\n")},
	}
	r, err := FS(fsys, "root", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"eco.yaml", "teams/empty.yml", "teams/t.yaml"}, r.Files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if len(r.Problems) > 0 || len(r.Model.Teams) != 1 {
		t.Errorf("problems %v teams %d", reduce(r.Problems), len(r.Model.Teams))
	}
}

// A deeply nested location tree loads; keys past the length bound are not recorded and fall back
// to their nearest recorded ancestor.
func TestDeepNesting(t *testing.T) {
	const depth = 300
	var b strings.Builder
	b.WriteString(ecoDoc + "  vendors:\n    - name: V\n      cloudVendor: AWS\n      documentation: d\n      locations: [")
	for i := range depth {
		fmt.Fprintf(&b, "{name: L%d, children: [", i)
	}
	b.WriteString(strings.Repeat("]}", depth) + "]\n")
	r := loadFiles(t, map[string]string{"eco.yaml": b.String()}, Options{})
	if len(r.Problems) > 0 {
		t.Fatalf("problems: %v", reduce(r.Problems))
	}
	n, loc := 0, r.Model.Ecosystem.Vendors[0].Locations[0]
	for ; loc != nil; n++ {
		loc = func() *modelv1.Location {
			if len(loc.Children) == 0 {
				return nil
			}
			return loc.Children[0]
		}()
	}
	if n != depth {
		t.Errorf("depth %d, want %d", n, depth)
	}
	key := "vendor[V]"
	for i := range depth {
		key += fmt.Sprintf("/location[L%d]", i)
	}
	if _, ok := r.Source.Exact(key); ok {
		t.Errorf("a %d-byte key was recorded", len(key))
	}
	if p := r.Source.Pos(key); p.File != "eco.yaml" || p.Line != 11 {
		t.Errorf("fallback position %v", p)
	}
	if r.Source.Len() > 1000 {
		t.Errorf("%d source-map keys", r.Source.Len())
	}
}

func TestSourceMapElementKeys(t *testing.T) {
	r := loadFiles(t, map[string]string{
		"eco.yaml": ecoDoc,
		"s.yaml": `apiVersion: datasurface/v1
kind: Datastore
metadata: {name: S, zone: Z, team: T}
spec:
  approvals: [{workspace: W, datasetGroup: g, dataset: d}]
  capture: {transformerOutput: {workspace: W}}
  datasets:
    - name: d
      classifications: [{type: PC3, label: ssn}]
      columns: [{name: c, type: {type: Struct, fields: [{name: f, type: Integer}]}}]
`,
		"t.yaml": `apiVersion: datasurface/v1
kind: Team
metadata: {name: T, zone: Z}
spec:
  containers: [{postgres: {name: pg, host: h, database: d}}, {ref: other}]
`,
		"p.yaml": `apiVersion: datasurface/v1
kind: PlatformServicesProvider
metadata: {name: P}
spec:
  locations: ["A:B"]
  credentialStore: {env: {}}
  platforms:
    - name: Y
      yellow:
        milestoning: FORENSIC
        mergeDatabase: {ref: pg}
        mergeCredential: {name: M, type: USER_PASSWORD}
        streamOverrides: [{datastore: S}, {datastore: S, dataset: d}]
---
apiVersion: datasurface/v1
kind: PlatformAssignments
metadata: {name: a}
spec:
  primaryIngestion: [{datastore: S, platforms: [Y]}]
`,
	}, Options{})
	if len(r.Problems) > 0 {
		t.Fatalf("problems: %v", reduce(r.Problems))
	}
	for key, want := range map[string]string{
		"datastore[S]#approvals[W.g.d]":                         "s.yaml:5:15",
		"datastore[S]#approvals[W.g.d].dataset":                 "s.yaml:5:56",
		"datastore[S]/dataset[d]#classifications[PC3].label":    "s.yaml:9:44",
		"datastore[S]/dataset[d]/column[c]#type.fields[f].type": "s.yaml:10:73",
		"zone[Z]/team[T]#containers[pg].postgres.host":          "t.yaml:5:44",
		"zone[Z]/team[T]#containers[other].ref":                 "t.yaml:5:68",
		"psp[P]/platform[Y]#yellow.streamOverrides[S]":          "p.yaml:13:27",
		"psp[P]/platform[Y]#yellow.streamOverrides[S.d]":        "p.yaml:13:43",
		"primary[S]":              "p.yaml:19:22",
		"primary[S]#platforms[Y]": "p.yaml:19:49",
	} {
		p, ok := r.Source.Exact(key)
		if !ok || p.String() != want {
			t.Errorf("%s at %v (%v), want %s", key, p, ok, want)
		}
	}
}
