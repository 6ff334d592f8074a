package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/datasurface/datasurface/kit/pg"
	"github.com/datasurface/datasurface/kit/pgtest"
	"github.com/datasurface/datasurface/model/index"
	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/hashing"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/datasurface/datasurface/platforms/yellow/ytypes"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/ingest"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Shutdown()
	os.Exit(code)
}

const platform = "Test_DP"

// env is one test's source and merge databases (same cluster), the ingest service and the
// credentials it resolves (env store, variables in a map).
type env struct {
	t        testing.TB
	src      *pgx.Conn // superuser session on the source database
	merge    *pgx.Conn // superuser merge session (yellow.md §1 settings, search_path '')
	srcDB    string
	mergeDB  string
	port     int
	vars     map[string]string
	svc      *ingest.Service
	ms       layout.Milestoning
	keep     int32
	archived *modelv1.RawArchive
	// beforeCommit, when set, runs inside commit's transaction just before COMMIT.
	beforeCommit func()
}

func newEnv(t testing.TB) *env {
	t.Helper()
	srcDSN, mergeDSN := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	return envAt(t, srcDSN, mergeDSN)
}

// envAt is newEnv on existing source and merge databases (a crash test's child process).
func envAt(t testing.TB, srcDSN, mergeDSN string) *env {
	t.Helper()
	e := &env{t: t, ms: layout.LiveOnly, keep: 50, vars: map[string]string{
		"MERGE_USER": "postgres", "MERGE_PASSWORD": "",
		"SRC_USER": "postgres", "SRC_PASSWORD": "",
	}}
	sc, err := pgx.ParseConfig(srcDSN)
	if err != nil {
		t.Fatal(err)
	}
	mc, err := pgx.ParseConfig(mergeDSN)
	if err != nil {
		t.Fatal(err)
	}
	e.srcDB, e.mergeDB, e.port = sc.Database, mc.Database, int(sc.Port)
	e.src = connectCfg(t, sc, false)
	e.merge = connectCfg(t, mc, true)
	e.svc = e.service(ingest.Config{})
	return e
}

func (e *env) service(cfg ingest.Config) *ingest.Service { return e.serviceLog(cfg, nil) }

func serviceWithLog(e *env, log *slog.Logger) *ingest.Service {
	return e.serviceLog(ingest.Config{}, log)
}

