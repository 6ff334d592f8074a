// Package control is the domain behind SchedulerService: it lists the streams of the last
// reconciled model with their Temporal schedules, reads a stream's batches and lag from the
// platform's bookkeeping, and triggers, pauses, resumes and backfills streams. Its errors are
// typed (Error); the Connect handler maps them to codes.
package control

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/batchapi"
	"github.com/datasurface/datasurface/services/scheduler/internal/batches"
	"github.com/datasurface/datasurface/services/scheduler/internal/ids"
	"github.com/datasurface/datasurface/services/scheduler/internal/reconcile"
	"go.temporal.io/sdk/client"
)

// Kind classifies an Error.
type Kind int

// Error kinds.
const (
	NotFound Kind = iota + 1
	InvalidArgument
	FailedPrecondition
	Unavailable
)

// Error is a domain error of the control API.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

func errorf(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// AsError returns err's *Error, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// Plans gives the last reconciled plan.
type Plans interface {
	Plan() *reconcile.Plan
}

// Batches reads batch bookkeeping.
type Batches interface {
	Recent(ctx context.Context, p batches.Platform, k string, limit int) ([]batches.Batch, error)
	Lag(ctx context.Context, p batches.Platform, k string) (*batches.Lag, error)
}

// Signaller asks a transformer for a run.
type Signaller interface {
	SignalTransformer(ctx context.Context, platform, workspace, reason string) error
}

// Control answers the API.
type Control struct {
	Plans     Plans
	Schedules client.ScheduleClient
	Batches   Batches
	Signal    Signaller
}

// Schedule is a stream's schedule as the API shows it.
type Schedule struct {
	ID      string
	Exists  bool
	Paused  bool
	Note    string
	Next    []time.Time
	Recent  []Run
	Running []string
}

// Run is one action of a schedule.
type Run struct {
	Scheduled, Started time.Time
	WorkflowID         string
}

// Stream is a stream with its schedule.
type Stream struct {
	reconcile.Stream
	Schedule Schedule
}

// Detail is one stream with its batches.
type Detail struct {
	Version int64
	Stream  Stream
	Batches []batches.Batch
	Lag     *batches.Lag
	// BatchesErr is why batches and lag could not be read.
	BatchesErr error
}

func (c *Control) plan() (*reconcile.Plan, error) {
	p := c.Plans.Plan()
	if p == nil {
		return nil, errorf(Unavailable, "no committed model has been reconciled yet")
	}
	return p, nil
}

func (c *Control) stream(platform, key string) (*reconcile.Plan, reconcile.Stream, error) {
	if platform == "" || key == "" {
		return nil, reconcile.Stream{}, errorf(InvalidArgument, "platform and stream are required")
	}
	p, err := c.plan()
	if err != nil {
		return nil, reconcile.Stream{}, err
	}
	s, ok := p.Stream(platform, key)
	if !ok {
		return nil, s, errorf(NotFound, "stream %q of platform %q not found in model version %d", key, platform, p.Version)
	}
	return p, s, nil
}

// List returns the streams of platform ("" = all) with their schedules.
func (c *Control) List(ctx context.Context, platform string) (int64, []Stream, error) {
	p, err := c.plan()
	if err != nil {
		return 0, nil, err
	}
	entries := map[string]*client.ScheduleListEntry{}
	it, err := c.Schedules.List(ctx, client.ScheduleListOptions{PageSize: 1000})
	if err != nil {
		return 0, nil, fmt.Errorf("list schedules: %w", err)
	}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return 0, nil, fmt.Errorf("list schedules: %w", err)
		}
		entries[e.ID] = e
	}
	var out []Stream
	for _, s := range p.Streams {
		if platform != "" && s.Platform != platform {
			continue
		}
		st := Stream{Stream: s, Schedule: Schedule{ID: s.ScheduleID}}
		if e := entries[s.ScheduleID]; e != nil {
			st.Schedule.Exists, st.Schedule.Paused, st.Schedule.Note, st.Schedule.Next = true, e.Paused, e.Note, e.NextActionTimes
			st.Schedule.Recent = runs(e.RecentActions)
		}
		out = append(out, st)
	}
	return p.Version, out, nil
}

// Get returns one stream with its schedule, its latest limit batches and its lag.
func (c *Control) Get(ctx context.Context, platform, key string, limit int) (Detail, error) {
	p, s, err := c.stream(platform, key)
	if err != nil {
		return Detail{}, err
	}
	d := Detail{Version: p.Version, Stream: Stream{Stream: s}}
	if d.Stream.Schedule, err = c.describe(ctx, s.ScheduleID); err != nil {
		return Detail{}, err
	}
	bp := platformOf(p, platform)
	if d.Batches, err = c.Batches.Recent(ctx, bp, key, limit); err != nil {
		d.BatchesErr = err
		return d, nil
	}
	if d.Lag, err = c.Batches.Lag(ctx, bp, key); err != nil {
		d.BatchesErr = err
	}
	return d, nil
}

func platformOf(p *reconcile.Plan, d string) batches.Platform {
	db := p.Databases[d]
	return batches.Platform{Name: d, Host: db.Host, Credential: db.Credential, Store: db.Store}
}

