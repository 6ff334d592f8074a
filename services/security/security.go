// Package security is the security service (DESIGN.md §1, spec/security.md): it makes each
// Yellow platform's merge database grant exactly what the committed model says. Desired access
// is a pure function of (model version, platform) — owner, reader, workspace group and
// transformer login roles, workspace and output schemas, default privileges, SELECT on views
// only, memberships of consumers — and the service reads the live catalog, plans the difference
// (touching only objects that carry its marker) and applies it idempotently in one transaction
// as the platform's securityCredential login. Every applied change is published on
// ds.security.<platform>.* with the model version that caused it.
//
// It serves the Connect SecurityService (Plan, Apply, ExplainAccess, ListGrants), consumes
// ds.model.committed (re-plans and applies every managed platform of the new version), checks for
// drift periodically, and offers Activities (ApplyGrants, Prepare) for the Temporal task queue
// "security".
package security

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/kit/events"
	"github.com/datasurface/datasurface/kit/metrics"
	"github.com/datasurface/datasurface/kit/modelbus"
	"github.com/datasurface/datasurface/kit/run"
	"github.com/datasurface/datasurface/kit/server"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	"github.com/datasurface/datasurface/proto/gen/datasurface/security/v1/securityv1connect"
	"github.com/datasurface/datasurface/services/security/internal/audit"
	"github.com/datasurface/datasurface/services/security/internal/engine"
	"github.com/datasurface/datasurface/services/security/internal/modelsrc"
	"github.com/datasurface/datasurface/services/security/internal/reconcile"
	"github.com/datasurface/datasurface/services/security/internal/rpc"
	"github.com/datasurface/datasurface/services/security/internal/secretstore"
	"github.com/nats-io/nats.go/jetstream"
)

// TaskQueue is the Temporal task queue of the service's activities.
const TaskQueue = "security"

// Defaults of Config.
const (
	DefaultDurable       = "security"
	DefaultInstance      = "security"
	DefaultAckWait       = 5 * time.Minute
	DefaultMaxDeliver    = 20
	DefaultDriftInterval = 15 * time.Minute
)

// Config configures the service.
type Config struct {
	// Instance names this service instance in audit events (default "security").
	Instance string
	// DSN, when set, connects to every platform's merge database with this connection string
	// (as the security login) instead of the model's mergeDatabase and securityCredential
	// (development and tests).
	DSN string
	// Platforms restricts the platforms this instance reconciles on its own (model commits,
	// drift checks); empty = every Yellow platform with a securityCredential. RPCs and
	// activities accept any platform.
	Platforms []string
	// Durable names the consumer of ds.model.committed (default "security").
	Durable string
	// AckWait is how long one commit may take before it is redelivered (default 5 min).
	AckWait time.Duration
	// MaxDeliver bounds the deliveries of a commit whose apply keeps failing (default 20).
	MaxDeliver int
	// DriftInterval is the period of the drift check (default 15 min; negative disables it).
	DriftInterval time.Duration
	// MaxConns bounds each merge database pool (0 = pgxpool's default).
	MaxConns int32
}

// ModelVersion is one committed model: number, digest, canonical model and source map.
type ModelVersion = modelsrc.Version

// Models gives committed models; version 0 asks for the newest.
type Models = modelsrc.Source

// StaticModel is a Models that holds one model (the CLI's local mode and tests).
func StaticModel(mv *ModelVersion) Models { return modelsrc.Static{V: mv} }

// Secrets resolves and writes USER_PASSWORD credentials in a PSP's credential store (model.md
// §4.16). An absent secret is an error wrapping ErrSecretNotFound; a store that cannot be
// written returns an error wrapping ErrStoreReadOnly. Implementations must never put a secret
// into an error.
type Secrets = engine.Secrets

// Errors of Secrets implementations.
var (
	ErrSecretNotFound = secretstore.ErrNotFound
	ErrStoreReadOnly  = secretstore.ErrReadOnly
)

// CredentialStores resolves credentials in env stores (through lookupEnv, read-only) and file
// stores (read and written with the os package). Vault stores are not supported yet.
func CredentialStores(lookupEnv func(string) (string, bool)) Secrets {
	return secretstore.Stores{LookupEnv: lookupEnv}
}

