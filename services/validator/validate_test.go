package validator_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/kit/metrics"
	"github.com/datasurface/datasurface/kit/run"
	"github.com/datasurface/datasurface/kit/server"
	"github.com/datasurface/datasurface/model/gate"
	"github.com/datasurface/datasurface/model/lint"
	"github.com/datasurface/datasurface/model/load"
	"github.com/datasurface/datasurface/model/problem"
	"github.com/datasurface/datasurface/platforms/yellow/ylint"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	validatorv1 "github.com/datasurface/datasurface/proto/gen/datasurface/validator/v1"
	"github.com/datasurface/datasurface/proto/gen/datasurface/validator/v1/validatorv1connect"
	"github.com/datasurface/datasurface/services/validator"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
)

// serve runs a validator behind a kit/server on 127.0.0.1:0 and returns a generated client.
func (e *env) serve(cfg validator.Config) validatorv1connect.ValidatorServiceClient {
	t := e.t
	t.Helper()
	svc, err := validator.New(cfg, validator.Deps{JS: e.connect(), Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New("127.0.0.1:0", testLog(t))
	svc.Register(srv)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- run.Group(ctx, svc, srv) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	addr, err := srv.Addr(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the validator to become ready", func() bool { return svc.Ready(ctx) == nil })
	return validatorv1connect.NewValidatorServiceClient(http.DefaultClient, "http://"+addr)
}

func TestValidateRPC(t *testing.T) {
	e := newEnv(t)
	client := e.serve(validator.Config{ToolVersion: "test"})
	acme := snapshotOf(t, acmeDir)
	addColumn := snapshotOf(t, changesDir+"/add-nullable-column")
	unauthorized := snapshotOf(t, changesDir+"/unauthorized")
	onSnapshot := func(s *modelv1.Snapshot) *validatorv1.ValidateRequest_BaseSnapshot {
		return &validatorv1.ValidateRequest_BaseSnapshot{BaseSnapshot: s}
	}
	onVersion := func(v int64) *validatorv1.ValidateRequest_BaseVersion {
		return &validatorv1.ValidateRequest_BaseVersion{BaseVersion: v}
	}
	type result struct {
		Code        connect.Code // 0: the call succeeded
		Passed      bool
		BaseVersion int64
		Rules       []string // rule ids that must be reported
	}
	type tc struct {
		name string
		req  *validatorv1.ValidateRequest
		want result
	}
	call := func(t *testing.T, c tc) {
		resp, err := client.Validate(t.Context(), connect.NewRequest(c.req))
		var got result
		if err != nil {
			got.Code = connect.CodeOf(err)
		} else {
			got.Passed, got.BaseVersion = resp.Msg.GetReport().GetPassed(), resp.Msg.GetBaseVersion()
			have := ruleIDs(resp.Msg.GetReport())
			for _, r := range c.want.Rules {
				if slices.Contains(have, r) {
					got.Rules = append(got.Rules, r)
				}
			}
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("Validate (-want +got):\n%s\nerr: %v", diff, err)
		}
	}

	before := []tc{
		{"pass against a snapshot", &validatorv1.ValidateRequest{Head: addColumn, Source: salesRepo, Base: onSnapshot(acme)},
			result{Passed: true}},
		{"fail against a snapshot", &validatorv1.ValidateRequest{Head: unauthorized, Source: salesRepo, Base: onSnapshot(acme)},
			result{Rules: []string{"DS-AUTH-002"}}},
		{"initial check-in", &validatorv1.ValidateRequest{Head: acme, Source: ecoRepo, Base: &validatorv1.ValidateRequest_Initial{Initial: true}},
			result{Passed: true, Rules: []string{"DS-GATE-001"}}},
		{"initial check-in from another repository", &validatorv1.ValidateRequest{Head: acme, Source: salesRepo, Base: &validatorv1.ValidateRequest_Initial{Initial: true}},
			result{Rules: []string{"DS-AUTH-005"}}},
		{"missing head", &validatorv1.ValidateRequest{Source: salesRepo, Base: onSnapshot(acme)},
			result{Code: connect.CodeInvalidArgument}},
		{"empty source", &validatorv1.ValidateRequest{Head: addColumn, Base: onSnapshot(acme)},
			result{Code: connect.CodeInvalidArgument}},
		{"invalid file path", &validatorv1.ValidateRequest{Head: &modelv1.Snapshot{Files: []*modelv1.SnapshotFile{{Path: "../x.yaml"}}}, Source: salesRepo},
			result{Code: connect.CodeInvalidArgument}},
		{"base snapshot without files", &validatorv1.ValidateRequest{Head: addColumn, Source: salesRepo, Base: onSnapshot(&modelv1.Snapshot{})},
			result{Code: connect.CodeInvalidArgument}},
		{"base snapshot that is not a model", &validatorv1.ValidateRequest{Head: addColumn, Source: salesRepo,
			Base: onSnapshot(&modelv1.Snapshot{Files: []*modelv1.SnapshotFile{{Path: "a.yaml", Content: []byte("kind: [")}}})},
			result{Code: connect.CodeInvalidArgument}},
		{"negative version", &validatorv1.ValidateRequest{Head: addColumn, Source: salesRepo, Base: onVersion(-1)},
			result{Code: connect.CodeInvalidArgument}},
		{"head before anything is committed", &validatorv1.ValidateRequest{Head: addColumn, Source: salesRepo},
			result{Code: connect.CodeNotFound}},
	}
	for _, c := range before {
		t.Run(c.name, func(t *testing.T) { call(t, c) })
	}

	// Commit acme as version 1 (the validator's own consumer decides it) and check against it.
	e.propose("p1", ecoRepo, acme)
	if v := e.verdict("p1"); v.GetVersion() != 1 {
		t.Fatalf("initial check-in: verdict %v", v)
	}
	messages := e.streamMessages()
	after := []tc{
		{"pass against the head", &validatorv1.ValidateRequest{Head: addColumn, Source: salesRepo},
			result{Passed: true, BaseVersion: 1}},
		{"pass against version 0 (the head)", &validatorv1.ValidateRequest{Head: addColumn, Source: salesRepo, Base: onVersion(0)},
			result{Passed: true, BaseVersion: 1}},
		{"fail against version 1", &validatorv1.ValidateRequest{Head: unauthorized, Source: salesRepo, Base: onVersion(1)},
			result{BaseVersion: 1, Rules: []string{"DS-AUTH-002"}}},
		{"unknown version", &validatorv1.ValidateRequest{Head: addColumn, Source: salesRepo, Base: onVersion(99)},
			result{Code: connect.CodeNotFound}},
	}
	for _, c := range after {
		t.Run(c.name, func(t *testing.T) { call(t, c) })
	}
	t.Run("concurrent calls", func(t *testing.T) {
		errc := make(chan error, 8)
		for range 8 {
			go func() {
				resp, err := client.Validate(t.Context(), connect.NewRequest(&validatorv1.ValidateRequest{Head: addColumn, Source: salesRepo}))
				if err == nil && !resp.Msg.GetReport().GetPassed() {
					err = fmt.Errorf("report did not pass: %v", ruleIDs(resp.Msg.GetReport()))
				}
				errc <- err
			}()
		}
		for range 8 {
			if err := <-errc; err != nil {
				t.Error(err)
			}
		}
	})
	if got := e.streamMessages(); got != messages {
		t.Errorf("Validate published: the stream went from %d to %d messages", messages, got)
	}
}

// expectedLine is a scenario README's "Expected: --source <repo> → PASS|FAIL …" line.
var expectedLine = regexp.MustCompile(`(?m)^Expected: --source (\S+) → (PASS|FAIL)(.*)$`)

// TestScenariosAsTheCLI checks every scenario of examples/changes through the RPC: the verdict
// its README states, and a report identical to the one `datasurface validate` computes (the CLI's
// loading and platform rules, with an empty history).
func TestScenariosAsTheCLI(t *testing.T) {
	e := newEnv(t)
	client := e.serve(validator.Config{ToolVersion: "test"})
	acme := snapshotOf(t, acmeDir)
	dirs, err := filepath.Glob(changesDir + "/*/README.md")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	base, err := load.Dir(acmeDir, load.Options{Side: problem.Base, Lenient: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, readme := range dirs {
		dir := filepath.Dir(readme)
		text, err := os.ReadFile(readme)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range expectedLine.FindAllStringSubmatch(string(text), -1) {
			source, verdict, rest := m[1], m[2], m[3]
			t.Run(filepath.Base(dir)+"@"+source[strings.LastIndex(source, "@")+1:], func(t *testing.T) {
				resp, err := client.Validate(t.Context(), connect.NewRequest(&validatorv1.ValidateRequest{
					Head: snapshotOf(t, dir), Source: source, Base: &validatorv1.ValidateRequest_BaseSnapshot{BaseSnapshot: acme},
				}))
				if err != nil {
					t.Fatal(err)
				}
				got := resp.Msg.GetReport()
				if got.GetPassed() != (verdict == "PASS") {
					t.Errorf("passed = %v, want %s; problems %v", got.GetPassed(), verdict, ruleIDs(got))
				}
				for _, id := range regexp.MustCompile(`DS-[A-Z0-9-]+[0-9A-Z]`).FindAllString(rest, -1) {
					if !slices.Contains(ruleIDs(got), id) {
						t.Errorf("rule %s not reported; got %v", id, ruleIDs(got))
					}
				}
				head, err := load.Dir(dir, load.Options{Side: problem.Head})
				if err != nil {
					t.Fatal(err)
				}
				cli, err := gate.Run(t.Context(), gate.Input{
					Base: base, Head: head, Source: source, HistoryGiven: true, FailOn: problem.Error,
					Platforms: []lint.PlatformRules{ylint.New()}, ToolVersion: "test",
				})
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(cli.Proto(), got, protocmp.Transform()); diff != "" {
					t.Errorf("report differs from the CLI's (-cli +rpc):\n%s", diff)
				}
			})
		}
	}
}

func TestValidateBeforeRun(t *testing.T) {
	e := newEnv(t)
	svc, err := validator.New(validator.Config{}, validator.Deps{JS: e.js})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Ready(t.Context()); err == nil {
		t.Error("Ready before Run = nil, want an error")
	}
	srv := server.New("127.0.0.1:0", nil)
	svc.Register(srv)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	}()
	addr, err := srv.Addr(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client := validatorv1connect.NewValidatorServiceClient(http.DefaultClient, "http://"+addr)
	unavailable := map[string]string{"procedure": validatorv1connect.ValidatorServiceValidateProcedure, "code": "unavailable"}
	countedBefore, _, _ := metrics.Value("datasurface_rpc_requests_total", unavailable)
	_, err = client.Validate(ctx, connect.NewRequest(&validatorv1.ValidateRequest{Head: snapshotOf(t, acmeDir), Source: ecoRepo}))
	if got := connect.CodeOf(err); got != connect.CodeUnavailable {
		t.Errorf("Validate before Run: code %v (%v), want Unavailable", got, err)
	}
	if counted, _, _ := metrics.Value("datasurface_rpc_requests_total", unavailable); counted != countedBefore+1 {
		t.Errorf("datasurface_rpc_requests_total{Validate, unavailable} = %v, want %v", counted, countedBefore+1)
	}
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || string(body) != "not ready: validator is starting\n" {
		t.Errorf("/readyz before Run = %d %q, want 503 naming the reason", resp.StatusCode, body)
	}
	if _, err := validator.New(validator.Config{}, validator.Deps{}); err == nil || !strings.Contains(err.Error(), "JS") {
		t.Errorf("New without JetStream = %v, want an error", err)
	}
}
