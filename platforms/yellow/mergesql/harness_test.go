package mergesql_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datasurface/datasurface/kit/pg"
	"github.com/datasurface/datasurface/kit/pgtest"
	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/hashing"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	pgtest.Shutdown()
	os.Exit(code)
}

func golden(t testing.TB, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// connect opens a merge session with the settings of yellow.md §1 on a fresh database.
func connect(t testing.TB) *pgx.Conn {
	t.Helper()
	return connectDSN(t, pgtest.NewDatabase(t))
}

func connectDSN(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hashing.SessionSettings() {
		cfg.RuntimeParams[k] = v
	}
	cfg.RuntimeParams["search_path"] = ""
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func inTx(t testing.TB, conn *pgx.Conn, f func(tx pgx.Tx) error) {
	t.Helper()
	if err := pg.InTx(context.Background(), conn, f); err != nil {
		t.Fatal(err)
	}
}

func execStrings(ctx context.Context, tx pgx.Tx, stmts []string) error {
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return errors.Join(errors.New(s), err)
		}
	}
	return nil
}

// v is a non-NULL value; nil is NULL.
func v(s string) *string { return &s }

// row is one source row: values of the model columns in model order.
type row []*string

// r builds a row from strings; "NULL" is NULL.
func r(vals ...string) row {
	out := make(row, len(vals))
	for i, x := range vals {
		if x != "NULL" {
			out[i] = v(x)
		}
	}
	return out
}

// fixture is one dataset of one stream on one platform, with its tables created by ddl.
type fixture struct {
	t       testing.TB
	conn    *pgx.Conn
	d       string
	key     string // stream key
	ds      layout.Dataset
	capture layout.Capture
	m       layout.Milestoning
	staging layout.Table
	merge   layout.Table
	load    layout.Table
	target  mergesql.Target
	books   mergesql.Books
	hasher  *hashing.Hasher
	keep    int32
	// staged is the number of rows of the last ingest.
	staged int64
}

func newFixture(t testing.TB, conn *pgx.Conn, d string, ds layout.Dataset, c layout.Capture, m layout.Milestoning) *fixture {
	t.Helper()
	f := &fixture{t: t, conn: conn, d: d, key: ds.Store + "#" + ds.Name, ds: ds, capture: c, m: m, books: mergesql.BooksOf(d), keep: 50}
	f.reconcile(ds)
	return f
}

// reconcile creates or alters the platform schema, bookkeeping tables and the dataset's tables
// for dataset ds (yellow.md §11) and refreshes the fixture.
func (f *fixture) reconcile(ds layout.Dataset) []ddl.Plan {
	t := f.t
	t.Helper()
	f.ds = ds
	ctx := context.Background()
	var plans []ddl.Plan
	inTx(t, f.conn, func(tx pgx.Tx) error {
		exists, _, err := ddl.ReadSchema(ctx, tx, naming.PlatformSchema(f.d))
		if err != nil {
			return err
		}
		if !exists {
			st, err := ddl.CreateSchema(naming.PlatformSchema(f.d), "", layout.SchemaComment(f.d))
			if err != nil {
				return err
			}
			if err := execStrings(ctx, tx, st); err != nil {
				return err
			}
		}
		tables := append(layout.Bookkeeping(f.d), layout.DatasetTables(f.d, ds, f.capture, f.m)...)
		for _, tb := range tables {
			live, err := ddl.ReadTable(ctx, tx, tb.Name)
			if err != nil {
				return err
			}
			p, err := ddl.PlanTable(tb, live)
			if err != nil {
				return err
			}
			if err := execStrings(ctx, tx, p.Statements); err != nil {
				return err
			}
			plans = append(plans, p)
		}
		return nil
	})
	f.staging = layout.Staging(f.d, ds, f.capture)
	f.merge = layout.Merge(f.d, ds, f.m)
	f.load = layout.CDCLoad(f.d, ds)
	var err error
	if f.target, err = mergesql.TargetOf(f.merge, f.staging); err != nil {
		t.Fatal(err)
	}
	var cols []hashing.Column
	for _, c := range ds.Columns {
		cols = append(cols, hashing.Column{Name: c.Name, Type: c.Type})
	}
	if f.hasher, err = hashing.New(cols, ds.PrimaryKey); err != nil {
		t.Fatal(err)
	}
	return plans
}

func scanOne[T any](ctx context.Context, tx pgx.Tx, s mergesql.Stmt) (T, bool, error) {
	var out T
	err := tx.QueryRow(ctx, s.SQL, s.Args...).Scan(&out)
	if errors.Is(err, pgx.ErrNoRows) {
		return out, false, nil
	}
	return out, err == nil, err
}

