// Package scheduler is the scheduler service (DESIGN.md §1): it makes committed models real on
// the Yellow data platforms. On every ds.model.committed it computes each platform's intention
// graph and keeps one Temporal schedule per ingestion stream and per cron transformer; it runs
// the workflows that carry a batch through the merge, ingest and security services' activities
// (BatchWorkflow), run transformers (TransformerWorkflow) and bring a platform to a model
// (ReconcileWorkflow); and it answers SchedulerService (list, get, trigger, pause, resume,
// backfill). See README.md.
package scheduler

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
	"github.com/datasurface/datasurface/kit/run"
	"github.com/datasurface/datasurface/kit/server"
	"github.com/datasurface/datasurface/kit/server/temporalready"
	"github.com/datasurface/datasurface/platforms/yellow/batchapi"
	"github.com/datasurface/datasurface/proto/gen/datasurface/scheduler/v1/schedulerv1connect"
	"github.com/datasurface/datasurface/services/scheduler/internal/activities"
	"github.com/datasurface/datasurface/services/scheduler/internal/batches"
	"github.com/datasurface/datasurface/services/scheduler/internal/control"
	"github.com/datasurface/datasurface/services/scheduler/internal/platformevents"
	"github.com/datasurface/datasurface/services/scheduler/internal/reconcile"
	"github.com/datasurface/datasurface/services/scheduler/internal/rpc"
	"github.com/datasurface/datasurface/services/scheduler/internal/workflows"
	"github.com/nats-io/nats.go/jetstream"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
)

// Defaults of Config.
const (
	// CommitConsumer is the durable consumer of ds.model.committed.
	CommitConsumer = "scheduler-commits"
	// TaskQueue is the task queue of the scheduler's workflows and activities.
	TaskQueue = batchapi.TaskQueueScheduler
)

// Config configures the service.
type Config struct {
	// TaskQueue of the scheduler's workflows and activities (default TaskQueue).
	TaskQueue string
	// Durable is the name of the commit consumer (default CommitConsumer).
	Durable string
	// Concurrency bounds the schedule calls of one reconcile (default 16).
	Concurrency int
	// CatchupWindow is how late a missed scheduled batch may still start (default 10 min).
	CatchupWindow time.Duration
	// RetryInitial, RetryMax and RetryAttempts are the activities' retry policy (defaults 1 s,
	// 1 min, 10 attempts).
	RetryInitial  time.Duration
	RetryMax      time.Duration
	RetryAttempts int32
	// MergeDSN, when set, is the merge database of every platform for reading batches
	// (development and tests); otherwise the model's mergeDatabase and mergeCredential.
	MergeDSN string
	// NoWorker: this process does not run the workflow worker (another replica does).
	NoWorker bool
	// TemporalNamespace is the namespace of Deps.Temporal (default "default"): the reconciler
	// registers the schedules' fingerprint search attribute there (reconcile.SpecAttribute).
	TemporalNamespace string
}

// Secrets resolves a USER_PASSWORD credential through a PSP's credential store (model.md
// §4.16).
type Secrets = batches.Secrets

// Deps are the service's connections.
type Deps struct {
	// Temporal is the client of the Temporal namespace (required).
	Temporal client.Client
	// JS reaches the MODEL stream and the snapshot store (required).
	JS jetstream.JetStream
	// Secrets resolves merge credentials for GetStream (optional with Config.MergeDSN).
	Secrets Secrets
	Log     *slog.Logger
}

// Service is the scheduler.
type Service struct {
	cfg        Config
	deps       Deps
	log        *slog.Logger
	reconciler *reconcile.Reconciler
	handler    *rpc.Handler
	control    *control.Control
	reader     *batches.Reader
	workflows  *workflows.Workflows
	models     *modelbus.Reader
	events     *platformevents.Publisher
	started    atomic.Bool // the start-up reconcile is done (Ready)
}

