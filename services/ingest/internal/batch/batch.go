// Package batch owns one ingest of one batch — step 3 of yellow.md §6.3: under the stream's lock
// and with the batch's status checked under its row lock, clear and fill staging(B) for every
// dataset of the stream in one merge-database transaction, record the capture state and counts,
// and set the status ingested. A failure rolls everything back (no partial staging survives) and
// returns a typed error; recording `failed` is the caller's step.
package batch

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/datasurface/datasurface/kit/pg"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/ingest/internal/books"
	"github.com/datasurface/datasurface/services/ingest/internal/failure"
	"github.com/datasurface/datasurface/services/ingest/internal/pgsession"
	"github.com/datasurface/datasurface/services/ingest/internal/plan"
	"github.com/datasurface/datasurface/services/ingest/internal/secret"
	"github.com/datasurface/datasurface/services/ingest/internal/sqlingest"
	"github.com/jackc/pgx/v5"
)

// Deps are what an ingest needs besides the model.
type Deps struct {
	Secrets secret.Resolver
	Session pgsession.Options
	Log     *slog.Logger
	// CDC reads Kafka CDC streams; nil = CDC streams fail.
	CDC *CDC
	// Archive opens the raw archive of a batch when the platform has one; nil = archives fail.
	Archive ArchiveOpener
	// Pools, when set, keeps warm merge and source sessions across batches; nil = every
	// ingest opens and closes its own connections.
	Pools *pgsession.Pools
}

// Request names the batch.
type Request struct {
	Model    *modelv1.Model
	Platform string
	Stream   string
	Batch    int32
}

// Outcome is what the ingest did.
type Outcome struct {
	// Already is the status the batch had when the call found nothing to do (ingested or
	// committed); "" when this call ingested it.
	Already   mergesql.Status
	Capture   layout.Capture
	Rows      map[string]int64
	Rejected  map[string]int64
	Replayed  map[string]int64
	Total     int64
	Bytes     int64
	DataTime  time.Time
	Watermark *mergesql.WatermarkState
	Kafka     *mergesql.KafkaState
	// Attempt and ModelVersion are the batch's state.attempt and state.modelVersion.
	Attempt      int
	ModelVersion int64
}

// Ingest ingests batch r.Batch of stream r.Stream (status started → ingested).
func Ingest(ctx context.Context, d Deps, r Request) (Outcome, error) {
	s, err := plan.Resolve(r.Model, r.Platform, r.Stream)
	if err != nil {
		return Outcome{}, err
	}
	merge, release, err := session(ctx, d, s.Store, s.Merge, pgsession.Merge, s.Owner)
	if err != nil {
		return Outcome{}, err
	}
	defer release()
	if err := pgsession.SetOwnerRole(ctx, merge, s.Owner); err != nil {
		return Outcome{}, sqlingest.MergeErr("", "owner role", err)
	}
	unlock, err := books.Lock(ctx, merge, s.Platform, s.Key)
	if err != nil {
		return Outcome{}, err
	}
	defer unlock()
	cur, err := current(ctx, merge, s, r.Batch, false)
	if err != nil {
		return Outcome{}, err
	}
	if cur.Status != mergesql.Started {
		out := already(s, cur)
		out.Attempt, out.ModelVersion = cur.State.Attempt, cur.State.ModelVersion
		return out, nil
	}
	out, err := ingestCapture(ctx, d, s, r.Batch, merge, cur)
	out.Attempt, out.ModelVersion = cur.State.Attempt, cur.State.ModelVersion
	return out, err
}

func ingestCapture(ctx context.Context, d Deps, s *plan.Stream, b int32, merge *pgx.Conn, cur books.Batch) (Outcome, error) {
	switch s.Capture {
	case layout.Snapshot, layout.Watermark:
		return ingestSQL(ctx, d, s, b, merge, cur)
	case layout.CDC:
		if d.CDC == nil {
			return Outcome{}, failure.New(failure.Kafka, "", "Kafka CDC is not configured in this ingest service", nil)
		}
		return ingestCDC(ctx, d, s, b, merge, cur)
	case layout.RemoteLive, layout.RemoteForensic:
		return ingestRemote(ctx, d, s, b, merge, cur)
	}
	return Outcome{}, failure.Newf(failure.Model, "", nil, "capture %s is not ingested by the ingest service", s.Capture)
}

