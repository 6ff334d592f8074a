package merge

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

// Names of the activities the scheduler does not call yet (registered under their method names).
const (
	ActivityPruneStaging = "PruneStaging"
	ActivityLag          = "Lag"
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
	for name, fn := range map[string]any{
		batchapi.ReconcileTables: w.ReconcileTables,
		batchapi.StartBatch:      w.StartBatch,
		batchapi.MergeBatch:      w.MergeBatch,
		batchapi.FailBatch:       w.FailBatch,
		batchapi.ReconcileViews:  w.ReconcileViews,
		batchapi.RunTransformer:  w.RunTransformer,
		ActivityPruneStaging:     w.PruneStaging,
		ActivityLag:              w.Lag,
	} {
		r.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
}

// NewTemporalWorker returns a worker on task queue batchapi.TaskQueueMerge with the activities
// of a registered and recorded (kit/metrics/temporalmetrics, metrics.go); the caller runs it.
// The worker is a *temporalready.Worker: its Ready method is a readiness check (started, and
// Temporal reachable) for kit/server's ReadyWhen.
func NewTemporalWorker(c client.Client, a *Activities, opts worker.Options) worker.Worker {
	opts.Interceptors = append(opts.Interceptors, temporalmetrics.Interceptor("merge"))
	w := worker.New(c, batchapi.TaskQueueMerge, opts)
	RegisterWorker(w, a)
	return temporalready.Wrap(c, batchapi.TaskQueueMerge, w)
}

func version(v int64) Version { return Version{ModelVersion: v} }

// ReconcileTables is Activities.ReconcileTables with the batchapi structs.
func (w *Worker) ReconcileTables(ctx context.Context, in batchapi.ReconcileTablesInput) (batchapi.ReconcileTablesResult, error) {
	res, err := w.a.ReconcileTables(ctx, ReconcileTablesInput{Platform: in.Platform, Version: version(in.ModelVersion), Streams: in.Streams})
	var out batchapi.ReconcileTablesResult
	for _, c := range res.Changes {
		out.Changes = append(out.Changes, batchapi.TableChange(c))
	}
	return out, TemporalError(err)
}

// StartBatch is Activities.StartBatch with the batchapi structs.
func (w *Worker) StartBatch(ctx context.Context, in batchapi.StartBatchInput) (batchapi.StartBatchResult, error) {
	res, err := w.a.StartBatch(ctx, StartBatchInput{Platform: in.Platform, Stream: in.Stream, Version: version(in.ModelVersion)})
	return batchapi.StartBatchResult(res), TemporalError(err)
}

// MergeBatch is Activities.MergeBatch with the batchapi structs.
func (w *Worker) MergeBatch(ctx context.Context, in batchapi.MergeBatchInput) (batchapi.MergeBatchResult, error) {
	res, err := w.a.MergeBatch(ctx, MergeBatchInput{Platform: in.Platform, Stream: in.Stream, Version: version(in.ModelVersion), Batch: in.Batch})
	out := batchapi.MergeBatchResult{
		Batch: res.Batch, Mode: res.Mode, Inserted: res.Inserted, Updated: res.Updated, Deleted: res.Deleted,
		Total: res.Total, AlreadyCommitted: res.AlreadyCommitted, Start: res.Start, End: res.End,
	}
	if res.Datasets != nil {
		out.Datasets = make(map[string]batchapi.DatasetCounts, len(res.Datasets))
		for k, v := range res.Datasets {
			out.Datasets[k] = batchapi.DatasetCounts(v)
		}
	}
	observeMerge(in, out, err)
	if err == nil && !out.AlreadyCommitted {
		w.lagAfterCommit(ctx, in)
	}
	return out, TemporalError(err)
}

// lagAfterCommit reads the lag of the stream just committed for datasurface_stream_lag_seconds;
// a failed read only leaves the gauge at its previous value.
func (w *Worker) lagAfterCommit(ctx context.Context, in batchapi.MergeBatchInput) {
	lag, err := w.a.lag(ctx, LagInput{Platform: in.Platform, Version: version(in.ModelVersion), Streams: []string{in.Stream}})
	if err != nil {
		w.a.log.WarnContext(ctx, "read lag after commit", "platform", in.Platform, "stream", in.Stream, "err", err)
		return
	}
	ObserveLag(in.Platform, lag)
}

// FailBatch is Activities.FailBatch with the batchapi structs.
func (w *Worker) FailBatch(ctx context.Context, in batchapi.FailBatchInput) (batchapi.FailBatchResult, error) {
	res, err := w.a.FailBatch(ctx, FailBatchInput{
		Platform: in.Platform, Stream: in.Stream, Version: version(in.ModelVersion), Batch: in.Batch,
		Phase: in.Phase, Message: in.Message, Permanent: in.Permanent,
	})
	out := batchapi.FailBatchResult(res)
	observeFail(in, out, err)
	return out, TemporalError(err)
}

// ReconcileViews is Activities.ReconcileViews with the batchapi structs.
func (w *Worker) ReconcileViews(ctx context.Context, in batchapi.ReconcileViewsInput) (batchapi.ReconcileViewsResult, error) {
	res, err := w.a.ReconcileViews(ctx, ReconcileViewsInput{Platform: in.Platform, Version: version(in.ModelVersion)})
	out := batchapi.ReconcileViewsResult{Changed: res.Changed}
	for _, s := range res.Schemas {
		out.Schemas = append(out.Schemas, batchapi.SchemaViews(s))
	}
	return out, TemporalError(err)
}

// RunTransformer is Activities.RunTransformer with the batchapi structs.
func (w *Worker) RunTransformer(ctx context.Context, in batchapi.RunTransformerInput) (batchapi.RunTransformerResult, error) {
	res, err := w.a.RunTransformer(ctx, RunTransformerInput{Platform: in.Platform, Workspace: in.Workspace, Version: version(in.ModelVersion)})
	return batchapi.RunTransformerResult(res), TemporalError(err)
}

// PruneStaging is Activities.PruneStaging with Temporal errors.
func (w *Worker) PruneStaging(ctx context.Context, in PruneStagingInput) (PruneStagingResult, error) {
	res, err := w.a.PruneStaging(ctx, in)
	return res, TemporalError(err)
}

// Lag is Activities.Lag with Temporal errors.
func (w *Worker) Lag(ctx context.Context, in LagInput) (LagResult, error) {
	res, err := w.a.Lag(ctx, in)
	if err == nil {
		ObserveLag(in.Platform, res)
	}
	return res, TemporalError(err)
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
	if errors.Is(err, ErrStreamBusy) {
		return temporal.NewApplicationErrorWithCause(err.Error(), batchapi.ErrStreamBusy, err)
	}
	return err
}
