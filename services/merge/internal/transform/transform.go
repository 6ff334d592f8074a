// Package transform runs a Yellow platform's SQL DataTransformers (yellow.md §10): the runner
// reads the committed input batches in a REPEATABLE READ transaction and exports its snapshot;
// the transformer session imports it, truncates the output tables and fills each with one
// INSERT … SELECT of the workspace's query, all in one transaction; the run is recorded in the
// transformer-runs table; then the output tables are staged as a batch of the output stream
// (§7.4).
package transform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/datasurface/datasurface/kit/pg"
	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/services/merge/internal/mergedb"
	"github.com/datasurface/datasurface/services/merge/internal/platform"
	"github.com/jackc/pgx/v5"
)

// Run statuses (transformer_runs.status).
const (
	Running   = "running"
	Succeeded = "succeeded"
	Failed    = "failed"
	Waiting   = "waiting"
)

// Run is one recorded transformer run.
type Run struct {
	ID     int64
	Status string
	// Inputs maps each input stream key to the committed batch the run read.
	Inputs map[string]int32
	// Rows maps each output dataset to the rows written.
	Rows map[string]int64
	// DataTime is the oldest data time of the input batches (yellow.md §14).
	DataTime string
	// Waiting lists the input streams without a committed batch (status waiting).
	Waiting []string
	Error   string
}

// QueryError is a failing transformer query: the run is failed and nothing was written.
type QueryError struct {
	Workspace string
	Dataset   string
	Err       error
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("transformer of workspace %s, output %s: %v", e.Workspace, e.Dataset, e.Err)
}

func (e *QueryError) Unwrap() error { return e.Err }

// Session opens the transformer's own session (its login role, security.md §2) and closes it.
type Session func(ctx context.Context) (conn *pgx.Conn, release func(), err error)

// Execute runs transformer t once (yellow.md §10 step 2). runner is the connection holding the
// output stream's lock; session opens the transformer's connection. role says when the runner
// reads as the platform owner. A run whose inputs have no committed batch yet ends waiting; a
// failing query rolls the run back and ends failed (the returned error is a *QueryError).
func Execute(ctx context.Context, runner *pgx.Conn, session Session, p *platform.Platform, t *platform.Transformer, role mergedb.RoleMode) (Run, error) {
	books := mergesql.BooksOf(p.Name)
	run := Run{Status: Running, Inputs: map[string]int32{}, Rows: map[string]int64{}}
	if err := pg.InTx(ctx, runner, func(tx pgx.Tx) error {
		next := books.NextRunID(t.Workspace)
		if err := tx.QueryRow(ctx, next.SQL, next.Args...).Scan(&run.ID); err != nil {
			return fmt.Errorf("%s: %w", next.Name, err)
		}
		st := books.StartRun(t.Workspace, run.ID)
		_, err := tx.Exec(ctx, st.SQL, st.Args...)
		return err
	}); err != nil {
		return Run{}, fmt.Errorf("record transformer run of %s: %w", t.Workspace, err)
	}

	runErr := execute(ctx, runner, session, p, t, role, &run)
	if runErr != nil {
		run.Status, run.Error = Failed, runErr.Error()
	}
	if err := end(context.WithoutCancel(ctx), runner, books, t.Workspace, run); err != nil {
		return run, errors.Join(runErr, err)
	}
	return run, runErr
}

func execute(ctx context.Context, runner *pgx.Conn, session Session, p *platform.Platform, t *platform.Transformer, role mergedb.RoleMode, run *Run) error {
	books := mergesql.BooksOf(p.Name)
	rtx, err := runner.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("begin runner transaction: %w", err)
	}
	defer func() { _ = rtx.Rollback(context.WithoutCancel(ctx)) }()
	if err := mergedb.SetOwnerRole(ctx, rtx, p.Name, role); err != nil {
		return err
	}
	var oldest time.Time
	for _, key := range t.Inputs {
		lc := books.LastCommitted(key)
		var b int32
		var raw []byte
		err := rtx.QueryRow(ctx, lc.SQL, lc.Args...).Scan(&b, &raw)
		if errors.Is(err, pgx.ErrNoRows) {
			run.Waiting = append(run.Waiting, key)
			continue
		}
		if err != nil {
			return fmt.Errorf("read committed batch of input %s: %w", key, err)
		}
		run.Inputs[key] = b
		st, err := mergesql.ParseState(raw)
		if err != nil {
			return err
		}
		if dt, err := time.Parse(time.RFC3339Nano, st.DataTime); err == nil && (oldest.IsZero() || dt.Before(oldest)) {
			oldest = dt
		}
	}
	if len(run.Waiting) > 0 {
		run.Status = Waiting
		return nil
	}
	if !oldest.IsZero() {
		run.DataTime = oldest.UTC().Format(time.RFC3339Nano)
	}
	var snapshot string
	if err := rtx.QueryRow(ctx, "SELECT pg_catalog.pg_export_snapshot()").Scan(&snapshot); err != nil {
		return fmt.Errorf("export snapshot: %w", err)
	}

	conn, release, err := session(ctx)
	if err != nil {
		return fmt.Errorf("open transformer session of %s: %w", t.Workspace, err)
	}
	defer release()
	if err := fill(ctx, conn, t, snapshot, run); err != nil {
		return err
	}
	run.Status = Succeeded
	return rtx.Commit(ctx)
}