func (f *fixture) state(attempt int) []byte {
	st := mergesql.State{
		V: mergesql.StateVersion, ModelVersion: 1, Attempt: attempt, Datasets: []string{f.ds.Name},
		Fingerprints: map[string]string{f.ds.Name: mergesql.Fingerprint(f.ds)},
		DataTime:     "2026-01-02T03:04:05Z",
	}
	b, err := st.Marshal()
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

// open is step 2 of yellow.md §6.3: it returns the batch to ingest (or merge) and whether it is
// already ingested.
func (f *fixture) open() (b int32, ingested bool) {
	t := f.t
	t.Helper()
	ctx := context.Background()
	inTx(t, f.conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, f.books.EnsureCounter(f.key).SQL, f.books.EnsureCounter(f.key).Args...); err != nil {
			return err
		}
		cur, _, err := scanOne[int32](ctx, tx, f.books.LockCounter(f.key))
		if err != nil {
			return err
		}
		status := mergesql.NoBatch
		if cur > 0 {
			var s string
			st := f.books.BatchState(f.key, cur, true)
			if err := tx.QueryRow(ctx, st.SQL, st.Args...).Scan(&s, new([]byte)); err != nil {
				return err
			}
			status = mergesql.Status(s)
		}
		open, err := mergesql.OpenFor(status)
		if err != nil {
			return err
		}
		switch open {
		case mergesql.OpenNew:
			b = cur + 1
			stmts := []mergesql.Stmt{f.books.StartBatch(f.key, b, f.state(1)), f.books.SetCounter(f.key, b)}
			if p, ok, err := mergesql.PruneStaging(f.staging.Name, b, f.keep); err != nil {
				return err
			} else if ok {
				stmts = append(stmts, p)
			}
			if f.capture == layout.CDC {
				stmts = append(stmts, mergesql.TruncateCDCLoad(f.load.Name))
			}
			_, err = mergesql.Exec(ctx, tx, stmts)
			return err
		case mergesql.OpenResume:
			b = cur
			_, err = mergesql.Exec(ctx, tx, []mergesql.Stmt{f.books.RestartBatch(f.key, b, f.state(2))})
			return err
		}
		b, ingested = cur, true
		return nil
	})
	return b, ingested
}

// ingest is step 3: clear staging(B), load, mark ingested.
func (f *fixture) ingest(b int32, load func(ctx context.Context, tx pgx.Tx) (int64, error)) {
	f.t.Helper()
	ctx := context.Background()
	inTx(f.t, f.conn, func(tx pgx.Tx) error {
		if _, err := mergesql.Exec(ctx, tx, []mergesql.Stmt{mergesql.ClearStaging(f.staging.Name, b)}); err != nil {
			return err
		}
		n, err := load(ctx, tx)
		if err != nil {
			return err
		}
		f.staged = n
		if f.ds.Keyless() {
			if _, err := mergesql.Exec(ctx, tx, []mergesql.Stmt{mergesql.DedupKeyless(f.staging.Name, b)}); err != nil {
				return err
			}
		}
		if n > mergesql.AnalyzeThreshold {
			if _, err := mergesql.Exec(ctx, tx, []mergesql.Stmt{mergesql.Analyze(f.staging.Name)}); err != nil {
				return err
			}
		}
		st := f.books.MarkIngested(f.key, b, n, f.state(1))
		tag, err := tx.Exec(ctx, st.SQL, st.Args...)
		if err == nil && tag.RowsAffected() != 1 {
			err = fmt.Errorf("mark ingested: %d rows", tag.RowsAffected())
		}
		return err
	})
}

// mergeCommit is step 4: lock the metrics row, check ingested, merge, mark committed.
func (f *fixture) mergeCommit(b int32, mode mergesql.Mode) mergesql.Counts {
	f.t.Helper()
	ctx := context.Background()
	var c mergesql.Counts
	inTx(f.t, f.conn, func(tx pgx.Tx) error {
		var s string
		st := f.books.BatchState(f.key, b, true)
		if err := tx.QueryRow(ctx, st.SQL, st.Args...).Scan(&s, new([]byte)); err != nil {
			return err
		}
		if mergesql.Status(s) != mergesql.Ingested {
			return fmt.Errorf("batch %d is %s, not ingested", b, s)
		}
		stmts, err := mergesql.Merge(f.target, mode, b)
		if err != nil {
			return err
		}
		if c, err = mergesql.Exec(ctx, tx, stmts); err != nil {
			return err
		}
		mc := f.books.MarkCommitted(f.key, b, c, f.state(1))
		tag, err := tx.Exec(ctx, mc.SQL, mc.Args...)
		if err == nil && tag.RowsAffected() != 1 {
			err = fmt.Errorf("mark committed: %d rows", tag.RowsAffected())
		}
		return err
	})
	return c
}

