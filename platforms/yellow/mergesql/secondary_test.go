package mergesql_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/datasurface/datasurface/kit/pgtest"
	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

// primaryBatches are the primary's snapshot sources: §15's three batches, a no-change batch, a
// delete and a re-insert.
var primaryBatches = [][]row{
	accountsSource[0],
	accountsSource[1],
	accountsSource[2],
	accountsSource[2],
	{r("1", "ann", "15"), r("3", "cy", "35")},
	{r("1", "ann", "15"), r("3", "cy", "35"), r("4", "dee", "41")},
}

// secondary is a platform copying the primary's forensic merge table (§8).
type secondary struct {
	*fixture
	primary  *fixture
	readConn *pgx.Conn // D's merge login on P's database
	after    []int32   // primary batches after which it runs
	// lastStaged holds the staging rows of its last run (model columns, then the IUD or remote
	// batch columns).
	lastStaged []string
}

// remoteRead is one REPEATABLE READ, READ ONLY transaction on P: R, then the rows.
func (s *secondary) remoteRead(last int32, seed bool, b func(r int32) int32) (r int32, rows [][]any) {
	t := s.t
	t.Helper()
	ctx := context.Background()
	rem := mergesql.RemoteOf(s.primary.d, s.ds)
	tx, err := s.readConn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	st := mergesql.RemoteCommitted(rem, s.primary.key)
	if err := tx.QueryRow(ctx, st.SQL, st.Args...).Scan(&r); err != nil {
		t.Fatal(err)
	}
	if r == 0 || (!seed && r <= last) {
		return r, nil
	}
	var q mergesql.Stmt
	switch {
	case s.m == layout.Forensic && seed:
		q = mergesql.RemoteForensicSeed(rem, r)
	case s.m == layout.Forensic:
		q = mergesql.RemoteForensicIncremental(rem, last, r)
	case seed:
		q = mergesql.RemoteLiveSeed(rem, r, b(r))
	default:
		q = mergesql.RemoteLiveIncremental(rem, last, r, b(r))
	}
	res, err := tx.Query(ctx, q.SQL, q.Args...)
	if err != nil {
		t.Fatal(err)
	}
	rows, err = pgx.CollectRows(res, func(row pgx.CollectableRow) ([]any, error) { return row.Values() })
	if err != nil {
		t.Fatal(err)
	}
	return r, rows
}

// lastRemote returns state.remote.remoteBatch of the last committed batch (ok false: none).
func (s *secondary) lastRemote() (int32, bool) {
	s.t.Helper()
	st := s.books.LastCommitted(s.key)
	var b int32
	var state []byte
	err := s.conn.QueryRow(context.Background(), st.SQL, st.Args...).Scan(&b, &state)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false
	}
	if err != nil {
		s.t.Fatal(err)
	}
	ps, err := mergesql.ParseState(state)
	if err != nil || ps.Remote == nil {
		s.t.Fatalf("state of batch %d: %v %+v", b, err, ps)
	}
	return ps.Remote.RemoteBatch, true
}

func (s *secondary) remoteState(r, last int32, seed bool) []byte {
	st := mergesql.State{
		V: mergesql.StateVersion, ModelVersion: 1, Attempt: 1, Datasets: []string{s.ds.Name},
		Fingerprints: map[string]string{s.ds.Name: mergesql.Fingerprint(s.ds)},
		Remote:       &mergesql.RemoteState{Platform: s.primary.d, RemoteBatch: r, PreviousRemoteBatch: last, Seed: seed},
	}
	b, err := st.Marshal()
	if err != nil {
		s.t.Fatal(err)
	}
	return b
}

