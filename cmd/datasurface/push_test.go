package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/proto/gen/datasurface/model/v1/modelv1connect"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/testing/protocmp"
)

// examplesDir is examples/ of the repository.
func examplesDir() string { return filepath.Join(packageDir, "..", "..", "examples") }

// runWith runs a command line with the given environment; it returns stdout, stderr and the
// exit code.
func runWith(t *testing.T, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	c := &cli{stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] }}
	code := exitCode(c.run(t.Context(), args), &errb)
	return out.String(), errb.String(), code
}

// lines splits output into lines, leaving out those containing any of drop.
func lines(s string, drop ...string) []string {
	var out []string
	for l := range strings.Lines(s) {
		if !containsAny(l, drop) {
			out = append(out, strings.TrimSuffix(l, "\n"))
		}
	}
	return out
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// widenedModel writes a git repository whose HEAD commit holds, under model/, the
// add-nullable-column scenario with SalesDB.orders.status widened to VarChar(40): a change of
// team-sales on top of version 2.
func widenedModel(t *testing.T) string {
	t.Helper()
	repoDir := t.TempDir()
	src := filepath.Join(examplesDir(), "changes", "add-nullable-column")
	dst := filepath.Join(repoDir, "model")
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if rel == filepath.FromSlash("zones/europe/teams/sales/datastores/SalesDB.yaml") {
			const old, new = "{name: status, type: VarChar(20), nullable: false}", "{name: status, type: VarChar(40), nullable: false}"
			if !bytes.Contains(b, []byte(old)) {
				t.Fatalf("fixture: %q not in %s", old, p)
			}
			b = bytes.Replace(b, []byte(old), []byte(new), 1)
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(rel)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(repoDir, "README.md"), "not a model file\n")
	repo, err := git.PlainInit(repoDir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := wt.Commit("widen status", &git.CommitOptions{Author: &object.Signature{
		Name: "test", Email: "test@example.com", When: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}}); err != nil {
		t.Fatal(err)
	}
	return repoDir
}

// TestControlPlane drives `datasurface serve --service=modelsvc,validator` in this process with
// `push` and the read commands: the first model, an accepted change, a rejected one, the same
// change again, authentication failures, a push of a git commit, and every read command.
func TestControlPlane(t *testing.T) {
	start := time.Now()
	srv := controlPlane(t)
	t.Logf("control plane ready in %s", time.Since(start).Round(time.Millisecond))
	examples := examplesDir()
	acme := filepath.Join(examples, "acme")
	addColumn := filepath.Join(examples, "changes", "add-nullable-column")
	unauthorized := filepath.Join(examples, "changes", "unauthorized")
	env := func(token string) map[string]string {
		return map[string]string{"DATASURFACE_SERVER": srv.url, "DATASURFACE_TOKEN": token}
	}
	server := map[string]string{"DATASURFACE_SERVER": srv.url}

	step := func(name string, f func(t *testing.T)) {
		t.Helper()
		if !t.Run(name, f) {
			t.FailNow() // the steps build on each other
		}
	}

	step("nothing committed yet", func(t *testing.T) {
		_, stderr, code := runWith(t, server, "model", "list", "datastores")
		if code != 2 || !strings.Contains(stderr, "unavailable") {
			t.Errorf("exit code %d, stderr %q; want 2 and unavailable", code, stderr)
		}
	})

	step("first model", func(t *testing.T) {
		stdout, stderr, code := runWith(t, env(ecoToken), "push", acme, "--source", ecoRepo, "--timeout", "30s")
		if code != 0 {
			t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		last := lines(stdout)[len(lines(stdout))-1]
		if !strings.HasPrefix(last, "push: ACCEPTED — 0 errors, 0 warnings, ") || !strings.Contains(last, "(committed version 1, proposal ") ||
			!strings.Contains(last, "source "+ecoRepo+")") {
			t.Errorf("summary = %q", last)
		}
	})

	step("accepted change", func(t *testing.T) {
		stdout, stderr, code := runWith(t, env(salesToken), "push", "--source", salesRepo, addColumn)
		if code != 0 {
			t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if !strings.Contains(stdout, "(committed version 2, base version 1, proposal ") {
			t.Errorf("stdout = %q", stdout)
		}
	})

	step("rejected change prints the problems like validate", func(t *testing.T) {
		stdout, stderr, code := runWith(t, env(salesToken), "push", unauthorized, "--source", salesRepo)
		if code != 1 {
			t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		vout, verr, vcode := runWith(t, nil, "validate", "--base", addColumn, "--head", unauthorized, "--source", salesRepo)
		if vcode != 1 {
			t.Fatalf("validate exit code %d: %s", vcode, verr)
		}
		// validate has no history (INFO DS-GATE-004); the validator has it.
		want := lines(vout, "DS-GATE-004", "validate: FAIL")
		got := lines(stdout, "push: REJECTED")
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("problems (-validate +push):\n%s", diff)
		}
		if !strings.Contains(stdout, "DS-AUTH-002") {
			t.Errorf("no DS-AUTH-002 in %q", stdout)
		}
		if !strings.Contains(stdout, "push: REJECTED — 1 error") || !strings.Contains(stdout, "(the model stays at version 2, proposal ") {
			t.Errorf("summary in %q", stdout)
		}
	})

	step("rejected change as JSON", func(t *testing.T) {
		stdout, stderr, code := runWith(t, env(salesToken), "push", unauthorized, "--source", salesRepo, "--format", "json")
		if code != 1 {
			t.Fatalf("exit code %d\nstderr:\n%s", code, stderr)
		}
		var got struct {
			State       string `json:"state"`
			Source      string `json:"source"`
			BaseVersion int64  `json:"baseVersion"`
			Version     int64  `json:"version"`
			Report      struct {
				Result string `json:"result"`
				Base   struct {
					ModelVersion int64 `json:"modelVersion"`
				} `json:"base"`
				Problems []struct {
					RuleID string `json:"ruleId"`
				} `json:"problems"`
			} `json:"report"`
		}
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatalf("%v in %s", err, stdout)
		}
		if got.State != "rejected" || got.Source != salesRepo || got.BaseVersion != 2 || got.Version != 0 ||
			got.Report.Result != "fail" || got.Report.Base.ModelVersion != 2 {
			t.Errorf("verdict = %+v", got)
		}
		var rules []string
		for _, p := range got.Report.Problems {
			rules = append(rules, p.RuleID)
		}
		if !strings.Contains(strings.Join(rules, " "), "DS-AUTH-002") {
			t.Errorf("rules = %v, want DS-AUTH-002", rules)
		}
	})

	step("the same change again commits nothing", func(t *testing.T) {
		stdout, stderr, code := runWith(t, env(salesToken), "push", addColumn, "--source", salesRepo)
		if code != 0 {
			t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if !strings.Contains(stdout, "push: ACCEPTED") || !strings.Contains(stdout, "(no change: the model stays at version 2, proposal ") {
			t.Errorf("stdout = %q", stdout)
		}
	})

	step("authentication failures", func(t *testing.T) {
		tests := []struct {
			name, token, source, want string
		}{
			{name: "unknown token", token: "wrong-token", source: salesRepo, want: "unauthenticated: unknown API token"},
			{name: "token of another repository", token: paymentsToken, source: salesRepo, want: "permission_denied: the API token may not propose changes for '" + salesRepo + "'"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, stderr, code := runWith(t, env(tt.token), "push", addColumn, "--source", tt.source)
				if code != 2 || !strings.Contains(stderr, tt.want) {
					t.Errorf("exit code %d, stderr %q; want 2 and %q", code, stderr, tt.want)
				}
			})
		}
		// --token wins over the environment.
		_, stderr, code := runWith(t, env(salesToken), "push", addColumn, "--source", salesRepo, "--token", "wrong-token")
		if code != 2 || !strings.Contains(stderr, "unauthenticated") {
			t.Errorf("exit code %d, stderr %q; want 2 and unauthenticated", code, stderr)
		}
	})

	step("push a git commit", func(t *testing.T) {
		repo := widenedModel(t)
		stdout, stderr, code := runWith(t, env(salesToken), "push", "--commit", "HEAD", "--repo", repo, "--path", "model",
			"--source", salesRepo, "--format", "json")
		if code != 0 {
			t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		var got struct {
			State   string `json:"state"`
			Commit  string `json:"commit"`
			Version int64  `json:"version"`
			Report  struct {
				Changes []struct {
					Kind string `json:"kind"`
				} `json:"changes"`
			} `json:"report"`
		}
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatalf("%v in %s", err, stdout)
		}
		if got.State != "accepted" || got.Version != 3 || len(got.Commit) != 40 {
			t.Errorf("verdict = %+v", got)
		}
		if len(got.Report.Changes) != 1 || got.Report.Changes[0].Kind != "COLUMN_WIDENED" {
			t.Errorf("changes = %+v, want one COLUMN_WIDENED", got.Report.Changes)
		}
	})

	step("model versions", func(t *testing.T) {
		stdout, stderr, code := runWith(t, server, "model", "versions", "--format", "text")
		if code != 0 {
			t.Fatalf("exit code %d: %s", code, stderr)
		}
		var got []string
		for _, l := range lines(stdout) {
			f := strings.Split(l, "\t")
			if len(f) != 4 || !strings.HasPrefix(f[2], "sha256:") {
				t.Errorf("line %q", l)
				continue
			}
			got = append(got, f[0]+" "+f[3])
		}
		want := []string{"3 " + salesRepo, "2 " + salesRepo, "1 " + ecoRepo}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("versions (-want +got):\n%s", diff)
		}
		stdout, _, code = runWith(t, server, "model", "versions", "2", "--format", "text")
		if code != 0 || !strings.Contains(stdout, "COLUMN_ADDED datastore[SalesDB]/dataset[orders]/column[coupon_code]") {
			t.Errorf("exit code %d, stdout %q", code, stdout)
		}
		_, stderr, code = runWith(t, server, "model", "versions", "9")
		if code != 1 || !strings.Contains(stderr, "model versions:") {
			t.Errorf("unknown version: exit code %d, stderr %q", code, stderr)
		}
	})

	step("model get", func(t *testing.T) {
		stdout, stderr, code := runWith(t, server, "model", "get", "dataset", "SalesDB.orders", "--version", "1")
		if code != 0 {
			t.Fatalf("exit code %d: %s", code, stderr)
		}
		var v1 modelv1.GetDatasetResponse
		if err := protojson.Unmarshal([]byte(stdout), &v1); err != nil {
			t.Fatalf("%v in %s", err, stdout)
		}
		if v1.GetVersion().GetNumber() != 1 || strings.Contains(stdout, "coupon_code") {
			t.Errorf("version 1 answer: %s", stdout)
		}
		stdout, _, code = runWith(t, server, "model", "get", "dataset", "SalesDB.orders", "--format", "yaml")
		if code != 0 || !strings.HasPrefix(stdout, "---\nversion:\n  number: \"3\"\n") || !strings.Contains(stdout, "coupon_code") {
			t.Errorf("latest as YAML: exit code %d, stdout:\n%s", code, stdout)
		}
		stdout, _, code = runWith(t, server, "model", "get", "team", "Europe/Sales", "--format", "text")
		if code != 0 || !strings.HasPrefix(stdout, "# Team 'Europe/Sales' at model version 3 (sha256:") || !strings.Contains(stdout, "SalesDB") {
			t.Errorf("team as text: exit code %d, stdout:\n%s", code, stdout)
		}
		stdout, stderr, code = runWith(t, server, "model", "get", "workspace", "SalesAnalytics", "NoSuchWorkspace", "CustomerTotals")
		if code != 1 || !strings.Contains(stderr, "model get: Workspace 'NoSuchWorkspace' not found") {
			t.Errorf("exit code %d, stderr %q; want 1 and not found", code, stderr)
		}
		if strings.Count(stdout, `"workspace": {`) != 2 {
			t.Errorf("want the two workspaces that exist, got:\n%s", stdout)
		}
		_, stderr, code = runWith(t, server, "model", "get", "datastore", "SalesDB", "--version", "7")
		if code != 1 {
			t.Errorf("unknown version: exit code %d, stderr %q", code, stderr)
		}
		_, stderr, code = runWith(t, server, "model", "get", "datastore", "not a name")
		if code != 2 || !strings.Contains(stderr, "invalid_argument") {
			t.Errorf("invalid name: exit code %d, stderr %q", code, stderr)
		}
	})

	step("model list and deps", func(t *testing.T) {
		stdout, stderr, code := runWith(t, server, "model", "list", "datastores", "--format", "text")
		if code != 0 {
			t.Fatalf("exit code %d: %s", code, stderr)
		}
		if diff := cmp.Diff([]string{"CatalogEvents", "PaymentsDB", "SalesDB", "SalesSummary"}, lines(stdout)); diff != "" {
			t.Errorf("datastores (-want +got):\n%s", diff)
		}
		stdout, _, _ = runWith(t, server, "model", "list", "teams", "--format", "text")
		if diff := cmp.Diff([]string{"Americas/Catalog", "Americas/Payments", "Americas/Risk", "Europe/Analytics", "Europe/Sales"}, lines(stdout)); diff != "" {
			t.Errorf("teams (-want +got):\n%s", diff)
		}
		stdout, _, _ = runWith(t, server, "model", "list", "workspaces")
		var ws modelv1.ListWorkspacesResponse
		if err := protojson.Unmarshal([]byte(stdout), &ws); err != nil {
			t.Fatalf("%v in %s", err, stdout)
		}
		if len(ws.GetWorkspaces()) == 0 || ws.GetVersion().GetNumber() != 3 {
			t.Errorf("workspaces: %s", stdout)
		}
		stdout, stderr, code = runWith(t, server, "model", "deps", "SalesDB", "--format", "text")
		if code != 0 || !strings.HasPrefix(stdout, "# workspaces depending on datastore 'SalesDB' at model version 3") {
			t.Errorf("deps: exit code %d, stderr %q, stdout:\n%s", code, stderr, stdout)
		}
		_, stderr, code = runWith(t, server, "model", "deps", "NoSuchStore")
		if code != 1 || !strings.Contains(stderr, "not found") {
			t.Errorf("deps of unknown store: exit code %d, stderr %q", code, stderr)
		}
	})
}

// fakeModelService answers ProposeChange and GetProposal from fixed values.
type fakeModelService struct {
	modelv1connect.UnimplementedModelServiceHandler
	proposal *modelv1.Proposal
}

func (f *fakeModelService) ProposeChange(_ context.Context, req *connect.Request[modelv1.ProposeChangeRequest]) (*connect.Response[modelv1.ProposeChangeResponse], error) {
	if req.Header().Get("Authorization") != "Bearer good" {
		return nil, connect.NewError(connect.CodeUnauthenticated, nil)
	}
	return connect.NewResponse(&modelv1.ProposeChangeResponse{ProposalId: f.proposal.GetId(), Digest: f.proposal.GetDigest()}), nil
}

func (f *fakeModelService) GetProposal(context.Context, *connect.Request[modelv1.GetProposalRequest]) (*connect.Response[modelv1.GetProposalResponse], error) {
	return connect.NewResponse(&modelv1.GetProposalResponse{Proposal: f.proposal}), nil
}

func fakeServer(t *testing.T, p *modelv1.Proposal) string {
	t.Helper()
	path, h := modelv1connect.NewModelServiceHandler(&fakeModelService{proposal: p})
	mux := http.NewServeMux()
	mux.Handle(path, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestPushWithoutStack covers what needs no control plane: flags, unreachable servers,
// timeouts and the rendering of a verdict.
func TestPushWithoutStack(t *testing.T) {
	acme := filepath.Join(examplesDir(), "acme")
	pending := fakeServer(t, &modelv1.Proposal{Id: "01PENDING", Digest: "sha256:x", State: modelv1.ProposalState_PROPOSAL_STATE_PENDING})
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStderr string
	}{
		{name: "no model", args: []string{"push", "--source", salesRepo, "--token", "t"}, wantCode: 2, wantStderr: "give the model directory or --commit"},
		{name: "directory and commit", args: []string{"push", acme, "--commit", "HEAD", "--source", salesRepo, "--token", "t"}, wantCode: 2, wantStderr: "not both"},
		{name: "no source", args: []string{"push", acme, "--token", "t"}, wantCode: 2, wantStderr: "--source is required"},
		{name: "no token", args: []string{"push", acme, "--source", salesRepo}, wantCode: 2, wantStderr: "no API token: set DATASURFACE_TOKEN"},
		{name: "bad format", args: []string{"push", acme, "--source", salesRepo, "--token", "t", "--format", "github"}, wantCode: 2, wantStderr: "--format must be one of text, json"},
		{name: "bad server", args: []string{"push", acme, "--source", salesRepo, "--token", "t", "--server", "ftp://x"}, wantCode: 2, wantStderr: "--server must be an http"},
		{name: "missing directory", args: []string{"push", "nosuchdir", "--source", salesRepo, "--token", "t"}, wantCode: 2, wantStderr: "push: stat nosuchdir"},
		{name: "no model files", args: []string{"push", t.TempDir(), "--source", salesRepo, "--token", "t"}, wantCode: 2, wantStderr: "holds no model files"},
		{name: "unknown revision", args: []string{"push", "--commit", "nope", "--repo", t.TempDir(), "--source", salesRepo, "--token", "t"}, wantCode: 2, wantStderr: "push:"},
		{name: "unreachable server", args: []string{"push", acme, "--source", salesRepo, "--server", "127.0.0.1:1"}, env: map[string]string{"DATASURFACE_TOKEN": "t"},
			wantCode: 2, wantStderr: "push: propose to http://127.0.0.1:1: unavailable:"},
		{name: "refused token", args: []string{"push", acme, "--source", salesRepo, "--server", pending, "--token", "bad"}, wantCode: 2, wantStderr: "unauthenticated"},
		{name: "no verdict in time", args: []string{"push", acme, "--source", salesRepo, "--server", pending, "--token", "good", "--timeout", "300ms"}, wantCode: 2,
			wantStderr: "push: proposal 01PENDING (sha256:x) has no verdict after 300ms: is the validator running?"},
		{name: "help", args: []string{"push", "-h"}, wantStderr: "DATASURFACE_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runWith(t, tt.env, tt.args...)
			if diff := cmp.Diff(tt.wantCode, code); diff != "" {
				t.Errorf("exit code (-want +got):\n%s\nstderr:\n%s", diff, stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantStderr)
			}
		})
	}
}

// TestPushRendersLikeValidate: a verdict's report is printed with validate's problem lines,
// base-side positions and problems without a location included.
func TestPushRendersLikeValidate(t *testing.T) {
	p := &modelv1.Proposal{
		Id: "01ABC", Source: salesRepo, Digest: "sha256:head", State: modelv1.ProposalState_PROPOSAL_STATE_REJECTED, BaseVersion: 4,
		Report: &modelv1.Report{
			Source: salesRepo, BaseDigest: "sha256:base", HeadDigest: "sha256:head", Mode: "BACKWARD",
			Phases: []*modelv1.Phase{{Name: "lint", Status: modelv1.PhaseStatus_PHASE_STATUS_PASSED}, {Name: "compatibility", Status: modelv1.PhaseStatus_PHASE_STATUS_FAILED}},
			Problems: []*modelv1.Problem{
				{RuleId: "DS-COMPAT-DATASTORE-REMOVED", Name: "datastore-removed", Severity: modelv1.Severity_SEVERITY_ERROR, Phase: "compatibility",
					Message: "datastore 'Old' was removed but was not deprecated in the base", ObjectPath: "datastore[Old]",
					Location: &modelv1.Position{Model: modelv1.Side_SIDE_BASE, File: "teams/old/store.yaml", Line: 4, Column: 3}},
				{RuleId: "DS-LINT-085", Name: "deprecated-acknowledged", Severity: modelv1.Severity_SEVERITY_WARNING, Phase: "lint",
					Message:  "'SalesAnalytics.main' uses deprecated dataset 'SalesDB.orders'",
					Location: &modelv1.Position{Model: modelv1.Side_SIDE_HEAD, File: "workspaces/sales_analytics.yaml", Line: 14, Column: 11}},
				{RuleId: "DS-GATE-001", Name: "initial-check-in", Severity: modelv1.Severity_SEVERITY_INFO, Phase: "gate", Message: "no location"},
			},
		},
	}
	var b bytes.Buffer
	if err := writePushResult(&b, "text", "dir", p); err != nil {
		t.Fatal(err)
	}
	want := "base:teams/old/store.yaml:4:3: ERROR DS-COMPAT-DATASTORE-REMOVED datastore-removed: datastore 'Old' was removed but was not deprecated in the base\n" +
		"workspaces/sales_analytics.yaml:14:11: WARNING DS-LINT-085 deprecated-acknowledged: 'SalesAnalytics.main' uses deprecated dataset 'SalesDB.orders'\n" +
		"INFO DS-GATE-001 initial-check-in: no location\n" +
		"push: REJECTED — 1 error, 1 warning, 1 info (the model stays at version 4, proposal 01ABC, head sha256:head, source " + salesRepo + ")\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}
	// The report converts back to the same wire form.
	back := reportOf(p, "dir").Proto()
	if diff := cmp.Diff(p.GetReport(), back, protocmp.Transform()); diff != "" {
		t.Errorf("report round trip (-want +got):\n%s", diff)
	}
	b.Reset()
	if err := writePushResult(&b, "json", "dir", p); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	report, _ := got["report"].(map[string]any)
	if got["state"] != "rejected" || report["result"] != "fail" || report["schemaVersion"] != float64(1) {
		t.Errorf("json = %s", b.String())
	}
}
