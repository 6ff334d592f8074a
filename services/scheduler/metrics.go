package scheduler

import (
	"context"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/datasurface/datasurface/kit/events"
	"github.com/datasurface/datasurface/kit/metrics"
	"github.com/datasurface/datasurface/kit/metrics/temporalmetrics"
)

// Metrics of the scheduler (docs/metrics.md). The workflows its worker runs (BatchWorkflow,
// TransformerWorkflow, ReconcileWorkflow) and their activities are counted by
// kit/metrics/temporalmetrics (service "scheduler").
var (
	reconciles = metrics.Counter("scheduler_reconciles_total",
		"Committed model versions the scheduler reconciled its schedules to, by result (ok, error; an error is retried).",
		"result")
	schedules = metrics.Gauge("scheduler_schedules",
		"Temporal schedules of the last reconciled model, by platform and kind (batch, transformer).",
		"platform", "kind")
)

// workerOptions are the options of the scheduler's workflow worker: its workflows and
// activities are recorded.
func workerOptions() worker.Options {
	return worker.Options{Interceptors: []interceptor.WorkerInterceptor{temporalmetrics.Interceptor("scheduler")}}
}

// observed wraps the commit consumer's handler so that every reconcile is recorded.
func (s *Service) observed(c *events.Consumer) *events.Consumer {
	h := c.Handler
	c.Handler = func(ctx context.Context, e events.Event) error {
		err := h(ctx, e)
		s.observeReconcile(err)
		return err
	}
	return c
}

// observeReconcile counts one reconcile and, after a successful one, sets the schedule gauge
// from the applied plan.
func (s *Service) observeReconcile(err error) {
	if err != nil {
		reconciles.WithLabelValues("error").Inc()
		return
	}
	reconciles.WithLabelValues("ok").Inc()
	plan := s.reconciler.Plan()
	if plan == nil {
		return
	}
	counts := map[[2]string]int{}
	for _, sc := range plan.Schedules {
		counts[[2]string{sc.Platform, sc.Kind}]++
	}
	schedules.Reset()
	for k, n := range counts {
		schedules.WithLabelValues(k[0], k[1]).Set(float64(n))
	}
}
