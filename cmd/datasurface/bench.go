package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/datasurface/datasurface/model/gate"
	"github.com/datasurface/datasurface/model/load"
	"github.com/datasurface/datasurface/model/modeltest"
	"github.com/datasurface/datasurface/model/problem"
)

const benchSynopsis = `datasurface bench [--suite NAME,…] [--dir DIR] [--keep] [--datastores N] [--datasets-per-store N]
                  [--workspaces N] [--runs N] [--cpuprofile FILE] [--memprofile FILE]

Measures the figures the issues name and prints each beside the limit it is compared with,
measured in the same run. Exit status 1 when a figure is over its limit.

Suite "gate": a generated model (default 10,000 datastores, 100,000 datasets, 3,000
workspaces) and a one-team change of it; the full gate (load both versions + lint +
authorization + compatibility), its wall time and the process's peak RSS. Other suites are
listed under --suite; suites that need Postgres or Temporal start them themselves.`

// benchSuite is one named group of figures. run prints each figure with benchLine and returns
// an *exitError with exitProblems when one is over its limit. Suites register themselves in
// benchSuites from their own file's init.
type benchSuite struct {
	summary string
	run     func(ctx context.Context, c *cli, o benchOptions) error
}

// benchOptions are the flags every suite sees.
type benchOptions struct {
	root string // a scratch directory the suite may use (removed afterwards unless --keep)
	runs int
}

// benchSuites are the suites by name; "gate" is the default.
var benchSuites = map[string]benchSuite{}

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
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the measured gate runs to this file")
	runs := fs.Int("runs", 1, "measure the gate this many times and report the run of median wall time")
	memprofile := fs.String("memprofile", "", "write a heap profile, taken at the end of the (last) gate run, to this file")
	var suites []string
	fs.Var((*listFlag)(&suites), "suite", "the suites to run, by `name` (repeatable, or comma-separated; \"all\" for every one): "+benchSuiteNames())
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if len(suites) == 0 {
		suites = []string{"gate"}
	}
	if slices.Contains(suites, "all") {
		suites = slices.Sorted(maps.Keys(benchSuites))
		suites = append([]string{"gate"}, suites...)
	}
	for _, s := range suites {
		if _, ok := benchSuites[s]; !ok && s != "gate" {
			return usageErrorf("bench: unknown suite %q (suites: %s)", s, benchSuiteNames())
		}
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
	var over error
	for _, name := range slices.Compact(suites) {
		// Each suite starts from a collected heap returned to the OS, so a memory figure does
		// not carry what an earlier suite left behind (one-shot commands run with the GC off).
		runtime.GC()
		debug.FreeOSMemory()
		var err error
		if name == "gate" {
			err = c.benchGate(ctx, filepath.Join(root, "gate"), cfg, *runs, *cpuprofile, *memprofile)
		} else {
			dir := filepath.Join(root, name)
			if err = os.MkdirAll(dir, 0o755); err != nil {
				return cannotRun(err)
			}
			err = benchSuites[name].run(ctx, c, benchOptions{root: dir, runs: max(*runs, 1)})
		}
		var ee *exitError
		switch {
		case errors.As(err, &ee) && ee.Code == exitProblems:
			over = err // keep measuring the other suites
		case err != nil:
			return err
		}
	}
	return over
}

// benchSuiteNames lists the suites for usage texts.
func benchSuiteNames() string {
	names := append([]string{"gate"}, slices.Sorted(maps.Keys(benchSuites))...)
	return strings.Join(names, ", ")
}

