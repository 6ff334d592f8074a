package merge

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/datasurface/datasurface/kit/pg"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/datasurface/datasurface/services/merge/internal/batch"
	"github.com/datasurface/datasurface/services/merge/internal/mergedb"
	"github.com/datasurface/datasurface/services/merge/internal/platform"
	"github.com/datasurface/datasurface/services/merge/internal/reconcile"
	"github.com/datasurface/datasurface/services/merge/internal/transform"
	"github.com/jackc/pgx/v5"
)

// ---------------------------------------------------------------------------------------------
// ReconcileTables

// ReconcileTablesInput names the platform, the model version and the streams whose tables are
// reconciled (none = every stream of the platform).
type ReconcileTablesInput struct {
	Platform string
	Version
	Streams []string
}

// TableChange is what reconciling one table changed.
type TableChange struct {
	Table         string // schema.name
	Created       bool
	Added         []string
	Widened       []string // "column: from → to"
	NullableAgain []string
	Indexes       []string
	Rehashed      bool
	// RecreatedViews are managed views dropped for a widening and created again in the same
	// transaction.
	RecreatedViews []string
}

// ReconcileTablesResult lists the tables that changed (tables already as desired are left out).
type ReconcileTablesResult struct {
	Changes []TableChange
}

// ReconcileTables brings the platform schema, the bookkeeping tables and the staging, CDC load
// and merge tables of the streams to the model (yellow.md §4, §11): missing tables are created,
// missing columns added, compatible widenings applied (dependent managed views dropped and
// created again in the same transaction), live rows re-hashed. Each stream's tables change in
// one transaction under the stream's lock. Key changes, narrowing and unmanaged conflicts are
// permanent errors; nothing is altered then.
func (a *Activities) ReconcileTables(ctx context.Context, in ReconcileTablesInput) (ReconcileTablesResult, error) {
	res, err := a.reconcileTables(ctx, in)
	return res, a.fail("ReconcileTables", err)
}

func (a *Activities) reconcileTables(ctx context.Context, in ReconcileTablesInput) (ReconcileTablesResult, error) {
	var res ReconcileTablesResult
	p, err := a.platform(ctx, in.Version, in.Platform)
	if err != nil {
		return res, err
	}
	streams, err := selectStreams(p, in.Streams)
	if err != nil {
		return res, err
	}
	pool, err := a.db(ctx, p)
	if err != nil {
		return res, err
	}
	o := a.ddl()
	ch, err := reconcile.Platform(ctx, pool, p, o, a.cache(pool))
	if err != nil {
		return res, err
	}
	res.Changes = append(res.Changes, tableChanges(ch)...)
	for _, s := range streams {
		err := mergedb.WithStreamLock(ctx, pool, p.Name, s.Key, func(conn *pgx.Conn) error {
			ch, err := reconcile.Stream(ctx, conn, p, s, o, a.cache(pool))
			res.Changes = append(res.Changes, tableChanges(ch)...)
			return err
		})
		if err != nil {
			return res, err
		}
	}
	a.log.InfoContext(ctx, "tables reconciled", "platform", p.Name, "streams", len(streams), "changed", len(res.Changes))
	return res, nil
}

