package merge_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/datasurface/datasurface/services/merge"
	"github.com/datasurface/datasurface/services/merge/internal/mergetest"
)

// Secondaries (yellow.md §8): YellowForensic ingests Ledger from its source; YellowCopy
// (live-only) and YellowMirror (forensic) copy it from YellowForensic's merge tables.
const (
	primaryD = "YellowForensic"
	copyD    = "YellowCopy"
	mirrorD  = "YellowMirror"
	ledger   = "Ledger"
)

const ledgerDDL = `CREATE TABLE entries (id integer PRIMARY KEY, owner varchar(20), amount numeric(10,2), "at" timestamp, raw bytea, ok boolean);
CREATE TABLE tags (entry_id integer NOT NULL, tag varchar(20))`

// ledgerState is one source state: rows as SQL value lists, and the same rows as the merge
// tables render them (dump's text form, model columns joined by blanks).
type ledgerState struct {
	name    string
	entries []string // SQL
	tags    []string // SQL
}

var ledgerStates = []ledgerState{
	{"inserts, NULLs and a duplicate keyless row",
		[]string{`(1, 'ann', 10, '2026-01-01 10:00', '\x01', true)`, `(2, 'bob', NULL, NULL, NULL, NULL)`, `(3, 'cy', 30.5, '2026-01-03', '\x0302', false)`},
		[]string{`(1, 'a')`, `(1, 'a')`, `(2, 'b')`}},
	{"an update, a delete, an insert of NULLs",
		[]string{`(1, 'ann', 15, '2026-01-01 10:00', '\x01', true)`, `(2, 'bob', NULL, NULL, NULL, NULL)`, `(4, NULL, NULL, NULL, NULL, NULL)`},
		[]string{`(1, 'a')`, `(3, 'c')`}},
	{"no change",
		[]string{`(1, 'ann', 15, '2026-01-01 10:00', '\x01', true)`, `(2, 'bob', NULL, NULL, NULL, NULL)`, `(4, NULL, NULL, NULL, NULL, NULL)`},
		[]string{`(1, 'a')`, `(3, 'c')`}},
	{"empty source", nil, nil},
	{"deleted keys back, one with a new value",
		[]string{`(1, 'ann', 15, '2026-01-01 10:00', '\x01', true)`, `(2, 'bob', NULL, NULL, NULL, NULL)`, `(3, 'cy', 35, '2026-01-03', '\x0302', false)`},
		[]string{`(2, 'b')`}},
	{"values to NULL, NULLs to values, an empty bytea, a keyless row back",
		[]string{`(1, 'ann', 15, NULL, NULL, NULL)`, `(2, 'bob', 20, '2026-01-02', '\x', true)`, `(3, 'cy', 35, '2026-01-03', '\x0302', false)`, `(5, 'eve', 50, '2026-01-05 05:05:05', '\xff00', true)`},
		[]string{`(2, 'b')`, `(5, 'e')`, `(1, 'a')`}},
}

// load replaces the source tables' rows with state s.
func (e *env) load(s ledgerState) {
	e.t.Helper()
	stmts := []string{"TRUNCATE entries, tags"}
	if len(s.entries) > 0 {
		stmts = append(stmts, "INSERT INTO entries VALUES "+strings.Join(s.entries, ", "))
	}
	if len(s.tags) > 0 {
		stmts = append(stmts, "INSERT INTO tags VALUES "+strings.Join(s.tags, ", "))
	}
	e.sql(stmts...)
}

// sourceRows renders the source tables as dump renders merge tables' model columns.
func (e *env) sourceRows() map[string]map[string]string {
	e.t.Helper()
	out := map[string]map[string]string{"entries": {}, "tags": {}}
	q := func(sql string) []string {
		rows, err := e.src.Query(context.Background(), sql)
		if err != nil {
			e.t.Fatal(err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				e.t.Fatal(err)
			}
			got = append(got, s)
		}
		return got
	}
	for _, r := range q(`SELECT id || '|' || concat_ws(' ', id::text, coalesce(owner::text, 'NULL'), coalesce(amount::text, 'NULL'),
		coalesce("at"::text, 'NULL'), coalesce(raw::text, 'NULL'), coalesce(ok::text, 'NULL')) FROM entries`) {
		k, v, _ := strings.Cut(r, "|")
		out["entries"][k] = v
	}
	for _, r := range q(`SELECT DISTINCT concat_ws(' ', entry_id::text, coalesce(tag::text, 'NULL')) FROM tags`) {
		out["tags"][r] = r // keyless: the row is its key
	}
	return out
}

