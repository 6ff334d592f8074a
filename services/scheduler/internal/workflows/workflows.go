// Package workflows owns the scheduler's Temporal workflows (DESIGN.md §1, §2 "A batch"):
// BatchWorkflow runs one batch of one ingestion stream through the activities of the merge,
// ingest and security services (yellow.md §6.3); TransformerWorkflow runs a DataTransformer and
// merges its output (§10), at most one run in flight and one follow-up queued; ReconcileWorkflow
// brings a platform's tables, views and grants to a committed model (§11, §12, security.md).
//
// Activities of other services are invoked by name on their owners' task queues with the
// structs of platforms/yellow/batchapi. Workflow code is deterministic: no clock, no
// randomness, no I/O outside activities; a change to a workflow in flight goes through
// workflow.GetVersion, and the replay tests over the recorded histories in testdata/ catch
// changes that are not.
package workflows

import (
	"errors"
	"fmt"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/batchapi"
	"github.com/datasurface/datasurface/services/scheduler/internal/activities"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Workflow type names.
const (
	Batch       = "BatchWorkflow"
	Transformer = "TransformerWorkflow"
	Reconcile   = "ReconcileWorkflow"
)

// SignalRun is the signal that asks a TransformerWorkflow for a run (an input committed).
const SignalRun = "run"

// ErrBatchFailed is the application error type of a BatchWorkflow whose batch failed (the
// batch is recorded failed; the next run resumes it).
const ErrBatchFailed = "BatchFailed"

// MaxFailedAttempts is the number of consecutive failed attempts of one batch after which its
// stream's schedule is paused (yellow.md §6.3).
const MaxFailedAttempts = 5

// Retry is the retry policy of every activity: exponential back-off for transient errors;
// errors of type batchapi.ErrPermanent and non-retryable application errors are not retried.
type Retry struct {
	Initial     time.Duration
	Max         time.Duration
	Coefficient float64
	Attempts    int32
	// LockInitial is the first back-off of the steps that begin by taking the stream's lock
	// (ReconcileTables, StartBatch), whose usual error is a short ErrStreamBusy: a commit's
	// ReconcileWorkflow reconciling the tables while a batch of the stream starts.
	LockInitial time.Duration
}

// Options tune the workflows; they change activity options only, never the commands a
// workflow emits, so running workflows replay under new options.
type Options struct {
	Retry Retry
	// StepTimeout bounds one attempt of a merge, security or scheduler activity;
	// IngestTimeout one attempt of IngestBatch and TransformTimeout one of RunTransformer.
	StepTimeout      time.Duration
	IngestTimeout    time.Duration
	TransformTimeout time.Duration
	// TransformerRunsPerExecution bounds the runs of one TransformerWorkflow execution
	// before it continues as new (bounded history).
	TransformerRunsPerExecution int
}

// DefaultOptions are the production options.
func DefaultOptions() Options {
	return Options{
		Retry:                       Retry{Initial: time.Second, Max: time.Minute, Coefficient: 2, Attempts: 10, LockInitial: 100 * time.Millisecond},
		StepTimeout:                 15 * time.Minute,
		IngestTimeout:               2 * time.Hour,
		TransformTimeout:            time.Hour,
		TransformerRunsPerExecution: 50,
	}
}

// Workflows are the scheduler's workflows with their options.
type Workflows struct {
	opts Options
}

// New returns the workflows; zero fields of o take DefaultOptions.
func New(o Options) *Workflows {
	d := DefaultOptions()
	if o.Retry.Initial <= 0 {
		o.Retry.Initial = d.Retry.Initial
	}
	if o.Retry.Max <= 0 {
		o.Retry.Max = d.Retry.Max
	}
	if o.Retry.Coefficient < 1 {
		o.Retry.Coefficient = d.Retry.Coefficient
	}
	if o.Retry.Attempts <= 0 {
		o.Retry.Attempts = d.Retry.Attempts
	}
	if o.Retry.LockInitial <= 0 {
		o.Retry.LockInitial = min(d.Retry.LockInitial, o.Retry.Initial)
	}
	if o.StepTimeout <= 0 {
		o.StepTimeout = d.StepTimeout
	}
	if o.IngestTimeout <= 0 {
		o.IngestTimeout = d.IngestTimeout
	}
	if o.TransformTimeout <= 0 {
		o.TransformTimeout = d.TransformTimeout
	}
	if o.TransformerRunsPerExecution <= 0 {
		o.TransformerRunsPerExecution = d.TransformerRunsPerExecution
	}
	return &Workflows{opts: o}
}

// Register registers the workflows on w under their type names.
func Register(w worker.WorkflowRegistry, wf *Workflows) {
	w.RegisterWorkflowWithOptions(wf.BatchWorkflow, workflow.RegisterOptions{Name: Batch})
	w.RegisterWorkflowWithOptions(wf.TransformerWorkflow, workflow.RegisterOptions{Name: Transformer})
	w.RegisterWorkflowWithOptions(wf.ReconcileWorkflow, workflow.RegisterOptions{Name: Reconcile})
}

// step returns ctx with the activity options of a step on taskQueue; initial is the first
// back-off.
func (wf *Workflows) step(ctx workflow.Context, taskQueue string, timeout, initial time.Duration) workflow.Context {
	r := wf.opts.Retry
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           taskQueue,
		StartToCloseTimeout: timeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        initial,
			BackoffCoefficient:     r.Coefficient,
			MaximumInterval:        r.Max,
			MaximumAttempts:        r.Attempts,
			NonRetryableErrorTypes: []string{batchapi.ErrPermanent},
		},
	})
}

// call runs activity name on taskQueue and decodes its result into out.
func (wf *Workflows) call(ctx workflow.Context, taskQueue, name string, in, out any) error {
	timeout, initial := wf.opts.StepTimeout, wf.opts.Retry.Initial
	switch name {
	case batchapi.IngestBatch:
		timeout = wf.opts.IngestTimeout
	case batchapi.RunTransformer:
		timeout = wf.opts.TransformTimeout
	case batchapi.ReconcileTables, batchapi.StartBatch:
		initial = wf.opts.Retry.LockInitial
	}
	return workflow.ExecuteActivity(wf.step(ctx, taskQueue, timeout, initial), name, in).Get(ctx, out)
}

// model resolves the model version a run works under: the input's, or the newest committed.
func (wf *Workflows) model(ctx workflow.Context, version int64, digest string) (int64, string, error) {
	if version > 0 {
		return version, digest, nil
	}
	var m activities.LatestModelResult
	if err := wf.call(ctx, batchapi.TaskQueueScheduler, activities.LatestModel, activities.LatestModelInput{}, &m); err != nil {
		return 0, "", fmt.Errorf("resolve the latest model: %w", err)
	}
	return m.Version, m.Digest, nil
}

// Permanent reports whether an activity error cannot be fixed by running the step again: a
// non-retryable application error or one of type batchapi.ErrPermanent. An error whose retries
// ran out is not permanent (the next run may succeed).
func Permanent(err error) bool {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.NonRetryable() || app.Type() == batchapi.ErrPermanent
	}
	return false
}

// Message is the message of an activity error without the activity wrapper's text (what is
// recorded in state.error).
func Message(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Error()
	}
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		return timeout.Error()
	}
	return err.Error()
}
