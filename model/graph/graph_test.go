package graph

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/datasurface/datasurface/model/index"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// Test models are built in Go; only the fields the graph reads are set.

const (
	multi  = modelv1.Consistency_CONSISTENCY_MULTI_DATASET
	single = modelv1.Consistency_CONSISTENCY_SINGLE_DATASET

	unknown  = modelv1.Priority_PRIORITY_UNKNOWN
	low      = modelv1.Priority_PRIORITY_LOW
	medium   = modelv1.Priority_PRIORITY_MEDIUM
	high     = modelv1.Priority_PRIORITY_HIGH
	critical = modelv1.Priority_PRIORITY_CRITICAL

	provisioning    = modelv1.AssignmentStatus_ASSIGNMENT_STATUS_PROVISIONING
	provisioned     = modelv1.AssignmentStatus_ASSIGNMENT_STATUS_PROVISIONED
	decommissioning = modelv1.AssignmentStatus_ASSIGNMENT_STATUS_DECOMMISSIONING
	decommissioned  = modelv1.AssignmentStatus_ASSIGNMENT_STATUS_DECOMMISSIONED
)

func datasets(names []string) []*modelv1.Dataset {
	out := make([]*modelv1.Dataset, 0, len(names))
	for _, n := range names {
		out = append(out, &modelv1.Dataset{Name: n})
	}
	return out
}

// store is a sqlSnapshot datastore.
func store(name string, c modelv1.Consistency, ds ...string) *modelv1.Datastore {
	return &modelv1.Datastore{
		Name: name,
		Capture: &modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_SqlSnapshot{
			SqlSnapshot: &modelv1.SqlSnapshotCapture{Consistency: c},
		}},
		Datasets: datasets(ds),
	}
}

// output is a datastore written by workspace w's transformer.
func output(name, w string, ds ...string) *modelv1.Datastore {
	return &modelv1.Datastore{
		Name: name,
		Capture: &modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_TransformerOutput{
			TransformerOutput: &modelv1.TransformerOutputCapture{Workspace: w},
		}},
		Datasets: datasets(ds),
	}
}

// group is a dataset group with sinks "S.T".
func group(name string, sinks ...string) *modelv1.DatasetGroup {
	g := &modelv1.DatasetGroup{Name: name}
	for _, s := range sinks {
		st, t, _ := strings.Cut(s, ".")
		g.Sinks = append(g.Sinks, &modelv1.DatasetSink{Datastore: st, Dataset: t})
	}
	return g
}

func workspace(name string, p modelv1.Priority, gs ...*modelv1.DatasetGroup) *modelv1.Workspace {
	return &modelv1.Workspace{Name: name, Priority: p, DatasetGroups: gs}
}

// transformer gives w a transformer writing out.
func transformer(w *modelv1.Workspace, out string) *modelv1.Workspace {
	w.Transformer = &modelv1.DataTransformer{Name: strings.ToLower(w.GetName()) + "_tx", OutputDatastore: out}
	return w
}

type on struct {
	platform string
	status   modelv1.AssignmentStatus
}

func assign(w, g string, ps ...on) *modelv1.DatasetGroupAssignment {
	a := &modelv1.DatasetGroupAssignment{Workspace: w, DatasetGroup: g}
	for _, p := range ps {
		a.Platforms = append(a.Platforms, &modelv1.PlatformAssignment{Platform: p.platform, Status: p.status})
	}
	return a
}

func platforms(names ...string) []*modelv1.PlatformServicesProvider {
	psp := &modelv1.PlatformServicesProvider{Name: "Core"}
	for _, n := range names {
		psp.Platforms = append(psp.Platforms, &modelv1.DataPlatform{
			Name: n, Kind: &modelv1.DataPlatform_Yellow{Yellow: &modelv1.YellowPlatform{}},
		})
	}
	return []*modelv1.PlatformServicesProvider{psp}
}

