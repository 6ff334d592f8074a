package graph

import (
	"fmt"
	"testing"
	"time"

	"github.com/datasurface/datasurface/model/index"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// benchModel is the size of spec/model.md §5's target: 10,000 datastores with 100,000
// datasets, 3,000 workspaces (300 of them transformers) of 30 sinks each, every dataset group on
// platform Live and every other one also on Forensic, which is the primary ingestion platform of
// every tenth datastore.
func benchModel() *modelv1.Model {
	m := &modelv1.Model{Psps: platforms("Forensic", "Live")}
	const stores, perStore, workspaces, sinks, transformers = 10000, 10, 3000, 30, 300
	for i := range stores {
		c := multi
		if i%3 == 0 {
			c = single
		}
		names := make([]string, perStore)
		for j := range names {
			names[j] = fmt.Sprintf("ds%02d", j)
		}
		m.Datastores = append(m.Datastores, store(fmt.Sprintf("Store%05d", i), c, names...))
		if i%10 == 0 {
			m.PrimaryIngestions = append(m.PrimaryIngestions, &modelv1.PrimaryIngestion{
				Datastore: fmt.Sprintf("Store%05d", i), Platforms: []string{"Forensic"},
			})
		}
	}
	for i := range transformers {
		m.Datastores = append(m.Datastores, output(fmt.Sprintf("Tx%05d", i), fmt.Sprintf("Work%05d", i), "out"))
	}
	for i := range workspaces {
		g := &modelv1.DatasetGroup{Name: "main"}
		for k := range sinks {
			n := (i*sinks + k) * 7919 % (stores * perStore)
			g.Sinks = append(g.Sinks, &modelv1.DatasetSink{Datastore: fmt.Sprintf("Store%05d", n/perStore), Dataset: fmt.Sprintf("ds%02d", n%perStore)})
		}
		if i >= transformers && i%10 == 0 {
			g.Sinks = append(g.Sinks, &modelv1.DatasetSink{Datastore: fmt.Sprintf("Tx%05d", i%transformers), Dataset: "out"})
		}
		w := workspace(fmt.Sprintf("Work%05d", i), modelv1.Priority(1+i%5), g)
		if i < transformers {
			transformer(w, fmt.Sprintf("Tx%05d", i))
			m.Workspaces = append(m.Workspaces, w)
			continue
		}
		m.Workspaces = append(m.Workspaces, w)
		a := assign(w.GetName(), "main", on{"Live", provisioned})
		if i%2 == 0 {
			a.Platforms = append(a.Platforms, &modelv1.PlatformAssignment{Platform: "Forensic", Status: provisioned})
		}
		m.Assignments = append(m.Assignments, a)
	}
	return m
}

func BenchmarkBuild(b *testing.B) {
	m := benchModel()
	x := index.New(m)
	b.ResetTimer()
	for b.Loop() {
		BuildIndex(x)
	}
}

// TestGraphLargeModel builds the benchmark model and logs the time. The budget (500 ms on two
// cores for graph and Yellow lint together) is measured by BenchmarkBuild, not asserted here: a
// loaded test machine or the race detector would make an assertion flaky.
func TestGraphLargeModel(t *testing.T) {
	if testing.Short() {
		t.Skip("large model")
	}
	x := index.New(benchModel())
	start := time.Now()
	e := BuildIndex(x)
	took := time.Since(start)
	live := e.Platforms["Live"]
	t.Logf("build: %v; Live: %d roots, %d streams, %d exports, %d nodes, %d edges",
		took, len(live.Roots), len(live.Streams), len(live.Exports), len(live.Nodes), len(live.Edges))
}
