package workflows_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/batchapi"
	"github.com/datasurface/datasurface/services/scheduler/internal/activities"
	"github.com/datasurface/datasurface/services/scheduler/internal/testplatform"
	"github.com/datasurface/datasurface/services/scheduler/internal/workflows"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// schedulerFake stands in for the scheduler's own activities.
type schedulerFake struct {
	paused    []string
	notified  []string
	announced []activities.PublishReconciledInput
}

func (s *schedulerFake) register(env *testsuite.TestWorkflowEnvironment) {
	env.RegisterActivityWithOptions(func(context.Context, activities.LatestModelInput) (activities.LatestModelResult, error) {
		return activities.LatestModelResult{Version: 7, Digest: "sha256:seven"}, nil
	}, activity.RegisterOptions{Name: activities.LatestModel})
	env.RegisterActivityWithOptions(func(_ context.Context, in activities.NotifyTransformersInput) (activities.NotifyTransformersResult, error) {
		s.notified = append(s.notified, in.Stream)
		return activities.NotifyTransformersResult{}, nil
	}, activity.RegisterOptions{Name: activities.NotifyTransformers})
	env.RegisterActivityWithOptions(func(_ context.Context, in activities.PauseStreamInput) (activities.PauseStreamResult, error) {
		s.paused = append(s.paused, in.Stream+": "+in.Reason)
		return activities.PauseStreamResult{Paused: true}, nil
	}, activity.RegisterOptions{Name: activities.PauseStream})
	env.RegisterActivityWithOptions(func(_ context.Context, in activities.PublishReconciledInput) (activities.PublishReconciledResult, error) {
		s.announced = append(s.announced, in)
		return activities.PublishReconciledResult{}, nil
	}, activity.RegisterOptions{Name: activities.PublishReconciled})
}

var testOptions = workflows.Options{Retry: workflows.Retry{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond, Attempts: 4}}

func newEnv(t *testing.T, p *testplatform.Platform) (*testsuite.TestWorkflowEnvironment, *schedulerFake) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	workflows.Register(env, workflows.New(testOptions))
	p.RegisterAll(env)
	s := &schedulerFake{}
	s.register(env)
	return env, s
}

func runBatch(t *testing.T, env *testsuite.TestWorkflowEnvironment) (workflows.BatchResult, error) {
	t.Helper()
	env.ExecuteWorkflow(workflows.Batch, workflows.BatchInput{Platform: "YellowLive", Stream: "Store1"})
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	var res workflows.BatchResult
	err := env.GetWorkflowError()
	if err == nil {
		if gerr := env.GetWorkflowResult(&res); gerr != nil {
			t.Fatal(gerr)
		}
	}
	return res, err
}