// version is one forensic version of the oracle.
type version struct {
	row     string
	in, out int32
}

// oracle computes, independently of the SQL, what the merge tables must hold: the primary's
// forensic history (§9.4) and a live copy's rows with its own batch ids (§9.1).
type oracle struct {
	forensic map[string]map[string][]*version // dataset → key → versions
}

func newOracle() *oracle {
	return &oracle{forensic: map[string]map[string][]*version{"entries": {}, "tags": {}}}
}

// primaryBatch applies source rows as primary batch b.
func (o *oracle) primaryBatch(b int32, src map[string]map[string]string) {
	for ds, keys := range o.forensic {
		rows := src[ds]
		for k, vs := range keys {
			live := vs[len(vs)-1]
			if live.out != layout.Live {
				continue
			}
			if row, ok := rows[k]; !ok || row != live.row {
				live.out = b - 1
			}
		}
		for k, row := range rows {
			vs := keys[k]
			if len(vs) == 0 || vs[len(vs)-1].out != layout.Live {
				keys[k] = append(vs, &version{row: row, in: b, out: layout.Live})
			}
		}
	}
}

func bracket(in, out int32) string {
	if out == layout.Live {
		return fmt.Sprintf("[%d,L]", in)
	}
	return fmt.Sprintf("[%d,%d]", in, out)
}

// asOf renders dataset ds's versions as of primary batch r (batch_out ≥ r read as live), sorted.
func (o *oracle) asOf(ds string, r int32) []string {
	out := []string{}
	for _, vs := range o.forensic[ds] {
		for _, v := range vs {
			if v.in > r {
				continue
			}
			end := v.out
			if end >= r {
				end = layout.Live
			}
			out = append(out, v.row+" "+bracket(v.in, end))
		}
	}
	slices.Sort(out)
	return out
}

// liveAt returns key → row of the versions live at r.
func (o *oracle) liveAt(ds string, r int32) map[string]string {
	out := map[string]string{}
	for k, vs := range o.forensic[ds] {
		for _, v := range vs {
			if v.in <= r && v.out >= r {
				out[k] = v.row
			}
		}
	}
	return out
}

// liveCopy is the oracle of a live-only secondary: key → row and the copy's batch that last
// inserted or changed it.
type liveCopy map[string]map[string]struct {
	row string
	b   int32
}

// apply makes the copy equal to live (its batch b) and returns inserted/updated/deleted.
func (c liveCopy) apply(ds string, b int32, live map[string]string) (ins, upd, del int64) {
	if c[ds] == nil {
		c[ds] = map[string]struct {
			row string
			b   int32
		}{}
	}
	cur := c[ds]
	for k := range cur {
		if _, ok := live[k]; !ok {
			delete(cur, k)
			del++
		}
	}
	for k, row := range live {
		old, ok := cur[k]
		switch {
		case !ok:
			ins++
		case old.row != row:
			upd++
		default:
			continue
		}
		cur[k] = struct {
			row string
			b   int32
		}{row, b}
	}
	return ins, upd, del
}

func (c liveCopy) dump(ds string) []string {
	out := []string{}
	for _, v := range c[ds] {
		out = append(out, fmt.Sprintf("%s [%d]", v.row, v.b))
	}
	slices.Sort(out)
	return out
}

func sorted(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out
}

// secondaryEnv is an env with the Ledger source and the secondaries in the model.
func secondaryEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, merge.Config{})
	e.setModel(mergetest.Options{Secondaries: true})
	e.sql(ledgerDDL)
	return e
}

// merges returns the merge tables of the stream's datasets on platform d.
func (e *env) merges(d string) map[string]layout.Table {
	e.t.Helper()
	s, err := e.platform(d).Stream(ledger)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]layout.Table{}
	for _, ds := range s.Datasets {
		out[ds.Name] = ds.Merge
	}
	return out
}

// hashes lists key hash and all hash of every row of a live-only merge table.
func (e *env) hashes(t layout.Table) []string {
	e.t.Helper()
	return e.query(`SELECT encode("ds_surf_key_hash", 'hex') || ' ' || encode("ds_surf_all_hash", 'hex') FROM ` + ddl.Ident(t.Name) + ` ORDER BY 1`)
}

