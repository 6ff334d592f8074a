package e2e_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/kit/modelbus"
	"github.com/datasurface/datasurface/kit/opsbus"
	"github.com/datasurface/datasurface/kit/pgtest"
	"github.com/datasurface/datasurface/kit/run"
	"github.com/datasurface/datasurface/kit/server"
	"github.com/datasurface/datasurface/kit/temporalserver"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	schedulerv1 "github.com/datasurface/datasurface/proto/gen/datasurface/scheduler/v1"
	"github.com/datasurface/datasurface/proto/gen/datasurface/scheduler/v1/schedulerv1connect"
	"github.com/datasurface/datasurface/services/ingest"
	"github.com/datasurface/datasurface/services/merge"
	"github.com/datasurface/datasurface/services/scheduler"
	"github.com/datasurface/datasurface/services/security"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/proto"
)

// flowEnv is the batch test's world: Postgres (a source database, one or two merge databases,
// the roles), the control plane, Temporal, and the scheduler with the real ingest, merge and
// security workers, all in-process. The scheduler reads each platform's batches from the
// model's merge database with its credential (no Config.MergeDSN), as in production.
type flowEnv struct {
	t      *testing.T
	s      *stack
	tc     client.Client
	sc     schedulerv1connect.SchedulerServiceClient
	srcDSN string
	merge  []string // merge database DSNs: platform Live, then Live2
	dir    string   // the model directory (the batch model with its placeholders replaced)
}

