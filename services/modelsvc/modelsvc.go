// Package modelsvc is the control plane's model service (DESIGN.md §1): it owns the committed
// model history as a read model rebuilt from the MODEL stream, the proposals of model changes
// (authenticated by repository API token or signed webhook, stored content-addressed and
// announced on ds.model.proposed.<id>), and the read API — the Connect ModelService and the
// compatibility endpoint POST /api/query of the original model server.
package modelsvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/kit/events"
	"github.com/datasurface/datasurface/kit/metrics"
	"github.com/datasurface/datasurface/kit/modelbus"
	"github.com/datasurface/datasurface/kit/run"
	"github.com/datasurface/datasurface/kit/server"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/proto/gen/datasurface/model/v1/modelv1connect"
	"github.com/datasurface/datasurface/services/modelsvc/internal/auth"
	"github.com/datasurface/datasurface/services/modelsvc/internal/compat"
	"github.com/datasurface/datasurface/services/modelsvc/internal/modelload"
	"github.com/datasurface/datasurface/services/modelsvc/internal/proposals"
	"github.com/datasurface/datasurface/services/modelsvc/internal/propose"
	"github.com/datasurface/datasurface/services/modelsvc/internal/query"
	"github.com/datasurface/datasurface/services/modelsvc/internal/readmodel"
	"github.com/datasurface/datasurface/services/modelsvc/internal/rpc"
	"github.com/datasurface/datasurface/services/modelsvc/internal/webhook"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of Config.
const (
	DefaultSchema           = "modelsvc"
	DefaultMaxSnapshotBytes = 64 << 20
	DefaultCacheVersions    = 4
	DefaultOutboxInterval   = 5 * time.Second
	// VerdictConsumer is the durable consumer of ds.model.verdict.>.
	VerdictConsumer = "modelsvc-verdicts"
)

// Config configures the service.
type Config struct {
	// Schema is the Postgres schema of the service's tables (default "modelsvc").
	Schema string
	// Tokens maps a repository ("location@branch") to its API token for ProposeChange.
	Tokens map[string]string
	// WebhookSecrets maps a repository to the HMAC secret of its webhook.
	WebhookSecrets map[string]string
	// MaxSnapshotBytes limits a proposed snapshot (file contents; for the webhook also the
	// archive) (default 64 MiB).
	MaxSnapshotBytes int64
	// CacheVersions is how many loaded model versions are kept in memory (default 4).
	CacheVersions int
	// OutboxInterval is how often unannounced proposals are republished (default 5 s).
	OutboxInterval time.Duration
}

// Deps are the service's connections.
type Deps struct {
	Pool *pgxpool.Pool
	JS   jetstream.JetStream
	Log  *slog.Logger
}

// Service is modelsvc.
type Service struct {
	cfg       Config
	deps      Deps
	log       *slog.Logger
	store     *proposals.Store
	proposer  *propose.Proposer
	reads     *readmodel.ReadModel
	reader    *query.Reader
	tokens    *auth.Tokens
	secrets   *auth.Secrets
	snapshots atomic.Pointer[modelbus.Snapshots]
	started   atomic.Bool
}

// New checks cfg and builds the service; nothing is connected until Run.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.Pool == nil || deps.JS == nil {
		return nil, errors.New("modelsvc: Deps.Pool and Deps.JS are required")
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Schema == "" {
		cfg.Schema = DefaultSchema
	}
	if cfg.MaxSnapshotBytes <= 0 {
		cfg.MaxSnapshotBytes = DefaultMaxSnapshotBytes
	}
	if cfg.CacheVersions <= 0 {
		cfg.CacheVersions = DefaultCacheVersions
	}
	if cfg.OutboxInterval <= 0 {
		cfg.OutboxInterval = DefaultOutboxInterval
	}
	tokens, err := auth.NewTokens(cfg.Tokens)
	if err != nil {
		return nil, fmt.Errorf("modelsvc: %w", err)
	}
	secrets, err := auth.NewSecrets(cfg.WebhookSecrets)
	if err != nil {
		return nil, fmt.Errorf("modelsvc: %w", err)
	}
	log := deps.Log.With("service", "modelsvc")
	s := &Service{cfg: cfg, deps: deps, log: log, tokens: tokens, secrets: secrets}
	s.store = proposals.New(deps.Pool, cfg.Schema)
	s.proposer = propose.New(propose.Config{Store: s.store, JS: deps.JS, Log: log, Digest: modelload.Digest})
	s.reads = readmodel.New(s.loadVersion, cfg.CacheVersions, log)
	s.reader = query.New(s.reads, s.snapshots.Load)
	return s, nil
}