func selectStreams(p *platform.Platform, keys []string) ([]*platform.Stream, error) {
	if len(keys) == 0 {
		return p.Streams(), nil
	}
	out := make([]*platform.Stream, 0, len(keys))
	for _, k := range keys {
		s, err := p.Stream(k)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func tableChanges(in []reconcile.TableChange) []TableChange {
	out := make([]TableChange, 0, len(in))
	for _, c := range in {
		tc := TableChange{
			Table: c.Table.String(), Created: c.Created, Added: c.Added, NullableAgain: c.NullableAgain,
			Indexes: c.Indexes, Rehashed: c.Rehashed, RecreatedViews: names(c.RecreatedViews),
		}
		for _, w := range c.Widened {
			tc.Widened = append(tc.Widened, w.Column+": "+w.From+" → "+w.To)
		}
		out = append(out, tc)
	}
	return out
}

func names(ns []naming.Name) []string {
	if len(ns) == 0 {
		return nil
	}
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.String()
	}
	return out
}

// ---------------------------------------------------------------------------------------------
// StartBatch

// StartBatchInput names the stream whose batch is opened.
type StartBatchInput struct {
	Platform string
	Stream   string
	Version
}

// StartBatchResult is the batch to work on next.
type StartBatchResult struct {
	Batch int32
	// Status is "started" (ingest next) or "ingested" (merge next).
	Status  string
	Attempt int
	// New: a new batch was created. Resumed: a started or failed batch is taken up again.
	// Reset: its schema fingerprints differed from the model's, so its staging was cleared.
	New     bool
	Resumed bool
	Reset   bool
	// Pruned counts the staging rows deleted by retention, by dataset (new batches only).
	Pruned map[string]int64
	// Noop: a secondary's stream (yellow.md §8) whose primary has no committed batch newer
	// than the one copied last; no batch was created (Batch 0, Status "noop").
	Noop bool
	// RemoteBatch is the primary's committed batch R a secondary's batch copies (0 otherwise).
	RemoteBatch int32
}

// StartBatch opens the stream's batch (yellow.md §6.3 step 2) in one transaction under the
// stream's lock and the counter row lock: after a committed batch (or none) it starts B =
// current + 1 with its state record (datasets, fingerprints, model version, attempt 1) and
// prunes staging (§13); a started or failed batch is resumed (attempt + 1 when failed); an
// ingested batch goes to the merge. A resumed batch started under another schema is reset.
func (a *Activities) StartBatch(ctx context.Context, in StartBatchInput) (StartBatchResult, error) {
	res, err := a.startBatch(ctx, in)
	return res, a.fail("StartBatch", err)
}

func (a *Activities) startBatch(ctx context.Context, in StartBatchInput) (StartBatchResult, error) {
	p, s, pool, err := a.stream(ctx, in.Version, in.Platform, in.Stream)
	if err != nil {
		return StartBatchResult{}, err
	}
	var primary pgPool
	if s.Remote {
		if primary, err = a.primaryDB(ctx, p, s); err != nil {
			return StartBatchResult{}, err
		}
	}
	var o batch.Opened
	err = mergedb.WithStreamLock(ctx, pool, p.Name, s.Key, func(conn *pgx.Conn) error {
		var err error
		if s.Remote {
			o, err = batch.OpenRemote(ctx, conn, primary, p, s, in.ModelVersion)
		} else {
			o, err = batch.Open(ctx, conn, p, s, in.ModelVersion)
		}
		return err
	})
	if err != nil {
		return StartBatchResult{}, err
	}
	if o.Noop {
		var r, l int32
		if o.Remote != nil {
			r, l = o.Remote.RemoteBatch, o.Remote.PreviousRemoteBatch
		}
		a.log.InfoContext(ctx, "nothing new on the primary", "platform", p.Name, "stream", s.Key,
			"primary", s.PrimaryPlatform, "remoteBatch", r, "copied", l)
		return StartBatchResult{Status: "noop", Noop: true, RemoteBatch: r}, nil
	}
	a.log.InfoContext(ctx, "batch opened", "platform", p.Name, "stream", s.Key, "batch", o.Batch,
		"status", o.Status, "attempt", o.Attempt, "new", o.New, "reset", o.Reset)
	res := StartBatchResult{
		Batch: o.Batch, Status: string(o.Status), Attempt: o.Attempt,
		New: o.New, Resumed: o.Resumed, Reset: o.Reset, Pruned: o.Pruned,
	}
	if o.Remote != nil {
		res.RemoteBatch = o.Remote.RemoteBatch
	}
	a.events.started(ctx, pool, p.Name, s.Key, res)
	return res, nil
}

func (a *Activities) stream(ctx context.Context, v Version, d, k string) (*platform.Platform, *platform.Stream, pgPool, error) {
	p, err := a.platform(ctx, v, d)
	if err != nil {
		return nil, nil, nil, err
	}
	s, err := p.Stream(k)
	if err != nil {
		return nil, nil, nil, err
	}
	pool, err := a.db(ctx, p)
	if err != nil {
		return nil, nil, nil, err
	}
	return p, s, pool, nil
}

// ---------------------------------------------------------------------------------------------
// MergeBatch

// MergeBatchInput names the ingested batch to merge and commit.
type MergeBatchInput struct {
	Platform string
	Stream   string
	Version
	Batch int32
}

// DatasetCounts are one dataset's counts of a batch.
type DatasetCounts struct {
	Staged   int64
	Inserted int64
	Updated  int64
	Deleted  int64
}

// MergeBatchResult is the committed batch.
type MergeBatchResult struct {
	Batch int32
	// Mode is the merge that ran (yellow.md §9), e.g. "live-snapshot".
	Mode     string
	Inserted int64
	Updated  int64
	Deleted  int64
	// Total is the number of staged rows.
	Total    int64
	Datasets map[string]DatasetCounts
	// AlreadyCommitted is set when the batch had been committed before (nothing ran).
	AlreadyCommitted bool
	// Start and End are the batch's start and commit times.
	Start time.Time
	End   time.Time
}

// MergeBatch merges and commits an ingested batch (yellow.md §6.3 step 4) in one transaction
// under the stream's lock: the metrics row is locked and must be ingested, the merge statements
// of every dataset run for the stream's mode (§9), and the batch is set committed with its end
// time and counts. This commit is the only moment the batch becomes visible; on any error
// nothing of the merge remains. A committed batch is a no-op that reports its counts.
func (a *Activities) MergeBatch(ctx context.Context, in MergeBatchInput) (MergeBatchResult, error) {
	res, err := a.mergeBatch(ctx, in)
	return res, a.fail("MergeBatch", err)
}

func (a *Activities) mergeBatch(ctx context.Context, in MergeBatchInput) (MergeBatchResult, error) {
	p, s, pool, err := a.stream(ctx, in.Version, in.Platform, in.Stream)
	if err != nil {
		return MergeBatchResult{}, err
	}
	var c batch.Committed
	err = mergedb.WithStreamLock(ctx, pool, p.Name, s.Key, func(conn *pgx.Conn) error {
		var err error
		c, err = batch.Commit(ctx, conn, p, s, in.Batch, a.beforeCommit)
		return err
	})
	if err != nil {
		return MergeBatchResult{}, err
	}
	res := MergeBatchResult{
		Batch: c.Batch, Inserted: c.Counts.Inserted, Updated: c.Counts.Updated, Deleted: c.Counts.Deleted,
		Total: c.Total, AlreadyCommitted: c.Already, Start: c.Start, End: c.End, Datasets: map[string]DatasetCounts{},
	}
	if c.Mode != 0 {
		res.Mode = c.Mode.String()
	}
	for ds, rc := range c.Rows {
		res.Datasets[ds] = DatasetCounts{Staged: rc.Staged, Inserted: rc.Inserted, Updated: rc.Updated, Deleted: rc.Deleted}
	}
	a.log.InfoContext(ctx, "batch committed", "platform", p.Name, "stream", s.Key, "batch", c.Batch, "mode", res.Mode,
		"inserted", res.Inserted, "updated", res.Updated, "deleted", res.Deleted, "total", res.Total, "already", c.Already)
	a.events.committed(ctx, pool, p.Name, s.Key, c.Batch, func(seed bool) string {
		if m, err := s.Mode(p.Milestoning, seed); err == nil {
			return m.String()
		}
		return ""
	})
	return res, nil
}

// ---------------------------------------------------------------------------------------------
// FailBatch

// FailBatchInput is the error a batch failed with.
type FailBatchInput struct {
	Platform string
	Stream   string
	Version
	Batch int32
	// Phase is the step that failed: "reconcile", "ingest", "merge", …
	Phase     string
	Message   string
	Permanent bool
}

// FailBatchResult is the status the batch ended in: "failed", or "committed" / "failed" when
// it already was.
type FailBatchResult struct {
	Status string
}

// FailBatch records a started or ingested batch as failed with state.error (yellow.md §6.3), in
// its own transaction under the metrics row lock (so a concurrent commit wins); a committed or
// already failed batch is left as it is. The next StartBatch resumes it with attempt + 1.
func (a *Activities) FailBatch(ctx context.Context, in FailBatchInput) (FailBatchResult, error) {
	res, err := a.failBatch(ctx, in)
	return res, a.fail("FailBatch", err)
}

func (a *Activities) failBatch(ctx context.Context, in FailBatchInput) (FailBatchResult, error) {
	p, s, pool, err := a.stream(ctx, in.Version, in.Platform, in.Stream)
	if err != nil {
		return FailBatchResult{}, err
	}
	st, err := batch.Fail(ctx, pool, p.Name, s.Key, in.Batch, batch.Failure{Phase: in.Phase, Message: in.Message, Permanent: in.Permanent})
	if err != nil {
		return FailBatchResult{}, err
	}
	a.log.WarnContext(ctx, "batch failed", "platform", p.Name, "stream", s.Key, "batch", in.Batch, "phase", in.Phase,
		"permanent", in.Permanent, "status", st, "reason", in.Message)
	if st == mergesql.Failed {
		a.events.failed(ctx, pool, p.Name, s.Key, in.Batch)
	}
	return FailBatchResult{Status: string(st)}, nil
}

// ---------------------------------------------------------------------------------------------
// ReconcileViews

// ReconcileViewsInput names the platform and model version.
type ReconcileViewsInput struct {
	Platform string
	Version
}

// SchemaViews is what changed in one workspace schema.
type SchemaViews struct {
	Schema    string
	Created   []string
	Replaced  []string
	Recreated []string
	Dropped   []string
	// Pending are desired views whose merge table does not exist yet.
	Pending []string
}

// ReconcileViewsResult lists the workspace schemas that changed.
type ReconcileViewsResult struct {
	Schemas []SchemaViews
	// Changed is set when any view was created, replaced, re-created or dropped (grants may
	// need a security apply).
	Changed bool
}

// ReconcileViews makes the platform's workspace views match the model (yellow.md §12): a live
// view of every sink of every dataset group of the platform's graph, a full-history view where
// the platform is FORENSIC and the group requires it, masked columns selected as typed NULLs
// (security.md §5); views of groups no longer assigned (or DECOMMISSIONED) are dropped. One
// transaction per workspace schema; unmarked views are never touched.
func (a *Activities) ReconcileViews(ctx context.Context, in ReconcileViewsInput) (ReconcileViewsResult, error) {
	res, err := a.reconcileViews(ctx, in)
	return res, a.fail("ReconcileViews", err)
}

func (a *Activities) reconcileViews(ctx context.Context, in ReconcileViewsInput) (ReconcileViewsResult, error) {
	var res ReconcileViewsResult
	p, err := a.platform(ctx, in.Version, in.Platform)
	if err != nil {
		return res, err
	}
	pool, err := a.db(ctx, p)
	if err != nil {
		return res, err
	}
	out, err := reconcile.Views(ctx, pool, p, a.ddl(), a.cache(pool))
	for _, s := range out {
		res.Schemas = append(res.Schemas, SchemaViews{
			Schema: s.Schema, Created: names(s.Created), Replaced: names(s.Replaced), Recreated: names(s.Recreated),
			Dropped: names(s.Dropped), Pending: names(s.Pending),
		})
		res.Changed = res.Changed || len(s.Created)+len(s.Replaced)+len(s.Recreated)+len(s.Dropped) > 0
	}
	if err != nil {
		return res, err
	}
	a.log.InfoContext(ctx, "views reconciled", "platform", p.Name, "schemas changed", len(res.Schemas))
	a.events.views(ctx, p.Name, in.ModelVersion, res, time.Now())
	return res, nil
}

// ---------------------------------------------------------------------------------------------
// RunTransformer

// RunTransformerInput names the transformer workspace to run.
type RunTransformerInput struct {
	Platform  string
	Workspace string
	Version
}

// RunTransformerResult is the recorded run and, when it succeeded, the output batch staged.
type RunTransformerResult struct {
	RunID int64
	// Status is "succeeded", "waiting" (an input stream has no committed batch) or "failed".
	Status string
	// Inputs maps each input stream to the committed batch the run read.
	Inputs map[string]int32
	// Rows maps each output dataset to the rows the query wrote.
	Rows    map[string]int64
	Waiting []string
	Error   string
	// OutputStream and Batch are the output stream and its batch, ingested and ready for
	// MergeBatch (Batch 0 unless the run succeeded); Staged is its row count.
	OutputStream string
	Batch        int32
	Staged       int64
}

// RunTransformer runs the SQL transformer of a workspace (yellow.md §10) under its output
// stream's lock: the output schema and tables and the output stream's tables are reconciled;
// a runner transaction reads the committed batch of every input stream and exports its
// snapshot; the transformer session (its own login, or the merge login with
// Config.TransformerAsMergeLogin) imports it, truncates the outputs and fills each with its
// query (placeholders replaced by the quoted live views, which ReconcileViews must have
// created), in one transaction with the platform's transformerTimeout. The run is recorded in
// the transformer-runs table. After a successful run the output tables are staged as a batch of
// the output stream (§7.4) and the batch is left ingested: call MergeBatch next. A failing query
// changes nothing (a permanent error; the run is recorded failed); missing inputs end the run
// waiting, with no error.
func (a *Activities) RunTransformer(ctx context.Context, in RunTransformerInput) (RunTransformerResult, error) {
	res, err := a.runTransformer(ctx, in)
	return res, a.fail("RunTransformer", err)
}

func (a *Activities) runTransformer(ctx context.Context, in RunTransformerInput) (RunTransformerResult, error) {
	began := time.Now()
	var res RunTransformerResult
	p, err := a.platform(ctx, in.Version, in.Platform)
	if err != nil {
		return res, err
	}
	t, err := p.Transformer(in.Workspace)
	if err != nil {
		return res, err
	}
	pool, err := a.db(ctx, p)
	if err != nil {
		return res, err
	}
	res.OutputStream = t.Output.Key
	o := a.ddl()
	if _, err := reconcile.Platform(ctx, pool, p, o, a.cache(pool)); err != nil {
		return res, err
	}
	session, err := a.transformerSession(ctx, p, t, pool)
	if err != nil {
		return res, err
	}
	err = mergedb.WithStreamLock(ctx, pool, p.Name, t.Output.Key, func(conn *pgx.Conn) error {
		if _, err := reconcile.Stream(ctx, conn, p, t.Output, o, a.cache(pool)); err != nil {
			return err
		}
		if _, err := reconcile.Outputs(ctx, conn, p, t, o, a.cache(pool)); err != nil {
			return err
		}
		run, err := transform.Execute(ctx, conn, session, p, t, mergedb.RoleMode(a.cfg.SetRole))
		res.RunID, res.Status, res.Inputs, res.Rows, res.Waiting, res.Error = run.ID, run.Status, run.Inputs, run.Rows, run.Waiting, run.Error
		if err != nil || run.Status != transform.Succeeded {
			return err
		}
		opened, err := batch.Open(ctx, conn, p, t.Output, in.ModelVersion)
		if err != nil {
			return err
		}
		res.Batch = opened.Batch
		res.Staged, err = transform.Stage(ctx, conn, p, t, opened.Batch, run)
		return err
	})
	if err != nil {
		return res, err
	}
	a.log.InfoContext(ctx, "transformer ran", "platform", p.Name, "workspace", t.Workspace, "run", res.RunID,
		"status", res.Status, "output", res.OutputStream, "batch", res.Batch, "staged", res.Staged)
	if res.Batch > 0 {
		a.events.staged(ctx, pool, p.Name, t.Output.Key, res.Batch, time.Since(began))
	}
	return res, nil
}

// transformerSession opens the transformer's connections: the merge pool in development, else a
// connection with the transformer's own login upper(D_DT_W) to the merge database.
func (a *Activities) transformerSession(ctx context.Context, p *platform.Platform, t *platform.Transformer, pool pgPool) (transform.Session, error) {
	if a.cfg.TransformerAsMergeLogin {
		return func(ctx context.Context) (*pgx.Conn, func(), error) {
			c, err := pool.Acquire(ctx)
			if err != nil {
				return nil, nil, err
			}
			return c.Conn(), c.Release, nil
		}, nil
	}
	host := p.Settings.GetMergeDatabase().GetPostgres()
	if host == nil {
		return nil, &modelError{fmt.Errorf("platform %s: the transformer login needs the model's merge database and a credential store", p.Name)}
	}
	cred := naming.TransformerCredential(p.Name, t.Workspace)
	user, password, err := a.deps.Secrets.UserPassword(ctx, p.Store, cred)
	if err != nil {
		return nil, &modelError{fmt.Errorf("transformer credential %s: %w", cred, err)}
	}
	cfg, err := pgx.ParseConfig(mergedb.DSN(host, user, password))
	if err != nil {
		return nil, fmt.Errorf("transformer connection string of %s cannot be parsed", t.Workspace)
	}
	for k, v := range mergedb.SessionParams() {
		cfg.RuntimeParams[k] = v
	}
	return func(ctx context.Context) (*pgx.Conn, func(), error) {
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return nil, nil, err
		}
		return c, func() { _ = c.Close(context.WithoutCancel(ctx)) }, nil
	}, nil
}

