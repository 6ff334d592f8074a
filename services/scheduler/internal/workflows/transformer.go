package workflows

import (
	"fmt"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/batchapi"
	"github.com/datasurface/datasurface/services/scheduler/internal/activities"
	"go.temporal.io/sdk/workflow"
)

// TransformerInput names a transformer workspace. Its cron schedule starts it as is; the
// input-triggered path signals (and starts) the one workflow with id
// ids.TransformerWorkflow(platform, workspace).
type TransformerInput struct {
	Platform  string
	Workspace string
	// FollowUp is set by ContinueAsNew when a run was requested during the last run.
	FollowUp bool
	// Runs counts the runs of earlier executions of this chain (for the result only).
	Runs int
}

// TransformerRun is one run's outcome.
type TransformerRun struct {
	ModelVersion int64
	// Status is the run's status: succeeded, waiting or failed; Batch the committed output
	// batch (succeeded only).
	Status       string
	RunID        int64
	OutputStream string
	Batch        int32
	Error        string
}

// TransformerResult lists the runs of one execution.
type TransformerResult struct {
	Platform  string
	Workspace string
	Runs      []TransformerRun
}

// TransformerWorkflow runs a DataTransformer (yellow.md §10) and commits its output as a batch
// of the output stream: reconcile views (the transformer reads them) → RunTransformer (waiting
// when an input has no committed batch) → MergeBatch of the output batch → views and grants →
// wake the transformers that read the output. Signals (SignalRun) that arrive during a run are
// collapsed into one follow-up run: at most one run in flight, one queued. After
// Options.TransformerRunsPerExecution runs it continues as new. A failed run is recorded by the
// merge service (transformer runs table, failed output batch) and does not end the workflow
// until no follow-up is queued; the last run's failure is then the workflow's error.
func (wf *Workflows) TransformerWorkflow(ctx workflow.Context, in TransformerInput) (TransformerResult, error) {
	res := TransformerResult{Platform: in.Platform, Workspace: in.Workspace}
	signals := workflow.GetSignalChannel(ctx, SignalRun)
	drain(ctx, signals) // the signals that started this execution are what this run serves
	var last error
	for i := 0; ; i++ {
		run, err := wf.transformOnce(ctx, in)
		res.Runs = append(res.Runs, run)
		last = err
		if err != nil {
			workflow.GetLogger(ctx).Warn("transformer run failed", "platform", in.Platform, "workspace", in.Workspace, "error", err)
		}
		if !drain(ctx, signals) {
			return res, last
		}
		if i+1 >= wf.opts.TransformerRunsPerExecution {
			return res, workflow.NewContinueAsNewError(ctx, Transformer, TransformerInput{
				Platform: in.Platform, Workspace: in.Workspace, FollowUp: true, Runs: in.Runs + len(res.Runs),
			})
		}
	}
}

// drain consumes every pending signal and reports whether there was one.
func drain(ctx workflow.Context, ch workflow.ReceiveChannel) bool {
	got := false
	for {
		var reason string
		if !ch.ReceiveAsync(&reason) {
			return got
		}
		got = true
	}
}

func (wf *Workflows) transformOnce(ctx workflow.Context, in TransformerInput) (TransformerRun, error) {
	var run TransformerRun
	v, digest, err := wf.model(ctx, 0, "")
	if err != nil {
		return run, err
	}
	run.ModelVersion = v
	if _, _, err := wf.viewsAndGrants(ctx, in.Platform, v, false); err != nil {
		return run, err
	}
	var tr batchapi.RunTransformerResult
	err = wf.call(ctx, batchapi.TaskQueueMerge, batchapi.RunTransformer,
		batchapi.RunTransformerInput{Platform: in.Platform, Workspace: in.Workspace, ModelVersion: v}, &tr)
	run.Status, run.RunID, run.OutputStream, run.Error = tr.Status, tr.RunID, tr.OutputStream, tr.Error
	if err != nil {
		run.Status, run.Error = batchapi.RunFailed, Message(err)
		return run, fmt.Errorf("transformer %s on %s: %w", in.Workspace, in.Platform, err)
	}
	if tr.Status != batchapi.RunSucceeded {
		return run, nil // waiting for inputs: nothing to merge
	}
	run.Batch = tr.Batch
	var m batchapi.MergeBatchResult
	err = wf.call(ctx, batchapi.TaskQueueMerge, batchapi.MergeBatch, batchapi.MergeBatchInput{
		Platform: in.Platform, Stream: tr.OutputStream, ModelVersion: v, Batch: tr.Batch,
	}, &m)
	if err != nil {
		res := BatchResult{Platform: in.Platform, Stream: tr.OutputStream, ModelVersion: v, Batch: tr.Batch, Attempt: 1}
		_, ferr := wf.failBatch(ctx, res, batchapi.PhaseMerge, err)
		run.Status, run.Error = batchapi.RunFailed, Message(err)
		return run, ferr
	}
	if _, _, err := wf.viewsAndGrants(ctx, in.Platform, v, false); err != nil {
		return run, err
	}
	var n activities.NotifyTransformersResult
	err = wf.call(ctx, batchapi.TaskQueueScheduler, activities.NotifyTransformers, activities.NotifyTransformersInput{
		Platform: in.Platform, Stream: tr.OutputStream, Batch: tr.Batch, ModelVersion: v, ModelDigest: digest,
	}, &n)
	if err != nil {
		return run, fmt.Errorf("wake the transformers reading %s: %w", tr.OutputStream, err)
	}
	return run, nil
}

