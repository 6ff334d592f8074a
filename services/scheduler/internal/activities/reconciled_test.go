package activities_test

import (
	"testing"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/batchapi"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	"github.com/datasurface/datasurface/services/scheduler/internal/activities"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestReconciledEvent(t *testing.T) {
	began := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := began.Add(1500 * time.Millisecond)
	got := activities.ReconciledEvent(activities.PublishReconciledInput{
		Platform: "YellowLive", ModelVersion: 4, ModelDigest: "sha256:four",
		Schedules: activities.ScheduleChanges{
			Created: []string{"Payments"}, Deleted: []string{"Old"}, Paused: []string{"Payments"},
			TransformersCreated: []string{"Totals"}, Streams: 3, Transformers: 1,
		},
		Tables: []batchapi.TableChange{
			{Table: "yellowlive.b_merge", Widened: []string{"label: varchar(40) → varchar(80)"}, Rehashed: true},
			{Table: "yellowlive.a_merge", Added: []string{"price"}},
		},
		ViewsChanged: true, ViewSchemas: []string{"yellowlive_ws"},
		Grants: &batchapi.ApplyGrantsResult{Changed: true, Statements: 7},
		Began:  began,
	}, now)
	want := &eventsv1.PlatformReconciled{
		Platform: "YellowLive", ModelVersion: 4, ModelDigest: "sha256:four",
		StreamsCreated: []string{"Payments"}, StreamsDeleted: []string{"Old"}, StreamsPaused: []string{"Payments"},
		TransformersCreated: []string{"Totals"}, Streams: 3, Transformers: 1,
		Tables: []*eventsv1.TableReconciled{
			{Table: "yellowlive.a_merge", AddedColumns: []string{"price"}},
			{Table: "yellowlive.b_merge", WidenedColumns: []string{"label: varchar(40) → varchar(80)"}, Rehashed: true},
		},
		ViewsChanged: true, ViewSchemas: []string{"yellowlive_ws"}, GrantsChanged: true, GrantStatements: 7,
		Duration: durationpb.New(1500 * time.Millisecond), ReconciledAt: timestamppb.New(now),
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}
}
