package rpc

import (
	"context"
	"fmt"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	ingestv1 "github.com/datasurface/datasurface/proto/gen/datasurface/ingest/v1"
	"github.com/datasurface/datasurface/services/ingest/internal/batch"
	"github.com/datasurface/datasurface/services/ingest/internal/failure"
	"github.com/datasurface/datasurface/services/ingest/internal/pgsession"
	"github.com/datasurface/datasurface/services/ingest/internal/plan"
	"github.com/datasurface/datasurface/services/ingest/internal/sqlsource"
	"github.com/jackc/pgx/v5"
)

// CheckSource connects to a SQL stream's source as an ingest would and prepares every dataset's
// read in one read-only transaction (nothing is read): the answer says whether the login
// connects and, per dataset, whether the table and every model column are present and readable
// as the model's types, with the reason an ingest would fail with.
func (h *Handler) CheckSource(ctx context.Context, req *connect.Request[ingestv1.CheckSourceRequest]) (*connect.Response[ingestv1.CheckSourceResponse], error) {
	r := req.Msg
	if r.GetStream() == "" {
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("stream is required"))
	}
	t, err := h.open(ctx, r.GetPlatform(), r.GetStream())
	if err != nil {
		return nil, err
	}
	s, err := plan.Resolve(t.model, t.p.Name, r.GetStream())
	if err != nil {
		return nil, connect.NewError(connect.CodeFailedPrecondition, err)
	}
	if s.Source == nil || (s.Capture != layout.Snapshot && s.Capture != layout.Watermark) {
		return nil, connect.NewError(connect.CodeFailedPrecondition,
			fmt.Errorf("stream %s has capture %s: CheckSource checks SQL sources (snapshot, watermark) only", s.Key, s.Capture))
	}
	out := &ingestv1.CheckSourceResponse{
		ModelVersion: t.version, Capture: s.Capture.String(),
		Source: fmt.Sprintf("%s:%d/%s", s.Source.Host, s.Source.Port, s.Source.Database),
	}
	conn, err := batch.Connect(ctx, h.Deps, s.Store, *s.Source, pgsession.Source)
	if err != nil {
		if fe, ok := failure.As(err); ok && fe.Code == failure.Credential {
			return nil, connect.NewError(connect.CodeFailedPrecondition, err)
		}
		out.ConnectError = err.Error()
		return connect.NewResponse(out), nil
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	out.Connected = true
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return nil, connect.NewError(connect.CodeUnavailable, fmt.Errorf("source transaction: %w", err))
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	session := sqlsource.NewSession(tx)
	out.Ok = true
	for _, ds := range s.Datasets {
		dc := &ingestv1.DatasetCheck{Dataset: ds.Name, SourceTable: pgx.Identifier(ds.SourceTable).Sanitize()}
		err := sqlsource.Savepoint(ctx, session, func() error {
			tb, err := sqlsource.Prepare(ctx, session, ds)
			if tb != nil {
				dc.Table = tb.Name
			}
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil, connect.NewError(connect.CodeDeadlineExceeded, ctx.Err())
			}
			dc.Problem = err.Error()
			if fe, ok := failure.As(err); ok {
				dc.Code = string(fe.Code)
				dc.Problem = fe.Reason
			}
		} else {
			dc.Ok = true
		}
		out.Ok = out.Ok && dc.Ok
		out.Datasets = append(out.Datasets, dc)
	}
	return connect.NewResponse(out), nil
}