// ---------------------------------------------------------------------------------------------
// PruneStaging

// PruneStagingInput names the streams whose staging is pruned (none = every stream).
type PruneStagingInput struct {
	Platform string
	Version
	Streams []string
}

// PrunedStream is one stream's retention outcome.
type PrunedStream struct {
	Stream       string
	CurrentBatch int32
	// Rows deleted by dataset (datasets that keep every batch are left out).
	Rows map[string]int64
}

// PruneStagingResult lists the streams pruned.
type PruneStagingResult struct {
	Streams []PrunedStream
}

// PruneStaging applies the staging retention of yellow.md §13 relative to each stream's current
// batch B: staging rows of batches below B - stagingBatchesToKeep are deleted (-1 keeps all).
// StartBatch does the same whenever it creates a batch; this activity applies a lowered setting
// at once. Each stream is pruned under its lock.
func (a *Activities) PruneStaging(ctx context.Context, in PruneStagingInput) (PruneStagingResult, error) {
	res, err := a.pruneStaging(ctx, in)
	return res, a.fail("PruneStaging", err)
}

func (a *Activities) pruneStaging(ctx context.Context, in PruneStagingInput) (PruneStagingResult, error) {
	var res PruneStagingResult
	p, err := a.platform(ctx, in.Version, in.Platform)
	if err != nil {
		return res, err
	}
	streams, err := selectStreams(p, in.Streams)
	if err != nil {
		return res, err
	}
	pool, err := a.db(ctx, p)
	if err != nil {
		return res, err
	}
	for _, s := range streams {
		err := mergedb.WithStreamLock(ctx, pool, p.Name, s.Key, func(conn *pgx.Conn) error {
			cur, rows, err := batch.Prune(ctx, conn, p, s)
			if err == nil {
				res.Streams = append(res.Streams, PrunedStream{Stream: s.Key, CurrentBatch: cur, Rows: rows})
			}
			return err
		})
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// ---------------------------------------------------------------------------------------------
// Lag

// LagInput selects the streams whose lag is read: the streams named, or the streams feeding a
// workspace's views, or (neither) every stream of the platform.
type LagInput struct {
	Platform string
	Version
	Streams   []string
	Workspace string
}

// StreamLag is the lag of one stream (yellow.md §14).
type StreamLag struct {
	Stream string
	// Batch is the latest committed batch; DataTime its data time (zero when not recorded).
	Batch    int32
	DataTime time.Time
	// Seconds = now − DataTime.
	Seconds float64
}

// LagResult lists the streams with a committed batch (streams without one are in NoBatch).
type LagResult struct {
	Streams []StreamLag
	NoBatch []string
	// WorkspaceSeconds is the maximum stream lag over the workspace's streams (LagInput.Workspace
	// only; 0 when none has committed).
	WorkspaceSeconds float64
}

// Lag reads the stream lag of yellow.md §14: now − the data time of each stream's latest
// committed batch; for a workspace also the workspace lag, the maximum over the streams
// feeding its views.
func (a *Activities) Lag(ctx context.Context, in LagInput) (LagResult, error) {
	res, err := a.lag(ctx, in)
	return res, a.fail("Lag", err)
}

func (a *Activities) lag(ctx context.Context, in LagInput) (LagResult, error) {
	var res LagResult
	p, err := a.platform(ctx, in.Version, in.Platform)
	if err != nil {
		return res, err
	}
	keys := in.Streams
	switch {
	case len(keys) > 0:
		if _, err := selectStreams(p, keys); err != nil {
			return res, err
		}
	case in.Workspace != "":
		if p.Index.Workspaces[in.Workspace] == nil {
			return res, &platform.NotFoundError{What: "workspace", Name: in.Workspace}
		}
		for _, e := range p.Graph.Exports {
			if slices.Contains(e.Readers, in.Workspace) && !slices.Contains(keys, e.Stream) {
				keys = append(keys, e.Stream)
			}
		}
		slices.Sort(keys)
	default:
		for _, s := range p.Streams() {
			keys = append(keys, s.Key)
		}
	}
	if len(keys) == 0 {
		return res, nil
	}
	pool, err := a.db(ctx, p)
	if err != nil {
		return res, err
	}
	st := mergesql.StreamLag(naming.BatchMetrics(p.Name), keys)
	seen := map[string]bool{}
	err = pg.InTx(ctx, pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, st.SQL, st.Args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var l StreamLag
			var dt *time.Time
			var secs *float64
			if err := rows.Scan(&l.Stream, &l.Batch, &dt, &secs); err != nil {
				return err
			}
			if dt != nil {
				l.DataTime = dt.UTC()
			}
			if secs != nil {
				l.Seconds = *secs
			}
			res.Streams = append(res.Streams, l)
			seen[l.Stream] = true
			res.WorkspaceSeconds = max(res.WorkspaceSeconds, l.Seconds)
		}
		return rows.Err()
	})
	if err != nil {
		return res, fmt.Errorf("%s: %w", st.Name, err)
	}
	for _, k := range keys {
		if !seen[k] {
			res.NoBatch = append(res.NoBatch, k)
		}
	}
	if in.Workspace == "" {
		res.WorkspaceSeconds = 0
	}
	return res, nil
}
