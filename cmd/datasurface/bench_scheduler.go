package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/kit/natsserver"
	"github.com/datasurface/datasurface/kit/opsbus"
	"github.com/datasurface/datasurface/kit/pgcluster"
	"github.com/datasurface/datasurface/kit/temporalserver"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	schedulerv1 "github.com/datasurface/datasurface/proto/gen/datasurface/scheduler/v1"
	"github.com/datasurface/datasurface/proto/gen/datasurface/scheduler/v1/schedulerv1connect"
	"github.com/datasurface/datasurface/services/scheduler/benchsched"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"google.golang.org/protobuf/proto"
)

// Targets of the scheduler issue.
const (
	schedReconcileStreams = 1000
	schedReconcileLimit   = 30 * time.Second
	schedPushBatchLimit   = 5 * time.Second
	// schedRestartLimit bounds the reconcile of a restarted scheduler over an unchanged model
	// (the start-up reconcile, which gates its readiness): one ListSchedules pass (1,000
	// schedules a page, their fingerprints in reconcile.SpecAttribute), no per-schedule call.
	// It takes well under a second; 5 s leaves room for a loaded machine yet fails if the
	// reconciler goes back to describing every schedule (1,000 describes took 11.6 s at load 3).
	schedRestartLimit = 5 * time.Second
	// schedStreamsEnv overrides the number of streams of the reconcile figure (a quick run;
	// the limit is for 1,000).
	schedStreamsEnv = "DATASURFACE_BENCH_STREAMS"
)

func init() {
	benchSuites["scheduler"] = benchSuite{
		summary: "scheduler: one commit adding 1,000 streams reconciled against the Temporal dev server (in memory, then on a SQLite file), and the latency from `datasurface push` of a model adding a 10-row datastore to its first committed batch, every service in this process (own PostgreSQL, NATS, Temporal)",
		run:     benchScheduler,
	}
}

func benchScheduler(ctx context.Context, c *cli, o benchOptions) error {
	w := c.stdout
	streams := schedReconcileStreams
	if v := os.Getenv(schedStreamsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return usageErrorf("bench scheduler: %s=%q is not a number of streams", schedStreamsEnv, v)
		}
		streams = n
	}
	loadBefore := loadAverage()
	fmt.Fprintf(w, "bench scheduler: %d streams from one commit; push → first committed batch of a 10-row datastore\n", streams)
	ok := true
	for _, persist := range []bool{false, true} {
		if streams == 0 {
			break
		}
		name, store := fmt.Sprintf("reconcile %d streams (memory)", streams), "in memory"
		if persist {
			name, store = fmt.Sprintf("reconcile %d streams (sqlite)", streams), "on a SQLite file"
		}
		var best benchsched.ReconcileResult
		var restart time.Duration
		described := 0
		for i := range o.runs {
			res, err := benchReconcile(ctx, filepath.Join(o.root, fmt.Sprintf("temporal-%t-%d", persist, i)), persist, streams)
			if err != nil {
				return cannotRun(fmt.Errorf("bench scheduler: %w", err))
			}
			fmt.Fprintf(w, "    Temporal %s, run %d: created %s, same commit again %s, fresh reconciler %s (%d described), restarted scheduler %s (%d described; listing complete %s after), removed %s (model load %s, %d schedule calls in flight; 0 = default 16)\n",
				store, i+1, res.Created.Round(time.Millisecond), res.Again.Round(time.Millisecond), res.Fresh.Round(time.Millisecond), res.FreshDescribed,
				res.Restart.Round(time.Millisecond), res.RestartDescribed, res.Listed.Round(time.Millisecond),
				res.Deleted.Round(time.Millisecond), res.Load.Round(time.Millisecond), res.Concurrency)
			if i == 0 || res.Created < best.Created {
				best = res
			}
			if i == 0 || res.Restart < restart {
				restart = res.Restart
			}
			described = max(described, res.RestartDescribed)
		}
		ok = benchLine(w, name, best.Created.Seconds(), schedReconcileLimit.Seconds(), "s") && ok
		rname := fmt.Sprintf("restart reconcile, %d unchanged streams (%s)", streams, map[bool]string{false: "memory", true: "sqlite"}[persist])
		ok = benchLine(w, rname, restart.Seconds(), schedRestartLimit.Seconds(), "s") && ok
		if described > 0 {
			fmt.Fprintf(w, "    the restarted scheduler described %d unchanged schedules one by one (want none)\n", described)
			ok = false
		}
	}
	lat, err := benchPushToBatch(ctx, c, o)
	if err != nil {
		return cannotRun(fmt.Errorf("bench scheduler: %w", err))
	}
	fmt.Fprintf(w, "    push → accepted %s, → schedule created %s, → triggered %s, → batch committed %s\n",
		lat.accepted.Round(time.Millisecond), lat.scheduled.Round(time.Millisecond), lat.triggered.Round(time.Millisecond), lat.committed.Round(time.Millisecond))
	ok = benchLine(w, "push → first committed batch", lat.committed.Seconds(), schedPushBatchLimit.Seconds(), "s") && ok
	fmt.Fprintf(w, "  (GOMAXPROCS=%d%s at the start, %s at the end; Temporal is the dev server (temporal server start-dev); the original's pods take about 40 s per batch)\n",
		runtime.GOMAXPROCS(0), loadBefore, strings.TrimPrefix(loadAverage(), "; load average "))
	if !ok {
		return &exitError{Code: exitProblems}
	}
	return nil
}

