// Package rpc is modelsvc's Connect handler for datasurface.model.v1.ModelService: it turns
// requests into one call of the domain (propose, query), renders the answer, and maps the
// domain's failures to Connect codes.
package rpc

import (
	"context"
	"errors"
	"log/slog"
	"strconv"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/model/graph"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/proto/gen/datasurface/model/v1/modelv1connect"
	"github.com/datasurface/datasurface/services/modelsvc/internal/auth"
	"github.com/datasurface/datasurface/services/modelsvc/internal/failure"
	"github.com/datasurface/datasurface/services/modelsvc/internal/intake"
	"github.com/datasurface/datasurface/services/modelsvc/internal/propose"
	"github.com/datasurface/datasurface/services/modelsvc/internal/query"
	"github.com/datasurface/datasurface/services/modelsvc/internal/readmodel"
)

// Handler implements modelv1connect.ModelServiceHandler.
type Handler struct {
	Tokens           *auth.Tokens
	Proposer         *propose.Proposer
	Reader           *query.Reader
	MaxSnapshotBytes int64
	Log              *slog.Logger
}

var _ modelv1connect.ModelServiceHandler = (*Handler)(nil)

// toConnect maps a domain error to a Connect error. Unclassified errors are logged and answered
// as Internal without their text.
func (h *Handler) toConnect(ctx context.Context, procedure string, err error) error {
	if errors.Is(err, context.Canceled) {
		return connect.NewError(connect.CodeCanceled, err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return connect.NewError(connect.CodeDeadlineExceeded, err)
	}
	f := failure.As(err)
	if f == nil {
		h.Log.ErrorContext(ctx, "request failed", "procedure", procedure, "err", err)
		return connect.NewError(connect.CodeInternal, errors.New("internal error; see the modelsvc log"))
	}
	code := connect.CodeInternal
	switch f.Kind {
	case failure.InvalidArgument:
		code = connect.CodeInvalidArgument
	case failure.NotFound, failure.VersionNotFound:
		code = connect.CodeNotFound
	case failure.Unavailable:
		code = connect.CodeUnavailable
	case failure.Unauthenticated:
		code = connect.CodeUnauthenticated
	case failure.PermissionDenied:
		code = connect.CodePermissionDenied
	case failure.TooLarge:
		code = connect.CodeResourceExhausted
	}
	return connect.NewError(code, errors.New(f.Msg))
}

// VersionHeader names the model version an answer was read at (governance.md §4.1).
const VersionHeader = "Datasurface-Model-Version"

// answer wraps a read response and sets the version header.
func answer[T any](msg *T, v *readmodel.Version) *connect.Response[T] {
	resp := connect.NewResponse(msg)
	resp.Header().Set(VersionHeader, strconv.FormatInt(v.Number, 10))
	return resp
}

// ProposeChange implements the RPC.
func (h *Handler) ProposeChange(ctx context.Context, req *connect.Request[modelv1.ProposeChangeRequest]) (*connect.Response[modelv1.ProposeChangeResponse], error) {
	const proc = "ProposeChange"
	m := req.Msg
	if err := h.Tokens.Authorize(req.Header().Get("Authorization"), m.GetSource()); err != nil {
		return nil, h.toConnect(ctx, proc, err)
	}
	if err := intake.CheckSnapshot(m.GetSnapshot(), h.MaxSnapshotBytes); err != nil {
		return nil, h.toConnect(ctx, proc, err)
	}
	p, err := h.Proposer.Propose(ctx, m.GetSource(), m.GetCommit(), m.GetSnapshot())
	if err != nil {
		return nil, h.toConnect(ctx, proc, err)
	}
	return connect.NewResponse(&modelv1.ProposeChangeResponse{ProposalId: p.ID, Digest: p.Digest}), nil
}

// GetProposal implements the RPC.
func (h *Handler) GetProposal(ctx context.Context, req *connect.Request[modelv1.GetProposalRequest]) (*connect.Response[modelv1.GetProposalResponse], error) {
	p, err := h.Proposer.Get(ctx, req.Msg.GetProposalId())
	if err != nil {
		return nil, h.toConnect(ctx, "GetProposal", err)
	}
	return connect.NewResponse(&modelv1.GetProposalResponse{Proposal: p}), nil
}

// ListVersions implements the RPC.
func (h *Handler) ListVersions(ctx context.Context, req *connect.Request[modelv1.ListVersionsRequest]) (*connect.Response[modelv1.ListVersionsResponse], error) {
	vs, next, err := h.Reader.ListVersions(query.Page{Size: req.Msg.GetPageSize(), Token: req.Msg.GetPageToken()})
	if err != nil {
		return nil, h.toConnect(ctx, "ListVersions", err)
	}
	out := &modelv1.ListVersionsResponse{NextPageToken: next}
	for _, v := range vs {
		out.Versions = append(out.Versions, v.Proto())
	}
	return connect.NewResponse(out), nil
}

// GetVersion implements the RPC.
func (h *Handler) GetVersion(ctx context.Context, req *connect.Request[modelv1.GetVersionRequest]) (*connect.Response[modelv1.GetVersionResponse], error) {
	v, err := h.Reader.Version(req.Msg.GetVersion())
	if err != nil {
		return nil, h.toConnect(ctx, "GetVersion", err)
	}
	return answer(&modelv1.GetVersionResponse{Version: v.Proto(), Changes: v.ChangesProto()}, v), nil
}

// WatchVersions implements the RPC: it replays from from_version (when > 0) and then streams
// every new version until the client goes away or the server stops.
func (h *Handler) WatchVersions(ctx context.Context, req *connect.Request[modelv1.WatchVersionsRequest], stream *connect.ServerStream[modelv1.WatchVersionsResponse]) error {
	// Send the response headers now: the stream is established even when no version comes for
	// a long time (clients' calls return once they see the headers).
	if err := stream.Send(nil); err != nil {
		return err
	}
	err := h.Reader.Watch(ctx, req.Msg.GetFromVersion(), func(v *readmodel.Version) error {
		return stream.Send(&modelv1.WatchVersionsResponse{Version: v.Proto(), Changes: v.ChangesProto()})
	})
	switch {
	case err == nil || ctx.Err() != nil:
		return nil // the client left or the server is stopping: end the stream quietly
	case failure.As(err) != nil:
		return h.toConnect(ctx, "WatchVersions", err)
	}
	return err // a failed Send is already a Connect error
}

// GetSnapshot implements the RPC.
func (h *Handler) GetSnapshot(ctx context.Context, req *connect.Request[modelv1.GetSnapshotRequest]) (*connect.Response[modelv1.GetSnapshotResponse], error) {
	v, snap, err := h.Reader.Snapshot(ctx, req.Msg.GetVersion())
	if err != nil {
		return nil, h.toConnect(ctx, "GetSnapshot", err)
	}
	return answer(&modelv1.GetSnapshotResponse{Version: v.Proto(), Snapshot: snap}, v), nil
}

// ListWorkspaces implements the RPC.
func (h *Handler) ListWorkspaces(ctx context.Context, req *connect.Request[modelv1.ListWorkspacesRequest]) (*connect.Response[modelv1.ListWorkspacesResponse], error) {
	m := req.Msg
	l, ws, next, err := h.Reader.ListWorkspaces(ctx, m.GetVersion(), query.Page{Size: m.GetPageSize(), Token: m.GetPageToken()})
	if err != nil {
		return nil, h.toConnect(ctx, "ListWorkspaces", err)
	}
	return answer(&modelv1.ListWorkspacesResponse{Version: l.Version.Proto(), Workspaces: ws, NextPageToken: next}, l.Version), nil
}

// GetWorkspace implements the RPC.
func (h *Handler) GetWorkspace(ctx context.Context, req *connect.Request[modelv1.GetWorkspaceRequest]) (*connect.Response[modelv1.GetWorkspaceResponse], error) {
	l, err := h.Reader.At(ctx, req.Msg.GetVersion())
	if err != nil {
		return nil, h.toConnect(ctx, "GetWorkspace", err)
	}
	w, err := query.Workspace(l, query.Arg{Field: "name", Value: req.Msg.GetName()})
	if err != nil {
		return nil, h.toConnect(ctx, "GetWorkspace", err)
	}
	return answer(&modelv1.GetWorkspaceResponse{Version: l.Version.Proto(), Workspace: w}, l.Version), nil
}

// GetDataset implements the RPC.
func (h *Handler) GetDataset(ctx context.Context, req *connect.Request[modelv1.GetDatasetRequest]) (*connect.Response[modelv1.GetDatasetResponse], error) {
	l, err := h.Reader.At(ctx, req.Msg.GetVersion())
	if err != nil {
		return nil, h.toConnect(ctx, "GetDataset", err)
	}
	_, d, err := query.Dataset(l, query.Arg{Field: "datastore", Value: req.Msg.GetDatastore()}, query.Arg{Field: "dataset", Value: req.Msg.GetDataset()})
	if err != nil {
		return nil, h.toConnect(ctx, "GetDataset", err)
	}
	return answer(&modelv1.GetDatasetResponse{Version: l.Version.Proto(), Dataset: d}, l.Version), nil
}

// ListTeams implements the RPC.
func (h *Handler) ListTeams(ctx context.Context, req *connect.Request[modelv1.ListTeamsRequest]) (*connect.Response[modelv1.ListTeamsResponse], error) {
	m := req.Msg
	l, teams, next, err := h.Reader.ListTeams(ctx, m.GetVersion(), query.Page{Size: m.GetPageSize(), Token: m.GetPageToken()})
	if err != nil {
		return nil, h.toConnect(ctx, "ListTeams", err)
	}
	out := &modelv1.ListTeamsResponse{Version: l.Version.Proto(), NextPageToken: next}
	for _, t := range teams {
		out.Teams = append(out.Teams, &modelv1.TeamRef{Zone: t.Zone, Team: t.Team})
	}
	return answer(out, l.Version), nil
}

// GetTeam implements the RPC.
func (h *Handler) GetTeam(ctx context.Context, req *connect.Request[modelv1.GetTeamRequest]) (*connect.Response[modelv1.GetTeamResponse], error) {
	l, err := h.Reader.At(ctx, req.Msg.GetVersion())
	if err != nil {
		return nil, h.toConnect(ctx, "GetTeam", err)
	}
	t, err := query.GetTeam(l, query.Arg{Field: "zone", Value: req.Msg.GetZone()}, query.Arg{Field: "team", Value: req.Msg.GetTeam()})
	if err != nil {
		return nil, h.toConnect(ctx, "GetTeam", err)
	}
	return answer(&modelv1.GetTeamResponse{Version: l.Version.Proto(), Team: teamInfo(t)}, l.Version), nil
}

func teamInfo(t *query.Team) *modelv1.TeamInfo {
	out := &modelv1.TeamInfo{
		Zone:          t.Zone,
		Name:          t.Name,
		Documentation: t.Doc.GetDocumentation(),
		Containers:    t.Doc.GetContainers(),
		OwningRepo:    t.Decl.GetOwningRepo(),
	}
	for _, s := range t.Datastores {
		out.Datastores = append(out.Datastores, s.GetName())
	}
	for _, w := range t.Workspaces {
		out.Workspaces = append(out.Workspaces, w.GetName())
	}
	return out
}

// GetDatastore implements the RPC.
func (h *Handler) GetDatastore(ctx context.Context, req *connect.Request[modelv1.GetDatastoreRequest]) (*connect.Response[modelv1.GetDatastoreResponse], error) {
	l, err := h.Reader.At(ctx, req.Msg.GetVersion())
	if err != nil {
		return nil, h.toConnect(ctx, "GetDatastore", err)
	}
	s, err := query.Datastore(l, query.Arg{Field: "name", Value: req.Msg.GetName()})
	if err != nil {
		return nil, h.toConnect(ctx, "GetDatastore", err)
	}
	return answer(&modelv1.GetDatastoreResponse{Version: l.Version.Proto(), Datastore: s}, l.Version), nil
}

// ListDatastores implements the RPC.
func (h *Handler) ListDatastores(ctx context.Context, req *connect.Request[modelv1.ListDatastoresRequest]) (*connect.Response[modelv1.ListDatastoresResponse], error) {
	m := req.Msg
	l, names, next, err := h.Reader.ListDatastores(ctx, m.GetVersion(), query.Page{Size: m.GetPageSize(), Token: m.GetPageToken()})
	if err != nil {
		return nil, h.toConnect(ctx, "ListDatastores", err)
	}
	return answer(&modelv1.ListDatastoresResponse{Version: l.Version.Proto(), Names: names, NextPageToken: next}, l.Version), nil
}

// GetDependencies implements the RPC.
func (h *Handler) GetDependencies(ctx context.Context, req *connect.Request[modelv1.GetDependenciesRequest]) (*connect.Response[modelv1.GetDependenciesResponse], error) {
	l, err := h.Reader.At(ctx, req.Msg.GetVersion())
	if err != nil {
		return nil, h.toConnect(ctx, "GetDependencies", err)
	}
	deps, err := query.Dependencies(l, query.Arg{Field: "datastore", Value: req.Msg.GetDatastore()})
	if err != nil {
		return nil, h.toConnect(ctx, "GetDependencies", err)
	}
	return answer(&modelv1.GetDependenciesResponse{Version: l.Version.Proto(), Dependencies: dependents(deps)}, l.Version), nil
}

func dependents(ds []graph.Dependent) []*modelv1.DependentWorkspace {
	out := make([]*modelv1.DependentWorkspace, 0, len(ds))
	for _, d := range ds {
		out = append(out, &modelv1.DependentWorkspace{Workspace: d.Workspace, Dependencies: dependents(d.Dependencies)})
	}
	return out
}