// run copies the primary once; it returns "noop" or the local batch id and counts.
func (s *secondary) run() string {
	t := s.t
	t.Helper()
	ctx := context.Background()
	last, hasLast := s.lastRemote()
	seed := !hasLast

	if s.m == layout.Forensic {
		r, rows := s.remoteRead(last, seed, nil)
		if r == 0 || (!seed && r <= last) {
			return "noop"
		}
		// §8.2: B = R; the metrics row of R is created started (or resumed) and the counter set.
		var c mergesql.Counts
		inTx(t, s.conn, func(tx pgx.Tx) error {
			if _, err := mergesql.Exec(ctx, tx, []mergesql.Stmt{s.books.EnsureCounter(s.key)}); err != nil {
				return err
			}
			if _, _, err := scanOne[int32](ctx, tx, s.books.LockCounter(s.key)); err != nil {
				return err
			}
			status, found, err := batchStatus(ctx, tx, s.books.BatchState(s.key, r, true))
			if err != nil {
				return err
			}
			switch {
			case found && mergesql.Status(status) == mergesql.Committed:
				return errors.New("remote batch already committed")
			case found:
				_, err = mergesql.Exec(ctx, tx, []mergesql.Stmt{s.books.RestartBatch(s.key, r, s.remoteState(r, last, seed))})
			default:
				_, err = mergesql.Exec(ctx, tx, []mergesql.Stmt{s.books.StartBatch(s.key, r, s.remoteState(r, last, seed)), s.books.SetCounter(s.key, r)})
			}
			return err
		})
		s.ingest(r, func(ctx context.Context, tx pgx.Tx) (int64, error) { return s.copyRemote(ctx, tx, rows) })
		s.lastStaged = s.stagingRows(r)
		c = s.commitRemote(r, seed, r, last)
		return fmt.Sprintf("batch %d %s", r, countsText(c))
	}

	// §8.1: own numbering, B = current + 1, but only when there is something new.
	var b int32
	r, rows := s.remoteRead(last, seed, func(int32) int32 {
		cur, _, err := scanOneConn[int32](ctx, s.conn, s.books.LockCounter(s.key))
		if err != nil {
			t.Fatal(err)
		}
		b = cur + 1
		return b
	})
	if r == 0 || (!seed && r <= last) {
		return "noop"
	}
	ob, _ := s.open()
	if ob != b {
		t.Fatalf("opened batch %d, read rows for %d", ob, b)
	}
	s.ingest(b, func(ctx context.Context, tx pgx.Tx) (int64, error) { return s.copyRemote(ctx, tx, rows) })
	s.lastStaged = s.stagingRows(b)
	c := s.commitRemote(b, seed, r, last)
	return fmt.Sprintf("batch %d %s", b, countsText(c))
}

func scanOneConn[T any](ctx context.Context, conn *pgx.Conn, s mergesql.Stmt) (T, bool, error) {
	var out T
	err := conn.QueryRow(ctx, s.SQL, s.Args...).Scan(&out)
	if errors.Is(err, pgx.ErrNoRows) {
		return out, false, nil
	}
	return out, err == nil, err
}

func (s *secondary) copyRemote(ctx context.Context, tx pgx.Tx, rows [][]any) (int64, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	return tx.CopyFrom(ctx, pgx.Identifier{s.staging.Name.Schema, s.staging.Name.Name}, s.staging.ColumnNames(), pgx.CopyFromRows(rows))
}

func (s *secondary) commitRemote(b int32, seed bool, r, last int32) mergesql.Counts {
	t := s.t
	t.Helper()
	ctx := context.Background()
	var c mergesql.Counts
	inTx(t, s.conn, func(tx pgx.Tx) error {
		status, _, err := batchStatus(ctx, tx, s.books.BatchState(s.key, b, true))
		if err != nil {
			return err
		}
		if mergesql.Status(status) != mergesql.Ingested {
			return fmt.Errorf("batch %d is %s", b, status)
		}
		stmts, err := mergesql.Merge(s.target, s.mode(seed), b)
		if err != nil {
			return err
		}
		if c, err = mergesql.Exec(ctx, tx, stmts); err != nil {
			return err
		}
		_, err = mergesql.Exec(ctx, tx, []mergesql.Stmt{s.books.MarkCommitted(s.key, b, c, s.remoteState(r, last, seed))})
		return err
	})
	return c
}