// benchReconcile starts a Temporal dev server of its own on dir (in memory, or persisted in a
// SQLite file) and measures the commit adding streams against it.
func benchReconcile(ctx context.Context, dir string, persist bool, streams int) (benchsched.ReconcileResult, error) {
	ts, err := temporalserver.Start(ctx, temporalserver.Options{Dir: dir, Persist: persist})
	if err != nil {
		return benchsched.ReconcileResult{}, fmt.Errorf("temporal: %w", err)
	}
	defer func() { _ = ts.Stop(context.WithoutCancel(ctx)) }()
	tc, err := client.Dial(client.Options{HostPort: ts.Addr, Namespace: temporalserver.DefaultNamespace,
		Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		return benchsched.ReconcileResult{}, fmt.Errorf("temporal client: %w", err)
	}
	defer tc.Close()
	return benchsched.Reconcile(ctx, tc, streams, 0)
}

// pushLatency are the moments after the push started at which the pushed model was accepted,
// the new stream's schedule was announced (ds.platform.<platform>.stream.schedule.changed), the
// stream was triggered and its batch 1 committed.
type pushLatency struct {
	accepted, scheduled, triggered, committed time.Duration
}

// Names of the push bench's world.
const (
	benchSchedPlatform = "Bench"
	benchSchedRepo     = "acme/bench-model@eco"
	benchSchedToken    = "bench-token-0123456789"
)

// benchSchedFiles are the model of the push bench: the base (ecosystem, platform, zone and team
// with the source container) and, added by the measured push, the 10-row datastore Shop, the
// workspace Reports reading it and its assignment to the platform. {{PORT}}, {{MERGEDB}} and
// {{SRCDB}} are the bench cluster's.
var benchSchedFiles = map[string]string{
	"ecosystem.yaml": `apiVersion: datasurface/v1
kind: Ecosystem
metadata: {name: Bench}
spec:
  owningRepo: acme/bench-model@eco
  liveRepo: acme/bench-model@main
  documentation: Scheduler bench
  vendors:
    - name: Local
      documentation: Local machine
      cloudVendor: PRIVATE
      locations: [{name: Here}]
  zones:
    - {name: Z, owningRepo: acme/bench-model@eco}
`,
	"platforms.yaml": `apiVersion: datasurface/v1
kind: PlatformServicesProvider
metadata: {name: Core}
spec:
  documentation: Bench PSP
  locations: ["Local:Here"]
  credentialStore: {env: {}}
  platforms:
    - name: Bench
      documentation: Live-only platform
      yellow:
        milestoning: LIVE_ONLY
        mergeDatabase:
          postgres: {name: merge_pg, host: 127.0.0.1, port: {{PORT}}, database: {{MERGEDB}}, locations: ["Local:Here"]}
        mergeCredential: {name: BENCH_MERGE, type: USER_PASSWORD}
        securityCredential: {name: BENCH_SECURITY, type: USER_PASSWORD}
`,
	"z/zone.yaml": `apiVersion: datasurface/v1
kind: GovernanceZone
metadata: {name: Z}
spec:
  documentation: Bench zone
  teams:
    - {name: T, owningRepo: acme/bench-model@eco}
`,
	"z/t/team.yaml": `apiVersion: datasurface/v1
kind: Team
metadata: {name: T, zone: Z}
spec:
  documentation: Bench team
  containers:
    - postgres: {name: src_pg, host: 127.0.0.1, port: {{PORT}}, database: {{SRCDB}}, locations: ["Local:Here"]}
`,
}

// benchSchedAdded are the files the measured push adds.
var benchSchedAdded = map[string]string{
	"assignments.yaml": `apiVersion: datasurface/v1
kind: PlatformAssignments
metadata: {name: default}
spec:
  datasetGroups:
    - workspace: Reports
      datasetGroup: main
      platforms:
        - {platform: Bench, status: PROVISIONED, productionStatus: PRODUCTION}
`,
	"z/t/shop.yaml": `apiVersion: datasurface/v1
kind: Datastore
metadata: {name: Shop, zone: Z, team: T}
spec:
  documentation: The 10-row source
  productionStatus: PRODUCTION
  capture:
    sqlSnapshot:
      container: {ref: src_pg}
      credential: {name: BENCH_SRC, type: USER_PASSWORD}
      consistency: SINGLE_DATASET
      trigger: {external: {}}
      sourceTables: {items: public.items}
  datasets:
    - name: items
      documentation: Items
      classifications: [PUB]
      primaryKey: [id]
      columns:
        - {name: id, type: BigInt, nullable: false}
        - {name: label, type: VarChar(40), nullable: false}
`,
	"z/t/reports.yaml": `apiVersion: datasurface/v1
kind: Workspace
metadata: {name: Reports, zone: Z, team: T}
spec:
  documentation: Reports
  productionStatus: PRODUCTION
  access:
    consumers: [reports_reader]
    approvedClassifications: [PUB]
  datasetGroups:
    - name: main
      documentation: Items
      platformRequirements: {milestoning: LIVE_ONLY, latency: MINUTES}
      sinks:
        - {datastore: Shop, dataset: items}
`,
}

// benchPushToBatch starts PostgreSQL, NATS, the Temporal dev server (in memory) and all six
// services in this process (as `datasurface serve` runs them), pushes the base model, waits for
// its reconcile, then measures the push of the model adding the 10-row datastore: `datasurface
// push` (the CLI's code path against modelsvc) → verdict → the scheduler's schedule of the new
// stream (its ds.platform event) → Trigger (SchedulerService, as `datasurface streams trigger`)
// → batch 1 committed (GetStream, polled every 10 ms).
func benchPushToBatch(ctx context.Context, c *cli, o benchOptions) (pushLatency, error) {
	var lat pushLatency
	cl, err := pgcluster.Open(ctx, filepath.Join(o.root, "pg"), pgcluster.Options{})
	if err != nil {
		return lat, fmt.Errorf("PostgreSQL: %w", err)
	}
	if err := cl.Start(ctx); err != nil {
		return lat, fmt.Errorf("start PostgreSQL: %w", err)
	}
	defer func() { _ = cl.Stop(context.WithoutCancel(ctx)) }()
	if err := benchSchedDatabases(ctx, cl); err != nil {
		return lat, err
	}
	ns, err := natsserver.Start(natsserver.Options{Dir: filepath.Join(o.root, "nats")})
	if err != nil {
		return lat, fmt.Errorf("NATS: %w", err)
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	ts, err := temporalserver.Start(ctx, temporalserver.Options{Dir: filepath.Join(o.root, "temporal-push")})
	if err != nil {
		return lat, fmt.Errorf("temporal: %w", err)
	}
	defer func() { _ = ts.Stop(context.WithoutCancel(ctx)) }()

	env := map[string]string{
		"BENCH_MERGE_USER": "sched_merge", "BENCH_MERGE_PASSWORD": "unused",
		"BENCH_SECURITY_USER": "sched_security", "BENCH_SECURITY_PASSWORD": "unused",
		"BENCH_SRC_USER": "postgres", "BENCH_SRC_PASSWORD": "unused",
	}
	getenv := func(k string) string { return env[k] }
	addrc := make(chan string, 1)
	cfg := serveConfig{
		Listen: "127.0.0.1:0", NATS: ns.ClientURL(), Database: cl.DSN("bench_control"),
		Temporal: ts.Addr, TemporalNamespace: temporalserver.DefaultNamespace,
		tokens: map[string]string{benchSchedRepo: benchSchedToken}, listening: func(a string) { addrc <- a },
	}
	specs, err := selectServices([]string{"modelsvc", "validator", "scheduler", "ingest", "merge", "security"})
	if err != nil {
		return lat, err
	}
	log := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	sctx, scancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- runServices(sctx, cfg, specs, log, getenv) }()
	defer func() {
		scancel()
		select {
		case err := <-done:
			if err != nil {
				fmt.Fprintf(c.stderr, "bench scheduler: the services stopped with %v\n", err)
			}
		case <-time.After(30 * time.Second):
			fmt.Fprintln(c.stderr, "bench scheduler: the services did not stop within 30 s")
		}
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		return lat, fmt.Errorf("services: %w", err)
	case <-time.After(60 * time.Second):
		return lat, fmt.Errorf("the services did not listen within 60 s")
	}
	base := "http://" + addr

	// The bench's own view of the OPS stream (ds.platform.Bench.>).
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		return lat, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return lat, err
	}
	if err := opsbus.DeclareStream(ctx, js); err != nil {
		return lat, err
	}
	platformEvents := make(chan *nats.Msg, 64)
	sub, err := nc.ChanSubscribe(opsbus.SubjectPlatform+benchSchedPlatform+".>", platformEvents)
	if err != nil {
		return lat, err
	}
	defer func() { _ = sub.Unsubscribe() }()

	// The base model, and its reconcile (the platform's roles and schemas made), unmeasured.
	dir := filepath.Join(o.root, "model")
	vars := map[string]string{"{{PORT}}": strconv.Itoa(cl.Port), "{{MERGEDB}}": "bench_merge", "{{SRCDB}}": "bench_src"}
	if err := writeBenchModel(dir, benchSchedFiles, vars); err != nil {
		return lat, err
	}
	// modelsvc answers Unavailable until it has replayed the (empty) committed history.
	for began := time.Now(); ; {
		err := benchSchedPush(ctx, c, base, dir)
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "unavailable") || time.Since(began) > 60*time.Second {
			return lat, fmt.Errorf("push the base model: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := awaitPlatformEvent(ctx, platformEvents, "reconciled", 60*time.Second); err != nil {
		return lat, fmt.Errorf("reconcile of the base model: %w", err)
	}

	// The measured push.
	if err := writeBenchModel(dir, benchSchedAdded, vars); err != nil {
		return lat, err
	}
	sc := schedulerv1connect.NewSchedulerServiceClient(http.DefaultClient, base)
	start := time.Now()
	if err := benchSchedPush(ctx, c, base, dir); err != nil {
		return lat, fmt.Errorf("push the model adding Shop: %w", err)
	}
	lat.accepted = time.Since(start)
	ev, err := awaitPlatformEvent(ctx, platformEvents, "stream.schedule.changed", 30*time.Second)
	if err != nil {
		return lat, fmt.Errorf("the schedule of Shop: %w", err)
	}
	lat.scheduled = time.Since(start)
	changed := &eventsv1.StreamScheduleChanged{}
	if err := proto.Unmarshal(ev.Data, changed); err != nil {
		return lat, err
	}
	stream := changed.GetStream()
	if _, err := sc.Trigger(ctx, connect.NewRequest(&schedulerv1.TriggerRequest{Platform: benchSchedPlatform, Stream: stream})); err != nil {
		return lat, fmt.Errorf("trigger %s: %w", stream, err)
	}
	lat.triggered = time.Since(start)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := sc.GetStream(ctx, connect.NewRequest(&schedulerv1.GetStreamRequest{Platform: benchSchedPlatform, Stream: stream}))
		if err == nil {
			if b := resp.Msg.GetBatches(); len(b) > 0 && b[0].GetId() == 1 {
				switch b[0].GetStatus() {
				case schedulerv1.BatchStatus_BATCH_STATUS_COMMITTED:
					lat.committed = time.Since(start)
					if b[0].GetInserted() != 10 {
						return lat, fmt.Errorf("batch 1 of %s inserted %d rows, want 10", stream, b[0].GetInserted())
					}
					return lat, nil
				case schedulerv1.BatchStatus_BATCH_STATUS_FAILED:
					return lat, fmt.Errorf("batch 1 of %s failed: %v", stream, b[0].GetError())
				}
			}
		}
		if time.Now().After(deadline) {
			if err != nil {
				return lat, fmt.Errorf("batch 1 of %s not committed within 60 s: %w", stream, err)
			}
			return lat, fmt.Errorf("batch 1 of %s not committed within 60 s", stream)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// benchSchedDatabases makes the control, merge and source databases, the logins (the merge and
// security logins are ordinary roles, as the security service requires) and the 10-row source
// table.
func benchSchedDatabases(ctx context.Context, cl *pgcluster.Cluster) error {
	admin, err := pgx.Connect(ctx, cl.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	stmts := []string{
		"CREATE DATABASE bench_control", "CREATE DATABASE bench_merge", "CREATE DATABASE bench_src",
		"CREATE ROLE sched_merge LOGIN", "CREATE ROLE sched_security LOGIN CREATEROLE", "CREATE ROLE reports_reader NOLOGIN",
		"GRANT CREATE, CONNECT ON DATABASE bench_merge TO sched_merge, sched_security",
	}
	for _, q := range stmts {
		if _, err := admin.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	src, err := pgx.Connect(ctx, cl.DSN("bench_src"))
	if err != nil {
		return fmt.Errorf("connect to the source database: %w", err)
	}
	defer src.Close(context.WithoutCancel(ctx))
	for _, q := range []string{
		"CREATE TABLE public.items (id bigint PRIMARY KEY, label varchar(40) NOT NULL)",
		"INSERT INTO public.items SELECT i, 'item ' || i FROM generate_series(1, 10) AS i",
	} {
		if _, err := src.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// writeBenchModel writes files (relative path → content, placeholders replaced) under dir.
func writeBenchModel(dir string, files, vars map[string]string) error {
	for rel, content := range files {
		for k, v := range vars {
			content = strings.ReplaceAll(content, k, v)
		}
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// benchSchedPush runs `datasurface push DIR` against the server and requires an accepted
// verdict.
func benchSchedPush(ctx context.Context, c *cli, server, dir string) error {
	var out bytes.Buffer
	pc := &cli{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
	err := pc.push(ctx, []string{dir, "--source", benchSchedRepo, "--server", server, "--token", benchSchedToken, "--timeout", "60s"})
	if err != nil {
		return fmt.Errorf("%w\n%s", err, out.String())
	}
	return nil
}

// awaitPlatformEvent returns the next ds.platform.Bench.<event> message.
func awaitPlatformEvent(ctx context.Context, ch <-chan *nats.Msg, event string, timeout time.Duration) (*nats.Msg, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	want := opsbus.SubjectPlatform + benchSchedPlatform + "." + event
	for {
		select {
		case m := <-ch:
			if m.Subject == want {
				return m, nil
			}
		case <-t.C:
			return nil, fmt.Errorf("no %s within %s", want, timeout)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
