// Package batchstatus reads a Yellow platform's batch bookkeeping (yellow.md §4, §6): batch_metrics
// rows with their state records and the counter's current batch. It only reads; the merge service
// writes the same tables through the statements of mergesql. The ingest and merge services' status
// APIs and the merge service's events read through it.
package batchstatus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Querier is a pool, connection or transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Batch is one batch_metrics row.
type Batch struct {
	Stream   string
	ID       int32
	Status   mergesql.Status
	Start    time.Time
	End      time.Time // zero while neither committed nor failed
	Inserted int64
	Updated  int64
	Deleted  int64
	Total    int64
	State    mergesql.State
}

// ErrNoTables is returned when the platform's bookkeeping tables do not exist yet.
var ErrNoTables = errors.New("the platform's bookkeeping tables do not exist yet")

// Cursor is the position after the last batch of a page: batches are ordered by stream key,
// then batch id descending.
type Cursor struct {
	Stream string
	Batch  int32
}

const batchColumns = "key::text, batch_id, batch_status, batch_start_time, batch_end_time, coalesce(records_inserted, 0),\n" +
	"       coalesce(records_updated, 0), coalesce(records_deleted, 0), coalesce(total_records, 0), state"

func metrics(d string) string {
	n := naming.BatchMetrics(d)
	return pgx.Identifier{n.Schema, n.Name}.Sanitize()
}

// Read returns batch b of stream key of platform d; ok is false when there is no such batch.
func Read(ctx context.Context, q Querier, d, key string, b int32) (Batch, bool, error) {
	rows, err := q.Query(ctx, "SELECT "+batchColumns+"\nFROM "+metrics(d)+" WHERE key = $1 AND batch_id = $2", key, b)
	if err != nil {
		return Batch{}, false, Classify(err)
	}
	out, err := scan(rows)
	if err != nil || len(out) == 0 {
		return Batch{}, false, err
	}
	return out[0], true, nil
}

// Current returns the current batch id of stream key (the counter), 0 when the stream has none.
func Current(ctx context.Context, q Querier, d, key string) (int32, error) {
	n := naming.BatchCounter(d)
	var cur int32
	err := q.QueryRow(ctx, "SELECT current_batch FROM "+pgx.Identifier{n.Schema, n.Name}.Sanitize()+" WHERE key = $1", key).Scan(&cur)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, Classify(err)
	}
	return cur, nil
}

// List returns up to limit batches of the streams keys (all streams when keys is nil) after
// cursor (nil = from the start), ordered by stream, then batch id descending.
func List(ctx context.Context, q Querier, d string, keys []string, after *Cursor, limit int) ([]Batch, error) {
	where := "true"
	var args []any
	if keys != nil {
		args = append(args, keys)
		where = fmt.Sprintf("key = ANY($%d::text[])", len(args))
	}
	if after != nil {
		args = append(args, after.Stream, after.Batch)
		where += fmt.Sprintf(" AND (key > $%d OR (key = $%d AND batch_id < $%d))", len(args)-1, len(args)-1, len(args))
	}
	args = append(args, limit)
	sql := "SELECT " + batchColumns + "\nFROM " + metrics(d) + "\nWHERE " + where +
		fmt.Sprintf("\nORDER BY key, batch_id DESC LIMIT $%d", len(args))
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, Classify(err)
	}
	return scan(rows)
}

func scan(rows pgx.Rows) ([]Batch, error) {
	defer rows.Close()
	var out []Batch
	for rows.Next() {
		var b Batch
		var status string
		var end *time.Time
		var state []byte
		if err := rows.Scan(&b.Stream, &b.ID, &status, &b.Start, &end, &b.Inserted, &b.Updated, &b.Deleted, &b.Total, &state); err != nil {
			return nil, err
		}
		b.Status = mergesql.Status(status)
		b.Start = b.Start.UTC()
		if end != nil {
			b.End = end.UTC()
		}
		var err error
		if b.State, err = mergesql.ParseState(state); err != nil {
			return nil, fmt.Errorf("batch %d of %s: %w", b.ID, b.Stream, err)
		}
		out = append(out, b)
	}
	return out, Classify(rows.Err())
}

// Classify turns "relation does not exist" into ErrNoTables (other errors are returned as they are).
func Classify(err error) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && (pg.Code == "42P01" || pg.Code == "3F000") { // undefined_table, invalid_schema_name
		return ErrNoTables
	}
	return err
}

// DataTime parses state.dataTime (zero when absent or unparseable).
func (b Batch) DataTime() time.Time {
	if b.State.DataTime == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, b.State.DataTime)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}
