// Package benchyellow measures the Yellow data plane the way issue 4 asks (`datasurface bench
// --suite yellow`): on a snapshot source table of Options.Rows rows of about 200 bytes, with the
// real ingest and merge services in this process against one PostgreSQL cluster, it measures
//
//   - ingest rows/s beside the physical limit measured in the same run on the same databases:
//     `COPY (SELECT …) TO STDOUT` piped into `COPY … FROM STDIN` of an empty table with the
//     staging table's columns and indexes, the faster of two pipes producing the same staged
//     rows (source rows hashed in SQL; the staged rows themselves), and, for reference only,
//     the raw pipe of the model columns into a plain unindexed table (ingestlimit.go);
//   - live and forensic merge changed-rows/s for batches changing 1% and 10% of the rows
//     (a third each inserts, updates and deletes) beside a hand-written set-based statement
//     sequence applying the same staged snapshot to a copy of the same merge table;
//   - the whole batch time (reconcile tables, start, ingest, merge, views) of those batches;
//   - the fixed overhead of a 10-row batch (median of warm batches, one row changed each);
//   - the ingest's peak Go heap and process RSS.
//
// The caller owns the cluster (host and port of a server that trusts user postgres) and prints
// the figures against their targets.
package benchyellow

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/hashing"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/ingest"
	"github.com/datasurface/datasurface/services/merge"
	"github.com/datasurface/datasurface/services/merge/internal/mergedb"
	"github.com/jackc/pgx/v5"
)

// Options configure a run.
type Options struct {
	// Host and Port reach a PostgreSQL server on which user postgres logs in without a password.
	Host string
	Port int
	// Dir is a scratch directory (the model files).
	Dir string
	// Rows is the size of the large table (default 1,000,000).
	Rows int
	// ChangePercents are the changes per batch, in percent of Rows (default 1 and 10).
	ChangePercents []int
	// SmallBatches is how many 10-row batches are measured (default 30).
	SmallBatches int
	// Progress, when set, receives a line per step.
	Progress func(line string)
	// Log, when set, receives the ingest service's log (its debug level times every dataset's
	// copy and what follows it); nil discards it.
	Log *slog.Logger
}

// Result holds every figure.
type Result struct {
	Rows     int
	RowBytes float64
	// IngestRate and the limits are rows/s, medians over the snapshot batches, each ingest
	// followed by its limit copies (ingestlimit.go). IngestLimit, the target's denominator, is
	// per batch the faster of IngestHashedLimit (source rows hashed in SQL, piped into an empty
	// copy of staging) and IngestRestageLimit (the staged rows piped into an empty copy of
	// staging); IngestRawLimit is the model columns piped into an unindexed table, for reference.
	IngestRate, IngestLimit               float64
	IngestHashedLimit, IngestRestageLimit float64
	IngestRawLimit                        float64
	IngestBatches                         int
	// Merges are the change batches, per change percent and platform.
	Merges []MergeFigures
	// SmallBatch is the median time of a whole 10-row batch; SmallIngest its ingest share.
	SmallBatch, SmallIngest time.Duration
	// PeakHeap and PeakRSS are the peaks sampled during the ingests of the large table;
	// BaseHeap and BaseRSS the values before the first one.
	PeakHeap, PeakRSS, BaseHeap, BaseRSS uint64
}

// MergeFigures are one change batch of one platform.
type MergeFigures struct {
	Percent  int
	Forensic bool
	// Changed is inserted + updated + deleted as the merge counted them.
	Changed int64
	// Merge is MergeBatch's time, Limit the hand-written statements' time for the same change.
	Merge, Limit time.Duration
	// Batch is the whole batch: reconcile tables, start, ingest, merge, views.
	Batch, Ingest time.Duration
}

// MergeRate and LimitRate are changed rows per second.
func (f MergeFigures) MergeRate() float64 { return float64(f.Changed) / f.Merge.Seconds() }

// LimitRate is the hand-written statements' changed rows per second.
func (f MergeFigures) LimitRate() float64 { return float64(f.Changed) / f.Limit.Seconds() }

// trust logs every credential in as user postgres (the bench cluster trusts it).
type trust struct{}

func (trust) UserPassword(context.Context, *modelv1.CredentialStore, string) (string, string, error) {
	return "postgres", "", nil
}

type oneModel struct{ m *modelv1.Model }

