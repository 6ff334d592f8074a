package merge_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/datasurface/datasurface/services/merge"
	"github.com/datasurface/datasurface/services/merge/internal/mergetest"
)

// BenchmarkSecondary copies a primary's Ledger.entries of N rows (DATASURFACE_BENCH_ROWS,
// default 100,000) to both secondaries (yellow.md §8): the seed (every live version) and an
// incremental batch after 10% of the rows changed, each a whole RunCycle with the real ingest.
// Reported: rows/s of the copy's ingest and of the whole batch, beside the primary's own batch
// of the same rows (read from a SQL source) for scale.
func BenchmarkSecondary(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("DATASURFACE_BENCH_ROWS")); err == nil && v > 0 {
		n = v
	}
	for i := 0; i < b.N; i++ {
		e := newEnv(b, merge.Config{})
		e.setModel(mergetest.Options{Secondaries: true})
		e.sql(ledgerDDL, fmt.Sprintf(`INSERT INTO entries SELECT g, 'owner' || g, g / 100.0, '2026-01-01'::timestamp + g * interval '1 second', '\x0102', g %% 2 = 0 FROM generate_series(1, %d) g`, n))
		t0 := time.Now()
		e.mustCycle(primaryD, ledger)
		b.ReportMetric(float64(n)/time.Since(t0).Seconds(), "primary-rows/s")
		for _, d := range []string{copyD, mirrorD} {
			var ingest time.Duration
			orig := e.ingest
			e.ingest = func(e *env, d, stream string) merge.Ingest {
				f := orig(e, d, stream)
				return func(ctx context.Context, batch int32) error {
					t := time.Now()
					defer func() { ingest += time.Since(t) }()
					return f(ctx, batch)
				}
			}
			t0 = time.Now()
			e.mustCycle(d, ledger)
			b.ReportMetric(float64(n)/time.Since(t0).Seconds(), d+"-seed-rows/s")
			b.ReportMetric(float64(n)/ingest.Seconds(), d+"-seed-ingest-rows/s")
			e.ingest = orig
		}
		e.sql(fmt.Sprintf(`UPDATE entries SET owner = owner || 'x' WHERE id %% 10 = 0 AND id <= %d`, n))
		e.mustCycle(primaryD, ledger)
		for _, d := range []string{copyD, mirrorD} {
			t0 = time.Now()
			res := e.mustCycle(d, ledger)
			if res.Merge.Updated != int64(n/10) {
				b.Fatalf("%s incremental: %+v", d, res.Merge)
			}
			b.ReportMetric(float64(n/10)/time.Since(t0).Seconds(), d+"-incr-changed-rows/s")
		}
	}
}