func TestGraphRoots(t *testing.T) {
	m := &modelv1.Model{
		Datastores: []*modelv1.Datastore{store("S", multi, "a")},
		Workspaces: []*modelv1.Workspace{
			workspace("W1", unknown, group("g1", "S.a"), group("g2", "S.a")),
			workspace("W2", unknown, group("g", "S.a")),
			workspace("W3", unknown, group("g", "S.a")),
		},
		Psps: platforms("P1", "P2"),
		Assignments: []*modelv1.DatasetGroupAssignment{
			assign("W1", "g1", on{"P1", provisioned}, on{"P2", decommissioned}),
			assign("W1", "g2", on{"P1", decommissioning}),
			assign("W2", "g", on{"P1", decommissioned}),
			assign("W3", "g", on{"P2", provisioning}),
			assign("W3", "missing", on{"P2", provisioning}),
			assign("W3", "g", on{"Unknown", provisioning}),
		},
	}
	e := Build(m)
	got := map[string][]Root{}
	for n, p := range e.Platforms {
		got[n] = p.Roots
	}
	want := map[string][]Root{
		"P1": {
			{Workspace: "W1", DatasetGroup: "g1", Status: provisioned},
			{Workspace: "W1", DatasetGroup: "g2", Status: decommissioning},
		},
		"P2": {{Workspace: "W3", DatasetGroup: "g", Status: provisioning}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("roots (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"P1", "P2"}, e.PlatformNames()); d != "" {
		t.Errorf("platform names (-want +got):\n%s", d)
	}
	if d := cmp.Diff(e.Platforms["P1"], BuildPlatform(index.New(m), "P1")); d != "" {
		t.Errorf("BuildPlatform differs from Build (-build +platform):\n%s", d)
	}
}

// TestGraphClosure checks a whole graph: a consumer of a transformer output that itself reads
// another transformer's output.
func TestGraphClosure(t *testing.T) {
	m := &modelv1.Model{
		Datastores: []*modelv1.Datastore{
			store("Src", multi, "x", "y"),
			output("Mid", "T2", "m"),
			output("Top", "T1", "t"),
		},
		Workspaces: []*modelv1.Workspace{
			workspace("Consumer", high, group("main", "Top.t")),
			transformer(workspace("T1", low, group("in", "Mid.m")), "Top"),
			transformer(workspace("T2", low, group("in", "Src.x"), group("more", "Src.x")), "Mid"),
		},
		Psps:        platforms("P"),
		Assignments: []*modelv1.DatasetGroupAssignment{assign("Consumer", "main", on{"P", provisioned})},
	}
	got := Build(m).Platforms["P"]
	want := &Platform{
		Name: "P",
		Roots: []Root{
			{Workspace: "Consumer", DatasetGroup: "main", Status: provisioned},
			{Workspace: "T1", DatasetGroup: "in", Transformer: true},
			{Workspace: "T2", DatasetGroup: "in", Transformer: true},
			{Workspace: "T2", DatasetGroup: "more", Transformer: true},
		},
		Streams: []Stream{
			{Key: "Mid", Datastore: "Mid", Datasets: []string{"m"}, Consistency: multi, Kind: index.KindTransformerOutput, Priority: high},
			{Key: "Src", Datastore: "Src", Datasets: []string{"x", "y"}, Consistency: multi, Kind: index.KindSQLSnapshot, Priority: high},
			{Key: "Top", Datastore: "Top", Datasets: []string{"t"}, Consistency: multi, Kind: index.KindTransformerOutput, Priority: high},
		},
		Exports: []Export{
			{Datastore: "Mid", Dataset: "m", Stream: "Mid", Readers: []string{"T1"}, Priority: high},
			{Datastore: "Src", Dataset: "x", Stream: "Src", Readers: []string{"T2"}, Priority: high},
			{Datastore: "Src", Dataset: "y", Stream: "Src", Priority: unknown},
			{Datastore: "Top", Dataset: "t", Stream: "Top", Readers: []string{"Consumer"}, Priority: high},
		},
		Transformers: []Transformer{
			{Workspace: "T1", Name: "t1_tx", OutputDatastore: "Top", Priority: high},
			{Workspace: "T2", Name: "t2_tx", OutputDatastore: "Mid", Priority: high},
		},
		Nodes: []Node{
			{ID: "DataTransformer/P/T1", Kind: NodeDataTransformer, Priority: high},
			{ID: "DataTransformer/P/T2", Kind: NodeDataTransformer, Priority: high},
			{ID: "Export/P/Mid/m", Kind: NodeExport, Priority: high},
			{ID: "Export/P/Src/x", Kind: NodeExport, Priority: high},
			{ID: "Export/P/Src/y", Kind: NodeExport, Priority: unknown},
			{ID: "Export/P/Top/t", Kind: NodeExport, Priority: high},
			{ID: "Ingest/P/Mid", Kind: NodeIngest, Priority: high},
			{ID: "Ingest/P/Src", Kind: NodeIngest, Priority: high},
			{ID: "Ingest/P/Top", Kind: NodeIngest, Priority: high},
			{ID: "Trigger/P/T1", Kind: NodeTrigger, Priority: high},
			{ID: "Trigger/P/T2", Kind: NodeTrigger, Priority: high},
		},
		Edges: []Edge{
			{From: "DataTransformer/P/T1", To: "Ingest/P/Top"},
			{From: "DataTransformer/P/T2", To: "Ingest/P/Mid"},
			{From: "Export/P/Mid/m", To: "Trigger/P/T1"},
			{From: "Export/P/Src/x", To: "Trigger/P/T2"},
			{From: "Ingest/P/Mid", To: "Export/P/Mid/m"},
			{From: "Ingest/P/Src", To: "Export/P/Src/x"},
			{From: "Ingest/P/Src", To: "Export/P/Src/y"},
			{From: "Ingest/P/Top", To: "Export/P/Top/t"},
			{From: "Trigger/P/T1", To: "DataTransformer/P/T1"},
			{From: "Trigger/P/T2", To: "DataTransformer/P/T2"},
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("graph (-want +got):\n%s", d)
	}
	for _, id := range []string{IngestID("P", "Src"), ExportID("P", "Src", "x"), TriggerID("P", "T1"), DataTransformerID("P", "T1")} {
		if !slices.ContainsFunc(got.Nodes, func(n Node) bool { return n.ID == id }) {
			t.Errorf("no node %s", id)
		}
	}
	if !got.Ingests("Src") || got.Ingests("Other") || got.Ingests("Sr") {
		t.Errorf("Ingests: want Src only")
	}
	if s, ok := got.Stream("Mid"); !ok || s.Datastore != "Mid" {
		t.Errorf("Stream(Mid) = %v, %v", s, ok)
	}
	if e, ok := got.Export("Src", "y"); !ok || e.Stream != "Src" {
		t.Errorf("Export(Src, y) = %v, %v", e, ok)
	}
	if _, ok := got.Export("Src", "z"); ok {
		t.Errorf("Export(Src, z) found")
	}
}

func TestGraphStreams(t *testing.T) {
	kafka := &modelv1.Datastore{
		Name: "Events",
		Capture: &modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_KafkaCdc{
			KafkaCdc: &modelv1.KafkaCdcCapture{Consistency: single},
		}},
		Datasets: datasets([]string{"orders", "items"}),
	}
	tests := []struct {
		name     string
		model    *modelv1.Model
		platform string
		want     []Stream
	}{
		{
			name: "single dataset: one stream per dataset, all datasets",
			model: &modelv1.Model{
				Datastores:  []*modelv1.Datastore{kafka},
				Workspaces:  []*modelv1.Workspace{workspace("W", medium, group("g", "Events.orders"))},
				Psps:        platforms("P"),
				Assignments: []*modelv1.DatasetGroupAssignment{assign("W", "g", on{"P", provisioned})},
			},
			platform: "P",
			want: []Stream{
				{Key: "Events#items", Datastore: "Events", Datasets: []string{"items"}, Consistency: single, Kind: index.KindKafkaCDC, Priority: unknown},
				{Key: "Events#orders", Datastore: "Events", Datasets: []string{"orders"}, Consistency: single, Kind: index.KindKafkaCDC, Priority: medium},
			},
		},
		{
			name: "multi dataset: one stream with every dataset in model order",
			model: &modelv1.Model{
				Datastores:  []*modelv1.Datastore{store("S", multi, "b", "a")},
				Workspaces:  []*modelv1.Workspace{workspace("W", medium, group("g", "S.a"))},
				Psps:        platforms("P"),
				Assignments: []*modelv1.DatasetGroupAssignment{assign("W", "g", on{"P", provisioned})},
			},
			platform: "P",
			want: []Stream{
				{Key: "S", Datastore: "S", Datasets: []string{"b", "a"}, Consistency: multi, Kind: index.KindSQLSnapshot, Priority: medium},
			},
		},
		{
			name: "remote: primary ingestion does not list the platform",
			model: &modelv1.Model{
				Datastores: []*modelv1.Datastore{store("S", multi, "a")},
				Workspaces: []*modelv1.Workspace{workspace("W", medium, group("g", "S.a"))},
				Psps:       platforms("Live", "Forensic", "Other"),
				Assignments: []*modelv1.DatasetGroupAssignment{
					assign("W", "g", on{"Live", provisioned}, on{"Forensic", provisioned}),
				},
				PrimaryIngestions: []*modelv1.PrimaryIngestion{{Datastore: "S", Platforms: []string{"Forensic", "Other"}}},
			},
			platform: "Live",
			want: []Stream{
				{Key: "S", Datastore: "S", Datasets: []string{"a"}, Consistency: multi, Kind: KindRemote, Remote: true, PrimaryPlatform: "Forensic", Priority: medium},
			},
		},
		{
			name: "primary: a listed platform reads the source itself",
			model: &modelv1.Model{
				Datastores: []*modelv1.Datastore{store("S", multi, "a")},
				Workspaces: []*modelv1.Workspace{workspace("W", medium, group("g", "S.a"))},
				Psps:       platforms("Live", "Forensic", "Other"),
				Assignments: []*modelv1.DatasetGroupAssignment{
					assign("W", "g", on{"Other", provisioned}),
				},
				PrimaryIngestions: []*modelv1.PrimaryIngestion{{Datastore: "S", Platforms: []string{"Forensic", "Other"}}},
			},
			platform: "Other",
			want: []Stream{
				{Key: "S", Datastore: "S", Datasets: []string{"a"}, Consistency: multi, Kind: index.KindSQLSnapshot, Priority: medium},
			},
		},
		{
			name: "unknown datastore in a sink is skipped",
			model: &modelv1.Model{
				Workspaces:  []*modelv1.Workspace{workspace("W", medium, group("g", "Nope.a"))},
				Psps:        platforms("P"),
				Assignments: []*modelv1.DatasetGroupAssignment{assign("W", "g", on{"P", provisioned})},
			},
			platform: "P",
			want:     nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Build(tc.model).Platforms[tc.platform].Streams
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("streams (-want +got):\n%s", d)
			}
		})
	}
}

