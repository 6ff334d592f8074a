package batch

import (
	"context"
	"errors"
	"fmt"

	"github.com/datasurface/datasurface/kit/pg"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/services/merge/internal/platform"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TxBeginner opens a transaction with options: the pool of the primary's merge database.
type TxBeginner interface {
	BeginTx(ctx context.Context, o pgx.TxOptions) (pgx.Tx, error)
}

// RemoteError is a secondary's batch that cannot be opened whatever the retries: the primary is
// not a forensic Yellow platform, or a forensic secondary's batch ids would go backwards.
type RemoteError struct{ Err error }

func (e *RemoteError) Error() string { return e.Err.Error() }
func (e *RemoteError) Unwrap() error { return e.Err }

// OpenRemote is step 2 of yellow.md §6.3 for a secondary's stream (§8), one transaction on the
// secondary's merge database with the counter row FOR UPDATE. A started, failed or ingested
// current batch is resumed exactly as Open does (it keeps the primary batch R it was opened
// for). Otherwise R — the primary's latest committed batch of the stream — is read in a
// REPEATABLE READ, READ ONLY transaction on the primary's database, and L is
// state.remote.remoteBatch of the stream's last committed batch (none, or a batch copied from
// another platform: seed). R = 0 or R <= L is a no-op: no batch is created. Else a live-only
// secondary starts B = current + 1 (§8.1) and a forensic one B = R (§8.2; R must be above the
// current batch), with state.remote = {P, R, L, seed}; retention and the rest as Open.
func OpenRemote(ctx context.Context, db pg.Beginner, primary TxBeginner, p *platform.Platform, s *platform.Stream, modelVersion int64) (Opened, error) {
	if !s.Remote || s.Primary == nil || len(s.Datasets) == 0 {
		return Opened{}, fmt.Errorf("stream %s is not copied from a primary platform", s.Key)
	}
	if err := s.Primary.Check(); err != nil {
		return Opened{}, &RemoteError{fmt.Errorf("stream %s: %w", s.Key, err)}
	}
	books := mergesql.BooksOf(p.Name)
	decide := func(ctx context.Context, tx pgx.Tx, cur int32) (int32, *mergesql.RemoteState, bool, error) {
		rs := &mergesql.RemoteState{Platform: s.Primary.Name, Seed: true}
		last, ok, err := lastRemote(ctx, tx, books, s.Key)
		if err != nil {
			return 0, nil, false, err
		}
		if ok && last.Platform == s.Primary.Name {
			rs.PreviousRemoteBatch, rs.Seed = last.RemoteBatch, false
		}
		if rs.RemoteBatch, err = RemoteCommitted(ctx, primary, *s.Datasets[0].Remote, s.Key); err != nil {
			return 0, nil, false, err
		}
		if rs.RemoteBatch == 0 || (!rs.Seed && rs.RemoteBatch <= rs.PreviousRemoteBatch) {
			return 0, rs, false, nil
		}
		if s.Capture != layout.RemoteForensic {
			return cur + 1, rs, true, nil
		}
		if rs.RemoteBatch <= cur {
			return 0, nil, false, &RemoteError{fmt.Errorf(
				"stream %s: the primary %s's committed batch %d is not above the current batch %d, and a forensic secondary's batch is the primary's batch id (yellow.md §8.2): the stream needs a reseed",
				s.Key, s.Primary.Name, rs.RemoteBatch, cur)}
		}
		return rs.RemoteBatch, rs, true, nil
	}
	return open(ctx, db, p, s, modelVersion, decide)
}

// lastRemote reads state.remote of the stream's last committed batch; ok is false when there is
// no committed batch or it was not copied from a primary.
func lastRemote(ctx context.Context, tx pgx.Tx, books mergesql.Books, key string) (mergesql.RemoteState, bool, error) {
	st := books.LastCommitted(key)
	var id int32
	var raw []byte
	err := tx.QueryRow(ctx, st.SQL, st.Args...).Scan(&id, &raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return mergesql.RemoteState{}, false, nil
	}
	if err != nil {
		return mergesql.RemoteState{}, false, fmt.Errorf("%s: %w", st.Name, err)
	}
	state, err := mergesql.ParseState(raw)
	if err != nil {
		return mergesql.RemoteState{}, false, fmt.Errorf("batch %d of stream %s: %w", id, key, err)
	}
	if state.Remote == nil {
		return mergesql.RemoteState{}, false, nil
	}
	return *state.Remote, true, nil
}

// RemoteCommitted reads R, the primary's latest committed batch of stream key, in one REPEATABLE
// READ, READ ONLY transaction on the primary's database (yellow.md §8). A primary whose
// bookkeeping tables do not exist yet has committed nothing: R = 0.
func RemoteCommitted(ctx context.Context, primary TxBeginner, r mergesql.Remote, key string) (int32, error) {
	tx, err := primary.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, fmt.Errorf("read the primary's committed batch: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	st := mergesql.RemoteCommitted(r, key)
	var rb int32
	err = tx.QueryRow(ctx, st.SQL, st.Args...).Scan(&rb)
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe) && pe.Code == "42P01":
		return 0, nil
	case errors.As(err, &pe) && pe.Code == "42501":
		return 0, fmt.Errorf("%s on %s: the secondary's merge login is not (yet) a member of the primary's reader role (security.md §2): %w", st.Name, r.Metrics, err)
	case err != nil:
		return 0, fmt.Errorf("%s on %s: %w", st.Name, r.Metrics, err)
	}
	return rb, nil
}
