package main

import (
	"context"
	"errors"
	"os"

	"github.com/nats-io/nats.go/jetstream"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/datasurface/datasurface/kit/modelbus"
	"github.com/datasurface/datasurface/kit/server"
	"github.com/datasurface/datasurface/services/ingest"
	"github.com/datasurface/datasurface/services/merge"
	"github.com/datasurface/datasurface/services/scheduler"
	"github.com/datasurface/datasurface/services/security"
)

// The services that run on Temporal: the scheduler (workflows) and the activity workers of
// ingest, merge and security, each on its task queue (platforms/yellow/batchapi).

func buildScheduler(d serveDeps) (component, error) {
	return scheduler.New(scheduler.Config{TemporalNamespace: d.cfg.TemporalNamespace}, scheduler.Deps{Temporal: d.temporal, JS: d.js, Secrets: d.secrets(), Log: d.log})
}

func buildIngest(d serveDeps) (component, error) {
	svc, err := ingest.New(ingestConfig(d.cfg), ingest.Deps{Log: d.log, Models: d.models, Latest: d.models, Secrets: d.secrets(), JS: d.js})
	if err != nil {
		return nil, err
	}
	return &temporalWorker{w: ingest.NewTemporalWorker(d.temporal, svc.Activities(), worker.Options{}), register: svc.Register}, nil
}

// ingestConfig is the ingest service's configuration from serve's flags.
func ingestConfig(cfg serveConfig) ingest.Config { return cfg.ingestFlags.config() }

func buildMerge(d serveDeps) (component, error) {
	svc, err := merge.New(merge.Config{}, merge.Deps{Log: d.log, Models: d.models, Latest: d.models, Secrets: d.secrets(), JS: d.js})
	if err != nil {
		return nil, err
	}
	return &temporalWorker{w: merge.NewTemporalWorker(d.temporal, svc.Activities(), worker.Options{}), close: svc.Close, register: svc.Register}, nil
}

func buildSecurity(d serveDeps) (component, error) {
	svc, err := security.New(security.Config{}, security.Deps{JS: d.js, Secrets: security.CredentialStores(d.lookupEnv), Log: d.log})
	if err != nil {
		return nil, err
	}
	return &securityComponent{Service: svc, worker: &temporalWorker{w: security.NewTemporalWorker(d.temporal, svc.Activities(), worker.Options{})}}, nil
}

// securityComponent runs the security service (Connect handlers, commit consumer, drift
// check) and its activity worker.
type securityComponent struct {
	*security.Service
	worker *temporalWorker
}

// Register mounts the security service's handlers and readiness, and its worker's readiness.
func (s *securityComponent) Register(srv *server.Server) {
	s.Service.Register(srv)
	s.worker.Register(srv)
}

func (s *securityComponent) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.worker.Run(ctx) }()
	err := s.Service.Run(ctx)
	return errors.Join(err, <-errc)
}

// temporalWorker runs a Temporal worker until ctx ends; register mounts the service's Connect
// handlers (nil: none).
type temporalWorker struct {
	w        worker.Worker
	close    func()
	register func(*server.Server)
}

// Register mounts the Connect handlers and makes /readyz wait for the worker: started and
// its Temporal frontend reachable (kit/server/temporalready).
func (t *temporalWorker) Register(srv *server.Server) {
	if t.register != nil {
		t.register(srv)
	}
	if r, ok := t.w.(interface{ Ready(context.Context) error }); ok {
		srv.ReadyWhen(r.Ready)
	}
}

func (t *temporalWorker) Run(ctx context.Context) error {
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

// dialTemporal connects to the Temporal frontend; the SDK logs through log.
func dialTemporal(ctx context.Context, d serveDeps) (client.Client, error) {
	if d.cfg.Temporal == "" {
		return nil, errors.New("--temporal (or " + envName("temporal") + ") is required")
	}
	return client.DialContext(ctx, client.Options{
		HostPort:  d.cfg.Temporal,
		Namespace: d.cfg.TemporalNamespace,
		Logger:    temporalLogger(d),
	})
}

func (d serveDeps) lookupEnv(k string) (string, bool) {
	if d.getenv == nil {
		return os.LookupEnv(k)
	}
	v := d.getenv(k)
	return v, v != ""
}

// secrets resolves credentials through the PSP's credential store (env and file stores).
func (d serveDeps) secrets() runBatchSecrets {
	return runBatchSecrets{store: ingest.Credentials{LookupEnv: d.lookupEnv, ReadFile: os.ReadFile}}
}

// busModels gives committed models by version (and digest) from the MODEL stream and the
// snapshot store, for the ingest and merge activities: the shared kit/modelbus.Reader.
type busModels = modelbus.Reader

// newBusModels returns the committed-model reader serve shares between ingest and merge.
func newBusModels(js jetstream.JetStream) *busModels { return modelbus.NewReader(js) }

func temporalLogger(d serveDeps) tlog.Logger {
	return tlog.NewStructuredLogger(d.log.With("component", "temporal"))
}
