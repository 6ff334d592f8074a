// Package batch owns the batch steps of yellow.md §6.3 that the merge service runs: opening or
// resuming a batch under the counter row lock (step 2, with staging retention, §13), the merge
// and commit transaction (step 4, §9) — the only moment a batch becomes visible — and recording
// a failed batch. The caller holds the stream's lock.
package batch

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/datasurface/datasurface/kit/pg"
	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/services/merge/internal/platform"
	"github.com/jackc/pgx/v5"
)

// StatusError says a batch is not in the status a step needs.
type StatusError struct {
	Key    string
	Batch  int32
	Status mergesql.Status
	Want   mergesql.Status
}

func (e *StatusError) Error() string {
	s := string(e.Status)
	if s == "" {
		s = "missing"
	}
	return fmt.Sprintf("batch %d of stream %s is %s, not %s", e.Batch, e.Key, s, e.Want)
}

// Opened is the outcome of step 2.
type Opened struct {
	Batch int32
	// Status is started (ingest next) or ingested (merge next).
	Status  mergesql.Status
	Attempt int
	// New is set when a new batch was created, Resumed when a started or failed batch was taken
	// up again, Reset when its recorded fingerprints differed from the model's (staging cleared).
	New     bool
	Resumed bool
	Reset   bool
	// Pruned counts the staging rows deleted by retention, by dataset.
	Pruned map[string]int64
	// Noop: a secondary's stream with nothing new on its primary; no batch was created (Batch
	// 0). Remote is a secondary batch's position on its primary (also set for a no-op: R and L).
	Noop   bool
	Remote *mergesql.RemoteState
}

func exec(ctx context.Context, tx pgx.Tx, s mergesql.Stmt) (int64, error) {
	tag, err := tx.Exec(ctx, s.SQL, s.Args...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", s.Name, err)
	}
	return tag.RowsAffected(), nil
}

// readState reads the status and state of batch b of key (status "" when there is no row).
func readState(ctx context.Context, tx pgx.Tx, books mergesql.Books, key string, b int32, forUpdate bool) (mergesql.Status, mergesql.State, error) {
	st := books.BatchState(key, b, forUpdate)
	var status string
	var raw []byte
	err := tx.QueryRow(ctx, st.SQL, st.Args...).Scan(&status, &raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return mergesql.NoBatch, mergesql.State{}, nil
	}
	if err != nil {
		return "", mergesql.State{}, fmt.Errorf("%s: %w", st.Name, err)
	}
	state, err := mergesql.ParseState(raw)
	if err != nil {
		return "", mergesql.State{}, fmt.Errorf("batch %d of stream %s: %w", b, key, err)
	}
	return mergesql.Status(status), state, nil
}

// Open is step 2 of yellow.md §6.3, one transaction with the counter row FOR UPDATE: no batch
// or a committed one → start B = current + 1 (metrics row started, counter set, staging pruned,
// CDC load table truncated); started or failed → resume B (attempt + 1 when failed); ingested →
// merge next. A resumed batch whose recorded fingerprints differ from the model's is reset:
// staging(B) deleted, new fingerprints recorded, status started.
func Open(ctx context.Context, db pg.Beginner, p *platform.Platform, s *platform.Stream, modelVersion int64) (Opened, error) {
	if s.Remote {
		return Opened{}, fmt.Errorf("stream %s is copied from primary platform %s: open its batches with OpenRemote", s.Key, s.PrimaryPlatform)
	}
	return open(ctx, db, p, s, modelVersion, nil)
}

// newRemote decides, under the counter row lock, whether a secondary's stream starts a batch
// after its current batch cur (none or committed): ok false is a no-op.
type newRemote func(ctx context.Context, tx pgx.Tx, cur int32) (b int32, rs *mergesql.RemoteState, ok bool, err error)