func (o oneModel) Model(context.Context, int64, string) (*modelv1.Model, error) { return o.m, nil }

// bench is one run's state.
type bench struct {
	o        Options
	m        *modelv1.Model
	merge    *merge.Activities
	ingest   *ingest.Activities
	src, mrg *pgx.Conn
	// mrg2 is a second merge-database session: the source side of the restaged limit pipe.
	mrg2     *pgx.Conn
	res      *Result
	ingested []float64
	limits   []float64
	hashed   []float64
	restaged []float64
	raw      []float64
	sampling bool
}

func (b *bench) say(format string, args ...any) {
	if b.o.Progress != nil {
		b.o.Progress(fmt.Sprintf(format, args...))
	}
}

// Run measures everything once.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Rows <= 0 {
		o.Rows = 1000000
	}
	if len(o.ChangePercents) == 0 {
		o.ChangePercents = []int{1, 10}
	}
	if o.SmallBatches <= 0 {
		o.SmallBatches = 30
	}
	b := &bench{o: o, res: &Result{Rows: o.Rows}}
	pl := placement{Host: o.Host, Port: o.Port, MergeDB: "bench_merge", SourceDB: "bench_source"}
	if err := b.databases(ctx, pl); err != nil {
		return nil, err
	}
	defer func() {
		_ = b.src.Close(context.WithoutCancel(ctx))
		_ = b.mrg.Close(context.WithoutCancel(ctx))
		_ = b.mrg2.Close(context.WithoutCancel(ctx))
	}()
	var err error
	if b.m, err = loadModel(filepath.Join(o.Dir, "model"), pl); err != nil {
		return nil, err
	}
	msvc, err := merge.New(merge.Config{}, merge.Deps{Log: slog.New(slog.DiscardHandler), Models: oneModel{b.m}, Secrets: trust{}})
	if err != nil {
		return nil, err
	}
	defer msvc.Close()
	ilog := o.Log
	if ilog == nil {
		ilog = slog.New(slog.DiscardHandler)
	}
	isvc, err := ingest.New(ingest.Config{SSLMode: "disable"}, ingest.Deps{Log: ilog, Secrets: ingest.Credentials{LookupEnv: func(name string) (string, bool) {
		if strings.HasSuffix(name, "_USER") {
			return "postgres", true
		}
		return "", strings.HasSuffix(name, "_PASSWORD")
	}}})
	if err != nil {
		return nil, err
	}
	defer isvc.Close()
	b.merge, b.ingest = msvc.Activities(), isvc.Activities()
	if err := b.run(ctx); err != nil {
		return nil, err
	}
	return b.res, nil
}

// databases creates and fills the source database and creates the merge database.
func (b *bench) databases(ctx context.Context, pl placement) error {
	dsn := func(db string) string {
		return fmt.Sprintf("host=%s port=%d user=postgres dbname=%s sslmode=disable", pl.Host, pl.Port, db)
	}
	admin, err := pgx.Connect(ctx, dsn("postgres"))
	if err != nil {
		return fmt.Errorf("connect to the bench cluster: %w", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	for _, db := range []string{pl.SourceDB, pl.MergeDB} {
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)"); err != nil {
			return err
		}
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()); err != nil {
			return err
		}
	}
	sc, err := pgx.ParseConfig(dsn(pl.SourceDB))
	if err != nil {
		return err
	}
	for k, v := range hashing.SessionSettings() { // the SQL hashes of the limit read canonical text (yellow.md §1, §5)
		sc.RuntimeParams[k] = v
	}
	if b.src, err = pgx.ConnectConfig(ctx, sc); err != nil {
		return err
	}
	mc, err := pgx.ParseConfig(dsn(pl.MergeDB))
	if err != nil {
		return err
	}
	for k, v := range mergedb.SessionParams() {
		mc.RuntimeParams[k] = v
	}
	if b.mrg, err = pgx.ConnectConfig(ctx, mc); err != nil {
		return err
	}
	if b.mrg2, err = pgx.ConnectConfig(ctx, mc); err != nil {
		return err
	}
	t0 := time.Now()
	for _, s := range []string{
		sourceDDL,
		fmt.Sprintf("INSERT INTO big SELECT %s FROM generate_series(1, %d) g", fill, b.o.Rows),
		fmt.Sprintf("INSERT INTO small SELECT %s FROM generate_series(1, 10) g", fill),
		"ANALYZE big", "ANALYZE small",
	} {
		if _, err := b.src.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	if _, err := b.mrg.Exec(ctx, `CREATE TABLE public.sink (id bigint, name character varying(50), amount numeric(12,2), created timestamp, note character varying(200), flag boolean)`); err != nil {
		return err
	}
	b.say("source table: %d rows in %s", b.o.Rows, time.Since(t0).Round(time.Millisecond))
	return nil
}

