package merge_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/datasurface/datasurface/services/merge"
)

// BenchmarkBatch measures the fixed overhead of one whole batch of a 10-row stream (target ≤ 50
// ms): RunCycle — ReconcileTables, StartBatch, the ingest service's IngestBatch, MergeBatch and
// ReconcileViews, each with its connections, locks and catalog reads — one row changed per
// batch. Reported beside it: the ingest step's share, the merge service's share (the rest), the
// MergeBatch step alone, and one round trip to the merge database (the floor every statement
// pays).
func BenchmarkBatch(b *testing.B) {
	for _, d := range []string{"YellowLive", "YellowForensic"} {
		b.Run(d, func(b *testing.B) {
			e := newEnv(b, merge.Config{})
			e.sql(sourceDDL)
			for i := 1; i <= 10; i++ {
				e.sql(fmt.Sprintf("INSERT INTO people VALUES (%d, 'p%d', 'e%d', %d)", i, i, i, i))
			}
			e.mustCycle(d, "Shop") // tables and views created once
			ctx := context.Background()
			var ingesting time.Duration
			ingest := e.ingest
			e.ingest = func(e *env, d, stream string) merge.Ingest {
				f := ingest(e, d, stream)
				return func(ctx context.Context, batch int32) error {
					t0 := time.Now()
					defer func() { ingesting += time.Since(t0) }()
					return f(ctx, batch)
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				e.sql(fmt.Sprintf("UPDATE people SET score = score + 1 WHERE id = %d", i%10+1))
				b.StartTimer()
				e.mustCycle(d, "Shop")
			}
			b.StopTimer()
			per := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
			b.ReportMetric(per(b.Elapsed()), "ms/batch")
			b.ReportMetric(per(ingesting), "ms/ingest")
			b.ReportMetric(per(b.Elapsed()-ingesting), "ms/merge-service")

			var merging time.Duration
			for i := 0; i < b.N; i++ {
				e.sql(fmt.Sprintf("UPDATE people SET score = score + 1 WHERE id = %d", i%10+1))
				st, err := e.act.StartBatch(ctx, merge.StartBatchInput{Platform: d, Stream: "Shop", Version: e.v()})
				if err != nil {
					b.Fatal(err)
				}
				if err := e.ingest(e, d, "Shop")(ctx, st.Batch); err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				if _, err := e.act.MergeBatch(ctx, merge.MergeBatchInput{Platform: d, Stream: "Shop", Version: e.v(), Batch: st.Batch}); err != nil {
					b.Fatal(err)
				}
				merging += time.Since(t0)
			}
			b.ReportMetric(per(merging), "ms/MergeBatch")
			t0 := time.Now()
			for i := 0; i < 200; i++ {
				if _, err := e.mrg.Exec(ctx, "SELECT 1"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(time.Since(t0).Microseconds())/1000/200, "ms/roundtrip")
		})
	}
}