func open(ctx context.Context, db pg.Beginner, p *platform.Platform, s *platform.Stream, modelVersion int64, remote newRemote) (Opened, error) {
	books := mergesql.BooksOf(p.Name)
	var o Opened
	err := pg.InTx(ctx, db, func(tx pgx.Tx) error {
		o = Opened{}
		if _, err := exec(ctx, tx, books.EnsureCounter(s.Key)); err != nil {
			return err
		}
		lc := books.LockCounter(s.Key)
		var cur int32
		if err := tx.QueryRow(ctx, lc.SQL, lc.Args...).Scan(&cur); err != nil {
			return fmt.Errorf("%s: %w", lc.Name, err)
		}
		status := mergesql.NoBatch
		var state mergesql.State
		if cur > 0 {
			var err error
			if status, state, err = readState(ctx, tx, books, s.Key, cur, true); err != nil {
				return err
			}
		}
		decision, err := mergesql.OpenFor(status)
		if err != nil {
			return err
		}
		fresh := mergesql.State{
			V: mergesql.StateVersion, ModelVersion: modelVersion, Attempt: 1,
			Datasets: s.DatasetNames(), Fingerprints: s.Fingerprints(),
		}
		switch decision {
		case mergesql.OpenNew:
			o.Batch, o.Status, o.Attempt, o.New = cur+1, mergesql.Started, 1, true
			if remote != nil {
				b, rs, ok, err := remote(ctx, tx, cur)
				if err != nil {
					return err
				}
				o.Remote = rs
				if !ok {
					o = Opened{Noop: true, Remote: rs}
					return nil
				}
				o.Batch, fresh.Remote = b, rs
			}
			raw, err := fresh.Marshal()
			if err != nil {
				return err
			}
			for _, st := range []mergesql.Stmt{books.StartBatch(s.Key, o.Batch, raw), books.SetCounter(s.Key, o.Batch)} {
				if _, err := exec(ctx, tx, st); err != nil {
					return err
				}
			}
			o.Pruned, err = prune(ctx, tx, s, o.Batch)
			if err != nil {
				return err
			}
			for _, ds := range s.Datasets {
				if ds.Load != nil {
					if _, err := exec(ctx, tx, mergesql.TruncateCDCLoad(ds.Load.Name)); err != nil {
						return err
					}
				}
			}
			return nil
		case mergesql.OpenMerge:
			o.Batch, o.Status, o.Attempt, o.Remote = cur, mergesql.Ingested, state.Attempt, state.Remote
			if maps.Equal(state.Fingerprints, fresh.Fingerprints) {
				return nil
			}
		case mergesql.OpenResume:
			o.Batch, o.Status, o.Attempt, o.Resumed, o.Remote = cur, mergesql.Started, state.Attempt, true, state.Remote
			if status == mergesql.Failed {
				o.Attempt++
			}
		}
		// Resume or reset: status started, state refreshed; an old schema's staging is cleared.
		next := state
		next.V, next.ModelVersion, next.Attempt, next.Error = mergesql.StateVersion, modelVersion, max(o.Attempt, 1), nil
		if !maps.Equal(state.Fingerprints, fresh.Fingerprints) {
			o.Reset = true
			next.Datasets, next.Fingerprints = fresh.Datasets, fresh.Fingerprints
			next.Rows, next.DataTime, next.Watermark = nil, "", nil
			for _, ds := range s.Datasets {
				if _, err := exec(ctx, tx, mergesql.ClearStaging(ds.Staging.Name, o.Batch)); err != nil {
					return err
				}
			}
		}
		o.Status, o.Attempt = mergesql.Started, next.Attempt
		raw, err := next.Marshal()
		if err != nil {
			return err
		}
		n, err := exec(ctx, tx, books.RestartBatch(s.Key, o.Batch, raw))
		if err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("restart batch %d of stream %s: %d rows changed", o.Batch, s.Key, n)
		}
		return nil
	})
	return o, err
}

// prune deletes the staging rows of batches older than b - keep of every dataset (§13).
func prune(ctx context.Context, tx pgx.Tx, s *platform.Stream, b int32) (map[string]int64, error) {
	out := map[string]int64{}
	for _, ds := range s.Datasets {
		st, ok, err := mergesql.PruneStaging(ds.Staging.Name, b, ds.Keep)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", ds.Name, err)
		}
		if !ok {
			continue
		}
		n, err := exec(ctx, tx, st)
		if err != nil {
			return nil, err
		}
		out[ds.Name] = n
	}
	return out, nil
}

// Prune applies the staging retention of yellow.md §13 relative to the stream's current batch,
// outside batch creation (e.g. after stagingBatchesToKeep was lowered). Rows deleted by dataset.
func Prune(ctx context.Context, db pg.Beginner, p *platform.Platform, s *platform.Stream) (int32, map[string]int64, error) {
	books := mergesql.BooksOf(p.Name)
	var cur int32
	var out map[string]int64
	err := pg.InTx(ctx, db, func(tx pgx.Tx) error {
		lc := books.LockCounter(s.Key)
		err := tx.QueryRow(ctx, lc.SQL, lc.Args...).Scan(&cur)
		if errors.Is(err, pgx.ErrNoRows) {
			cur, out = 0, map[string]int64{}
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", lc.Name, err)
		}
		out, err = prune(ctx, tx, s, cur)
		return err
	})
	return cur, out, err
}

// Committed is the outcome of step 4.
type Committed struct {
	Batch  int32
	Mode   mergesql.Mode
	Counts mergesql.Counts
	// Total is the number of staged rows (total_records, written by ingest).
	Total int64
	// Rows are the per-dataset counts recorded in the state.
	Rows map[string]mergesql.RowCounts
	// Already is set when the batch was committed before (the step is a no-op).
	Already bool
	// Start and End are the batch's start and end times.
	Start, End time.Time
}

// Hook runs inside the merge transaction just before COMMIT (tests simulate crashes with it).
type Hook func(ctx context.Context) error

