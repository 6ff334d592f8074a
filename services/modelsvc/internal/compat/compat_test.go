package compat

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datasurface/datasurface/kit/modelbus"
	"github.com/datasurface/datasurface/model/load"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/modelsvc/internal/query"
	"github.com/datasurface/datasurface/services/modelsvc/internal/readmodel"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The example model (version 1) and a copy with one nullable column added (version 2).
var modelDirs = map[int64]string{
	1: "../../../../examples/acme",
	2: "../../../../examples/changes/add-nullable-column",
}

// newHandler returns a compatibility handler over a read model holding the example versions.
func newHandler(t *testing.T, ready bool) *Handler {
	t.Helper()
	ctx := t.Context()
	loadDir := func(_ context.Context, v *readmodel.Version) (*modelv1.Model, error) {
		res, err := load.Dir(modelDirs[v.Number], load.Options{})
		if err != nil {
			return nil, err
		}
		if len(res.Problems) > 0 {
			return nil, fmt.Errorf("%s: %d load problems", modelDirs[v.Number], len(res.Problems))
		}
		return res.Model, nil
	}
	rm := readmodel.New(loadDir, 4, nil)
	if ready {
		for n := int64(1); n <= 2; n++ {
			rm.Apply(ctx, &eventsv1.ModelCommitted{
				Version:     n,
				Digest:      fmt.Sprintf("sha256:v%d", n),
				Source:      "acme/datasurface-model@eco",
				CommittedAt: timestamppb.New(time.Date(2026, 11, 27, 12, 0, int(n), 0, time.UTC)),
			}, uint64(n))
		}
		rm.MarkReady(ctx)
	}
	return &Handler{Reader: query.New(rm, func() *modelbus.Snapshots { return nil }), Log: slog.New(slog.DiscardHandler)}
}

type response struct {
	status  int
	version string
	body    []byte
}

func post(t *testing.T, h *Handler, body string, header map[string]string) response {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/api/query", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.Query(rec, req)
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	return response{rec.Code, rec.Header().Get(VersionHeader), rec.Body.Bytes()}
}

