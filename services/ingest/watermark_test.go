package ingest_test

import (
	"context"
	"testing"

	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/ingest"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

// staged lists "id@wm" of staging(b) of d, ordered.
func (e *env) staged(d layout.Dataset, c layout.Capture, b int32, wm string) []string {
	e.t.Helper()
	rows, err := e.merge.Query(context.Background(), `SELECT s."id"::text || '@' || s.`+ddl.Quote(wm)+`::text FROM `+ddl.Ident(stagingOf(d, c).Name)+
		` s WHERE s."ds_surf_batch_id" = $1 ORDER BY 1`, b)
	if err != nil {
		e.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		e.t.Fatal(err)
	}
	if out == nil {
		out = []string{}
	}
	return out
}

// merged lists "id@wm:payload" of the merge table of d.
func (e *env) merged(d layout.Dataset, wm string) []string {
	e.t.Helper()
	rows, err := e.merge.Query(context.Background(), `SELECT m."id"::text || '@' || m.`+ddl.Quote(wm)+`::text || ':' || coalesce(m."payload", 'NULL') FROM `+
		ddl.Ident(layout.Merge(platform, d, e.ms).Name)+` m ORDER BY 1`)
	if err != nil {
		e.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// TestWatermarkBatches runs a multi-dataset watermark stream through several batches: the
// first batch of an empty source reads nothing; each batch reads [previous high, new high) where
// high is the maximum over both datasets (rows at high wait); re-running a batch reads the same
// interval even after newer rows arrived; a batch whose ingest failed recomputes high when it is
// retried (yellow.md §7.2); the merge upserts.
func TestWatermarkBatches(t *testing.T) {
	e := newEnv(t)
	e.execSrc(`CREATE TABLE events (id bigint, payload text, updated_at timestamp);
		CREATE TABLE audits (id int, payload text, updated_at timestamptz)`)
	ts := timestamp("")
	events := dataset("events", []string{"id"}, col("id", typ("BigInt"), false), col("payload", typ("VarChar"), true), col("updated_at", ts, false))
	audits := dataset("audits", []string{"id"}, col("id", typ("BigInt"), false), col("payload", typ("VarChar"), true), col("updated_at", ts, false))
	m := e.model(e.watermarkStore("Store1", "updated_at", modelv1.Consistency_CONSISTENCY_MULTI_DATASET, events, audits))
	e.setup(m)
	ds := e.streams(m)["Store1"].datasets
	ev, au := ds[0], ds[1]
	check := func(b int32, res ingest.IngestBatchResult, low, high string, wantEvents, wantAudits []string) {
		t.Helper()
		if res.WatermarkLow != low || res.WatermarkHigh != high || res.Capture != "watermark" {
			t.Errorf("batch %d: interval [%q, %q) capture %s, want [%q, %q)", b, res.WatermarkLow, res.WatermarkHigh, res.Capture, low, high)
		}
		if diff := cmp.Diff(wantEvents, e.staged(ev, layout.Watermark, b, "updated_at")); diff != "" {
			t.Errorf("batch %d events (-want +got):\n%s", b, diff)
		}
		if diff := cmp.Diff(wantAudits, e.staged(au, layout.Watermark, b, "updated_at")); diff != "" {
			t.Errorf("batch %d audits (-want +got):\n%s", b, diff)
		}
		_, st := e.state("Store1", b)
		if w := st.Watermark; w == nil || w.Column != "updated_at" || w.Type != "timestamp without time zone" || w.Low != low || w.High != high {
			t.Errorf("batch %d state watermark = %+v", b, st.Watermark)
		}
	}

	// 1: empty source, first batch: nothing read, no high yet.
	b := e.open(m, "Store1")
	check(b, e.mustIngest(m, "Store1", b), "", "", []string{}, []string{})
	e.commit(m, "Store1", b)

	// 2: first rows; high = the newest over both datasets (an audit row), which waits.
	e.execSrc(`INSERT INTO events SELECT g, 'e' || g, '2026-01-02 10:00:00'::timestamp + g * interval '1 second' FROM generate_series(0, 4) g;
		INSERT INTO audits VALUES (1, 'a1', '2026-01-02 10:00:02+00'), (2, 'a2', '2026-01-02 12:00:06+02')`)
	b = e.open(m, "Store1")
	check(b, e.mustIngest(m, "Store1", b), "", "2026-01-02 10:00:06",
		[]string{"0@2026-01-02 10:00:00", "1@2026-01-02 10:00:01", "2@2026-01-02 10:00:02", "3@2026-01-02 10:00:03", "4@2026-01-02 10:00:04"},
		[]string{"1@2026-01-02 10:00:02"})
	e.commit(m, "Store1", b)

	// 3: rows at the old high are read now; an update at the new high waits.
	e.execSrc(`INSERT INTO events VALUES (5, 'e5', '2026-01-02 10:00:06'), (6, 'e6', '2026-01-02 10:00:08.5');
		UPDATE events SET payload = 'e1 v2', updated_at = '2026-01-02 10:00:09' WHERE id = 1`)
	b = e.open(m, "Store1")
	first := e.mustIngest(m, "Store1", b)
	check(b, first, "2026-01-02 10:00:06", "2026-01-02 10:00:09",
		[]string{"5@2026-01-02 10:00:06", "6@2026-01-02 10:00:08.5"}, []string{"2@2026-01-02 10:00:06"})

	// The same batch again after newer rows arrived: the same interval (rows that arrived inside
	// it are read, rows above it wait).
	e.execSrc(`INSERT INTO events VALUES (7, 'e7', '2026-01-02 10:00:07'), (8, 'e8', '2026-01-02 10:00:20')`)
	e.restart("Store1", b)
	check(b, e.mustIngest(m, "Store1", b), "2026-01-02 10:00:06", "2026-01-02 10:00:09",
		[]string{"5@2026-01-02 10:00:06", "6@2026-01-02 10:00:08.5", "7@2026-01-02 10:00:07"}, []string{"2@2026-01-02 10:00:06"})
	e.commit(m, "Store1", b)

	// 4: an ingest that fails is retried with a recomputed high.
	e.execSrc(`ALTER TABLE audits RENAME TO audits_gone`)
	b = e.open(m, "Store1")
	_, err := e.ingest(context.Background(), m, "Store1", b)
	ingestErr(t, err, ingest.CodeSourceTableMissing, true, "audits")
	e.execSrc(`ALTER TABLE audits_gone RENAME TO audits; INSERT INTO audits VALUES (3, 'a3', '2026-01-02 10:00:30+00')`)
	check(b, e.mustIngest(m, "Store1", b), "2026-01-02 10:00:09", "2026-01-02 10:00:30",
		[]string{"1@2026-01-02 10:00:09", "8@2026-01-02 10:00:20"}, []string{})
	e.commit(m, "Store1", b)

	// 5: nothing new: high carries low forward, nothing read.
	b = e.open(m, "Store1")
	check(b, e.mustIngest(m, "Store1", b), "2026-01-02 10:00:30", "2026-01-02 10:00:30", []string{}, []string{})
	e.commit(m, "Store1", b)

	// The merge upserted every change (no deletes).
	want := []string{"0@2026-01-02 10:00:00:e0", "1@2026-01-02 10:00:09:e1 v2", "2@2026-01-02 10:00:02:e2", "3@2026-01-02 10:00:03:e3",
		"4@2026-01-02 10:00:04:e4", "5@2026-01-02 10:00:06:e5", "6@2026-01-02 10:00:08.5:e6", "7@2026-01-02 10:00:07:e7", "8@2026-01-02 10:00:20:e8"}
	if diff := cmp.Diff(want, e.merged(ev, "updated_at")); diff != "" {
		t.Errorf("events merge table (-want +got):\n%s", diff)
	}
}

// TestWatermarkInteger: an integer watermark read from a narrower source column, one dataset
// per stream (SINGLE_DATASET keys S#T).
func TestWatermarkInteger(t *testing.T) {
	e := newEnv(t)
	e.execSrc(`CREATE TABLE items (id int, payload text, version int);
		INSERT INTO items SELECT g, 'p' || g, g * 10 FROM generate_series(1, 5) g`)
	items := dataset("items", []string{"id"}, col("id", typ("Integer"), false), col("payload", typ("VarChar"), true), col("version", typ("BigInt"), false))
	m := e.model(e.watermarkStore("Store2", "version", modelv1.Consistency_CONSISTENCY_SINGLE_DATASET, items))
	e.setup(m)
	d := e.streams(m)["Store2#items"].datasets[0]
	b := e.open(m, "Store2#items")
	res := e.mustIngest(m, "Store2#items", b)
	if res.WatermarkLow != "" || res.WatermarkHigh != "50" {
		t.Errorf("interval = [%q, %q)", res.WatermarkLow, res.WatermarkHigh)
	}
	if diff := cmp.Diff([]string{"1@10", "2@20", "3@30", "4@40"}, e.staged(d, layout.Watermark, b, "version")); diff != "" {
		t.Errorf("batch 1 (-want +got):\n%s", diff)
	}
	e.commit(m, "Store2#items", b)
	e.execSrc(`UPDATE items SET version = 60, payload = 'new' WHERE id IN (1, 2)`)
	b = e.open(m, "Store2#items")
	res = e.mustIngest(m, "Store2#items", b)
	if res.WatermarkLow != "50" || res.WatermarkHigh != "60" {
		t.Errorf("interval = [%q, %q)", res.WatermarkLow, res.WatermarkHigh)
	}
	if diff := cmp.Diff([]string{"5@50"}, e.staged(d, layout.Watermark, b, "version")); diff != "" {
		t.Errorf("batch 2 (-want +got):\n%s", diff)
	}
}
