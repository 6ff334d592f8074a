package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/datasurface/datasurface/kit/pg"
	kitrun "github.com/datasurface/datasurface/kit/run"
	"github.com/datasurface/datasurface/kit/server"
	"github.com/datasurface/datasurface/services/modelsvc"
	"github.com/datasurface/datasurface/services/validator"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.temporal.io/sdk/client"
)

const serveSynopsis = `datasurface serve --service=<name> [--service=<name>…] [--listen <host:port>] [--nats <url>]
                         [--database <dsn>] [--temporal <host:port>] [--temporal-namespace <name>]
                         [--tokens-file <file>] [--webhook-secrets-file <file>]
                         [--archive-endpoint <host:port>] [--archive-secure] [--archive-region <region>]
                         [--kafka-security-protocol plaintext|ssl|sasl_plaintext|sasl_ssl]
                         [--log-format json|text] [--log-level debug|info|warn|error]

Runs one or more control-plane services in this process (DESIGN.md §5). They share one HTTP
server (Connect, gRPC and gRPC-Web on one port, gRPC health and reflection, /healthz, /readyz),
one Postgres pool and one NATS connection, and stop cleanly on SIGINT or SIGTERM.

Services: modelsvc (needs --database and --nats), validator (needs --nats), scheduler (needs
--nats and --temporal; Connect API and workflows), ingest and merge (Temporal activity workers
on task queues "ingest" and "merge"; need --nats for the committed models and --temporal),
security (Connect API, commit consumer and the "security" activity worker; needs --nats and
--temporal). Credentials of the model's credential stores come from the environment and files.

ingest writes the raw batch archive of a platform with rawArchive (yellow.md §7.5) to the S3/MinIO
endpoint --archive-endpoint (TLS with --archive-secure); without it those platforms' ingests fail.
The model names only the bucket, prefix and credential. --kafka-security-protocol is the Kafka CDC
consumer's security.protocol (sasl_*: the stream's credential is the SASL/PLAIN login).

--tokens-file and --webhook-secrets-file hold a YAML or JSON mapping of repository
(location@branch) to its API token / webhook HMAC secret; their contents are never logged.
Logs go to stderr.`

// serveConfig is the configuration of `datasurface serve`, bound from flags with an environment
// fallback (DATASURFACE_<FLAG>).
type serveConfig struct {
	Services           []string
	Listen             string
	NATS               string
	Database           string
	Temporal           string
	TemporalNamespace  string
	TokensFile         string
	WebhookSecretsFile string
	LogFormat          string
	LogLevel           string
	// ingestFlags: the raw archive and the Kafka security protocol (ingest).
	ingestFlags

	// tokens and webhookSecrets are the contents of the two files (`datasurface dev` sets
	// tokens directly).
	tokens, webhookSecrets map[string]string
	// listening, when set, is called with the server's address once it listens (dev).
	listening func(addr string)
}

// readSecrets reads the tokens and webhook secrets files named by the configuration.
func (cfg *serveConfig) readSecrets() error {
	var err error
	if cfg.TokensFile != "" {
		if cfg.tokens, err = readSecretsFile(cfg.TokensFile); err != nil {
			return fmt.Errorf("--tokens-file: %w", err)
		}
	}
	if cfg.WebhookSecretsFile != "" {
		if cfg.webhookSecrets, err = readSecretsFile(cfg.WebhookSecretsFile); err != nil {
			return fmt.Errorf("--webhook-secrets-file: %w", err)
		}
	}
	return nil
}

// serveDeps are the shared connections one serve process opens for its services.
type serveDeps struct {
	cfg  serveConfig
	pool *pgxpool.Pool // nil unless a service needs Postgres
	js   jetstream.JetStream
	log  *slog.Logger
	// temporal is nil unless a service needs Temporal; models serves ingest and merge.
	temporal client.Client
	models   *busModels
	getenv   func(string) string
}

// component is a service as serve runs it: mounted on the shared server, then run.
type component interface {
	Register(*server.Server)
	Run(ctx context.Context) error
}

// serviceSpec is one service serve knows.
type serviceSpec struct {
	name      string
	summary   string
	postgres  bool // needs --database
	temporal  bool // needs --temporal
	available bool
	build     func(d serveDeps) (component, error)
}