// stagingRows dumps staging(B): model columns then ds_surf_iud (live) or remote batch_in/out.
func (s *secondary) stagingRows(b int32) []string {
	var sel []string
	for _, c := range s.staging.ModelColumnNames() {
		sel = append(sel, `coalesce(s.`+ddl.Quote(c)+`::text, 'NULL')`)
	}
	if s.m == layout.Forensic {
		sel = append(sel, `'[' || s."ds_surf_remote_batch_in" || ',' || CASE WHEN s."ds_surf_remote_batch_out" = 2147483647 THEN 'L' ELSE s."ds_surf_remote_batch_out"::text END || ']'`)
	} else {
		sel = append(sel, `s."ds_surf_iud"`)
	}
	rows, err := s.conn.Query(context.Background(), `SELECT concat_ws(' ', `+strings.Join(sel, ", ")+`) FROM `+ddl.Ident(s.staging.Name)+` s WHERE s."ds_surf_batch_id" = $1 ORDER BY 1`, b)
	if err != nil {
		s.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		s.t.Fatal(err)
	}
	return out
}

// hashRows lists (key hash, all hash[, batch_in, batch_out]) of a merge table: of every version
// when full, else of the live rows only.
func hashRows(t *testing.T, conn *pgx.Conn, merge layout.Table, full bool) []string {
	t.Helper()
	q := `SELECT encode("ds_surf_key_hash", 'hex') || ' ' || encode("ds_surf_all_hash", 'hex')`
	if full {
		q += ` || ' ' || "ds_surf_batch_in" || ' ' || "ds_surf_batch_out"`
	}
	q += ` FROM ` + ddl.Ident(merge.Name)
	if !full && merge.Milestoning == layout.Forensic {
		q += ` WHERE "ds_surf_batch_out" = 2147483647`
	}
	rows, err := conn.Query(context.Background(), q+` ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// modelRows lists the live model rows of a merge table as text.
func modelRows(t *testing.T, conn *pgx.Conn, merge layout.Table) []string {
	t.Helper()
	var sel []string
	for _, c := range merge.ModelColumnNames() {
		sel = append(sel, `coalesce(m.`+ddl.Quote(c)+`::text, 'NULL')`)
	}
	q := `SELECT concat_ws(' ', ` + strings.Join(sel, ", ") + `) FROM ` + ddl.Ident(merge.Name) + ` m`
	if merge.Milestoning == layout.Forensic {
		q += ` WHERE m."ds_surf_batch_out" = 2147483647`
	}
	rows, err := conn.Query(context.Background(), q+` ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSecondaries runs the primary's batches and, after each, the secondaries scheduled then
// (yellow.md §8, §15): forensic mirrors and live-only copies first after batch 3 then one by one,
// after 3 then 5, only after 5 or 6, after every batch; each scheduled run is immediately re-run
// (idempotent: no new batch). After every run a forensic mirror equals the primary's table
// version by version (hashes copied, never recomputed) and a live copy equals its live rows.
func TestSecondaries(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	conn := connectDSN(t, dsn)
	primary := newFixture(t, conn, "YellowForensic", accounts(), layout.Snapshot, layout.Forensic)
	primary.key = "Store1"

	var secs []*secondary
	add := func(m layout.Milestoning, after ...int32) {
		c := layout.RemoteForensic
		prefix := "SecF"
		if m == layout.LiveOnly {
			c, prefix = layout.RemoteLive, "SecL"
		}
		d := fmt.Sprintf("%s_%d", prefix, len(secs))
		f := newFixture(t, conn, d, accounts(), c, m)
		f.key = "Store1"
		secs = append(secs, &secondary{fixture: f, primary: primary, readConn: connectDSN(t, dsn), after: after})
	}
	add(layout.Forensic, 1, 2, 3, 4, 5, 6)
	add(layout.Forensic, 3, 4, 5, 6)
	add(layout.Forensic, 3, 5)
	add(layout.Forensic, 5)
	add(layout.Forensic, 6)
	add(layout.LiveOnly, 1, 2, 3, 4, 5, 6)
	add(layout.LiveOnly, 3, 4, 5, 6)
	add(layout.LiveOnly, 3, 5)
	add(layout.LiveOnly, 5)
	add(layout.LiveOnly, 6)

	for i, src := range primaryBatches {
		pb, _ := primary.batch(src...)
		if pb != int32(i+1) {
			t.Fatalf("primary batch %d, want %d", pb, i+1)
		}
		for _, s := range secs {
			if !slices.Contains(s.after, pb) {
				continue
			}
			name := fmt.Sprintf("%s after primary batch %d", s.d, pb)
			outcome := s.run()
			if outcome == "noop" {
				t.Errorf("%s: noop, want a batch", name)
			}
			if again := s.run(); again != "noop" {
				t.Errorf("%s: re-run = %q, want noop", name, again)
			}
			if s.m == layout.Forensic {
				if !strings.HasPrefix(outcome, fmt.Sprintf("batch %d ", pb)) {
					t.Errorf("%s: %s, want batch %d (mirrored numbering)", name, outcome, pb)
				}
				if diff := cmp.Diff(primary.table(), s.table()); diff != "" {
					t.Errorf("%s: mirror differs from primary (-primary +mirror):\n%s", name, diff)
				}
				if diff := cmp.Diff(hashRows(t, conn, primary.merge, true), hashRows(t, conn, s.merge, true)); diff != "" {
					t.Errorf("%s: mirror versions/hashes differ (-primary +mirror):\n%s", name, diff)
				}
				s.checkInvariants()
				continue
			}
			if diff := cmp.Diff(modelRows(t, conn, primary.merge), modelRows(t, conn, s.merge)); diff != "" {
				t.Errorf("%s: live copy differs from primary (-primary +copy):\n%s", name, diff)
			}
			if diff := cmp.Diff(hashRows(t, conn, primary.merge, false), hashRows(t, conn, s.merge, false)); diff != "" {
				t.Errorf("%s: live copy hashes differ (-primary +copy):\n%s", name, diff)
			}
		}
	}
}

// TestSecondaryWorkedExample is §15 verbatim: a forensic secondary run after batch 3 only (seed)
// copies the six rows as they are; a live-only secondary run after batch 1 (seed) and then after
// batch 3 stages key 1 (U, ann 15), key 2 (D), key 3 (U, cy 35) and key 4 (U, dee 40) and ends
// equal to the live table (its own batch ids 1 and 2).
func TestSecondaryWorkedExample(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	conn := connectDSN(t, dsn)
	primary := newFixture(t, conn, "YellowForensic", accounts(), layout.Snapshot, layout.Forensic)
	primary.key = "Store1"
	mk := func(d string, c layout.Capture, m layout.Milestoning) *secondary {
		f := newFixture(t, conn, d, accounts(), c, m)
		f.key = "Store1"
		return &secondary{fixture: f, primary: primary, readConn: connectDSN(t, dsn)}
	}
	forensic := mk("YellowMirror", layout.RemoteForensic, layout.Forensic)
	live := mk("YellowCopy", layout.RemoteLive, layout.LiveOnly)

	if got := live.run(); got != "noop" {
		t.Errorf("before any primary batch: %q, want noop", got)
	}
	primary.batch(accountsSource[0]...)
	if got := live.run(); got != "batch 1 3/0/0" {
		t.Errorf("live seed = %q", got)
	}
	if diff := cmp.Diff([]string{"1 ann 10 U", "2 bob 20 U", "3 cy 30 U"}, live.lastStaged); diff != "" {
		t.Errorf("live seed staging (-want +got):\n%s", diff)
	}
	primary.batch(accountsSource[1]...)
	primary.batch(accountsSource[2]...)

	if got := forensic.run(); got != "batch 3 6/0/0" {
		t.Errorf("forensic seed = %q", got)
	}
	if diff := cmp.Diff([]string{"1 ann 10 [1,1]", "1 ann 15 [2,L]", "2 bob 20 [1,2]", "3 cy 30 [1,1]", "3 cy 35 [3,L]", "4 dee 40 [2,L]"}, forensic.table()); diff != "" {
		t.Errorf("forensic seed (-want +got):\n%s", diff)
	}

	if got := live.run(); got != "batch 2 1/2/1" {
		t.Errorf("live incremental = %q", got)
	}
	if diff := cmp.Diff([]string{"1 ann 15 U", "2 NULL NULL D", "3 cy 35 U", "4 dee 40 U"}, live.lastStaged); diff != "" {
		t.Errorf("live incremental staging (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"1 ann 15 [2]", "3 cy 35 [2]", "4 dee 40 [2]"}, live.table()); diff != "" {
		t.Errorf("live copy (-want +got):\n%s", diff)
	}
}

func batchStatus(ctx context.Context, tx pgx.Tx, st mergesql.Stmt) (string, bool, error) {
	var status string
	err := tx.QueryRow(ctx, st.SQL, st.Args...).Scan(&status, new([]byte))
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	return status, err == nil, err
}
