package modelsvc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/proto/gen/datasurface/model/v1/modelv1connect"
	"github.com/datasurface/datasurface/services/modelsvc"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
)

func names[T any](items []T, name func(T) string) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, name(it))
	}
	return out
}

// apiQuery posts a compatibility query and returns status, version header and body.
func apiQuery(t *testing.T, url, body string, header map[string]string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/api/query", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Datasurface-Model-Version"), string(b)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestReadAPI(t *testing.T) {
	e := newEnv(t)
	in := e.start(defaultConfig())
	ctx := t.Context()
	c := in.client

	// Nothing committed yet: ready (the history is replayed) but nothing to answer from.
	if _, err := c.GetWorkspace(ctx, connect.NewRequest(&modelv1.GetWorkspaceRequest{Name: "SalesAnalytics"})); code(err) != connect.CodeUnavailable {
		t.Errorf("GetWorkspace before any commit = %v, want Unavailable", err)
	}
	if _, err := c.ListVersions(ctx, connect.NewRequest(&modelv1.ListVersionsRequest{})); code(err) != connect.CodeUnavailable {
		t.Errorf("ListVersions before any commit = %v, want Unavailable", err)
	}
	if status, _, body := apiQuery(t, in.url, `{"command": "list_teams", "params": {}}`, nil); status != 503 || body != `{"detail":"Server not ready"}` {
		t.Errorf("/api/query before any commit = %d %s", status, body)
	}
	if status, body := get(t, in.url+"/health"); status != 503 || body != `{"status":"starting","version":"not_loaded"}` {
		t.Errorf("/health before any commit = %d %s", status, body)
	}

	d1 := e.commit(1, acmeDir)
	d2 := e.commit(2, acmeV2Dir)
	in.waitVersion(t, 2)

	// Versions.
	v, err := c.GetVersion(ctx, connect.NewRequest(&modelv1.GetVersionRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if v.Msg.GetVersion().GetNumber() != 2 || v.Msg.GetVersion().GetDigest() != d2 || v.Msg.GetVersion().GetSource() != ecoRepo ||
		len(v.Msg.GetChanges()) != 1 || v.Msg.GetChanges()[0].GetKind() != modelv1.ChangeKind_CHANGE_KIND_COLUMN_ADDED {
		t.Errorf("GetVersion(latest) = %v", v.Msg)
	}
	if v, err := c.GetVersion(ctx, connect.NewRequest(&modelv1.GetVersionRequest{Version: 1})); err != nil || v.Msg.GetVersion().GetDigest() != d1 {
		t.Errorf("GetVersion(1) = %v, %v", v, err)
	}
	if _, err := c.GetVersion(ctx, connect.NewRequest(&modelv1.GetVersionRequest{Version: 3})); code(err) != connect.CodeNotFound {
		t.Errorf("GetVersion(3) = %v, want NotFound", err)
	}
	var listed []int64
	token := ""
	for range 3 {
		r, err := c.ListVersions(ctx, connect.NewRequest(&modelv1.ListVersionsRequest{PageSize: 1, PageToken: token}))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range r.Msg.GetVersions() {
			listed = append(listed, v.GetNumber())
		}
		if token = r.Msg.GetNextPageToken(); token == "" {
			break
		}
	}
	if diff := cmp.Diff([]int64{2, 1}, listed); diff != "" {
		t.Errorf("ListVersions pages (-want +got):\n%s", diff)
	}

	// Objects, at the latest version and at version 1.
	ws, err := c.ListWorkspaces(ctx, connect.NewRequest(&modelv1.ListWorkspacesRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	wantWorkspaces := []string{"CustomerTotals", "PaymentsOps", "RiskAnalytics", "SalesAnalytics"}
	if diff := cmp.Diff(wantWorkspaces, names(ws.Msg.GetWorkspaces(), (*modelv1.Workspace).GetName)); diff != "" || ws.Msg.GetVersion().GetNumber() != 2 || ws.Msg.GetNextPageToken() != "" {
		t.Errorf("ListWorkspaces: version %d, next %q, names (-want +got):\n%s", ws.Msg.GetVersion().GetNumber(), ws.Msg.GetNextPageToken(), diff)
	}
	// Pages of two, pinned to the version of the first page.
	p1, err := c.ListWorkspaces(ctx, connect.NewRequest(&modelv1.ListWorkspacesRequest{Version: 1, PageSize: 3}))
	if err != nil {
		t.Fatal(err)
	}
	p2, err := c.ListWorkspaces(ctx, connect.NewRequest(&modelv1.ListWorkspacesRequest{PageSize: 3, PageToken: p1.Msg.GetNextPageToken()}))
	if err != nil {
		t.Fatal(err)
	}
	paged := append(names(p1.Msg.GetWorkspaces(), (*modelv1.Workspace).GetName), names(p2.Msg.GetWorkspaces(), (*modelv1.Workspace).GetName)...)
	if diff := cmp.Diff(wantWorkspaces, paged); diff != "" || p2.Msg.GetVersion().GetNumber() != 1 || p2.Msg.GetNextPageToken() != "" {
		t.Errorf("paged ListWorkspaces: second page at version %d, names (-want +got):\n%s", p2.Msg.GetVersion().GetNumber(), diff)
	}
	for _, tt := range []struct {
		name string
		req  *modelv1.ListWorkspacesRequest
	}{
		{"token of another version", &modelv1.ListWorkspacesRequest{Version: 2, PageToken: p1.Msg.GetNextPageToken()}},
		{"garbage token", &modelv1.ListWorkspacesRequest{PageToken: "garbage!"}},
		{"negative page size", &modelv1.ListWorkspacesRequest{PageSize: -1}},
		{"negative version", &modelv1.ListWorkspacesRequest{Version: -1}},
	} {
		if _, err := c.ListWorkspaces(ctx, connect.NewRequest(tt.req)); code(err) != connect.CodeInvalidArgument {
			t.Errorf("ListWorkspaces with %s = %v, want InvalidArgument", tt.name, err)
		}
	}

	ds1, err := c.GetDataset(ctx, connect.NewRequest(&modelv1.GetDatasetRequest{Version: 1, Datastore: "SalesDB", Dataset: "orders"}))
	if err != nil {
		t.Fatal(err)
	}
	ds2, err := c.GetDataset(ctx, connect.NewRequest(&modelv1.GetDatasetRequest{Datastore: "SalesDB", Dataset: "orders"}))
	if err != nil {
		t.Fatal(err)
	}
	if n1, n2 := len(ds1.Msg.GetDataset().GetColumns()), len(ds2.Msg.GetDataset().GetColumns()); n2 != n1+1 || ds1.Msg.GetVersion().GetNumber() != 1 || ds2.Msg.GetVersion().GetNumber() != 2 {
		t.Errorf("orders has %d columns at version %d and %d at version %d; want one more at 2", n1, ds1.Msg.GetVersion().GetNumber(), n2, ds2.Msg.GetVersion().GetNumber())
	}

	teams, err := c.ListTeams(ctx, connect.NewRequest(&modelv1.ListTeamsRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Americas/Catalog", "Americas/Payments", "Americas/Risk", "Europe/Analytics", "Europe/Sales"},
		names(teams.Msg.GetTeams(), func(r *modelv1.TeamRef) string { return r.GetZone() + "/" + r.GetTeam() })); diff != "" {
		t.Errorf("ListTeams (-want +got):\n%s", diff)
	}
	team, err := c.GetTeam(ctx, connect.NewRequest(&modelv1.GetTeamRequest{Zone: "Europe", Team: "Analytics"}))
	if err != nil {
		t.Fatal(err)
	}
	wantTeam := &modelv1.TeamInfo{Zone: "Europe", Name: "Analytics", Datastores: []string{"SalesSummary"}, Workspaces: []string{"CustomerTotals", "SalesAnalytics"}, OwningRepo: "acme/datasurface-model@team-analytics"}
	if diff := cmp.Diff(wantTeam, team.Msg.GetTeam(), protocmp.Transform(), protocmp.IgnoreFields(&modelv1.TeamInfo{}, "documentation")); diff != "" {
		t.Errorf("GetTeam (-want +got):\n%s", diff)
	}
	store, err := c.GetDatastore(ctx, connect.NewRequest(&modelv1.GetDatastoreRequest{Name: "SalesDB"}))
	if err != nil {
		t.Fatal(err)
	}
	if s := store.Msg.GetDatastore(); s.GetZone() != "Europe" || s.GetTeam() != "Sales" || len(s.GetDatasets()) != 5 {
		t.Errorf("GetDatastore(SalesDB) = zone %q team %q, %d datasets", s.GetZone(), s.GetTeam(), len(s.GetDatasets()))
	}
	stores, err := c.ListDatastores(ctx, connect.NewRequest(&modelv1.ListDatastoresRequest{PageSize: 50000}))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"CatalogEvents", "PaymentsDB", "SalesDB", "SalesSummary"}, stores.Msg.GetNames()); diff != "" {
		t.Errorf("ListDatastores (-want +got):\n%s", diff)
	}
	deps, err := c.GetDependencies(ctx, connect.NewRequest(&modelv1.GetDependenciesRequest{Datastore: "SalesDB"}))
	if err != nil {
		t.Fatal(err)
	}
	wantDeps := []*modelv1.DependentWorkspace{
		{Workspace: "CustomerTotals", Dependencies: []*modelv1.DependentWorkspace{{Workspace: "SalesAnalytics"}}},
		{Workspace: "RiskAnalytics"},
		{Workspace: "SalesAnalytics"},
	}
	if diff := cmp.Diff(wantDeps, deps.Msg.GetDependencies(), protocmp.Transform()); diff != "" {
		t.Errorf("GetDependencies (-want +got):\n%s", diff)
	}
	snap, err := c.GetSnapshot(ctx, connect.NewRequest(&modelv1.GetSnapshotRequest{Version: 1}))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(snapshotOf(t, acmeDir), snap.Msg.GetSnapshot(), protocmp.Transform()); diff != "" || snap.Msg.GetVersion().GetNumber() != 1 {
		t.Errorf("GetSnapshot(1) (-want +got):\n%s", diff)
	}

	// Errors.
	for _, tt := range []struct {
		name string
		call func() error
		code connect.Code
		msg  string
	}{
		{"missing name", func() error {
			_, err := c.GetWorkspace(ctx, connect.NewRequest(&modelv1.GetWorkspaceRequest{}))
			return err
		}, connect.CodeInvalidArgument, "name is required"},
		{"invalid name", func() error {
			_, err := c.GetWorkspace(ctx, connect.NewRequest(&modelv1.GetWorkspaceRequest{Name: "x y"}))
			return err
		}, connect.CodeInvalidArgument, "name 'x y' is not a valid name"},
		{"unknown workspace", func() error {
			_, err := c.GetWorkspace(ctx, connect.NewRequest(&modelv1.GetWorkspaceRequest{Name: "Nope"}))
			return err
		}, connect.CodeNotFound, "Workspace 'Nope' not found"},
		{"workspace of an unknown version", func() error {
			_, err := c.GetWorkspace(ctx, connect.NewRequest(&modelv1.GetWorkspaceRequest{Version: 7, Name: "SalesAnalytics"}))
			return err
		}, connect.CodeNotFound, "model version 7 not found; the latest is 2"},
		{"missing dataset", func() error {
			_, err := c.GetDataset(ctx, connect.NewRequest(&modelv1.GetDatasetRequest{Datastore: "SalesDB"}))
			return err
		}, connect.CodeInvalidArgument, "dataset is required"},
		{"unknown dataset", func() error {
			_, err := c.GetDataset(ctx, connect.NewRequest(&modelv1.GetDatasetRequest{Datastore: "SalesDB", Dataset: "nope"}))
			return err
		}, connect.CodeNotFound, "Dataset 'SalesDB.nope' not found"},
		{"unknown team", func() error {
			_, err := c.GetTeam(ctx, connect.NewRequest(&modelv1.GetTeamRequest{Zone: "Europe", Team: "Nobody"}))
			return err
		}, connect.CodeNotFound, "Team 'Europe/Nobody' not found"},
		{"invalid zone", func() error {
			_, err := c.GetTeam(ctx, connect.NewRequest(&modelv1.GetTeamRequest{Zone: " Europe", Team: "Sales"}))
			return err
		}, connect.CodeInvalidArgument, "zone ' Europe' is not a valid name"},
		{"unknown datastore", func() error {
			_, err := c.GetDatastore(ctx, connect.NewRequest(&modelv1.GetDatastoreRequest{Name: "Nope"}))
			return err
		}, connect.CodeNotFound, "Datastore 'Nope' not found"},
		{"dependencies of an unknown datastore", func() error {
			_, err := c.GetDependencies(ctx, connect.NewRequest(&modelv1.GetDependenciesRequest{Datastore: "Nope"}))
			return err
		}, connect.CodeNotFound, "Datastore 'Nope' not found"},
		{"snapshot of an unknown version", func() error {
			_, err := c.GetSnapshot(ctx, connect.NewRequest(&modelv1.GetSnapshotRequest{Version: 9}))
			return err
		}, connect.CodeNotFound, "model version 9 not found"},
	} {
		err := tt.call()
		if code(err) != tt.code || connect.CodeOf(err) == connect.CodeUnknown || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: %v, want %v %q", tt.name, err, tt.code, tt.msg)
		}
	}

	// Read RPCs are NO_SIDE_EFFECTS: they work over HTTP GET.
	getClient := modelv1connect.NewModelServiceClient(http.DefaultClient, in.url, connect.WithHTTPGet())
	w, err := getClient.GetWorkspace(ctx, connect.NewRequest(&modelv1.GetWorkspaceRequest{Version: 1, Name: "SalesAnalytics"}))
	if err != nil || w.Msg.GetWorkspace().GetName() != "SalesAnalytics" || w.Header().Get("Datasurface-Model-Version") != "1" {
		t.Errorf("GetWorkspace over GET = %v, %v", w, err)
	}

	// Unknown fields in JSON requests are rejected.
	status, body := postJSON(t, in.url+"/datasurface.model.v1.ModelService/GetWorkspace", `{"name": "SalesAnalytics", "nmae": "typo"}`)
	if status != http.StatusBadRequest || !strings.Contains(body, `"code":"invalid_argument"`) || !strings.Contains(body, "nmae") {
		t.Errorf("JSON request with an unknown field = %d %s", status, body)
	}
	if status, body := postJSON(t, in.url+"/datasurface.model.v1.ModelService/GetWorkspace", `{"name": "SalesAnalytics"}`); status != http.StatusOK {
		t.Errorf("JSON request = %d %s", status, body)
	}

	// The compatibility endpoint and the health answers.
	status, version, body := apiQuery(t, in.url, `{"command": "get_workspace", "params": {"workspace_name": "PaymentsOps"}}`, map[string]string{"session-id": "s1"})
	if status != 200 || version != "2" || !strings.HasPrefix(body, `{"workspace":{"_type":"Workspace","name":"PaymentsOps"`) {
		t.Errorf("/api/query = %d (version %q) %.120s", status, version, body)
	}
	if status, version, body := apiQuery(t, in.url, `{"command": "list_teams", "params": {}}`, map[string]string{"model-version": "5"}); status != 400 || version != "2" || body != `{"detail":"Version mismatch. Server version: 2"}` {
		t.Errorf("/api/query at version 5 = %d (version %q) %s", status, version, body)
	}
	if status, body := get(t, in.url+"/health"); status != 200 || body != `{"status":"healthy","version":"2"}` {
		t.Errorf("/health = %d %s", status, body)
	}
	if status, body := get(t, in.url+"/readyz"); status != 200 {
		t.Errorf("/readyz = %d %s", status, body)
	}
}

func postJSON(t *testing.T, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// answers collects a set of read answers for comparison across restarts.
func answers(t *testing.T, in *instance) map[string]any {
	t.Helper()
	ctx := t.Context()
	c := in.client
	out := map[string]any{}
	must := func(name string, m proto.Message, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = m
	}
	r1, err := c.ListVersions(ctx, connect.NewRequest(&modelv1.ListVersionsRequest{}))
	must("versions", r1.Msg, err)
	r2, err := c.GetVersion(ctx, connect.NewRequest(&modelv1.GetVersionRequest{Version: 1}))
	must("version 1", r2.Msg, err)
	r3, err := c.ListWorkspaces(ctx, connect.NewRequest(&modelv1.ListWorkspacesRequest{}))
	must("workspaces", r3.Msg, err)
	r4, err := c.GetDataset(ctx, connect.NewRequest(&modelv1.GetDatasetRequest{Version: 1, Datastore: "SalesDB", Dataset: "orders"}))
	must("orders v1", r4.Msg, err)
	r5, err := c.GetDataset(ctx, connect.NewRequest(&modelv1.GetDatasetRequest{Datastore: "SalesDB", Dataset: "orders"}))
	must("orders", r5.Msg, err)
	r6, err := c.GetDependencies(ctx, connect.NewRequest(&modelv1.GetDependenciesRequest{Datastore: "SalesDB"}))
	must("dependencies", r6.Msg, err)
	_, _, body := apiQuery(t, in.url, `{"command": "get_datastore", "params": {"store_name": "PaymentsDB"}}`, nil)
	var js any
	if err := json.Unmarshal([]byte(body), &js); err != nil {
		t.Fatal(err)
	}
	out["api get_datastore"] = js
	return out
}

func TestRestartGivesSameAnswers(t *testing.T) {
	e := newEnv(t)
	e.commit(1, acmeDir)
	e.commit(2, acmeV2Dir)
	first := e.start(defaultConfig())
	first.waitVersion(t, 2)
	before := answers(t, first)
	first.stop()

	// A new service on the same NATS and Postgres replays the committed history before it is
	// ready, so it answers at version 2 at once.
	second := e.start(defaultConfig())
	after := answers(t, second)
	if diff := cmp.Diff(before, after, protocmp.Transform()); diff != "" {
		t.Errorf("answers after restart (-before +after):\n%s", diff)
	}
}

func TestWatchVersions(t *testing.T) {
	e := newEnv(t)
	e.commit(1, acmeDir)
	in := e.start(defaultConfig())
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()

	replay, err := in.client.WatchVersions(ctx, connect.NewRequest(&modelv1.WatchVersionsRequest{FromVersion: 1}))
	if err != nil {
		t.Fatal(err)
	}
	live, err := in.client.WatchVersions(ctx, connect.NewRequest(&modelv1.WatchVersionsRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	next := func(s *connect.ServerStreamForClient[modelv1.WatchVersionsResponse]) int64 {
		t.Helper()
		if !s.Receive() {
			t.Fatalf("stream ended: %v", s.Err())
		}
		return s.Msg().GetVersion().GetNumber()
	}
	if n := next(replay); n != 1 {
		t.Fatalf("first replayed version = %d, want 1", n)
	}
	// The live stream only sees versions committed from now on; wait until the server has
	// subscribed both streams before committing (a commit before would be replayed by the first
	// and missed by the second).
	waitFor(t, "both watchers", func() bool { return watchers(in) == 2 })
	e.commit(2, acmeV2Dir)
	if n := next(replay); n != 2 {
		t.Errorf("replay stream: next version %d, want 2", n)
	}
	if n := next(live); n != 2 {
		t.Errorf("live stream: next version %d, want 2", n)
	}
	if got := live.Msg().GetChanges(); len(got) != 1 || got[0].GetKind() != modelv1.ChangeKind_CHANGE_KIND_COLUMN_ADDED {
		t.Errorf("live stream changes = %v", got)
	}

	// Stopping the service ends the streams instead of holding the shutdown.
	stopped := make(chan struct{})
	go func() { in.stop(); close(stopped) }()
	if replay.Receive() {
		t.Errorf("stream continued after stop: %v", replay.Msg())
	}
	if err := replay.Err(); code(err) != connect.CodeUnavailable && !errors.Is(err, io.EOF) {
		t.Logf("stream ended with %v", err)
	}
	select {
	case <-stopped:
	case <-ctx.Done():
		t.Fatal("service did not stop while streams were open")
	}
}

func watchers(in *instance) int { return modelsvc.Watchers(in.svc) }
