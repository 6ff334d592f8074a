package scheduler_test

import (
	"strconv"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/datasurface/datasurface/kit/metrics"
	schedulerv1 "github.com/datasurface/datasurface/proto/gen/datasurface/scheduler/v1"
	"github.com/datasurface/datasurface/proto/gen/datasurface/scheduler/v1/schedulerv1connect"
	"github.com/datasurface/datasurface/services/scheduler/internal/testmodel"
)

func metricValue(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	v, _, err := metrics.Value(name, labels)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestMetricsOfACommitAndATriggeredBatch commits a model with one stream, triggers a batch that
// commits, and checks the scheduler's metrics: the reconcile, the schedule gauge, the Trigger
// RPC, and the BatchWorkflow started and completed on the scheduler's worker.
func TestMetricsOfACommitAndATriggeredBatch(t *testing.T) {
	h := newHarness(t)
	ok := map[string]string{"result": "ok"}
	batchStarted := map[string]string{"service": "scheduler", "workflow": "BatchWorkflow"}
	batchDone := map[string]string{"service": "scheduler", "workflow": "BatchWorkflow", "outcome": "ok"}
	trigger := map[string]string{"procedure": schedulerv1connect.SchedulerServiceTriggerProcedure, "code": "ok"}
	reconciledBefore := metricValue(t, "datasurface_scheduler_reconciles_total", ok)
	startedBefore := metricValue(t, "datasurface_workflows_started_total", batchStarted)
	doneBefore := metricValue(t, "datasurface_workflows_completed_total", batchDone)
	triggerBefore := metricValue(t, "datasurface_rpc_requests_total", trigger)

	h.commit(testmodel.Model{Stores: []testmodel.Store{{Name: "Payments"}}})
	h.eventually("Payments scheduled", 20*time.Second, func() string {
		if res, msg := h.stream("Payments"); msg != "" || !res.GetStream().GetSchedule().GetExists() {
			return "not yet " + msg
		}
		return ""
	})
	// The start-up reconcile (retrying until a model is committed) and the commit consumer may
	// both apply version 1: at least one reconcile is counted.
	h.eventually("the reconcile counted", 10*time.Second, func() string {
		if got := metricValue(t, "datasurface_scheduler_reconciles_total", ok) - reconciledBefore; got < 1 {
			return "reconciles: " + ftoa(got)
		}
		return ""
	})
	// The base model's SalesDB and the added Payments.
	if got := metricValue(t, "datasurface_scheduler_schedules", map[string]string{"platform": testmodel.Platform, "kind": "batch"}); got != 2 {
		t.Errorf("datasurface_scheduler_schedules{batch} = %v, want 2", got)
	}

	if _, err := h.api.Trigger(t.Context(), connect.NewRequest(&schedulerv1.TriggerRequest{Platform: testmodel.Platform, Stream: "Payments"})); err != nil {
		t.Fatal(err)
	}
	if got := metricValue(t, "datasurface_rpc_requests_total", trigger) - triggerBefore; got != 1 {
		t.Errorf("datasurface_rpc_requests_total{Trigger,ok} moved by %v, want 1", got)
	}
	h.eventually("the batch workflow completed", 30*time.Second, func() string {
		if got := metricValue(t, "datasurface_workflows_completed_total", batchDone) - doneBefore; got != 1 {
			return "completed: " + ftoa(got)
		}
		return ""
	})
	if got := metricValue(t, "datasurface_workflows_started_total", batchStarted) - startedBefore; got != 1 {
		t.Errorf("datasurface_workflows_started_total{BatchWorkflow} moved by %v, want 1", got)
	}
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