// versionHashes lists key hash, all hash, batch_in and batch_out of the versions of a forensic
// merge table as of batch r (batch_out >= r read as live; r = 0: every version as it is).
func (e *env) versionHashes(t layout.Table, r int32) []string {
	e.t.Helper()
	if r == 0 {
		r = layout.Live
	}
	return e.query(`SELECT encode("ds_surf_key_hash", 'hex') || ' ' || encode("ds_surf_all_hash", 'hex') || ' ' || "ds_surf_batch_in" || ' ' ||
		CASE WHEN "ds_surf_batch_out" >= $1 THEN 2147483647 ELSE "ds_surf_batch_out" END
		FROM `+ddl.Ident(t.Name)+` WHERE "ds_surf_batch_in" <= $1 ORDER BY 1`, r)
}

// liveHashes lists key hash and all hash of the versions of a forensic table live at r.
func (e *env) liveHashes(t layout.Table, r int32) []string {
	e.t.Helper()
	return e.query(`SELECT encode("ds_surf_key_hash", 'hex') || ' ' || encode("ds_surf_all_hash", 'hex') FROM `+ddl.Ident(t.Name)+`
		WHERE "ds_surf_batch_in" <= $1 AND "ds_surf_batch_out" >= $1 ORDER BY 1`, r)
}

// checkMirror asserts the forensic secondary equals the primary as of primary batch r, version by
// version and hash by hash, and its views.
func (e *env) checkMirror(o *oracle, r int32, step string) {
	e.t.Helper()
	pm, mm := e.merges(primaryD), e.merges(mirrorD)
	for _, ds := range []string{"entries", "tags"} {
		diff(e.t, step+": mirror "+ds, o.asOf(ds, r), sorted(e.dump(mm[ds])))
		e.checkForensic(mm[ds])
		live := sorted(slices.Collect(maps.Values(o.liveAt(ds, r))))
		diff(e.t, step+": mirror live view "+ds, live, sorted(e.view(naming.LiveView(mirrorD, "Books", "history", ledger, ds))))
		var full []string
		for _, v := range o.asOf(ds, r) {
			row, br, _ := strings.Cut(v, " [")
			in, out, _ := strings.Cut(strings.TrimSuffix(br, "]"), ",")
			if out == "L" {
				out = "2147483647"
			}
			full = append(full, row+" "+in+" "+out)
		}
		diff(e.t, step+": mirror full view "+ds, sorted(full), sorted(e.view(naming.FullView(mirrorD, "Books", "history", ledger, ds))))
		// Hashes are copied, never recomputed.
		diff(e.t, step+": mirror hashes "+ds, e.versionHashes(pm[ds], r), e.versionHashes(mm[ds], 0))
	}
}

// checkCopy asserts the live secondary's merge tables (rows and own batch ids), its views, and
// that its hashes are the primary's as of primary batch r.
func (e *env) checkCopy(c liveCopy, r int32, step string) {
	e.t.Helper()
	pm, cm := e.merges(primaryD), e.merges(copyD)
	for _, ds := range []string{"entries", "tags"} {
		diff(e.t, step+": copy "+ds, c.dump(ds), sorted(e.dump(cm[ds])))
		var live []string
		for _, v := range c[ds] {
			live = append(live, v.row)
		}
		diff(e.t, step+": copy live view "+ds, sorted(live), sorted(e.view(naming.LiveView(copyD, "Books", "current", ledger, ds))))
		diff(e.t, step+": copy hashes "+ds, e.liveHashes(pm[ds], r), e.hashes(cm[ds]))
	}
}

// runSecondary runs one batch of a secondary and returns its cycle result.
func (e *env) runSecondary(d string) merge.CycleResult {
	e.t.Helper()
	res, err := e.cycle(d, ledger)
	if err != nil {
		e.t.Fatalf("secondary %s: %v", d, err)
	}
	return res
}

