package security

import (
	"context"
	"slices"
	"time"

	"github.com/datasurface/datasurface/kit/events"
	"github.com/datasurface/datasurface/kit/opsbus"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	"github.com/datasurface/datasurface/services/security/internal/reconcile"
)

// SubjectViewsReconciled is the filter of the views consumer: the merge service's
// ds.batch.<platform>.views.reconciled events of every platform.
const SubjectViewsReconciled = opsbus.SubjectBatch + "*.views.reconciled"

// viewsConsumer consumes ds.batch.*.views.reconciled (durable "<Durable>-views" on OPS): when the
// merge service created or re-created views of a platform this instance manages, the platform's
// grants are re-planned against the newest committed model and applied, without a model commit
// (security.md §4: a view dropped and created again must be granted again). Level-based and
// idempotent: a redelivery applies an empty plan.
func (s *Service) viewsConsumer() *events.Consumer {
	return &events.Consumer{
		JS: s.js, Stream: opsbus.Stream, Durable: s.cfg.Durable + "-views", Filter: SubjectViewsReconciled,
		MaxDeliver: s.cfg.MaxDeliver, AckWait: s.cfg.AckWait, Backoff: []time.Duration{time.Second, 5 * time.Second, 30 * time.Second},
		Handler: s.onViewsReconciled, Log: s.log,
		OnPoison: func(ctx context.Context, e events.Event, err error) {
			s.log.ErrorContext(ctx, "views event dropped without applying access", "event", e.ID, "delivered", e.Delivered, "err", err)
		},
	}
}

// onViewsReconciled applies the grants of the event's platform when views were created or
// re-created (replaced views keep their privileges; dropped ones need none).
func (s *Service) onViewsReconciled(ctx context.Context, e events.Event) error {
	ev := &eventsv1.ViewsReconciled{}
	if err := e.Decode(ev); err != nil {
		return err
	}
	d := ev.GetPlatform()
	if !needsGrants(ev) {
		return nil
	}
	mv, err := s.engine.Model(ctx, 0)
	if err != nil {
		return err
	}
	if !slices.Contains(s.platforms(mv), d) {
		return nil
	}
	res, err := s.engine.Apply(ctx, d, mv.Number, reconcile.Options{})
	if permanentApply(err) {
		// Retrying cannot fix the plan; the next version or a drift check will.
		s.log.WarnContext(ctx, "grants after views reconciled not applied", "platform", d, "version", mv.Number, "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	actions := 0
	if res != nil && res.Plan != nil {
		actions = len(res.Plan.Actions)
	}
	s.log.InfoContext(ctx, "grants applied after views reconciled", "platform", d, "version", mv.Number, "event", e.ID, "actions", actions)
	return nil
}

func needsGrants(ev *eventsv1.ViewsReconciled) bool {
	for _, sc := range ev.GetSchemas() {
		if len(sc.GetCreated())+len(sc.GetRecreated()) > 0 {
			return true
		}
	}
	return false
}
