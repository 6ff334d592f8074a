package benchyellow_test

import (
	"os"
	"testing"

	"github.com/datasurface/datasurface/kit/pgtest"
	"github.com/datasurface/datasurface/services/merge/benchyellow"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Shutdown()
	os.Exit(code)
}

// TestRunSmall runs the whole bench on a small table: every figure is measured, the merge
// and the hand-written statements agree on every change batch, and the ingest limit's SQL
// hashes equal the hashes the ingest staged (Run fails otherwise).
func TestRunSmall(t *testing.T) {
	c := pgtest.Cluster(t)
	res, err := benchyellow.Run(t.Context(), benchyellow.Options{
		Host: "127.0.0.1", Port: c.Port, Dir: t.TempDir(), Rows: 30000, SmallBatches: 5, Progress: func(l string) { t.Log(l) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.IngestBatches != 6 || res.IngestRate <= 0 || res.IngestLimit <= 0 || res.RowBytes < 150 || res.PeakHeap == 0 || res.PeakRSS == 0 {
		t.Errorf("ingest figures: %+v", res)
	}
	// The limit is the faster staging-shaped pipe (per batch, so its median is at least either
	// pipe's median); the raw pipe is measured beside it.
	if res.IngestHashedLimit <= 0 || res.IngestRestageLimit <= 0 || res.IngestRawLimit <= 0 ||
		res.IngestLimit < res.IngestHashedLimit || res.IngestLimit < res.IngestRestageLimit {
		t.Errorf("ingest limits: limit %.0f, SQL-hashed %.0f, restaged %.0f, raw %.0f rows/s",
			res.IngestLimit, res.IngestHashedLimit, res.IngestRestageLimit, res.IngestRawLimit)
	}
	if len(res.Merges) != 4 {
		t.Fatalf("merges: %+v", res.Merges)
	}
	for _, f := range res.Merges {
		// Later changes overlap earlier ones a little (a key deleted twice counts once).
		if want := float64(30000 * f.Percent / 100); float64(f.Changed) < 0.85*want || float64(f.Changed) > 1.1*want || f.Merge <= 0 || f.Limit <= 0 || f.Batch < f.Merge+f.Ingest {
			t.Errorf("%d%% (forensic %t): %+v, want about %.0f changed", f.Percent, f.Forensic, f, want)
		}
	}
	if res.SmallBatch <= 0 || res.SmallIngest <= 0 || res.SmallIngest > res.SmallBatch {
		t.Errorf("10-row batch: %v, ingest %v", res.SmallBatch, res.SmallIngest)
	}
}