// newFlowEnv starts everything for the batch model with mergeDBs merge databases and returns
// before anything is pushed.
func newFlowEnv(t *testing.T, mergeDBs int) *flowEnv {
	t.Helper()
	e := &flowEnv{t: t, srcDSN: pgtest.NewDatabase(t)}
	execSQL(t, e.srcDSN,
		"CREATE TABLE public.items (id bigint PRIMARY KEY, label varchar(40) NOT NULL)",
		"INSERT INTO public.items VALUES (1, 'one'), (2, 'two'), (3, 'three')")
	execSQL(t, e.srcDSN, createRole("e2e_reader", "NOLOGIN"), createRole("e2e_merge", "LOGIN"), createRole("e2e_security", "LOGIN CREATEROLE"))
	vars := map[string]string{"{{SRCDB}}": strings.TrimPrefix(mustParse(t, e.srcDSN).Path, "/")}
	for i := range mergeDBs {
		dsn := pgtest.NewDatabase(t)
		u := mustParse(t, dsn)
		db := strings.TrimPrefix(u.Path, "/")
		execSQL(t, dsn, "GRANT CREATE, CONNECT ON DATABASE "+pgx.Identifier{db}.Sanitize()+" TO e2e_merge, e2e_security")
		e.merge = append(e.merge, dsn)
		vars["{{PORT}}"] = u.Port()
		if i == 0 {
			vars["{{MERGEDB}}"] = db
		} else {
			vars[fmt.Sprintf("{{MERGEDB%d}}", i+1)] = db
		}
	}
	e.dir = writeModel(t, vars)
	for c, user := range map[string]string{"E2E_MERGE": "e2e_merge", "E2E_SECURITY": "e2e_security", "E2E_SRC": mustParse(t, e.srcDSN).User.Username()} {
		t.Setenv(c+"_USER", user)
		t.Setenv(c+"_PASSWORD", "unused")
	}

	e.s = newStack(t)
	ts := temporalserver.StartForTest(t)
	log := slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	tc, err := client.Dial(client.Options{HostPort: ts.Addr, Namespace: temporalserver.DefaultNamespace,
		Logger: tlog.NewStructuredLogger(log.With("component", "temporal"))})
	if err != nil {
		t.Fatal(err)
	}
	e.tc = tc
	secrets := envSecrets{store: ingest.Credentials{LookupEnv: os.LookupEnv, ReadFile: os.ReadFile}}
	models := modelbus.NewReader(e.s.js)
	sched, err := scheduler.New(scheduler.Config{RetryInitial: 200 * time.Millisecond, RetryMax: time.Second, RetryAttempts: 3},
		scheduler.Deps{Temporal: tc, JS: e.s.js, Secrets: secrets, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ing, err := ingest.New(ingest.Config{}, ingest.Deps{Log: log, Models: models, Secrets: secrets})
	if err != nil {
		t.Fatal(err)
	}
	mrg, err := merge.New(merge.Config{}, merge.Deps{Log: log, Models: models, Secrets: secrets})
	if err != nil {
		t.Fatal(err)
	}
	sec, err := security.New(security.Config{}, security.Deps{JS: e.s.js, Secrets: security.CredentialStores(os.LookupEnv), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New("127.0.0.1:0", log)
	sched.Register(srv)
	sec.Register(srv)
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan error, 1)
	go func() {
		done <- run.Group(ctx, sched, sec, srv,
			&tworker{w: ingest.NewTemporalWorker(tc, ing.Activities(), worker.Options{})},
			&tworker{w: merge.NewTemporalWorker(tc, mrg.Activities(), worker.Options{}), close: mrg.Close},
			&tworker{w: security.NewTemporalWorker(tc, sec.Activities(), worker.Options{})})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("services stopped with %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("services did not stop within 20 s")
		}
		tc.Close()
	})
	actx, acancel := context.WithTimeout(ctx, 10*time.Second)
	addr, err := srv.Addr(actx)
	acancel()
	if err != nil {
		t.Fatalf("server did not listen: %v", err)
	}
	e.sc = schedulerv1connect.NewSchedulerServiceClient(http.DefaultClient, "http://"+addr)
	return e
}

// edit rewrites model file rel (relative to the model directory) with replace's old → new
// pairs, each of which must match.
func (e *flowEnv) edit(rel string, pairs ...string) {
	e.t.Helper()
	p := filepath.Join(e.dir, rel)
	b, err := os.ReadFile(p)
	if err != nil {
		e.t.Fatal(err)
	}
	s := string(b)
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			e.t.Fatalf("%s has no %q", rel, pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// commit pushes the model directory and returns the committed version.
func (e *flowEnv) commit() int64 {
	e.t.Helper()
	p := e.s.push(ecoToken, ecoRepo, e.dir)
	if p.GetState() != modelv1.ProposalState_PROPOSAL_STATE_ACCEPTED || p.GetVersion() == 0 {
		e.t.Fatalf("verdict: %s", describe(p))
	}
	return p.GetVersion()
}

// reconciled waits for platform d's ReconcileWorkflow of version v to complete and returns the
// PlatformReconciled event it published.
func (e *flowEnv) reconciled(d string, v int64) *eventsv1.PlatformReconciled {
	e.t.Helper()
	id := fmt.Sprintf("reconcile/%s/v%d", d, v)
	ctx, cancel := context.WithTimeout(e.t.Context(), 60*time.Second)
	defer cancel()
	var run client.WorkflowRun
	waitFor(e.t, 30*time.Second, "workflow "+id+" to start", func() bool {
		_, err := e.tc.DescribeWorkflowExecution(ctx, id, "")
		if err == nil {
			run = e.tc.GetWorkflow(ctx, id, "")
		}
		return err == nil
	})
	if err := run.Get(ctx, nil); err != nil {
		e.t.Fatalf("workflow %s: %v", id, err)
	}
	st, err := e.s.js.Stream(ctx, opsbus.Stream)
	if err != nil {
		e.t.Fatal(err)
	}
	m, err := st.GetLastMsgForSubject(ctx, opsbus.SubjectPlatform+d+".reconciled")
	if err != nil {
		e.t.Fatalf("no ds.platform.%s.reconciled event: %v", d, err)
	}
	ev := &eventsv1.PlatformReconciled{}
	if err := proto.Unmarshal(m.Data, ev); err != nil {
		e.t.Fatal(err)
	}
	if ev.GetModelVersion() != v || m.Header.Get(jetstream.MsgIDHeader) != fmt.Sprintf("%s/reconciled/v%d", d, v) {
		e.t.Fatalf("last ds.platform.%s.reconciled is version %d (id %q), want %d", d, ev.GetModelVersion(), m.Header.Get(jetstream.MsgIDHeader), v)
	}
	return ev
}

// stream waits for the scheduler to list datastore Shop's stream on platform d.
func (e *flowEnv) stream(d string) string {
	e.t.Helper()
	var key string
	waitFor(e.t, 30*time.Second, "the scheduler to list the stream of Shop on "+d, func() bool {
		resp, err := e.sc.ListStreams(e.t.Context(), connect.NewRequest(&schedulerv1.ListStreamsRequest{Platform: d}))
		if err != nil {
			return false
		}
		for _, st := range resp.Msg.GetStreams() {
			if st.GetDatastore() == "Shop" {
				key = st.GetKey()
				return true
			}
		}
		return false
	})
	return key
}

// batch triggers stream k of platform d and waits until batch n is committed and its workflow
// (views and grants after the commit) has completed.
func (e *flowEnv) batch(d, k string, n int32) {
	e.t.Helper()
	t := e.t
	var trig *connect.Response[schedulerv1.TriggerResponse]
	var err error
	waitFor(t, 20*time.Second, "Trigger of "+k, func() bool {
		trig, err = e.sc.Trigger(t.Context(), connect.NewRequest(&schedulerv1.TriggerRequest{Platform: d, Stream: k}))
		return err == nil
	})
	var last *schedulerv1.GetStreamResponse
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := e.sc.GetStream(t.Context(), connect.NewRequest(&schedulerv1.GetStreamRequest{Platform: d, Stream: k}))
		if err == nil {
			last = resp.Msg
			// Batches are listed newest first.
			if b := last.GetBatches(); len(b) > 0 && b[0].GetId() == n {
				if b[0].GetStatus() == schedulerv1.BatchStatus_BATCH_STATUS_COMMITTED {
					break
				}
				if b[0].GetStatus() == schedulerv1.BatchStatus_BATCH_STATUS_FAILED {
					t.Fatalf("batch %d of %s failed: %v", n, k, b[0])
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("batch %d of %s/%s not committed within 60 s: last GetStream %v (err %v)", n, d, k, last, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var wid string
	waitFor(t, 20*time.Second, "the schedule's recent action of batch "+fmt.Sprint(n), func() bool {
		desc, err := e.tc.ScheduleClient().GetHandle(ctx, trig.Msg.GetScheduleId()).Describe(ctx)
		if err != nil || len(desc.Info.RecentActions) == 0 {
			return false
		}
		a := desc.Info.RecentActions[len(desc.Info.RecentActions)-1]
		if a.StartWorkflowResult == nil {
			return false
		}
		wid = a.StartWorkflowResult.WorkflowID
		return true
	})
	if err := e.tc.GetWorkflow(ctx, wid, "").Get(ctx, nil); err != nil {
		t.Fatalf("workflow %s: %v", wid, err)
	}
}

// query returns the rows of q on the merge database of dsn, as the role (none: the superuser),
// each row its columns joined by " " (NULL as "∅").
func query(t *testing.T, dsn, role, q string) ([]string, error) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if role != "" {
		if _, err := conn.Exec(t.Context(), "SET ROLE "+pgx.Identifier{role}.Sanitize()); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := conn.Query(t.Context(), q)
	if err != nil {
		return nil, err
	}
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			if v == nil {
				parts[i] = "∅"
			} else {
				parts[i] = fmt.Sprint(v)
			}
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out, rows.Err()
}

func mustQuery(t *testing.T, dsn, role, q string) []string {
	t.Helper()
	out, err := query(t, dsn, role, q)
	if err != nil {
		t.Fatalf("%s (as %q): %v", q, role, err)
	}
	return out
}

// columns returns "name type" of rel's columns in order (rel is schema.name, quoted).
func columns(t *testing.T, dsn, rel string) []string {
	t.Helper()
	return mustQuery(t, dsn, "", `SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
		WHERE a.attrelid = '`+strings.ReplaceAll(rel, "'", "''")+`'::regclass AND a.attnum > 0 AND NOT a.attisdropped
		  AND a.attname NOT LIKE 'ds_surf_%' ORDER BY a.attnum`)
}

// relation returns the one relation of kind like pattern on dsn, quoted ("" when none).
func relation(t *testing.T, dsn, kind, pattern string) string {
	t.Helper()
	got := mustQuery(t, dsn, "", `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables
		WHERE table_type = '`+kind+`' AND table_name LIKE '`+pattern+`' AND table_schema NOT IN ('pg_catalog', 'information_schema')`)
	if len(got) > 1 {
		t.Fatalf("relations of type %s like %q: %q, want at most one", kind, pattern, got)
	}
	if len(got) == 0 {
		return ""
	}
	return got[0]
}

// TestSchemaChangeFlows: a dataset holding data gains a nullable column, then a column is
// widened. Each commit's ReconcileWorkflow alters the merge table, reconciles the views and
// applies the grants before any further batch runs — the consumer sees the new column (NULL for
// the rows merged before) — and the next batch merges the source's new values; the platform's
// ds.platform.Live.reconciled event names the table change.
func TestSchemaChangeFlows(t *testing.T) {
	e := newFlowEnv(t, 1)
	mergeDSN := e.merge[0]
	e.commit()
	k := e.stream("Live")
	e.batch("Live", k, 1)
	table := relation(t, mergeDSN, "BASE TABLE", "%items%merge%")
	view := relation(t, mergeDSN, "VIEW", "%items%view_live")
	if table == "" || view == "" {
		t.Fatalf("merge table %q, live view %q after batch 1", table, view)
	}

	// (a) A nullable column is added, in the source and in the model.
	execSQL(t, e.srcDSN, "ALTER TABLE public.items ADD COLUMN price numeric(10,2)", "UPDATE public.items SET price = id * 1.5")
	e.edit("zones/z/teams/t/datastores/Shop.yaml",
		"        - {name: label, type: VarChar(40), nullable: false}\n",
		"        - {name: label, type: VarChar(40), nullable: false}\n        - {name: price, type: 'Decimal(10,2)', nullable: true}\n")
	v2 := e.commit()
	ev := e.reconciled("Live", v2)
	if !slices.ContainsFunc(ev.GetTables(), func(tr *eventsv1.TableReconciled) bool {
		return slices.Contains(tr.GetAddedColumns(), "price") && strings.Contains(tr.GetTable(), "items_merge")
	}) {
		t.Errorf("reconciled event of v%d: tables %v, want price added to the merge table", v2, ev.GetTables())
	}
	if !ev.GetViewsChanged() || ev.GetDuration().AsDuration() <= 0 {
		t.Errorf("reconciled event of v%d: views changed %t, duration %v", v2, ev.GetViewsChanged(), ev.GetDuration().AsDuration())
	}
	// Before the next batch: the table and the view have the column, the consumer reads it.
	wantCols := []string{"id bigint", "label character varying(40)", "price numeric(10,2)"}
	if got := columns(t, mergeDSN, table); !slices.Equal(got, wantCols) {
		t.Errorf("merge table columns after v%d: %q, want %q", v2, got, wantCols)
	}
	if got := columns(t, mergeDSN, view); !slices.Equal(got, wantCols) {
		t.Errorf("view columns after v%d: %q, want %q", v2, got, wantCols)
	}
	want := []string{"1 one ∅", "2 two ∅", "3 three ∅"}
	if got := mustQuery(t, mergeDSN, "e2e_reader", "SELECT id, label, price::text FROM "+view+" ORDER BY id"); !slices.Equal(got, want) {
		t.Errorf("view as e2e_reader before batch 2: %q, want %q", got, want)
	}
	e.batch("Live", k, 2)
	want = []string{"1 one 1.50", "2 two 3.00", "3 three 4.50"}
	if got := mustQuery(t, mergeDSN, "e2e_reader", "SELECT id, label, price::text FROM "+view+" ORDER BY id"); !slices.Equal(got, want) {
		t.Errorf("view as e2e_reader after batch 2: %q, want %q", got, want)
	}

	// (b) label is widened to VarChar(80); a label longer than 40 arrives.
	long := strings.Repeat("x", 60)
	execSQL(t, e.srcDSN, "ALTER TABLE public.items ALTER COLUMN label TYPE varchar(80)", "UPDATE public.items SET label = '"+long+"' WHERE id = 2")
	e.edit("zones/z/teams/t/datastores/Shop.yaml", "{name: label, type: VarChar(40), nullable: false}", "{name: label, type: VarChar(80), nullable: false}")
	v3 := e.commit()
	ev = e.reconciled("Live", v3)
	if !slices.ContainsFunc(ev.GetTables(), func(tr *eventsv1.TableReconciled) bool {
		return len(tr.GetWidenedColumns()) == 1 && strings.HasPrefix(tr.GetWidenedColumns()[0], "label") && strings.Contains(tr.GetTable(), "items_merge")
	}) {
		t.Errorf("reconciled event of v%d: tables %v, want label widened on the merge table", v3, ev.GetTables())
	}
	wantCols = []string{"id bigint", "label character varying(80)", "price numeric(10,2)"}
	if got := columns(t, mergeDSN, table); !slices.Equal(got, wantCols) {
		t.Errorf("merge table columns after v%d: %q, want %q", v3, got, wantCols)
	}
	if got := columns(t, mergeDSN, view); !slices.Equal(got, wantCols) {
		t.Errorf("view columns after v%d: %q, want %q", v3, got, wantCols)
	}
	want = []string{"1 one 1.50", "2 two 3.00", "3 three 4.50"}
	if got := mustQuery(t, mergeDSN, "e2e_reader", "SELECT id, label, price::text FROM "+view+" ORDER BY id"); !slices.Equal(got, want) {
		t.Errorf("view as e2e_reader after the widening, before batch 3: %q, want %q", got, want)
	}
	e.batch("Live", k, 3)
	want = []string{"1 one 1.50", "2 " + long + " 3.00", "3 three 4.50"}
	if got := mustQuery(t, mergeDSN, "e2e_reader", "SELECT id, label, price::text FROM "+view+" ORDER BY id"); !slices.Equal(got, want) {
		t.Errorf("view as e2e_reader after batch 3: %q, want %q", got, want)
	}
}

// livePlatform2 is a second LIVE_ONLY platform on its own merge database.
const livePlatform2 = `    - name: Live2
      documentation: Second live-only platform
      yellow:
        milestoning: LIVE_ONLY
        mergeDatabase:
          postgres:
            name: merge_pg2
            host: 127.0.0.1
            port: {{PORT}}
            database: {{MERGEDB2}}
            locations:
              - Local:Here
        mergeCredential:
          name: E2E_MERGE
          type: USER_PASSWORD
        securityCredential:
          name: E2E_SECURITY
          type: USER_PASSWORD
`

// TestWorkspaceMoveFlow: workspace Reports moves from platform Live to platform Live2 (its
// assignment on Live is decommissioned, one on Live2 provisioned). The scheduler deletes Live's
// schedule of the stream (data kept: the merge table stays) and creates Live2's; Live's
// reconcile drops the workspace's views and Live2's creates them, with the consumer's grants;
// Live2's first batch fills the view the consumer reads.
func TestWorkspaceMoveFlow(t *testing.T) {
	e := newFlowEnv(t, 2)
	live, live2 := e.merge[0], e.merge[1]
	port := mustParse(t, live2).Port()
	b, err := os.ReadFile(filepath.Join(e.dir, "ecosystem/platforms.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p2 := strings.ReplaceAll(strings.ReplaceAll(livePlatform2, "{{PORT}}", port), "{{MERGEDB2}}", strings.TrimPrefix(mustParse(t, live2).Path, "/"))
	if err := os.WriteFile(filepath.Join(e.dir, "ecosystem/platforms.yaml"), append(b, p2...), 0o644); err != nil {
		t.Fatal(err)
	}
	v1 := e.commit()
	k := e.stream("Live")
	e.reconciled("Live", v1)
	e.reconciled("Live2", v1)
	e.batch("Live", k, 1)
	view := relation(t, live, "VIEW", "%items%view_live")
	want := []string{"1 one", "2 two", "3 three"}
	if got := mustQuery(t, live, "e2e_reader", "SELECT id, label FROM "+view+" ORDER BY id"); !slices.Equal(got, want) {
		t.Fatalf("Live view as e2e_reader: %q, want %q", got, want)
	}
	if v := relation(t, live2, "VIEW", "%items%"); v != "" {
		t.Fatalf("Live2 has view %s before the move", v)
	}

	// The move.
	e.edit("ecosystem/assignments.yaml",
		"        - platform: Live\n          status: PROVISIONED\n",
		"        - platform: Live\n          status: DECOMMISSIONED\n        - platform: Live2\n          status: PROVISIONED\n")
	v2 := e.commit()
	old, moved := e.reconciled("Live", v2), e.reconciled("Live2", v2)
	// (Live's views may go with the workspace schema the security step drops, and Live2's new
	// views are granted through the default privileges of their schema: the catalog and the
	// consumer's reads below are what count.)
	if !slices.Equal(old.GetStreamsDeleted(), []string{k}) {
		t.Errorf("Live reconciled at v%d: streams deleted %v, want [%s]", v2, old.GetStreamsDeleted(), k)
	}
	if !slices.Equal(moved.GetStreamsCreated(), []string{k}) || !moved.GetViewsChanged() {
		t.Errorf("Live2 reconciled at v%d: streams created %v, views changed %t; want [%s], true",
			v2, moved.GetStreamsCreated(), moved.GetViewsChanged(), k)
	}
	st, err := e.s.js.Stream(t.Context(), opsbus.Stream)
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.GetLastMsgForSubject(t.Context(), opsbus.SubjectPlatform+"Live.stream.removed")
	if err != nil {
		t.Fatalf("no ds.platform.Live.stream.removed: %v", err)
	}
	removed := &eventsv1.StreamRemoved{}
	if err := proto.Unmarshal(m.Data, removed); err != nil {
		t.Fatal(err)
	}
	if removed.GetStream() != k || !removed.GetDataKept() || removed.GetModelVersion() != v2 {
		t.Errorf("stream removed event %v", removed)
	}

	// Live: the views are gone, the data is kept. Live2: the view exists and is granted before
	// any batch ran there (empty), then holds the rows after Live2's first batch.
	if v := relation(t, live, "VIEW", "%items%"); v != "" {
		t.Errorf("Live still has view %s after the move", v)
	}
	if got := mustQuery(t, live, "", "SELECT id, label FROM "+relation(t, live, "BASE TABLE", "%items%merge%")+" ORDER BY id"); !slices.Equal(got, want) {
		t.Errorf("Live merge table after the move: %q, want %q (data kept)", got, want)
	}
	view2 := relation(t, live2, "VIEW", "%items%view_live")
	if view2 == "" {
		t.Fatal("Live2 has no live view after the move")
	}
	if got := mustQuery(t, live2, "e2e_reader", "SELECT id, label FROM "+view2+" ORDER BY id"); len(got) != 0 {
		t.Errorf("Live2 view before its first batch: %q, want no rows", got)
	}
	if k2 := e.stream("Live2"); k2 != k {
		t.Fatalf("Live2 stream %q, want %q", k2, k)
	}
	e.batch("Live2", k, 1)
	if got := mustQuery(t, live2, "e2e_reader", "SELECT id, label FROM "+view2+" ORDER BY id"); !slices.Equal(got, want) {
		t.Errorf("Live2 view as e2e_reader after its batch 1: %q, want %q", got, want)
	}
	resp, err := e.sc.ListStreams(t.Context(), connect.NewRequest(&schedulerv1.ListStreamsRequest{Platform: "Live"}))
	if err == nil && len(resp.Msg.GetStreams()) != 0 {
		t.Errorf("Live still lists streams %v after the move", resp.Msg.GetStreams())
	}
}