// current reads the batch and checks it can be ingested: it exists, it is not failed, and it
// was started under the current schema. An ingested or committed batch is returned as is.
func current(ctx context.Context, q books.Querier, s *plan.Stream, b int32, forUpdate bool) (books.Batch, error) {
	cur, ok, err := books.Read(ctx, q, s.Books, s.Key, b, forUpdate)
	if err != nil {
		return cur, sqlingest.MergeErr("", "read batch state", err)
	}
	if !ok {
		return cur, failure.Newf(failure.BatchState, "", nil,
			"batch %d of stream %s does not exist: open it first (yellow.md §6.3 step 2)", b, s.Key)
	}
	switch cur.Status {
	case mergesql.Ingested, mergesql.Committed:
		return cur, nil
	case mergesql.Failed:
		return cur, failure.Newf(failure.BatchState, "", nil,
			"batch %d of stream %s is failed: the next run resumes it (yellow.md §6.3 step 2) before ingesting", b, s.Key)
	case mergesql.Started:
	default:
		return cur, failure.Newf(failure.BatchState, "", nil, "batch %d of stream %s has unknown status %q", b, s.Key, cur.Status)
	}
	if fp := cur.State.Fingerprints; len(fp) > 0 && !maps.Equal(fp, s.Fingerprints()) {
		return cur, failure.Newf(failure.BatchState, "", nil,
			"batch %d of stream %s was started under another schema (its fingerprints differ from the model's): the next run resets it (yellow.md §6.3 step 2)", b, s.Key)
	}
	return cur, nil
}

// already reports a batch that needs no ingest, from its state record.
func already(s *plan.Stream, cur books.Batch) Outcome {
	o := Outcome{Already: cur.Status, Capture: s.Capture, Rows: map[string]int64{}, Watermark: cur.State.Watermark, Kafka: cur.State.Kafka}
	for name, c := range cur.State.Rows {
		o.Rows[name] = c.Staged
		o.Total += c.Staged
		if c.Rejected > 0 {
			if o.Rejected == nil {
				o.Rejected = map[string]int64{}
			}
			o.Rejected[name] = c.Rejected
		}
		if c.Replayed > 0 {
			if o.Replayed == nil {
				o.Replayed = map[string]int64{}
			}
			o.Replayed[name] = c.Replayed
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, cur.State.DataTime); err == nil {
		o.DataTime = t
	}
	return o
}

// ingestSQL is the SQL snapshot and watermark ingest (yellow.md §7.1, §7.2).
func ingestSQL(ctx context.Context, d Deps, s *plan.Stream, b int32, merge *pgx.Conn, cur books.Batch) (Outcome, error) {
	var last *mergesql.State
	if s.Watermark != nil {
		_, st, ok, err := books.LastCommitted(ctx, merge, s.Books, s.Key)
		if err != nil {
			return Outcome{}, sqlingest.MergeErr("", "read the last committed batch", err)
		}
		if ok {
			last = &st
		}
	}
	srcConn, release, err := session(ctx, d, s.Store, *s.Source, pgsession.Source, "")
	if err != nil {
		return Outcome{}, err
	}
	defer release()
	src, err := sqlingest.Prepare(ctx, srcConn, s, cur.State, last)
	if err != nil {
		return Outcome{}, err
	}
	defer src.Close(ctx)
	src.Log = d.Log
	out := Outcome{Capture: s.Capture, DataTime: src.DataTime().UTC(), Watermark: src.Watermark()}
	err = commit(ctx, merge, s, b, func(tx pgx.Tx, state *mergesql.State) (int64, error) {
		arch, err := openArchive(ctx, d, s, b, state)
		if err != nil {
			return 0, err
		}
		var sa sqlingest.Archive
		if arch != nil {
			sa = arch
		}
		loaded, err := src.Load(ctx, tx, b, sa)
		if err != nil {
			abortArchive(ctx, arch)
			return 0, err
		}
		out.Rows, out.Total, out.Bytes = loaded.Rows, loaded.Total, loaded.Bytes
		state.DataTime = out.DataTime.Format(time.RFC3339Nano)
		state.Watermark = out.Watermark
		setStaged(state, loaded.Rows)
		if arch != nil {
			if err := arch.Finish(ctx, state); err != nil {
				abortArchive(ctx, arch)
				return 0, failure.Wrap(err, failure.Archive, "", "raw archive")
			}
		}
		return loaded.Total, nil
	})
	if err != nil {
		return Outcome{}, err
	}
	return out, nil
}

// setStaged records the staged rows per dataset in the state, keeping other counts.
func setStaged(state *mergesql.State, rows map[string]int64) {
	if state.Rows == nil {
		state.Rows = make(map[string]mergesql.RowCounts, len(rows))
	}
	for name, n := range rows {
		c := state.Rows[name]
		c.Staged = n
		state.Rows[name] = c
	}
}

// commit runs load in the ingest transaction: the batch is re-read under its row lock and must
// still be started; load fills staging and updates the state; then the batch is marked
// ingested with the total load returns, and the transaction commits.
func commit(ctx context.Context, merge *pgx.Conn, s *plan.Stream, b int32, load func(tx pgx.Tx, state *mergesql.State) (int64, error)) error {
	err := pg.InTx(ctx, merge, func(tx pgx.Tx) error {
		cur, err := current(ctx, tx, s, b, true)
		if err != nil {
			return err
		}
		if cur.Status != mergesql.Started {
			return failure.Newf(failure.BatchState, "", nil, "batch %d of stream %s became %s during the ingest", b, s.Key, cur.Status)
		}
		state := cur.State
		state.Error = nil
		total, err := load(tx, &state)
		if err != nil {
			return err
		}
		return books.MarkIngested(ctx, tx, s.Books, s.Key, b, total, state)
	})
	return sqlingest.MergeErr("", "ingest transaction", err)
}

// Connect resolves ep's credential and opens a session of kind k.
func Connect(ctx context.Context, d Deps, store *modelv1.CredentialStore, ep plan.Endpoint, k pgsession.Kind) (*pgx.Conn, error) {
	cfg, err := sessionConfig(ctx, d, store, ep, k)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, connectErr(err, ep, k)
	}
	return conn, nil
}

