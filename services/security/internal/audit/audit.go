// Package audit publishes the security service's audit events (security.md §7) on
// `ds.security.<platform>.<event>` in the OPS stream, after the state they describe is committed:
// plan.computed, applied, access.granted / access.revoked (one per membership change),
// drift.detected and apply.failed. Every event names the platform, the model version and the
// service instance; none carries a statement, password, verifier or secret fingerprint.
package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/datasurface/datasurface/kit/events"
	"github.com/datasurface/datasurface/kit/opsbus"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	"github.com/datasurface/datasurface/services/security/internal/plan"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Stream is the operational events stream (DESIGN.md §3).
const Stream = opsbus.Stream

// SubjectPrefix starts every subject of the service.
const SubjectPrefix = opsbus.SubjectSecurity

// Subject returns ds.security.<platform>.<event>.
func Subject(platform, event string) string { return SubjectPrefix + platform + "." + event }

// Event names (the last tokens of the subjects).
const (
	EventPlanComputed  = "plan.computed"
	EventApplied       = "applied"
	EventAccessGranted = "access.granted"
	EventAccessRevoked = "access.revoked"
	EventDrift         = "drift.detected"
	EventApplyFailed   = "apply.failed"
)

// DeclareStream creates or updates the OPS stream (kit/opsbus).
func DeclareStream(ctx context.Context, js jetstream.JetStream) error {
	return opsbus.DeclareStream(ctx, js)
}

// Publisher publishes audit events; a nil JS publishes nothing.
type Publisher struct {
	JS       jetstream.JetStream
	Instance string
	Log      *slog.Logger
}

// NewID returns a random id for one apply; event ids are derived from it so a retried publish
// is dropped by the stream's duplicate window.
func NewID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Action converts a plan action (without its statement).
func Action(a plan.Action) *eventsv1.SecurityAction {
	return &eventsv1.SecurityAction{
		Op: string(a.Op), ObjectType: a.ObjectType, Object: a.Object, Grantee: a.Grantee,
		Privileges: a.Privileges, Reason: a.Reason, Destructive: a.Destructive,
	}
}

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
	return err
}

// Applied publishes the events of one committed apply: plan.computed, applied (when actions
// ran) and one access event per membership change.
func (p *Publisher) Applied(ctx context.Context, id string, pl *plan.Plan, acts []plan.Action, start, end time.Time) error {
	if p == nil || p.JS == nil {
		return nil
	}
	counts := map[string]int32{}
	var destructive int32
	for _, a := range acts {
		counts[string(a.Op)]++
		if a.Destructive {
			destructive++
		}
	}
	computed := &eventsv1.SecurityPlanComputed{
		Platform: pl.Platform, ModelVersion: pl.ModelVersion, Instance: p.Instance, ActionCounts: counts,
		Destructive: destructive, PlanDigest: pl.Digest, ComputedAt: timestamppb.New(start),
	}
	if err := p.publish(ctx, pl.Platform, EventPlanComputed, id+"-plan", computed); err != nil {
		return fmt.Errorf("publish %s: %w", EventPlanComputed, err)
	}
	if len(acts) == 0 {
		return nil
	}
	applied := &eventsv1.SecurityApplied{
		Platform: pl.Platform, ModelVersion: pl.ModelVersion, Instance: p.Instance,
		StartedAt: timestamppb.New(start), EndedAt: timestamppb.New(end), PlanDigest: pl.Digest,
	}
	for _, a := range acts {
		applied.Actions = append(applied.Actions, Action(a))
	}
	if err := p.publish(ctx, pl.Platform, EventApplied, id+"-applied", applied); err != nil {
		return fmt.Errorf("publish %s: %w", EventApplied, err)
	}
	for i, a := range acts {
		granted := a.Op == plan.GrantMembership
		if (!granted && a.Op != plan.RevokeMembership) || len(a.Privileges) > 0 || a.Reason == "membership options" {
			continue
		}
		ev := &eventsv1.SecurityAccessChanged{
			Platform: pl.Platform, ModelVersion: pl.ModelVersion, Instance: p.Instance,
			Principal: a.Grantee, Workspace: a.Workspace, Role: a.Object, Granted: granted, At: timestamppb.New(end),
		}
		event := EventAccessRevoked
		if granted {
			event = EventAccessGranted
		}
		if err := p.publish(ctx, pl.Platform, event, fmt.Sprintf("%s-access-%d", id, i), ev); err != nil {
			return fmt.Errorf("publish %s: %w", event, err)
		}
	}
	return nil
}

// Drift publishes drift.detected with the actions a periodic check found.
func (p *Publisher) Drift(ctx context.Context, id string, pl *plan.Plan, at time.Time) error {
	if p == nil || p.JS == nil {
		return nil
	}
	ev := &eventsv1.SecurityDriftDetected{
		Platform: pl.Platform, ModelVersion: pl.ModelVersion, Instance: p.Instance, DetectedAt: timestamppb.New(at),
	}
	for _, a := range pl.Actions {
		ev.Drift = append(ev.Drift, Action(a))
	}
	return p.publish(ctx, pl.Platform, EventDrift, id+"-drift", ev)
}

// Failed publishes apply.failed; failed is the failing action when known.
func (p *Publisher) Failed(ctx context.Context, id, platform string, version int64, cause error, failed *plan.Action, at time.Time) error {
	if p == nil || p.JS == nil {
		return nil
	}
	ev := &eventsv1.SecurityApplyFailed{
		Platform: platform, ModelVersion: version, Instance: p.Instance, Error: cause.Error(), FailedAt: timestamppb.New(at),
	}
	if failed != nil {
		ev.FailedAction = Action(*failed)
	}
	return p.publish(ctx, platform, EventApplyFailed, id+"-failed", ev)
}
