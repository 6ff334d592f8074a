package merge_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/datasurface/datasurface/kit/metrics"
	"github.com/datasurface/datasurface/kit/temporalserver"
	"github.com/datasurface/datasurface/platforms/yellow/batchapi"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/ingest"
	"github.com/datasurface/datasurface/services/merge"
)

// workerModels knows version 1 (an empty model: every platform is unknown); others fail.
type workerModels struct{}

func (workerModels) Model(_ context.Context, v int64, _ string) (*modelv1.Model, error) {
	if v == 1 {
		return &modelv1.Model{}, nil
	}
	return nil, errors.New("model store unavailable")
}

type noSecrets struct{}

func (noSecrets) UserPassword(context.Context, *modelv1.CredentialStore, string) (string, string, error) {
	return "", "", errors.New("no secrets")
}

func workerEnv(t *testing.T) *testsuite.TestActivityEnvironment {
	t.Helper()
	svc, err := merge.New(merge.Config{}, merge.Deps{Models: workerModels{}, Secrets: noSecrets{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	merge.RegisterWorker(env, svc.Activities())
	return env
}

// TestWorkerNames calls every activity by its batchapi name with batchapi inputs: an unknown
// platform is a non-retryable application error of type Permanent.
func TestWorkerNames(t *testing.T) {
	env := workerEnv(t)
	for name, in := range map[string]any{
		batchapi.ReconcileTables:   batchapi.ReconcileTablesInput{Platform: "nope", ModelVersion: 1},
		batchapi.StartBatch:        batchapi.StartBatchInput{Platform: "nope", Stream: "S", ModelVersion: 1},
		batchapi.MergeBatch:        batchapi.MergeBatchInput{Platform: "nope", Stream: "S", ModelVersion: 1, Batch: 1},
		batchapi.FailBatch:         batchapi.FailBatchInput{Platform: "nope", Stream: "S", ModelVersion: 1, Batch: 1, Phase: batchapi.PhaseIngest},
		batchapi.ReconcileViews:    batchapi.ReconcileViewsInput{Platform: "nope", ModelVersion: 1},
		batchapi.RunTransformer:    batchapi.RunTransformerInput{Platform: "nope", Workspace: "W", ModelVersion: 1},
		merge.ActivityPruneStaging: merge.PruneStagingInput{Platform: "nope", Version: merge.Version{ModelVersion: 1}},
		merge.ActivityLag:          merge.LagInput{Platform: "nope", Version: merge.Version{ModelVersion: 1}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := env.ExecuteActivity(name, in)
			var ae *temporal.ApplicationError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v (%T): want an application error", err, err)
			}
			if ae.Type() != batchapi.ErrPermanent || !ae.NonRetryable() {
				t.Errorf("error type %q non-retryable %v: want %q, non-retryable (%v)", ae.Type(), ae.NonRetryable(), batchapi.ErrPermanent, err)
			}
		})
	}
}

// TestWorkerRetryable: an error retrying can fix stays retryable.
func TestWorkerRetryable(t *testing.T) {
	env := workerEnv(t)
	_, err := env.ExecuteActivity(batchapi.StartBatch, batchapi.StartBatchInput{Platform: "P", Stream: "S", ModelVersion: 2})
	if err == nil {
		t.Fatal("no error")
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) && (ae.NonRetryable() || ae.Type() == batchapi.ErrPermanent) {
		t.Errorf("error %v is permanent, want retryable", err)
	}
}

func TestTemporalError(t *testing.T) {
	if merge.TemporalError(nil) != nil {
		t.Error("nil error converted")
	}
	var ae *temporal.ApplicationError
	err := merge.TemporalError(&merge.Error{Activity: "StartBatch", Err: merge.ErrStreamBusy})
	if !errors.As(err, &ae) || ae.Type() != batchapi.ErrStreamBusy || ae.NonRetryable() {
		t.Errorf("busy stream: %v, want a retryable %s error", err, batchapi.ErrStreamBusy)
	}
	perm := &merge.Error{Activity: "MergeBatch", Permanent: true, Err: errors.New("conflict")}
	err = merge.TemporalError(perm)
	if !errors.As(err, &ae) || ae.Type() != batchapi.ErrPermanent || !ae.NonRetryable() || !errors.Is(err, perm) {
		t.Errorf("permanent: %v, want a non-retryable %s error wrapping the cause", err, batchapi.ErrPermanent)
	}
}

// batchWorkflow runs one batch through the real workers as the scheduler does: reconcile, start,
// ingest (ingest's task queue), merge, then the lag read. It exists only in this test.
func batchWorkflow(ctx workflow.Context, platform, stream string, v int64) (batchapi.MergeBatchResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue: batchapi.TaskQueueMerge, StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	var res batchapi.MergeBatchResult
	if err := workflow.ExecuteActivity(ctx, batchapi.ReconcileTables, batchapi.ReconcileTablesInput{Platform: platform, ModelVersion: v, Streams: []string{stream}}).Get(ctx, nil); err != nil {
		return res, err
	}
	var start batchapi.StartBatchResult
	if err := workflow.ExecuteActivity(ctx, batchapi.StartBatch, batchapi.StartBatchInput{Platform: platform, Stream: stream, ModelVersion: v}).Get(ctx, &start); err != nil {
		return res, err
	}
	ingestCtx := workflow.WithTaskQueue(ctx, batchapi.TaskQueueIngest)
	if err := workflow.ExecuteActivity(ingestCtx, batchapi.IngestBatch, batchapi.IngestBatchInput{Platform: platform, Stream: stream, BatchID: start.Batch, ModelVersion: v}).Get(ctx, nil); err != nil {
		return res, err
	}
	if err := workflow.ExecuteActivity(ctx, batchapi.MergeBatch, batchapi.MergeBatchInput{Platform: platform, Stream: stream, ModelVersion: v, Batch: start.Batch}).Get(ctx, &res); err != nil {
		return res, err
	}
	return res, nil
}

// metric reads one series of the process registry (0 when absent).
func metric(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	v, _, err := metrics.Value(name, labels)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestTemporalWorkerRecordsMetrics runs a batch through the ingest and merge workers on a real
// Temporal dev server and Postgres, then a permanent failure, and checks that the activity,
// batch, row and lag metrics moved by exactly what happened, and that the workers' readiness
// follows Start/Stop.
func TestTemporalWorkerRecordsMetrics(t *testing.T) {
	e := newEnv(t, merge.Config{})
	e.sql(sourceDDL, peopleRows("(1, 'ann', 'a', 10)", "(2, 'bob', 'b', 20)", "(3, 'cy', 'c', 30)"))
	ts := temporalserver.StartForTest(t)
	tc, err := client.Dial(client.Options{HostPort: ts.Addr, Namespace: temporalserver.DefaultNamespace,
		Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	ing, err := ingest.New(ingest.Config{SSLMode: "disable"}, ingest.Deps{Models: e.models, Secrets: ingest.Credentials{
		LookupEnv: func(name string) (string, bool) {
			if strings.HasSuffix(name, "_USER") {
				return "postgres", true
			}
			return "unused", strings.HasSuffix(name, "_PASSWORD")
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	mw := merge.NewTemporalWorker(tc, e.act, worker.Options{})
	mw.RegisterWorkflow(batchWorkflow)
	mw.RegisterWorkflow(mergeOnlyWorkflow)
	iw := ingest.NewTemporalWorker(tc, ing.Activities(), worker.Options{})
	type readier interface{ Ready(context.Context) error }
	if err := mw.(readier).Ready(t.Context()); err == nil {
		t.Error("merge worker ready before Start")
	}
	for _, w := range []worker.Worker{mw, iw} {
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)
		if err := w.(readier).Ready(t.Context()); err != nil {
			t.Errorf("started worker not ready: %v", err)
		}
	}

	const d, stream = "YellowLive", "Shop"
	ps := map[string]string{"platform": d, "stream": stream}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range ps {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	mergeOK := map[string]string{"service": "merge", "activity": batchapi.MergeBatch, "outcome": "ok"}
	ingestOK := map[string]string{"service": "ingest", "activity": batchapi.IngestBatch, "outcome": "ok"}
	mergePermanent := map[string]string{"service": "merge", "activity": batchapi.MergeBatch, "outcome": "permanent"}
	read := func() map[string]float64 {
		return map[string]float64{
			"merge ok":      metric(t, "datasurface_activity_calls_total", mergeOK),
			"merge timed":   metric(t, "datasurface_activity_duration_seconds", map[string]string{"service": "merge", "activity": batchapi.MergeBatch}),
			"ingest ok":     metric(t, "datasurface_activity_calls_total", ingestOK),
			"merge perm":    metric(t, "datasurface_activity_calls_total", mergePermanent),
			"committed":     metric(t, "datasurface_batches_committed_total", ps),
			"inserted":      metric(t, "datasurface_merge_rows_total", with(map[string]string{"op": "inserted"})),
			"updated":       metric(t, "datasurface_merge_rows_total", with(map[string]string{"op": "updated"})),
			"ingested":      metric(t, "datasurface_batches_ingested_total", ps),
			"ingested rows": metric(t, "datasurface_ingest_rows_total", ps),
			"batch timed":   metric(t, "datasurface_batch_duration_seconds", ps),
			"wf started":    metric(t, "datasurface_workflows_started_total", map[string]string{"service": "merge", "workflow": "batchWorkflow"}),
			"wf ok":         metric(t, "datasurface_workflows_completed_total", map[string]string{"service": "merge", "workflow": "batchWorkflow", "outcome": "ok"}),
			"wf failed":     metric(t, "datasurface_workflows_completed_total", map[string]string{"service": "merge", "workflow": "mergeOnlyWorkflow", "outcome": "failed"}),
		}
	}
	before := read()
	run := func(platform string) (batchapi.MergeBatchResult, error) {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		wr, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: batchapi.TaskQueueMerge}, batchWorkflow, platform, stream, e.version)
		if err != nil {
			t.Fatal(err)
		}
		var res batchapi.MergeBatchResult
		err = wr.Get(ctx, &res)
		return res, err
	}
	res, err := run(d)
	if err != nil {
		t.Fatalf("batch workflow: %v", err)
	}
	if res.Inserted != 3 {
		t.Fatalf("merge result %+v, want 3 inserted", res)
	}
	// MergeBatch on an unknown platform: a permanent failure.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	wr, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: batchapi.TaskQueueMerge}, mergeOnlyWorkflow, "NoSuchPlatform", stream, e.version)
	if err != nil {
		t.Fatal(err)
	}
	if err := wr.Get(ctx, nil); err == nil {
		t.Fatal("MergeBatch on an unknown platform succeeded")
	}

	after := read()
	got := map[string]float64{}
	for k := range after {
		got[k] = after[k] - before[k]
	}
	want := map[string]float64{
		"merge ok": 1, "merge timed": 2, "ingest ok": 1, "merge perm": 1, "committed": 1,
		"inserted": 3, "updated": 0, "ingested": 1, "ingested rows": 3, "batch timed": 1,
		"wf started": 1, "wf ok": 1, "wf failed": 1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics moved (-want +got):\n%s", diff)
	}
	lag, ok, err := metrics.Value("datasurface_stream_lag_seconds", ps)
	if err != nil || !ok || lag < 0 {
		t.Errorf("datasurface_stream_lag_seconds{%s,%s} = %v (present %v, %v), want a lag ≥ 0 after the commit", d, stream, lag, ok, err)
	}

	mw.Stop()
	if err := mw.(readier).Ready(t.Context()); err == nil {
		t.Error("merge worker still ready after Stop")
	}
}

// mergeOnlyWorkflow calls MergeBatch alone.
func mergeOnlyWorkflow(ctx workflow.Context, platform, stream string, v int64) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue: batchapi.TaskQueueMerge, StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	return workflow.ExecuteActivity(ctx, batchapi.MergeBatch, batchapi.MergeBatchInput{Platform: platform, Stream: stream, ModelVersion: v, Batch: 1}).Get(ctx, nil)
}
