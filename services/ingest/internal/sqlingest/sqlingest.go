// Package sqlingest owns the SQL snapshot and SQL watermark ingests of yellow.md §7.1 and §7.2:
// one REPEATABLE READ, READ ONLY source transaction for every dataset of the stream (so a
// multi-dataset batch is one consistent snapshot), the watermark interval, and per dataset the
// streaming copy of the cast source rows into staging(B) with hashes, followed by the checks
// that fail a snapshot permanently (NULL key, duplicate key, missing or non-castable column).
package sqlingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/hashing"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/platforms/yellow/ytypes"
	"github.com/datasurface/datasurface/services/ingest/internal/failure"
	"github.com/datasurface/datasurface/services/ingest/internal/plan"
	"github.com/datasurface/datasurface/services/ingest/internal/sqlsource"
	"github.com/datasurface/datasurface/services/ingest/internal/stagecopy"
	"github.com/jackc/pgx/v5"
)

// Source is a source of one batch, prepared: its transaction is open, every table is checked
// and the watermark interval is fixed.
type Source struct {
	// Log receives per-dataset timings at debug level.
	Log      *slog.Logger
	stream   *plan.Stream
	conn     *pgx.Conn
	sess     *sqlsource.Session
	tables   []*sqlsource.Table
	dataTime time.Time
	wm       *mergesql.WatermarkState
}

// Prepare opens the source transaction on conn (which the Source then owns until Close) and
// checks every dataset's source table. For a watermark stream, current is the state of the
// batch being ingested and last the state of the last committed batch (nil when none): the
// interval is [last high, new high), and a batch whose state already records a high for the
// same low (an ingest run again) reads the same interval.
func Prepare(ctx context.Context, conn *pgx.Conn, s *plan.Stream, current mergesql.State, last *mergesql.State) (*Source, error) {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, failure.Wrap(err, failure.SourceUnreachable, "", "begin the source transaction")
	}
	src := &Source{Log: slog.New(slog.DiscardHandler), stream: s, conn: conn, sess: sqlsource.NewSession(tx)}
	if err := tx.QueryRow(ctx, "SELECT pg_catalog.transaction_timestamp()").Scan(&src.dataTime); err != nil {
		src.Close(ctx)
		return nil, failure.Wrap(err, failure.SourceUnreachable, "", "start the source snapshot")
	}
	for _, ds := range s.Datasets {
		t, err := sqlsource.Prepare(ctx, src.sess, ds)
		if err != nil {
			src.Close(ctx)
			return nil, err
		}
		src.tables = append(src.tables, t)
	}
	if w := s.Watermark; w != nil {
		iv, err := src.interval(ctx, w, current, last)
		if err != nil {
			src.Close(ctx)
			return nil, err
		}
		sqlsource.Restrict(src.sess, src.tables, w, iv)
		if err := src.sess.Apply(ctx); err != nil {
			src.Close(ctx)
			return nil, sqlsource.SourceErr("", "set the watermark interval", err)
		}
		src.wm = &mergesql.WatermarkState{Column: w.Column, Type: w.Type, Low: iv.Low, High: iv.High}
	}
	return src, nil
}

// sameWatermark reports whether a recorded watermark state is about the same column and type.
func sameWatermark(st *mergesql.WatermarkState, w *plan.Watermark) bool {
	return st != nil && st.Column == w.Column && ytypes.Equivalent(st.Type, w.Type)
}

func (src *Source) interval(ctx context.Context, w *plan.Watermark, current mergesql.State, last *mergesql.State) (sqlsource.Interval, error) {
	var iv sqlsource.Interval
	if last != nil && sameWatermark(last.Watermark, w) {
		iv.Low = last.Watermark.High
	}
	if cur := current.Watermark; sameWatermark(cur, w) && cur.Low == iv.Low && cur.High != "" {
		iv.High = cur.High // the same batch again: the same interval
		return iv, nil
	}
	high, err := sqlsource.High(ctx, src.sess, src.tables, w, iv.Low)
	if err != nil {
		return iv, err
	}
	iv.High = high
	return iv, nil
}

// DataTime is the start of the source snapshot (state.dataTime, yellow.md §14).
func (src *Source) DataTime() time.Time { return src.dataTime }

