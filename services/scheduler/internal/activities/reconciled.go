package activities

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/batchapi"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// ScheduleChanges is what the reconciler did to one platform's schedules for a model version:
// stream keys and transformer workspaces whose schedule was created, updated or deleted (sorted),
// the streams paused because on demand, and the platform's stream and transformer counts.
type ScheduleChanges struct {
	Created, Updated, Deleted, Paused                             []string
	TransformersCreated, TransformersUpdated, TransformersDeleted []string
	Streams, Transformers                                         int
}

// PublishReconciledInput is one platform's finished reconcile: the schedule changes, then the
// tables, views and grants of its ReconcileWorkflow. Began is when the commit was taken up.
type PublishReconciledInput struct {
	Platform     string
	ModelVersion int64
	ModelDigest  string
	Schedules    ScheduleChanges
	Tables       []batchapi.TableChange
	ViewSchemas  []string
	ViewsChanged bool
	Grants       *batchapi.ApplyGrantsResult
	Began        time.Time
}

// PublishReconciledResult is empty.
type PublishReconciledResult struct{}

// PublishReconciled publishes ds.platform.<platform>.reconciled once the platform's reconcile
// is done (its id makes a retried activity harmless).
func (a *Activities) PublishReconciled(ctx context.Context, in PublishReconciledInput) (PublishReconciledResult, error) {
	return PublishReconciledResult{}, a.Events.Reconciled(ctx, ReconciledEvent(in, time.Now()))
}

// ReconciledEvent is the PlatformReconciled of in, finished at now.
func ReconciledEvent(in PublishReconciledInput, now time.Time) *eventsv1.PlatformReconciled {
	s := in.Schedules
	e := &eventsv1.PlatformReconciled{
		Platform: in.Platform, ModelVersion: in.ModelVersion, ModelDigest: in.ModelDigest,
		StreamsCreated: s.Created, StreamsUpdated: s.Updated, StreamsDeleted: s.Deleted, StreamsPaused: s.Paused,
		TransformersCreated: s.TransformersCreated, TransformersUpdated: s.TransformersUpdated,
		TransformersDeleted: s.TransformersDeleted,
		Streams:             int32(s.Streams), Transformers: int32(s.Transformers),
		ViewsChanged: in.ViewsChanged, ViewSchemas: in.ViewSchemas,
		ReconciledAt: timestamppb.New(now),
	}
	if in.Grants != nil {
		e.GrantsChanged, e.GrantStatements = in.Grants.Changed, int32(in.Grants.Statements)
	}
	if !in.Began.IsZero() {
		e.Duration = durationpb.New(now.Sub(in.Began))
	}
	for _, t := range in.Tables {
		e.Tables = append(e.Tables, &eventsv1.TableReconciled{
			Table: t.Table, Created: t.Created, AddedColumns: t.Added, WidenedColumns: t.Widened,
			NullableAgain: t.NullableAgain, Rehashed: t.Rehashed, RecreatedViews: t.RecreatedViews,
		})
	}
	slices.SortFunc(e.Tables, func(a, b *eventsv1.TableReconciled) int { return strings.Compare(a.GetTable(), b.GetTable()) })
	return e
}
