package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/datasurface/datasurface/kit/natsserver"
	"github.com/datasurface/datasurface/kit/pgcluster"
	"github.com/datasurface/datasurface/kit/temporalserver"
)

const devSynopsis = `datasurface dev [--dir <dir>] [--model <dir>] [--reset] [--listen <host:port>] [--quiet]

Runs everything on this machine in one process, on loopback, with nothing to configure: NATS
JetStream, a Temporal dev server, a PostgreSQL cluster from the system binaries, a Kafka-protocol
broker, MinIO (bin/minio or minio on PATH) when the model keeps a raw batch archive, and all six
services as 'serve' runs them. It pushes the example model (or --model),
with its database and Kafka addresses pointed at this machine's components; seeds the
producers' source databases and topics from the model's datasets and keeps changing them a
little; triggers every stream once; and shows the progress, one line per event. When the first
workspace view has rows it prints a psql command that reads it as the workspace's consumer.
State lives in --dir: a second run resumes (no re-seed; the push is a no-op when the model is
unchanged). Ctrl-C stops everything.`

// devFlags are the flags of `datasurface dev`.
type devFlags struct {
	dir, model, listen string
	reset, quiet       bool
}

// devConsumer is a consumer login of the model's workspaces.
type devConsumer struct {
	user, password string
	workspaces     []string
}

func (c *cli) dev(ctx context.Context, args []string) error {
	var f devFlags
	fs := c.newFlagSet("dev", devSynopsis)
	fs.StringVar(&f.dir, "dir", filepath.Join(".datasurface", "dev"), "the data `directory` (state of every component)")
	fs.StringVar(&f.model, "model", "", "push the model in this `directory` instead of the embedded example (examples/acme)")
	fs.BoolVar(&f.reset, "reset", false, "delete the data directory first")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "the `address` of the services' HTTP server")
	fs.BoolVar(&f.quiet, "quiet", false, "print only the start-up summary, the psql line and errors")
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("dev: unexpected argument %q", fs.Arg(0))
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C ends the process at once
	}()
	if err := c.runDev(ctx, f); err != nil {
		return cannotRun(fmt.Errorf("dev: %w", err))
	}
	return nil
}

// devRun is one run of the dev environment.
type devRun struct {
	c     *cli
	f     devFlags
	dir   string
	p     *devPrinter
	log   *slog.Logger
	st    *devState
	began time.Time

	cleanups []func()
}

func (r *devRun) defer_(f func()) { r.cleanups = append(r.cleanups, f) }