// fill is the transformer's transaction: import the snapshot, truncate the outputs, one INSERT …
// SELECT per output dataset, commit.
func fill(ctx context.Context, conn *pgx.Conn, t *platform.Transformer, snapshot string, run *Run) error {
	lit, err := ddl.Literal(snapshot)
	if err != nil {
		return err
	}
	return pg.InTx(ctx, txBeginner{conn}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET TRANSACTION SNAPSHOT "+lit); err != nil {
			return fmt.Errorf("import snapshot: %w", err)
		}
		ms := strconv.FormatInt(max(t.Timeout.Milliseconds(), 1), 10)
		if _, err := tx.Exec(ctx, "SET LOCAL statement_timeout = "+ms); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "SET LOCAL search_path = ''"); err != nil {
			return err
		}
		names := make([]string, len(t.Outputs))
		for i, o := range t.Outputs {
			names[i] = ddl.Ident(o.Name)
		}
		if _, err := tx.Exec(ctx, "TRUNCATE "+strings.Join(names, ", ")); err != nil {
			return fmt.Errorf("truncate outputs: %w", err)
		}
		for i, o := range t.Outputs {
			ds := t.Output.Datasets[i].Name
			cols := o.ModelColumnNames()
			ins := make([]string, len(cols))
			sel := make([]string, len(cols))
			for j, c := range cols {
				ins[j] = ddl.Quote(c)
				sel[j] = "q." + ddl.Quote(c)
			}
			sql := "INSERT INTO " + names[i] + " (" + strings.Join(ins, ", ") + ")\nSELECT " + strings.Join(sel, ", ") +
				"\nFROM (\n" + t.Queries[ds] + "\n) AS q"
			// The extended protocol runs exactly one statement: a query cannot smuggle in a second.
			tag, err := tx.Conn().PgConn().ExecParams(ctx, sql, nil, nil, nil, nil).Close()
			if err != nil {
				return &QueryError{Workspace: t.Workspace, Dataset: ds, Err: err}
			}
			run.Rows[ds] = tag.RowsAffected()
		}
		return nil
	})
}

// txBeginner begins REPEATABLE READ transactions on a connection.
type txBeginner struct{ conn *pgx.Conn }

func (b txBeginner) Begin(ctx context.Context) (pgx.Tx, error) {
	return b.conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
}

func end(ctx context.Context, db *pgx.Conn, books mergesql.Books, w string, run Run) error {
	inputs, err := json.Marshal(run.Inputs)
	if err != nil {
		return err
	}
	rows, err := json.Marshal(run.Rows)
	if err != nil {
		return err
	}
	st := books.EndRun(w, run.ID, run.Status, inputs, rows, run.Error)
	if _, err := db.Exec(ctx, st.SQL, st.Args...); err != nil {
		return fmt.Errorf("record end of transformer run %d of %s: %w", run.ID, w, err)
	}
	return nil
}

// Stage fills staging(b) of the output stream from the output tables (yellow.md §7.4) and marks
// the batch ingested, in one transaction: staging(b) cleared, one INSERT … SELECT with SQL
// hashes per dataset, duplicates of keyless datasets removed, counts and data time recorded. A
// batch that is already ingested (an earlier run's output not merged yet) is staged again.
func Stage(ctx context.Context, db pg.Beginner, p *platform.Platform, t *platform.Transformer, b int32, run Run) (int64, error) {
	books := mergesql.BooksOf(p.Name)
	key := t.Output.Key
	var total int64
	err := pg.InTx(ctx, db, func(tx pgx.Tx) error {
		total = 0
		bs := books.BatchState(key, b, true)
		var status string
		var raw []byte
		if err := tx.QueryRow(ctx, bs.SQL, bs.Args...).Scan(&status, &raw); err != nil {
			return fmt.Errorf("%s: %w", bs.Name, err)
		}
		state, err := mergesql.ParseState(raw)
		if err != nil {
			return err
		}
		var stmts []mergesql.Stmt
		switch mergesql.Status(status) {
		case mergesql.Started:
		case mergesql.Ingested:
			stmts = append(stmts, books.RestartBatch(key, b, raw))
		default:
			return fmt.Errorf("batch %d of stream %s is %s, not started", b, key, status)
		}
		if _, err := mergesql.Exec(ctx, tx, stmts); err != nil {
			return err
		}
		state.Rows = map[string]mergesql.RowCounts{}
		for i, ds := range t.Output.Datasets {
			if _, err := mergesql.Exec(ctx, tx, []mergesql.Stmt{mergesql.ClearStaging(ds.Staging.Name, b)}); err != nil {
				return err
			}
			st, err := mergesql.StageTransformerOutput(t.Outputs[i], ds.Staging, b)
			if err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, st.SQL, st.Args...)
			if err != nil {
				return fmt.Errorf("stage output %s: %w", ds.Name, err)
			}
			n := tag.RowsAffected()
			if ds.Layout.Keyless() {
				d := mergesql.DedupKeyless(ds.Staging.Name, b)
				dt, err := tx.Exec(ctx, d.SQL, d.Args...)
				if err != nil {
					return err
				}
				n -= dt.RowsAffected()
			}
			if n > mergesql.AnalyzeThreshold {
				if _, err := mergesql.Exec(ctx, tx, []mergesql.Stmt{mergesql.Analyze(ds.Staging.Name)}); err != nil {
					return err
				}
			}
			state.Rows[ds.Name] = mergesql.RowCounts{Staged: n}
			total += n
		}
		state.DataTime = run.DataTime
		out, err := state.Marshal()
		if err != nil {
			return err
		}
		mi := books.MarkIngested(key, b, total, out)
		tag, err := tx.Exec(ctx, mi.SQL, mi.Args...)
		if err != nil {
			return fmt.Errorf("%s: %w", mi.Name, err)
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("mark batch %d of stream %s ingested: %d rows changed", b, key, tag.RowsAffected())
		}
		return nil
	})
	return total, err
}