func TestBatchWorkflow(t *testing.T) {
	tests := []struct {
		name         string
		viewsChanged bool
		faults       map[string][]error
		// want
		calls   []string
		batches []string
		failed  bool
		phase   string
		perm    bool
	}{
		{
			name:    "committed, views unchanged: no grants",
			calls:   []string{"ReconcileTables", "StartBatch", "IngestBatch", "MergeBatch", "ReconcileViews"},
			batches: []string{"1:committed"},
		},
		{
			name:         "views changed: grants applied",
			viewsChanged: true,
			calls:        []string{"ReconcileTables", "StartBatch", "IngestBatch", "MergeBatch", "ReconcileViews", "ApplyGrants"},
			batches:      []string{"1:committed"},
		},
		{
			name:    "ingest fails twice then succeeds: one batch",
			faults:  map[string][]error{batchapi.IngestBatch: {testplatform.Transient("source busy"), testplatform.Transient("source busy")}},
			calls:   []string{"ReconcileTables", "StartBatch", "IngestBatch", "IngestBatch", "IngestBatch", "MergeBatch", "ReconcileViews"},
			batches: []string{"1:committed"},
		},
		{
			name:    "permanent ingest error: failed batch, no retry, no merge",
			faults:  map[string][]error{batchapi.IngestBatch: {testplatform.Permanent("column missing: amount")}},
			calls:   []string{"ReconcileTables", "StartBatch", "IngestBatch", "FailBatch"},
			batches: []string{"1:failed"},
			failed:  true, phase: batchapi.PhaseIngest, perm: true,
		},
		{
			name: "retries exhausted: failed batch, not permanent",
			faults: map[string][]error{batchapi.MergeBatch: {
				testplatform.Transient("down"), testplatform.Transient("down"), testplatform.Transient("down"), testplatform.Transient("down"),
			}},
			calls:   []string{"ReconcileTables", "StartBatch", "IngestBatch", "MergeBatch", "MergeBatch", "MergeBatch", "MergeBatch", "FailBatch"},
			batches: []string{"1:failed"},
			failed:  true, phase: batchapi.PhaseMerge, perm: false,
		},
		{
			name:    "reconcile conflict: the opened batch is recorded failed",
			faults:  map[string][]error{batchapi.ReconcileTables: {testplatform.Permanent("key of orders changed")}},
			calls:   []string{"ReconcileTables", "StartBatch", "FailBatch"},
			batches: []string{"1:failed"},
			failed:  true, phase: batchapi.PhaseReconcile, perm: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := testplatform.New()
			p.ViewsChanged = tc.viewsChanged
			for name, errs := range tc.faults {
				p.Fail(name, errs...)
			}
			env, sf := newEnv(t, p)
			res, err := runBatch(t, env)
			if diff := cmp.Diff(tc.calls, p.Calls()); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.batches, p.Batches("YellowLive", "Store1")); diff != "" {
				t.Errorf("batches (-want +got):\n%s", diff)
			}
			if !tc.failed {
				if err != nil {
					t.Fatalf("workflow failed: %v", err)
				}
				if res.Status != batchapi.StatusCommitted || res.Batch != 1 || res.ModelVersion != 7 || res.Merge.Inserted != 3 {
					t.Errorf("result = %+v", res)
				}
				if diff := cmp.Diff([]string{"Store1"}, sf.notified); diff != "" {
					t.Errorf("notified (-want +got):\n%s", diff)
				}
				return
			}
			var app *temporal.ApplicationError
			if !errors.As(err, &app) || app.Type() != workflows.ErrBatchFailed {
				t.Fatalf("error = %v, want a %s application error", err, workflows.ErrBatchFailed)
			}
			var details workflows.BatchResult
			if err := app.Details(&details); err != nil {
				t.Fatal(err)
			}
			if details.Status != batchapi.StatusFailed || details.Batch != 1 {
				t.Errorf("details = %+v", details)
			}
			fs := p.Failures()
			if len(fs) != 1 || fs[0].Phase != tc.phase || fs[0].Permanent != tc.perm || fs[0].Batch != 1 || fs[0].Message == "" {
				t.Errorf("recorded failures = %+v, want one in phase %s, permanent %t", fs, tc.phase, tc.perm)
			}
		})
	}
}