func (c *cli) runDev(ctx context.Context, f devFlags) (err error) {
	dir, err := filepath.Abs(f.dir)
	if err != nil {
		return err
	}
	if f.reset {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("--reset: %w", err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	r := &devRun{c: c, f: f, dir: dir, p: &devPrinter{w: c.stdout, quiet: f.quiet}, began: time.Now()}
	defer func() {
		for i := len(r.cleanups) - 1; i >= 0; i-- {
			r.cleanups[i]()
		}
		r.p.line("dev", "stopped after %s", time.Since(r.began).Round(time.Second))
	}()
	logPath := filepath.Join(dir, "dev.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	r.defer_(func() { _ = logFile.Close() })
	r.log = slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if r.st, err = loadDevState(dir); err != nil {
		return err
	}
	resume := r.st.Seeded
	how := "starting"
	if resume {
		how = "resuming"
	}
	r.p.line("dev", "%s in %s (service logs at warn level: %s)", how, dir, logPath)
	return r.run(ctx, resume)
}

func (r *devRun) run(ctx context.Context, resume bool) error {
	st := r.st
	// A Postgres left running by a run that was killed holds the port: stop it first.
	pgDir := filepath.Join(r.dir, "postgres")
	if _, err := os.Stat(filepath.Join(pgDir, "data", "postmaster.pid")); err == nil {
		if stale, err := pgcluster.Open(ctx, pgDir, pgcluster.Options{Port: st.PostgresPort}); err == nil && stale.Stop(ctx) == nil {
			r.p.line("postgres", "stopped the server a previous run left running")
		}
	}
	// Ports: Postgres and Kafka are in the pushed model, so they stay the same across runs.
	pgPort, err := st.port(&st.PostgresPort, "Postgres", resume)
	if err != nil {
		return err
	}
	kafkaPort, err := st.port(&st.KafkaPort, "Kafka", resume)
	if err != nil {
		return err
	}
	natsPort, err := st.port(&st.NATSPort, "NATS", false)
	if err != nil {
		return err
	}
	temporalPort, err := st.port(&st.TemporalPort, "Temporal", false)
	if err != nil {
		return err
	}
	if err := st.save(); err != nil {
		return err
	}

	// The model, localized, before anything starts: a broken --model fails fast.
	files, err := readModelFiles(r.f.model)
	if err != nil {
		return fmt.Errorf("model: %w", err)
	}
	kafkaAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(kafkaPort))
	m, err := localizeModel(files, pgPort, kafkaAddr)
	if err != nil {
		return fmt.Errorf("model: %w", err)
	}
	modelDir := filepath.Join(r.dir, "model")
	if err := m.write(modelDir); err != nil {
		return err
	}
	src := "examples/acme (embedded)"
	if r.f.model != "" {
		src = r.f.model
	}
	r.p.line("model", "%s: %d files; dev-only copy in %s with %d database addresses → 127.0.0.1:%d and %d Kafka bootstrap lists → %s",
		src, len(m.files), modelDir, m.hosts, pgPort, m.brokers, kafkaAddr)
	// MinIO for the raw batch archive, when the model keeps one; it starts in the background.
	arch, err := r.startArchive(ctx, m)
	if err != nil {
		return err
	}

	// Temporal starts in the background: it is the slowest.
	tbin, err := findTemporal()
	if err != nil {
		return err
	}
	type tsResult struct {
		s   *temporalserver.Server
		err error
	}
	tsc := make(chan tsResult, 1)
	go func() {
		s, err := temporalserver.Start(ctx, temporalserver.Options{Binary: tbin, Dir: filepath.Join(r.dir, "temporal"), Persist: true, Port: temporalPort})
		tsc <- tsResult{s, err}
	}()
	var ts *temporalserver.Server
	tsReceived := false
	awaitTemporal := func() error {
		if !tsReceived {
			res := <-tsc
			tsReceived, ts = true, res.s
			if res.err != nil {
				return fmt.Errorf("temporal: %w", res.err)
			}
		}
		return nil
	}
	var stopOnce sync.Once
	stopTemporal := func() {
		stopOnce.Do(func() {
			_ = awaitTemporal()
			if ts != nil {
				_ = ts.Stop(context.Background())
			}
		})
	}
	r.defer_(stopTemporal)

	// NATS JetStream.
	ns, err := natsserver.Start(natsserver.Options{Dir: filepath.Join(r.dir, "nats"), Port: natsPort, SyncAlways: true})
	if err != nil {
		return err
	}
	r.defer_(func() { ns.Shutdown(); ns.WaitForShutdown() })

	// Postgres.
	cl, err := pgcluster.Open(ctx, pgDir, pgcluster.Options{Port: pgPort})
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if err := cl.Start(ctx); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	r.defer_(func() { _ = cl.Stop(context.Background()) })
	env, err := setupPostgres(ctx, cl.DSN, m, st)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if err := st.save(); err != nil {
		return err
	}
	archiveEndpoint, err := arch.await(ctx, r, env)
	if err != nil {
		return err
	}
	if err := writeEnvFile(filepath.Join(r.dir, "credentials.env"), env); err != nil {
		return err
	}

	// Kafka, persisted in the data directory.
	sim, err := newSimulator(m, st, devLogins(m))
	if err != nil {
		return err
	}
	r.defer_(sim.close)
	kopts := []kfake.Opt{kfake.NumBrokers(1), kfake.Ports(kafkaPort), kfake.DataDir(filepath.Join(r.dir, "kafka")),
		kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1)}
	if topics := sim.topics(); len(topics) > 0 && !resume {
		kopts = append(kopts, kfake.SeedTopics(1, topics...))
	}
	kc, err := kfake.NewCluster(kopts...)
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	r.defer_(kc.Close)
	kcl, err := kgo.NewClient(kgo.SeedBrokers(kafkaAddr), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.DefaultProduceTopic(""))
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	r.defer_(kcl.Close)
	sim.kafka = kcl

	// The producers' sources.
	if err := sim.open(ctx, cl.DSN); err != nil {
		return err
	}
	if err := sim.prepare(ctx); err != nil {
		return err
	}
	if !st.Seeded {
		n, err := sim.seed(ctx)
		if err != nil {
			return err
		}
		r.p.line("seed", "%d rows in %d datasets of the producers' sources", n, len(sim.tables))
	} else {
		r.p.line("seed", "sources already seeded (resuming)")
	}

	if err := awaitTemporal(); err != nil {
		return err
	}
	r.p.line("ready", "NATS %s, Postgres 127.0.0.1:%d, Temporal %s, Kafka %s (%s)", ns.ClientURL(), pgPort, ts.Addr, kafkaAddr, time.Since(r.began).Round(time.Millisecond))

	// The services, exactly as serve builds them.
	tokens := map[string]string{}
	for _, repo := range m.repositories() {
		tokens[repo] = st.secret(st.Tokens, repo)
	}
	if err := st.save(); err != nil {
		return err
	}
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		if r.c.getenv != nil {
			return r.c.getenv(k)
		}
		return os.Getenv(k)
	}
	addrc := make(chan string, 1)
	cfg := serveConfig{
		Listen: r.f.listen, NATS: ns.ClientURL(), Database: cl.DSN(controlDB),
		Temporal: ts.Addr, TemporalNamespace: temporalserver.DefaultNamespace,
		ingestFlags: ingestFlags{ArchiveEndpoint: archiveEndpoint, KafkaSecurityProtocol: "plaintext"},
		tokens:      tokens, listening: func(a string) { addrc <- a },
	}
	names := make([]string, 0, len(services))
	for _, s := range services {
		names = append(names, s.name)
	}
	specs, err := selectServices(names)
	if err != nil {
		return err
	}
	sctx, scancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- runServices(sctx, cfg, specs, r.log, getenv) }()
	stopServices := func() error {
		scancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			return errors.New("the services did not stop within 30 s")
		}
	}
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		scancel()
		return fmt.Errorf("services: %w", err)
	case <-ctx.Done():
		return stopServices()
	}
	base := "http://" + addr
	r.p.line("services", "%s on %s", strings.Join(names, ", "), base)

	// Progress from the bus.
	nc, err := nats.Connect(ns.ClientURL(), nats.Name("datasurface dev"))
	if err != nil {
		_ = stopServices()
		return err
	}
	defer nc.Close()
	if _, err := watchBus(nc, r.p); err != nil {
		_ = stopServices()
		return err
	}

	// Push the model as the ecosystem's owning repository.
	if err := r.push(ctx, base, modelDir, m.repositories()[0], tokens[m.repositories()[0]]); err != nil {
		r.p.line("error", "%v", err)
	}

	// Consumers and where to read.
	var consumers []devConsumer
	for _, cl := range consumerLogins(m) {
		i := slices.IndexFunc(consumers, func(c devConsumer) bool { return c.user == cl.user })
		if i < 0 {
			consumers = append(consumers, devConsumer{user: cl.user, password: st.Passwords[cl.user]})
			i = len(consumers) - 1
		}
		consumers[i].workspaces = append(consumers[i].workspaces, cl.workspace)
	}
	var mergeDB string
	var platforms []string
	for _, p := range m.yellowPlatforms() {
		platforms = append(platforms, p.GetName())
		if mergeDB == "" {
			mergeDB = p.GetYellow().GetMergeDatabase().GetPostgres().GetDatabase()
		}
	}
	var found bool
	onCommit := func(ctx context.Context) {
		if found || mergeDB == "" {
			return
		}
		q, ok := findConsumerQuery(ctx, pgPort, mergeDB, consumers)
		if !ok {
			return
		}
		found = true
		r.p.line("data", "first workspace data after %s; query workspace %s as its consumer %s:", time.Since(r.began).Round(100*time.Millisecond), strings.Join(q.workspaces, ", "), q.user)
		r.p.plain("\n    %s\n\n", q.psql())
		r.p.plain("    credentials of every login: %s   API tokens: %s\n", filepath.Join(r.dir, "credentials.env"), st.path)
		r.p.plain("    stop with Ctrl-C; run again to resume (--reset starts over)\n\n")
	}
	watch := newStreamWatch(base, platforms, r.p, r.log, onCommit)
	wctx, wcancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		onCommit(wctx) // data of an earlier run is readable right away
		watch.run(wctx, time.Second)
	}()
	go func() { defer wg.Done(); r.churn(wctx, sim) }()

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-done:
		runErr = fmt.Errorf("services stopped: %w", err)
		done <- nil
	}
	r.p.line("dev", "stopping")
	wcancel()
	wg.Wait()
	if err := stopServices(); err != nil && runErr == nil {
		runErr = err
	}
	// Then Temporal; the deferred clean-ups stop Kafka, Postgres and NATS, in that order.
	stopTemporal()
	return runErr
}