// ReconcileInput names a platform and the committed model version to reconcile it to, with
// what the reconciler did to the platform's schedules and when it took the commit up (both for
// the ds.platform.<platform>.reconciled event).
type ReconcileInput struct {
	Platform     string
	ModelVersion int64
	ModelDigest  string
	Schedules    activities.ScheduleChanges
	Began        time.Time
}

// ReconcileResult is what the reconcile changed.
type ReconcileResult struct {
	Tables       []batchapi.TableChange
	ViewsChanged bool
	Grants       *batchapi.ApplyGrantsResult
}

// versionRolesFirst is the workflow.GetVersion change id of ReconcileWorkflow's first
// ApplyGrants and last PublishReconciled steps (histories recorded before replay without them).
const versionRolesFirst = "roles-first-platform-events"

// ReconcileWorkflow brings a platform to a committed model (yellow.md §11, §12, security.md):
// the roles and schemas (so the owner role exists before any DDL), the tables of every stream (creating new ones, widening columns, re-hashing), the workspace
// views, then the roles and grants. The scheduler starts one per Yellow platform and committed
// version (id ids.ReconcileWorkflow), so a schema change is applied before the next batch even
// when no batch runs soon; every batch also reconciles its own stream's tables first. Last, it
// announces the reconcile (ds.platform.<platform>.reconciled, activity PublishReconciled).
func (wf *Workflows) ReconcileWorkflow(ctx workflow.Context, in ReconcileInput) (ReconcileResult, error) {
	var res ReconcileResult
	current := workflow.GetVersion(ctx, versionRolesFirst, workflow.DefaultVersion, 1) != workflow.DefaultVersion
	if current {
		// Roles and schemas first: on a new platform the owner role must exist before the merge
		// login's DDL, which runs as that role (security.md §2), or the platform schema would be
		// owned by the merge login and the security plan would refuse it.
		var g batchapi.ApplyGrantsResult
		err := wf.call(ctx, batchapi.TaskQueueSecurity, batchapi.ApplyGrants,
			batchapi.ApplyGrantsInput{Platform: in.Platform, ModelVersion: in.ModelVersion}, &g)
		if err != nil {
			return res, fmt.Errorf("apply the roles of %s: %w", in.Platform, err)
		}
	}
	var tables batchapi.ReconcileTablesResult
	err := wf.call(ctx, batchapi.TaskQueueMerge, batchapi.ReconcileTables,
		batchapi.ReconcileTablesInput{Platform: in.Platform, ModelVersion: in.ModelVersion}, &tables)
	if err != nil {
		return res, fmt.Errorf("reconcile the tables of %s: %w", in.Platform, err)
	}
	res.Tables = tables.Changes
	views, grants, err := wf.views(ctx, in.Platform, in.ModelVersion, true)
	res.ViewsChanged, res.Grants = views.Changed, grants
	if err != nil {
		return res, err
	}
	if !current {
		return res, nil
	}
	pub := activities.PublishReconciledInput{
		Platform: in.Platform, ModelVersion: in.ModelVersion, ModelDigest: in.ModelDigest, Schedules: in.Schedules,
		Tables: tables.Changes, ViewsChanged: views.Changed, Grants: grants, Began: in.Began,
	}
	for _, sv := range views.Schemas {
		pub.ViewSchemas = append(pub.ViewSchemas, sv.Schema)
	}
	var out activities.PublishReconciledResult
	if err := wf.call(ctx, batchapi.TaskQueueScheduler, activities.PublishReconciled, pub, &out); err != nil {
		return res, fmt.Errorf("announce the reconcile of %s: %w", in.Platform, err)
	}
	return res, nil
}
