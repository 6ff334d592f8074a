// Package books owns ingest's use of the platform's bookkeeping tables (yellow.md §6): the
// stream's session advisory lock, reading a batch's status and state record (under a row lock
// inside the ingest transaction), the last committed batch's capture state, and marking a batch
// ingested. Every statement comes from mergesql.Books, so ingest and the merge service agree.
package books

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/services/ingest/internal/failure"
	"github.com/jackc/pgx/v5"
)

// Querier is a pgx.Tx or *pgx.Conn.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Batch is a batch's status and state record.
type Batch struct {
	Status mergesql.Status
	State  mergesql.State
}

// Read reads batch b of stream key; ok is false when it has no metrics row. forUpdate locks the
// row (inside a transaction).
func Read(ctx context.Context, q Querier, bk mergesql.Books, key string, b int32, forUpdate bool) (Batch, bool, error) {
	st := bk.BatchState(key, b, forUpdate)
	var (
		status string
		raw    []byte
	)
	err := q.QueryRow(ctx, st.SQL, st.Args...).Scan(&status, &raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return Batch{}, false, nil
	}
	if err != nil {
		return Batch{}, false, fmt.Errorf("read batch %d of %s: %w", b, key, err)
	}
	state, err := mergesql.ParseState(raw)
	if err != nil {
		return Batch{}, false, fmt.Errorf("batch %d of %s: %w", b, key, err)
	}
	return Batch{Status: mergesql.Status(status), State: state}, true, nil
}

// LastCommitted reads the state of the latest committed batch of key; ok is false when none is
// committed.
func LastCommitted(ctx context.Context, q Querier, bk mergesql.Books, key string) (id int32, state mergesql.State, ok bool, err error) {
	st := bk.LastCommitted(key)
	var raw []byte
	err = q.QueryRow(ctx, st.SQL, st.Args...).Scan(&id, &raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, mergesql.State{}, false, nil
	}
	if err != nil {
		return 0, mergesql.State{}, false, fmt.Errorf("read the last committed batch of %s: %w", key, err)
	}
	state, err = mergesql.ParseState(raw)
	if err != nil {
		return 0, mergesql.State{}, false, fmt.Errorf("last committed batch %d of %s: %w", id, key, err)
	}
	return id, state, true, nil
}

// Lock takes the stream's session advisory lock on conn (yellow.md §6.3); a lock held by another
// session is the retryable error StreamBusy. The returned function releases it.
func Lock(ctx context.Context, conn *pgx.Conn, d, key string) (func(), error) {
	st := mergesql.TryLockStream(d, key)
	var ok bool
	if err := conn.QueryRow(ctx, st.SQL, st.Args...).Scan(&ok); err != nil {
		return nil, failure.Wrap(err, failure.MergeUnreachable, "", "lock stream "+key)
	}
	if !ok {
		return nil, failure.Newf(failure.StreamBusy, "", nil, "stream busy: another step of stream %s on platform %s holds its lock", key, d)
	}
	return func() {
		if conn.IsClosed() {
			return // the server released the lock with the session
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		un := mergesql.UnlockStream(d, key)
		var released bool
		if err := conn.QueryRow(ctx, un.SQL, un.Args...).Scan(&released); err != nil || !released {
			// Never give a session that may still hold the lock back to a pool: closing it
			// makes the server release the lock.
			_ = conn.Close(ctx)
		}
	}, nil
}

// MarkIngested ends the ingest (status started → ingested) with the total staged rows and the
// state record; it fails when the batch is no longer started.
func MarkIngested(ctx context.Context, tx pgx.Tx, bk mergesql.Books, key string, b int32, total int64, state mergesql.State) error {
	raw, err := state.Marshal()
	if err != nil {
		return err
	}
	st := bk.MarkIngested(key, b, total, raw)
	tag, err := tx.Exec(ctx, st.SQL, st.Args...)
	if err != nil {
		return fmt.Errorf("%s: %w", st.Name, err)
	}
	if tag.RowsAffected() != 1 {
		return failure.Newf(failure.BatchState, "", nil, "batch %d of stream %s is no longer started", b, key)
	}
	return nil
}

// Exec runs statements in tx.
func Exec(ctx context.Context, tx pgx.Tx, stmts ...mergesql.Stmt) (int64, error) {
	var n int64
	for _, s := range stmts {
		tag, err := tx.Exec(ctx, s.SQL, s.Args...)
		if err != nil {
			return n, fmt.Errorf("%s: %w", s.Name, err)
		}
		n += tag.RowsAffected()
	}
	return n, nil
}

// StartTime reads batch_start_time of batch b.
func StartTime(ctx context.Context, q Querier, bk mergesql.Books, key string, b int32) (time.Time, error) {
	var t time.Time
	err := q.QueryRow(ctx, "SELECT batch_start_time FROM "+pgx.Identifier{bk.Metrics.Schema, bk.Metrics.Name}.Sanitize()+
		" WHERE key = $1 AND batch_id = $2", key, b).Scan(&t)
	return t, err
}
