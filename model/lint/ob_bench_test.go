package lint

import (
	"fmt"
	"runtime"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// obBigModel builds the benchmark model of the object rules: stores datastores of 10 datasets
// of 6 columns (one a Timestamp in a named zone; one PC1 column in the first dataset of each
// datastore), workspaces workspaces of one dataset group with 10 sinks each (one of them masked),
// every dataset group assigned to the Yellow platform, a handful of consumers per workspace and
// approvals on every tenth datastore.
func obBigModel(stores, workspaces int) *modelv1.Model {
	m := obModel()
	m.Datastores = m.Datastores[:0]
	m.Workspaces = m.Workspaces[:0]
	m.Assignments = m.Assignments[:0]
	m.Zones[0].ClassificationPolicies = []*modelv1.AllowDenyPolicy{{Name: "NoPC3", NotAllowed: []string{"PC3"}}}
	for i := range stores {
		var dss []*modelv1.Dataset
		for j := range 10 {
			d := obDataset(fmt.Sprintf("d%02d", j),
				obCol("id", obT("BigInt"), false, obIP),
				obCol("name", obVarChar(100), true, obPUB),
				obCol("email", obVarChar(200), true, obPUB),
				obCol("amount", &modelv1.DataType{Name: "Decimal", Precision: 12, Scale: 2}, false, obIP),
				obCol("at", &modelv1.DataType{Name: "Timestamp", TimeZone: "Europe/Paris"}, false, obIP),
				obCol("note", obT("NVarChar"), true, obPUB),
			)
			d.PartitionKey = []string{"at"}
			if j == 0 {
				d.Columns[2].Classifications = obCls(obPC1) // masked in every workspace that sinks it
			}
			dss = append(dss, d)
		}
		s := obStore(fmt.Sprintf("Store%05d", i), dss...)
		tables := map[string]string{}
		for _, d := range dss {
			tables[d.GetName()] = "public." + d.GetName()
		}
		obSnapshot(s).SourceTables = tables
		m.Datastores = append(m.Datastores, s)
	}
	for i := range workspaces {
		var sinks []*modelv1.DatasetSink
		for j := range 10 {
			sinks = append(sinks, obSink(fmt.Sprintf("Store%05d", (i*7+j*13)%stores), fmt.Sprintf("d%02d", j)))
		}
		name := fmt.Sprintf("Work%05d", i)
		ws := obWorkspace(name, obDSG("G", sinks...))
		ws.Access.Consumers = []string{"bi_reader", "etl_" + name, "analyst"}
		m.Workspaces = append(m.Workspaces, ws)
		m.Assignments = append(m.Assignments, &modelv1.DatasetGroupAssignment{Workspace: name, DatasetGroup: "G",
			Platforms: []*modelv1.PlatformAssignment{{Platform: "Y"}}})
	}
	for i := 0; i < stores; i += 10 {
		s := m.Datastores[i]
		s.Approvals = &modelv1.Approvals{}
		for j := range workspaces {
			for _, sk := range m.Workspaces[j].DatasetGroups[0].Sinks {
				if sk.Datastore == s.Name {
					s.Approvals.Entries = append(s.Approvals.Entries, &modelv1.Approval{Workspace: m.Workspaces[j].Name, DatasetGroup: "G", Dataset: sk.Dataset})
				}
			}
		}
	}
	return m
}

func TestObjectRulesBigModel(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a large model")
	}
	// large enough to run in shards (inShards) when GOMAXPROCS > 1; run with -race
	m := obBigModel(2000, 1200)
	got := obLint(m)
	// every sink of a d00 dataset masks its PC1 column email, nothing else is reported
	if len(got) != 1200 {
		t.Fatalf("got %d problems, want %d; first: %+v", len(got), 1200, got[0])
	}
	for _, p := range got {
		if p.ID != RuleColumnsMasked.ID {
			t.Fatalf("unexpected problem %+v", p)
		}
	}
	// sharded and inline runs agree
	m.Datastores[1500].Datasets[3].PrimaryKey = []string{"ghost"}
	m.Workspaces[1100].Access.Consumers = []string{"postgres"}
	sharded := obLint(m)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	if diff := gocmp.Diff(obLint(m), sharded); diff != "" {
		t.Errorf("inline vs sharded (-inline +sharded):\n%s", diff)
	}
	if len(sharded) != 1202 {
		t.Errorf("got %d problems, want 1202", len(sharded))
	}
}

// BenchmarkObjectRules runs the object rules over the spec's large model: 10,000 datastores,
// 100,000 datasets, 3,000 workspaces (the index is built once, outside the loop: it is shared by
// every rule of a run).
func BenchmarkObjectRules(b *testing.B) {
	m := obBigModel(10000, 3000)
	src := obSrc(m)
	x := NewContext(m, src).Index
	for b.Loop() {
		c := &Context{Model: m, Index: x, Src: src}
		checkDatastores(c)
		checkWorkspaces(c)
		checkAssignments(c)
	}
}
