// Package rpc is the Connect SecurityService: thin handlers that validate the request, make one
// call into the engine and convert the answer, mapping domain errors to Connect codes.
package rpc

import (
	"context"
	"errors"

	"connectrpc.com/connect"
	securityv1 "github.com/datasurface/datasurface/proto/gen/datasurface/security/v1"
	"github.com/datasurface/datasurface/proto/gen/datasurface/security/v1/securityv1connect"
	"github.com/datasurface/datasurface/services/security/internal/engine"
	"github.com/datasurface/datasurface/services/security/internal/explain"
	"github.com/datasurface/datasurface/services/security/internal/reconcile"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Handler implements securityv1connect.SecurityServiceHandler.
type Handler struct {
	Engine *engine.Engine
}

var _ securityv1connect.SecurityServiceHandler = (*Handler)(nil)

// Plan computes a plan.
func (h *Handler) Plan(ctx context.Context, req *connect.Request[securityv1.PlanRequest]) (*connect.Response[securityv1.PlanResponse], error) {
	if req.Msg.GetPlatform() == "" {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("platform is required"))
	}
	p, err := h.Engine.Plan(ctx, req.Msg.GetPlatform(), req.Msg.GetModelVersion())
	if err != nil {
		return nil, code(err)
	}
	return connect.NewResponse(&securityv1.PlanResponse{Plan: engine.PlanProto(p)}), nil
}

// Apply applies a plan.
func (h *Handler) Apply(ctx context.Context, req *connect.Request[securityv1.ApplyRequest]) (*connect.Response[securityv1.ApplyResponse], error) {
	if req.Msg.GetPlatform() == "" {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("platform is required"))
	}
	res, err := h.Engine.Apply(ctx, req.Msg.GetPlatform(), req.Msg.GetModelVersion(), reconcile.Options{
		Prepare: req.Msg.GetPrepare(), ExpectedDigest: req.Msg.GetExpectedDigest(),
	})
	if err != nil {
		return nil, code(err)
	}
	return connect.NewResponse(&securityv1.ApplyResponse{
		Applied: engine.PlanProto(res.Plan), StartedAt: timestamppb.New(res.Start), EndedAt: timestamppb.New(res.End),
	}), nil
}

// ExplainAccess explains a principal's access.
func (h *Handler) ExplainAccess(ctx context.Context, req *connect.Request[securityv1.ExplainAccessRequest]) (*connect.Response[securityv1.ExplainAccessResponse], error) {
	m := req.Msg
	out, err := h.Engine.Explain(ctx, explain.Request{
		Principal: m.GetPrincipal(), Datastore: m.GetDatastore(), Dataset: m.GetDataset(), View: m.GetView(),
		Platform: m.GetPlatform(), SkipLive: m.GetSkipLive(),
	}, m.GetModelVersion())
	if err != nil {
		return nil, code(err)
	}
	return connect.NewResponse(out), nil
}

// ListGrants lists the live grants on managed state.
func (h *Handler) ListGrants(ctx context.Context, req *connect.Request[securityv1.ListGrantsRequest]) (*connect.Response[securityv1.ListGrantsResponse], error) {
	if req.Msg.GetPlatform() == "" {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("platform is required"))
	}
	p, err := h.Engine.Grants(ctx, req.Msg.GetPlatform(), req.Msg.GetRole(), req.Msg.GetModelVersion())
	if err != nil {
		return nil, code(err)
	}
	return connect.NewResponse(engine.GrantsProto(p)), nil
}

func code(err error) error {
	var (
		planErr   *reconcile.PlanError
		digestErr *reconcile.DigestError
		conv      *reconcile.ConvergeError
		exec      *reconcile.ExecError
		credErr   *engine.CredentialError
	)
	switch {
	case errors.Is(err, engine.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, engine.ErrInvalid):
		return connect.NewError(connect.CodeInvalidArgument, err)
	case errors.As(err, &planErr), errors.As(err, &digestErr), errors.As(err, &exec), errors.As(err, &credErr):
		return connect.NewError(connect.CodeFailedPrecondition, err)
	case errors.As(err, &conv):
		return connect.NewError(connect.CodeAborted, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeCanceled, err)
	}
	return connect.NewError(connect.CodeUnavailable, err)
}