// TestSecondaryEveryBatch runs the primary through six source states (inserts, NULLs, an
// update, a delete, no change, an empty source, deleted keys back, NULLs to values and back)
// and after each primary batch both secondaries: the forensic mirror copies batch R with the
// primary's batch numbering and equals the primary version by version (batch_in/out, hashes);
// the live copy numbers its own batches and equals the primary's live rows; their views follow.
// Before the primary's first batch and right after every secondary batch a run is a no-op.
func TestSecondaryEveryBatch(t *testing.T) {
	e := secondaryEnv(t)
	o, c := newOracle(), liveCopy{}

	for _, d := range []string{copyD, mirrorD} {
		if res := e.runSecondary(d); res.Status != "noop" || !res.Start.Noop || res.Start.RemoteBatch != 0 {
			t.Fatalf("%s before any primary batch: %+v, want noop", d, res)
		}
	}
	var copyBatch int32
	for i, st := range ledgerStates {
		r := int32(i + 1)
		step := fmt.Sprintf("primary batch %d (%s)", r, st.name)
		e.load(st)
		if res := e.mustCycle(primaryD, ledger); res.Merge.Batch != r {
			t.Fatalf("%s: primary committed batch %d", step, res.Merge.Batch)
		}
		o.primaryBatch(r, e.sourceRows())
		diff(t, step+": primary entries", o.asOf("entries", r), sorted(e.dump(e.merges(primaryD)["entries"])))

		// Forensic mirror: batch id = R, seed first, then incremental.
		res := e.runSecondary(mirrorD)
		if res.Status != "committed" || res.Start.Batch != r || res.Start.RemoteBatch != r {
			t.Fatalf("%s: mirror %+v, want batch %d committed", step, res.Start, r)
		}
		wantMode := "mirror-incremental"
		if r == 1 {
			wantMode = "mirror-seed"
		}
		if res.Merge.Mode != wantMode {
			t.Errorf("%s: mirror mode %s, want %s", step, res.Merge.Mode, wantMode)
		}
		e.checkMirror(o, r, step)

		// Live copy: its own batch ids, seed = live snapshot, then IUD.
		copyBatch++
		res = e.runSecondary(copyD)
		if res.Status != "committed" || res.Start.Batch != copyBatch || res.Start.RemoteBatch != r {
			t.Fatalf("%s: copy %+v, want batch %d committed", step, res.Start, copyBatch)
		}
		wantMode = "live-iud"
		if r == 1 {
			wantMode = "live-snapshot"
		}
		if res.Merge.Mode != wantMode {
			t.Errorf("%s: copy mode %s, want %s", step, res.Merge.Mode, wantMode)
		}
		var want merge.DatasetCounts
		for _, ds := range []string{"entries", "tags"} {
			ins, upd, del := c.apply(ds, copyBatch, o.liveAt(ds, r))
			want.Inserted += ins
			want.Updated += upd
			want.Deleted += del
		}
		got := merge.DatasetCounts{Inserted: res.Merge.Inserted, Updated: res.Merge.Updated, Deleted: res.Merge.Deleted}
		diff(t, step+": copy counts", want, got)
		e.checkCopy(c, r, step)

		// Nothing new on the primary: no batch.
		for _, d := range []string{copyD, mirrorD} {
			if res := e.runSecondary(d); res.Status != "noop" || res.Start.RemoteBatch != r {
				t.Errorf("%s: %s re-run %+v, want noop at %d", step, d, res.Start, r)
			}
		}
	}
	// Every secondary batch committed with its primary position in the state; data time is the
	// primary batch's.
	diff(t, "mirror batches", []string{
		"1 committed 1 0 true", "2 committed 2 1 false", "3 committed 3 2 false", "4 committed 4 3 false", "5 committed 5 4 false", "6 committed 6 5 false",
	}, e.query(`SELECT batch_id || ' ' || batch_status || ' ' || (state->'remote'->>'remoteBatch') || ' ' || (state->'remote'->>'previousRemoteBatch') || ' ' || (state->'remote'->>'seed')
		FROM yellowmirror.yellowmirror_batch_metrics WHERE key = 'Ledger' ORDER BY batch_id`))
	diff(t, "copy data times", e.query(`SELECT state->>'dataTime' FROM yellowforensic.yellowforensic_batch_metrics WHERE key = 'Ledger' ORDER BY batch_id`),
		e.query(`SELECT state->>'dataTime' FROM yellowcopy.yellowcopy_batch_metrics WHERE key = 'Ledger' ORDER BY batch_id`))
}