func TestGraphPriorities(t *testing.T) {
	tests := []struct {
		name  string
		model *modelv1.Model
		want  map[string]modelv1.Priority // node id → priority
	}{
		{
			name: "export takes the highest reader; the stream the highest export",
			model: &modelv1.Model{
				Datastores: []*modelv1.Datastore{store("S", multi, "a", "b", "c")},
				Workspaces: []*modelv1.Workspace{
					workspace("W1", low, group("g", "S.a")),
					workspace("W2", high, group("g", "S.a", "S.b")),
				},
				Psps: platforms("P"),
				Assignments: []*modelv1.DatasetGroupAssignment{
					assign("W1", "g", on{"P", provisioned}),
					assign("W2", "g", on{"P", provisioned}),
				},
			},
			want: map[string]modelv1.Priority{
				"Ingest/P/S": high, "Export/P/S/a": high, "Export/P/S/b": high, "Export/P/S/c": unknown,
			},
		},
		{
			name: "a critical consumer raises the transformer and its inputs",
			model: &modelv1.Model{
				Datastores: []*modelv1.Datastore{store("S", single, "a", "b"), output("O", "T", "o")},
				Workspaces: []*modelv1.Workspace{
					workspace("C", critical, group("g", "O.o")),
					workspace("L", low, group("g", "S.b")),
					transformer(workspace("T", low, group("in", "S.a")), "O"),
				},
				Psps: platforms("P"),
				Assignments: []*modelv1.DatasetGroupAssignment{
					assign("C", "g", on{"P", provisioned}),
					assign("L", "g", on{"P", provisioned}),
				},
			},
			want: map[string]modelv1.Priority{
				"Ingest/P/S#a": critical, "Export/P/S/a": critical, "Trigger/P/T": critical,
				"DataTransformer/P/T": critical, "Ingest/P/O": critical, "Export/P/O/o": critical,
				"Ingest/P/S#b": low, "Export/P/S/b": low,
			},
		},
		{
			name: "a transformer takes its own workspace's priority over a low consumer",
			model: &modelv1.Model{
				Datastores: []*modelv1.Datastore{store("S", multi, "a"), output("O", "T", "o")},
				Workspaces: []*modelv1.Workspace{
					workspace("C", low, group("g", "O.o")),
					transformer(workspace("T", high, group("in", "S.a")), "O"),
				},
				Psps:        platforms("P"),
				Assignments: []*modelv1.DatasetGroupAssignment{assign("C", "g", on{"P", provisioned})},
			},
			want: map[string]modelv1.Priority{
				"Ingest/P/S": high, "Export/P/S/a": high, "Trigger/P/T": high,
				"DataTransformer/P/T": high, "Ingest/P/O": low, "Export/P/O/o": low,
			},
		},
		{
			name: "priorities terminate on a cycle",
			model: &modelv1.Model{
				Datastores: []*modelv1.Datastore{output("A", "TA", "a"), output("B", "TB", "b")},
				Workspaces: []*modelv1.Workspace{
					workspace("C", medium, group("g", "A.a")),
					transformer(workspace("TA", low, group("in", "B.b")), "A"),
					transformer(workspace("TB", low, group("in", "A.a")), "B"),
				},
				Psps:        platforms("P"),
				Assignments: []*modelv1.DatasetGroupAssignment{assign("C", "g", on{"P", provisioned})},
			},
			want: map[string]modelv1.Priority{
				"Ingest/P/A": medium, "Export/P/A/a": medium, "Trigger/P/TA": medium, "DataTransformer/P/TA": medium,
				"Ingest/P/B": medium, "Export/P/B/b": medium, "Trigger/P/TB": medium, "DataTransformer/P/TB": medium,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]modelv1.Priority{}
			for _, n := range Build(tc.model).Platforms["P"].Nodes {
				got[n.ID] = n.Priority
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("priorities (-want +got):\n%s", d)
			}
		})
	}
}

