// Package platformevents publishes the scheduler's platform and stream events on the OPS stream
// (kit/opsbus, proto/datasurface/events/v1/platform_events.proto): `ds.platform.<platform>.<event>`
// with a Nats-Msg-Id derived from business keys, so publishing the same event again (a retried
// activity, a redelivered commit) is dropped by the stream's duplicate window. Callers publish
// only after what the event announces is done.
package platformevents

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/datasurface/datasurface/kit/events"
	"github.com/datasurface/datasurface/kit/opsbus"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
)

// Event names (the subject's tokens after the platform).
const (
	EventReconciled      = "reconciled"
	EventScheduleChanged = "stream.schedule.changed"
	EventStreamRemoved   = "stream.removed"
	EventStreamPaused    = "stream.paused"
)

// Subject returns ds.platform.<platform>.<event>.
func Subject(platform, event string) string { return opsbus.SubjectPlatform + platform + "." + event }

// Publisher publishes the events; a nil Publisher or one without JS publishes nothing.
type Publisher struct {
	JS  jetstream.JetStream
	Log *slog.Logger
}

// Declare creates or updates the OPS stream (every producer declares it at start-up).
func (p *Publisher) Declare(ctx context.Context) error {
	if p == nil || p.JS == nil {
		return nil
	}
	return opsbus.DeclareStream(ctx, p.JS)
}

// ReconciledID is the Nats-Msg-Id of platform d's PlatformReconciled at model version v.
func ReconciledID(d string, v int64) string { return d + "/reconciled/v" + strconv.FormatInt(v, 10) }

// ScheduleChangedID is the Nats-Msg-Id of a StreamScheduleChanged.
func ScheduleChangedID(d, stream string, v int64) string {
	return d + "/" + stream + "/schedule.changed/v" + strconv.FormatInt(v, 10)
}

// StreamRemovedID is the Nats-Msg-Id of a StreamRemoved.
func StreamRemovedID(d, stream string, v int64) string {
	return d + "/" + stream + "/removed/v" + strconv.FormatInt(v, 10)
}

// StreamPausedID is the Nats-Msg-Id of a StreamPaused.
func StreamPausedID(d, stream string, batch, attempt int32) string {
	return fmt.Sprintf("%s/%s/paused/%d/%d", d, stream, batch, attempt)
}

// Reconciled publishes ds.platform.<platform>.reconciled.
func (p *Publisher) Reconciled(ctx context.Context, e *eventsv1.PlatformReconciled) error {
	return p.publish(ctx, e.GetPlatform(), EventReconciled, ReconciledID(e.GetPlatform(), e.GetModelVersion()), e)
}

// ScheduleChanged publishes ds.platform.<platform>.stream.schedule.changed.
func (p *Publisher) ScheduleChanged(ctx context.Context, e *eventsv1.StreamScheduleChanged) error {
	return p.publish(ctx, e.GetPlatform(), EventScheduleChanged,
		ScheduleChangedID(e.GetPlatform(), e.GetStream(), e.GetModelVersion()), e)
}

// StreamRemoved publishes ds.platform.<platform>.stream.removed.
func (p *Publisher) StreamRemoved(ctx context.Context, e *eventsv1.StreamRemoved) error {
	return p.publish(ctx, e.GetPlatform(), EventStreamRemoved,
		StreamRemovedID(e.GetPlatform(), e.GetStream(), e.GetModelVersion()), e)
}

// StreamPaused publishes ds.platform.<platform>.stream.paused.
func (p *Publisher) StreamPaused(ctx context.Context, e *eventsv1.StreamPaused) error {
	return p.publish(ctx, e.GetPlatform(), EventStreamPaused,
		StreamPausedID(e.GetPlatform(), e.GetStream(), e.GetBatch(), e.GetAttempt()), e)
}

// publish sends msg, retrying a failed publish twice (the id makes a repeat harmless).
func (p *Publisher) publish(ctx context.Context, platform, event, id string, msg proto.Message) error {
	if p == nil || p.JS == nil {
		return nil
	}
	var err error
	for attempt := range 3 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
			}
		}
		if _, err = events.Publish(ctx, p.JS, Subject(platform, event), id, msg); err == nil {
			return nil
		}
	}
	return fmt.Errorf("publish %s of %s: %w", event, platform, err)
}
