// Package remoteingest owns the ingest of a secondary platform's batch (yellow.md §8): the rows
// of the primary platform P's forensic merge table are read in one REPEATABLE READ, READ ONLY
// transaction on P's merge database (with the secondary's merge login) and streamed, as
// `COPY (SELECT …) TO STDOUT` text, into `COPY <staging> … FROM STDIN` on the secondary's
// merge session — hashes copied, never recomputed. A live-only secondary stages the versions
// live at R (seed) or the keys changed since L with ds_surf_iud (§8.1); a forensic secondary
// stages versions with their remote batch_in/out (§8.2). R, L and seed come from the batch's
// state.remote, fixed when the batch was opened; the read caps batch_out at R, so the rows are
// P's table as of R even when P has committed later batches since.
package remoteingest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/services/ingest/internal/failure"
	"github.com/datasurface/datasurface/services/ingest/internal/plan"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Loaded is what a load staged.
type Loaded struct {
	// Rows is the number of rows staged per dataset; Total their sum.
	Rows  map[string]int64
	Total int64
	// Bytes is the number of COPY bytes read from the primary.
	Bytes int64
	// DataTime is the primary batch R's data time (yellow.md §14), as its state records it.
	DataTime string
}

// copyBuffer is the buffer between the primary's COPY output and the staging COPY input.
const copyBuffer = 256 << 10

// Load stages batch b of secondary stream s, copying from the primary at rs (the batch's
// state.remote): in the merge transaction tx, staging(b) of every dataset is cleared and
// filled from one REPEATABLE READ, READ ONLY transaction on primary (a session on P's merge
// database, owned by the caller).
func Load(ctx context.Context, primary *pgx.Conn, tx pgx.Tx, s *plan.Stream, b int32, rs mergesql.RemoteState) (Loaded, error) {
	out := Loaded{Rows: make(map[string]int64, len(s.Datasets))}
	if s.Primary == nil {
		return out, failure.Newf(failure.Model, "", nil, "stream %s is not copied from a primary platform", s.Key)
	}
	if rs.Platform != s.Primary.Platform {
		return out, failure.Newf(failure.BatchState, "", nil,
			"batch %d of stream %s was opened to copy from platform %q, but the model's primary is %q: reset the batch", b, s.Key, rs.Platform, s.Primary.Platform)
	}
	if rs.RemoteBatch <= 0 {
		return out, failure.Newf(failure.BatchState, "", nil, "batch %d of stream %s records no primary batch to copy", b, s.Key)
	}
	ptx, err := primary.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return out, failure.Wrap(err, failure.SourceUnreachable, "", "begin the read transaction on the primary "+rs.Platform)
	}
	defer func() {
		if !primary.IsClosed() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = ptx.Rollback(rctx)
		}
	}()
	if out.DataTime, err = remoteBatch(ctx, ptx, s, rs); err != nil {
		return out, err
	}
	for _, ds := range s.Datasets {
		n, bytes, err := loadOne(ctx, primary, tx, s, ds, b, rs)
		if err != nil {
			return out, err
		}
		out.Rows[ds.Name] = n
		out.Total += n
		out.Bytes += bytes
	}
	return out, nil
}

// remoteBatch checks, in the primary's snapshot, that batch R is committed there and returns
// its data time.
func remoteBatch(ctx context.Context, ptx pgx.Tx, s *plan.Stream, rs mergesql.RemoteState) (string, error) {
	books := mergesql.BooksOf(rs.Platform)
	st := books.BatchState(s.Key, rs.RemoteBatch, false)
	var status string
	var raw []byte
	err := ptx.QueryRow(ctx, st.SQL, st.Args...).Scan(&status, &raw)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", failure.Newf(failure.BatchState, "", nil,
			"the primary %s has no batch %d of stream %s (it was reset or rebuilt): the secondary needs a reseed", rs.Platform, rs.RemoteBatch, s.Key)
	case err != nil:
		return "", primaryErr("", "read batch "+fmt.Sprint(rs.RemoteBatch)+" on the primary "+rs.Platform, err)
	}
	if mergesql.Status(status) != mergesql.Committed {
		return "", failure.Newf(failure.BatchState, "", nil,
			"batch %d of stream %s on the primary %s is %s, not committed", rs.RemoteBatch, s.Key, rs.Platform, status)
	}
	state, err := mergesql.ParseState(raw)
	if err != nil {
		return "", failure.New(failure.Internal, "", "state of the primary's batch", err)
	}
	return state.DataTime, nil
}

