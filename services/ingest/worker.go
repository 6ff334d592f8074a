package ingest

import (
	"context"
	"errors"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/datasurface/datasurface/kit/metrics/temporalmetrics"
	"github.com/datasurface/datasurface/kit/server/temporalready"
	"github.com/datasurface/datasurface/platforms/yellow/batchapi"
)

// Worker adapts the activities to the scheduler's contract (batchapi): batchapi input and result
// structs, and errors as Temporal application errors (permanent ones non-retryable, of type
// batchapi.ErrPermanent; a busy stream of type batchapi.ErrStreamBusy, retryable).
type Worker struct {
	a *Activities
}

// NewWorkerAdapter returns the adapter of a.
func NewWorkerAdapter(a *Activities) *Worker { return &Worker{a: a} }

// RegisterWorker registers the activities of a under their batchapi names on r.
func RegisterWorker(r worker.ActivityRegistry, a *Activities) {
	w := NewWorkerAdapter(a)
	r.RegisterActivityWithOptions(w.IngestBatch, activity.RegisterOptions{Name: batchapi.IngestBatch})
}

// NewTemporalWorker returns a worker on task queue batchapi.TaskQueueIngest with the activities
// of a registered and recorded (kit/metrics/temporalmetrics, metrics.go); the caller runs it (Run
// or Start/Stop). The worker is a *temporalready.Worker: its Ready method is a readiness check
// (started, and Temporal reachable) for kit/server's ReadyWhen.
func NewTemporalWorker(c client.Client, a *Activities, opts worker.Options) worker.Worker {
	opts.Interceptors = append(opts.Interceptors, temporalmetrics.Interceptor("ingest"))
	w := worker.New(c, batchapi.TaskQueueIngest, opts)
	RegisterWorker(w, a)
	return temporalready.Wrap(c, batchapi.TaskQueueIngest, w)
}

// IngestBatch is Activities.IngestBatch with the batchapi structs.
func (w *Worker) IngestBatch(ctx context.Context, in batchapi.IngestBatchInput) (batchapi.IngestBatchResult, error) {
	res, err := w.a.IngestBatch(ctx, IngestBatchInput{
		Platform: in.Platform, Stream: in.Stream, BatchID: in.BatchID,
		ModelVersion: in.ModelVersion, ModelDigest: in.ModelDigest,
	})
	out := batchapi.IngestBatchResult{
		Platform: res.Platform, Stream: res.Stream, BatchID: res.BatchID, Status: res.Status,
		AlreadyIngested: res.AlreadyIngested, Capture: res.Capture, Rows: res.Rows, Total: res.Total,
		Rejected: res.Rejected, Replayed: res.Replayed, Bytes: res.Bytes, Duration: res.Duration,
		DataTime: res.DataTime,
	}
	observeIngest(in, out, err)
	return out, TemporalError(err)
}

// TemporalError converts an activity error for Temporal: a permanent error becomes a
// non-retryable application error of type batchapi.ErrPermanent, a busy stream a retryable one
// of type batchapi.ErrStreamBusy; other errors are returned as they are (retried).
func TemporalError(err error) error {
	if err == nil {
		return nil
	}
	if IsPermanent(err) {
		return temporal.NewNonRetryableApplicationError(err.Error(), batchapi.ErrPermanent, err)
	}
	var e *Error
	if errors.As(err, &e) && e.Code == CodeStreamBusy {
		return temporal.NewApplicationErrorWithCause(err.Error(), batchapi.ErrStreamBusy, err)
	}
	return err
}
