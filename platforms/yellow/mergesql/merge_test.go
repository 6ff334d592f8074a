package mergesql_test

import (
	"context"
	"testing"

	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/jackc/pgx/v5"

	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/google/go-cmp/cmp"
)

func accounts() layout.Dataset {
	return layout.Dataset{
		Store: "Store1", Name: "accounts", PrimaryKey: []string{"id"},
		Columns: []layout.Column{
			{Name: "id", Type: "integer", NotNull: true, Model: true},
			{Name: "owner", Type: "character varying(20)", Model: true},
			{Name: "balance", Type: "integer", Model: true},
		},
	}
}

func people() layout.Dataset {
	return layout.Dataset{
		Store: "Store1", Name: "people", PrimaryKey: []string{"id"},
		Columns: []layout.Column{
			{Name: "id", Type: "integer", NotNull: true, Model: true},
			{Name: "firstName", Type: "character varying(50)", NotNull: true, Model: true},
			{Name: "lastName", Type: "character varying(50)", Model: true},
			{Name: "dob", Type: "date", Model: true},
			{Name: "employer", Type: "character varying(50)", Model: true},
		},
	}
}

// step is one batch of a scenario: the source (rows or CDC events), the expected counts and the
// whole merge table afterwards.
type step struct {
	name   string
	rows   []row
	events []event
	counts mergesql.Counts
	table  []string
	asOf   map[int32][]string // forensic: the table as of a batch
}

func runSteps(t *testing.T, f *fixture, steps []step) {
	t.Helper()
	for i, s := range steps {
		var b int32
		var c mergesql.Counts
		if f.capture == layout.CDC {
			b, c = f.cdcBatch(s.events...)
		} else {
			b, c = f.batch(s.rows...)
		}
		if b != int32(i+1) {
			t.Fatalf("step %d %q ran as batch %d", i+1, s.name, b)
		}
		if diff := cmp.Diff(s.counts, c); diff != "" {
			t.Errorf("batch %d %q counts (-want +got):\n%s", b, s.name, diff)
		}
		if diff := cmp.Diff(s.table, f.table()); diff != "" {
			t.Errorf("batch %d %q merge table (-want +got):\n%s", b, s.name, diff)
		}
		for k, want := range s.asOf {
			if diff := cmp.Diff(want, f.asOf(k)); diff != "" {
				t.Errorf("batch %d %q table as of batch %d (-want +got):\n%s", b, s.name, k, diff)
			}
		}
		if got := f.metrics(b); got != "committed "+countsText(s.counts) {
			t.Errorf("batch %d metrics = %q, want committed %s", b, got, countsText(s.counts))
		}
		f.checkInvariants()
	}
}

func countsText(c mergesql.Counts) string {
	return itoa(c.Inserted) + "/" + itoa(c.Updated) + "/" + itoa(c.Deleted)
}

