package platformevents_test

import (
	"testing"

	"github.com/datasurface/datasurface/services/scheduler/internal/platformevents"
)

func TestSubjectsAndIDs(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{platformevents.Subject("YellowLive", platformevents.EventReconciled), "ds.platform.YellowLive.reconciled"},
		{platformevents.Subject("YellowLive", platformevents.EventStreamPaused), "ds.platform.YellowLive.stream.paused"},
		{platformevents.ReconciledID("YellowLive", 7), "YellowLive/reconciled/v7"},
		{platformevents.ScheduleChangedID("YellowLive", "Store1#people", 7), "YellowLive/Store1#people/schedule.changed/v7"},
		{platformevents.StreamRemovedID("YellowLive", "Store1", 8), "YellowLive/Store1/removed/v8"},
		{platformevents.StreamPausedID("YellowLive", "Store1", 3, 5), "YellowLive/Store1/paused/3/5"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	var nilPub *platformevents.Publisher
	if err := nilPub.Reconciled(t.Context(), nil); err != nil {
		t.Errorf("a nil publisher publishes nothing: %v", err)
	}
}