func (f *fixture) mode(seed bool) mergesql.Mode {
	m, err := mergesql.ModeFor(f.capture, f.m, seed)
	if err != nil {
		f.t.Fatal(err)
	}
	return m
}

// copyText COPYs text lines into table n.
func copyText(ctx context.Context, tx pgx.Tx, n naming.Name, cols []string, data []byte) (int64, error) {
	tag, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(data), mergesql.CopyFrom(n, cols))
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// sourceLine renders a row as the COPY text line a source query would produce.
func sourceLine(rw row) []byte {
	var line []byte
	for i, x := range rw {
		if i > 0 {
			line = append(line, '\t')
		}
		if x == nil {
			line = append(line, `\N`...)
		} else {
			line = hashing.AppendEscaped(line, []byte(*x))
		}
	}
	return line
}

// snapshot runs one batch whose source holds rows (snapshot, watermark and transformer output
// ingest through Go hashing and COPY, §7.1) and returns its batch id and counts.
func (f *fixture) batch(rows ...row) (int32, mergesql.Counts) {
	f.t.Helper()
	b, ingested := f.open()
	if ingested {
		f.t.Fatalf("batch %d unexpectedly ingested", b)
	}
	f.ingest(b, func(ctx context.Context, tx pgx.Tx) (int64, error) { return f.copyRows(ctx, tx, b, rows) })
	return b, f.mergeCommit(b, f.mode(false))
}

func (f *fixture) copyRows(ctx context.Context, tx pgx.Tx, b int32, rows []row) (int64, error) {
	var data []byte
	for _, rw := range rows {
		var err error
		if data, err = f.hasher.AppendStagingLine(data, sourceLine(rw), b); err != nil {
			return 0, err
		}
	}
	if len(data) == 0 {
		return 0, nil
	}
	n, err := copyText(ctx, tx, f.staging.Name, mergesql.StagingCopyColumns(f.staging), data)
	if err != nil {
		return 0, err
	}
	return n, f.checkStagingHashes(ctx, tx, b)
}

// checkStagingHashes compares the Go hashes of staging(B) with the SQL form (yellow.md §5).
func (f *fixture) checkStagingHashes(ctx context.Context, tx pgx.Tx, b int32) error {
	cols := ddl.HashColumns(f.staging)
	all, err := hashing.AllHashSQL("s", cols)
	if err != nil {
		return err
	}
	key, err := hashing.KeyHashSQL("s", cols, f.ds.PrimaryKey)
	if err != nil {
		return err
	}
	var bad int
	err = tx.QueryRow(ctx, `SELECT count(*) FROM `+ddl.Ident(f.staging.Name)+` s WHERE s."ds_surf_batch_id" = $1
		AND (s."ds_surf_all_hash" <> `+all+` OR s."ds_surf_key_hash" <> `+key+`)`, b).Scan(&bad)
	if err == nil && bad > 0 {
		err = fmt.Errorf("%d staging rows of batch %d have hashes that differ from the SQL form", bad, b)
	}
	return err
}

// event is one CDC change.
type event struct {
	iud string
	pos int64
	row row
}

// cdcBatch runs one Kafka CDC batch: the events are COPYed into the load table and conflated
// into staging (§7.3).
func (f *fixture) cdcBatch(events ...event) (int32, mergesql.Counts) {
	f.t.Helper()
	b, _ := f.open()
	f.ingest(b, func(ctx context.Context, tx pgx.Tx) (int64, error) {
		var data []byte
		for i, e := range events {
			var err error
			if data, err = f.hasher.AppendStagingLine(data, sourceLine(e.row), b); err != nil {
				return 0, err
			}
			data = data[:len(data)-1]
			data = fmt.Appendf(data, "\t%s\t{%d,%d,%d}\ttopic.%s\t0\t%d\n", e.iud, e.pos, e.pos, i, f.ds.Name, i)
		}
		if len(data) > 0 {
			if _, err := copyText(ctx, tx, f.load.Name, mergesql.CDCLoadCopyColumns(f.load), data); err != nil {
				return 0, err
			}
		}
		st, err := mergesql.ConflateCDC(f.load, f.staging, b)
		if err != nil {
			return 0, err
		}
		tag, err := tx.Exec(ctx, st.SQL, st.Args...)
		if err != nil {
			return 0, err
		}
		return tag.RowsAffected(), nil
	})
	return b, f.mergeCommit(b, f.mode(false))
}

