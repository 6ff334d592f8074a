package ingest_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/hashing"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/jackc/pgx/v5"

	"github.com/datasurface/datasurface/platforms/yellow/layout"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/ingest"
)

// bigTable creates source table big with n rows of about 200 bytes of COPY text each and
// returns the model dataset and the expected read query.
func (e *env) bigTable(n int) (*modelv1.Dataset, string) {
	e.t.Helper()
	e.execSrc(`CREATE TABLE big (id bigint, name text, amount numeric(12,2), created timestamptz, note text, flag boolean)`)
	e.execSrc(`INSERT INTO big SELECT g, 'name-' || g, (g % 100000) / 100.0, '2026-01-01'::timestamptz + g * interval '1 second',
		repeat(md5(g::text), 4), g % 2 = 0 FROM generate_series(1, $1::int) g`, n)
	e.execSrc(`ANALYZE big`)
	ds := dataset("big", []string{"id"},
		col("id", typ("BigInt"), false), col("name", sized("VarChar", 50), true), col("amount", decimal(12, 2), true),
		col("created", timestamp(""), true), col("note", typ("VarChar"), true), col("flag", typ("Boolean"), true))
	return ds, `SELECT "id", "name"::varchar(50) AS "name", "amount", ("created" AT TIME ZONE 'UTC') AS "created", "note", "flag" FROM big`
}

// copyProgress reads how many rows the COPY FROM into database db has processed.
func (e *env) copyProgress(db string) int64 {
	var n int64
	_ = e.src.QueryRow(context.Background(), `SELECT coalesce(max(tuples_processed), 0) FROM pg_stat_progress_copy WHERE datname = $1 AND command = 'COPY FROM'`, db).Scan(&n)
	return n
}

