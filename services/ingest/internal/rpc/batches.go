package rpc

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"
	status "github.com/datasurface/datasurface/platforms/yellow/batchstatus"
	ingestv1 "github.com/datasurface/datasurface/proto/gen/datasurface/ingest/v1"
	"github.com/jackc/pgx/v5"
)

// ListBatches lists a platform's batches, one stream's or all, ordered by stream and batch id
// descending, a page at a time.
func (h *Handler) ListBatches(ctx context.Context, req *connect.Request[ingestv1.ListBatchesRequest]) (*connect.Response[ingestv1.ListBatchesResponse], error) {
	r := req.Msg
	size := int(r.GetPageSize())
	switch {
	case size < 0 || size > MaxPageSize:
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("page_size must be between 0 and %d", MaxPageSize))
	case size == 0:
		size = DefaultPageSize
	}
	after, err := decodeToken(r.GetPageToken())
	if err != nil {
		return nil, err
	}
	t, err := h.open(ctx, r.GetPlatform(), r.GetStream())
	if err != nil {
		return nil, err
	}
	var keys []string
	if r.GetStream() != "" {
		keys = []string{r.GetStream()}
	}
	var rows []status.Batch
	err = h.readMerge(ctx, t, func(tx pgx.Tx) error {
		var err error
		rows, err = status.List(ctx, tx, t.p.Name, keys, after, size+1)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &ingestv1.ListBatchesResponse{ModelVersion: t.version}
	if len(rows) > size {
		rows = rows[:size]
		last := rows[size-1]
		out.NextPageToken = pageToken(status.Cursor{Stream: last.Stream, Batch: last.ID})
	}
	for _, b := range rows {
		out.Batches = append(out.Batches, status.Proto(t.p.Name, b))
	}
	return connect.NewResponse(out), nil
}

// GetBatch returns one batch (batch 0: the stream's current batch).
func (h *Handler) GetBatch(ctx context.Context, req *connect.Request[ingestv1.GetBatchRequest]) (*connect.Response[ingestv1.GetBatchResponse], error) {
	r := req.Msg
	if r.GetStream() == "" {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("stream is required"))
	}
	if r.GetBatch() < 0 {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("batch must be ≥ 0 (0 = the current batch)"))
	}
	t, err := h.open(ctx, r.GetPlatform(), r.GetStream())
	if err != nil {
		return nil, err
	}
	var (
		b     status.Batch
		found bool
		id    = r.GetBatch()
	)
	err = h.readMerge(ctx, t, func(tx pgx.Tx) error {
		if id == 0 {
			cur, err := status.Current(ctx, tx, t.p.Name, r.GetStream())
			if err != nil || cur == 0 {
				return err
			}
			id = cur
		}
		var err error
		b, found, err = status.Read(ctx, tx, t.p.Name, r.GetStream(), id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !found {
		if id == 0 {
			return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("stream %s of platform %s has no batch yet", r.GetStream(), t.p.Name))
		}
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("batch %d of stream %s of platform %s not found", id, r.GetStream(), t.p.Name))
	}
	return connect.NewResponse(&ingestv1.GetBatchResponse{ModelVersion: t.version, Batch: status.Proto(t.p.Name, b)}), nil
}