func TestGraphCycles(t *testing.T) {
	tests := []struct {
		name       string
		datastores []*modelv1.Datastore
		workspaces []*modelv1.Workspace
		want       [][]string
	}{
		{
			name:       "no transformers",
			datastores: []*modelv1.Datastore{store("S", multi, "a")},
			workspaces: []*modelv1.Workspace{workspace("W", low, group("g", "S.a"))},
			want:       nil,
		},
		{
			name:       "chain without a cycle",
			datastores: []*modelv1.Datastore{store("S", multi, "a"), output("O1", "T1", "a"), output("O2", "T2", "a")},
			workspaces: []*modelv1.Workspace{
				transformer(workspace("T1", low, group("g", "S.a")), "O1"),
				transformer(workspace("T2", low, group("g", "O1.a")), "O2"),
				workspace("W", low, group("g", "O2.a")),
			},
			want: nil,
		},
		{
			name:       "self cycle",
			datastores: []*modelv1.Datastore{output("O", "T", "a")},
			workspaces: []*modelv1.Workspace{transformer(workspace("T", low, group("g", "O.a")), "O")},
			want:       [][]string{{"T", "T"}},
		},
		{
			name: "two cycles and a bystander",
			datastores: []*modelv1.Datastore{
				output("OA", "A", "a"), output("OB", "B", "b"), output("OC", "C", "c"),
				output("OX", "X", "x"), output("OY", "Y", "y"),
			},
			workspaces: []*modelv1.Workspace{
				transformer(workspace("A", low, group("g", "OB.b")), "OA"),
				transformer(workspace("B", low, group("g", "OC.c"), group("h", "OA.a")), "OB"),
				transformer(workspace("C", low, group("g", "OA.a")), "OC"),
				workspace("Reader", low, group("g", "OA.a")),
				transformer(workspace("X", low, group("g", "OY.y")), "OX"),
				transformer(workspace("Y", low, group("g", "OX.x")), "OY"),
			},
			want: [][]string{
				{"A", "B", "A"},
				{"B", "A", "B"},
				{"C", "A", "B", "C"},
				{"X", "Y", "X"},
				{"Y", "X", "Y"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &modelv1.Model{Datastores: tc.datastores, Workspaces: tc.workspaces}
			if d := cmp.Diff(tc.want, Build(m).Cycles); d != "" {
				t.Errorf("Build cycles (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.want, Cycles(index.New(m))); d != "" {
				t.Errorf("Cycles (-want +got):\n%s", d)
			}
		})
	}
}

func TestGraphDependencies(t *testing.T) {
	m := &modelv1.Model{
		Datastores: []*modelv1.Datastore{
			store("S", multi, "a"), output("O1", "T1", "o"), output("O2", "T2", "o"), output("Loop", "L", "o"),
		},
		Workspaces: []*modelv1.Workspace{
			workspace("B", low, group("g", "S.a"), group("h", "S.a")),
			transformer(workspace("L", low, group("g", "S.a", "Loop.o")), "Loop"),
			transformer(workspace("T1", low, group("g", "S.a")), "O1"),
			transformer(workspace("T2", low, group("g", "O1.o")), "O2"),
			workspace("Z", low, group("g", "O2.o"), group("h", "O1.o")),
		},
	}
	tests := []struct {
		name  string
		store string
		want  []Dependent
	}{
		{
			name:  "recursion and cycle guard",
			store: "S",
			want: []Dependent{
				{Workspace: "B"},
				{Workspace: "L", Dependencies: []Dependent{{Workspace: "L"}}},
				{Workspace: "T1", Dependencies: []Dependent{
					{Workspace: "T2", Dependencies: []Dependent{{Workspace: "Z"}}},
					{Workspace: "Z"},
				}},
			},
		},
		{name: "leaf", store: "O2", want: []Dependent{{Workspace: "Z"}}},
		{name: "nobody reads it", store: "Nope", want: nil},
	}
	x := index.New(m)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, Dependencies(x, tc.store)); d != "" {
				t.Errorf("dependencies (-want +got):\n%s", d)
			}
		})
	}
}

