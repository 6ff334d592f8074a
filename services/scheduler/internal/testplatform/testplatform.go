// Package testplatform is a stand-in for the merge, ingest and security services in the
// scheduler's tests: their activities under their batchapi names, keeping the batch state
// machine of yellow.md §6 in memory (and, with a pool, mirrored into a real batch_metrics
// table so SchedulerService reads real rows), with scripted failures per activity. It is
// never used outside tests.
package testplatform

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/batchapi"
	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
)

// Fault is a scripted activity outcome: nil succeeds.
type Fault error

// Permanent returns a permanent application error (what the owners return for errors retrying
// cannot fix).
func Permanent(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, batchapi.ErrPermanent, nil)
}

// Transient returns a retryable application error.
func Transient(msg string) error { return temporal.NewApplicationError(msg, "Transient") }

type batch struct {
	id      int32
	status  string
	attempt int
	version int64
	start   time.Time
	end     time.Time
	counts  batchapi.MergeBatchResult
	err     *mergesql.ErrorState
}

// Platform is the fake. Set fields before registering; it is safe for concurrent use.
type Platform struct {
	// Pool, when set, receives every batch change in phys(D).batch_metrics and batch_counter.
	Pool *pgxpool.Pool
	// Rows is what each ingest stages (default 3).
	Rows int64
	// ViewsChanged is what ReconcileViews reports (default false).
	ViewsChanged bool
	// Transform is the status RunTransformer reports (default succeeded).
	Transform string

	mu       sync.Mutex
	faults   map[string][]error
	calls    []string
	failures []batchapi.FailBatchInput
	streams  map[string][]*batch // platform/stream → batches
	runs     int64
}

// New returns an empty platform.
func New() *Platform {
	return &Platform{Rows: 3, faults: map[string][]error{}, streams: map[string][]*batch{}}
}

// Fail scripts the next outcomes of activity name: each call takes the next error (nil
// succeeds); when the script is used up, calls succeed.
func (p *Platform) Fail(name string, errs ...error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults[name] = append(p.faults[name], errs...)
}

// Calls returns the activity names called, in order.
func (p *Platform) Calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls)
}

// Failures returns the FailBatch inputs, in order.
func (p *Platform) Failures() []batchapi.FailBatchInput {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.failures)
}

// Count returns how often activity name was called.
func (p *Platform) Count(name string) int {
	n := 0
	for _, c := range p.Calls() {
		if c == name {
			n++
		}
	}
	return n
}

// Batches returns the statuses of a stream's batches, oldest first ("1:committed", …).
func (p *Platform) Batches(platform, stream string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, b := range p.streams[platform+"/"+stream] {
		out = append(out, fmt.Sprintf("%d:%s", b.id, b.status))
	}
	return out
}

func (p *Platform) enter(name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, name)
	if q := p.faults[name]; len(q) > 0 {
		p.faults[name] = q[1:]
		return q[0]
	}
	return nil
}

// RegisterAll registers every activity on one registry (the SDK's test environment).
func (p *Platform) RegisterAll(r worker.ActivityRegistry) {
	p.RegisterMerge(r)
	p.RegisterIngest(r)
	p.RegisterSecurity(r)
}

// RegisterMerge registers the merge service's activities.
func (p *Platform) RegisterMerge(r worker.ActivityRegistry) {
	r.RegisterActivityWithOptions(p.ReconcileTables, activity.RegisterOptions{Name: batchapi.ReconcileTables})
	r.RegisterActivityWithOptions(p.StartBatch, activity.RegisterOptions{Name: batchapi.StartBatch})
	r.RegisterActivityWithOptions(p.MergeBatch, activity.RegisterOptions{Name: batchapi.MergeBatch})
	r.RegisterActivityWithOptions(p.FailBatch, activity.RegisterOptions{Name: batchapi.FailBatch})
	r.RegisterActivityWithOptions(p.ReconcileViews, activity.RegisterOptions{Name: batchapi.ReconcileViews})
	r.RegisterActivityWithOptions(p.RunTransformer, activity.RegisterOptions{Name: batchapi.RunTransformer})
}

// RegisterIngest registers the ingest service's activity.
func (p *Platform) RegisterIngest(r worker.ActivityRegistry) {
	r.RegisterActivityWithOptions(p.IngestBatch, activity.RegisterOptions{Name: batchapi.IngestBatch})
}

// RegisterSecurity registers the security service's activity.
func (p *Platform) RegisterSecurity(r worker.ActivityRegistry) {
	r.RegisterActivityWithOptions(p.ApplyGrants, activity.RegisterOptions{Name: batchapi.ApplyGrants})
}

