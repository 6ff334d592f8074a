package e2e_test

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/kit/modelbus"
	"github.com/datasurface/datasurface/kit/pgtest"
	"github.com/datasurface/datasurface/kit/run"
	"github.com/datasurface/datasurface/kit/server"
	"github.com/datasurface/datasurface/kit/temporalserver"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	schedulerv1 "github.com/datasurface/datasurface/proto/gen/datasurface/scheduler/v1"
	"github.com/datasurface/datasurface/proto/gen/datasurface/scheduler/v1/schedulerv1connect"
	"github.com/datasurface/datasurface/services/ingest"
	"github.com/datasurface/datasurface/services/merge"
	"github.com/datasurface/datasurface/services/scheduler"
	"github.com/datasurface/datasurface/services/security"
	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
)

// batchModel is the template of the test's model: one LIVE_ONLY Yellow platform "Live", one
// sqlSnapshot datastore "Shop" (dataset items, external trigger) and one workspace "Reports"
// with consumer e2e_reader. {{PORT}}, {{MERGEDB}} and {{SRCDB}} are the test cluster's.
const batchModel = "testdata/batchmodel"

// TestBatch is one batch through every service, all real and in-process: Postgres (a merge and
// a source database), NATS JetStream, the Temporal dev server, modelsvc and the validator, the
// scheduler (schedules, workflows, SchedulerService) and the Temporal workers of ingest, merge
// and security, wired as `datasurface serve` wires them. A model is pushed, the scheduler
// creates the stream's schedule, Trigger runs a batch, and batch 1 commits: the merge table
// and the workspace's live view hold the source rows.
func TestBatch(t *testing.T) {
	began := time.Now()

	// Postgres: the source database with a small table, the merge database, and the
	// workspace's consumer role (roles are per cluster).
	srcDSN, mergeDSN := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	execSQL(t, srcDSN,
		"CREATE TABLE public.items (id bigint PRIMARY KEY, label varchar(40) NOT NULL)",
		"INSERT INTO public.items VALUES (1, 'one'), (2, 'two'), (3, 'three')")
	src, merged := mustParse(t, srcDSN), mustParse(t, mergeDSN)
	mergeDB := strings.TrimPrefix(merged.Path, "/")
	execSQL(t, mergeDSN,
		createRole("e2e_reader", "NOLOGIN"),
		createRole("e2e_merge", "LOGIN"),
		createRole("e2e_security", "LOGIN CREATEROLE"),
		"GRANT CREATE, CONNECT ON DATABASE "+pgx.Identifier{mergeDB}.Sanitize()+" TO e2e_merge, e2e_security")
	dir := writeModel(t, map[string]string{
		"{{PORT}}":    merged.Port(),
		"{{MERGEDB}}": mergeDB,
		"{{SRCDB}}":   strings.TrimPrefix(src.Path, "/"),
	})
	// The PSP's env credential store (the test cluster trusts local logins, so passwords are
	// not checked): the merge and security logins are ordinary roles, as the security service
	// requires (a superuser merge login is reserved); the source login is the superuser.
	for c, user := range map[string]string{"E2E_MERGE": "e2e_merge", "E2E_SECURITY": "e2e_security", "E2E_SRC": src.User.Username()} {
		t.Setenv(c+"_USER", user)
		t.Setenv(c+"_PASSWORD", "unused")
	}

	// The control plane (NATS, modelsvc, validator) and Temporal.
	s := newStack(t)
	ts := temporalserver.StartForTest(t)
	log := slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	tc, err := client.Dial(client.Options{HostPort: ts.Addr, Namespace: temporalserver.DefaultNamespace,
		Logger: tlog.NewStructuredLogger(log.With("component", "temporal"))})
	if err != nil {
		t.Fatal(err)
	}

	// The scheduler and the activity workers, as `serve --service=scheduler,ingest,merge,security`.
	secrets := envSecrets{store: ingest.Credentials{LookupEnv: os.LookupEnv, ReadFile: os.ReadFile}}
	models := modelbus.NewReader(s.js)
	sched, err := scheduler.New(scheduler.Config{MergeDSN: mergeDSN, RetryInitial: 200 * time.Millisecond, RetryMax: time.Second, RetryAttempts: 3},
		scheduler.Deps{Temporal: tc, JS: s.js, Secrets: secrets, Log: log})
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
	sec, err := security.New(security.Config{}, security.Deps{JS: s.js, Secrets: security.CredentialStores(os.LookupEnv), Log: log})
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
	t.Cleanup(func() { // before the stack's and Temporal's clean-ups
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
	sc := schedulerv1connect.NewSchedulerServiceClient(http.DefaultClient, "http://"+addr)
	t.Logf("services started in %s", time.Since(began).Round(time.Millisecond))

	// Push and commit the model.
	p := s.push(ecoToken, ecoRepo, dir)
	if p.GetState() != modelv1.ProposalState_PROPOSAL_STATE_ACCEPTED {
		t.Fatalf("verdict: %s", describe(p))
	}

	// The scheduler reconciles it: the stream and its schedule appear.
	var stream string
	waitFor(t, 20*time.Second, "the scheduler to list the stream of Shop", func() bool {
		resp, err := sc.ListStreams(t.Context(), connect.NewRequest(&schedulerv1.ListStreamsRequest{Platform: "Live"}))
		if err != nil {
			return false
		}
		for _, st := range resp.Msg.GetStreams() {
			if st.GetDatastore() == "Shop" {
				stream = st.GetKey()
				return true
			}
		}
		return false
	})
	var trig *connect.Response[schedulerv1.TriggerResponse]
	waitFor(t, 20*time.Second, "Trigger of stream "+stream, func() bool {
		trig, err = sc.Trigger(t.Context(), connect.NewRequest(&schedulerv1.TriggerRequest{Platform: "Live", Stream: stream}))
		return err == nil
	})
	t.Logf("stream %s triggered (schedule %s) at %s", stream, trig.Msg.GetScheduleId(), time.Since(began).Round(time.Millisecond))

	// Batch 1 commits.
	var last *schedulerv1.GetStreamResponse
	deadline := time.Now().Add(40 * time.Second)
	for {
		resp, err := sc.GetStream(t.Context(), connect.NewRequest(&schedulerv1.GetStreamRequest{Platform: "Live", Stream: stream}))
		if err == nil {
			last = resp.Msg
			if b := last.GetBatches(); len(b) > 0 && b[len(b)-1].GetId() == 1 && b[len(b)-1].GetStatus() == schedulerv1.BatchStatus_BATCH_STATUS_COMMITTED {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("batch 1 of %s not committed within 40 s: last GetStream %v (err %v)", stream, last, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("batch 1 committed at %s: %v", time.Since(began).Round(time.Millisecond), last.GetBatches()[len(last.GetBatches())-1])

	// The triggered BatchWorkflow completes (views and grants after the commit).
	wctx, wcancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer wcancel()
	desc, err := tc.ScheduleClient().GetHandle(wctx, trig.Msg.GetScheduleId()).Describe(wctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.Info.RecentActions) != 1 || desc.Info.RecentActions[0].StartWorkflowResult == nil {
		t.Fatalf("schedule %s recent actions %+v, want the one triggered batch", trig.Msg.GetScheduleId(), desc.Info.RecentActions)
	}
	wid := desc.Info.RecentActions[0].StartWorkflowResult.WorkflowID
	if err := tc.GetWorkflow(wctx, wid, "").Get(wctx, nil); err != nil {
		t.Fatalf("workflow %s: %v", wid, err)
	}
	t.Logf("workflow %s completed at %s", wid, time.Since(began).Round(time.Millisecond))

	// The merge table and the workspace's live view hold the source rows.
	want := []string{"1 one", "2 two", "3 three"}
	conn, err := pgx.Connect(t.Context(), mergeDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	table := findRelation(t, conn, "BASE TABLE", "%items%merge%")
	if got := rowsOf(t, conn, table); !slices.Equal(got, want) {
		t.Errorf("merge table %s rows %q, want %q", table, got, want)
	}
	view := findRelation(t, conn, "VIEW", "%items%")
	if got := rowsOf(t, conn, view); !slices.Equal(got, want) {
		t.Errorf("live view %s rows %q, want %q", view, got, want)
	}
	// The security service made the workspace's consumer able to read the view.
	if _, err := conn.Exec(t.Context(), "SET ROLE e2e_reader"); err != nil {
		t.Fatal(err)
	}
	if got := rowsOf(t, conn, view); !slices.Equal(got, want) {
		t.Errorf("live view %s as consumer e2e_reader: rows %q, want %q", view, got, want)
	}
	if _, err := conn.Exec(t.Context(), "RESET ROLE"); err != nil {
		t.Fatal(err)
	}
	t.Logf("merge table %s, live view %s; total %s", table, view, time.Since(began).Round(time.Millisecond))
}

// createRole is a statement creating role name with options unless it exists (roles belong to
// the cluster, which all tests of the binary share).
func createRole(name, options string) string {
	return fmt.Sprintf("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '%s') THEN CREATE ROLE %s %s; END IF; END $$", name, name, options)
}

// execSQL runs statements on the database of dsn.
func execSQL(t *testing.T, dsn string, stmts ...string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, q := range stmts {
		if _, err := conn.Exec(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func mustParse(t *testing.T, dsn string) *url.URL {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// writeModel copies the model template to a new directory with the placeholders replaced.
func writeModel(t *testing.T, vars map[string]string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(batchModel, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		content := string(b)
		for k, v := range vars {
			content = strings.ReplaceAll(content, k, v)
		}
		rel, _ := filepath.Rel(batchModel, p)
		out := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, []byte(content), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// findRelation returns the one user relation of the kind whose name is like pattern, quoted.
func findRelation(t *testing.T, conn *pgx.Conn, kind, pattern string) string {
	t.Helper()
	rows, err := conn.Query(t.Context(), `SELECT table_schema, table_name FROM information_schema.tables
		WHERE table_type = $1 AND table_name LIKE $2 AND table_schema NOT IN ('pg_catalog', 'information_schema')`, kind, pattern)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for rows.Next() {
		var schema, name string
		if err := rows.Scan(&schema, &name); err != nil {
			t.Fatal(err)
		}
		found = append(found, pgx.Identifier{schema, name}.Sanitize())
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 {
		t.Fatalf("relations of type %s like %q: %q, want one", kind, pattern, found)
	}
	return found[0]
}

// rowsOf returns "id label" of every row of rel, sorted by id.
func rowsOf(t *testing.T, conn *pgx.Conn, rel string) []string {
	t.Helper()
	rows, err := conn.Query(t.Context(), "SELECT id, label FROM "+rel+" ORDER BY id")
	if err != nil {
		t.Fatalf("read %s: %v", rel, err)
	}
	var out []string
	for rows.Next() {
		var id int64
		var label string
		if err := rows.Scan(&id, &label); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d %s", id, label))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// envSecrets resolves credentials through the PSP's credential store, for ingest (Resolve),
// merge and the scheduler (UserPassword), as serve's runBatchSecrets does.
type envSecrets struct{ store ingest.Credentials }

func (s envSecrets) Resolve(ctx context.Context, store *modelv1.CredentialStore, cred *modelv1.Credential) (ingest.Secret, error) {
	return s.store.Resolve(ctx, store, cred)
}

func (s envSecrets) UserPassword(ctx context.Context, store *modelv1.CredentialStore, name string) (string, string, error) {
	sec, err := s.Resolve(ctx, store, &modelv1.Credential{Name: name, Type: modelv1.CredentialType_CREDENTIAL_TYPE_USER_PASSWORD})
	return sec.User, sec.Password, err
}

// tworker runs a Temporal worker until ctx ends, as serve's temporalWorker.
type tworker struct {
	w     worker.Worker
	close func()
}

func (t *tworker) Register(*server.Server) {}

func (t *tworker) Run(ctx context.Context) error {
	if t.close != nil {
		defer t.close()
	}
	if err := t.w.Start(); err != nil {
		return err
	}
	<-ctx.Done()
	t.w.Stop()
	return nil
}