// session is Connect through d.Pools when set: a warm pooled session (merge sessions pooled
// per platform owner role) and the function that gives it back; otherwise a new connection
// and the function that closes it.
func session(ctx context.Context, d Deps, store *modelv1.CredentialStore, ep plan.Endpoint, k pgsession.Kind, owner string) (*pgx.Conn, func(), error) {
	if d.Pools == nil {
		conn, err := Connect(ctx, d, store, ep, k)
		if err != nil {
			return nil, nil, err
		}
		return conn, func() { closeConn(ctx, conn) }, nil
	}
	cfg, err := sessionConfig(ctx, d, store, ep, k)
	if err != nil {
		return nil, nil, err
	}
	conn, release, err := d.Pools.Acquire(ctx, cfg, k, owner)
	if err != nil {
		return nil, nil, connectErr(err, ep, k)
	}
	return conn, release, nil
}

// sessionConfig resolves ep's credential into the connection settings of a session of kind k.
func sessionConfig(ctx context.Context, d Deps, store *modelv1.CredentialStore, ep plan.Endpoint, k pgsession.Kind) (*pgx.ConnConfig, error) {
	what := "merge database"
	if k == pgsession.Source {
		what = "source database"
	}
	sec, err := d.Secrets.Resolve(ctx, store, ep.Credential)
	if err != nil {
		return nil, failure.Newf(failure.Credential, "", err, "resolve credential %q of the %s", ep.Credential.GetName(), what)
	}
	cfg, err := pgsession.Config(ep, pgsession.Login{User: sec.User, Password: sec.Password}, d.Session, k)
	if err != nil {
		return nil, failure.New(failure.Model, "", what, err)
	}
	return cfg, nil
}

// connectErr classifies an error opening a session of kind k to ep.
func connectErr(err error, ep plan.Endpoint, k pgsession.Kind) error {
	what, unreachable, login := "merge database", failure.MergeUnreachable, failure.MergeUnreachable
	if k == pgsession.Source {
		what, unreachable, login = "source database", failure.SourceUnreachable, failure.SourceLogin
	}
	return failure.Connect(err, unreachable, login, fmt.Sprintf("connect to the %s %s:%d/%s", what, ep.Host, ep.Port, ep.Database))
}

func closeConn(ctx context.Context, c *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = c.Close(ctx)
}
