package ingest_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/ingest"
)

// twoDatasets is a multi-dataset store: a (always fine) and b (broken by each case).
func (e *env) twoDatasets() *modelv1.Model {
	a := dataset("a", []string{"id"}, col("id", typ("Integer"), false), col("name", typ("VarChar"), true))
	b := dataset("b", []string{"id"}, col("id", typ("Integer"), false), col("name", typ("VarChar"), true), col("qty", typ("Integer"), true))
	return e.model(e.snapshotStore("Store1", modelv1.Consistency_CONSISTENCY_MULTI_DATASET, nil, a, b))
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	return port
}

// TestSourceFailures: every broken source fails the batch with the right typed error and a
// precise reason, and leaves nothing staged for the batch (dataset a was copied first and
// rolled back) and the batch started.
func TestSourceFailures(t *testing.T) {
	tests := []struct {
		name      string
		source    string // SQL creating b (a is always created)
		change    func(e *env, m *modelv1.Model)
		code      ingest.ErrorCode
		permanent bool
		reason    []string
	}{
		{
			name: "missing table", code: ingest.CodeSourceTableMissing, permanent: true,
			reason: []string{"dataset Store1.b", `source table "b" does not exist`, "search_path"},
		},
		{
			name:   "missing columns",
			source: `CREATE TABLE b (id int, "Name" text)`, code: ingest.CodeColumnMissing, permanent: true,
			reason: []string{`source table "public"."b" has no columns "name" (the source has "Name"; column names are case-sensitive), "qty"`},
		},
		{
			name:   "incompatible type",
			source: `CREATE TABLE b (id int, name text, qty date); INSERT INTO b VALUES (1, 'x', '2020-01-01')`, code: ingest.CodeColumnType, permanent: true,
			reason: []string{`column "qty" of type date cannot be read as integer`, "cannot cast type date to integer"},
		},
		{
			name:   "value not castable",
			source: `CREATE TABLE b (id int, name text, qty text); INSERT INTO b VALUES (1, 'x', '7'), (2, 'y', 'abc')`, code: ingest.CodeValueCast, permanent: true,
			reason: []string{`column "qty": a value of type text cannot be cast to integer`, `invalid input syntax for type integer: "abc"`},
		},
		{
			name:   "value out of range",
			source: `CREATE TABLE b (id bigint, name text, qty int); INSERT INTO b VALUES (1, 'x', 1), (5000000000, 'y', 2)`, code: ingest.CodeValueCast, permanent: true,
			reason: []string{`column "id": a value of type bigint cannot be cast to integer`, "integer out of range"},
		},
		{
			name: "null key",
			source: `CREATE TABLE b (id int, name text, qty int);
				INSERT INTO b SELECT g, 'n' || g, g FROM generate_series(1, 1000) g;
				INSERT INTO b VALUES (NULL, 'x', 1), (NULL, 'y', 2), (NULL, 'z', 3)`,
			code: ingest.CodeNullKey, permanent: true,
			reason: []string{"3 rows have NULL in a primary-key column (id)", `e.g. id=\N`},
		},
		{
			name: "duplicate keys",
			source: `CREATE TABLE b (id int, name text, qty int);
				INSERT INTO b SELECT g, 'n' || g, g FROM generate_series(1, 1000) g;
				INSERT INTO b VALUES (7, 'again', 1), (9, 'again', 1), (9, 'and again', 2)`,
			code: ingest.CodeDuplicateKey, permanent: true,
			reason: []string{"2 keys occur more than once (5 rows)", "e.g. key (id) = [7]", "key hash "},
		},
		{
			name:   "unreachable source",
			source: `CREATE TABLE b (id int, name text, qty int)`,
			change: func(e *env, m *modelv1.Model) {
				m.GetDatastores()[0].GetCapture().GetSqlSnapshot().Container = pgContainer(freePort(e.t.(*testing.T)), e.srcDB)
			},
			code: ingest.CodeSourceUnreachable, permanent: false, reason: []string{"connect to the source database 127.0.0.1:"},
		},
		{
			name:   "source login refused",
			source: `CREATE TABLE b (id int, name text, qty int)`,
			change: func(e *env, _ *modelv1.Model) { e.vars["SRC_USER"] = "nobody" },
			code:   ingest.CodeSourceLogin, permanent: true, reason: []string{`role "nobody" does not exist`},
		},
		{
			name:   "credential missing",
			source: `CREATE TABLE b (id int, name text, qty int)`,
			change: func(e *env, _ *modelv1.Model) { delete(e.vars, "SRC_PASSWORD") },
			code:   ingest.CodeCredential, permanent: true, reason: []string{`resolve credential "SRC" of the source database`, "SRC_PASSWORD", "secret not found"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.execSrc(`CREATE TABLE a (id int, name text); INSERT INTO a SELECT g, 'a' || g FROM generate_series(1, 500) g`)
			if tt.source != "" {
				e.execSrc(tt.source)
			}
			m := e.twoDatasets()
			e.setup(m)
			b := e.open(m, "Store1")
			if tt.change != nil {
				tt.change(e, m)
			}
			_, err := e.ingest(context.Background(), m, "Store1", b)
			t.Logf("error: %v", err)
			ingestErr(t, err, tt.code, tt.permanent, tt.reason...)
			if status, _ := e.state("Store1", b); status != mergesql.Started {
				t.Errorf("status after a failed ingest = %s, want started", status)
			}
			for _, d := range e.streams(m)["Store1"].datasets {
				if n := e.stagedCount(d, layout.Snapshot, b); n != 0 {
					t.Errorf("dataset %s: %d rows left in staging", d.Name, n)
				}
			}
			state := ingest.ErrorState(err, time.Now())
			if state.Phase != "ingest" || state.Permanent != tt.permanent || state.Message != err.Error() {
				t.Errorf("ErrorState = %+v", state)
			}
		})
	}
}