// services lists every service of DESIGN.md §1, in start order.
var services = []serviceSpec{
	{name: "modelsvc", summary: "committed model history, proposals, read API", postgres: true, available: true, build: buildModelsvc},
	{name: "validator", summary: "the gate: lint, authorization, compatibility; commits versions", available: true, build: buildValidator},
	{name: "scheduler", summary: "ingestion and transformer schedules", temporal: true, available: true, build: buildScheduler},
	{name: "ingest", summary: "source data into staging", temporal: true, available: true, build: buildIngest},
	{name: "merge", summary: "staging into merge tables, views", temporal: true, available: true, build: buildMerge},
	{name: "security", summary: "roles and grants", temporal: true, available: true, build: buildSecurity},
}

func buildModelsvc(d serveDeps) (component, error) {
	cfg := modelsvc.Config{Tokens: d.cfg.tokens, WebhookSecrets: d.cfg.webhookSecrets}
	if len(cfg.Tokens) == 0 && len(cfg.WebhookSecrets) == 0 {
		d.log.Warn("modelsvc has no API tokens and no webhook secrets: nobody can propose a change")
	}
	return modelsvc.New(cfg, modelsvc.Deps{Pool: d.pool, JS: d.js, Log: d.log})
}

func buildValidator(d serveDeps) (component, error) {
	return validator.New(validator.Config{ToolVersion: version}, validator.Deps{JS: d.js, Log: d.log})
}

func (c *cli) serve(ctx context.Context, args []string) error {
	cfg, err := c.serveConfig(args)
	if err != nil {
		return helpOK(err)
	}
	specs, err := selectServices(cfg.Services)
	if err != nil {
		return err
	}
	log, err := newLogger(c.stderr, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return err
	}
	if err := cfg.readSecrets(); err != nil {
		return cannotRun(fmt.Errorf("serve: %w", err))
	}
	if err := runServices(ctx, cfg, specs, log, c.getenv); err != nil {
		return cannotRun(fmt.Errorf("serve: %w", err))
	}
	log.InfoContext(ctx, "serve stopped")
	return nil
}