// TestCancelMidCopy cancels an ingest while the copy of a large table is under way: the batch
// is left started with nothing staged, and running it again stages exactly the source.
func TestCancelMidCopy(t *testing.T) {
	if testing.Short() {
		t.Skip("large table")
	}
	e := newEnv(t)
	const rows = 300000
	ds, query := e.bigTable(rows)
	m := e.model(e.snapshotStore("Store1", modelv1.Consistency_CONSISTENCY_MULTI_DATASET, nil, ds))
	e.setup(m)
	d := e.streams(m)["Store1"].datasets[0]
	b := e.open(m, "Store1")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := e.ingest(ctx, m, "Store1", b)
		done <- err
	}()
	var progress int64
	for deadline := time.Now().Add(30 * time.Second); progress < 20000; {
		if time.Now().After(deadline) {
			t.Fatal("the copy did not start")
		}
		select {
		case err := <-done:
			t.Fatalf("ingest ended before it was cancelled: %v", err)
		case <-time.After(2 * time.Millisecond):
		}
		progress = e.copyProgress(e.mergeDB)
	}
	cancel()
	err := <-done
	t.Logf("cancelled after %d of %d rows: %v", progress, rows, err)
	ingestErr(t, err, ingest.CodeCanceled, false)
	if n := e.stagedCount(d, layout.Snapshot, b); n != 0 {
		t.Errorf("%d rows staged after the cancelled ingest", n)
	}
	var res ingest.IngestBatchResult
	err = retryBusy(t, func() error {
		var err error
		res, err = e.ingest(context.Background(), m, "Store1", b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != rows || e.stagedCount(d, layout.Snapshot, b) != rows {
		t.Errorf("re-run staged %d rows, want %d", res.Total, rows)
	}
	if got, want := e.hashDigest(d, layout.Snapshot, b), e.sourceDigest(d, query); got != want {
		t.Errorf("staging after the re-run differs from the source: digest %s, want %s", got, want)
	}
	if bad, _ := e.badHashes(d, layout.Snapshot, b); bad != 0 {
		t.Errorf("%d rows with hashes that differ from the SQL form", bad)
	}
}

// memPeak samples the Go heap in use (MemStats.HeapInuse) and the process RSS until stop is
// closed and returns the peaks.
func memPeak(stop <-chan struct{}) (heap, rss uint64) {
	var ms runtime.MemStats
	for {
		runtime.ReadMemStats(&ms)
		heap, rss = max(heap, ms.HeapInuse), max(rss, processRSS())
		select {
		case <-stop:
			return heap, rss
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// processRSS is the resident set size of this process (Linux; 0 elsewhere).
func processRSS() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// TestFlatMemory ingests 100,000 and 1,000,000 rows of about 200 bytes: the Go heap and the
// process RSS stay flat (bounded by the copy buffers, not the table size) and under 200 MiB.
func TestFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("large tables")
	}
	const bound = 200 << 20
	var heaps, rsss []uint64
	for _, rows := range []int{100000, 1000000} {
		t.Run(strconv.Itoa(rows), func(t *testing.T) {
			e := newEnv(t)
			ds, _ := e.bigTable(rows)
			m := e.model(e.snapshotStore("Store1", modelv1.Consistency_CONSISTENCY_MULTI_DATASET, nil, ds))
			e.setup(m)
			b := e.open(m, "Store1")

			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			rss0 := processRSS()
			stop := make(chan struct{})
			var (
				heap, rss uint64
				wg        sync.WaitGroup
			)
			wg.Go(func() { heap, rss = memPeak(stop) })
			res := e.mustIngest(m, "Store1", b)
			close(stop)
			wg.Wait()
			t.Logf("%d rows, %d MiB of COPY text in %v: HeapInuse %.1f MiB before, peak %.1f MiB; RSS %.1f MiB before, peak %.1f MiB",
				res.Total, res.Bytes>>20, res.Duration, float64(before.HeapInuse)/(1<<20), float64(heap)/(1<<20), float64(rss0)/(1<<20), float64(rss)/(1<<20))
			if res.Total != int64(rows) {
				t.Errorf("staged %d rows", res.Total)
			}
			if heap > bound || rss > bound {
				t.Errorf("peak heap %.1f MiB, RSS %.1f MiB: above %d MiB", float64(heap)/(1<<20), float64(rss)/(1<<20), bound>>20)
			}
			// What the ingest added (earlier tests of the binary leave different heaps behind).
			heaps = append(heaps, heap-min(heap, before.HeapInuse))
			rsss = append(rsss, rss-min(rss, rss0))
		})
	}
	// Ten times the rows, the same memory (within the noise of the GC's pacing).
	if len(heaps) == 2 && (heaps[1] > heaps[0]+32<<20 || rsss[1] > rsss[0]+32<<20) {
		t.Errorf("memory grows with the table: the ingest added heap %.1f → %.1f MiB, RSS %.1f → %.1f MiB",
			float64(heaps[0])/(1<<20), float64(heaps[1])/(1<<20), float64(rsss[0])/(1<<20), float64(rsss[1])/(1<<20))
	}
}

// pipeCopy streams `COPY (query) TO STDOUT` on from into `COPY … FROM STDIN` (into) on to,
// without touching the data, and returns the rows copied.
func pipeCopy(ctx context.Context, from, to *pgx.Conn, query, into string) (int64, error) {
	pr, pw := io.Pipe()
	var (
		wg     sync.WaitGroup
		srcErr error
	)
	wg.Go(func() {
		_, srcErr = from.PgConn().CopyTo(ctx, pw, "COPY ("+query+") TO STDOUT")
		_ = pw.CloseWithError(srcErr)
	})
	tag, err := to.PgConn().CopyFrom(ctx, pr, into)
	_ = pr.CloseWithError(err)
	wg.Wait()
	return tag.RowsAffected(), errors.Join(err, srcErr)
}

// BenchmarkIngest ingests a 1,000,000-row snapshot of about 200 bytes per row and reports rows/s
// beside the physical limit measured in the same run, defined as in `datasurface bench --suite
// yellow` (services/merge/benchyellow/ingestlimit.go): PostgreSQL alone producing the staged
// rows in an empty copy of the staging table with its unique index, the faster of two `COPY
// (SELECT …) TO STDOUT` → `COPY … FROM STDIN` pipes — "hashed" (the source query plus the batch
// id and both hashes in the normative SQL form) and "restaged" (the staged rows, hashes
// included, read back from staging). "raw-limit" pipes the read query into a plain unindexed
// table with the model columns, for reference only. Limits are per iteration, untimed.
func BenchmarkIngest(b *testing.B) {
	e := newEnv(b)
	const rows = 1000000
	ds, query := e.bigTable(rows)
	m := e.model(e.snapshotStore("Store1", modelv1.Consistency_CONSISTENCY_MULTI_DATASET, nil, ds))
	e.setup(m)
	d := e.streams(m)["Store1"].datasets[0]
	staging := stagingOf(d, layout.Snapshot)
	e.execMerge(`CREATE TABLE public.sink (id bigint, name varchar(50), amount numeric(12,2), created timestamp, note varchar, flag boolean)`)
	e.execMerge(`CREATE TABLE public.staging_copy (LIKE ` + ddl.Ident(staging.Name) + ` INCLUDING ALL)`)
	other := connectCfg(b, e.merge.Config().Copy(), true)
	e.svc = e.service(ingest.Config{})
	if testing.Verbose() {
		e.svc = serviceWithLog(e, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}
	batch := e.open(m, "Store1")
	ctx := context.Background()
	cols := mergesql.StagingCopyColumns(staging)
	var sel []string
	for _, c := range cols {
		sel = append(sel, ddl.Quote(c))
	}
	restage := "SELECT " + strings.Join(sel, ", ") + " FROM " + ddl.Ident(staging.Name) + ` WHERE "ds_surf_batch_id" = ` + strconv.Itoa(int(batch))
	hashed := hashedQuery(b, staging, query, batch)
	into := mergesql.CopyFrom(naming.Name{Schema: "public", Name: "staging_copy"}, cols)
	limitCopy := func(from *pgx.Conn, q, what string) time.Duration {
		e.execMerge(`TRUNCATE public.staging_copy`)
		start := time.Now()
		if n, err := pipeCopy(ctx, from, e.merge, q, into); err != nil || n != rows {
			b.Fatalf("%s limit copy: %d rows, %v", what, n, err)
		}
		return time.Since(start)
	}

	var ingestTime, limitTime, hashedTime, restagedTime, rawTime time.Duration
	var bytes int64
	for i := range b.N {
		if i > 0 {
			e.restart("Store1", batch)
		}
		start := time.Now()
		res := e.mustIngest(m, "Store1", batch)
		ingestTime += time.Since(start)
		bytes = res.Bytes
		if res.Total != int64(rows) {
			b.Fatalf("staged %d rows", res.Total)
		}

		b.StopTimer()
		h, r := limitCopy(e.src, hashed, "hashed"), limitCopy(other, restage, "restaged")
		hashedTime, restagedTime, limitTime = hashedTime+h, restagedTime+r, limitTime+min(h, r)
		e.execMerge(`TRUNCATE public.sink`)
		start = time.Now()
		if n, err := pipeCopy(ctx, e.src, e.merge, query, `COPY public.sink FROM STDIN`); err != nil || n != rows {
			b.Fatalf("raw copy: %d rows, %v", n, err)
		}
		rawTime += time.Since(start)
		b.StartTimer()
	}
	n := float64(b.N)
	rate := func(d time.Duration) float64 { return float64(rows) * n / d.Seconds() }
	b.ReportMetric(rate(ingestTime), "rows/s")
	b.ReportMetric(rate(limitTime), "limit-rows/s")
	b.ReportMetric(rate(hashedTime), "hashed-limit-rows/s")
	b.ReportMetric(rate(restagedTime), "restaged-limit-rows/s")
	b.ReportMetric(rate(rawTime), "raw-limit-rows/s")
	b.ReportMetric(rate(ingestTime)/rate(limitTime), "of-limit")
	b.ReportMetric(float64(bytes)/float64(rows), "B/row")
	b.Logf("ingest %.0f rows/s (%.1f MiB/s of COPY text); limit %.0f rows/s (ratio %.2f; SQL-hashed %.0f, restaged %.0f); raw COPY %.0f rows/s (reference, ratio %.2f)",
		rate(ingestTime), float64(bytes)*n/ingestTime.Seconds()/(1<<20), rate(limitTime), rate(ingestTime)/rate(limitTime),
		rate(hashedTime), rate(restagedTime), rate(rawTime), rate(ingestTime)/rate(rawTime))
}

// hashedQuery is the read query (whose columns are the model columns in model order) followed
// by the batch id and the all and key hashes of each row in the normative SQL form.
func hashedQuery(b *testing.B, staging layout.Table, query string, batch int32) string {
	var hcols []hashing.Column
	var outs []string
	for _, c := range staging.ModelColumns() {
		hcols = append(hcols, hashing.Column{Name: c.Name, Type: c.Type})
		outs = append(outs, hashing.ColumnRef("q", c.Name))
	}
	all, err := hashing.AllHashSQL("q", hcols)
	if err != nil {
		b.Fatal(err)
	}
	key, err := hashing.KeyHashSQL("q", hcols, staging.Key)
	if err != nil {
		b.Fatal(err)
	}
	outs = append(outs, strconv.Itoa(int(batch))+"::integer", all, key)
	return "SELECT " + strings.Join(outs, ", ") + " FROM (" + query + ") q"
}
