package authz_test

import (
	"path/filepath"
	"testing"

	"github.com/datasurface/datasurface/model/authz"
	"github.com/datasurface/datasurface/model/load"
	"github.com/datasurface/datasurface/model/modeltest"
	"github.com/datasurface/datasurface/model/problem"
)

// BenchmarkCheck authorizes a one-team change of the benchmark model (10,000 datastores,
// 3,000 workspaces): the cost of authorization in the gate. The head is loaded as the gate loads
// it, reusing the base's unchanged files (the untouched teams are then the same objects in both
// models), and, for comparison, on its own.
func BenchmarkCheck(b *testing.B) {
	dir := b.TempDir()
	baseDir, headDir := filepath.Join(dir, "base"), filepath.Join(dir, "head")
	cfg := modeltest.DefaultConfig()
	if err := modeltest.Generate(baseDir, cfg); err != nil {
		b.Fatal(err)
	}
	if err := modeltest.CopyTree(baseDir, headDir); err != nil {
		b.Fatal(err)
	}
	team := modeltest.Teams(cfg)[37]
	if err := modeltest.Change(headDir, team); err != nil {
		b.Fatal(err)
	}
	base, err := load.Dir(baseDir, load.Options{Side: problem.Base, Lenient: true})
	if err != nil {
		b.Fatal(err)
	}
	source := modeltest.TeamRepo(team)
	for _, reuse := range []bool{true, false} {
		name := "reuse"
		opts := load.Options{Side: problem.Head, Reuse: base}
		if !reuse {
			name, opts.Reuse = "fresh", nil
		}
		b.Run(name, func(b *testing.B) {
			head, err := load.Dir(headDir, opts)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if ps := authz.Check(base.Model, head.Model, base.Source, head.Source, source); len(ps) != 0 {
					b.Fatalf("unexpected problems: %v", ps)
				}
			}
		})
	}
}