// TestSecondaryCatchUp: the secondaries' first batch seeds from a primary that already has three
// batches of history, and their second copies three primary batches at once (4, 5, 6: an empty
// source, keys back, NULL changes).
func TestSecondaryCatchUp(t *testing.T) {
	e := secondaryEnv(t)
	o, c := newOracle(), liveCopy{}
	primary := func(from, to int) {
		for i := from; i < to; i++ {
			e.load(ledgerStates[i])
			e.mustCycle(primaryD, ledger)
			o.primaryBatch(int32(i+1), e.sourceRows())
		}
	}
	primary(0, 3)
	res := e.runSecondary(mirrorD)
	if res.Start.Batch != 3 || res.Merge.Mode != "mirror-seed" || res.Merge.Inserted != int64(len(o.asOf("entries", 3))+len(o.asOf("tags", 3))) {
		t.Fatalf("mirror seed after 3 primary batches: start %+v merge %+v", res.Start, res.Merge)
	}
	e.checkMirror(o, 3, "mirror seeded at 3")
	res = e.runSecondary(copyD)
	if res.Start.Batch != 1 || res.Merge.Mode != "live-snapshot" {
		t.Fatalf("copy seed: start %+v merge %+v", res.Start, res.Merge)
	}
	for _, ds := range []string{"entries", "tags"} {
		c.apply(ds, 1, o.liveAt(ds, 3))
	}
	e.checkCopy(c, 3, "copy seeded at 3")

	primary(3, 6)
	res = e.runSecondary(mirrorD)
	if res.Start.Batch != 6 || res.Start.RemoteBatch != 6 || res.Merge.Mode != "mirror-incremental" {
		t.Fatalf("mirror catching up to 6: start %+v merge %+v", res.Start, res.Merge)
	}
	e.checkMirror(o, 6, "mirror caught up at 6")
	res = e.runSecondary(copyD)
	var want merge.DatasetCounts
	for _, ds := range []string{"entries", "tags"} {
		ins, upd, del := c.apply(ds, 2, o.liveAt(ds, 6))
		want.Inserted += ins
		want.Updated += upd
		want.Deleted += del
	}
	if res.Start.Batch != 2 || res.Start.RemoteBatch != 6 || res.Merge.Mode != "live-iud" {
		t.Fatalf("copy catching up: start %+v merge %+v", res.Start, res.Merge)
	}
	diff(t, "copy catch-up counts", want, merge.DatasetCounts{Inserted: res.Merge.Inserted, Updated: res.Merge.Updated, Deleted: res.Merge.Deleted})
	e.checkCopy(c, 6, "copy caught up at 6")
	// Mirror batches 3 and 6 only: skipped primary batch ids never exist locally.
	diff(t, "mirror batch ids", []string{"3", "6"}, e.query(`SELECT batch_id::text FROM yellowmirror.yellowmirror_batch_metrics ORDER BY batch_id`))
	diff(t, "mirror counter", []string{"6"}, e.query(`SELECT current_batch::text FROM yellowmirror.yellowmirror_batch_counter WHERE key = 'Ledger'`))
}

// TestSecondaryPrimaryMovesOn: a secondary's batch is opened at primary batch R, then the primary
// commits three more batches (closing and adding versions) before the secondary ingests: the rows
// read are the primary's table as of R (batch_out ≥ R read as live, later versions left out),
// also when the batch failed once and is resumed; the next run copies the newest batch.
func TestSecondaryPrimaryMovesOn(t *testing.T) {
	e := secondaryEnv(t)
	o, c := newOracle(), liveCopy{}
	ctx := context.Background()
	primary := func(i int) {
		e.load(ledgerStates[i])
		e.mustCycle(primaryD, ledger)
		o.primaryBatch(int32(i+1), e.sourceRows())
	}
	primary(0)
	for _, d := range []string{mirrorD, copyD} {
		e.runSecondary(d)
	}
	for _, ds := range []string{"entries", "tags"} {
		c.apply(ds, 1, o.liveAt(ds, 1))
	}
	primary(1)

	// Open both secondaries' batches at R = 2, then let the primary commit 3, 4 and 5.
	started := map[string]merge.StartBatchResult{}
	for _, d := range []string{mirrorD, copyD} {
		if _, err := e.act.ReconcileTables(ctx, merge.ReconcileTablesInput{Platform: d, Version: e.v()}); err != nil {
			t.Fatal(err)
		}
		st, err := e.act.StartBatch(ctx, merge.StartBatchInput{Platform: d, Stream: ledger, Version: e.v()})
		if err != nil || st.RemoteBatch != 2 || st.Status != "started" {
			t.Fatalf("%s: start %+v %v", d, st, err)
		}
		started[d] = st
	}
	primary(2)
	primary(3)
	primary(4)
	// The copy's batch fails once (e.g. its ingest was interrupted): the next run resumes it at
	// its own R = 2, not at the primary's newest batch.
	if _, err := e.act.FailBatch(ctx, merge.FailBatchInput{Platform: copyD, Stream: ledger, Version: e.v(), Batch: started[copyD].Batch,
		Phase: "ingest", Message: "interrupted"}); err != nil {
		t.Fatal(err)
	}
	res := e.runSecondary(copyD)
	if res.Status != "committed" || !res.Start.Resumed || res.Start.Attempt != 2 || res.Start.Batch != started[copyD].Batch || res.Start.RemoteBatch != 2 {
		t.Fatalf("resumed copy batch: %+v %s", res.Start, res.Status)
	}
	for _, d := range []string{mirrorD} {
		b := started[d].Batch
		if err := e.ingest(e, d, ledger)(ctx, b); err != nil {
			t.Fatalf("%s ingest: %v", d, err)
		}
		if _, err := e.act.MergeBatch(ctx, merge.MergeBatchInput{Platform: d, Stream: ledger, Version: e.v(), Batch: b}); err != nil {
			t.Fatalf("%s merge: %v", d, err)
		}
	}
	if _, err := e.act.ReconcileViews(ctx, merge.ReconcileViewsInput{Platform: mirrorD, Version: e.v()}); err != nil {
		t.Fatal(err)
	}
	e.checkMirror(o, 2, "mirror batch 2 read after the primary reached 5")
	for _, ds := range []string{"entries", "tags"} {
		c.apply(ds, 2, o.liveAt(ds, 2))
	}
	e.checkCopy(c, 2, "copy of primary batch 2 read after the primary reached 5")

	// The next runs copy batch 5 (mirror: batch 5; copy: its batch 3).
	if res := e.runSecondary(mirrorD); res.Start.Batch != 5 || res.Status != "committed" {
		t.Fatalf("mirror after: %+v", res.Start)
	}
	e.checkMirror(o, 5, "mirror at 5")
	if res := e.runSecondary(copyD); res.Start.Batch != 3 || res.Start.RemoteBatch != 5 || res.Status != "committed" {
		t.Fatalf("copy after: %+v", res.Start)
	}
	for _, ds := range []string{"entries", "tags"} {
		c.apply(ds, 3, o.liveAt(ds, 5))
	}
	e.checkCopy(c, 5, "copy at 5")
}

