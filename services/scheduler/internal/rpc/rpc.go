// Package rpc is the scheduler's Connect handler for datasurface.scheduler.v1.SchedulerService:
// it checks a request, makes one call into the control domain, renders the answer, and maps
// domain errors to Connect codes.
package rpc

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/platforms/yellow/batchapi"
	schedulerv1 "github.com/datasurface/datasurface/proto/gen/datasurface/scheduler/v1"
	"github.com/datasurface/datasurface/proto/gen/datasurface/scheduler/v1/schedulerv1connect"
	"github.com/datasurface/datasurface/services/scheduler/internal/batches"
	"github.com/datasurface/datasurface/services/scheduler/internal/control"
	"github.com/datasurface/datasurface/services/scheduler/internal/reconcile"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// DefaultBatchLimit and MaxBatchLimit bound GetStream's batches.
const (
	DefaultBatchLimit = 10
	MaxBatchLimit     = 1000
)

// Handler implements schedulerv1connect.SchedulerServiceHandler.
type Handler struct {
	Control *control.Control
	Log     *slog.Logger
}

var _ schedulerv1connect.SchedulerServiceHandler = (*Handler)(nil)

func (h *Handler) toConnect(ctx context.Context, procedure string, err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, err)
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, err)
	}
	e := control.AsError(err)
	if e == nil {
		h.Log.ErrorContext(ctx, "request failed", "procedure", procedure, "err", err)
		return connect.NewError(connect.CodeInternal, errors.New("internal error; see the scheduler log"))
	}
	code := connect.CodeInternal
	switch e.Kind {
	case control.NotFound:
		code = connect.CodeNotFound
	case control.InvalidArgument:
		code = connect.CodeInvalidArgument
	case control.FailedPrecondition:
		code = connect.CodeFailedPrecondition
	case control.Unavailable:
		code = connect.CodeUnavailable
	}
	return connect.NewError(code, e)
}

// ListStreams lists the streams with their schedules.
func (h *Handler) ListStreams(ctx context.Context, req *connect.Request[schedulerv1.ListStreamsRequest]) (*connect.Response[schedulerv1.ListStreamsResponse], error) {
	v, streams, err := h.Control.List(ctx, req.Msg.GetPlatform())
	if err != nil {
		return nil, h.toConnect(ctx, "ListStreams", err)
	}
	out := &schedulerv1.ListStreamsResponse{ModelVersion: v}
	for _, s := range streams {
		out.Streams = append(out.Streams, stream(s))
	}
	return connect.NewResponse(out), nil
}

// GetStream returns one stream with its batches and lag.
func (h *Handler) GetStream(ctx context.Context, req *connect.Request[schedulerv1.GetStreamRequest]) (*connect.Response[schedulerv1.GetStreamResponse], error) {
	limit := int(req.Msg.GetBatchLimit())
	switch {
	case limit < 0 || limit > MaxBatchLimit:
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("batch_limit must be between 0 and 1000"))
	case limit == 0:
		limit = DefaultBatchLimit
	}
	d, err := h.Control.Get(ctx, req.Msg.GetPlatform(), req.Msg.GetStream(), limit)
	if err != nil {
		return nil, h.toConnect(ctx, "GetStream", err)
	}
	out := &schedulerv1.GetStreamResponse{ModelVersion: d.Version, Stream: stream(d.Stream)}
	for _, b := range d.Batches {
		out.Batches = append(out.Batches, batch(b))
	}
	if d.Lag != nil {
		out.Lag = &schedulerv1.Lag{Batch: d.Lag.Batch, DataTime: ts(d.Lag.DataTime), Seconds: d.Lag.Seconds}
	}
	if d.BatchesErr != nil {
		out.BatchesError = d.BatchesErr.Error()
	}
	return connect.NewResponse(out), nil
}

// Trigger runs a batch now.
func (h *Handler) Trigger(ctx context.Context, req *connect.Request[schedulerv1.TriggerRequest]) (*connect.Response[schedulerv1.TriggerResponse], error) {
	sid, wid, err := h.Control.Trigger(ctx, req.Msg.GetPlatform(), req.Msg.GetStream())
	if err != nil {
		return nil, h.toConnect(ctx, "Trigger", err)
	}
	return connect.NewResponse(&schedulerv1.TriggerResponse{ScheduleId: sid, WorkflowId: wid}), nil
}