func (c *cli) benchGate(ctx context.Context, root string, cfg modeltest.Config, runs int, cpuprofile, memprofile string) error {
	base, head := filepath.Join(root, "base"), filepath.Join(root, "head")
	team := modeltest.Teams(cfg)[0]
	loadavg := loadAverage() // before this process adds to it
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

	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return cannotRun(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return cannotRun(err)
		}
		defer pprof.StopCPUProfile()
	}
	var ms []gateMeasure
	for i := range max(runs, 1) {
		heap := ""
		if i == max(runs, 1)-1 {
			heap = memprofile
		}
		m, err := measureGate(ctx, base, head, team, heap)
		if err != nil {
			return err
		}
		ms = append(ms, m)
	}
	rep := ms[0].rep
	errs, warns, infos := rep.Counts()
	fmt.Fprintf(c.stdout, "  verdict: %s (%d errors, %d warnings, %d info), %d changes\n",
		gate.ResultText(rep.Passed), errs, warns, infos, len(rep.Changes))
	if !rep.Passed {
		gate.WriteProblems(c.stdout, rep.Problems[:min(len(rep.Problems), 10)])
		return cannotRun(fmt.Errorf("bench gate: the generated one-team change must pass the gate"))
	}
	// The run of median total wall time is shown (the only one, by default); other engineers'
	// jobs on a shared machine inflate wall times, so the load average and CPU times are shown
	// too.
	byWall := slices.Clone(ms)
	slices.SortFunc(byWall, func(a, b gateMeasure) int { return cmp.Compare(a.total.wall, b.total.wall) })
	m := byWall[len(byWall)/2]
	phase := func(name string, p phaseTime) {
		fmt.Fprintf(c.stdout, "  %-34s %10s  (cpu %s)\n", name, p.wall.Round(time.Millisecond), p.cpu.Round(10*time.Millisecond))
	}
	phase("load base", m.base)
	phase("load head (reusing the base)", m.head)
	phase("gate.Run (lint+authz+compat)", m.gate)
	phase("total", m.total)
	if len(ms) > 1 {
		fmt.Fprintf(c.stdout, "  (median of %d runs; total wall min %s, max %s)\n", len(ms),
			byWall[0].total.wall.Round(time.Millisecond), byWall[len(byWall)-1].total.wall.Round(time.Millisecond))
		for i, x := range ms {
			fmt.Fprintf(c.stdout, "    run %d: base %s, head %s, gate %s = %s wall, %s cpu\n", i+1,
				x.base.wall.Round(time.Millisecond), x.head.wall.Round(time.Millisecond), x.gate.wall.Round(time.Millisecond),
				x.total.wall.Round(time.Millisecond), x.total.cpu.Round(10*time.Millisecond))
		}
	}
	var peak int64
	for _, x := range ms {
		peak = max(peak, x.peak)
	}
	ok := true
	ok = benchLine(c.stdout, "gate.full (load+lint+authz+compat)", m.total.wall.Seconds(), gateTimeLimit.Seconds(), "s") && ok
	if peak > 0 {
		ok = benchLine(c.stdout, "gate.peak_rss", float64(peak)/(1<<20), float64(gateRSSLimit)/(1<<20), "MiB") && ok
	}
	fmt.Fprintf(c.stdout, "  (GOMAXPROCS=%d%s; the original Python implementation needs about 4 s just to lint 40,000 datasets)\n",
		runtime.GOMAXPROCS(0), loadavg)
	if !ok {
		return &exitError{Code: exitProblems}
	}
	return nil
}

// phaseTime is the wall and CPU time of one phase.
type phaseTime struct{ wall, cpu time.Duration }

// gateMeasure is one measured gate run.
type gateMeasure struct {
	base, head, gate, total phaseTime
	peak                    int64
	rep                     *gate.Report
}

// measureGate loads base and head (reusing the base, as `datasurface validate` does) and runs
// the gate, timing each phase. Profile labels (phase) let `go tool pprof -tagfocus` split a
// --cpuprofile by phase, goroutines included. A heap profile is written to heapFile (when set)
// while both models are still live.
func measureGate(ctx context.Context, base, head, team, heapFile string) (gateMeasure, error) {
	runtime.GC()
	debug.FreeOSMemory()
	resetPeakRSS()
	var m gateMeasure
	start, cpu0 := time.Now(), cpuTime()
	lap := func(p *phaseTime) {
		p.wall, p.cpu = time.Since(start), cpuTime()-cpu0
		start, cpu0 = time.Now(), cpuTime()
	}
	begin, cpuBegin := start, cpu0
	var baseRes, headRes *load.Result
	var err error
	pprof.Do(ctx, pprof.Labels("phase", "load-base"), func(context.Context) {
		baseRes, err = load.Dir(base, load.Options{Side: problem.Base, Lenient: true})
	})
	if err != nil {
		return m, cannotRun(err)
	}
	lap(&m.base)
	pprof.Do(ctx, pprof.Labels("phase", "load-head"), func(context.Context) {
		headRes, err = load.Dir(head, load.Options{Side: problem.Head, Reuse: baseRes})
	})
	if err != nil {
		return m, cannotRun(err)
	}
	lap(&m.head)
	pprof.Do(ctx, pprof.Labels("phase", "gate"), func(ctx context.Context) {
		m.rep, err = gate.Run(ctx, gate.Input{
			Base: baseRes, Head: headRes, Source: modeltest.TeamRepo(team),
			Platforms: platformRules(), HistoryGiven: true,
		})
	})
	if err != nil {
		return m, cannotRun(err)
	}
	lap(&m.gate)
	m.total = phaseTime{wall: time.Since(begin), cpu: cpuTime() - cpuBegin}
	m.peak = peakRSS()
	if heapFile != "" {
		f, err := os.Create(heapFile)
		if err != nil {
			return m, cannotRun(err)
		}
		defer f.Close()
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			return m, cannotRun(err)
		}
		runtime.KeepAlive(baseRes)
		runtime.KeepAlive(headRes)
	}
	return m, nil
}

// loadAverage renders the machine's 1-minute load average ("; load average 1.23" — other jobs
// on a shared machine inflate wall times), or "" when unknown (Linux only).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return "; load average " + f[0]
	}
	return ""
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

// cpuTime returns the user + system CPU time this process has used (Linux, from
// /proc/self/stat; 0 elsewhere).
func cpuTime() time.Duration {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	// Fields after the command name (in parentheses, which may contain spaces): utime is
	// field 14 and stime field 15 of the whole line, in clock ticks (USER_HZ, 100 on Linux).
	_, rest, ok := strings.Cut(string(b), ") ")
	if !ok {
		return 0
	}
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	const userHZ = 100
	return time.Duration(utime+stime) * (time.Second / userHZ)
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