// query is the read of one dataset for the stream's capture (§8.1, §8.2).
func query(s *plan.Stream, ds *plan.Dataset, b int32, rs mergesql.RemoteState) (mergesql.Stmt, error) {
	r := *ds.Remote
	switch {
	case s.Capture == layout.RemoteLive && rs.Seed:
		return mergesql.RemoteLiveSeed(r, rs.RemoteBatch, b), nil
	case s.Capture == layout.RemoteLive:
		return mergesql.RemoteLiveIncremental(r, rs.PreviousRemoteBatch, rs.RemoteBatch, b), nil
	case s.Capture == layout.RemoteForensic && rs.Seed:
		if b != rs.RemoteBatch {
			return mergesql.Stmt{}, fmt.Errorf("forensic secondary batch %d copies primary batch %d", b, rs.RemoteBatch)
		}
		return mergesql.RemoteForensicSeed(r, rs.RemoteBatch), nil
	case s.Capture == layout.RemoteForensic:
		if b != rs.RemoteBatch {
			return mergesql.Stmt{}, fmt.Errorf("forensic secondary batch %d copies primary batch %d", b, rs.RemoteBatch)
		}
		return mergesql.RemoteForensicIncremental(r, rs.PreviousRemoteBatch, rs.RemoteBatch), nil
	}
	return mergesql.Stmt{}, fmt.Errorf("capture %s is not a secondary's", s.Capture)
}

func loadOne(ctx context.Context, primary *pgx.Conn, tx pgx.Tx, s *plan.Stream, ds *plan.Dataset, b int32, rs mergesql.RemoteState) (int64, int64, error) {
	ref := ds.Ref()
	clear := mergesql.ClearStaging(ds.Staging.Name, b)
	if _, err := tx.Exec(ctx, clear.SQL, clear.Args...); err != nil {
		return 0, 0, mergeErr(ref, clear.Name, err)
	}
	q, err := query(s, ds, b, rs)
	if err != nil {
		return 0, 0, failure.New(failure.BatchState, ref, err.Error(), err)
	}
	sel, err := Inline(q)
	if err != nil {
		return 0, 0, failure.New(failure.Internal, ref, q.Name, err)
	}
	src := "COPY (" + sel + ") TO STDOUT"
	dst := mergesql.CopyFrom(ds.Staging.Name, ds.Staging.ColumnNames())
	n, bytes, srcErr, dstErr := pipe(ctx, primary.PgConn(), tx.Conn().PgConn(), src, dst)
	switch {
	case srcErr != nil:
		return 0, 0, primaryErr(ref, "read "+ds.Remote.Merge.String()+" on the primary "+rs.Platform, srcErr)
	case dstErr != nil:
		return 0, 0, mergeErr(ref, "copy into staging", dstErr)
	}
	if n > mergesql.AnalyzeThreshold {
		if _, err := tx.Exec(ctx, mergesql.Analyze(ds.Staging.Name).SQL); err != nil {
			return 0, 0, mergeErr(ref, "analyze staging", err)
		}
	}
	return n, bytes, nil
}