// Deps are the service's dependencies.
type Deps struct {
	Log *slog.Logger
	// JS is needed by Run (the ds.model.committed consumer, the default Models) and for the
	// audit events; without it nothing is published.
	JS jetstream.JetStream
	// Models gives committed models; nil reads them from the MODEL stream and the snapshot
	// store (needs JS).
	Models Models
	// Secrets resolves the security, merge and transformer credentials and stores generated
	// transformer secrets. Required.
	Secrets Secrets
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service is the security service.
type Service struct {
	cfg    Config
	log    *slog.Logger
	js     jetstream.JetStream
	bus    *modelsrc.Bus
	engine *engine.Engine

	mu          sync.Mutex
	lastApplied map[string]int64
	running     bool
}

// New checks cfg and deps and builds the service; nothing is connected until it is used.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Instance == "" {
		cfg.Instance = DefaultInstance
	}
	if cfg.Durable == "" {
		cfg.Durable = DefaultDurable
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = DefaultAckWait
	}
	if cfg.MaxDeliver <= 0 {
		cfg.MaxDeliver = DefaultMaxDeliver
	}
	if cfg.DriftInterval == 0 {
		cfg.DriftInterval = DefaultDriftInterval
	}
	s := &Service{cfg: cfg, js: deps.JS, log: deps.Log.With("service", "security"), lastApplied: map[string]int64{}}
	models := deps.Models
	if models == nil {
		if deps.JS == nil {
			return nil, errors.New("security: Deps.Models or Deps.JS is required")
		}
		s.bus = &modelsrc.Bus{JS: deps.JS}
		models = s.bus
	}
	if deps.Secrets == nil {
		return nil, errors.New("security: Deps.Secrets is required")
	}
	s.engine = &engine.Engine{
		Models: models, Secrets: deps.Secrets, DSN: cfg.DSN, MaxConns: cfg.MaxConns, Log: s.log, Now: deps.Now,
		Audit: &audit.Publisher{JS: deps.JS, Instance: cfg.Instance, Log: s.log}, OnFailed: observeFailure,
	}
	return s, nil
}

// Close releases the database connections.
func (s *Service) Close() { s.engine.Close() }

// Handler returns the Connect SecurityService implementation (for an in-process client).
func (s *Service) Handler() securityv1connect.SecurityServiceHandler {
	return &rpc.Handler{Engine: s.engine}
}

// Register mounts the Connect SecurityService on srv.
func (s *Service) Register(srv *server.Server) {
	path, h := securityv1connect.NewSecurityServiceHandler(s.Handler(), connect.WithReadMaxBytes(1<<20), connect.WithInterceptors(metrics.ConnectInterceptor()))
	srv.Handle(securityv1connect.SecurityServiceName, path, h)
	srv.ReadyWhen(s.Ready)
	if s.js != nil {
		srv.ReadyWhen(server.NATSConnected(s.js.Conn()))
	}
}

// Ready reports whether Run has started (always ready when the service is used without Run).
func (s *Service) Ready(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.js != nil && !s.running {
		return errors.New("security is starting")
	}
	return nil
}

// Run declares the OPS stream, then consumes ds.model.committed and ds.batch.*.views.reconciled
// (batchviews.go) and runs the drift check until ctx ends. It needs Deps.JS.
func (s *Service) Run(ctx context.Context) error {
	if s.js == nil {
		return errors.New("security: Run needs Deps.JS")
	}
	if err := audit.DeclareStream(ctx, s.js); err != nil {
		return fmt.Errorf("security: %w", err)
	}
	if _, err := modelbus.DeclareStream(ctx, s.js); err != nil {
		return fmt.Errorf("security: %w", err)
	}
	commits := &events.Consumer{
		JS: s.js, Stream: modelbus.Stream, Durable: s.cfg.Durable, Filter: modelbus.SubjectCommitted,
		MaxDeliver: s.cfg.MaxDeliver, AckWait: s.cfg.AckWait, Backoff: []time.Duration{time.Second, 5 * time.Second, 30 * time.Second},
		Handler: s.onCommitted, Log: s.log,
		OnPoison: func(ctx context.Context, e events.Event, err error) {
			s.log.ErrorContext(ctx, "model commit dropped without applying access", "event", e.ID, "delivered", e.Delivered, "err", err)
		},
	}
	s.mu.Lock()
	s.running = true
	s.mu.Unlock()
	s.log.InfoContext(ctx, "security started", "durable", s.cfg.Durable, "drift_interval", s.cfg.DriftInterval)
	comps := []run.Component{commits, s.viewsConsumer(), run.Func(s.preflight)}
	if s.cfg.DriftInterval > 0 {
		comps = append(comps, run.Func(s.driftLoop))
	}
	return run.Group(ctx, comps...)
}

