package modelbus_test

import (
	"errors"
	"testing"

	"github.com/datasurface/datasurface/kit/events"
	"github.com/datasurface/datasurface/kit/modelbus"
	"github.com/datasurface/datasurface/kit/natsserver"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/testing/protocmp"
)

func TestSnapshotsAndLastCommitted(t *testing.T) {
	ctx := t.Context()
	nc, err := nats.Connect(natsserver.StartForTest(t).ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	stream, err := modelbus.DeclareStream(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := modelbus.OpenSnapshots(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	snap := &modelv1.Snapshot{Files: []*modelv1.SnapshotFile{{Path: "eco.yaml", Content: []byte("kind: Ecosystem\n")}}}
	for range 2 { // idempotent
		if err := snaps.Put(ctx, "sha256:abc", snap); err != nil {
			t.Fatal(err)
		}
	}
	got, err := snaps.Get(ctx, "sha256:abc")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(snap, got, protocmp.Transform()); diff != "" {
		t.Errorf("snapshot (-want +got):\n%s", diff)
	}
	if _, err := snaps.Get(ctx, "sha256:nope"); !errors.Is(err, modelbus.ErrSnapshotNotFound) {
		t.Errorf("Get unknown = %v, want ErrSnapshotNotFound", err)
	}

	last, err := modelbus.LastCommitted(ctx, stream)
	if err != nil || last != nil {
		t.Fatalf("LastCommitted on empty stream = %v, %v; want nil, nil", last, err)
	}
	for v := int64(1); v <= 2; v++ {
		if _, err := events.Publish(ctx, js, modelbus.SubjectCommitted, "commit-"+string(rune('0'+v)),
			&eventsv1.ModelCommitted{Version: v}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := events.Publish(ctx, js, modelbus.SubjectProposed+"p1", "p1", &eventsv1.ModelProposed{ProposalId: "p1"}); err != nil {
		t.Fatal(err)
	}
	last, err = modelbus.LastCommitted(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	if last.Event.GetVersion() != 2 || last.Sequence != 2 {
		t.Fatalf("LastCommitted = version %d at seq %d, want version 2 at seq 2", last.Event.GetVersion(), last.Sequence)
	}
}
