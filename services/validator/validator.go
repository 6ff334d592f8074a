// Package validator is the control plane's gate service (DESIGN.md §1): it decides every
// proposed model change. One ordered durable consumer of ds.model.proposed.> runs each proposal
// through the gate of `datasurface validate` (lint, change source, authorization,
// compatibility, with the committed history) against the head committed model, publishes
// ds.model.committed (version = head + 1, only ever once per version) for an accepted change and
// then the verdict ds.model.verdict.<id>. The Connect ValidatorService runs the same check
// synchronously and publishes nothing.
package validator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/kit/events"
	"github.com/datasurface/datasurface/kit/metrics"
	"github.com/datasurface/datasurface/kit/modelbus"
	"github.com/datasurface/datasurface/kit/server"
	"github.com/datasurface/datasurface/proto/gen/datasurface/validator/v1/validatorv1connect"
	"github.com/datasurface/datasurface/services/validator/internal/check"
	"github.com/datasurface/datasurface/services/validator/internal/decide"
	"github.com/datasurface/datasurface/services/validator/internal/history"
	"github.com/datasurface/datasurface/services/validator/internal/rpc"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of Config.
const (
	DefaultDurable         = "validator"
	DefaultCacheModels     = 8
	DefaultAckWait         = 30 * time.Second
	DefaultMaxDeliver      = 100
	DefaultMaxRequestBytes = 129 << 20 // two 64 MiB snapshots and the rest of the request
)

// Config configures the service.
type Config struct {
	// Durable names the consumer of ds.model.proposed.> (default "validator"). Instances that
	// share it share the work, one proposal at a time.
	Durable string
	// ToolVersion is the datasurface version reported in every report.
	ToolVersion string
	// CacheModels is how many fully loaded committed models are kept (default 8).
	CacheModels int
	// AckWait is how long a delivered proposal may take before it is redelivered (default 30 s).
	AckWait time.Duration
	// MaxDeliver bounds the deliveries of one proposal that keeps failing (default 100, with
	// back-off up to 5 s); it is then terminated and logged without a verdict.
	MaxDeliver int
	// MaxRequestBytes limits a Validate request (default 129 MiB).
	MaxRequestBytes int
}

// Deps are the service's connections.
type Deps struct {
	JS  jetstream.JetStream
	Log *slog.Logger
}

// Service is the validator.
type Service struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	checker atomic.Pointer[check.Checker]
}

// New checks cfg and builds the service; nothing is connected until Run.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.JS == nil {
		return nil, errors.New("validator: Deps.JS is required")
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Durable == "" {
		cfg.Durable = DefaultDurable
	}
	if cfg.CacheModels <= 0 {
		cfg.CacheModels = DefaultCacheModels
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = DefaultAckWait
	}
	if cfg.MaxDeliver <= 0 {
		cfg.MaxDeliver = DefaultMaxDeliver
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = DefaultMaxRequestBytes
	}
	return &Service{cfg: cfg, deps: deps, log: deps.Log.With("service", "validator")}, nil
}

// Register mounts the Connect ValidatorService on srv (its requests counted by
// kit/metrics) and makes readiness wait for Run and a NATS connection.
func (s *Service) Register(srv *server.Server) {
	h := &rpc.Handler{Checker: s.checker.Load, Log: s.log}
	path, handler := validatorv1connect.NewValidatorServiceHandler(h, connect.WithReadMaxBytes(s.cfg.MaxRequestBytes),
		connect.WithInterceptors(metrics.ConnectInterceptor()))
	srv.Handle(validatorv1connect.ValidatorServiceName, path, handler)
	srv.ReadyWhen(s.Ready)
}

// Ready reports whether Run has declared the stream, read the committed history and is about
// to consume proposals, and NATS is connected.
func (s *Service) Ready(ctx context.Context) error {
	if s.checker.Load() == nil {
		return errors.New("validator is starting")
	}
	return server.NATSConnected(s.deps.JS.Conn())(ctx)
}

// Run declares the MODEL stream, opens the snapshot store, reads the committed history and then
// decides proposals until ctx ends. Call it once per Service.
func (s *Service) Run(ctx context.Context) error {
	stream, err := modelbus.DeclareStream(ctx, s.deps.JS)
	if err != nil {
		return fmt.Errorf("validator: %w", err)
	}
	snaps, err := modelbus.OpenSnapshots(ctx, s.deps.JS)
	if err != nil {
		return fmt.Errorf("validator: %w", err)
	}
	hist := history.New(stream, snaps, s.cfg.CacheModels, s.log)
	head, err := hist.Head(ctx)
	if err != nil {
		return fmt.Errorf("validator: %w", err)
	}
	checker := check.New(hist, s.cfg.ToolVersion)
	d := &decide.Decider{JS: s.deps.JS, Stream: stream, History: hist, Checker: checker, Log: s.log, Now: time.Now}
	proposals := &events.Consumer{
		JS:         s.deps.JS,
		Stream:     modelbus.Stream,
		Durable:    s.cfg.Durable,
		Filter:     modelbus.SubjectProposed + ">",
		MaxDeliver: s.cfg.MaxDeliver,
		AckWait:    s.cfg.AckWait,
		Handler:    d.Handle,
		Log:        s.log,
		OnPoison: func(ctx context.Context, e events.Event, err error) {
			s.log.ErrorContext(ctx, "proposal dropped without a verdict", "subject", e.Subject, "event", e.ID, "delivered", e.Delivered, "err", err)
		},
	}
	s.checker.Store(checker)
	var headVersion int64
	if head != nil {
		headVersion = head.Number
	}
	s.log.InfoContext(ctx, "validator started", "durable", s.cfg.Durable, "head_version", headVersion)
	if err := proposals.Run(ctx); err != nil {
		return fmt.Errorf("validator: %w", err)
	}
	return nil
}