// table dumps the merge table: each row's model columns as text (NULL for NULL) then, live-only,
// [batch id] or, forensic, [batch_in,batch_out] with L for live; ordered by key (all columns
// when keyless) and batch_in.
func (f *fixture) table() []string {
	return dumpMerge(f.t, f.conn, f.merge)
}

func dumpMerge(t testing.TB, conn *pgx.Conn, merge layout.Table) []string {
	t.Helper()
	var sel []string
	for _, c := range merge.ModelColumnNames() {
		sel = append(sel, `coalesce(m.`+ddl.Quote(c)+`::text, 'NULL')`)
	}
	order := merge.Key
	if len(order) == 0 {
		order = merge.ModelColumnNames()
	}
	var ord []string
	for _, c := range order {
		ord = append(ord, `m.`+ddl.Quote(c))
	}
	var tail string
	if merge.Milestoning == layout.Forensic {
		tail = `'[' || m."ds_surf_batch_in" || ',' || CASE WHEN m."ds_surf_batch_out" = 2147483647 THEN 'L' ELSE m."ds_surf_batch_out"::text END || ']'`
		ord = append(ord, `m."ds_surf_batch_in"`)
	} else {
		tail = `'[' || m."ds_surf_batch_id" || ']'`
	}
	rows, err := conn.Query(context.Background(), `SELECT concat_ws(' ', `+strings.Join(sel, ", ")+`, `+tail+`) FROM `+ddl.Ident(merge.Name)+` m ORDER BY `+strings.Join(ord, ", "))
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if out == nil {
		out = []string{}
	}
	return out
}

// asOf returns the forensic table as of batch k (yellow.md §9.4), model columns only.
func (f *fixture) asOf(k int32) []string {
	f.t.Helper()
	var sel []string
	for _, c := range f.merge.ModelColumnNames() {
		sel = append(sel, `coalesce(m.`+ddl.Quote(c)+`::text, 'NULL')`)
	}
	rows, err := f.conn.Query(context.Background(), `SELECT concat_ws(' ', `+strings.Join(sel, ", ")+`) FROM `+ddl.Ident(f.merge.Name)+` m
		WHERE m."ds_surf_batch_in" <= $1 AND m."ds_surf_batch_out" >= $1 ORDER BY 1`, k)
	if err != nil {
		f.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

// checkInvariants checks the forensic invariants of yellow.md §9 after a batch: at most one live
// version per key, versions of one key never overlap, batch_in <= batch_out.
func (f *fixture) checkInvariants() {
	f.t.Helper()
	if f.m != layout.Forensic {
		return
	}
	checkForensicInvariants(f.t, f.conn, f.merge)
}

func checkForensicInvariants(t testing.TB, conn *pgx.Conn, merge layout.Table) {
	t.Helper()
	m := ddl.Ident(merge.Name)
	checks := map[string]string{
		"more than one live version of a key": `SELECT count(*) FROM (SELECT 1 FROM ` + m + ` WHERE "ds_surf_batch_out" = 2147483647 GROUP BY "ds_surf_key_hash" HAVING count(*) > 1) x`,
		"overlapping versions": `SELECT count(*) FROM ` + m + ` a JOIN ` + m + ` b ON a."ds_surf_key_hash" = b."ds_surf_key_hash" AND a."ds_surf_batch_in" < b."ds_surf_batch_in"
			WHERE a."ds_surf_batch_out" >= b."ds_surf_batch_in"`,
		"batch_in > batch_out": `SELECT count(*) FROM ` + m + ` WHERE "ds_surf_batch_in" > "ds_surf_batch_out"`,
	}
	for what, q := range checks {
		var n int
		if err := conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("invariant broken: %s (%d)", what, n)
		}
	}
}

// metrics returns (status, inserted, updated, deleted) of batch b.
func (f *fixture) metrics(b int32) string {
	f.t.Helper()
	var s string
	err := f.conn.QueryRow(context.Background(), `SELECT batch_status || ' ' || coalesce(records_inserted, -1) || '/' || coalesce(records_updated, -1) || '/' || coalesce(records_deleted, -1)
		FROM `+ddl.Ident(f.books.Metrics)+` WHERE key = $1 AND batch_id = $2`, f.key, b).Scan(&s)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

func counts(i, u, d int64) mergesql.Counts {
	return mergesql.Counts{Inserted: i, Updated: u, Deleted: d}
}
