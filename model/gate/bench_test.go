package gate_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/datasurface/datasurface/model/gate"
	"github.com/datasurface/datasurface/model/load"
	"github.com/datasurface/datasurface/model/modeltest"
	"github.com/datasurface/datasurface/model/problem"
)

// BenchmarkGateFull runs the whole gate as `datasurface validate` does — load the base, load the
// head reusing the base's unchanged files, lint, change source, authorization, compatibility and
// the change set — on a one-team change of the benchmark model (modeltest.DefaultConfig: 10,000
// datastores, 100,000 datasets, 3,000 workspaces). Generating the model is not measured. Platform
// rules live with their platforms and are left out here; `datasurface bench` includes Yellow's.
func BenchmarkGateFull(b *testing.B) {
	if testing.Short() {
		b.Skip("the benchmark model takes a few seconds to generate")
	}
	dir := b.TempDir()
	baseDir, headDir := filepath.Join(dir, "base"), filepath.Join(dir, "head")
	cfg := modeltest.DefaultConfig()
	if err := modeltest.Generate(baseDir, cfg); err != nil {
		b.Fatal(err)
	}
	if err := modeltest.CopyTree(baseDir, headDir); err != nil {
		b.Fatal(err)
	}
	team := modeltest.Teams(cfg)[0]
	if err := modeltest.Change(headDir, team); err != nil {
		b.Fatal(err)
	}
	source := modeltest.TeamRepo(team)
	var loadBase, loadHead, run time.Duration
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		t0 := time.Now()
		base, err := load.Dir(baseDir, load.Options{Side: problem.Base, Lenient: true})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		head, err := load.Dir(headDir, load.Options{Side: problem.Head, Reuse: base})
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		rep, err := gate.Run(b.Context(), gate.Input{Base: base, Head: head, Source: source, HistoryGiven: true})
		if err != nil {
			b.Fatal(err)
		}
		loadBase, loadHead, run = loadBase+t1.Sub(t0), loadHead+t2.Sub(t1), run+time.Since(t2)
		if !rep.Passed || len(rep.Changes) == 0 {
			b.Fatalf("the one-team change must pass with changes: passed %v, %d changes, problems %v",
				rep.Passed, len(rep.Changes), rep.Problems[:min(len(rep.Problems), 5)])
		}
	}
	// CPU time of all threads is steadier than wall time on a shared machine.
	n := float64(b.N)
	b.ReportMetric(float64(cpuTime()-cpu0)/n, "cpu-ns/op")
	b.ReportMetric(float64(loadBase)/n, "load-base-ns/op")
	b.ReportMetric(float64(loadHead)/n, "load-head-ns/op")
	b.ReportMetric(float64(run)/n, "run-ns/op")
}
