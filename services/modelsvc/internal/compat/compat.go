// Package compat is modelsvc's compatibility endpoint for clients of the original model server
// (governance.md §4.3, §4.4): `POST /api/query` with `{"command", "params"}` and `GET /health`,
// answering with the original's JSON shapes and error bodies (`{"detail": …}`), from any
// committed version selected with the `model-version` header.
package compat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/datasurface/datasurface/services/modelsvc/internal/failure"
	"github.com/datasurface/datasurface/services/modelsvc/internal/query"
	"github.com/datasurface/datasurface/services/modelsvc/internal/readmodel"
)

// Paths the handlers are mounted on.
const (
	QueryPath  = "POST /api/query"
	HealthPath = "GET /health"
)

// VersionHeader names the model version on every answer.
const VersionHeader = "Datasurface-Model-Version"

// MaxBodyBytes bounds a query body.
const MaxBodyBytes = 1 << 20

// Handler serves /api/query and /health.
type Handler struct {
	Reader *query.Reader
	Log    *slog.Logger
}

// answer is an HTTP status with a JSON body.
type answer struct {
	status int
	body   any
}

func detail(status int, format string, args ...any) answer {
	return answer{status, object("detail", fmt.Sprintf(format, args...))}
}

// Query serves POST /api/query.
func (h *Handler) Query(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if sid := r.Header.Get("session-id"); sid != "" {
		h.Log.DebugContext(ctx, "query", "session", sid)
	}
	version, a := h.query(ctx, r)
	h.write(w, version, a)
}

func (h *Handler) query(ctx context.Context, r *http.Request) (int64, answer) {
	latest, err := h.Reader.Latest()
	if err != nil {
		return 0, detail(http.StatusServiceUnavailable, "Server not ready")
	}
	var want int64
	if hv := r.Header.Get("model-version"); hv != "" {
		n, err := strconv.ParseInt(hv, 10, 64)
		if err != nil || n <= 0 {
			return latest.Number, detail(http.StatusBadRequest, "Version mismatch. Server version: %d", latest.Number)
		}
		want = n
	}
	l, err := h.Reader.At(ctx, want)
	if err != nil {
		return latest.Number, h.failed(ctx, latest.Number, err)
	}
	cmd, params, a, ok := parse(r.Body)
	if !ok {
		return l.Version.Number, a
	}
	body, err := h.run(l, cmd, params)
	if err != nil {
		return l.Version.Number, h.failed(ctx, latest.Number, err)
	}
	return l.Version.Number, answer{http.StatusOK, body}
}

// parse reads {"command": "...", "params": {...}}.
func parse(r io.Reader) (string, map[string]any, answer, bool) {
	raw, err := io.ReadAll(io.LimitReader(r, MaxBodyBytes+1))
	if err != nil || len(raw) > MaxBodyBytes {
		return "", nil, detail(http.StatusBadRequest, "Input must be a non-empty dictionary"), false
	}
	var body map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&body); err != nil || len(body) == 0 || dec.More() {
		return "", nil, detail(http.StatusBadRequest, "Input must be a non-empty dictionary"), false
	}
	rawCmd, okCmd := body["command"]
	rawParams, okParams := body["params"]
	if !okCmd || !okParams {
		return "", nil, detail(http.StatusBadRequest, "Missing required fields: command, params"), false
	}
	var cmd string
	if err := json.Unmarshal(rawCmd, &cmd); err != nil || !commands[cmd] {
		return "", nil, detail(http.StatusBadRequest, "Invalid command: %s", rawText(rawCmd)), false
	}
	var params map[string]any
	if err := json.Unmarshal(rawParams, &params); err != nil || params == nil {
		return "", nil, detail(http.StatusBadRequest, "params must be a dictionary"), false
	}
	return cmd, params, answer{}, true
}

// rawText renders a JSON value for a message: strings without quotes, anything else as JSON.
func rawText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

var commands = map[string]bool{
	"list_workspaces":  true,
	"get_workspace":    true,
	"get_dataset":      true,
	"list_teams":       true,
	"get_team":         true,
	"get_datastore":    true,
	"list_datastores":  true,
	"get_dependencies": true,
}