// Watermark is the interval read (nil for a snapshot stream).
func (src *Source) Watermark() *mergesql.WatermarkState { return src.wm }

// Close ends the source transaction (read only: nothing to keep).
func (src *Source) Close(ctx context.Context) {
	if src.conn.IsClosed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = src.sess.Tx.Rollback(ctx)
}

// Loaded is what a load staged.
type Loaded struct {
	// Rows is the number of rows in staging(B) per dataset.
	Rows  map[string]int64
	Total int64
	// Bytes is the number of source COPY bytes read.
	Bytes int64
}

// Archive receives the raw COPY text of each dataset (yellow.md §7.5); nil = no archive.
type Archive interface {
	Dataset(ctx context.Context, name string) (io.WriteCloser, error)
}

// Load stages every dataset into staging(b) inside the merge transaction tx: clear staging(b),
// stream the rows with hashes, drop exact duplicates of keyless datasets, ANALYZE a staging
// table that took more than 10,000 rows.
func (src *Source) Load(ctx context.Context, tx pgx.Tx, b int32, arch Archive) (Loaded, error) {
	out := Loaded{Rows: make(map[string]int64, len(src.tables))}
	for _, t := range src.tables {
		n, bytes, err := src.loadOne(ctx, tx, t, b, arch)
		if err != nil {
			return out, err
		}
		out.Rows[t.DS.Name] = n
		out.Total += n
		out.Bytes += bytes
	}
	return out, nil
}

func (src *Source) loadOne(ctx context.Context, tx pgx.Tx, t *sqlsource.Table, b int32, arch Archive) (int64, int64, error) {
	ds := t.DS
	ref := ds.Ref()
	if _, err := tx.Exec(ctx, mergesql.ClearStaging(ds.Staging.Name, b).SQL, b); err != nil {
		return 0, 0, mergeErr(ref, "clear staging", err)
	}
	cols := make([]hashing.Column, len(ds.Columns))
	for i, c := range ds.Columns {
		cols[i] = hashing.Column{Name: c.Name, Type: c.Type}
	}
	h, err := hashing.New(cols, ds.PrimaryKey)
	if err != nil {
		return 0, 0, failure.New(failure.Model, ref, "hash columns", err)
	}
	spec := stagecopy.Spec{
		SourceSQL:  t.CopySQL(),
		StagingSQL: mergesql.CopyFrom(ds.Staging.Name, mergesql.StagingCopyColumns(ds.Staging)),
		Hasher:     h,
		Batch:      b,
		KeyNames:   ds.PrimaryKey,
		Drain:      func(err error) bool { return failure.PgCode(err) == "23505" },
	}
	for _, k := range ds.PrimaryKey {
		spec.KeyFields = append(spec.KeyFields, slices.IndexFunc(ds.Columns, func(c layout.Column) bool { return c.Name == k }))
	}
	var tee io.WriteCloser
	if arch != nil {
		if tee, err = arch.Dataset(ctx, ds.Name); err != nil {
			return 0, 0, failure.Wrap(err, failure.Archive, ref, "raw archive")
		}
		spec.Tee = tee
	}
	if _, err := src.sess.Tx.Exec(ctx, "SAVEPOINT copy"); err != nil {
		closeTee(tee)
		return 0, 0, sqlsource.SourceErr(ref, "savepoint", err)
	}
	start := time.Now()
	res := stagecopy.Run(ctx, src.conn.PgConn(), tx.Conn().PgConn(), spec)
	copied := time.Since(start)
	if err := res.Err(); err != nil {
		closeTee(tee)
		return 0, 0, src.copyFailed(ctx, t, res)
	}
	if tee != nil {
		if err := tee.Close(); err != nil {
			return 0, 0, failure.Wrap(err, failure.Archive, ref, "raw archive")
		}
	}
	if res.NullKeys > 0 {
		return 0, 0, failure.Newf(failure.NullKey, ref, nil,
			"source table %s: %d rows have NULL in a primary-key column (%s); e.g. %s",
			t.Name, res.NullKeys, strings.Join(ds.PrimaryKey, ", "), res.NullKeyExample)
	}
	if _, err := src.sess.Tx.Exec(ctx, "RELEASE SAVEPOINT copy"); err != nil {
		return 0, 0, sqlsource.SourceErr(ref, "release savepoint", err)
	}
	n := res.Rows
	if ds.Keyless() {
		st := mergesql.DedupKeyless(ds.Staging.Name, b)
		tag, err := tx.Exec(ctx, st.SQL, st.Args...)
		if err != nil {
			return 0, 0, mergeErr(ref, st.Name, err)
		}
		n -= tag.RowsAffected()
	}
	start = time.Now()
	if res.Rows > mergesql.AnalyzeThreshold {
		if _, err := tx.Exec(ctx, mergesql.Analyze(ds.Staging.Name).SQL); err != nil {
			return 0, 0, mergeErr(ref, "analyze staging", err)
		}
	}
	src.Log.DebugContext(ctx, "dataset staged", "dataset", ref, "rows", n, "bytes", res.Bytes,
		"copy", copied, "after", time.Since(start))
	return n, res.Bytes, nil
}

