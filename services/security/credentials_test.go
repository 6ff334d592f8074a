package security_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/kit/metrics"
	"github.com/datasurface/datasurface/platforms/yellow/batchapi"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	securityv1 "github.com/datasurface/datasurface/proto/gen/datasurface/security/v1"
	"github.com/datasurface/datasurface/services/security"
	"github.com/datasurface/datasurface/services/security/internal/securitytest"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"google.golang.org/protobuf/proto"
)

// TestMergeCredentialMissing: when the security process cannot resolve a platform's
// mergeCredential it must not apply the platform without the merge login's membership in the
// owner role (the merge service would then meet "permission denied for schema" on every
// retry). The platform's plan has an error naming the credential; Apply fails with
// FailedPrecondition and changes nothing; the Temporal activity fails with a non-retryable
// Permanent error naming the credential; apply.failed is published with the model version; the
// check at start logs it at ERROR level; the other platform is applied as usual; once the
// credential is there the platform converges and the merge login is a member of the owner.
func TestMergeCredentialMissing(t *testing.T) {
	f := newFixture(t, loadAcme(t), security.Config{}, security.Deps{})
	delete(f.vars, "YELLOWLIVE_MERGE_USER")
	delete(f.vars, "YELLOWLIVE_MERGE_PASSWORD")

	js := startJetStream(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logs := &syncBuffer{}
	svc, err := security.New(security.Config{DSN: f.env.DSNAs(secLogin), Instance: "cred-test", DriftInterval: -1}, security.Deps{
		JS: js, Models: f.models, Secrets: security.CredentialStores(securitytest.EnvLookup(f.vars)),
		Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	const want = "mergeCredential YELLOWLIVE_MERGE cannot be resolved"
	failuresBefore := permanentFailures(t, platLive)

	// Plan: an error that names the credential and the variable that is missing.
	resp, err := svc.Handler().Plan(ctx, connect.NewRequest(&securityv1.PlanRequest{Platform: platLive}))
	if err != nil {
		t.Fatal(err)
	}
	errs := resp.Msg.GetPlan().GetErrors()
	if len(errs) != 1 || !strings.Contains(errs[0], want) || !strings.Contains(errs[0], "YELLOWLIVE_MERGE_USER") ||
		!strings.Contains(errs[0], `"yellowlive_owner"`) {
		t.Errorf("plan errors: %q", errs)
	}
	t.Logf("plan error: %s", errs)

	// Apply RPC: FailedPrecondition, nothing created.
	_, err = svc.Handler().Apply(ctx, connect.NewRequest(&securityv1.ApplyRequest{Platform: platLive}))
	if connect.CodeOf(err) != connect.CodeFailedPrecondition || !strings.Contains(err.Error(), want) {
		t.Errorf("Apply RPC: %v", err)
	}
	if f.roleExists("yellowlive_owner") || f.schemaExists("yellowlive") {
		t.Error("a failed apply created the owner role or the platform schema")
	}

	// The Temporal activity: non-retryable, of type Permanent, naming the credential.
	var suite testsuite.WorkflowTestSuite
	aenv := suite.NewTestActivityEnvironment()
	security.RegisterWorker(aenv, svc.Activities())
	_, err = aenv.ExecuteActivity(batchapi.ApplyGrants, batchapi.ApplyGrantsInput{Platform: platLive, ModelVersion: 1})
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != batchapi.ErrPermanent || !ae.NonRetryable() || !strings.Contains(ae.Error(), want) {
		t.Errorf("ApplyGrants activity: %v", err)
	}

	// apply.failed with the model version, the instance and the credential's name.
	failed := opsMessages(t, js, "ds.security.YellowLive.apply.failed")
	if len(failed) != 2 {
		t.Fatalf("%d apply.failed events, want 2 (RPC and activity)", len(failed))
	}
	ev := &eventsv1.SecurityApplyFailed{}
	if err := proto.Unmarshal(failed[0].Data, ev); err != nil {
		t.Fatal(err)
	}
	if ev.GetModelVersion() != 1 || ev.GetInstance() != "cred-test" || ev.GetPlatform() != platLive || !strings.Contains(ev.GetError(), want) {
		t.Errorf("apply.failed: %v", ev)
	}
	if got := permanentFailures(t, platLive) - failuresBefore; got != 2 {
		t.Errorf("datasurface_grant_apply_failures_total{permanent=\"true\"} rose by %v, want 2", got)
	}
	if len(opsMessages(t, js, "ds.security.YellowLive.applied")) != 0 {
		t.Error("an applied event was published for a failed apply")
	}
	if !strings.Contains(logs.String(), "level=ERROR msg=\"apply failed\"") || !strings.Contains(logs.String(), want) {
		t.Errorf("no ERROR log line names the credential:\n%s", logs.String())
	}

	// The check at start logs it too.
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	waitFor(t, "the credential check at start", func() bool {
		return strings.Contains(logs.String(), "credential of a managed platform cannot be resolved") &&
			strings.Contains(logs.String(), "platform=YellowLive")
	})
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "credential of a managed platform") && !strings.Contains(line, "platform=YellowLive") {
			t.Errorf("the check at start reported another platform, whose credentials resolve: %s", line)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}

	// The other platform is not affected.
	if _, err := svc.Activities().ApplyGrants(t.Context(), security.ApplyGrantsInput{Platform: platForensic}); err != nil {
		t.Errorf("YellowForensic: %v", err)
	}

	// Once the credential can be resolved, the platform converges.
	f.vars["YELLOWLIVE_MERGE_USER"] = mergeLive
	f.vars["YELLOWLIVE_MERGE_PASSWORD"] = "m1"
	f.converge(platForensic, platLive)
	if !slices.Contains(f.members("yellowlive_owner"), mergeLive) {
		t.Errorf("members of yellowlive_owner: %v", f.members("yellowlive_owner"))
	}
}

// TestSecurityCredentialMissing: without Config.DSN the service connects as the platform's
// securityCredential; when it cannot be resolved the apply fails before connecting, with
// FailedPrecondition and a permanent activity error naming the credential.
func TestSecurityCredentialMissing(t *testing.T) {
	vars := map[string]string{"YELLOWLIVE_MERGE_USER": mergeLive, "YELLOWLIVE_MERGE_PASSWORD": "m1"}
	svc, err := security.New(security.Config{DriftInterval: -1}, security.Deps{
		Models: security.StaticModel(loadAcme(t)), Secrets: security.CredentialStores(securitytest.EnvLookup(vars)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	const want = "securityCredential YELLOWLIVE_SECURITY cannot be resolved"
	_, err = svc.Activities().ApplyGrants(t.Context(), security.ApplyGrantsInput{Platform: platLive})
	if !security.IsPermanent(err) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "YELLOWLIVE_SECURITY_USER") {
		t.Errorf("ApplyGrants: %v (permanent %v)", err, security.IsPermanent(err))
	}
	_, err = svc.Handler().Apply(t.Context(), connect.NewRequest(&securityv1.ApplyRequest{Platform: platLive}))
	if connect.CodeOf(err) != connect.CodeFailedPrecondition || !strings.Contains(err.Error(), want) {
		t.Errorf("Apply RPC: %v", err)
	}
}

// TestGeneratedSecretNotWritable: a file store whose credential directory cannot take the
// generated password fails the apply with FailedPrecondition and a permanent activity error
// that says so and tells the operator to pre-create the credential; nothing is applied.
func TestGeneratedSecretNotWritable(t *testing.T) {
	root := t.TempDir()
	mv := loadAcme(t)
	fileStore(t, mv.Model, root)
	// The password's place is taken by a directory: the rename of the generated file fails
	// (this holds even for root, unlike a read-only mode).
	if err := os.MkdirAll(filepath.Join(root, "YELLOWLIVE_DT_CUSTOMERTOTALS", "password", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, mv, security.Config{}, security.Deps{})
	_, err := f.svc.Activities().ApplyGrants(t.Context(), security.ApplyGrantsInput{Platform: platLive})
	const want = `transformer login "yellowlive_dt_customertotals" YELLOWLIVE_DT_CUSTOMERTOTALS cannot be stored: the generated password cannot be written to the credential store`
	t.Logf("apply error: %v", err)
	if !security.IsPermanent(err) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "pre-create the credential") {
		t.Errorf("ApplyGrants: %v (permanent %v)", err, security.IsPermanent(err))
	}
	_, err = f.svc.Handler().Apply(t.Context(), connect.NewRequest(&securityv1.ApplyRequest{Platform: platLive}))
	if connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Errorf("Apply RPC: %v", err)
	}
	if f.roleExists("yellowlive_owner") || f.roleExists(dtRole) {
		t.Error("a failed apply created roles")
	}
}

// TestMergeLoginMissing: a mergeCredential whose user is not a role on the cluster (the
// operator has not made the merge login yet) is a plan error too: nothing is applied.
func TestMergeLoginMissing(t *testing.T) {
	f := newFixture(t, loadAcme(t), security.Config{}, security.Deps{})
	f.vars["YELLOWLIVE_MERGE_USER"] = "no_such_merge_login"
	p := f.plan(platLive)
	if len(p.GetErrors()) != 1 || !strings.Contains(p.GetErrors()[0], `merge login "no_such_merge_login" of platform YellowLive does not exist`) {
		t.Errorf("plan errors: %q", p.GetErrors())
	}
	_, err := f.svc.Activities().ApplyGrants(t.Context(), security.ApplyGrantsInput{Platform: platLive})
	if !security.IsPermanent(err) || !strings.Contains(err.Error(), "no_such_merge_login") {
		t.Errorf("ApplyGrants: %v", err)
	}
	if f.roleExists("yellowlive_owner") {
		t.Error("a failed apply created the owner role")
	}
}

// permanentFailures scrapes datasurface_grant_apply_failures_total{permanent="true"} of platform
// from the process's metrics endpoint.
func permanentFailures(t *testing.T, platform string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	prefix := `datasurface_grant_apply_failures_total{permanent="true",platform="` + platform + `"} `
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	return 0
}
