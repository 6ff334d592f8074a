package security

import (
	"context"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/datasurface/datasurface/kit/metrics/temporalmetrics"
	"github.com/datasurface/datasurface/kit/server/temporalready"
	"github.com/datasurface/datasurface/platforms/yellow/batchapi"
)

// ActivityPrepare is the name Activities.Prepare is registered under (not yet called by the
// scheduler).
const ActivityPrepare = "Prepare"

// Worker adapts the activities to the scheduler's contract (batchapi): batchapi input and result
// structs, and permanent errors as non-retryable Temporal application errors of type
// batchapi.ErrPermanent.
type Worker struct {
	a *Activities
}

// NewWorkerAdapter returns the adapter of a.
func NewWorkerAdapter(a *Activities) *Worker { return &Worker{a: a} }

// RegisterWorker registers the activities of a under their batchapi names on r.
func RegisterWorker(r worker.ActivityRegistry, a *Activities) {
	w := NewWorkerAdapter(a)
	r.RegisterActivityWithOptions(w.ApplyGrants, activity.RegisterOptions{Name: batchapi.ApplyGrants})
	r.RegisterActivityWithOptions(w.Prepare, activity.RegisterOptions{Name: ActivityPrepare})
}

// NewTemporalWorker returns a worker on task queue batchapi.TaskQueueSecurity with the
// activities of a registered and recorded (kit/metrics/temporalmetrics, metrics.go); the caller
// runs it. The worker is a *temporalready.Worker: its Ready method is a readiness check (started,
// and Temporal reachable) for kit/server's ReadyWhen.
func NewTemporalWorker(c client.Client, a *Activities, opts worker.Options) worker.Worker {
	opts.Interceptors = append(opts.Interceptors, temporalmetrics.Interceptor("security"))
	w := worker.New(c, batchapi.TaskQueueSecurity, opts)
	RegisterWorker(w, a)
	return temporalready.Wrap(c, batchapi.TaskQueueSecurity, w)
}

// ApplyGrants is Activities.ApplyGrants with the batchapi structs.
func (w *Worker) ApplyGrants(ctx context.Context, in batchapi.ApplyGrantsInput) (batchapi.ApplyGrantsResult, error) {
	res, err := w.a.ApplyGrants(ctx, ApplyGrantsInput{Platform: in.Platform, ModelVersion: in.ModelVersion})
	observeApply(in.Platform, res, err)
	return grantsResult(res), TemporalError(err)
}

// Prepare is Activities.Prepare with the batchapi structs.
func (w *Worker) Prepare(ctx context.Context, in batchapi.ApplyGrantsInput) (batchapi.ApplyGrantsResult, error) {
	res, err := w.a.Prepare(ctx, ApplyGrantsInput{Platform: in.Platform, ModelVersion: in.ModelVersion})
	return grantsResult(res), TemporalError(err)
}

func grantsResult(r ApplyGrantsResult) batchapi.ApplyGrantsResult {
	return batchapi.ApplyGrantsResult{Changed: r.Actions > 0, Statements: len(r.Applied)}
}

// TemporalError converts an activity error for Temporal: a permanent error becomes a
// non-retryable application error of type batchapi.ErrPermanent; other errors are returned as
// they are (retried).
func TemporalError(err error) error {
	if err == nil {
		return nil
	}
	if IsPermanent(err) {
		return temporal.NewNonRetryableApplicationError(err.Error(), batchapi.ErrPermanent, err)
	}
	return err
}
