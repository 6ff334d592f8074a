// Package activities owns the scheduler's own Temporal activities, run on the task queue
// `scheduler` beside its workflows: resolving the latest committed model for a batch, waking
// the transformers that read a stream after it commits, pausing a stream's schedule and
// announcing a platform's reconcile (ds.platform.*). Each
// is a method of Activities with one input and one result struct; the workflows invoke them by
// name (the constants below).
package activities

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"github.com/datasurface/datasurface/model/graph"
	"github.com/datasurface/datasurface/model/index"
	"github.com/datasurface/datasurface/platforms/yellow/batchapi"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/scheduler/internal/ids"
	"github.com/datasurface/datasurface/services/scheduler/internal/platformevents"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Activity names.
const (
	LatestModel        = "LatestModel"
	NotifyTransformers = "NotifyTransformers"
	PauseStream        = "PauseStream"
	PublishReconciled  = "PublishReconciled"
)

// Models gives committed models.
type Models interface {
	// Head returns the newest committed version and its snapshot digest (0, "" when nothing
	// is committed).
	Head(ctx context.Context) (version int64, digest string, err error)
	// Model returns the canonical model of a committed version.
	Model(ctx context.Context, version int64, digest string) (*modelv1.Model, error)
}

// Starter signals (and starts when needed) the transformer workflow of a workspace.
type Starter interface {
	SignalTransformer(ctx context.Context, platform, workspace, reason string) error
}

// Activities holds the scheduler activities' dependencies.
type Activities struct {
	Models    Models
	Schedules client.ScheduleClient
	Starter   Starter
	// Events publishes ds.platform.* (nil: nothing is published).
	Events *platformevents.Publisher
	Log    *slog.Logger
}

// Register registers the activities on w under their names.
func Register(w worker.ActivityRegistry, a *Activities) {
	w.RegisterActivity(a)
}

// LatestModelInput asks for the newest committed model.
type LatestModelInput struct{}

// LatestModelResult is the newest committed model version.
type LatestModelResult struct {
	Version int64
	Digest  string
}

// LatestModel returns the newest committed model version (the version a scheduled batch runs
// under). Nothing committed is a permanent error.
func (a *Activities) LatestModel(ctx context.Context, _ LatestModelInput) (LatestModelResult, error) {
	v, d, err := a.Models.Head(ctx)
	if err != nil {
		return LatestModelResult{}, err
	}
	if v == 0 {
		return LatestModelResult{}, temporal.NewNonRetryableApplicationError("no model is committed", batchapi.ErrPermanent, nil)
	}
	return LatestModelResult{Version: v, Digest: d}, nil
}

// NotifyTransformersInput names a stream that committed a batch.
type NotifyTransformersInput struct {
	Platform     string
	Stream       string
	Batch        int32
	ModelVersion int64
	ModelDigest  string
}

// NotifyTransformersResult lists the transformer workspaces signalled.
type NotifyTransformersResult struct {
	Workspaces []string
}

// NotifyTransformers signals the TransformerWorkflow of every transformer workspace on the
// platform that reads the stream and has no cron trigger (model.md §4.13: it runs after any
// input stream commits a batch), starting it when it is not running.
func (a *Activities) NotifyTransformers(ctx context.Context, in NotifyTransformersInput) (NotifyTransformersResult, error) {
	m, err := a.Models.Model(ctx, in.ModelVersion, in.ModelDigest)
	if err != nil {
		return NotifyTransformersResult{}, err
	}
	ws := Readers(index.New(m), in.Platform, in.Stream)
	for _, w := range ws {
		reason := fmt.Sprintf("%s committed batch %d", in.Stream, in.Batch)
		if err := a.Starter.SignalTransformer(ctx, in.Platform, w, reason); err != nil {
			return NotifyTransformersResult{}, fmt.Errorf("signal transformer %s: %w", w, err)
		}
	}
	return NotifyTransformersResult{Workspaces: ws}, nil
}

// Readers returns the transformer workspaces on platform d that read stream k and run after
// their inputs commit (no cron trigger), sorted.
func Readers(x *index.Index, d, k string) []string {
	p := graph.BuildPlatform(x, d)
	var out []string
	for _, t := range p.Transformers {
		w := x.Workspaces[t.Workspace]
		if w.GetTransformer().GetTrigger().GetCron() != "" {
			continue
		}
		for _, e := range p.Exports {
			if e.Stream == k && slices.Contains(e.Readers, t.Workspace) {
				out = append(out, t.Workspace)
				break
			}
		}
	}
	return out
}

// PauseStreamInput names the stream to pause and why (the batch and attempt that failed).
type PauseStreamInput struct {
	Platform string
	Stream   string
	Reason   string
	Batch    int32
	Attempt  int
}

// PauseStreamResult says whether the schedule was paused (false: it has none).
type PauseStreamResult struct {
	Paused bool
}

// PauseStream pauses the stream's schedule with the reason as its note (yellow.md §6.3: after 5
// consecutive failed attempts).
func (a *Activities) PauseStream(ctx context.Context, in PauseStreamInput) (PauseStreamResult, error) {
	h := a.Schedules.GetHandle(ctx, ids.BatchSchedule(in.Platform, in.Stream))
	err := h.Pause(ctx, client.SchedulePauseOptions{Note: in.Reason})
	if ids.IsNotFound(err) {
		return PauseStreamResult{}, nil
	}
	if err != nil {
		return PauseStreamResult{}, err
	}
	if a.Log != nil {
		a.Log.WarnContext(ctx, "stream paused", "platform", in.Platform, "stream", in.Stream, "reason", in.Reason)
	}
	err = a.Events.StreamPaused(ctx, &eventsv1.StreamPaused{
		Platform: in.Platform, Stream: in.Stream, ScheduleId: ids.BatchSchedule(in.Platform, in.Stream),
		Batch: in.Batch, Attempt: int32(in.Attempt), Reason: in.Reason, PausedAt: timestamppb.Now(),
	})
	if err != nil {
		return PauseStreamResult{}, err
	}
	return PauseStreamResult{Paused: true}, nil
}