func closeTee(w io.WriteCloser) {
	if w != nil {
		_ = w.Close()
	}
}

// copyFailed classifies a failed copy; the source transaction is rolled back to the savepoint
// (same snapshot) for the diagnoses.
func (src *Source) copyFailed(ctx context.Context, t *sqlsource.Table, res stagecopy.Result) error {
	ref := t.DS.Ref()
	if err := ctx.Err(); err != nil {
		return failure.New(failure.Canceled, ref, "copy interrupted", err)
	}
	usable := !res.SourceClosed
	if usable {
		if _, err := src.sess.Tx.Exec(ctx, "ROLLBACK TO SAVEPOINT copy"); err != nil {
			usable = false
		}
	}
	if err := res.SourceErr; err != nil {
		code := failure.PgCode(err)
		switch {
		case strings.HasPrefix(code, "22") && usable:
			return sqlsource.CastFailure(ctx, src.sess, t, err)
		case code != "":
			return sqlsource.SourceErr(ref, "read source table "+t.Name, err)
		}
		if fe, ok := failure.As(err); ok {
			return fe
		}
		if errors.Is(err, stagecopy.ErrTee) {
			return failure.New(failure.Archive, ref, "raw archive of source table "+t.Name, err)
		}
		if errors.Is(err, stagecopy.ErrLine) {
			return failure.New(failure.Internal, ref, "stage source table "+t.Name, err)
		}
		return failure.Wrap(err, failure.SourceUnreachable, ref, "read source table "+t.Name)
	}
	err := res.StagingErr
	switch code := failure.PgCode(err); {
	case code == "23505" && usable:
		return sqlsource.Duplicates(ctx, src.sess, t, err)
	case code == "23505":
		return failure.New(failure.DuplicateKey, ref, "duplicate primary key in source table "+t.Name+": "+failure.PgMessage(err), err)
	case code == "23502":
		return failure.New(failure.NullKey, ref, "NULL in a primary-key column of source table "+t.Name+": "+failure.PgMessage(err), err)
	}
	return mergeErr(ref, "copy into staging", err)
}

// mergeErr classifies an error of the merge session: a staging table that does not match the
// model is permanent (reconcile first, yellow.md §6.3 step 1), anything else retryable.
func mergeErr(ref, what string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := failure.As(err); ok {
		return err
	}
	switch code := failure.PgCode(err); {
	case code == "42501":
		return failure.New(failure.Staging, ref, what+": the merge login may not use the platform's tables (it must be a member of the platform owner role): "+failure.PgMessage(err), err)
	case code == "42P01" || code == "42703" || code == "42804":
		return failure.New(failure.Staging, ref, fmt.Sprintf("%s: the staging table does not match the model (reconcile the stream's tables first): %s", what, failure.PgMessage(err)), err)
	case strings.HasPrefix(code, "22"):
		return failure.New(failure.ValueCast, ref, what+": "+failure.PgMessage(err), err)
	}
	return failure.Wrap(err, failure.MergeUnreachable, ref, what)
}

// MergeErr is mergeErr for callers.
func MergeErr(ref, what string, err error) error { return mergeErr(ref, what, err) }