func (b *bench) run(ctx context.Context) error {
	// The first batch of each platform loads the whole table.
	for _, d := range []string{LivePlatform, ForensicPlatform} {
		if _, err := b.batch(ctx, d, BigStream, 0); err != nil {
			return err
		}
	}
	for _, pct := range b.o.ChangePercents {
		if err := b.change(ctx, pct); err != nil {
			return err
		}
		for _, d := range []string{LivePlatform, ForensicPlatform} {
			f, err := b.batch(ctx, d, BigStream, pct)
			if err != nil {
				return err
			}
			b.res.Merges = append(b.res.Merges, f)
		}
	}
	b.res.IngestRate, b.res.IngestLimit, b.res.IngestBatches = median(b.ingested), median(b.limits), len(b.ingested)
	b.res.IngestHashedLimit, b.res.IngestRestageLimit, b.res.IngestRawLimit = median(b.hashed), median(b.restaged), median(b.raw)
	return b.small(ctx)
}

// change changes pct% of the rows of big: a third deleted, a third updated, a third inserted.
func (b *bench) change(ctx context.Context, pct int) error {
	var maxID int64
	if err := b.src.QueryRow(ctx, "SELECT max(id) FROM big").Scan(&maxID); err != nil {
		return err
	}
	mod := 300 / pct
	n := int64(b.o.Rows / mod)
	for _, s := range []string{
		fmt.Sprintf("DELETE FROM big WHERE id %% %d = 1", mod),
		fmt.Sprintf("UPDATE big SET amount = amount + 1, note = md5(note) || substr(note, 33) WHERE id %% %d = 2", mod),
		fmt.Sprintf("INSERT INTO big SELECT %s FROM generate_series(%d, %d) g", fill, maxID+1, maxID+n),
		"ANALYZE big",
	} {
		if _, err := b.src.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// batch runs one whole batch of stream on platform d step by step, timing each step; for a
// change batch (pct > 0) the merge table is copied before the merge (not timed) and the
// hand-written limit applies the same staged rows to the copy.
func (b *bench) batch(ctx context.Context, d, stream string, pct int) (MergeFigures, error) {
	f := MergeFigures{Percent: pct, Forensic: d == ForensicPlatform}
	v := merge.Version{ModelVersion: 1}
	t0 := time.Now()
	if _, err := b.merge.ReconcileTables(ctx, merge.ReconcileTablesInput{Platform: d, Version: v, Streams: []string{stream}}); err != nil {
		return f, err
	}
	st, err := b.merge.StartBatch(ctx, merge.StartBatchInput{Platform: d, Stream: stream, Version: v})
	if err != nil {
		return f, err
	}
	before := time.Since(t0)

	big := stream == BigStream
	var sampler *memSampler
	if big {
		sampler = startSampler()
		if !b.sampling {
			b.res.BaseHeap, b.res.BaseRSS, b.sampling = sampler.heapBase, sampler.rssBase, true
		}
	}
	t1 := time.Now()
	in, err := b.ingest.IngestBatch(ctx, ingest.IngestBatchInput{Platform: d, Stream: stream, BatchID: st.Batch, ModelVersion: 1, Model: b.m})
	f.Ingest = time.Since(t1)
	var heap, rssPeak uint64
	if sampler != nil {
		heap, rssPeak = sampler.Stop()
		b.res.PeakHeap, b.res.PeakRSS = max(b.res.PeakHeap, heap), max(b.res.PeakRSS, rssPeak)
	}
	if err != nil {
		return f, err
	}
	if big {
		b.res.RowBytes = float64(in.Bytes) / float64(max(in.Total, 1))
		b.ingested = append(b.ingested, float64(in.Total)/f.Ingest.Seconds())
		l, err := b.ingestLimits(ctx, naming.StagingTable(d, stream, "rows"), st.Batch, len(b.limits) == 0)
		if err != nil {
			return f, err
		}
		b.limits, b.hashed, b.restaged, b.raw = append(b.limits, l.limit()), append(b.hashed, l.hashed), append(b.restaged, l.restaged), append(b.raw, l.raw)
		b.say("%s batch %d: ingest %d rows in %s (%.0f rows/s; limit %.0f rows/s = max(SQL-hashed %.0f, restaged %.0f); raw COPY %.0f rows/s); peak heap %.1f MiB, RSS %.1f MiB",
			d, st.Batch, in.Total, f.Ingest.Round(time.Millisecond), float64(in.Total)/f.Ingest.Seconds(), l.limit(), l.hashed, l.restaged, l.raw,
			float64(heap)/(1<<20), float64(rssPeak)/(1<<20))
	}
	mt := naming.MergeTable(d, stream, "rows")
	if pct > 0 {
		if err := copyForLimit(ctx, b.mrg, mt); err != nil {
			return f, err
		}
	}
	t2 := time.Now()
	mr, err := b.merge.MergeBatch(ctx, merge.MergeBatchInput{Platform: d, Stream: stream, Version: v, Batch: st.Batch})
	f.Merge = time.Since(t2)
	if err != nil {
		return f, err
	}
	t3 := time.Now()
	if _, err := b.merge.ReconcileViews(ctx, merge.ReconcileViewsInput{Platform: d, Version: v}); err != nil {
		return f, err
	}
	f.Batch = before + f.Ingest + f.Merge + time.Since(t3)
	f.Changed = mr.Inserted + mr.Updated + mr.Deleted
	if pct == 0 {
		return f, nil
	}
	changed, d2, err := handWritten(ctx, b.mrg, naming.StagingTable(d, stream, "rows"), f.Forensic, st.Batch)
	if err != nil {
		return f, err
	}
	if changed != f.Changed {
		return f, fmt.Errorf("%s batch %d: the merge changed %d rows (%d/%d/%d), the hand-written statements %d",
			d, st.Batch, f.Changed, mr.Inserted, mr.Updated, mr.Deleted, changed)
	}
	f.Limit = d2
	if _, err := b.mrg.Exec(ctx, "DROP TABLE "+ddl.Ident(limitTable)); err != nil {
		return f, err
	}
	b.say("%s batch %d (%d%% changed): merge %d rows (%d/%d/%d) in %s, hand-written %s; whole batch %s", d, st.Batch, pct,
		f.Changed, mr.Inserted, mr.Updated, mr.Deleted, f.Merge.Round(time.Millisecond), f.Limit.Round(time.Millisecond), f.Batch.Round(time.Millisecond))
	return f, nil
}

// small measures whole 10-row batches, warm: one row changed per batch.
func (b *bench) small(ctx context.Context) error {
	var ing time.Duration
	step := func(ctx context.Context, batch int32) error {
		t0 := time.Now()
		defer func() { ing = time.Since(t0) }()
		_, err := b.ingest.IngestBatch(ctx, ingest.IngestBatchInput{Platform: LivePlatform, Stream: SmallStream, BatchID: batch, ModelVersion: 1, Model: b.m})
		return err
	}
	var whole, ingests []float64
	for i := range b.o.SmallBatches + 3 {
		if _, err := b.src.Exec(ctx, "UPDATE small SET amount = amount + 1 WHERE id = $1", i%10+1); err != nil {
			return err
		}
		res, err := b.merge.RunCycle(ctx, merge.CycleInput{Platform: LivePlatform, Stream: SmallStream, Version: merge.Version{ModelVersion: 1}}, step)
		if err != nil {
			return err
		}
		if res.Status != "committed" || (i > 0 && res.Merge.Updated != 1) {
			return fmt.Errorf("10-row batch %d: %s, %d updated", res.Merge.Batch, res.Status, res.Merge.Updated)
		}
		if i >= 3 { // the first batches create tables and views and warm the pools
			whole = append(whole, float64(res.Duration))
			ingests = append(ingests, float64(ing))
		}
	}
	b.res.SmallBatch, b.res.SmallIngest = time.Duration(median(whole)), time.Duration(median(ingests))
	slices.Sort(whole)
	b.say("10-row batches: median %s (min %s, max %s), ingest median %s", b.res.SmallBatch.Round(10*time.Microsecond),
		time.Duration(whole[0]).Round(10*time.Microsecond), time.Duration(whole[len(whole)-1]).Round(10*time.Microsecond), b.res.SmallIngest.Round(10*time.Microsecond))
	return nil
}
