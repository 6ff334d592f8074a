package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/datasurface/datasurface/kit/pgcluster"
	"github.com/datasurface/datasurface/services/merge/benchyellow"
)

// Targets of the Yellow data plane issue.
const (
	yellowIngestFloor   = 0.7 // ingest rows/s ÷ the staging-shaped COPY-to-COPY limit
	yellowLiveFloor     = 0.7 // live merge changed rows/s ÷ the hand-written statements'
	yellowForensicFloor = 0.5
	yellowSmallLimit    = 50 * time.Millisecond // a 10-row batch's fixed overhead
	yellowMemLimit      = 200 << 20             // ingest peak memory
	yellowDefaultRows   = 1000000
	// yellowRowsEnv overrides the size of the large table (bench.go's flags are shared by
	// every suite).
	yellowRowsEnv = "DATASURFACE_BENCH_ROWS"
)

func init() {
	benchSuites["yellow"] = benchSuite{
		summary: "Yellow data plane: ingest and live/forensic merge rates beside their physical limits, whole batches, a 10-row batch's overhead and ingest memory (own PostgreSQL; " + yellowRowsEnv + " sets the rows, default 1,000,000)",
		run:     benchYellow,
	}
}

func benchYellow(ctx context.Context, c *cli, o benchOptions) error {
	rows := yellowDefaultRows
	if v := os.Getenv(yellowRowsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 3000 {
			return usageErrorf("bench yellow: %s=%q is not a number of rows ≥ 3000", yellowRowsEnv, v)
		}
		rows = n
	}
	// The ingest and merge services run with the runtime's default collector, as under
	// `serve`, not with the one-shot setting of this command (collection off below 1.5 GiB):
	// the memory figure is the services' own.
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	runtime.GC()
	loadBefore := loadAverage()
	cl, err := pgcluster.Open(ctx, filepath.Join(o.root, "pg"), pgcluster.Options{})
	if err != nil {
		return cannotRun(fmt.Errorf("bench yellow: PostgreSQL: %w", err))
	}
	if err := cl.Start(ctx); err != nil {
		return cannotRun(fmt.Errorf("bench yellow: start PostgreSQL: %w", err))
	}
	defer func() { _ = cl.Stop(context.WithoutCancel(ctx)) }()

	fmt.Fprintf(c.stdout, "bench yellow: %d-row snapshot table, changes of 1%% and 10%% per batch (a third each inserted, updated, deleted)\n", rows)
	for _, l := range []string{
		"  ingest limit = PostgreSQL alone producing the ingest's staged rows: COPY (SELECT …) TO STDOUT piped into COPY FROM STDIN",
		"    of an empty table with the staging table's columns and unique index (the spec requires both; every ingest pays",
		"    them); per batch the faster of \"SQL-hashed\" (source model columns + batch id + all/key hash in the normative SQL",
		"    form) and \"restaged\" (the staged rows, hashes included, read back from staging). \"raw COPY\" = the model columns",
		"    piped into a plain unindexed table: for reference only, not the target's denominator.",
	} {
		fmt.Fprintln(c.stdout, l)
	}
	start := time.Now()
	res, err := benchyellow.Run(ctx, benchyellow.Options{
		Host: "127.0.0.1", Port: cl.Port, Dir: o.root, Rows: rows, SmallBatches: 30 * o.runs,
		Progress: func(line string) { fmt.Fprintf(c.stdout, "    %s\n", line) },
	})
	if err != nil {
		return cannotRun(fmt.Errorf("bench yellow: %w", err))
	}
	w := c.stdout
	ok := true
	fmt.Fprintf(w, "  ingest: %.0f rows/s (%.0f B/row, %.1f MiB/s), limit (staging-shaped COPY pipe) %.0f rows/s (median of %d snapshot ingests)\n",
		res.IngestRate, res.RowBytes, res.IngestRate*res.RowBytes/(1<<20), res.IngestLimit, res.IngestBatches)
	fmt.Fprintf(w, "  (limit pipes, medians: SQL-hashed %.0f rows/s, restaged %.0f rows/s)\n", res.IngestHashedLimit, res.IngestRestageLimit)
	fmt.Fprintf(w, "  (raw COPY, for reference only: model columns into an unindexed table %.0f rows/s; ingest ÷ raw %.3f)\n",
		res.IngestRawLimit, res.IngestRate/res.IngestRawLimit)
	ok = benchLineMin(w, "ingest rows/s ÷ COPY limit", res.IngestRate/res.IngestLimit, yellowIngestFloor) && ok
	for _, f := range res.Merges {
		kind, floor := "live", yellowLiveFloor
		if f.Forensic {
			kind, floor = "forensic", yellowForensicFloor
		}
		fmt.Fprintf(w, "  %s merge, %d%% changed: %d rows in %s = %.0f rows/s; hand-written %s = %.0f rows/s; whole batch %s (ingest %s)\n",
			kind, f.Percent, f.Changed, f.Merge.Round(time.Millisecond), f.MergeRate(), f.Limit.Round(time.Millisecond), f.LimitRate(),
			f.Batch.Round(time.Millisecond), f.Ingest.Round(time.Millisecond))
		ok = benchLineMin(w, fmt.Sprintf("%s merge %d%% ÷ hand-written", kind, f.Percent), f.MergeRate()/f.LimitRate(), floor) && ok
	}
	ok = benchLine(w, "10-row batch (median, warm)", float64(res.SmallBatch.Microseconds())/1000, float64(yellowSmallLimit.Milliseconds()), "ms") && ok
	fmt.Fprintf(w, "  (10-row batch: ingest share %s)\n", res.SmallIngest.Round(10*time.Microsecond))
	ok = benchLine(w, "ingest peak Go heap", float64(res.PeakHeap)/(1<<20), float64(yellowMemLimit)/(1<<20), "MiB") && ok
	ok = benchLine(w, "ingest peak RSS (whole process)", float64(res.PeakRSS)/(1<<20), float64(yellowMemLimit)/(1<<20), "MiB") && ok
	fmt.Fprintf(w, "  (before the first ingest: heap %.1f MiB, RSS %.1f MiB; GOMAXPROCS=%d%s at the start%s at the end; %s in all)\n",
		float64(res.BaseHeap)/(1<<20), float64(res.BaseRSS)/(1<<20), runtime.GOMAXPROCS(0), loadBefore, strings.Replace(loadAverage(), "; load average", ",", 1),
		time.Since(start).Round(time.Second))
	if !ok {
		return &exitError{Code: exitProblems}
	}
	return nil
}

// benchLineMin prints a higher-is-better figure (a ratio) beside its floor and reports whether
// it reaches it.
func benchLineMin(w io.Writer, name string, got, floor float64) bool {
	verdict := "ok"
	if got < floor {
		verdict = "UNDER FLOOR"
	}
	fmt.Fprintf(w, "  %-34s %10.3f      floor %10.3f      %s\n", name, got, floor, verdict)
	return got >= floor
}