func itoa(n int64) string {
	if n < 0 {
		return "-" + itoa(-n)
	}
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// The fresh example of yellow.md §15, verbatim: accounts(id PK, owner, balance), snapshot source.
var accountsSource = [][]row{
	{r("1", "ann", "10"), r("2", "bob", "20"), r("3", "cy", "30")},
	{r("1", "ann", "15"), r("2", "bob", "20"), r("4", "dee", "40")},
	{r("1", "ann", "15"), r("3", "cy", "35"), r("4", "dee", "40")},
}

func TestAccountsLiveOnly(t *testing.T) {
	f := newFixture(t, connect(t), "Test_DP", accounts(), layout.Snapshot, layout.LiveOnly)
	runSteps(t, f, []step{
		{name: "1", rows: accountsSource[0], counts: counts(3, 0, 0),
			table: []string{"1 ann 10 [1]", "2 bob 20 [1]", "3 cy 30 [1]"}},
		{name: "2", rows: accountsSource[1], counts: counts(1, 1, 1),
			table: []string{"1 ann 15 [2]", "2 bob 20 [1]", "4 dee 40 [2]"}},
		{name: "3", rows: accountsSource[2], counts: counts(1, 0, 1),
			table: []string{"1 ann 15 [2]", "3 cy 35 [3]", "4 dee 40 [2]"}},
	})
}

func TestAccountsForensic(t *testing.T) {
	f := newFixture(t, connect(t), "Test_DP", accounts(), layout.Snapshot, layout.Forensic)
	runSteps(t, f, []step{
		{name: "1", rows: accountsSource[0], counts: counts(3, 0, 0),
			table: []string{"1 ann 10 [1,L]", "2 bob 20 [1,L]", "3 cy 30 [1,L]"}},
		{name: "2", rows: accountsSource[1], counts: counts(1, 1, 1),
			table: []string{"1 ann 10 [1,1]", "1 ann 15 [2,L]", "2 bob 20 [1,L]", "3 cy 30 [1,1]", "4 dee 40 [2,L]"}},
		{name: "3", rows: accountsSource[2], counts: counts(1, 0, 1),
			table: []string{"1 ann 10 [1,1]", "1 ann 15 [2,L]", "2 bob 20 [1,2]", "3 cy 30 [1,1]", "3 cy 35 [3,L]", "4 dee 40 [2,L]"},
			asOf: map[int32][]string{
				1: {"1 ann 10", "2 bob 20", "3 cy 30"},
				2: {"1 ann 15", "2 bob 20", "4 dee 40"},
				3: {"1 ann 15", "3 cy 35", "4 dee 40"},
			}},
	})
}

// The five-batch people lifecycle of yellow.md §15 (two inserts; an insert plus an update; a
// delete; an empty source; a re-insert), with NULLs becoming values and back.
var peopleSource = [][]row{
	{r("1", "Ann", "Lee", "1980-01-02", "NULL"), r("2", "Bob", "NULL", "NULL", "Acme")},
	{r("1", "Ann", "Lee", "1980-01-02", "Initech"), r("2", "Bob", "NULL", "NULL", "Acme"), r("3", "Cy", "", "1990-12-31", "NULL")},
	{r("1", "Ann", "Lee", "1980-01-02", "Initech"), r("3", "Cy", "", "1990-12-31", "NULL")},
	{},
	{r("1", "Ann", "Lee", "1980-01-02", "NULL"), r("2", "Bob", "NULL", "NULL", "Acme")},
}

func TestPeopleLiveOnly(t *testing.T) {
	f := newFixture(t, connect(t), "Test_DP", people(), layout.Snapshot, layout.LiveOnly)
	runSteps(t, f, []step{
		{name: "two inserts", rows: peopleSource[0], counts: counts(2, 0, 0),
			table: []string{"1 Ann Lee 1980-01-02 NULL [1]", "2 Bob NULL NULL Acme [1]"}},
		{name: "insert and update", rows: peopleSource[1], counts: counts(1, 1, 0),
			table: []string{"1 Ann Lee 1980-01-02 Initech [2]", "2 Bob NULL NULL Acme [1]", "3 Cy  1990-12-31 NULL [2]"}},
		{name: "delete", rows: peopleSource[2], counts: counts(0, 0, 1),
			table: []string{"1 Ann Lee 1980-01-02 Initech [2]", "3 Cy  1990-12-31 NULL [2]"}},
		{name: "empty source", rows: peopleSource[3], counts: counts(0, 0, 2),
			table: []string{}},
		{name: "re-insert", rows: peopleSource[4], counts: counts(2, 0, 0),
			table: []string{"1 Ann Lee 1980-01-02 NULL [5]", "2 Bob NULL NULL Acme [5]"}},
	})
}

func TestPeopleForensic(t *testing.T) {
	f := newFixture(t, connect(t), "Test_DP", people(), layout.Snapshot, layout.Forensic)
	runSteps(t, f, []step{
		{name: "two inserts", rows: peopleSource[0], counts: counts(2, 0, 0),
			table: []string{"1 Ann Lee 1980-01-02 NULL [1,L]", "2 Bob NULL NULL Acme [1,L]"}},
		{name: "insert and update", rows: peopleSource[1], counts: counts(1, 1, 0),
			table: []string{"1 Ann Lee 1980-01-02 NULL [1,1]", "1 Ann Lee 1980-01-02 Initech [2,L]", "2 Bob NULL NULL Acme [1,L]", "3 Cy  1990-12-31 NULL [2,L]"}},
		{name: "delete", rows: peopleSource[2], counts: counts(0, 0, 1),
			table: []string{"1 Ann Lee 1980-01-02 NULL [1,1]", "1 Ann Lee 1980-01-02 Initech [2,L]", "2 Bob NULL NULL Acme [1,2]", "3 Cy  1990-12-31 NULL [2,L]"}},
		{name: "empty source", rows: peopleSource[3], counts: counts(0, 0, 2),
			table: []string{"1 Ann Lee 1980-01-02 NULL [1,1]", "1 Ann Lee 1980-01-02 Initech [2,3]", "2 Bob NULL NULL Acme [1,2]", "3 Cy  1990-12-31 NULL [2,3]"}},
		{name: "re-insert", rows: peopleSource[4], counts: counts(2, 0, 0),
			table: []string{"1 Ann Lee 1980-01-02 NULL [1,1]", "1 Ann Lee 1980-01-02 Initech [2,3]", "1 Ann Lee 1980-01-02 NULL [5,L]", "2 Bob NULL NULL Acme [1,2]", "2 Bob NULL NULL Acme [5,L]", "3 Cy  1990-12-31 NULL [2,3]"},
			asOf:  map[int32][]string{4: {}, 3: {"1 Ann Lee 1980-01-02 Initech", "3 Cy  1990-12-31 NULL"}}},
	})
}

// Watermark batches (§7.2, §9.2, §9.5): each batch holds only the rows read in its watermark
// range; nothing is ever deleted.
var watermarkSource = [][]row{
	{r("1", "ann", "10"), r("2", "bob", "20")},
	{r("1", "ann", "11")},
	{},
	{r("3", "cy", "NULL")},
	{r("3", "cy", "33"), r("2", "bob", "20")}, // 2 re-read unchanged
	{r("1", "ann", "10")},                     // back to an earlier value
	{r("4", "NULL", "NULL"), r("3", "cy", "NULL")},
}

func TestWatermarkLiveOnly(t *testing.T) {
	f := newFixture(t, connect(t), "Test_DP", accounts(), layout.Watermark, layout.LiveOnly)
	runSteps(t, f, []step{
		{name: "first", rows: watermarkSource[0], counts: counts(2, 0, 0), table: []string{"1 ann 10 [1]", "2 bob 20 [1]"}},
		{name: "update", rows: watermarkSource[1], counts: counts(0, 1, 0), table: []string{"1 ann 11 [2]", "2 bob 20 [1]"}},
		{name: "nothing", rows: watermarkSource[2], counts: counts(0, 0, 0), table: []string{"1 ann 11 [2]", "2 bob 20 [1]"}},
		{name: "insert with NULL", rows: watermarkSource[3], counts: counts(1, 0, 0), table: []string{"1 ann 11 [2]", "2 bob 20 [1]", "3 cy NULL [4]"}},
		{name: "NULL to value, unchanged re-read", rows: watermarkSource[4], counts: counts(0, 1, 0), table: []string{"1 ann 11 [2]", "2 bob 20 [1]", "3 cy 33 [5]"}},
		{name: "back to earlier value", rows: watermarkSource[5], counts: counts(0, 1, 0), table: []string{"1 ann 10 [6]", "2 bob 20 [1]", "3 cy 33 [5]"}},
		{name: "value to NULL", rows: watermarkSource[6], counts: counts(1, 1, 0), table: []string{"1 ann 10 [6]", "2 bob 20 [1]", "3 cy NULL [7]", "4 NULL NULL [7]"}},
	})
}

func TestWatermarkForensic(t *testing.T) {
	f := newFixture(t, connect(t), "Test_DP", accounts(), layout.Watermark, layout.Forensic)
	runSteps(t, f, []step{
		{name: "first", rows: watermarkSource[0], counts: counts(2, 0, 0), table: []string{"1 ann 10 [1,L]", "2 bob 20 [1,L]"}},
		{name: "update", rows: watermarkSource[1], counts: counts(0, 1, 0), table: []string{"1 ann 10 [1,1]", "1 ann 11 [2,L]", "2 bob 20 [1,L]"}},
		{name: "nothing", rows: watermarkSource[2], counts: counts(0, 0, 0), table: []string{"1 ann 10 [1,1]", "1 ann 11 [2,L]", "2 bob 20 [1,L]"}},
		{name: "insert with NULL", rows: watermarkSource[3], counts: counts(1, 0, 0),
			table: []string{"1 ann 10 [1,1]", "1 ann 11 [2,L]", "2 bob 20 [1,L]", "3 cy NULL [4,L]"}},
		{name: "NULL to value, unchanged re-read", rows: watermarkSource[4], counts: counts(0, 1, 0),
			table: []string{"1 ann 10 [1,1]", "1 ann 11 [2,L]", "2 bob 20 [1,L]", "3 cy NULL [4,4]", "3 cy 33 [5,L]"}},
		{name: "back to earlier value", rows: watermarkSource[5], counts: counts(0, 1, 0),
			table: []string{"1 ann 10 [1,1]", "1 ann 11 [2,5]", "1 ann 10 [6,L]", "2 bob 20 [1,L]", "3 cy NULL [4,4]", "3 cy 33 [5,L]"}},
		{name: "value to NULL", rows: watermarkSource[6], counts: counts(1, 1, 0),
			table: []string{"1 ann 10 [1,1]", "1 ann 11 [2,5]", "1 ann 10 [6,L]", "2 bob 20 [1,L]", "3 cy NULL [4,4]", "3 cy 33 [5,6]", "3 cy NULL [7,L]", "4 NULL NULL [7,L]"}},
	})
}

// CDC batches (§7.3, §9.3, §9.6): events are conflated per key, last position wins.
func ev(iud string, pos int64, vals ...string) event {
	return event{iud: iud, pos: pos, row: r(vals...)}
}

var cdcSource = [][]event{
	{ev("I", 10, "1", "ann", "10"), ev("I", 11, "2", "bob", "20"), ev("I", 12, "3", "cy", "30")},
	// 1 updated twice (last wins), 2 deleted, 4 inserted then updated, 99 deleted but never existed.
	{ev("U", 21, "1", "ann", "12"), ev("U", 20, "1", "ann", "11"), ev("D", 22, "2", "NULL", "NULL"),
		ev("I", 23, "4", "dee", "40"), ev("U", 24, "4", "dee", "NULL"), ev("D", 25, "99", "NULL", "NULL")},
	// 2 re-inserted, 4 deleted, 3 "updated" to the same values (no change).
	{ev("I", 30, "2", "bob", "22"), ev("D", 31, "4", "NULL", "NULL"), ev("U", 32, "3", "cy", "30")},
	{},
	// 4 re-inserted and deleted again in one batch; 5 inserted then deleted (never visible); an
	// insert event for an existing key changes it.
	{ev("I", 50, "4", "dee", "44"), ev("D", 51, "4", "NULL", "NULL"), ev("I", 52, "5", "eve", "50"),
		ev("D", 53, "5", "NULL", "NULL"), ev("I", 54, "1", "ann", "13")},
}

func TestCDCLiveOnly(t *testing.T) {
	f := newFixture(t, connect(t), "Test_DP", accounts(), layout.CDC, layout.LiveOnly)
	runSteps(t, f, []step{
		{name: "inserts", events: cdcSource[0], counts: counts(3, 0, 0), table: []string{"1 ann 10 [1]", "2 bob 20 [1]", "3 cy 30 [1]"}},
		{name: "conflation", events: cdcSource[1], counts: counts(1, 1, 1), table: []string{"1 ann 12 [2]", "3 cy 30 [1]", "4 dee NULL [2]"}},
		{name: "re-insert", events: cdcSource[2], counts: counts(1, 0, 1), table: []string{"1 ann 12 [2]", "2 bob 22 [3]", "3 cy 30 [1]"}},
		{name: "no events", events: cdcSource[3], counts: counts(0, 0, 0), table: []string{"1 ann 12 [2]", "2 bob 22 [3]", "3 cy 30 [1]"}},
		{name: "insert-delete", events: cdcSource[4], counts: counts(0, 1, 0), table: []string{"1 ann 13 [5]", "2 bob 22 [3]", "3 cy 30 [1]"}},
	})
}

func TestCDCForensic(t *testing.T) {
	f := newFixture(t, connect(t), "Test_DP", accounts(), layout.CDC, layout.Forensic)
	runSteps(t, f, []step{
		{name: "inserts", events: cdcSource[0], counts: counts(3, 0, 0), table: []string{"1 ann 10 [1,L]", "2 bob 20 [1,L]", "3 cy 30 [1,L]"}},
		{name: "conflation", events: cdcSource[1], counts: counts(1, 1, 1),
			table: []string{"1 ann 10 [1,1]", "1 ann 12 [2,L]", "2 bob 20 [1,1]", "3 cy 30 [1,L]", "4 dee NULL [2,L]"}},
		{name: "re-insert", events: cdcSource[2], counts: counts(1, 0, 1),
			table: []string{"1 ann 10 [1,1]", "1 ann 12 [2,L]", "2 bob 20 [1,1]", "2 bob 22 [3,L]", "3 cy 30 [1,L]", "4 dee NULL [2,2]"}},
		{name: "no events", events: cdcSource[3], counts: counts(0, 0, 0),
			table: []string{"1 ann 10 [1,1]", "1 ann 12 [2,L]", "2 bob 20 [1,1]", "2 bob 22 [3,L]", "3 cy 30 [1,L]", "4 dee NULL [2,2]"}},
		{name: "insert-delete", events: cdcSource[4], counts: counts(0, 1, 0),
			table: []string{"1 ann 10 [1,1]", "1 ann 12 [2,4]", "1 ann 13 [5,L]", "2 bob 20 [1,1]", "2 bob 22 [3,L]", "3 cy 30 [1,L]", "4 dee NULL [2,2]"},
			asOf:  map[int32][]string{2: {"1 ann 12", "3 cy 30", "4 dee NULL"}}},
	})
}

// Keyless datasets: the key hash is the all hash, exact duplicates collapse to one row.
func events() layout.Dataset {
	ds := accounts()
	ds.Name = "events"
	ds.PrimaryKey = nil
	ds.Columns[0].NotNull = false
	return ds
}

func TestKeylessLiveOnly(t *testing.T) {
	f := newFixture(t, connect(t), "Test_DP", events(), layout.Snapshot, layout.LiveOnly)
	runSteps(t, f, []step{
		{name: "duplicates collapse", rows: []row{r("1", "a", "1"), r("1", "a", "1"), r("2", "NULL", "2"), r("NULL", "NULL", "NULL")}, counts: counts(3, 0, 0),
			table: []string{"1 a 1 [1]", "2 NULL 2 [1]", "NULL NULL NULL [1]"}},
		{name: "a change is a delete and an insert", rows: []row{r("1", "a", "1"), r("2", "b", "2"), r("2", "b", "2")}, counts: counts(1, 0, 2),
			table: []string{"1 a 1 [1]", "2 b 2 [2]"}},
	})
}

func TestKeylessForensic(t *testing.T) {
	f := newFixture(t, connect(t), "Test_DP", events(), layout.Snapshot, layout.Forensic)
	runSteps(t, f, []step{
		{name: "duplicates collapse", rows: []row{r("1", "a", "1"), r("1", "a", "1"), r("2", "NULL", "2")}, counts: counts(2, 0, 0),
			table: []string{"1 a 1 [1,L]", "2 NULL 2 [1,L]"}},
		{name: "a change is a delete and an insert", rows: []row{r("1", "a", "1"), r("2", "b", "2")}, counts: counts(1, 0, 1),
			table: []string{"1 a 1 [1,L]", "2 b 2 [2,L]", "2 NULL 2 [1,1]"}},
	})
}

// TestTransformerOutput stages a transformer output table with SQL hashes (§7.4): the staged
// hashes equal the Go ones and the merge is a snapshot.
func TestTransformerOutput(t *testing.T) {
	conn := connect(t)
	f := newFixture(t, conn, "Test_DP", accounts(), layout.TransformerOutput, layout.LiveOnly)
	out := layout.OutputTable("Test_DP", "W", accounts())
	ctx := t.Context()
	inTx(t, conn, func(tx pgx.Tx) error {
		st, err := ddl.CreateTable(out)
		if err != nil {
			return err
		}
		if err := execStrings(ctx, tx, append([]string{`CREATE SCHEMA ` + ddl.Quote(out.Name.Schema)}, st...)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO `+ddl.Ident(out.Name)+` VALUES (1, 'ann', 10), (2, NULL, NULL), (3, 'cy', 30)`)
		return err
	})
	for i, want := range [][]string{
		{"1 ann 10 [1]", "2 NULL NULL [1]", "3 cy 30 [1]"},
		{"1 ann 10 [1]", "2 bob NULL [2]"},
	} {
		b, _ := f.open()
		f.ingest(b, func(ctx context.Context, tx pgx.Tx) (int64, error) {
			st, err := mergesql.StageTransformerOutput(out, f.staging, b)
			if err != nil {
				return 0, err
			}
			tag, err := tx.Exec(ctx, st.SQL, st.Args...)
			if err != nil {
				return 0, err
			}
			return tag.RowsAffected(), f.checkStagingHashes(ctx, tx, b)
		})
		f.mergeCommit(b, f.mode(false))
		if diff := cmp.Diff(want, f.table()); diff != "" {
			t.Errorf("batch %d (-want +got):\n%s", i+1, diff)
		}
		inTx(t, conn, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `TRUNCATE `+ddl.Ident(out.Name)+`; INSERT INTO `+ddl.Ident(out.Name)+` VALUES (1, 'ann', 10), (2, 'bob', NULL)`)
			return err
		})
	}
	// The Go path staged the same rows with the same hashes: a Go-hashed batch of the same source
	// changes nothing.
	_, c := f.batch(r("1", "ann", "10"), r("2", "bob", "NULL"))
	if diff := cmp.Diff(counts(0, 0, 0), c); diff != "" {
		t.Errorf("Go-hashed batch after SQL-hashed batch (-want +got):\n%s", diff)
	}
}