// param returns a string parameter; a non-string value is reported as an invalid name.
func param(params map[string]any, name string) (query.Arg, error) {
	switch v := params[name].(type) {
	case nil:
		return query.Arg{Field: name}, nil
	case string:
		return query.Arg{Field: name, Value: v}, nil
	default:
		b, _ := json.Marshal(v)
		return query.Arg{}, failure.InvalidName(name, string(b))
	}
}

func (h *Handler) run(l *readmodel.Loaded, cmd string, params map[string]any) (any, error) {
	rd := renderer{x: l.Index}
	args := func(names ...string) ([]query.Arg, error) {
		out := make([]query.Arg, len(names))
		for i, n := range names {
			a, err := param(params, n)
			if err != nil {
				return nil, err
			}
			out[i] = a
		}
		return out, nil
	}
	switch cmd {
	case "list_workspaces":
		ws := query.Workspaces(l)
		out := make([]any, 0, len(ws))
		for _, w := range ws {
			out = append(out, rd.workspace(w))
		}
		return object("workspaces", out), nil
	case "get_workspace":
		a, err := args("workspace_name")
		if err != nil {
			return nil, err
		}
		w, err := query.Workspace(l, a[0])
		if err != nil {
			return nil, err
		}
		return object("workspace", rd.workspace(w)), nil
	case "get_dataset":
		a, err := args("store_name", "dataset_name")
		if err != nil {
			return nil, err
		}
		s, d, err := query.Dataset(l, a[0], a[1])
		if err != nil {
			return nil, err
		}
		return object("dataset", rd.dataset(s, d)), nil
	case "list_teams":
		teams := query.Teams(l)
		out := make([]string, 0, len(teams))
		for _, t := range teams {
			out = append(out, t.Zone+"/"+t.Team)
		}
		return object("teams", out), nil
	case "get_team":
		a, err := args("governance_zone", "team_name")
		if err != nil {
			return nil, err
		}
		t, err := query.GetTeam(l, a[0], a[1])
		if err != nil {
			return nil, err
		}
		return object("team", rd.team(t)), nil
	case "get_datastore":
		a, err := args("store_name")
		if err != nil {
			return nil, err
		}
		s, err := query.Datastore(l, a[0])
		if err != nil {
			return nil, err
		}
		return object("datastore", rd.datastore(s)), nil
	case "list_datastores":
		return object("datastores", query.DatastoreNames(l)), nil
	case "get_dependencies":
		a, err := args("store_name")
		if err != nil {
			return nil, err
		}
		deps, err := query.Dependencies(l, a[0])
		if err != nil {
			return nil, err
		}
		return object("dependencies", dependents(deps)), nil
	}
	return nil, failure.Invalid("command", "Invalid command: %s", cmd)
}

// failed maps a domain failure to the original's status codes and messages.
func (h *Handler) failed(ctx context.Context, latest int64, err error) answer {
	f := failure.As(err)
	if f == nil {
		if !errors.Is(err, context.Canceled) {
			h.Log.ErrorContext(ctx, "query failed", "err", err)
		}
		return detail(http.StatusInternalServerError, "Internal error; see the modelsvc log")
	}
	switch f.Kind {
	case failure.InvalidArgument:
		return detail(http.StatusBadRequest, "%s", f.Msg)
	case failure.NotFound:
		return detail(http.StatusNotFound, "%s", f.Msg)
	case failure.VersionNotFound:
		return detail(http.StatusBadRequest, "Version mismatch. Server version: %d", latest)
	case failure.Unavailable:
		return detail(http.StatusServiceUnavailable, "Server not ready")
	}
	return detail(http.StatusInternalServerError, "%s", f.Msg)
}

func (h *Handler) write(w http.ResponseWriter, version int64, a answer) {
	body, err := marshal(a.body)
	if err != nil {
		a = detail(http.StatusInternalServerError, "Internal error: %v", err)
		body, _ = marshal(a.body)
	}
	w.Header().Set("Content-Type", "application/json")
	if version > 0 {
		w.Header().Set(VersionHeader, strconv.FormatInt(version, 10))
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(body)
}

// Health serves GET /health.
func (h *Handler) Health(w http.ResponseWriter, r *http.Request) {
	latest, err := h.Reader.Latest()
	if err != nil {
		h.write(w, 0, answer{http.StatusServiceUnavailable, object("status", "starting", "version", "not_loaded")})
		return
	}
	h.write(w, latest.Number, answer{http.StatusOK, object("status", "healthy", "version", strconv.FormatInt(latest.Number, 10))})
}