// TestSecondaryRefusals: a forensic secondary whose batch counter is already at or above the
// primary's committed batch (it used to ingest from the source) cannot mirror the primary's
// batch ids: StartBatch fails permanently and creates nothing; an ingest of a secondary's batch
// without state.remote fails permanently and is recorded failed.
func TestSecondaryRefusals(t *testing.T) {
	e := secondaryEnv(t)
	ctx := context.Background()
	e.load(ledgerStates[0])
	e.mustCycle(primaryD, ledger)

	if _, err := e.act.ReconcileTables(ctx, merge.ReconcileTablesInput{Platform: mirrorD, Version: e.v()}); err != nil {
		t.Fatal(err)
	}
	e.query(`INSERT INTO yellowmirror.yellowmirror_batch_counter (key, current_batch) VALUES ('Ledger', 7) RETURNING key`)
	_, err := e.act.StartBatch(ctx, merge.StartBatchInput{Platform: mirrorD, Stream: ledger, Version: e.v()})
	if err == nil || !merge.IsPermanent(err) || !strings.Contains(err.Error(), "committed batch 1 is not above the current batch 7") {
		t.Fatalf("forensic secondary behind its own counter: %v", err)
	}
	diff(t, "mirror batches", []string{}, e.query(`SELECT batch_id::text FROM yellowmirror.yellowmirror_batch_metrics`))

	if _, err := e.act.ReconcileTables(ctx, merge.ReconcileTablesInput{Platform: copyD, Version: e.v()}); err != nil {
		t.Fatal(err)
	}
	st, err := e.act.StartBatch(ctx, merge.StartBatchInput{Platform: copyD, Stream: ledger, Version: e.v()})
	if err != nil || st.Batch != 1 || st.RemoteBatch != 1 {
		t.Fatalf("copy start: %+v %v", st, err)
	}
	e.query(`UPDATE yellowcopy.yellowcopy_batch_metrics SET state = state - 'remote' WHERE key = 'Ledger' AND batch_id = 1 RETURNING key`)
	res, err := e.cycle(copyD, ledger)
	if err == nil || !merge.IsPermanent(err) || !strings.Contains(err.Error(), "records no primary batch") || res.Status != "failed" {
		t.Fatalf("ingest without state.remote: %v, status %s", err, res.Status)
	}
	diff(t, "copy batch", []string{"failed true"}, e.query(`SELECT batch_status || ' ' || (state->'error'->>'permanent') FROM yellowcopy.yellowcopy_batch_metrics WHERE batch_id = 1`))
}