// loadVersion reads a committed version's snapshot and loads its model.
func (s *Service) loadVersion(ctx context.Context, v *readmodel.Version) (*modelv1.Model, error) {
	snaps := s.snapshots.Load()
	if snaps == nil {
		return nil, errors.New("snapshot store not open")
	}
	snap, err := snaps.Get(ctx, v.Digest)
	if err != nil {
		return nil, err
	}
	m, digest, err := modelload.Model(snap)
	if err != nil {
		return nil, err
	}
	if digest != v.Digest {
		s.log.WarnContext(ctx, "committed snapshot has another digest under this loader", "version", v.Number, "committed", v.Digest, "loaded", digest)
	}
	return m, nil
}

// Register mounts the service on srv: the Connect ModelService, POST /webhook/propose,
// POST /api/query, GET /health, and readiness (the committed history replayed).
func (s *Service) Register(srv *server.Server) {
	h := &rpc.Handler{Tokens: s.tokens, Proposer: s.proposer, Reader: s.reader, MaxSnapshotBytes: s.cfg.MaxSnapshotBytes, Log: s.log}
	// JSON requests with unknown fields are rejected. Messages may hold the snapshot plus a margin
	// for the rest of the request; larger ones are answered with ResourceExhausted by Connect.
	opts := append(rpc.StrictJSONCodecs(), connect.WithReadMaxBytes(int(s.cfg.MaxSnapshotBytes)+1<<20), connect.WithInterceptors(metrics.ConnectInterceptor()))
	path, handler := modelv1connect.NewModelServiceHandler(h, opts...)
	srv.Handle(modelv1connect.ModelServiceName, path, handler)
	srv.HandleHTTP(webhook.Path, &webhook.Handler{Secrets: s.secrets, Proposer: s.proposer, MaxBytes: s.cfg.MaxSnapshotBytes, Log: s.log})
	c := &compat.Handler{Reader: s.reader, Log: s.log}
	srv.HandleHTTP(compat.QueryPath, http.HandlerFunc(c.Query))
	srv.HandleHTTP(compat.HealthPath, http.HandlerFunc(c.Health))
	srv.ReadyWhen(s.Ready)
	srv.ReadyWhen(server.NATSConnected(s.deps.JS.Conn()))
	srv.ReadyWhen(server.Pinged("postgres", s.deps.Pool))
}

// Ready reports whether the service is started and its read model caught up with the committed
// history.
func (s *Service) Ready(context.Context) error {
	if !s.started.Load() {
		return errors.New("modelsvc is starting")
	}
	return s.reads.Ready()
}

// Run migrates the schema, declares the MODEL stream, opens the snapshot store, and then runs
// until ctx ends: the outbox republisher, the verdict consumer, and the committed-history
// follower.
func (s *Service) Run(ctx context.Context) error {
	if err := s.store.Migrate(ctx); err != nil {
		return fmt.Errorf("modelsvc: %w", err)
	}
	stream, err := modelbus.DeclareStream(ctx, s.deps.JS)
	if err != nil {
		return fmt.Errorf("modelsvc: %w", err)
	}
	snaps, err := modelbus.OpenSnapshots(ctx, s.deps.JS)
	if err != nil {
		return fmt.Errorf("modelsvc: %w", err)
	}
	s.snapshots.Store(snaps)
	s.proposer.Start(snaps)
	s.started.Store(true)
	s.log.InfoContext(ctx, "modelsvc started", "schema", s.cfg.Schema, "repositories", len(s.cfg.Tokens), "webhooks", len(s.cfg.WebhookSecrets))
	verdicts := &events.Consumer{
		JS:      s.deps.JS,
		Stream:  modelbus.Stream,
		Durable: VerdictConsumer,
		Filter:  modelbus.SubjectVerdict + ">",
		Handler: s.proposer.HandleVerdict,
		Log:     s.log,
	}
	err = run.Group(ctx,
		run.Func(func(ctx context.Context) error { return s.proposer.RunOutbox(ctx, s.cfg.OutboxInterval) }),
		verdicts,
		run.Func(func(ctx context.Context) error { return s.reads.Follow(ctx, stream) }),
	)
	if err != nil {
		return fmt.Errorf("modelsvc: %w", err)
	}
	return nil
}
