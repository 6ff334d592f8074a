package ingest_test

import (
	"context"
	"errors"
	"testing"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/datasurface/datasurface/platforms/yellow/batchapi"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/ingest"
)

type workerModels struct{}

func (workerModels) Model(_ context.Context, v int64, _ string) (*modelv1.Model, error) {
	if v == 1 {
		return &modelv1.Model{}, nil
	}
	return nil, errors.New("model store unavailable")
}

// TestWorkerNames calls IngestBatch by its batchapi name with the batchapi input: an unknown
// platform is a non-retryable application error of type Permanent, an unavailable model store
// a retryable error.
func TestWorkerNames(t *testing.T) {
	svc, err := ingest.New(ingest.Config{}, ingest.Deps{Models: workerModels{}, Secrets: ingest.Credentials{LookupEnv: func(string) (string, bool) { return "", false }}})
	if err != nil {
		t.Fatal(err)
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	ingest.RegisterWorker(env, svc.Activities())

	_, err = env.ExecuteActivity(batchapi.IngestBatch, batchapi.IngestBatchInput{Platform: "nope", Stream: "S", BatchID: 1, ModelVersion: 1})
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != batchapi.ErrPermanent || !ae.NonRetryable() {
		t.Errorf("unknown platform: error %v, want a non-retryable %s application error", err, batchapi.ErrPermanent)
	}
	_, err = env.ExecuteActivity(batchapi.IngestBatch, batchapi.IngestBatchInput{Platform: "P", Stream: "S", BatchID: 1, ModelVersion: 2})
	if err == nil || errors.As(err, &ae) && ae.NonRetryable() {
		t.Errorf("unavailable model: error %v, want a retryable error", err)
	}
}

func TestTemporalError(t *testing.T) {
	if ingest.TemporalError(nil) != nil {
		t.Error("nil error converted")
	}
	var ae *temporal.ApplicationError
	busy := &ingest.Error{Code: ingest.CodeStreamBusy, Reason: "busy"}
	if err := ingest.TemporalError(busy); !errors.As(err, &ae) || ae.Type() != batchapi.ErrStreamBusy || ae.NonRetryable() {
		t.Errorf("busy stream: %v, want a retryable %s error", err, batchapi.ErrStreamBusy)
	}
	perm := &ingest.Error{Code: ingest.CodeNullKey, Permanent: true, Reason: "null key"}
	if err := ingest.TemporalError(perm); !errors.As(err, &ae) || ae.Type() != batchapi.ErrPermanent || !ae.NonRetryable() || !errors.Is(err, perm) {
		t.Errorf("permanent: %v, want a non-retryable %s error wrapping the cause", err, batchapi.ErrPermanent)
	}
}
