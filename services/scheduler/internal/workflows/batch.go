package workflows

import (
	"fmt"

	"github.com/datasurface/datasurface/platforms/yellow/batchapi"
	"github.com/datasurface/datasurface/services/scheduler/internal/activities"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// BatchInput names the stream of one batch run. The stream's schedule starts it with
// ModelVersion 0: the run resolves the newest committed model when it starts, so a schedule
// never needs updating when only the model version moves.
type BatchInput struct {
	Platform     string
	Stream       string
	ModelVersion int64
	ModelDigest  string
}

// BatchResult is what one run did.
type BatchResult struct {
	Platform     string
	Stream       string
	ModelVersion int64
	Batch        int32
	Attempt      int
	// Status is the batch's final status: committed or failed; noop when a secondary's
	// primary had nothing new and no batch was created.
	Status string
	// Tables changed by the reconcile; Merge the commit's counts; ViewsChanged whether the
	// views changed (grants were then applied); Transformers the workspaces woken.
	Tables       int
	Merge        batchapi.MergeBatchResult
	ViewsChanged bool
	Grants       *batchapi.ApplyGrantsResult
	Transformers []string
}

// BatchWorkflow runs one batch of a stream (yellow.md §6.3): reconcile the stream's tables →
// open the batch (new, or the failed/started one resumed) → ingest unless already ingested →
// merge and commit → reconcile the views → apply grants when views changed → wake the
// transformers reading the stream. Each step retries transient errors with back-off. When the
// reconcile, ingest or merge fails for good (a permanent error, or retries exhausted) the batch
// is recorded failed with the phase and message (FailBatch), the stream's schedule is paused
// after MaxFailedAttempts consecutive failed attempts, and the workflow fails with
// ErrBatchFailed. Errors after the commit fail the workflow; the batch stays committed.
func (wf *Workflows) BatchWorkflow(ctx workflow.Context, in BatchInput) (BatchResult, error) {
	log := workflow.GetLogger(ctx)
	res := BatchResult{Platform: in.Platform, Stream: in.Stream}
	v, digest, err := wf.model(ctx, in.ModelVersion, in.ModelDigest)
	if err != nil {
		return res, err
	}
	res.ModelVersion = v
	key := batchapi.StartBatchInput{Platform: in.Platform, Stream: in.Stream, ModelVersion: v}

	// 1. Tables.
	var tables batchapi.ReconcileTablesResult
	err = wf.call(ctx, batchapi.TaskQueueMerge, batchapi.ReconcileTables,
		batchapi.ReconcileTablesInput{Platform: in.Platform, ModelVersion: v, Streams: []string{in.Stream}}, &tables)
	if err != nil {
		// Record the failure on the stream's batch when one can be opened (the counter and
		// metrics tables are the platform's, reconciled apart from the stream's tables).
		var st batchapi.StartBatchResult
		if serr := wf.call(ctx, batchapi.TaskQueueMerge, batchapi.StartBatch, key, &st); serr == nil && !st.Noop {
			res.Batch, res.Attempt = st.Batch, st.Attempt
			return wf.failBatch(ctx, res, batchapi.PhaseReconcile, err)
		}
		return res, fmt.Errorf("reconcile tables of %s: %w", in.Stream, err)
	}
	res.Tables = len(tables.Changes)

	// 2. Open the batch.
	var st batchapi.StartBatchResult
	if err := wf.call(ctx, batchapi.TaskQueueMerge, batchapi.StartBatch, key, &st); err != nil {
		return res, fmt.Errorf("start a batch of %s: %w", in.Stream, err)
	}
	if st.Noop {
		// A secondary platform's stream whose primary has nothing new (yellow.md §8): no batch.
		res.Status = batchapi.StatusNoop
		log.Info("nothing new on the primary", "platform", in.Platform, "stream", in.Stream, "remoteBatch", st.RemoteBatch)
		return res, nil
	}
	res.Batch, res.Attempt = st.Batch, st.Attempt
	log.Info("batch opened", "platform", in.Platform, "stream", in.Stream, "batch", st.Batch,
		"status", st.Status, "attempt", st.Attempt, "new", st.New, "reset", st.Reset)

	// 3. Ingest (a resumed batch may already be ingested).
	if st.Status != batchapi.StatusIngested {
		var ing batchapi.IngestBatchResult
		err := wf.call(ctx, batchapi.TaskQueueIngest, batchapi.IngestBatch, batchapi.IngestBatchInput{
			Platform: in.Platform, Stream: in.Stream, BatchID: st.Batch, ModelVersion: v, ModelDigest: digest,
		}, &ing)
		if err != nil {
			return wf.failBatch(ctx, res, batchapi.PhaseIngest, err)
		}
	}

	// 4. Merge and commit: the only moment the batch becomes visible.
	err = wf.call(ctx, batchapi.TaskQueueMerge, batchapi.MergeBatch, batchapi.MergeBatchInput{
		Platform: in.Platform, Stream: in.Stream, ModelVersion: v, Batch: st.Batch,
	}, &res.Merge)
	if err != nil {
		return wf.failBatch(ctx, res, batchapi.PhaseMerge, err)
	}
	res.Status = batchapi.StatusCommitted
	log.Info("batch committed", "platform", in.Platform, "stream", in.Stream, "batch", st.Batch,
		"inserted", res.Merge.Inserted, "updated", res.Merge.Updated, "deleted", res.Merge.Deleted)

	// 5. After the commit: views, grants when they changed, transformers.
	if res.ViewsChanged, res.Grants, err = wf.viewsAndGrants(ctx, in.Platform, v, false); err != nil {
		return res, err
	}
	var n activities.NotifyTransformersResult
	err = wf.call(ctx, batchapi.TaskQueueScheduler, activities.NotifyTransformers, activities.NotifyTransformersInput{
		Platform: in.Platform, Stream: in.Stream, Batch: st.Batch, ModelVersion: v, ModelDigest: digest,
	}, &n)
	if err != nil {
		return res, fmt.Errorf("wake the transformers reading %s: %w", in.Stream, err)
	}
	res.Transformers = n.Workspaces
	return res, nil
}

// viewsAndGrants reconciles the platform's views and applies its grants when the views changed
// (or always, with alwaysGrants).
func (wf *Workflows) viewsAndGrants(ctx workflow.Context, platform string, v int64, alwaysGrants bool) (bool, *batchapi.ApplyGrantsResult, error) {
	views, g, err := wf.views(ctx, platform, v, alwaysGrants)
	return views.Changed, g, err
}

// views is viewsAndGrants returning the views' result.
func (wf *Workflows) views(ctx workflow.Context, platform string, v int64, alwaysGrants bool) (batchapi.ReconcileViewsResult, *batchapi.ApplyGrantsResult, error) {
	var views batchapi.ReconcileViewsResult
	err := wf.call(ctx, batchapi.TaskQueueMerge, batchapi.ReconcileViews,
		batchapi.ReconcileViewsInput{Platform: platform, ModelVersion: v}, &views)
	if err != nil {
		return views, nil, fmt.Errorf("reconcile the views of %s: %w", platform, err)
	}
	if !views.Changed && !alwaysGrants {
		return views, nil, nil
	}
	var g batchapi.ApplyGrantsResult
	err = wf.call(ctx, batchapi.TaskQueueSecurity, batchapi.ApplyGrants,
		batchapi.ApplyGrantsInput{Platform: platform, ModelVersion: v}, &g)
	if err != nil {
		return views, nil, fmt.Errorf("apply the grants of %s: %w", platform, err)
	}
	return views, &g, nil
}

// failBatch records res's batch failed in phase with cause, pauses the stream after too many
// failed attempts, and returns the workflow's error.
func (wf *Workflows) failBatch(ctx workflow.Context, res BatchResult, phase string, cause error) (BatchResult, error) {
	permanent, msg := Permanent(cause), Message(cause)
	res.Status = batchapi.StatusFailed
	var fr batchapi.FailBatchResult
	err := wf.call(ctx, batchapi.TaskQueueMerge, batchapi.FailBatch, batchapi.FailBatchInput{
		Platform: res.Platform, Stream: res.Stream, ModelVersion: res.ModelVersion, Batch: res.Batch,
		Phase: phase, Message: msg, Permanent: permanent,
	}, &fr)
	if err != nil {
		return res, fmt.Errorf("record batch %d of %s failed (%s: %s): %w", res.Batch, res.Stream, phase, msg, err)
	}
	if fr.Status != "" {
		res.Status = fr.Status
	}
	if res.Status == batchapi.StatusFailed && res.Attempt >= MaxFailedAttempts {
		reason := fmt.Sprintf("paused by the scheduler: batch %d failed %d consecutive attempts; last: %s: %s",
			res.Batch, res.Attempt, phase, msg)
		var p activities.PauseStreamResult
		if err := wf.call(ctx, batchapi.TaskQueueScheduler, activities.PauseStream,
			activities.PauseStreamInput{Platform: res.Platform, Stream: res.Stream, Reason: reason, Batch: res.Batch, Attempt: res.Attempt}, &p); err != nil {
			workflow.GetLogger(ctx).Error("pausing the stream failed", "stream", res.Stream, "error", err)
		}
	}
	return res, temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("batch %d of %s/%s failed in %s (attempt %d, permanent=%t): %s",
			res.Batch, res.Platform, res.Stream, phase, res.Attempt, permanent, msg),
		ErrBatchFailed, cause, res)
}
