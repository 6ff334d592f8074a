package main

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/datasurface/datasurface/kit/natsserver"
	"github.com/datasurface/datasurface/kit/temporalserver"
	"github.com/datasurface/datasurface/platforms/yellow/batchapi"
)

// TestServeWorkers: `serve --service=ingest,merge,security --temporal …` starts the activity
// workers of the three services against a real Temporal dev server: their task queues get
// pollers, the merge worker answers an activity called by name, and they stop with serve.
func TestServeWorkers(t *testing.T) {
	ts := temporalserver.StartForTest(t)
	ns := natsserver.StartForTest(t)
	env := map[string]string{
		"DATASURFACE_NATS":       ns.ClientURL(),
		"DATASURFACE_TEMPORAL":   ts.Addr,
		"DATASURFACE_LOG_FORMAT": "text",
	}
	s := startServe(t, env, "--service", "ingest,merge,security", "--temporal-namespace", temporalserver.DefaultNamespace, "--log-level", "warn")

	c, err := client.Dial(client.Options{HostPort: ts.Addr, Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, q := range []string{batchapi.TaskQueueIngest, batchapi.TaskQueueMerge, batchapi.TaskQueueSecurity} {
		deadline := time.Now().Add(20 * time.Second)
		for {
			resp, err := c.WorkflowService().DescribeTaskQueue(t.Context(), &workflowservice.DescribeTaskQueueRequest{
				Namespace:     temporalserver.DefaultNamespace,
				TaskQueue:     &taskqueuepb.TaskQueue{Name: q, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
				TaskQueueType: enumspb.TASK_QUEUE_TYPE_ACTIVITY,
			})
			if err == nil && len(resp.GetPollers()) > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no activity poller on task queue %q within 20 s (err %v); log:\n%s", q, err, s.stderr)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// A workflow calls ReconcileTables by name on the merge task queue: the serve worker
	// answers (version 99 is not committed, a retryable error; one attempt only).
	w := worker.New(c, "serve-test", worker.Options{})
	w.RegisterWorkflowWithOptions(callReconcileTables, workflow.RegisterOptions{Name: "callReconcileTables"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	run, err := c.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{TaskQueue: "serve-test", WorkflowExecutionTimeout: 30 * time.Second}, "callReconcileTables")
	if err != nil {
		t.Fatal(err)
	}
	err = run.Get(t.Context(), nil)
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || !strings.Contains(ae.Error(), "model version 99 is not committed") {
		t.Errorf("workflow error %v, want the merge worker's error about version 99; log:\n%s", err, s.stderr)
	}
	if code := s.stop(); code != 0 {
		t.Fatalf("serve exit code = %d; log:\n%s", code, s.stderr)
	}
}

// callReconcileTables calls merge's ReconcileTables by name for an uncommitted model version.
func callReconcileTables(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue: batchapi.TaskQueueMerge, StartToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	var res batchapi.ReconcileTablesResult
	return workflow.ExecuteActivity(ctx, batchapi.ReconcileTables, batchapi.ReconcileTablesInput{Platform: "P", ModelVersion: 99}).Get(ctx, &res)
}

// TestServeTemporalUnreachable: an unreachable Temporal frontend stops serve at start-up with
// exit code 2.
func TestServeTemporalUnreachable(t *testing.T) {
	ns := natsserver.StartForTest(t)
	var out, errb bytes.Buffer
	c := &cli{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	err := c.run(t.Context(), []string{"serve", "--service=merge", "--nats", ns.ClientURL(), "--temporal", "127.0.0.1:1",
		"--log-level=error", "--listen", freeAddr(t)})
	if code := exitCode(err, &errb); code != 2 || !strings.Contains(errb.String(), "serve: temporal 127.0.0.1:1:") {
		t.Errorf("exit code %d, stderr %q: want 2 and the Temporal error", code, errb.String())
	}
}