func TestBatchWorkflowResumesIngestedBatch(t *testing.T) {
	p := testplatform.New()
	ctx := t.Context()
	// Batch 1 was ingested by an earlier run that died before the merge.
	st, err := p.StartBatch(ctx, batchapi.StartBatchInput{Platform: "YellowLive", Stream: "Store1", ModelVersion: 6})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.IngestBatch(ctx, batchapi.IngestBatchInput{Platform: "YellowLive", Stream: "Store1", BatchID: st.Batch}); err != nil {
		t.Fatal(err)
	}
	env, _ := newEnv(t, p)
	if _, err := runBatch(t, env); err != nil {
		t.Fatal(err)
	}
	want := []string{"StartBatch", "IngestBatch", "ReconcileTables", "StartBatch", "MergeBatch", "ReconcileViews"}
	if diff := cmp.Diff(want, p.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestBatchWorkflowPausesAfterFiveFailedAttempts(t *testing.T) {
	p := testplatform.New()
	for i := 0; i < workflows.MaxFailedAttempts; i++ {
		p.Fail(batchapi.IngestBatch, testplatform.Permanent("duplicate key 42 in snapshot"))
	}
	for attempt := 1; attempt <= workflows.MaxFailedAttempts; attempt++ {
		env, sf := newEnv(t, p)
		if _, err := runBatch(t, env); err == nil {
			t.Fatalf("attempt %d succeeded", attempt)
		}
		if attempt < workflows.MaxFailedAttempts && len(sf.paused) != 0 {
			t.Fatalf("paused after attempt %d: %v", attempt, sf.paused)
		}
		if attempt == workflows.MaxFailedAttempts && len(sf.paused) != 1 {
			t.Fatalf("not paused after attempt %d", attempt)
		}
	}
	if diff := cmp.Diff([]string{"1:failed"}, p.Batches("YellowLive", "Store1")); diff != "" {
		t.Errorf("batches (-want +got):\n%s", diff)
	}
}

func TestReconcileWorkflow(t *testing.T) {
	p := testplatform.New()
	env, sf := newEnv(t, p)
	sched := activities.ScheduleChanges{Created: []string{"Store1"}, Streams: 1}
	env.ExecuteWorkflow(workflows.Reconcile, workflows.ReconcileInput{Platform: "YellowLive", ModelVersion: 3, ModelDigest: "sha256:three", Schedules: sched})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	// Roles first (the owner role must exist before the DDL); grants are applied on every
	// reconcile: consumers or approvals can change without views.
	if diff := cmp.Diff([]string{"ApplyGrants", "ReconcileTables", "ReconcileViews", "ApplyGrants"}, p.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	// Then the reconcile is announced with the schedule changes it was given.
	if len(sf.announced) != 1 {
		t.Fatalf("PublishReconciled calls = %+v, want one", sf.announced)
	}
	a := sf.announced[0]
	if a.Platform != "YellowLive" || a.ModelVersion != 3 || a.ModelDigest != "sha256:three" || a.Grants == nil ||
		!cmp.Equal(a.Schedules, sched) {
		t.Errorf("PublishReconciled input = %+v", a)
	}
}

func TestTransformerWorkflowQueuesOneFollowUp(t *testing.T) {
	p := testplatform.New()
	env, sf := newEnv(t, p)
	// Three inputs commit while the first run is in flight: they collapse into one follow-up.
	env.OnActivity(batchapi.RunTransformer, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in batchapi.RunTransformerInput) (batchapi.RunTransformerResult, error) {
			return p.RunTransformer(ctx, in)
		}).After(time.Minute)
	for _, d := range []time.Duration{10 * time.Second, 20 * time.Second, 30 * time.Second} {
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalRun, "input committed") }, d)
	}
	env.ExecuteWorkflow(workflows.Transformer, workflows.TransformerInput{Platform: "YellowLive", Workspace: "Masking"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res workflows.TransformerResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 2 {
		t.Fatalf("runs = %+v, want 2 (the first and one follow-up)", res.Runs)
	}
	if diff := cmp.Diff([]string{"1:committed", "2:committed"}, p.Batches("YellowLive", "MaskingOut")); diff != "" {
		t.Errorf("output batches (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"MaskingOut", "MaskingOut"}, sf.notified); diff != "" {
		t.Errorf("notified (-want +got):\n%s", diff)
	}
}

func TestTransformerWorkflowWaiting(t *testing.T) {
	p := testplatform.New()
	p.Transform = batchapi.RunWaiting
	env, _ := newEnv(t, p)
	env.ExecuteWorkflow(workflows.Transformer, workflows.TransformerInput{Platform: "YellowLive", Workspace: "Masking"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ReconcileViews", "RunTransformer"}, p.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}
