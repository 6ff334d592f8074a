package rpc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	mergev1 "github.com/datasurface/datasurface/proto/gen/datasurface/merge/v1"
	"github.com/datasurface/datasurface/services/merge/internal/status"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"
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
	var rows []status.Batch
	err = readTx(ctx, t, func(tx pgx.Tx) error {
		var err error
		rows, err = status.List(ctx, tx, t.Platform.Name, keys, after, size+1)
		return err
	})
	if errors.Is(err, status.ErrNoTables) {
		err, rows = nil, nil
	}
	if err != nil {
		return nil, code(err)
	}
	out := &mergev1.ListBatchesResponse{ModelVersion: t.Version}
	if len(rows) > size {
		rows = rows[:size]
		last := rows[size-1]
		out.NextPageToken = pageToken(status.Cursor{Stream: last.Stream, Batch: last.ID})
	}
	for _, b := range rows {
		out.Batches = append(out.Batches, Batch(t.Platform.Name, b))
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
		b     status.Batch
		found bool
		id    = r.GetBatch()
	)
	err = readTx(ctx, t, func(tx pgx.Tx) error {
		if id == 0 {
			cur, err := status.Current(ctx, tx, t.Platform.Name, r.GetStream())
			if err != nil || cur == 0 {
				return err
			}
			id = cur
		}
		var err error
		b, found, err = status.Read(ctx, tx, t.Platform.Name, r.GetStream(), id)
		return err
	})
	if err != nil && !errors.Is(err, status.ErrNoTables) {
		return nil, code(err)
	}
	if !found {
		if id == 0 {
			return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("stream %s of platform %s has no batch yet", r.GetStream(), t.Platform.Name))
		}
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("batch %d of stream %s of platform %s not found", id, r.GetStream(), t.Platform.Name))
	}
	return connect.NewResponse(&mergev1.GetBatchResponse{ModelVersion: t.Version, Batch: Batch(t.Platform.Name, b)}), nil
}

// Batch converts a batch_metrics row.
func Batch(d string, b status.Batch) *mergev1.Batch {
	out := &mergev1.Batch{
		Platform: d, Stream: b.Stream, Id: b.ID, Status: batchStatus(b.Status), Attempt: int32(b.State.Attempt),
		ModelVersion: b.State.ModelVersion, StartTime: ts(b.Start), EndTime: ts(b.End), DataTime: ts(b.DataTime()),
		Inserted: b.Inserted, Updated: b.Updated, Deleted: b.Deleted, Total: b.Total,
	}
	names := slices.Clone(b.State.Datasets)
	extra := len(names)
	for n := range b.State.Rows {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names[extra:])
	for _, n := range names {
		c := b.State.Rows[n]
		out.Datasets = append(out.Datasets, &mergev1.DatasetRows{Dataset: n, Staged: c.Staged, Inserted: c.Inserted, Updated: c.Updated,
			Deleted: c.Deleted, Rejected: c.Rejected, Replayed: c.Replayed})
	}
	if e := b.State.Error; e != nil {
		be := &mergev1.BatchError{Phase: e.Phase, Message: e.Message, Permanent: e.Permanent}
		if at, err := time.Parse(time.RFC3339Nano, e.At); err == nil {
			be.At = timestamppb.New(at)
		}
		out.Error = be
	}
	if w := b.State.Watermark; w != nil {
		out.WatermarkLow, out.WatermarkHigh = w.Low, w.High
	}
	return out
}

func batchStatus(s mergesql.Status) mergev1.BatchStatus {
	switch s {
	case mergesql.Started:
		return mergev1.BatchStatus_BATCH_STATUS_STARTED
	case mergesql.Ingested:
		return mergev1.BatchStatus_BATCH_STATUS_INGESTED
	case mergesql.Committed:
		return mergev1.BatchStatus_BATCH_STATUS_COMMITTED
	case mergesql.Failed:
		return mergev1.BatchStatus_BATCH_STATUS_FAILED
	}
	return mergev1.BatchStatus_BATCH_STATUS_UNSPECIFIED
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