// New checks cfg and deps and builds the service; nothing is connected until Run.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.Temporal == nil || deps.JS == nil {
		return nil, errors.New("scheduler: Deps.Temporal and Deps.JS are required")
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.TaskQueue == "" {
		cfg.TaskQueue = TaskQueue
	}
	if cfg.Durable == "" {
		cfg.Durable = CommitConsumer
	}
	log := deps.Log.With("service", "scheduler")
	s := &Service{cfg: cfg, deps: deps, log: log, models: modelbus.NewReader(deps.JS),
		events: &platformevents.Publisher{JS: deps.JS, Log: log}}
	s.reconciler = reconcile.New(reconcile.Config{
		TaskQueue: cfg.TaskQueue, Concurrency: cfg.Concurrency, CatchupWindow: cfg.CatchupWindow, Events: s.events,
		Namespace: cfg.TemporalNamespace,
	}, deps.Temporal, s.models, log)
	s.reader = &batches.Reader{DSN: cfg.MergeDSN, Secrets: deps.Secrets}
	s.control = &control.Control{
		Plans:     s.reconciler,
		Schedules: deps.Temporal.ScheduleClient(),
		Batches:   s.reader,
		Signal:    workflows.Starter{Client: deps.Temporal, TaskQueue: cfg.TaskQueue},
	}
	s.handler = &rpc.Handler{Control: s.control, Log: log}
	s.workflows = workflows.New(workflows.Options{Retry: workflows.Retry{
		Initial: cfg.RetryInitial, Max: cfg.RetryMax, Attempts: cfg.RetryAttempts,
	}})
	return s, nil
}

// Register mounts SchedulerService on srv.
func (s *Service) Register(srv *server.Server) {
	path, h := schedulerv1connect.NewSchedulerServiceHandler(s.handler, connect.WithInterceptors(metrics.ConnectInterceptor()))
	srv.Handle(schedulerv1connect.SchedulerServiceName, path, h)
	srv.ReadyWhen(s.Ready)
	srv.ReadyWhen(server.NATSConnected(s.deps.JS.Conn()))
	srv.ReadyWhen(temporalready.Reachable(s.deps.Temporal))
}

// Ready reports whether the start-up reconcile is done: the latest committed model applied, or
// nothing committed yet (a fresh deployment is ready before its first push; its RPCs then answer
// Unavailable until a model is committed, and the commit consumer reconciles it).
func (s *Service) Ready(context.Context) error {
	if !s.started.Load() {
		return errors.New("reconciling the latest committed model")
	}
	return nil
}

// Run opens the MODEL stream and the snapshot store, declares the OPS stream (ds.platform.*),
// reconciles the latest committed model, then runs the workflow worker and the commit consumer
// until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	defer s.reader.Close()
	if _, err := modelbus.DeclareStream(ctx, s.deps.JS); err != nil {
		return err
	}
	if _, err := modelbus.OpenSnapshots(ctx, s.deps.JS); err != nil {
		return err
	}
	if err := s.events.Declare(ctx); err != nil {
		return err
	}
	comps := []run.Component{s.reconcileLatest(), s.observed(s.reconciler.Consumer(events.Consumer{JS: s.deps.JS, Durable: s.cfg.Durable, Log: s.log}))}
	if !s.cfg.NoWorker {
		comps = append(comps, run.Func(s.runWorker))
	}
	return run.Group(ctx, comps...)
}

// reconcileLatest applies the latest committed model once at start (the consumer skips what
// is older), retrying until it succeeds or ctx ends.
func (s *Service) reconcileLatest() run.Func {
	return func(ctx context.Context) error {
		for delay := time.Second; ; delay = min(2*delay, time.Minute) {
			v, d, err := s.models.Head(ctx)
			if err == nil && v > 0 {
				var sum reconcile.Summary
				sum, err = s.reconciler.Apply(ctx, v, d)
				s.observeReconcile(err)
				if err == nil {
					s.log.InfoContext(ctx, "latest model reconciled", "version", v, "created", len(sum.Created),
						"updated", len(sum.Updated), "deleted", len(sum.Deleted), "unchanged", sum.Unchanged)
				}
			}
			if err == nil {
				s.started.Store(true)
				<-ctx.Done()
				return nil
			}
			s.log.WarnContext(ctx, "reconciling the latest model failed; retrying", "err", err, "in", delay)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(delay):
			}
		}
	}
}

func (s *Service) runWorker(ctx context.Context) error {
	w := worker.New(s.deps.Temporal, s.cfg.TaskQueue, workerOptions())
	workflows.Register(w, s.workflows)
	activities.Register(w, &activities.Activities{
		Models:    s.models,
		Schedules: s.deps.Temporal.ScheduleClient(),
		Starter:   workflows.Starter{Client: s.deps.Temporal, TaskQueue: s.cfg.TaskQueue},
		Events:    s.events,
		Log:       s.log,
	})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start the worker on %s: %w", s.cfg.TaskQueue, err)
	}
	<-ctx.Done()
	w.Stop()
	return nil
}