func queryBody(cmd string, params map[string]any) string {
	b, err := json.Marshal(map[string]any{"command": cmd, "params": params})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestGolden checks every command's answer for the example model against testdata/*.json.
// Regenerate with: go test ./internal/compat -run TestGolden -update
func TestGolden(t *testing.T) {
	h := newHandler(t, true)
	tests := []struct {
		golden  string
		command string
		params  map[string]any
		version string // model-version header
	}{
		{"list_workspaces", "list_workspaces", nil, ""},
		{"get_workspace_SalesAnalytics", "get_workspace", map[string]any{"workspace_name": "SalesAnalytics"}, ""},
		{"get_workspace_CustomerTotals", "get_workspace", map[string]any{"workspace_name": "CustomerTotals"}, ""},
		{"get_workspace_RiskAnalytics", "get_workspace", map[string]any{"workspace_name": "RiskAnalytics"}, ""},
		{"get_dataset_SalesDB_orders", "get_dataset", map[string]any{"store_name": "SalesDB", "dataset_name": "orders"}, ""},
		{"get_dataset_CatalogEvents_products", "get_dataset", map[string]any{"store_name": "CatalogEvents", "dataset_name": "products"}, ""},
		{"list_teams", "list_teams", map[string]any{}, ""},
		{"get_team_Europe_Sales", "get_team", map[string]any{"governance_zone": "Europe", "team_name": "Sales"}, ""},
		{"get_team_Europe_Analytics", "get_team", map[string]any{"governance_zone": "Europe", "team_name": "Analytics"}, ""},
		{"get_datastore_SalesDB", "get_datastore", map[string]any{"store_name": "SalesDB"}, ""},
		{"get_datastore_PaymentsDB", "get_datastore", map[string]any{"store_name": "PaymentsDB"}, ""},
		{"get_datastore_CatalogEvents", "get_datastore", map[string]any{"store_name": "CatalogEvents"}, ""},
		{"get_datastore_SalesSummary", "get_datastore", map[string]any{"store_name": "SalesSummary"}, ""},
		{"list_datastores", "list_datastores", map[string]any{}, ""},
		{"get_dependencies_SalesDB", "get_dependencies", map[string]any{"store_name": "SalesDB"}, ""},
		{"get_dependencies_PaymentsDB", "get_dependencies", map[string]any{"store_name": "PaymentsDB"}, ""},
		{"get_dataset_SalesDB_orders_v1", "get_dataset", map[string]any{"store_name": "SalesDB", "dataset_name": "orders"}, "1"},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			params := tt.params
			if params == nil {
				params = map[string]any{}
			}
			hdr := map[string]string{"session-id": "golden"}
			wantVersion := "2"
			if tt.version != "" {
				hdr["model-version"] = tt.version
				wantVersion = tt.version
			}
			r := post(t, h, queryBody(tt.command, params), hdr)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if r.version != wantVersion {
				t.Errorf("%s = %q, want %q", VersionHeader, r.version, wantVersion)
			}
			var top map[string]json.RawMessage
			if err := json.Unmarshal(r.body, &top); err != nil || len(top) != 1 {
				t.Fatalf("answer is not an object with exactly one key: %v %s", err, r.body)
			}
			var got bytes.Buffer
			if err := json.Indent(&got, r.body, "", "  "); err != nil {
				t.Fatal(err)
			}
			got.WriteByte('\n')
			path := filepath.Join("testdata", tt.golden+".json")
			if *update {
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got.String()); diff != "" {
				t.Errorf("%s (-want +got):\n%s", path, diff)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	h := newHandler(t, true)
	tests := []struct {
		name    string
		body    string
		header  map[string]string
		status  int
		detail  string
		version string
	}{
		{"empty body", "", nil, 400, "Input must be a non-empty dictionary", "2"},
		{"not json", "command=list_workspaces", nil, 400, "Input must be a non-empty dictionary", "2"},
		{"empty object", "{}", nil, 400, "Input must be a non-empty dictionary", "2"},
		{"array", `[{"command": "list_teams", "params": {}}]`, nil, 400, "Input must be a non-empty dictionary", "2"},
		{"null", `null`, nil, 400, "Input must be a non-empty dictionary", "2"},
		{"no params", `{"command": "list_teams"}`, nil, 400, "Missing required fields: command, params", "2"},
		{"no command", `{"params": {}}`, nil, 400, "Missing required fields: command, params", "2"},
		{"unknown command", `{"command": "drop_tables", "params": {}}`, nil, 400, "Invalid command: drop_tables", "2"},
		{"command not a string", `{"command": 7, "params": {}}`, nil, 400, "Invalid command: 7", "2"},
		{"params not an object", `{"command": "list_teams", "params": [1]}`, nil, 400, "params must be a dictionary", "2"},
		{"missing workspace_name", queryBody("get_workspace", map[string]any{}), nil, 400, "workspace_name is required", "2"},
		{"empty workspace_name", queryBody("get_workspace", map[string]any{"workspace_name": ""}), nil, 400, "workspace_name is required", "2"},
		{"invalid workspace_name", queryBody("get_workspace", map[string]any{"workspace_name": "x y"}), nil, 400, "workspace_name 'x y' is not a valid name", "2"},
		{"workspace_name not a string", queryBody("get_workspace", map[string]any{"workspace_name": 42}), nil, 400, "workspace_name '42' is not a valid name", "2"},
		{"unknown workspace", queryBody("get_workspace", map[string]any{"workspace_name": "Nope"}), nil, 404, "Workspace 'Nope' not found", "2"},
		{"missing store_name", queryBody("get_dataset", map[string]any{"dataset_name": "orders"}), nil, 400, "store_name is required", "2"},
		{"missing dataset_name", queryBody("get_dataset", map[string]any{"store_name": "SalesDB"}), nil, 400, "dataset_name is required", "2"},
		{"unknown datastore of dataset", queryBody("get_dataset", map[string]any{"store_name": "Nope", "dataset_name": "orders"}), nil, 404, "Datastore 'Nope' not found", "2"},
		{"unknown dataset", queryBody("get_dataset", map[string]any{"store_name": "SalesDB", "dataset_name": "nope"}), nil, 404, "Dataset 'SalesDB.nope' not found", "2"},
		{"missing governance_zone", queryBody("get_team", map[string]any{"team_name": "Sales"}), nil, 400, "governance_zone is required", "2"},
		{"invalid team_name", queryBody("get_team", map[string]any{"governance_zone": "Europe", "team_name": "a/b"}), nil, 400, "team_name 'a/b' is not a valid name", "2"},
		{"unknown team", queryBody("get_team", map[string]any{"governance_zone": "Europe", "team_name": "Nobody"}), nil, 404, "Team 'Europe/Nobody' not found", "2"},
		{"unknown datastore", queryBody("get_datastore", map[string]any{"store_name": "Nope"}), nil, 404, "Datastore 'Nope' not found", "2"},
		{"dependencies of unknown datastore", queryBody("get_dependencies", map[string]any{"store_name": "Nope"}), nil, 404, "Datastore 'Nope' not found", "2"},
		{"reserved word", queryBody("get_datastore", map[string]any{"store_name": "select"}), nil, 400, "store_name 'select' is not a valid name", "2"},
		{"unknown version", queryBody("list_teams", map[string]any{}), map[string]string{"model-version": "7"}, 400, "Version mismatch. Server version: 2", "2"},
		{"version not a number", queryBody("list_teams", map[string]any{}), map[string]string{"model-version": "latest"}, 400, "Version mismatch. Server version: 2", "2"},
		{"version zero", queryBody("list_teams", map[string]any{}), map[string]string{"model-version": "0"}, 400, "Version mismatch. Server version: 2", "2"},
		{"unknown version wins over a bad body", "nonsense", map[string]string{"model-version": "9"}, 400, "Version mismatch. Server version: 2", "2"},
		{"old version, bad argument", queryBody("get_workspace", map[string]any{}), map[string]string{"model-version": "1"}, 400, "workspace_name is required", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(t, h, tt.body, tt.header)
			want := fmt.Sprintf(`{"detail":%q}`, tt.detail)
			if r.status != tt.status || string(r.body) != want || r.version != tt.version {
				t.Errorf("got %d %s (version %q), want %d %s (version %q)", r.status, r.body, r.version, tt.status, want, tt.version)
			}
		})
	}
}

func TestNotReady(t *testing.T) {
	h := newHandler(t, false)
	r := post(t, h, queryBody("list_teams", map[string]any{}), nil)
	if r.status != http.StatusServiceUnavailable || string(r.body) != `{"detail":"Server not ready"}` || r.version != "" {
		t.Errorf("query before ready: %d %s (version %q)", r.status, r.body, r.version)
	}
	rec := httptest.NewRecorder()
	h.Health(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/health", nil))
	if rec.Code != http.StatusServiceUnavailable || rec.Body.String() != `{"status":"starting","version":"not_loaded"}` {
		t.Errorf("health before ready: %d %s", rec.Code, rec.Body)
	}
}

func TestHealth(t *testing.T) {
	h := newHandler(t, true)
	rec := httptest.NewRecorder()
	h.Health(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/health", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != `{"status":"healthy","version":"2"}` || rec.Header().Get(VersionHeader) != "2" {
		t.Errorf("health: %d %s (version %q)", rec.Code, rec.Body, rec.Header().Get(VersionHeader))
	}
}