func TestGraphOutline(t *testing.T) {
	m := &modelv1.Model{
		Datastores: []*modelv1.Datastore{store("S", multi, "a"), output("O", "T", "o")},
		Workspaces: []*modelv1.Workspace{
			workspace("C", high, group("g", "O.o")),
			transformer(workspace("T", low, group("in", "S.a")), "O"),
		},
		Psps:        platforms("P"),
		Assignments: []*modelv1.DatasetGroupAssignment{assign("C", "g", on{"P", provisioned})},
	}
	x := index.New(m)
	full, outline := BuildIndex(x).Platforms["P"], BuildWith(x, Options{Outline: true}).Platforms["P"]
	// The outline is the full graph without nodes, edges and priorities.
	want := *full
	want.Nodes, want.Edges = nil, nil
	want.Streams = append([]Stream(nil), full.Streams...)
	for i := range want.Streams {
		want.Streams[i].Priority = 0
	}
	want.Exports = append([]Export(nil), full.Exports...)
	for i := range want.Exports {
		want.Exports[i].Priority = 0
	}
	want.Transformers = append([]Transformer(nil), full.Transformers...)
	for i := range want.Transformers {
		want.Transformers[i].Priority = 0
	}
	if d := cmp.Diff(&want, outline); d != "" {
		t.Errorf("outline (-want +got):\n%s", d)
	}
}

