package benchsched_test

import (
	"log/slog"
	"os"
	"strconv"
	"testing"

	"github.com/datasurface/datasurface/kit/temporalserver"
	"github.com/datasurface/datasurface/services/scheduler/benchsched"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
)

// BenchmarkReconcile measures one commit adding streams (default 1,000; BENCH_STREAMS
// overrides; BENCH_CONCURRENCY sets the schedule calls in flight) against the Temporal dev server in memory, on a SQLite file (kit/temporalserver's
// Persist: WAL, no fsync per commit), and on a SQLite file with SQLite's default rollback
// journal (an fsync per commit: the cause of the slow persisted figure before). Target: ≤ 30 s
// for 1,000 streams.
func BenchmarkReconcile(b *testing.B) {
	n, conc := 1000, 0
	if v, err := strconv.Atoi(os.Getenv("BENCH_STREAMS")); err == nil && v > 0 {
		n = v
	}
	if v, err := strconv.Atoi(os.Getenv("BENCH_CONCURRENCY")); err == nil && v > 0 {
		conc = v // schedule calls in flight (default: the scheduler's, 16)
	}
	for _, tc := range []struct {
		name string
		opt  func(*temporalserver.Options)
	}{
		{"memory", func(*temporalserver.Options) {}},
		{"sqlite", func(o *temporalserver.Options) { o.Persist = true }},
		{"sqlite-fsync", func(o *temporalserver.Options) {
			o.Persist = true
			o.Args = []string{"--sqlite-pragma", "journal_mode=delete", "--sqlite-pragma", "synchronous=full"}
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv := temporalserver.StartForTest(b, tc.opt)
			c, err := client.Dial(client.Options{HostPort: srv.Addr, Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			for range b.N {
				res, err := benchsched.Reconcile(b.Context(), c, n, conc)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(res.Created.Seconds(), "s/commit-new")
				b.ReportMetric(res.Again.Seconds(), "s/same-commit")
				b.ReportMetric(res.Fresh.Seconds(), "s/fresh-reconciler")
				b.ReportMetric(res.Restart.Seconds(), "s/restart-unchanged")
				b.ReportMetric(float64(res.RestartDescribed), "described/restart")
				b.ReportMetric(0, "ns/op")
			}
		})
	}
}
