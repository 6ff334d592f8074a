package e2e_test

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/kit/pgtest"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Shutdown()
	os.Exit(code)
}

// TestControlPlane is the event-sourced control plane's round trip against real components: an
// in-process NATS JetStream server, a real Postgres, and modelsvc and the validator on one
// server, driven through the generated Connect client and the webhook. Without PostgreSQL it is
// skipped locally and fails when CI is set.
func TestControlPlane(t *testing.T) {
	began := time.Now()
	s := newStack(t)
	var (
		acme         = filepath.Join(examples, "acme")
		addColumn    = filepath.Join(examples, "changes", "add-nullable-column")
		unauthorized = filepath.Join(examples, "changes", "unauthorized")
	)
	step := func(name string, f func(t *testing.T)) {
		t.Helper()
		if !t.Run(name, f) {
			t.FailNow() // the steps build on each other
		}
	}

	step("nothing committed: reads are unavailable", func(t *testing.T) {
		_, err := s.client.ListDatastores(t.Context(), connect.NewRequest(&modelv1.ListDatastoresRequest{}))
		if got := connect.CodeOf(err); got != connect.CodeUnavailable {
			t.Errorf("ListDatastores: code %v (%v), want unavailable", got, err)
		}
	})

	step("the first model becomes version 1", func(t *testing.T) {
		p := s.push(ecoToken, ecoRepo, acme)
		if p.GetState() != modelv1.ProposalState_PROPOSAL_STATE_ACCEPTED || p.GetVersion() != 1 || p.GetBaseVersion() != 0 {
			t.Fatalf("verdict: %s", describe(p))
		}
		resp, err := s.client.GetDataset(t.Context(), connect.NewRequest(&modelv1.GetDatasetRequest{Datastore: "SalesDB", Dataset: "orders"}))
		if err != nil {
			t.Fatal(err)
		}
		if v := resp.Msg.GetVersion(); v.GetNumber() != 1 || v.GetSource() != ecoRepo || v.GetDigest() != p.GetDigest() {
			t.Errorf("read at version %v, want 1 from %s with digest %s", v, ecoRepo, p.GetDigest())
		}
		if hasColumn(resp.Msg.GetDataset(), "coupon_code") {
			t.Errorf("version 1 already has coupon_code")
		}
	})

	step("a team's compatible change becomes version 2", func(t *testing.T) {
		p := s.push(salesToken, salesRepo, addColumn)
		if p.GetState() != modelv1.ProposalState_PROPOSAL_STATE_ACCEPTED || p.GetVersion() != 2 || p.GetBaseVersion() != 1 {
			t.Fatalf("verdict: %s", describe(p))
		}
		for v, want := range map[int64]bool{0: true, 1: false, 2: true} {
			resp, err := s.client.GetDataset(t.Context(), connect.NewRequest(&modelv1.GetDatasetRequest{Version: v, Datastore: "SalesDB", Dataset: "orders"}))
			if err != nil {
				t.Fatal(err)
			}
			if got := hasColumn(resp.Msg.GetDataset(), "coupon_code"); got != want {
				t.Errorf("version %d: coupon_code present = %v, want %v", v, got, want)
			}
		}
		resp, err := s.client.GetVersion(t.Context(), connect.NewRequest(&modelv1.GetVersionRequest{Version: 2}))
		if err != nil {
			t.Fatal(err)
		}
		want := []*modelv1.Change{{Kind: modelv1.ChangeKind_CHANGE_KIND_COLUMN_ADDED, Path: "datastore[SalesDB]/dataset[orders]/column[coupon_code]", After: "VarChar(32)"}}
		if diff := cmp.Diff(want, resp.Msg.GetChanges(), protocmp.Transform()); diff != "" {
			t.Errorf("change set of version 2 (-want +got):\n%s", diff)
		}
	})

	step("an unauthorized change is rejected and the head stays 2", func(t *testing.T) {
		p := s.push(salesToken, salesRepo, unauthorized)
		if p.GetState() != modelv1.ProposalState_PROPOSAL_STATE_REJECTED || p.GetVersion() != 0 || p.GetBaseVersion() != 2 {
			t.Fatalf("verdict: %s", describe(p))
		}
		if !slices.ContainsFunc(p.GetReport().GetProblems(), func(pr *modelv1.Problem) bool { return pr.GetRuleId() == "DS-AUTH-002" }) {
			t.Errorf("no DS-AUTH-002 in %s", describe(p))
		}
		if diff := cmp.Diff([]int64{2, 1}, s.versions()); diff != "" {
			t.Errorf("versions (-want +got):\n%s", diff)
		}
	})

	step("the same change pushed twice commits one version", func(t *testing.T) {
		p := s.push(salesToken, salesRepo, addColumn)
		if p.GetState() != modelv1.ProposalState_PROPOSAL_STATE_ACCEPTED || p.GetVersion() != 0 || p.GetBaseVersion() != 2 {
			t.Fatalf("verdict: %s", describe(p))
		}
		if diff := cmp.Diff([]int64{2, 1}, s.versions()); diff != "" {
			t.Errorf("versions (-want +got):\n%s", diff)
		}
	})

	step("bad credentials publish nothing", func(t *testing.T) {
		before := s.state()
		_, err := s.propose("not-a-token", salesRepo, addColumn)
		if got := connect.CodeOf(err); got != connect.CodeUnauthenticated {
			t.Errorf("unknown token: code %v (%v), want unauthenticated", got, err)
		}
		_, err = s.propose(paymentsToken, salesRepo, addColumn)
		if got := connect.CodeOf(err); got != connect.CodePermissionDenied {
			t.Errorf("another repository's token: code %v (%v), want permission_denied", got, err)
		}
		if code, _ := s.webhook(salesRepo, "wrong-secret", addColumn); code != http.StatusUnauthorized {
			t.Errorf("webhook with a bad signature: status %d, want 401", code)
		}
		if code, _ := s.webhook(paymentsRepo, salesHook, addColumn); code != http.StatusUnauthorized {
			t.Errorf("webhook of a source without a secret: status %d, want 401", code)
		}
		if diff := cmp.Diff(before, s.state()); diff != "" {
			t.Errorf("stream and proposals (-before +after):\n%s", diff)
		}
	})

	var reads []proto.Message
	step("restart: the same read answers", func(t *testing.T) {
		reads = s.reads()
		s.restart()
		if diff := cmp.Diff(reads, s.reads(), protocmp.Transform()); diff != "" {
			t.Errorf("read answers after the restart (-before +after):\n%s", diff)
		}
	})

	step("after the restart: the next change is version 3, exactly once", func(t *testing.T) {
		dir := widened(t)
		// The same change through the Connect API and the webhook at the same time.
		var (
			viaAPI, viaHook string
			apiErr          error
			hookStatus      int
		)
		concurrently(
			func() {
				resp, err := s.propose(salesToken, salesRepo, dir)
				apiErr = err
				viaAPI = resp.GetProposalId()
			},
			func() { hookStatus, viaHook = s.webhook(salesRepo, salesHook, dir) },
		)
		if apiErr != nil || hookStatus != http.StatusAccepted {
			t.Fatalf("ProposeChange: %v; webhook status %d", apiErr, hookStatus)
		}
		a, b := s.verdict(viaAPI), s.verdict(viaHook)
		if a.GetDigest() != b.GetDigest() {
			t.Errorf("the API and the webhook stored different snapshots: %s, %s", a.GetDigest(), b.GetDigest())
		}
		got := []int64{a.GetVersion(), b.GetVersion()}
		slices.Sort(got)
		if diff := cmp.Diff([]int64{0, 3}, got); diff != "" {
			t.Errorf("versions of the two proposals (-want +got):\n%s\nAPI: %s\nwebhook: %s", diff, describe(a), describe(b))
		}
		for _, p := range []*modelv1.Proposal{a, b} {
			if p.GetState() != modelv1.ProposalState_PROPOSAL_STATE_ACCEPTED {
				t.Errorf("verdict: %s", describe(p))
			}
		}
		if diff := cmp.Diff([]int64{3, 2, 1}, s.versions()); diff != "" {
			t.Errorf("versions (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]int64{1, 2, 3}, s.committed()); diff != "" {
			t.Errorf("ds.model.committed messages (-want +got):\n%s", diff)
		}
		resp, err := s.client.GetVersion(t.Context(), connect.NewRequest(&modelv1.GetVersionRequest{Version: 3}))
		if err != nil {
			t.Fatal(err)
		}
		want := []*modelv1.Change{{Kind: modelv1.ChangeKind_CHANGE_KIND_COLUMN_WIDENED, Path: "datastore[SalesDB]/dataset[orders]/column[status]", Before: "VarChar(20)", After: "VarChar(40)"}}
		if diff := cmp.Diff(want, resp.Msg.GetChanges(), protocmp.Transform()); diff != "" {
			t.Errorf("change set of version 3 (-want +got):\n%s", diff)
		}
		// Version 1 and 2 still answer as before; the latest moved to 3.
		after := s.reads()
		if diff := cmp.Diff(reads[pinnedReads:], after[pinnedReads:], protocmp.Transform()); diff != "" {
			t.Errorf("reads of versions 1 and 2 (-before +after):\n%s", diff)
		}
		if got := after[1].(*modelv1.GetDatastoreResponse).GetVersion().GetNumber(); got != 3 {
			t.Errorf("latest read at version %d, want 3", got)
		}
	})
	t.Logf("round trip in %s", time.Since(began).Round(time.Millisecond))
}

// versions lists the committed version numbers, newest first.
func (s *stack) versions() []int64 {
	s.t.Helper()
	resp, err := s.client.ListVersions(s.t.Context(), connect.NewRequest(&modelv1.ListVersionsRequest{}))
	if err != nil {
		s.t.Fatal(err)
	}
	var out []int64
	for _, v := range resp.Msg.GetVersions() {
		out = append(out, v.GetNumber())
	}
	return out
}

// reads asks a fixed set of read questions; a restart must not change the answers. The
// answers from pinnedReads on name versions 1 and 2 explicitly; the others read the latest.
func (s *stack) reads() []proto.Message {
	t := s.t
	t.Helper()
	ctx := t.Context()
	c := s.client
	out := []proto.Message{
		must(t)(c.ListVersions(ctx, connect.NewRequest(&modelv1.ListVersionsRequest{}))),
		must(t)(c.GetDatastore(ctx, connect.NewRequest(&modelv1.GetDatastoreRequest{Name: "SalesDB"}))),
		must(t)(c.ListDatastores(ctx, connect.NewRequest(&modelv1.ListDatastoresRequest{}))),
		must(t)(c.ListWorkspaces(ctx, connect.NewRequest(&modelv1.ListWorkspacesRequest{}))),
		must(t)(c.ListTeams(ctx, connect.NewRequest(&modelv1.ListTeamsRequest{}))),
		must(t)(c.GetTeam(ctx, connect.NewRequest(&modelv1.GetTeamRequest{Zone: "Europe", Team: "Sales"}))),
		must(t)(c.GetDependencies(ctx, connect.NewRequest(&modelv1.GetDependenciesRequest{Datastore: "SalesDB"}))),
	}
	for _, v := range []int64{1, 2} {
		out = append(out,
			must(t)(c.GetDataset(ctx, connect.NewRequest(&modelv1.GetDatasetRequest{Version: v, Datastore: "SalesDB", Dataset: "orders"}))),
			must(t)(c.GetVersion(ctx, connect.NewRequest(&modelv1.GetVersionRequest{Version: v}))),
			must(t)(c.GetWorkspace(ctx, connect.NewRequest(&modelv1.GetWorkspaceRequest{Version: v, Name: "SalesAnalytics"}))),
		)
	}
	return out
}

// pinnedReads is the index of the first answer of reads that names its version.
const pinnedReads = 7

// must returns a function that fails the test on a failed call and returns the answer.
func must(t *testing.T) func(resp any, err error) proto.Message {
	return func(resp any, err error) proto.Message {
		t.Helper()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return resp.(connect.AnyResponse).Any().(proto.Message)
	}
}

func hasColumn(ds *modelv1.Dataset, name string) bool {
	return slices.ContainsFunc(ds.GetColumns(), func(c *modelv1.Column) bool { return c.GetName() == name })
}