// TestGraphOddNames checks the order of streams, nodes and edges when names are not SQL
// identifiers (lint rejects them, but Build must stay sorted and consistent).
func TestGraphOddNames(t *testing.T) {
	m := &modelv1.Model{
		Datastores:  []*modelv1.Datastore{store("a", single, "x"), store("a!", multi, "y")},
		Workspaces:  []*modelv1.Workspace{workspace("W", low, group("g", "a.x", "a!.y"))},
		Psps:        platforms("P"),
		Assignments: []*modelv1.DatasetGroupAssignment{assign("W", "g", on{"P", provisioned})},
	}
	p := Build(m).Platforms["P"]
	var keys []string
	for _, s := range p.Streams {
		keys = append(keys, s.Key)
	}
	if d := cmp.Diff([]string{"a!", "a#x"}, keys); d != "" {
		t.Errorf("stream keys (-want +got):\n%s", d)
	}
	wantNodes := []Node{
		{ID: "Export/P/a!/y", Kind: NodeExport, Priority: low},
		{ID: "Export/P/a/x", Kind: NodeExport, Priority: low},
		{ID: "Ingest/P/a!", Kind: NodeIngest, Priority: low},
		{ID: "Ingest/P/a#x", Kind: NodeIngest, Priority: low},
	}
	if d := cmp.Diff(wantNodes, p.Nodes); d != "" {
		t.Errorf("nodes (-want +got):\n%s", d)
	}
	wantEdges := []Edge{
		{From: "Ingest/P/a!", To: "Export/P/a!/y"},
		{From: "Ingest/P/a#x", To: "Export/P/a/x"},
	}
	if d := cmp.Diff(wantEdges, p.Edges); d != "" {
		t.Errorf("edges (-want +got):\n%s", d)
	}
	if e, ok := p.Export("a", "x"); !ok || e.Stream != "a#x" {
		t.Errorf("Export(a, x) = %v, %v", e, ok)
	}
}