// Pause pauses a stream's schedule.
func (h *Handler) Pause(ctx context.Context, req *connect.Request[schedulerv1.PauseRequest]) (*connect.Response[schedulerv1.PauseResponse], error) {
	s, err := h.Control.Pause(ctx, req.Msg.GetPlatform(), req.Msg.GetStream(), req.Msg.GetReason())
	if err != nil {
		return nil, h.toConnect(ctx, "Pause", err)
	}
	return connect.NewResponse(&schedulerv1.PauseResponse{Schedule: schedule(s)}), nil
}

// Resume unpauses a stream's schedule.
func (h *Handler) Resume(ctx context.Context, req *connect.Request[schedulerv1.ResumeRequest]) (*connect.Response[schedulerv1.ResumeResponse], error) {
	s, err := h.Control.Resume(ctx, req.Msg.GetPlatform(), req.Msg.GetStream(), req.Msg.GetReason())
	if err != nil {
		return nil, h.toConnect(ctx, "Resume", err)
	}
	return connect.NewResponse(&schedulerv1.ResumeResponse{Schedule: schedule(s)}), nil
}

// Backfill re-runs a failed batch.
func (h *Handler) Backfill(ctx context.Context, req *connect.Request[schedulerv1.BackfillRequest]) (*connect.Response[schedulerv1.BackfillResponse], error) {
	b, sid, err := h.Control.Backfill(ctx, req.Msg.GetPlatform(), req.Msg.GetStream(), req.Msg.GetBatch())
	if err != nil {
		return nil, h.toConnect(ctx, "Backfill", err)
	}
	return connect.NewResponse(&schedulerv1.BackfillResponse{Batch: batch(b), ScheduleId: sid}), nil
}

func stream(s control.Stream) *schedulerv1.Stream {
	out := &schedulerv1.Stream{
		Platform: s.Platform, Key: s.Key, Datastore: s.Datastore, Datasets: s.Datasets, Capture: s.Capture,
		Cron: s.Cron, Transformer: s.Transformer, Schedule: schedule(s.Schedule),
	}
	switch s.Trigger {
	case reconcile.TriggerCron:
		out.Trigger = schedulerv1.TriggerKind_TRIGGER_KIND_CRON
	case reconcile.TriggerExternal:
		out.Trigger = schedulerv1.TriggerKind_TRIGGER_KIND_EXTERNAL
	case reconcile.TriggerAfterInputs:
		out.Trigger = schedulerv1.TriggerKind_TRIGGER_KIND_AFTER_INPUTS
	}
	return out
}

func schedule(s control.Schedule) *schedulerv1.Schedule {
	out := &schedulerv1.Schedule{Id: s.ID, Exists: s.Exists, Paused: s.Paused, Note: s.Note, Running: s.Running}
	for _, t := range s.Next {
		out.NextRuns = append(out.NextRuns, ts(t))
	}
	for _, r := range s.Recent {
		out.RecentRuns = append(out.RecentRuns, &schedulerv1.Run{ScheduledAt: ts(r.Scheduled), StartedAt: ts(r.Started), WorkflowId: r.WorkflowID})
	}
	return out
}

var statuses = map[string]schedulerv1.BatchStatus{
	batchapi.StatusStarted:   schedulerv1.BatchStatus_BATCH_STATUS_STARTED,
	batchapi.StatusIngested:  schedulerv1.BatchStatus_BATCH_STATUS_INGESTED,
	batchapi.StatusCommitted: schedulerv1.BatchStatus_BATCH_STATUS_COMMITTED,
	batchapi.StatusFailed:    schedulerv1.BatchStatus_BATCH_STATUS_FAILED,
}

func batch(b batches.Batch) *schedulerv1.Batch {
	out := &schedulerv1.Batch{
		Id: b.ID, Status: statuses[b.Status], StartTime: ts(b.Start), EndTime: ts(b.End),
		Inserted: b.Inserted, Updated: b.Updated, Deleted: b.Deleted, Total: b.Total,
		Attempt: int32(b.State.Attempt), ModelVersion: b.State.ModelVersion,
	}
	if t, err := time.Parse(time.RFC3339Nano, b.State.DataTime); err == nil {
		out.DataTime = timestamppb.New(t)
	}
	if e := b.State.Error; e != nil {
		out.Error = &schedulerv1.BatchError{Phase: e.Phase, Message: e.Message, Permanent: e.Permanent, At: e.At}
	}
	return out
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
