package security_test

import (
	"errors"
	"testing"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/datasurface/datasurface/platforms/yellow/batchapi"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/security"
)

// TestWorkerNames calls the activities by name with batchapi inputs: a missing or unknown
// platform is a non-retryable application error of type Permanent.
func TestWorkerNames(t *testing.T) {
	svc, err := security.New(security.Config{DriftInterval: -1}, security.Deps{
		Models:  security.StaticModel(&security.ModelVersion{Number: 1, Model: &modelv1.Model{}}),
		Secrets: security.CredentialStores(func(string) (string, bool) { return "", false }),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	security.RegisterWorker(env, svc.Activities())
	for _, name := range []string{batchapi.ApplyGrants, security.ActivityPrepare} {
		for _, platform := range []string{"", "nope"} {
			_, err := env.ExecuteActivity(name, batchapi.ApplyGrantsInput{Platform: platform, ModelVersion: 1})
			var ae *temporal.ApplicationError
			if !errors.As(err, &ae) || ae.Type() != batchapi.ErrPermanent || !ae.NonRetryable() {
				t.Errorf("%s(%q): error %v, want a non-retryable %s application error", name, platform, err, batchapi.ErrPermanent)
			}
		}
	}
}

func TestTemporalError(t *testing.T) {
	if security.TemporalError(nil) != nil {
		t.Error("nil error converted")
	}
	plain := &security.Error{Activity: "ApplyGrants", Err: errors.New("connection refused")}
	var ae *temporal.ApplicationError
	if err := security.TemporalError(plain); errors.As(err, &ae) || !errors.Is(err, plain) {
		t.Errorf("retryable error converted to %v", err)
	}
}
