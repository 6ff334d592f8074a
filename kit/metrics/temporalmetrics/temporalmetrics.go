// Package temporalmetrics counts and times what a Temporal worker runs: a worker interceptor
// that records, on the kit/metrics registry, every activity
// (datasurface_activity_calls_total{service,activity,outcome},
// datasurface_activity_duration_seconds{service,activity}) and every workflow execution that
// starts and ends on the worker (datasurface_workflows_started_total{service,workflow},
// datasurface_workflows_completed_total{service,workflow,outcome}); replayed workflow code is
// not counted again.
package temporalmetrics

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/datasurface/datasurface/kit/metrics"
)

// Outcomes of an activity call (the outcome label).
const (
	OutcomeOK        = "ok"        // returned a result
	OutcomeRetryable = "retryable" // failed; Temporal retries it
	OutcomePermanent = "permanent" // failed with a non-retryable application error
	OutcomeCanceled  = "canceled"  // its context ended (cancellation, timeout, worker stop)
	OutcomeContinued = "continued" // a workflow continued as new
	OutcomeFailed    = "failed"    // a workflow failed
)

var (
	activityCalls = metrics.Counter("activity_calls_total",
		"Activity executions on this process's Temporal workers, by service, activity type and outcome (ok, retryable, permanent, canceled).",
		"service", "activity", "outcome")
	activityDuration = metrics.Histogram("activity_duration_seconds",
		"Time one activity execution took, by service and activity type.", nil,
		"service", "activity")
	workflowsStarted = metrics.Counter("workflows_started_total",
		"Workflow executions that began on this process's Temporal workers (first run, not replays), by service and workflow type.",
		"service", "workflow")
	workflowsCompleted = metrics.Counter("workflows_completed_total",
		"Workflow executions that ended on this process's Temporal workers, by service, workflow type and outcome (ok, failed, canceled, continued).",
		"service", "workflow", "outcome")
)

// Interceptor returns a worker interceptor that records every activity and workflow the worker
// runs under service (ingest, merge, security, scheduler). Add it to
// worker.Options.Interceptors.
func Interceptor(service string) interceptor.WorkerInterceptor {
	return &workerInterceptor{service: service}
}

type workerInterceptor struct {
	interceptor.WorkerInterceptorBase
	service string
}

func (w *workerInterceptor) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	a := &activityInterceptor{service: w.service}
	a.Next = next
	return a
}

func (w *workerInterceptor) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	i := &workflowInterceptor{service: w.service}
	i.Next = next
	return i
}

type workflowInterceptor struct {
	interceptor.WorkflowInboundInterceptorBase
	service string
}

func (i *workflowInterceptor) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	name := workflow.GetInfo(ctx).WorkflowType.Name
	// Counting is a side effect outside the workflow's commands: skip it while replaying so
	// each execution counts once.
	if !workflow.IsReplaying(ctx) {
		workflowsStarted.WithLabelValues(i.service, name).Inc()
	}
	res, err := i.Next.ExecuteWorkflow(ctx, in)
	if !workflow.IsReplaying(ctx) {
		workflowsCompleted.WithLabelValues(i.service, name, workflowOutcome(err)).Inc()
	}
	return res, err
}

func workflowOutcome(err error) string {
	if err == nil {
		return OutcomeOK
	}
	if workflow.IsContinueAsNewError(err) {
		return OutcomeContinued
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) {
		return OutcomeCanceled
	}
	return OutcomeFailed
}

type activityInterceptor struct {
	interceptor.ActivityInboundInterceptorBase
	service string
}

func (a *activityInterceptor) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	name := activity.GetInfo(ctx).ActivityType.Name
	start := time.Now()
	res, err := a.Next.ExecuteActivity(ctx, in)
	activityDuration.WithLabelValues(a.service, name).Observe(time.Since(start).Seconds())
	activityCalls.WithLabelValues(a.service, name, Outcome(ctx, err)).Inc()
	return res, err
}

// Outcome classifies the result of an activity for the outcome label.
func Outcome(ctx context.Context, err error) string {
	if err == nil {
		return OutcomeOK
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.NonRetryable() {
		return OutcomePermanent
	}
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return OutcomeCanceled
	}
	return OutcomeRetryable
}