// ReconcileTables creates the platform's bookkeeping tables when a pool is set.
func (p *Platform) ReconcileTables(ctx context.Context, in batchapi.ReconcileTablesInput) (batchapi.ReconcileTablesResult, error) {
	if err := p.enter(batchapi.ReconcileTables); err != nil {
		return batchapi.ReconcileTablesResult{}, err
	}
	if p.Pool != nil {
		if err := CreateBookkeeping(ctx, p.Pool, in.Platform); err != nil {
			return batchapi.ReconcileTablesResult{}, err
		}
	}
	return batchapi.ReconcileTablesResult{}, nil
}

// CreateBookkeeping creates phys(D) with its batch counter and metrics tables.
func CreateBookkeeping(ctx context.Context, pool *pgxpool.Pool, d string) error {
	stmts := []string{"CREATE SCHEMA IF NOT EXISTS " + ddl.Quote(naming.PlatformSchema(d))}
	for _, t := range []layout.Table{layout.BatchCounter(d), layout.BatchMetrics(d)} {
		ss, err := ddl.CreateTable(t)
		if err != nil {
			return err
		}
		ss[0] = stringsReplaceCreate(ss[0])
		stmts = append(stmts, ss[0])
	}
	for _, s := range stmts {
		if _, err := pool.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

func stringsReplaceCreate(s string) string {
	const prefix = "CREATE TABLE "
	if len(s) > len(prefix) && s[:len(prefix)] == prefix {
		return "CREATE TABLE IF NOT EXISTS " + s[len(prefix):]
	}
	return s
}

// StartBatch opens a batch as yellow.md §6.3 step 2 does.
func (p *Platform) StartBatch(ctx context.Context, in batchapi.StartBatchInput) (batchapi.StartBatchResult, error) {
	if err := p.enter(batchapi.StartBatch); err != nil {
		return batchapi.StartBatchResult{}, err
	}
	p.mu.Lock()
	k := in.Platform + "/" + in.Stream
	bs := p.streams[k]
	var b *batch
	res := batchapi.StartBatchResult{}
	if n := len(bs); n == 0 || bs[n-1].status == batchapi.StatusCommitted {
		b = &batch{id: int32(n + 1), status: batchapi.StatusStarted, attempt: 1, version: in.ModelVersion, start: time.Now().UTC()}
		p.streams[k] = append(bs, b)
		res.New = true
	} else {
		b = bs[n-1]
		res.Resumed = true
		if b.status == batchapi.StatusFailed {
			b.status, b.err = batchapi.StatusStarted, nil
			b.attempt++
		}
	}
	res.Batch, res.Status, res.Attempt = b.id, b.status, b.attempt
	snap := *b
	p.mu.Unlock()
	return res, p.mirror(ctx, in.Platform, in.Stream, snap)
}

// IngestBatch stages Rows rows.
func (p *Platform) IngestBatch(ctx context.Context, in batchapi.IngestBatchInput) (batchapi.IngestBatchResult, error) {
	if err := p.enter(batchapi.IngestBatch); err != nil {
		return batchapi.IngestBatchResult{}, err
	}
	b, err := p.batch(in.Platform, in.Stream, in.BatchID, batchapi.StatusStarted)
	if err != nil {
		return batchapi.IngestBatchResult{}, err
	}
	p.mu.Lock()
	b.status = batchapi.StatusIngested
	b.counts.Total = p.Rows
	snap := *b
	p.mu.Unlock()
	return batchapi.IngestBatchResult{Platform: in.Platform, Stream: in.Stream, BatchID: in.BatchID, Status: batchapi.StatusIngested, Total: p.Rows},
		p.mirror(ctx, in.Platform, in.Stream, snap)
}

// MergeBatch commits an ingested batch.
func (p *Platform) MergeBatch(ctx context.Context, in batchapi.MergeBatchInput) (batchapi.MergeBatchResult, error) {
	if err := p.enter(batchapi.MergeBatch); err != nil {
		return batchapi.MergeBatchResult{}, err
	}
	b, err := p.batch(in.Platform, in.Stream, in.Batch, batchapi.StatusIngested)
	if err != nil {
		return batchapi.MergeBatchResult{}, err
	}
	p.mu.Lock()
	b.status, b.end = batchapi.StatusCommitted, time.Now().UTC()
	b.counts = batchapi.MergeBatchResult{Batch: b.id, Mode: "live-snapshot", Inserted: b.counts.Total, Total: b.counts.Total, Start: b.start, End: b.end}
	res, snap := b.counts, *b
	p.mu.Unlock()
	return res, p.mirror(ctx, in.Platform, in.Stream, snap)
}

// FailBatch records a batch failed.
func (p *Platform) FailBatch(ctx context.Context, in batchapi.FailBatchInput) (batchapi.FailBatchResult, error) {
	if err := p.enter(batchapi.FailBatch); err != nil {
		return batchapi.FailBatchResult{}, err
	}
	b, err := p.batch(in.Platform, in.Stream, in.Batch, "")
	if err != nil {
		return batchapi.FailBatchResult{}, err
	}
	p.mu.Lock()
	p.failures = append(p.failures, in)
	if b.status != batchapi.StatusCommitted {
		b.status = batchapi.StatusFailed
		b.err = &mergesql.ErrorState{Phase: in.Phase, Message: in.Message, Permanent: in.Permanent, At: time.Now().UTC().Format(time.RFC3339Nano)}
	}
	st, snap := b.status, *b
	p.mu.Unlock()
	return batchapi.FailBatchResult{Status: st}, p.mirror(ctx, in.Platform, in.Stream, snap)
}

// ReconcileViews reports ViewsChanged.
func (p *Platform) ReconcileViews(_ context.Context, _ batchapi.ReconcileViewsInput) (batchapi.ReconcileViewsResult, error) {
	if err := p.enter(batchapi.ReconcileViews); err != nil {
		return batchapi.ReconcileViewsResult{}, err
	}
	return batchapi.ReconcileViewsResult{Changed: p.ViewsChanged}, nil
}

// ApplyGrants does nothing.
func (p *Platform) ApplyGrants(_ context.Context, _ batchapi.ApplyGrantsInput) (batchapi.ApplyGrantsResult, error) {
	if err := p.enter(batchapi.ApplyGrants); err != nil {
		return batchapi.ApplyGrantsResult{}, err
	}
	return batchapi.ApplyGrantsResult{Changed: true, Statements: 1}, nil
}

// RunTransformer stages an output batch of the stream "<workspace>Out" (status Transform).
func (p *Platform) RunTransformer(ctx context.Context, in batchapi.RunTransformerInput) (batchapi.RunTransformerResult, error) {
	if err := p.enter(batchapi.RunTransformer); err != nil {
		return batchapi.RunTransformerResult{}, err
	}
	p.mu.Lock()
	p.runs++
	res := batchapi.RunTransformerResult{RunID: p.runs, Status: p.Transform, OutputStream: in.Workspace + "Out"}
	p.mu.Unlock()
	if res.Status == "" {
		res.Status = batchapi.RunSucceeded
	}
	if res.Status != batchapi.RunSucceeded {
		return res, nil
	}
	st, err := p.StartBatch(ctx, batchapi.StartBatchInput{Platform: in.Platform, Stream: res.OutputStream, ModelVersion: in.ModelVersion})
	if err != nil {
		return res, err
	}
	p.mu.Lock()
	b := p.streams[in.Platform+"/"+res.OutputStream][st.Batch-1]
	b.status, b.counts.Total = batchapi.StatusIngested, p.Rows
	p.mu.Unlock()
	res.Batch, res.Staged = st.Batch, p.Rows
	return res, nil
}

func (p *Platform) batch(platform, stream string, id int32, want string) (*batch, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	bs := p.streams[platform+"/"+stream]
	if id < 1 || int(id) > len(bs) {
		return nil, Permanent(fmt.Sprintf("batch %d of %s does not exist", id, stream))
	}
	b := bs[id-1]
	if want != "" && b.status != want {
		return nil, Permanent(fmt.Sprintf("batch %d of %s is %s, not %s", id, stream, b.status, want))
	}
	return b, nil
}

// mirror writes b into the platform's batch tables.
func (p *Platform) mirror(ctx context.Context, platform, stream string, b batch) error {
	if p.Pool == nil {
		return nil
	}
	books := mergesql.BooksOf(platform)
	state := mergesql.State{V: mergesql.StateVersion, ModelVersion: b.version, Attempt: b.attempt, Error: b.err}
	if b.status == batchapi.StatusCommitted {
		state.DataTime = b.start.Format(time.RFC3339Nano)
	}
	js, err := state.Marshal()
	if err != nil {
		return err
	}
	var end *time.Time
	if !b.end.IsZero() {
		end = &b.end
	}
	metrics := ddl.Ident(books.Metrics)
	_, err = p.Pool.Exec(ctx, "INSERT INTO "+metrics+" (key, batch_id, batch_status, batch_start_time, batch_end_time, records_inserted, records_updated, records_deleted, total_records, state)\n"+
		"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)\n"+
		"ON CONFLICT (key, batch_id) DO UPDATE SET batch_status = EXCLUDED.batch_status, batch_end_time = EXCLUDED.batch_end_time,\n"+
		"  records_inserted = EXCLUDED.records_inserted, records_updated = EXCLUDED.records_updated, records_deleted = EXCLUDED.records_deleted,\n"+
		"  total_records = EXCLUDED.total_records, state = EXCLUDED.state",
		stream, b.id, b.status, b.start, end, b.counts.Inserted, b.counts.Updated, b.counts.Deleted, b.counts.Total, js)
	if err != nil {
		return err
	}
	_, err = p.Pool.Exec(ctx, "INSERT INTO "+ddl.Ident(books.Counter)+" (key, current_batch) VALUES ($1, $2)\n"+
		"ON CONFLICT (key) DO UPDATE SET current_batch = EXCLUDED.current_batch", stream, b.id)
	return err
}
