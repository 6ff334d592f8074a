package merge_test

import (
	"context"
	"errors"
	"testing"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/datasurface/datasurface/platforms/yellow/batchapi"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
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