// TestFixedSourceRecovers: after a permanent failure the producer fixes the source and the same
// batch ingests.
func TestFixedSourceRecovers(t *testing.T) {
	e := newEnv(t)
	e.execSrc(`CREATE TABLE a (id int, name text); INSERT INTO a VALUES (1, 'x')`)
	e.execSrc(`CREATE TABLE b (id int, name text, qty int); INSERT INTO b VALUES (1, 'x', 1), (NULL, 'y', 2)`)
	m := e.twoDatasets()
	e.setup(m)
	b := e.open(m, "Store1")
	_, err := e.ingest(context.Background(), m, "Store1", b)
	ingestErr(t, err, ingest.CodeNullKey, true, "1 rows have NULL")
	e.execSrc(`DELETE FROM b WHERE id IS NULL`)
	res := e.mustIngest(m, "Store1", b)
	if res.Rows["a"] != 1 || res.Rows["b"] != 1 {
		t.Errorf("rows = %v", res.Rows)
	}
}

// TestBatchPreconditions: the batch must exist, be started (not failed) and have been started
// under the current schema; the stream lock must be free.
func TestBatchPreconditions(t *testing.T) {
	e := newEnv(t)
	e.execSrc(`CREATE TABLE a (id int, name text); CREATE TABLE b (id int, name text, qty int)`)
	m := e.twoDatasets()
	e.setup(m)
	ctx := context.Background()

	_, err := e.ingest(ctx, m, "Store1", 1)
	ingestErr(t, err, ingest.CodeBatchState, true, "batch 1 of stream Store1 does not exist")

	b := e.open(m, "Store1")
	other := connectCfg(t, e.merge.Config().Copy(), true)
	lock := mergesql.TryLockStream(platform, "Store1")
	var ok bool
	if err := other.QueryRow(ctx, lock.SQL, lock.Args...).Scan(&ok); err != nil || !ok {
		t.Fatalf("lock: %v %v", ok, err)
	}
	_, err = e.ingest(ctx, m, "Store1", b)
	ingestErr(t, err, ingest.CodeStreamBusy, false, "stream busy")
	unlock := mergesql.UnlockStream(platform, "Store1")
	if _, err := other.Exec(ctx, unlock.SQL, unlock.Args...); err != nil {
		t.Fatal(err)
	}

	_, st := e.state("Store1", b)
	raw, _ := st.Marshal()
	fail := books.MarkFailed("Store1", b, raw)
	e.execMerge(fail.SQL, fail.Args...)
	_, err = e.ingest(ctx, m, "Store1", b)
	ingestErr(t, err, ingest.CodeBatchState, true, "is failed")

	st.Fingerprints["b"] = "sha256:old"
	raw, _ = st.Marshal()
	rs := books.RestartBatch("Store1", b, raw)
	e.execMerge(rs.SQL, rs.Args...)
	_, err = e.ingest(ctx, m, "Store1", b)
	ingestErr(t, err, ingest.CodeBatchState, true, "started under another schema")

	_, err = e.ingest(ctx, m, "Nope", b)
	ingestErr(t, err, ingest.CodeModel, true, `platform "Test_DP" has no ingestion stream "Nope"`)
}

// TestStagingNotReconciled: a staging table without a model column (reconcile not run) is a
// permanent staging error.
func TestStagingNotReconciled(t *testing.T) {
	e := newEnv(t)
	e.execSrc(`CREATE TABLE a (id int, name text, extra int); INSERT INTO a VALUES (1, 'x', 2); CREATE TABLE b (id int, name text, qty int)`)
	m := e.twoDatasets()
	e.setup(m)
	ds := m.GetDatastores()[0].GetDatasets()[0]
	ds.Columns = append(ds.Columns, col("extra", typ("Integer"), true))
	b := e.open(m, "Store1")
	_, st := e.state("Store1", b)
	st.Fingerprints = e.startState(e.streams(m)["Store1"]).Fingerprints
	raw, _ := st.Marshal()
	rs := books.RestartBatch("Store1", b, raw)
	e.execMerge(rs.SQL, rs.Args...)
	_, err := e.ingest(context.Background(), m, "Store1", b)
	ingestErr(t, err, ingest.CodeStaging, true, "dataset Store1.a", "does not match the model", `"extra"`)
}
