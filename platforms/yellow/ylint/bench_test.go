package ylint

import (
	"fmt"
	"testing"
	"time"

	"github.com/datasurface/datasurface/model/lint"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// largeModel is the benchmark model of spec/model.md §5: 10,000 datastores with 100,000
// datasets of 6 columns, 3,000 workspaces of 30 sinks (300 of them transformers), on Yellow
// platforms Live (every group) and Forensic (every other group; primary ingestion platform of
// every tenth datastore), both in one merge database.
func largeModel() *modelv1.Model {
	const stores, perStore, workspaces, sinks, transformers = 10000, 10, 3000, 30, 300
	m := &modelv1.Model{Psps: []*modelv1.PlatformServicesProvider{{
		Name: "Core", Platforms: []*modelv1.DataPlatform{yellow("Forensic", forensic), yellow("Live", liveOnly)},
	}}}
	cols := []*modelv1.Column{
		column("id", "BigInt"), column("name", "VarChar"), column("amount", "IEEE64"),
		column("at", "Timestamp"), column("flag", "Boolean"), column("doc", "Variant"),
	}
	for i := range stores {
		c := modelv1.Consistency_CONSISTENCY_MULTI_DATASET
		if i%3 == 0 {
			c = modelv1.Consistency_CONSISTENCY_SINGLE_DATASET
		}
		s := &modelv1.Datastore{
			Name: fmt.Sprintf("Store%05d", i), Zone: "Z", Team: "T",
			Capture: &modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_SqlSnapshot{SqlSnapshot: &modelv1.SqlSnapshotCapture{
				Container: postgres("src", "db"), Credential: userPassword("SRC"), Consistency: c, Trigger: cron(),
			}}},
		}
		for j := range perStore {
			s.Datasets = append(s.Datasets, dataset(fmt.Sprintf("ds%02d", j), cols...))
		}
		m.Datastores = append(m.Datastores, s)
		if i%10 == 0 {
			m.PrimaryIngestions = append(m.PrimaryIngestions, &modelv1.PrimaryIngestion{Datastore: s.GetName(), Platforms: []string{"Forensic"}})
		}
	}
	for i := range transformers {
		m.Datastores = append(m.Datastores, &modelv1.Datastore{
			Name: fmt.Sprintf("Tx%05d", i), Zone: "Z", Team: "T",
			Capture: &modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_TransformerOutput{
				TransformerOutput: &modelv1.TransformerOutputCapture{Workspace: fmt.Sprintf("Work%05d", i)},
			}},
			Datasets: []*modelv1.Dataset{dataset("out", cols...)},
		})
	}
	for i := range workspaces {
		g := &modelv1.DatasetGroup{Name: "main"}
		for k := range sinks {
			n := (i*sinks + k) * 7919 % (stores * perStore)
			g.Sinks = append(g.Sinks, sink(fmt.Sprintf("Store%05d", n/perStore), fmt.Sprintf("ds%02d", n%perStore)))
		}
		w := &modelv1.Workspace{Name: fmt.Sprintf("Work%05d", i), Zone: "Z", Team: "T", Priority: modelv1.Priority(1 + i%5)}
		w.DatasetGroups = []*modelv1.DatasetGroup{g}
		if i < transformers {
			w.Transformer = &modelv1.DataTransformer{Name: fmt.Sprintf("tx%05d", i), OutputDatastore: fmt.Sprintf("Tx%05d", i),
				Code: &modelv1.TransformerCode{Kind: &modelv1.TransformerCode_Sql{Sql: &modelv1.SqlTransformerCode{}}}}
			m.Workspaces = append(m.Workspaces, w)
			continue
		}
		if i%10 == 0 {
			g.Sinks = append(g.Sinks, sink(fmt.Sprintf("Tx%05d", i%transformers), "out"))
		}
		m.Workspaces = append(m.Workspaces, w)
		if i%2 == 0 {
			g.PlatformRequirements = requires(modelv1.Milestoning_MILESTONING_LIVE_ONLY)
			m.Assignments = append(m.Assignments, assign(w.GetName(), "main", "Live"))
		} else {
			g.PlatformRequirements = requires(modelv1.Milestoning_MILESTONING_FORENSIC)
			m.Assignments = append(m.Assignments, assign(w.GetName(), "main", "Forensic"))
		}
	}
	return m
}

func BenchmarkCheck(b *testing.B) {
	m := largeModel()
	c := lint.NewContext(m, nil)
	b.ResetTimer()
	for b.Loop() {
		New().Check(c)
	}
}

// TestPlatformLargeModel lints the benchmark model, which must be clean, and logs the time. The
// budget (500 ms on two cores for graph and Yellow lint together) is measured by BenchmarkCheck,
// not asserted here: a loaded test machine or the race detector would make an assertion flaky.
func TestPlatformLargeModel(t *testing.T) {
	if testing.Short() {
		t.Skip("large model")
	}
	m := largeModel()
	c := lint.NewContext(m, nil)
	start := time.Now()
	New().Check(c)
	took := time.Since(start)
	t.Logf("Yellow lint of the large model: %v", took)
	if ps := c.Problems(); len(ps) > 0 {
		t.Errorf("large model: %d problems, first %v", len(ps), ps[0])
	}
}