// platforms returns the platforms this instance reconciles in mv.
func (s *Service) platforms(mv *ModelVersion) []string {
	all := engine.ManagedPlatforms(mv)
	if len(s.cfg.Platforms) == 0 {
		return all
	}
	var out []string
	for _, d := range all {
		for _, want := range s.cfg.Platforms {
			if d == want {
				out = append(out, d)
			}
		}
	}
	return out
}

// onCommitted re-plans and applies every managed platform for a committed version. An older
// version than the newest committed is skipped (the newer one follows); the handler is
// level-based, so redeliveries are harmless.
func (s *Service) onCommitted(ctx context.Context, e events.Event) error {
	ev := &eventsv1.ModelCommitted{}
	if err := e.Decode(ev); err != nil {
		return err
	}
	var mv *ModelVersion
	var err error
	if s.bus != nil {
		head, herr := s.bus.Head(ctx)
		if herr != nil {
			return herr
		}
		if ev.GetVersion() < head {
			s.log.InfoContext(ctx, "older model version skipped", "version", ev.GetVersion(), "head", head)
			return nil
		}
		mv, err = s.bus.Committed(ctx, ev)
	} else {
		mv, err = s.engine.Model(ctx, ev.GetVersion())
	}
	if errors.Is(err, modelbus.ErrSnapshotNotFound) || errors.Is(err, engine.ErrNotFound) {
		return events.Permanent(err)
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range s.platforms(mv) {
		if _, err := s.engine.Apply(ctx, d, mv.Number, reconcile.Options{}); err != nil {
			if permanentApply(err) {
				// Retrying the same version cannot fix the plan or the credential (the engine
				// logged the error and published apply.failed); the next version or a drift
				// check will.
				continue
			}
			errs = append(errs, err)
			continue
		}
		s.mu.Lock()
		s.lastApplied[d] = mv.Number
		s.mu.Unlock()
	}
	return errors.Join(errs...)
}

// preflight checks, once at start, that the credentials of every platform this instance
// manages in the newest committed model can be resolved, and logs each that cannot at ERROR
// level with the credential's name (an apply of that platform would fail with the same error);
// then it waits for ctx. Readiness is deliberately not tied to it: the service still serves
// every other platform, ExplainAccess and ListGrants, and an orchestrator restarting or
// unrouting the process would not fix a missing secret.
func (s *Service) preflight(ctx context.Context) error {
	mv, err := s.engine.Model(ctx, 0)
	if err == nil {
		for _, d := range s.platforms(mv) {
			for _, cerr := range s.engine.CheckCredentials(ctx, mv, d) {
				s.log.ErrorContext(ctx, "credential of a managed platform cannot be resolved; its applies fail until it can", "platform", d, "model_version", mv.Number, "err", cerr)
			}
		}
	} else if !errors.Is(err, engine.ErrNotFound) && ctx.Err() == nil {
		s.log.WarnContext(ctx, "credential check at start skipped: no committed model", "err", err)
	}
	<-ctx.Done()
	return nil
}

func (s *Service) driftLoop(ctx context.Context) error {
	t := time.NewTicker(s.cfg.DriftInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := s.CheckDrift(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "drift check failed", "err", err)
		}
	}
}

// CheckDrift plans every managed platform against the newest model; a non-empty plan that no
// newer model version explains publishes ds.security.<platform>.drift.detected; then it is
// applied.
func (s *Service) CheckDrift(ctx context.Context) error {
	mv, err := s.engine.Model(ctx, 0)
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range s.platforms(mv) {
		p, err := s.engine.Plan(ctx, d, mv.Number)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(p.Actions) == 0 || len(p.Errors) > 0 {
			continue
		}
		s.mu.Lock()
		explained := s.lastApplied[d] < mv.Number
		s.mu.Unlock()
		if !explained {
			if err := s.engine.Drift(ctx, p); err != nil {
				errs = append(errs, err)
			}
		}
		if _, err := s.engine.Apply(ctx, d, mv.Number, reconcile.Options{}); err != nil {
			errs = append(errs, err)
			continue
		}
		s.mu.Lock()
		s.lastApplied[d] = mv.Number
		s.mu.Unlock()
	}
	return errors.Join(errs...)
}