// pipe streams the text output of src on the primary session into dst on the merge session
// through a bounded buffer; it returns the rows staged, the bytes read and each side's error.
func pipe(ctx context.Context, from, to *pgconn.PgConn, src, dst string) (rows, bytes int64, srcErr, dstErr error) {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	cw := &counter{w: bufio.NewWriterSize(pw, copyBuffer)}
	go func() {
		defer close(done)
		_, err := from.CopyTo(ctx, cw, src)
		if err == nil {
			err = cw.w.Flush()
		}
		srcErr = err
		pw.CloseWithError(err) // nil: EOF for the reader
	}()
	tag, err := to.CopyFrom(ctx, pr, dst)
	if err != nil {
		// Unblock the reading side: its next write fails and the primary session is abandoned.
		_ = pr.CloseWithError(err)
	}
	<-done
	switch {
	case err != nil && (srcErr == nil || errors.Is(srcErr, err)):
		return 0, cw.n, nil, err // the merge side failed first
	case srcErr != nil:
		return 0, cw.n, srcErr, nil
	}
	return tag.RowsAffected(), cw.n, nil, nil
}

// counter counts the bytes written through it.
type counter struct {
	w *bufio.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// intParam is a `$n::integer` placeholder of the secondary reads.
var intParam = regexp.MustCompile(`\$([0-9]+)::integer`)

// Inline renders a secondary read (mergesql.Remote*) as one SQL text for COPY, which takes no
// bind parameters: every `$n::integer` placeholder becomes its int32 argument as a literal.
// Only int32 arguments are accepted (no text ever reaches the SQL this way), and every
// placeholder must be one of them.
func Inline(st mergesql.Stmt) (string, error) {
	vals := make([]string, len(st.Args))
	for i, a := range st.Args {
		v, ok := a.(int32)
		if !ok {
			return "", fmt.Errorf("%s: argument $%d is %T, not an int32", st.Name, i+1, a)
		}
		vals[i] = fmt.Sprintf("(%d)::integer", v)
	}
	var bad error
	sql := intParam.ReplaceAllStringFunc(st.SQL, func(m string) string {
		var i int
		if _, err := fmt.Sscanf(m, "$%d::integer", &i); err != nil || i < 1 || i > len(vals) {
			bad = fmt.Errorf("%s: placeholder %s has no argument", st.Name, m)
			return m
		}
		return vals[i-1]
	})
	if bad != nil {
		return "", bad
	}
	if placeholderLeft(sql) {
		return "", fmt.Errorf("%s: a placeholder is left that is not an integer", st.Name)
	}
	return sql, nil
}

// placeholderLeft reports a `$<digit>` outside quoted identifiers and string literals.
func placeholderLeft(sql string) bool {
	var quote byte
	for i := 0; i < len(sql); i++ {
		c := sql[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0 // a doubled quote closes and reopens: same result
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '$' && i+1 < len(sql) && sql[i+1] >= '0' && sql[i+1] <= '9':
			return true
		}
	}
	return false
}

// primaryErr classifies an error reading the primary: a missing table or a refused read is
// permanent until the primary's tables or the reader role exist; anything else is retryable.
func primaryErr(ref, what string, err error) error {
	if _, ok := failure.As(err); ok {
		return err
	}
	switch code := failure.PgCode(err); {
	case code == "42P01" || code == "42703":
		return failure.New(failure.SourceTableMissing, ref, what+": the primary's merge table does not match the model: "+failure.PgMessage(err), err)
	case code == "42501":
		return failure.New(failure.SourceLogin, ref, what+": the secondary's merge login may not read the primary's tables (it must be a member of the primary's reader role, security.md §2): "+failure.PgMessage(err), err)
	}
	return failure.Wrap(err, failure.SourceUnreachable, ref, what)
}

// mergeErr classifies an error of the secondary's merge session.
func mergeErr(ref, what string, err error) error {
	if _, ok := failure.As(err); ok {
		return err
	}
	switch code := failure.PgCode(err); {
	case code == "42501":
		return failure.New(failure.Staging, ref, what+": the merge login may not use the platform's tables: "+failure.PgMessage(err), err)
	case code == "42P01" || code == "42703" || code == "42804":
		return failure.New(failure.Staging, ref, what+": the staging table does not match the model (reconcile the stream's tables first): "+failure.PgMessage(err), err)
	case code == "23505":
		return failure.New(failure.DuplicateKey, ref, what+": the primary's rows repeat a key: "+failure.PgMessage(err), err)
	}
	return failure.Wrap(err, failure.MergeUnreachable, ref, what)
}
