package mergesql_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

func TestNext(t *testing.T) {
	tests := []struct {
		from mergesql.Status
		ev   mergesql.Event
		want mergesql.Status
		ok   bool
	}{
		{mergesql.NoBatch, mergesql.EventStart, mergesql.Started, true},
		{mergesql.Committed, mergesql.EventStart, mergesql.Started, true},
		{mergesql.Started, mergesql.EventStart, mergesql.Started, false},
		{mergesql.Started, mergesql.EventIngest, mergesql.Ingested, true},
		{mergesql.Ingested, mergesql.EventCommit, mergesql.Committed, true},
		{mergesql.Started, mergesql.EventCommit, mergesql.Started, false},
		{mergesql.Started, mergesql.EventFail, mergesql.Failed, true},
		{mergesql.Ingested, mergesql.EventFail, mergesql.Failed, true},
		{mergesql.Committed, mergesql.EventFail, mergesql.Committed, false},
		{mergesql.Failed, mergesql.EventResume, mergesql.Started, true},
		{mergesql.Started, mergesql.EventResume, mergesql.Started, true},
		{mergesql.Ingested, mergesql.EventResume, mergesql.Ingested, false},
		{mergesql.Started, mergesql.EventReset, mergesql.Started, true},
		{mergesql.Ingested, mergesql.EventReset, mergesql.Started, true},
		{mergesql.Failed, mergesql.EventReset, mergesql.Started, true},
		{mergesql.Committed, mergesql.EventReset, mergesql.Committed, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.from)+"/"+string(tt.ev), func(t *testing.T) {
			got, err := mergesql.Next(tt.from, tt.ev)
			var te *mergesql.TransitionError
			if got != tt.want || (err == nil) != tt.ok || (err != nil && !errors.As(err, &te)) {
				t.Errorf("Next(%q, %q) = %q, %v; want %q, ok %t", tt.from, tt.ev, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestOpenFor(t *testing.T) {
	tests := map[mergesql.Status]mergesql.Open{
		mergesql.NoBatch: mergesql.OpenNew, mergesql.Committed: mergesql.OpenNew,
		mergesql.Started: mergesql.OpenResume, mergesql.Failed: mergesql.OpenResume,
		mergesql.Ingested: mergesql.OpenMerge,
	}
	for s, want := range tests {
		if got, err := mergesql.OpenFor(s); err != nil || got != want {
			t.Errorf("OpenFor(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if _, err := mergesql.OpenFor("bogus"); err == nil {
		t.Error("unknown status: no error")
	}
}

func TestFingerprint(t *testing.T) {
	text := "id\tinteger\tNOT NULL\nowner\tcharacter varying(20)\tNULL\nbalance\tinteger\tNULL\npk\tid\n"
	sum := sha256.Sum256([]byte(text))
	if got, want := mergesql.Fingerprint(accounts()), "sha256:"+hex.EncodeToString(sum[:]); got != want {
		t.Errorf("Fingerprint = %s, want %s", got, want)
	}
	changed := accounts()
	changed.Columns[1].Type = "character varying(40)"
	if mergesql.Fingerprint(changed) == mergesql.Fingerprint(accounts()) {
		t.Error("a widened column does not change the fingerprint")
	}
}

func TestStreamLockKey(t *testing.T) {
	sum := sha256.Sum256([]byte("yellow:YellowLive:Store1#people"))
	if got, want := mergesql.StreamLockKey("YellowLive", "Store1#people"), int64(binary.BigEndian.Uint64(sum[:8])); got != want {
		t.Errorf("StreamLockKey = %d, want %d", got, want)
	}
}

func TestStateRoundTrip(t *testing.T) {
	st := mergesql.State{
		V: 1, ModelVersion: 42, Attempt: 1, Datasets: []string{"customers", "orders"},
		Fingerprints: map[string]string{"customers": "sha256:aa"},
		DataTime:     "2026-01-02T03:04:05Z",
		Rows:         map[string]mergesql.RowCounts{"customers": {Staged: 100, Inserted: 3, Updated: 1}},
		Watermark:    &mergesql.WatermarkState{Column: "last_update_time", Type: "timestamp without time zone", Low: "a", High: "b"},
		Remote:       &mergesql.RemoteState{Platform: "YellowForensic", RemoteBatch: 5, PreviousRemoteBatch: 3},
	}
	b, err := st.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "state.json", string(b)+"\n")
	back, err := mergesql.ParseState(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(st, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func rowsAffected(t *testing.T, conn *pgx.Conn, s mergesql.Stmt) int64 {
	t.Helper()
	tag, err := conn.Exec(context.Background(), s.SQL, s.Args...)
	if err != nil {
		t.Fatalf("%s: %v", s.Name, err)
	}
	return tag.RowsAffected()
}

// TestBookkeeping runs the §6 statements on PostgreSQL: a failed batch resumed with attempt+1,
// guards that never move a committed batch, retention (§13), lag (§14), the stream lock,
// transformer runs and CDC rejects.
func TestBookkeeping(t *testing.T) {
	conn := connect(t)
	ctx := context.Background()
	f := newFixture(t, conn, "Test_DP", accounts(), layout.Snapshot, layout.LiveOnly)
	bk := f.books

	// Batch 1 fails during ingest, is resumed (attempt 2) and commits.
	b, _ := f.open()
	if n := rowsAffected(t, conn, bk.MarkFailed(f.key, b, f.state(1))); n != 1 {
		t.Fatalf("mark failed: %d rows", n)
	}
	var failures int
	if err := conn.QueryRow(ctx, bk.ConsecutiveFailures(f.key).SQL, bk.ConsecutiveFailures(f.key).Args...).Scan(&failures); err != nil || failures != 1 {
		t.Errorf("consecutive failures = %d, %v", failures, err)
	}
	if n := rowsAffected(t, conn, bk.MarkCommitted(f.key, b, mergesql.Counts{}, f.state(1))); n != 0 {
		t.Errorf("a failed batch was committed")
	}
	if again, ingested := f.open(); again != b || ingested {
		t.Fatalf("resume = %d, %t", again, ingested)
	}
	var attempt int
	if err := conn.QueryRow(ctx, `SELECT (state->>'attempt')::int FROM `+ddl.Ident(bk.Metrics)+` WHERE key = $1 AND batch_id = $2`, f.key, b).Scan(&attempt); err != nil || attempt != 2 {
		t.Errorf("attempt after resume = %d, %v", attempt, err)
	}
	f.ingest(b, func(ctx context.Context, tx pgx.Tx) (int64, error) { return f.copyRows(ctx, tx, b, accountsSource[0]) })
	// An ingested batch is resumed by merging it (step 2 → step 4).
	if again, ingested := f.open(); again != b || !ingested {
		t.Fatalf("open of an ingested batch = %d, %t", again, ingested)
	}
	f.mergeCommit(b, mergesql.LiveSnapshot)
	if n := rowsAffected(t, conn, bk.RestartBatch(f.key, b, f.state(1))); n != 0 {
		t.Errorf("a committed batch was reset")
	}
	if n := rowsAffected(t, conn, bk.MarkFailed(f.key, b, f.state(1))); n != 0 {
		t.Errorf("a committed batch was failed")
	}
	if got := f.metrics(b); got != "committed 3/0/0" {
		t.Errorf("metrics = %q", got)
	}

	// Retention: keep 1 → creating batch B deletes staging batches < B - 1.
	f.keep = 1
	for range 3 {
		f.batch(accountsSource[0]...)
	}
	stagedBatches := func() []int32 {
		rows, err := conn.Query(ctx, `SELECT DISTINCT "ds_surf_batch_id" FROM `+ddl.Ident(f.staging.Name)+` ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if diff := cmp.Diff([]int32{3, 4}, stagedBatches()); diff != "" {
		t.Errorf("keep 1 (-want +got):\n%s", diff)
	}
	f.keep = 0
	f.batch(accountsSource[0]...)
	if diff := cmp.Diff([]int32{5}, stagedBatches()); diff != "" {
		t.Errorf("keep 0 (-want +got):\n%s", diff)
	}
	f.keep = -1
	f.batch(accountsSource[0]...)
	f.batch(accountsSource[0]...)
	if diff := cmp.Diff([]int32{5, 6, 7}, stagedBatches()); diff != "" {
		t.Errorf("keep -1 (-want +got):\n%s", diff)
	}
	if _, _, err := mergesql.PruneStaging(f.staging.Name, 8, -2); err == nil {
		t.Error("keep -2: no error")
	}

	// Lag: the data time of the latest committed batch is 2026-01-02T03:04:05Z.
	lag := mergesql.StreamLag(bk.Metrics, []string{f.key, "Other"})
	rows, err := conn.Query(ctx, lag.SQL, lag.Args...)
	if err != nil {
		t.Fatal(err)
	}
	type lagRow struct {
		Key      string
		BatchID  int32
		DataTime time.Time
		Lag      float64
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[lagRow])
	if err != nil {
		t.Fatal(err)
	}
	dataTime := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if len(got) != 1 || got[0].Key != f.key || got[0].BatchID != 7 || !got[0].DataTime.Equal(dataTime) ||
		got[0].Lag < time.Since(dataTime).Seconds()-60 || got[0].Lag > time.Since(dataTime).Seconds()+60 {
		t.Errorf("stream lag = %+v", got)
	}
	var wlag float64
	wl := mergesql.WorkspaceLag(bk.Metrics, nil)
	if err := conn.QueryRow(ctx, wl.SQL, wl.Args...).Scan(&wlag); err != nil || wlag < got[0].Lag {
		t.Errorf("workspace lag = %v, %v", wlag, err)
	}
	var n int64
	if err := conn.QueryRow(ctx, mergesql.CountRows(f.merge.Name).SQL).Scan(&n); err != nil || n != 3 {
		t.Errorf("count rows = %d, %v", n, err)
	}

	// The stream lock is exclusive across sessions.
	other := connectDSN(t, conn.Config().ConnString())
	lock := func(c *pgx.Conn, s mergesql.Stmt) bool {
		var ok bool
		if err := c.QueryRow(ctx, s.SQL, s.Args...).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !lock(conn, mergesql.TryLockStream(f.d, f.key)) {
		t.Fatal("first lock refused")
	}
	if lock(other, mergesql.TryLockStream(f.d, f.key)) {
		t.Error("second session got the lock (stream busy expected)")
	}
	if !lock(other, mergesql.TryLockStream(f.d, "Store1#other")) {
		t.Error("another stream's lock refused")
	}
	if !lock(conn, mergesql.UnlockStream(f.d, f.key)) || !lock(other, mergesql.TryLockStream(f.d, f.key)) {
		t.Error("lock not released")
	}

	// Transformer runs and CDC rejects.
	var run int64
	if err := conn.QueryRow(ctx, bk.NextRunID("W").SQL, "W").Scan(&run); err != nil || run != 1 {
		t.Fatalf("next run id = %d, %v", run, err)
	}
	rowsAffected(t, conn, bk.StartRun("W", run))
	if n := rowsAffected(t, conn, bk.EndRun("W", run, "failed", []byte(`{"Store1": 7}`), nil, "boom")); n != 1 {
		t.Errorf("end run: %d rows", n)
	}
	for range 2 {
		rowsAffected(t, conn, bk.Reject(f.key, 8, "topic", 0, 42, "unparseable", []byte{0xff}))
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+ddl.Ident(bk.Rejects)).Scan(&n); err != nil || n != 1 {
		t.Errorf("rejects = %d, %v", n, err)
	}
}
