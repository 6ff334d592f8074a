package rpc

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/platforms/yellow/batchstatus"
	mergev1 "github.com/datasurface/datasurface/proto/gen/datasurface/merge/v1"
	"github.com/jackc/pgx/v5"
)

// ListBatches lists a platform's batches, one stream's or all, ordered by stream and batch id
// descending, a page at a time.
func (h *Handler) ListBatches(ctx context.Context, req *connect.Request[mergev1.ListBatchesRequest]) (*connect.Response[mergev1.ListBatchesResponse], error) {
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
	t, err := h.open(ctx, r.GetPlatform())
	if err != nil {
		return nil, err
	}
	var keys []string
	if r.GetStream() != "" {
		if err := stream(t, r.GetStream()); err != nil {
			return nil, err
		}
		keys = []string{r.GetStream()}
	}
	var rows []batchstatus.Batch
	err = readTx(ctx, t, func(tx pgx.Tx) error {
		var err error
		rows, err = batchstatus.List(ctx, tx, t.Platform.Name, keys, after, size+1)
		return err
	})
	if errors.Is(err, batchstatus.ErrNoTables) {
		err, rows = nil, nil
	}
	if err != nil {
		return nil, code(err)
	}
	out := &mergev1.ListBatchesResponse{ModelVersion: t.Version}
	if len(rows) > size {
		rows = rows[:size]
		last := rows[size-1]
		out.NextPageToken = pageToken(batchstatus.Cursor{Stream: last.Stream, Batch: last.ID})
	}
	for _, b := range rows {
		out.Batches = append(out.Batches, batchstatus.Proto(t.Platform.Name, b))
	}
	return connect.NewResponse(out), nil
}

// GetBatch returns one batch (batch 0: the stream's current batch).
func (h *Handler) GetBatch(ctx context.Context, req *connect.Request[mergev1.GetBatchRequest]) (*connect.Response[mergev1.GetBatchResponse], error) {
	r := req.Msg
	if r.GetStream() == "" {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("stream is required"))
	}
	if r.GetBatch() < 0 {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("batch must be ≥ 0 (0 = the current batch)"))
	}
	t, err := h.open(ctx, r.GetPlatform())
	if err != nil {
		return nil, err
	}
	if err := stream(t, r.GetStream()); err != nil {
		return nil, err
	}
	var (
		b     batchstatus.Batch
		found bool
		id    = r.GetBatch()
	)
	err = readTx(ctx, t, func(tx pgx.Tx) error {
		if id == 0 {
			cur, err := batchstatus.Current(ctx, tx, t.Platform.Name, r.GetStream())
			if err != nil || cur == 0 {
				return err
			}
			id = cur
		}
		var err error
		b, found, err = batchstatus.Read(ctx, tx, t.Platform.Name, r.GetStream(), id)
		return err
	})
	if err != nil && !errors.Is(err, batchstatus.ErrNoTables) {
		return nil, code(err)
	}
	if !found {
		if id == 0 {
			return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("stream %s of platform %s has no batch yet", r.GetStream(), t.Platform.Name))
		}
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("batch %d of stream %s of platform %s not found", id, r.GetStream(), t.Platform.Name))
	}
	return connect.NewResponse(&mergev1.GetBatchResponse{ModelVersion: t.Version, Batch: batchstatus.Proto(t.Platform.Name, b)}), nil
}