// findTemporal returns the temporal CLI: bin/temporal of the enclosing repository, the one
// next to this executable (bin/datasurface), or the one on PATH.
func findTemporal() (string, error) {
	p, err := temporalserver.FindBinary()
	if err == nil {
		return p, nil
	}
	if exe, xerr := os.Executable(); xerr == nil {
		next := filepath.Join(filepath.Dir(exe), "temporal")
		if st, serr := os.Stat(next); serr == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return next, nil
		}
	}
	return "", err
}

// push proposes the model through push's code path and prints its result.
func (r *devRun) push(ctx context.Context, base, dir, source, token string) error {
	var out, errOut bytes.Buffer
	var err error
	// modelsvc answers Unavailable until it has started; retry for a minute.
	for deadline := time.Now().Add(time.Minute); ; {
		out.Reset()
		errOut.Reset()
		pc := &cli{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
		err = pc.push(ctx, []string{dir, "--source", source, "--server", base, "--token", token, "--timeout", "2m"})
		if err == nil || !strings.Contains(err.Error(), "unavailable") || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, l := range strings.Split(strings.TrimSpace(out.String()+errOut.String()), "\n") {
		if strings.TrimSpace(l) != "" && (!r.f.quiet || err != nil || strings.HasPrefix(l, "push:")) {
			r.p.line("push", "%s", l)
		}
	}
	if err != nil {
		return fmt.Errorf("push as %s: %w", source, err)
	}
	return nil
}

// churn changes the sources a little every few seconds.
func (r *devRun) churn(ctx context.Context, sim *simulator) {
	t := time.NewTicker(3 * time.Second)
	defer t.Stop()
	rounds := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cs, err := sim.churn(ctx)
		if err != nil {
			if ctx.Err() == nil {
				r.log.Warn("dev: changing the sources", "err", err)
			}
			continue
		}
		rounds++
		if rounds%10 == 1 {
			r.p.event("sources", "changing every 3 s: %d inserts, %d updates, %d deletes in the last round", cs.inserts, cs.updates, cs.deletes)
		}
	}
}
