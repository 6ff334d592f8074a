package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/proto"

	"github.com/datasurface/datasurface/kit/modelbus"
	"github.com/datasurface/datasurface/kit/server"
	"github.com/datasurface/datasurface/model/load"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/ingest"
	"github.com/datasurface/datasurface/services/merge"
	"github.com/datasurface/datasurface/services/scheduler"
	"github.com/datasurface/datasurface/services/security"
)

// The services that run on Temporal: the scheduler (workflows) and the activity workers of
// ingest, merge and security, each on its task queue (platforms/yellow/batchapi).

func buildScheduler(d serveDeps) (component, error) {
	return scheduler.New(scheduler.Config{}, scheduler.Deps{Temporal: d.temporal, JS: d.js, Secrets: d.secrets(), Log: d.log})
}

func buildIngest(d serveDeps) (component, error) {
	svc, err := ingest.New(ingest.Config{}, ingest.Deps{Log: d.log, Models: d.models, Secrets: d.secrets()})
	if err != nil {
		return nil, err
	}
	return &temporalWorker{w: ingest.NewTemporalWorker(d.temporal, svc.Activities(), worker.Options{})}, nil
}

func buildMerge(d serveDeps) (component, error) {
	svc, err := merge.New(merge.Config{}, merge.Deps{Log: d.log, Models: d.models, Secrets: d.secrets()})
	if err != nil {
		return nil, err
	}
	return &temporalWorker{w: merge.NewTemporalWorker(d.temporal, svc.Activities(), worker.Options{}), close: svc.Close}, nil
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

func (s *securityComponent) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.worker.Run(ctx) }()
	err := s.Service.Run(ctx)
	return errors.Join(err, <-errc)
}

// temporalWorker runs a Temporal worker until ctx ends.
type temporalWorker struct {
	w     worker.Worker
	close func()
}

func (t *temporalWorker) Register(*server.Server) {}

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
// snapshot store, for the ingest and merge activities. It keeps the last few loaded.
type busModels struct {
	js jetstream.JetStream

	mu      sync.Mutex
	stream  jetstream.Stream
	snaps   *modelbus.Snapshots
	digests map[int64]string
	next    uint64
	cache   map[string]*modelv1.Model
	order   []string
}

func (b *busModels) Model(ctx context.Context, v int64, digest string) (*modelv1.Model, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stream == nil {
		s, err := modelbus.DeclareStream(ctx, b.js)
		if err != nil {
			return nil, err
		}
		snaps, err := modelbus.OpenSnapshots(ctx, b.js)
		if err != nil {
			return nil, err
		}
		b.stream, b.snaps, b.digests, b.next, b.cache = s, snaps, map[int64]string{}, 1, map[string]*modelv1.Model{}
	}
	if digest == "" {
		if _, ok := b.digests[v]; !ok {
			if err := b.sync(ctx); err != nil {
				return nil, err
			}
		}
		d, ok := b.digests[v]
		if !ok {
			return nil, fmt.Errorf("model version %d is not committed", v)
		}
		digest = d
	}
	if m, ok := b.cache[digest]; ok {
		return m, nil
	}
	snap, err := b.snaps.Get(ctx, digest)
	if err != nil {
		return nil, fmt.Errorf("model version %d: %w", v, err)
	}
	files := make([]load.File, 0, len(snap.GetFiles()))
	for _, f := range snap.GetFiles() {
		files = append(files, load.File{Path: f.GetPath(), Content: f.GetContent()})
	}
	res, err := load.Files(files, load.Options{Lenient: true})
	if err != nil {
		return nil, fmt.Errorf("load model version %d: %w", v, err)
	}
	if len(b.order) >= 4 {
		delete(b.cache, b.order[0])
		b.order = b.order[1:]
	}
	b.cache[digest] = res.Model
	b.order = append(b.order, digest)
	return res.Model, nil
}

// sync indexes the committed events after the last one read.
func (b *busModels) sync(ctx context.Context) error {
	last, err := modelbus.LastCommitted(ctx, b.stream)
	if err != nil || last == nil {
		return err
	}
	for b.next <= last.Sequence {
		m, err := b.stream.GetMsg(ctx, b.next, jetstream.WithGetMsgSubject(modelbus.SubjectCommitted))
		if err != nil {
			return fmt.Errorf("read committed history from stream sequence %d: %w", b.next, err)
		}
		ev := &eventsv1.ModelCommitted{}
		if err := proto.Unmarshal(m.Data, ev); err != nil {
			return fmt.Errorf("decode committed event at stream sequence %d: %w", m.Sequence, err)
		}
		b.digests[ev.GetVersion()] = ev.GetDigest()
		b.next = m.Sequence + 1
	}
	return nil
}

func temporalLogger(d serveDeps) tlog.Logger {
	return tlog.NewStructuredLogger(d.log.With("component", "temporal"))
}
