// Package rpc is the validator's Connect handler for datasurface.validator.v1.ValidatorService:
// it turns a request into one check (package check), renders the report, and maps the check's
// failures to Connect codes.
package rpc

import (
	"context"
	"errors"
	"log/slog"

	"connectrpc.com/connect"
	validatorv1 "github.com/datasurface/datasurface/proto/gen/datasurface/validator/v1"
	"github.com/datasurface/datasurface/proto/gen/datasurface/validator/v1/validatorv1connect"
	"github.com/datasurface/datasurface/services/validator/internal/check"
)

// Handler implements validatorv1connect.ValidatorServiceHandler.
type Handler struct {
	// Checker returns the checker, or nil while the service is starting.
	Checker func() *check.Checker
	Log     *slog.Logger
}

var _ validatorv1connect.ValidatorServiceHandler = (*Handler)(nil)

// Validate implements the RPC: the gate of `datasurface validate`, synchronously; nothing is
// published.
func (h *Handler) Validate(ctx context.Context, req *connect.Request[validatorv1.ValidateRequest]) (*connect.Response[validatorv1.ValidateResponse], error) {
	c := h.Checker()
	if c == nil {
		return nil, connect.NewError(connect.CodeUnavailable, errors.New("the validator is starting; try again shortly"))
	}
	m := req.Msg
	r := check.Request{Head: m.GetHead(), Source: m.GetSource(), Base: check.BaseHead}
	switch b := m.GetBase().(type) {
	case *validatorv1.ValidateRequest_BaseSnapshot:
		r.Base, r.BaseSnapshot = check.BaseSnapshot, b.BaseSnapshot
	case *validatorv1.ValidateRequest_BaseVersion:
		r.Base, r.BaseVersion = check.BaseVersion, b.BaseVersion
	case *validatorv1.ValidateRequest_Initial:
		if b.Initial {
			r.Base = check.BaseInitial
		}
	}
	rep, baseVersion, err := c.Validate(ctx, r)
	if err != nil {
		return nil, h.toConnect(ctx, err)
	}
	return connect.NewResponse(&validatorv1.ValidateResponse{Report: rep.Proto(), BaseVersion: baseVersion}), nil
}

// toConnect maps a check failure to a Connect error; unclassified failures are logged and
// answered as Internal without their text.
func (h *Handler) toConnect(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, err)
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, err)
	}
	var ce *check.Error
	if errors.As(err, &ce) {
		switch ce.Kind {
		case check.InvalidArgument:
			return connect.NewError(connect.CodeInvalidArgument, errors.New(ce.Msg))
		case check.NotFound:
			return connect.NewError(connect.CodeNotFound, errors.New(ce.Msg))
		case check.FailedPrecondition:
			h.Log.ErrorContext(ctx, "validate: the committed base cannot be used", "err", err)
			return connect.NewError(connect.CodeFailedPrecondition, errors.New(ce.Msg))
		}
	}
	h.Log.ErrorContext(ctx, "validate failed", "err", err)
	return connect.NewError(connect.CodeInternal, errors.New("internal error; see the validator log"))
}
