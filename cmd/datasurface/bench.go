package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/datasurface/datasurface/model/gate"
	"github.com/datasurface/datasurface/model/load"
	"github.com/datasurface/datasurface/model/modeltest"
	"github.com/datasurface/datasurface/model/problem"
)

const benchSynopsis = `datasurface bench [--dir DIR] [--keep] [--datastores N] [--datasets-per-store N] [--workspaces N]

Measures the figures the issues name and prints each beside the limit it is compared with,
measured in the same run. Suite "gate": a generated model (default 10,000 datastores,
100,000 datasets, 3,000 workspaces) and a one-team change of it; the full gate (load both
versions + lint + authorization + compatibility), its wall time and the process's peak RSS.`

// benchLimits are the targets of the gate issue on a 2-core machine.
const (
	gateTimeLimit = 2 * time.Second
	gateRSSLimit  = 2 << 30
)

func (c *cli) bench(ctx context.Context, args []string) error {
	fs := c.newFlagSet("bench", benchSynopsis)
	dir := fs.String("dir", "", "directory for the generated models (default: a temporary directory, on /dev/shm when present)")
	keep := fs.Bool("keep", false, "keep the generated models")
	cfg := modeltest.DefaultConfig()
	fs.IntVar(&cfg.Datastores, "datastores", cfg.Datastores, "datastores in the generated model")
	fs.IntVar(&cfg.DatasetsPerDatastore, "datasets-per-store", cfg.DatasetsPerDatastore, "datasets per datastore")
	fs.IntVar(&cfg.Workspaces, "workspaces", cfg.Workspaces, "workspaces in the generated model")
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	root := *dir
	if root == "" {
		parent := ""
		if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
			parent = "/dev/shm"
		}
		var err error
		if root, err = os.MkdirTemp(parent, "datasurface-bench-"); err != nil {
			return cannotRun(err)
		}
	}
	if !*keep {
		defer os.RemoveAll(root)
	}
	return c.benchGate(ctx, root, cfg)
}

func (c *cli) benchGate(ctx context.Context, root string, cfg modeltest.Config) error {
	base, head := filepath.Join(root, "base"), filepath.Join(root, "head")
	team := modeltest.Teams(cfg)[0]
	start := time.Now()
	if err := modeltest.Generate(base, cfg); err != nil {
		return cannotRun(fmt.Errorf("generate model: %w", err))
	}
	if err := modeltest.CopyTree(base, head); err != nil {
		return cannotRun(err)
	}
	if err := modeltest.Change(head, team); err != nil {
		return cannotRun(fmt.Errorf("change team %s: %w", team, err))
	}
	fmt.Fprintf(c.stdout, "bench gate: %d datastores, %d datasets, %d workspaces; change by %s (generated in %s)\n",
		cfg.Datastores, cfg.Datastores*cfg.DatasetsPerDatastore, cfg.Workspaces, team, time.Since(start).Round(time.Millisecond))

	runtime.GC()
	debug.FreeOSMemory()
	resetPeakRSS()
	start = time.Now()
	baseRes, err := load.Dir(base, load.Options{Side: problem.Base, Lenient: true})
	if err != nil {
		return cannotRun(err)
	}
	headRes, err := load.Dir(head, load.Options{Side: problem.Head})
	if err != nil {
		return cannotRun(err)
	}
	loaded := time.Since(start)
	rep, err := gate.Run(ctx, gate.Input{
		Base: baseRes, Head: headRes, Source: modeltest.TeamRepo(team),
		Platforms: platformRules(), HistoryGiven: true,
	})
	if err != nil {
		return cannotRun(err)
	}
	total := time.Since(start)
	peak := peakRSS()

	errs, warns, infos := rep.Counts()
	fmt.Fprintf(c.stdout, "  verdict: %s (%d errors, %d warnings, %d info), %d changes\n",
		gate.ResultText(rep.Passed), errs, warns, infos, len(rep.Changes))
	if !rep.Passed {
		gate.WriteProblems(c.stdout, rep.Problems[:min(len(rep.Problems), 10)])
		return cannotRun(fmt.Errorf("bench gate: the generated one-team change must pass the gate"))
	}
	fmt.Fprintf(c.stdout, "  %-34s %10s\n", "load base + head", loaded.Round(time.Millisecond))
	ok := true
	ok = benchLine(c.stdout, "gate.full (load+lint+authz+compat)", total.Seconds(), gateTimeLimit.Seconds(), "s") && ok
	if peak > 0 {
		ok = benchLine(c.stdout, "gate.peak_rss", float64(peak)/(1<<20), float64(gateRSSLimit)/(1<<20), "MiB") && ok
	}
	fmt.Fprintf(c.stdout, "  (GOMAXPROCS=%d; the original Python implementation needs about 4 s just to lint 40,000 datasets)\n", runtime.GOMAXPROCS(0))
	if !ok {
		return &exitError{Code: exitProblems}
	}
	return nil
}

// benchLine prints a measured figure beside its limit and reports whether it is within it.
func benchLine(w io.Writer, name string, got, limit float64, unit string) bool {
	verdict := "ok"
	if got > limit {
		verdict = "OVER LIMIT"
	}
	fmt.Fprintf(w, "  %-34s %10.3f %-3s  limit %10.3f %-3s  %s\n", name, got, unit, limit, unit, verdict)
	return got <= limit
}

// resetPeakRSS resets the kernel's high-water mark of this process's resident set (Linux;
// a no-op elsewhere), so peakRSS measures from here on.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS returns the process's peak resident set size in bytes (VmHWM), or 0 when unknown.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