func (e *env) serviceLog(cfg ingest.Config, log *slog.Logger) *ingest.Service {
	e.t.Helper()
	if cfg.SSLMode == "" {
		cfg.SSLMode = "disable"
	}
	svc, err := ingest.New(cfg, ingest.Deps{Log: log, Secrets: ingest.Credentials{LookupEnv: func(k string) (string, bool) {
		v, ok := e.vars[k]
		return v, ok
	}}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(svc.Close)
	return svc
}

func connectCfg(t testing.TB, cfg *pgx.ConnConfig, merge bool) *pgx.Conn {
	t.Helper()
	for k, v := range hashing.SessionSettings() {
		cfg.RuntimeParams[k] = v
	}
	if merge {
		cfg.RuntimeParams["search_path"] = ""
	}
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func (e *env) execSrc(sql string, args ...any) {
	e.t.Helper()
	if _, err := e.src.Exec(context.Background(), sql, args...); err != nil {
		e.t.Fatalf("source: %s: %v", sql, err)
	}
}

func (e *env) execMerge(sql string, args ...any) {
	e.t.Helper()
	if _, err := e.merge.Exec(context.Background(), sql, args...); err != nil {
		e.t.Fatalf("merge: %s: %v", sql, err)
	}
}

// ---------------------------------------------------------------------------------------------
// Model

func pgContainer(port int, db string) *modelv1.DataContainer {
	return &modelv1.DataContainer{Kind: &modelv1.DataContainer_Postgres{Postgres: &modelv1.HostDatabase{
		Host: "127.0.0.1", Port: int32(port), Database: db,
	}}}
}

func userPassword(name string) *modelv1.Credential {
	return &modelv1.Credential{Name: name, Type: modelv1.CredentialType_CREDENTIAL_TYPE_USER_PASSWORD}
}

var cron = &modelv1.Trigger{Kind: &modelv1.Trigger_Cron{Cron: "*/5 * * * *"}}

// snapshotStore is a datastore read with sqlSnapshot from the source database.
func (e *env) snapshotStore(name string, c modelv1.Consistency, tables map[string]string, ds ...*modelv1.Dataset) *modelv1.Datastore {
	return &modelv1.Datastore{Name: name, Zone: "Z", Team: "T", Datasets: ds,
		Capture: &modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_SqlSnapshot{SqlSnapshot: &modelv1.SqlSnapshotCapture{
			Container: pgContainer(e.port, e.srcDB), Credential: userPassword("SRC"), Consistency: c, Trigger: cron, SourceTables: tables,
		}}}}
}

// watermarkStore is a datastore read with sqlWatermark.
func (e *env) watermarkStore(name, column string, c modelv1.Consistency, ds ...*modelv1.Dataset) *modelv1.Datastore {
	return &modelv1.Datastore{Name: name, Zone: "Z", Team: "T", Datasets: ds,
		Capture: &modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_SqlWatermark{SqlWatermark: &modelv1.SqlWatermarkCapture{
			Container: pgContainer(e.port, e.srcDB), Credential: userPassword("SRC"), Consistency: c, Trigger: cron, WatermarkColumn: column,
		}}}}
}

// model is the ecosystem of a test: platform Test_DP (merge database of the env) and one
// workspace that reads every dataset of stores.
func (e *env) model(stores ...*modelv1.Datastore) *modelv1.Model {
	g := &modelv1.DatasetGroup{Name: "g", PlatformRequirements: &modelv1.PlatformRequirements{Milestoning: modelv1.Milestoning_MILESTONING_LIVE_ONLY}}
	for _, s := range stores {
		for _, d := range s.GetDatasets() {
			g.Sinks = append(g.Sinks, &modelv1.DatasetSink{Datastore: s.GetName(), Dataset: d.GetName()})
		}
	}
	ms := modelv1.PlatformMilestoning_PLATFORM_MILESTONING_LIVE_ONLY
	if e.ms == layout.Forensic {
		ms = modelv1.PlatformMilestoning_PLATFORM_MILESTONING_FORENSIC
	}
	return &modelv1.Model{
		Datastores: stores,
		Workspaces: []*modelv1.Workspace{{Name: "W", Zone: "Z", Team: "T", DatasetGroups: []*modelv1.DatasetGroup{g}}},
		Psps: []*modelv1.PlatformServicesProvider{{
			Name: "PSP", Locations: []string{"here"},
			CredentialStore: &modelv1.CredentialStore{Kind: &modelv1.CredentialStore_Env{Env: &modelv1.EnvCredentialStore{}}},
			Platforms: []*modelv1.DataPlatform{{Name: platform, Kind: &modelv1.DataPlatform_Yellow{Yellow: &modelv1.YellowPlatform{
				Milestoning: ms, StagingBatchesToKeep: e.keep,
				MergeDatabase: pgContainer(e.port, e.mergeDB), MergeCredential: userPassword("MERGE"),
				RawArchive: e.archived,
			}}}},
		}},
		Assignments: []*modelv1.DatasetGroupAssignment{{Workspace: "W", DatasetGroup: "g", Platforms: []*modelv1.PlatformAssignment{
			{Platform: platform, Status: modelv1.AssignmentStatus_ASSIGNMENT_STATUS_PROVISIONED},
		}}},
	}
}

// dataset builds a model dataset: columns "name type" (type a shorthand of the types below,
// "!" suffix = not nullable), key columns.
func dataset(name string, key []string, cols ...*modelv1.Column) *modelv1.Dataset {
	return &modelv1.Dataset{Name: name, PrimaryKey: key, Columns: cols}
}

func col(name string, dt *modelv1.DataType, nullable bool) *modelv1.Column {
	return &modelv1.Column{Name: name, Type: dt, Nullable: nullable}
}

func typ(name string) *modelv1.DataType { return &modelv1.DataType{Name: name} }

func sized(name string, n int64) *modelv1.DataType {
	return &modelv1.DataType{Name: name, MaxSize: proto.Int64(n)}
}

func decimal(p, s int32) *modelv1.DataType {
	return &modelv1.DataType{Name: "Decimal", Precision: p, Scale: s}
}

func timestamp(tz string) *modelv1.DataType {
	return &modelv1.DataType{Name: "Timestamp", TimeZone: tz}
}

func array(el *modelv1.DataType) *modelv1.DataType {
	return &modelv1.DataType{Name: "Array", ElementType: el}
}

// ---------------------------------------------------------------------------------------------
// Merge database: tables and batches (what the merge service does in steps 1, 2 and 4)

// stream is one stream of a model on the test platform.
type stream struct {
	key      string
	capture  layout.Capture
	datasets []layout.Dataset
}

func (e *env) streams(m *modelv1.Model) map[string]stream {
	e.t.Helper()
	out := map[string]stream{}
	for _, s := range m.GetDatastores() {
		c := index.CaptureOf(s)
		capture, err := layout.CaptureFor(c.Kind, false, e.ms)
		if err != nil {
			e.t.Fatal(err)
		}
		var all []layout.Dataset
		for _, d := range s.GetDatasets() {
			ld, err := layout.FromModel(s.GetName(), d, ytypes.Options{})
			if err != nil {
				e.t.Fatal(err)
			}
			all = append(all, ld)
		}
		for _, key := range index.StreamKeys(s) {
			st := stream{key: key, capture: capture}
			for _, d := range all {
				if key == s.GetName() || key == s.GetName()+"#"+d.Name {
					st.datasets = append(st.datasets, d)
				}
			}
			out[key] = st
		}
	}
	return out
}

// setup creates the platform schema, the bookkeeping tables and every dataset's tables.
func (e *env) setup(m *modelv1.Model) {
	e.t.Helper()
	ctx := context.Background()
	err := pg.InTx(ctx, e.merge, func(tx pgx.Tx) error {
		exists, _, err := ddl.ReadSchema(ctx, tx, naming.PlatformSchema(platform))
		if err != nil {
			return err
		}
		var stmts []string
		if !exists {
			s, err := ddl.CreateSchema(naming.PlatformSchema(platform), "", layout.SchemaComment(platform))
			if err != nil {
				return err
			}
			stmts = append(stmts, s...)
		}
		tables := layout.Bookkeeping(platform)
		for _, st := range e.streams(m) {
			for _, d := range st.datasets {
				tables = append(tables, layout.DatasetTables(platform, d, st.capture, e.ms)...)
			}
		}
		for _, tb := range tables {
			live, err := ddl.ReadTable(ctx, tx, tb.Name)
			if err != nil {
				return err
			}
			p, err := ddl.PlanTable(tb, live)
			if err != nil {
				return err
			}
			stmts = append(stmts, p.Statements...)
		}
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

var books = mergesql.BooksOf(platform)

func (e *env) startState(st stream) mergesql.State {
	s := mergesql.State{V: mergesql.StateVersion, ModelVersion: 1, Attempt: 1, Fingerprints: map[string]string{}}
	for _, d := range st.datasets {
		s.Datasets = append(s.Datasets, d.Name)
		s.Fingerprints[d.Name] = mergesql.Fingerprint(d)
	}
	return s
}

// open is step 2 of yellow.md §6.3 for stream key of m: a new batch after a committed one (or
// the first), else the current batch resumed as is.
func (e *env) open(m *modelv1.Model, key string) int32 {
	e.t.Helper()
	ctx := context.Background()
	st := e.streams(m)[key]
	var b int32
	err := pg.InTx(ctx, e.merge, func(tx pgx.Tx) error {
		if _, err := mergesql.Exec(ctx, tx, []mergesql.Stmt{books.EnsureCounter(key)}); err != nil {
			return err
		}
		lc := books.LockCounter(key)
		var cur int32
		if err := tx.QueryRow(ctx, lc.SQL, lc.Args...).Scan(&cur); err != nil {
			return err
		}
		status := mergesql.NoBatch
		if cur > 0 {
			bs := books.BatchState(key, cur, true)
			var s string
			if err := tx.QueryRow(ctx, bs.SQL, bs.Args...).Scan(&s, new([]byte)); err != nil {
				return err
			}
			status = mergesql.Status(s)
		}
		if status != mergesql.NoBatch && status != mergesql.Committed {
			b = cur
			return nil
		}
		b = cur + 1
		raw, err := e.startState(st).Marshal()
		if err != nil {
			return err
		}
		stmts := []mergesql.Stmt{books.StartBatch(key, b, raw), books.SetCounter(key, b)}
		if st.capture == layout.CDC {
			for _, d := range st.datasets {
				stmts = append(stmts, mergesql.TruncateCDCLoad(layout.CDCLoad(platform, d).Name))
			}
		}
		_, err = mergesql.Exec(ctx, tx, stmts)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// state reads the status and state of batch b.
func (e *env) state(key string, b int32) (mergesql.Status, mergesql.State) {
	e.t.Helper()
	bs := books.BatchState(key, b, false)
	var (
		s   string
		raw []byte
	)
	if err := e.merge.QueryRow(context.Background(), bs.SQL, bs.Args...).Scan(&s, &raw); err != nil {
		e.t.Fatal(err)
	}
	st, err := mergesql.ParseState(raw)
	if err != nil {
		e.t.Fatal(err)
	}
	return mergesql.Status(s), st
}

// restart sets batch b back to started keeping its state (a re-run of the same batch).
func (e *env) restart(key string, b int32) {
	e.t.Helper()
	_, st := e.state(key, b)
	raw, err := st.Marshal()
	if err != nil {
		e.t.Fatal(err)
	}
	rs := books.RestartBatch(key, b, raw)
	e.execMerge(rs.SQL, rs.Args...)
}

// commit is step 4: merge batch b and mark it committed with its state.
func (e *env) commit(m *modelv1.Model, key string, b int32) mergesql.Counts {
	e.t.Helper()
	ctx := context.Background()
	st := e.streams(m)[key]
	var total mergesql.Counts
	err := pg.InTx(ctx, e.merge, func(tx pgx.Tx) error {
		bs := books.BatchState(key, b, true)
		var (
			s   string
			raw []byte
		)
		if err := tx.QueryRow(ctx, bs.SQL, bs.Args...).Scan(&s, &raw); err != nil {
			return err
		}
		if mergesql.Status(s) != mergesql.Ingested {
			return fmt.Errorf("batch %d is %s", b, s)
		}
		for _, d := range st.datasets {
			target, err := mergesql.TargetOf(layout.Merge(platform, d, e.ms), layout.Staging(platform, d, st.capture))
			if err != nil {
				return err
			}
			mode, err := mergesql.ModeFor(st.capture, e.ms, false)
			if err != nil {
				return err
			}
			stmts, err := mergesql.Merge(target, mode, b)
			if err != nil {
				return err
			}
			c, err := mergesql.Exec(ctx, tx, stmts)
			if err != nil {
				return err
			}
			total.Add(c)
		}
		mc := books.MarkCommitted(key, b, total, raw)
		tag, err := tx.Exec(ctx, mc.SQL, mc.Args...)
		if err == nil && tag.RowsAffected() != 1 {
			err = errors.New("mark committed: no row")
		}
		if err == nil && e.beforeCommit != nil {
			e.beforeCommit()
		}
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return total
}

// ingest runs the activity for batch b of key.
func (e *env) ingest(ctx context.Context, m *modelv1.Model, key string, b int32) (ingest.IngestBatchResult, error) {
	return e.svc.Activities().IngestBatch(ctx, ingest.IngestBatchInput{Platform: platform, Stream: key, BatchID: b, ModelVersion: 1, Model: m})
}

// mustIngest ingests and fails the test on error.
func (e *env) mustIngest(m *modelv1.Model, key string, b int32) ingest.IngestBatchResult {
	e.t.Helper()
	res, err := e.ingest(context.Background(), m, key, b)
	if err != nil {
		e.t.Fatalf("ingest %s batch %d: %v", key, b, err)
	}
	return res
}

// ---------------------------------------------------------------------------------------------
// Staging checks

func stagingOf(d layout.Dataset, c layout.Capture) layout.Table {
	return layout.Staging(platform, d, c)
}

// stagingRows dumps staging(b) of d: every column as text, ordered by key hash and all hash.
func (e *env) stagingRows(d layout.Dataset, c layout.Capture, b int32) []string {
	e.t.Helper()
	st := stagingOf(d, c)
	var sel []string
	for _, name := range st.ColumnNames() {
		sel = append(sel, "coalesce(s."+ddl.Quote(name)+"::text, 'NULL')")
	}
	rows, err := e.merge.Query(context.Background(), "SELECT concat_ws(' | ', "+strings.Join(sel, ", ")+") FROM "+ddl.Ident(st.Name)+
		` s WHERE s."ds_surf_batch_id" = $1 ORDER BY s."ds_surf_key_hash", s."ds_surf_all_hash"`, b)
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

// badHashes counts staging rows of batch b whose hashes differ from the SQL form computed in
// the merge database (yellow.md §5).
func (e *env) badHashes(d layout.Dataset, c layout.Capture, b int32) (bad, total int64) {
	e.t.Helper()
	st := stagingOf(d, c)
	cols := ddl.HashColumns(st)
	all, err := hashing.AllHashSQL("s", cols)
	if err != nil {
		e.t.Fatal(err)
	}
	key, err := hashing.KeyHashSQL("s", cols, d.PrimaryKey)
	if err != nil {
		e.t.Fatal(err)
	}
	err = e.merge.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE s."ds_surf_all_hash" <> `+all+` OR s."ds_surf_key_hash" <> `+key+`), count(*)
		FROM `+ddl.Ident(st.Name)+` s WHERE s."ds_surf_batch_id" = $1`, b).Scan(&bad, &total)
	if err != nil {
		e.t.Fatal(err)
	}
	return bad, total
}

// hashDigest is sha256 over the ordered (key hash, all hash) pairs of staging(b).
func (e *env) hashDigest(d layout.Dataset, c layout.Capture, b int32) string {
	e.t.Helper()
	st := stagingOf(d, c)
	var digest string
	err := e.merge.QueryRow(context.Background(), `SELECT encode(sha256(coalesce(string_agg(s."ds_surf_key_hash" || s."ds_surf_all_hash", ''::bytea
		ORDER BY s."ds_surf_key_hash", s."ds_surf_all_hash"), ''::bytea)), 'hex') FROM `+ddl.Ident(st.Name)+` s WHERE s."ds_surf_batch_id" = $1`, b).Scan(&digest)
	if err != nil {
		e.t.Fatal(err)
	}
	return digest
}

// sourceDigest is hashDigest computed on the source with the SQL form over query (which must
// return the model columns cast to their physical types).
func (e *env) sourceDigest(d layout.Dataset, query string) string {
	e.t.Helper()
	cols := make([]hashing.Column, len(d.Columns))
	for i, c := range d.Columns {
		cols[i] = hashing.Column{Name: c.Name, Type: c.Type}
	}
	all, err := hashing.AllHashSQL("q", cols)
	if err != nil {
		e.t.Fatal(err)
	}
	key, err := hashing.KeyHashSQL("q", cols, d.PrimaryKey)
	if err != nil {
		e.t.Fatal(err)
	}
	var digest string
	err = e.src.QueryRow(context.Background(), `SELECT encode(sha256(coalesce(string_agg(h.k || h.a, ''::bytea ORDER BY h.k, h.a), ''::bytea)), 'hex')
		FROM (SELECT DISTINCT `+key+` AS k, `+all+` AS a FROM (`+query+`) q) h`).Scan(&digest)
	if err != nil {
		e.t.Fatal(err)
	}
	return digest
}

// stagedCount counts staging(b) of d.
func (e *env) stagedCount(d layout.Dataset, c layout.Capture, b int32) int64 {
	e.t.Helper()
	var n int64
	if err := e.merge.QueryRow(context.Background(), `SELECT count(*) FROM `+ddl.Ident(stagingOf(d, c).Name)+` WHERE "ds_surf_batch_id" = $1`, b).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// ingestErr asserts err is an *ingest.Error with the code, permanence and reason fragments.
func ingestErr(t testing.TB, err error, code ingest.ErrorCode, permanent bool, fragments ...string) {
	t.Helper()
	var ie *ingest.Error
	if !errors.As(err, &ie) {
		t.Fatalf("error %v (%T) is not an *ingest.Error", err, err)
	}
	if ie.Code != code || ie.Permanent != permanent {
		t.Errorf("error %q: code %s permanent %t; want %s %t", err, ie.Code, ie.Permanent, code, permanent)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not mention %q", err, f)
		}
	}
	if ingest.IsPermanent(err) != permanent {
		t.Errorf("IsPermanent = %t", !permanent)
	}
}

// retryBusy runs f until it does not fail with stream busy (a cancelled session's server
// process may hold the stream lock for a moment).
func retryBusy(t testing.TB, f func() error) error {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := f()
		var ie *ingest.Error
		if err == nil || !errors.As(err, &ie) || ie.Code != ingest.CodeStreamBusy || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}
