package merge_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/datasurface/datasurface/kit/pgtest"
	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/ingest"
	"github.com/datasurface/datasurface/services/merge"
	"github.com/datasurface/datasurface/services/merge/internal/mergedb"
	"github.com/datasurface/datasurface/services/merge/internal/mergetest"
	"github.com/datasurface/datasurface/services/merge/internal/platform"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Shutdown()
	os.Exit(code)
}

// models is the committed model history of a test.
type models struct {
	mu sync.Mutex
	m  map[int64]*modelv1.Model
}

func (ms *models) Model(_ context.Context, v int64, _ string) (*modelv1.Model, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	m, ok := ms.m[v]
	if !ok {
		return nil, fmt.Errorf("model version %d not found", v)
	}
	return m, nil
}

// trustSecrets logs in as the test cluster's superuser (trust authentication).
type trustSecrets struct{}

func (trustSecrets) UserPassword(context.Context, *modelv1.CredentialStore, string) (string, string, error) {
	return "postgres", "unused", nil
}

// env is one test's source and merge databases, model history and merge activities.
type env struct {
	t        testing.TB
	opts     mergetest.Options
	version  int64
	models   *models
	act      *merge.Activities
	src      *pgx.Conn
	mrg      *pgx.Conn
	srcDSN   string
	mergeDSN string
	ingest   func(e *env, platform, stream string) merge.Ingest
	ing      *ingest.Activities
}

func newEnv(t testing.TB, cfg merge.Config) *env {
	t.Helper()
	return envAt(t, cfg, pgtest.NewDatabase(t), pgtest.NewDatabase(t))
}