func (c *Control) describe(ctx context.Context, id string) (Schedule, error) {
	s := Schedule{ID: id}
	if id == "" {
		return s, nil
	}
	desc, err := c.Schedules.GetHandle(ctx, id).Describe(ctx)
	if ids.IsNotFound(err) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("describe schedule %s: %w", id, err)
	}
	s.Exists = true
	if st := desc.Schedule.State; st != nil {
		s.Paused, s.Note = st.Paused, st.Note
	}
	s.Next = desc.Info.NextActionTimes
	s.Recent = runs(desc.Info.RecentActions)
	for _, w := range desc.Info.RunningWorkflows {
		s.Running = append(s.Running, w.WorkflowID)
	}
	return s, nil
}

func runs(in []client.ScheduleActionResult) []Run {
	out := make([]Run, 0, len(in))
	for _, a := range in {
		r := Run{Scheduled: a.ScheduleTime, Started: a.ActualTime}
		if a.StartWorkflowResult != nil {
			r.WorkflowID = a.StartWorkflowResult.WorkflowID
		}
		out = append(out, r)
	}
	return out
}

// Trigger runs a batch of the stream now: through its schedule (overlap skip: a batch in
// flight is not doubled), or by signalling its transformer for an input-triggered output.
func (c *Control) Trigger(ctx context.Context, platform, key string) (scheduleID, workflowID string, err error) {
	_, s, err := c.stream(platform, key)
	if err != nil {
		return "", "", err
	}
	return c.runNow(ctx, s, "triggered through the API")
}

func (c *Control) runNow(ctx context.Context, s reconcile.Stream, reason string) (string, string, error) {
	if s.Trigger == reconcile.TriggerAfterInputs {
		if err := c.Signal.SignalTransformer(ctx, s.Platform, s.Transformer, reason); err != nil {
			return "", "", fmt.Errorf("signal transformer %s: %w", s.Transformer, err)
		}
		return "", ids.TransformerWorkflow(s.Platform, s.Transformer), nil
	}
	err := c.Schedules.GetHandle(ctx, s.ScheduleID).Trigger(ctx, client.ScheduleTriggerOptions{})
	if ids.IsNotFound(err) {
		return "", "", errorf(Unavailable, "the schedule of %s is not created yet", s.Key)
	}
	if err != nil {
		return "", "", fmt.Errorf("trigger schedule %s: %w", s.ScheduleID, err)
	}
	return s.ScheduleID, "", nil
}

// Pause pauses the stream's schedule.
func (c *Control) Pause(ctx context.Context, platform, key, reason string) (Schedule, error) {
	return c.setPaused(ctx, platform, key, reason, true)
}

// Resume unpauses the stream's schedule.
func (c *Control) Resume(ctx context.Context, platform, key, reason string) (Schedule, error) {
	return c.setPaused(ctx, platform, key, reason, false)
}

func (c *Control) setPaused(ctx context.Context, platform, key, reason string, pause bool) (Schedule, error) {
	_, s, err := c.stream(platform, key)
	if err != nil {
		return Schedule{}, err
	}
	if s.ScheduleID == "" {
		return Schedule{}, errorf(FailedPrecondition, "stream %s runs after its transformer's inputs commit; it has no schedule", key)
	}
	if s.Trigger == reconcile.TriggerExternal && !pause {
		return Schedule{}, errorf(FailedPrecondition, "stream %s has an external trigger: it runs only on demand (trigger it)", key)
	}
	h := c.Schedules.GetHandle(ctx, s.ScheduleID)
	if pause {
		if reason == "" {
			reason = "paused through the API"
		}
		err = h.Pause(ctx, client.SchedulePauseOptions{Note: reason})
	} else {
		if reason == "" {
			reason = "resumed through the API"
		}
		err = h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: reason})
	}
	if ids.IsNotFound(err) {
		return Schedule{}, errorf(Unavailable, "the schedule of %s is not created yet", key)
	}
	if err != nil {
		return Schedule{}, fmt.Errorf("schedule %s: %w", s.ScheduleID, err)
	}
	return c.describe(ctx, s.ScheduleID)
}

// Backfill re-runs failed batch b of the stream: b must be the stream's current batch and be
// failed; the next run resumes it with attempt + 1 (yellow.md §6.3 step 2).
func (c *Control) Backfill(ctx context.Context, platform, key string, b int32) (batches.Batch, string, error) {
	p, s, err := c.stream(platform, key)
	if err != nil {
		return batches.Batch{}, "", err
	}
	if b <= 0 {
		return batches.Batch{}, "", errorf(InvalidArgument, "batch must be a batch id (≥ 1)")
	}
	recent, err := c.Batches.Recent(ctx, platformOf(p, platform), key, 1)
	if err != nil {
		return batches.Batch{}, "", errorf(Unavailable, "read the batches of %s: %v", key, err)
	}
	if len(recent) == 0 {
		return batches.Batch{}, "", errorf(NotFound, "stream %s has no batches", key)
	}
	cur := recent[0]
	switch {
	case b > cur.ID:
		return batches.Batch{}, "", errorf(NotFound, "batch %d of %s not found (the current batch is %d)", b, key, cur.ID)
	case b < cur.ID:
		return batches.Batch{}, "", errorf(FailedPrecondition, "batch %d of %s is not the current batch (%d): only the current batch can be re-run", b, key, cur.ID)
	case cur.Status != batchapi.StatusFailed:
		return batches.Batch{}, "", errorf(FailedPrecondition, "batch %d of %s is %s, not failed", b, key, cur.Status)
	}
	id, _, err := c.runNow(ctx, s, fmt.Sprintf("backfill of failed batch %d", b))
	return cur, id, err
}
