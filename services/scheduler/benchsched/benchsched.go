// Package benchsched measures the scheduler for `datasurface bench --suite scheduler` and the
// Go benchmarks: one commit that adds n ingestion streams reconciled against a Temporal server
// (n schedules created), the same commit again (nothing to do), the same commit applied by a
// restarted scheduler (one listing, nothing described), and a commit removing them.
package benchsched

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/scheduler/internal/reconcile"
	"github.com/datasurface/datasurface/services/scheduler/internal/testmodel"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

// ReconcileResult is one measured reconcile of n new streams.
type ReconcileResult struct {
	Streams int
	// Load is the time to build and load the committed model (not part of the reconcile).
	Load time.Duration
	// Created: the commit adding the streams (its schedules created); Again: the same commit
	// applied again by the same reconciler (nothing to do); Fresh: the same commit applied by a
	// new reconciler right away (the listing may not show every new schedule yet: those are
	// described); Restart: the same commit applied by another new reconciler once the listing
	// shows every schedule with its fingerprint (a restarted scheduler); Deleted: the commit
	// removing them.
	Created, Again, Fresh, Restart, Deleted time.Duration
	// FreshDescribed and RestartDescribed are the schedules those reconcilers described one
	// by one; Listed is how long the listing took to show every fingerprint after Fresh.
	FreshDescribed, RestartDescribed int
	Listed                           time.Duration
	Concurrency                      int
}

// Reconcile measures a commit adding n streams (on a cron, so their schedules are active)
// against the Temporal server of c, with concurrency schedule calls in flight (0: the
// scheduler's default). ReconcileWorkflows are not started (nothing would run them): the
// figure is the schedules'.
func Reconcile(ctx context.Context, c client.Client, n, concurrency int) (ReconcileResult, error) {
	res := ReconcileResult{Streams: n, Concurrency: concurrency}
	began := time.Now()
	ms := &models{}
	big, err := ms.add(testmodel.Model{Stores: testmodel.Stores(n, "*/15 * * * *")})
	if err != nil {
		return res, err
	}
	base, err := ms.add(testmodel.Model{})
	if err != nil {
		return res, err
	}
	res.Load = time.Since(began)
	cfg := reconcile.Config{NoReconcileWorkflows: true, Concurrency: concurrency}
	r := reconcile.New(cfg, c, ms, slog.New(slog.DiscardHandler))
	s, err := r.Apply(ctx, 2, big)
	if err != nil {
		return res, fmt.Errorf("reconcile %d new streams: %w", n, err)
	}
	if len(s.Created) < n {
		return res, fmt.Errorf("reconcile %d new streams: %d schedules created", n, len(s.Created))
	}
	res.Created = s.Duration
	if s, err = r.Apply(ctx, 2, big); err != nil {
		return res, fmt.Errorf("the same commit again: %w", err)
	}
	if len(s.Changes) != 0 {
		return res, fmt.Errorf("the same commit again changed %d schedules", len(s.Changes))
	}
	res.Again = s.Duration
	fresh := reconcile.New(cfg, c, ms, slog.New(slog.DiscardHandler))
	if s, err = fresh.Apply(ctx, 2, big); err != nil {
		return res, fmt.Errorf("the same commit, fresh reconciler: %w", err)
	}
	if len(s.Changes) != 0 {
		return res, fmt.Errorf("the same commit, fresh reconciler, changed %d schedules", len(s.Changes))
	}
	res.Fresh, res.FreshDescribed = s.Duration, s.Described
	listedAt := time.Now()
	if err := awaitListed(ctx, c, ms, big); err != nil {
		return res, err
	}
	res.Listed = time.Since(listedAt)
	restarted := reconcile.New(cfg, c, ms, slog.New(slog.DiscardHandler))
	if s, err = restarted.Apply(ctx, 2, big); err != nil {
		return res, fmt.Errorf("the same commit, restarted scheduler: %w", err)
	}
	if len(s.Changes) != 0 {
		return res, fmt.Errorf("the same commit, restarted scheduler, changed %d schedules", len(s.Changes))
	}
	res.Restart, res.RestartDescribed = s.Duration, s.Described
	if s, err = restarted.Apply(ctx, 3, base); err != nil {
		return res, fmt.Errorf("remove %d streams: %w", n, err)
	}
	if len(s.Deleted) != n {
		return res, fmt.Errorf("remove %d streams: %d deleted", n, len(s.Deleted))
	}
	res.Deleted = s.Duration
	return res, nil
}

// awaitListed waits (at most a minute) until ListSchedules shows every schedule of the model of
// digest d with its fingerprint (reconcile.SpecAttribute): the listing is eventually consistent,
// and a scheduler restarted later finds it so.
func awaitListed(ctx context.Context, c client.Client, ms *models, d string) error {
	m, err := ms.Model(ctx, 2, d)
	if err != nil {
		return err
	}
	want := map[string]string{}
	for _, s := range reconcile.NewPlan(m, 2, d).Schedules {
		want[s.ID] = s.Fingerprint
	}
	deadline := time.Now().Add(time.Minute)
	for {
		it, err := c.ScheduleClient().List(ctx, client.ScheduleListOptions{PageSize: 1000})
		if err != nil {
			return fmt.Errorf("list schedules: %w", err)
		}
		ok := 0
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				return fmt.Errorf("list schedules: %w", err)
			}
			var fp string
			if p := e.SearchAttributes.GetIndexedFields()[reconcile.SpecAttribute]; p != nil {
				_ = converter.GetDefaultDataConverter().FromPayload(p, &fp)
			}
			if fp != "" && want[e.ID] == fp {
				ok++
			}
		}
		if ok == len(want) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after a minute the schedule listing shows %d of %d schedules with their fingerprint", ok, len(want))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// models is an in-memory committed-model store by digest.
type models struct {
	mu  sync.Mutex
	byD map[string]*modelv1.Model
}

func (m *models) add(x testmodel.Model) (string, error) {
	mod, d, err := x.Load()
	if err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byD == nil {
		m.byD = map[string]*modelv1.Model{}
	}
	m.byD[d] = mod
	return d, nil
}

func (m *models) Model(_ context.Context, v int64, d string) (*modelv1.Model, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if x := m.byD[d]; x != nil {
		return x, nil
	}
	return nil, fmt.Errorf("model version %d: digest %s unknown", v, d)
}

func (m *models) Remember(int64, string) {}