// envAt is newEnv on existing merge and source databases (a crash test's child process).
func envAt(t testing.TB, cfg merge.Config, mergeDSN, srcDSN string) *env {
	t.Helper()
	e := &env{t: t, models: &models{m: map[int64]*modelv1.Model{}}, ingest: realIngest}
	e.mergeDSN, e.srcDSN = mergeDSN, srcDSN
	mu, _ := url.Parse(e.mergeDSN)
	su, _ := url.Parse(e.srcDSN)
	port, _ := strconv.Atoi(mu.Port())
	e.opts = mergetest.Options{Host: mu.Hostname(), Port: port, MergeDB: strings.TrimPrefix(mu.Path, "/"), SourceDB: strings.TrimPrefix(su.Path, "/")}
	e.setModel(e.opts)
	svc, err := merge.New(cfg, merge.Deps{Models: e.models, Secrets: trustSecrets{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	e.act = svc.Activities()
	e.src = connect(t, e.srcDSN, false)
	e.mrg = connect(t, e.mergeDSN, true)
	return e
}

func connect(t testing.TB, dsn string, merge bool) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if merge {
		for k, v := range mergedb.SessionParams() {
			cfg.RuntimeParams[k] = v
		}
	}
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// setModel commits a new model version built from o (the database placement is kept).
func (e *env) setModel(o mergetest.Options) {
	e.t.Helper()
	o.Host, o.Port, o.MergeDB, o.SourceDB = e.opts.Host, e.opts.Port, e.opts.MergeDB, e.opts.SourceDB
	e.opts = o
	m := mergetest.Load(e.t, o)
	e.models.mu.Lock()
	e.version++
	e.models.m[e.version] = m
	e.models.mu.Unlock()
}

func (e *env) platform(d string) *platform.Platform {
	e.t.Helper()
	m, _ := e.models.Model(context.Background(), e.version, "")
	p, err := platform.Build(m, d)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// sql runs statements on the source database.
func (e *env) sql(stmts ...string) {
	e.t.Helper()
	for _, s := range stmts {
		if _, err := e.src.Exec(context.Background(), s); err != nil {
			e.t.Fatalf("%s: %v", s, err)
		}
	}
}

// cycle runs one whole batch of a stream as run-batch does.
func (e *env) cycle(d, stream string) (merge.CycleResult, error) {
	e.t.Helper()
	return e.act.RunCycle(context.Background(), merge.CycleInput{Platform: d, Stream: stream, Version: e.v()}, e.ingest(e, d, stream))
}

// mustCycle runs a batch that must commit.
func (e *env) mustCycle(d, stream string) merge.CycleResult {
	e.t.Helper()
	res, err := e.cycle(d, stream)
	if err != nil {
		e.t.Fatalf("batch of %s on %s: %v", stream, d, err)
	}
	if res.Status != "committed" {
		e.t.Fatalf("batch of %s on %s ended %s", stream, d, res.Status)
	}
	return res
}

// query returns the rows of q on the merge database, each row's columns as text joined by
// blanks (NULL for NULL).
func (e *env) query(q string, args ...any) []string {
	e.t.Helper()
	rows, err := e.mrg.Query(context.Background(), q, args...)
	if err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			e.t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = text(v)
		}
		out = append(out, strings.Join(parts, " "))
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func text(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case []byte:
		return fmt.Sprintf("%x", x)
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

// dump renders merge table t: model columns as text then [batch] (live-only) or [in,out] with
// L for live (forensic), ordered by the model columns and batch_in.
func (e *env) dump(t layout.Table) []string {
	e.t.Helper()
	var sel, ord []string
	for _, c := range t.ModelColumnNames() {
		sel = append(sel, "coalesce(m."+ddl.Quote(c)+"::text, 'NULL')")
		ord = append(ord, "m."+ddl.Quote(c))
	}
	tail := `'[' || m."ds_surf_batch_id" || ']'`
	if t.Milestoning == layout.Forensic {
		tail = `'[' || m."ds_surf_batch_in" || ',' || CASE WHEN m."ds_surf_batch_out" = 2147483647 THEN 'L' ELSE m."ds_surf_batch_out"::text END || ']'`
		ord = append(ord, `m."ds_surf_batch_in"`)
	}
	return e.query("SELECT concat_ws(' ', " + strings.Join(sel, ", ") + ", " + tail + ") FROM " + ddl.Ident(t.Name) + " m ORDER BY " + strings.Join(ord, ", "))
}

// view renders every row of a view, its columns as text in view order (NULL for NULL), sorted.
func (e *env) view(n naming.Name) []string {
	e.t.Helper()
	var sel []string
	for _, c := range e.query(`SELECT a.attname::text FROM pg_catalog.pg_attribute a
		WHERE a.attrelid = $1::regclass AND a.attnum > 0 ORDER BY a.attnum`, ddl.Ident(n)) {
		sel = append(sel, "coalesce(v."+ddl.Quote(c)+"::text, 'NULL')")
	}
	if len(sel) == 0 {
		e.t.Fatalf("view %s has no columns", n)
	}
	return e.query("SELECT concat_ws(' ', " + strings.Join(sel, ", ") + ") FROM " + ddl.Ident(n) + " v ORDER BY 1")
}

// exists reports whether relation n exists.
func (e *env) exists(n naming.Name) bool {
	e.t.Helper()
	return e.query("SELECT to_regclass($1) IS NOT NULL", ddl.Ident(n))[0] == "true"
}

// viewColumns lists a view's columns in order.
func (e *env) viewColumns(n naming.Name) []string {
	e.t.Helper()
	return e.query(`SELECT a.attname::text || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a
		WHERE a.attrelid = $1::regclass AND a.attnum > 0 ORDER BY a.attnum`, ddl.Ident(n))
}

// metrics returns "status inserted/updated/deleted total" of batch b of stream k.
func (e *env) metrics(d, k string, b int32) string {
	e.t.Helper()
	got := e.query(`SELECT batch_status || ' ' || coalesce(records_inserted, -1) || '/' || coalesce(records_updated, -1) || '/' ||
		coalesce(records_deleted, -1) || ' ' || coalesce(total_records, -1) FROM `+ddl.Ident(naming.BatchMetrics(d))+` WHERE key = $1 AND batch_id = $2`, k, b)
	if len(got) != 1 {
		e.t.Fatalf("metrics of batch %d of %s: %v", b, k, got)
	}
	return got[0]
}

// checkForensic checks the invariants of yellow.md §9 on a forensic merge table.
func (e *env) checkForensic(t layout.Table) {
	e.t.Helper()
	m := ddl.Ident(t.Name)
	for what, q := range map[string]string{
		"more than one live version of a key": `SELECT count(*) FROM (SELECT 1 FROM ` + m + ` WHERE "ds_surf_batch_out" = 2147483647 GROUP BY "ds_surf_key_hash" HAVING count(*) > 1) x`,
		"overlapping versions": `SELECT count(*) FROM ` + m + ` a JOIN ` + m + ` b ON a."ds_surf_key_hash" = b."ds_surf_key_hash" AND a."ds_surf_batch_in" < b."ds_surf_batch_in"
			WHERE a."ds_surf_batch_out" >= b."ds_surf_batch_in"`,
		"batch_in > batch_out": `SELECT count(*) FROM ` + m + ` WHERE "ds_surf_batch_in" > "ds_surf_batch_out"`,
	} {
		if got := e.query(q); got[0] != "0" {
			e.t.Errorf("forensic invariant broken: %s (%s)", what, got[0])
		}
	}
}

func diff(t testing.TB, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

// v is the current model version as activity inputs name it.
func (e *env) v() merge.Version { return merge.Version{ModelVersion: e.version} }