// Commit is step 4 of yellow.md §6.3, one transaction: lock the metrics row of batch b, check
// it is ingested, run the merge statements of every dataset for the stream's mode (§9), and set
// committed with end time and counts. A committed batch is a no-op that reports its counts.
func Commit(ctx context.Context, db pg.Beginner, p *platform.Platform, s *platform.Stream, b int32, beforeCommit Hook) (Committed, error) {
	books := mergesql.BooksOf(p.Name)
	var c Committed
	err := pg.InTx(ctx, db, func(tx pgx.Tx) error {
		c = Committed{Batch: b}
		status, state, err := readState(ctx, tx, books, s.Key, b, true)
		if err != nil {
			return err
		}
		if status == mergesql.Committed {
			c.Already = true
			return readMetrics(ctx, tx, books, s.Key, b, &c, state)
		}
		if status != mergesql.Ingested {
			return &StatusError{Key: s.Key, Batch: b, Status: status, Want: mergesql.Ingested}
		}
		seed := state.Remote != nil && state.Remote.Seed
		if c.Mode, err = s.Mode(p.Milestoning, seed); err != nil {
			return err
		}
		if state.Rows == nil {
			state.Rows = map[string]mergesql.RowCounts{}
		}
		for _, ds := range s.Datasets {
			target, err := mergesql.TargetOf(ds.Merge, ds.Staging)
			if err != nil {
				return err
			}
			stmts, err := mergesql.Merge(target, c.Mode, b)
			if err != nil {
				return err
			}
			if ds.Layout.Keyless() && !s.Remote {
				// A secondary's rows are the primary's, already one per key (a mirror's several
				// versions of one keyless row must all stay).
				stmts = append([]mergesql.Stmt{mergesql.DedupKeyless(ds.Staging.Name, b)}, stmts...)
			}
			n, err := mergesql.Exec(ctx, tx, stmts)
			if err != nil {
				return fmt.Errorf("merge %s.%s: %w", s.Datastore, ds.Name, err)
			}
			rc := state.Rows[ds.Name]
			rc.Inserted, rc.Updated, rc.Deleted = n.Inserted, n.Updated, n.Deleted
			state.Rows[ds.Name] = rc
			c.Counts.Add(n)
		}
		state.Error = nil
		raw, err := state.Marshal()
		if err != nil {
			return err
		}
		n, err := exec(ctx, tx, books.MarkCommitted(s.Key, b, c.Counts, raw))
		if err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("mark batch %d of stream %s committed: %d rows changed", b, s.Key, n)
		}
		if err := readMetrics(ctx, tx, books, s.Key, b, &c, state); err != nil {
			return err
		}
		if beforeCommit != nil {
			return beforeCommit(ctx)
		}
		return nil
	})
	return c, err
}

func readMetrics(ctx context.Context, tx pgx.Tx, books mergesql.Books, key string, b int32, c *Committed, state mergesql.State) error {
	var total, ins, upd, del *int64
	var end *time.Time
	err := tx.QueryRow(ctx, `SELECT batch_start_time, batch_end_time, total_records, records_inserted, records_updated, records_deleted
FROM `+ddl.Ident(books.Metrics)+` WHERE key = $1 AND batch_id = $2`, key, b).Scan(&c.Start, &end, &total, &ins, &upd, &del)
	if err != nil {
		return fmt.Errorf("read metrics of batch %d of stream %s: %w", b, key, err)
	}
	deref := func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	}
	c.Total = deref(total)
	c.Counts = mergesql.Counts{Inserted: deref(ins), Updated: deref(upd), Deleted: deref(del)}
	if end != nil {
		c.End = *end
	}
	c.Rows = state.Rows
	return nil
}

// Failure is the error a failed batch records (state.error).
type Failure struct {
	Phase     string
	Message   string
	Permanent bool
}

// Fail records batch b of stream key as failed with f, in its own transaction (yellow.md §6.3):
// only a started or ingested batch changes; the status the batch ends in is returned (a batch
// already failed or committed is left as it is).
func Fail(ctx context.Context, db pg.Beginner, d, key string, b int32, f Failure) (mergesql.Status, error) {
	books := mergesql.BooksOf(d)
	var out mergesql.Status
	err := pg.InTx(ctx, db, func(tx pgx.Tx) error {
		status, state, err := readState(ctx, tx, books, key, b, true)
		if err != nil {
			return err
		}
		out = status
		if status != mergesql.Started && status != mergesql.Ingested {
			if status == mergesql.NoBatch {
				return &StatusError{Key: key, Batch: b, Status: status, Want: "started or ingested"}
			}
			return nil
		}
		var now time.Time
		if err := tx.QueryRow(ctx, "SELECT now()").Scan(&now); err != nil {
			return err
		}
		state.Error = &mergesql.ErrorState{Phase: f.Phase, Message: f.Message, Permanent: f.Permanent, At: now.UTC().Format(time.RFC3339Nano)}
		raw, err := state.Marshal()
		if err != nil {
			return err
		}
		if _, err := exec(ctx, tx, books.MarkFailed(key, b, raw)); err != nil {
			return err
		}
		out = mergesql.Failed
		return nil
	})
	return out, err
}