// serveConfig parses serve's command line, then its environment fallback, and checks the
// values that are not checked later (usage errors).
func (c *cli) serveConfig(args []string) (serveConfig, error) {
	var cfg serveConfig
	fs := c.newFlagSet("serve", serveSynopsis)
	fs.Var((*listFlag)(&cfg.Services), "service", "a service to run, by `name` (repeatable, or comma-separated): "+serviceNames())
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:8080", "the `address` of the HTTP server (Connect, gRPC, health)")
	fs.StringVar(&cfg.NATS, "nats", nats.DefaultURL, "the NATS server (JetStream) `url`")
	fs.StringVar(&cfg.Database, "database", "", "the connection string (`dsn`) of the control-plane Postgres database")
	fs.StringVar(&cfg.Temporal, "temporal", "", "the Temporal frontend `host:port` (scheduler, ingest, merge, security)")
	fs.StringVar(&cfg.TemporalNamespace, "temporal-namespace", "default", "the Temporal `namespace`")
	fs.StringVar(&cfg.TokensFile, "tokens-file", "", "YAML or JSON `file` mapping repository (location@branch) → API token")
	fs.StringVar(&cfg.WebhookSecretsFile, "webhook-secrets-file", "", "YAML or JSON `file` mapping repository → webhook HMAC secret")
	cfg.ingestFlags.bind(fs)
	fs.StringVar(&cfg.LogFormat, "log-format", "json", "log format: json or text")
	fs.StringVar(&cfg.LogLevel, "log-level", "info", "lowest level logged: debug, info, warn or error")
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		writeEnvUsage(fs.Output(), fs)
	}
	if err := parse(fs, args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, usageErrorf("serve: unexpected argument %q", fs.Arg(0))
	}
	if err := applyEnv(fs, c.getenv); err != nil {
		return cfg, err
	}
	if err := cfg.ingestFlags.check(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func serviceNames() string {
	var names []string
	for _, s := range services {
		if s.available {
			names = append(names, s.name)
		}
	}
	return strings.Join(names, ", ")
}

// selectServices checks the requested service names: unknown names are usage errors, services
// that are not built yet are errors that say so. Repeated names run once.
func selectServices(names []string) ([]serviceSpec, error) {
	if len(names) == 0 {
		return nil, usageErrorf("serve: no service given: use --service (one of %s)", serviceNames())
	}
	var out []serviceSpec
	var unavailable []string
	for _, n := range names {
		i := slices.IndexFunc(services, func(s serviceSpec) bool { return s.name == n })
		switch {
		case i < 0:
			return nil, usageErrorf("serve: unknown service %q (services: %s)", n, serviceNames())
		case !services[i].available:
			unavailable = append(unavailable, n)
		case !slices.ContainsFunc(out, func(s serviceSpec) bool { return s.name == n }):
			out = append(out, services[i])
		}
	}
	if len(unavailable) > 0 {
		return nil, cannotRun(fmt.Errorf("serve: %s not available yet in datasurface %s (available: %s)",
			strings.Join(unavailable, ", "), version, serviceNames()))
	}
	// Start in the order of the services table.
	slices.SortStableFunc(out, func(a, b serviceSpec) int {
		return slices.IndexFunc(services, func(s serviceSpec) bool { return s.name == a.name }) -
			slices.IndexFunc(services, func(s serviceSpec) bool { return s.name == b.name })
	})
	return out, nil
}

// runServices opens the shared connections, builds the services, mounts them on one server and
// runs everything until ctx ends or one of them fails.
func runServices(ctx context.Context, cfg serveConfig, specs []serviceSpec, log *slog.Logger, getenv func(string) string) error {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.name
	}
	log.InfoContext(ctx, "starting", "version", version, "services", names, "listen", cfg.Listen)
	d := serveDeps{cfg: cfg, log: log, getenv: getenv}
	if cfg.Temporal == "" {
		var need []string
		for _, s := range specs {
			if s.temporal {
				need = append(need, s.name)
			}
		}
		if len(need) > 0 {
			return errors.New("--temporal (or " + envName("temporal") + ") is required by " + strings.Join(need, ", "))
		}
	}
	if slices.ContainsFunc(specs, func(s serviceSpec) bool { return s.postgres }) {
		if cfg.Database == "" {
			return errors.New("--database (or " + envName("database") + ") is required by " + strings.Join(names, ", "))
		}
		pool, err := pg.Connect(ctx, cfg.Database)
		if err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
		defer pool.Close()
		d.pool = pool
	}
	nc, err := nats.Connect(cfg.NATS,
		nats.Name("datasurface serve "+strings.Join(names, ",")),
		nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("nats reconnected", "server", nc.ConnectedUrlRedacted()) }),
	)
	if err != nil {
		return fmt.Errorf("nats %s: %w", redactURL(cfg.NATS), err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	d.js = js
	d.models = newBusModels(js)
	if slices.ContainsFunc(specs, func(s serviceSpec) bool { return s.temporal }) {
		tc, err := dialTemporal(ctx, d)
		if err != nil {
			return fmt.Errorf("temporal %s: %w", cfg.Temporal, err)
		}
		defer tc.Close()
		d.temporal = tc
	}

	srv := server.New(cfg.Listen, log)
	comps := make([]kitrun.Component, 0, len(specs)+1)
	for _, s := range specs {
		comp, err := s.build(d)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		comp.Register(srv)
		comps = append(comps, comp)
	}
	comps = append(comps, srv)
	if cfg.listening != nil {
		go func() {
			if addr, err := srv.Addr(ctx); err == nil {
				cfg.listening(addr)
			}
		}()
	}
	return kitrun.Group(ctx, comps...)
}

// redactURL hides the credentials of a URL (a password, or a token given as the user) for
// logs and errors.
func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	userinfo, host, ok := strings.Cut(rest, "@")
	if !ok {
		return u
	}
	if user, _, hasPass := strings.Cut(userinfo, ":"); hasPass {
		return scheme + "://" + user + ":xxxxx@" + host
	}
	return scheme + "://xxxxx@" + host
}
