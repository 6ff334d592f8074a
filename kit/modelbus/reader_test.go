package modelbus_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/datasurface/datasurface/kit/events"
	"github.com/datasurface/datasurface/kit/modelbus"
	"github.com/datasurface/datasurface/kit/natsserver"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ecoSnapshot is a one-file snapshot of an ecosystem named name; extra is YAML appended to its
// spec (an unknown field loads leniently).
func ecoSnapshot(name, extra string) *modelv1.Snapshot {
	doc := fmt.Sprintf("apiVersion: datasurface/v1\nkind: Ecosystem\nmetadata: {name: %s}\nspec:\n  owningRepo: acme/m@eco\n  liveRepo: acme/m@main\n%s", name, extra)
	return &modelv1.Snapshot{Files: []*modelv1.SnapshotFile{{Path: "eco.yaml", Content: []byte(doc)}}}
}

func commit(t *testing.T, js jetstream.JetStream, snaps *modelbus.Snapshots, v int64, snap *modelv1.Snapshot) string {
	t.Helper()
	digest := fmt.Sprintf("sha256:v%d", v)
	if err := snaps.Put(t.Context(), digest, snap); err != nil {
		t.Fatal(err)
	}
	if _, err := events.Publish(t.Context(), js, modelbus.SubjectCommitted, fmt.Sprintf("commit-%d", v),
		&eventsv1.ModelCommitted{Version: v, Digest: digest}); err != nil {
		t.Fatal(err)
	}
	return digest
}

func TestReader(t *testing.T) {
	ctx := t.Context()
	nc, err := nats.Connect(natsserver.StartForTest(t).ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	r := modelbus.NewReaderSize(js, 2)

	v, d, m, err := r.Latest(ctx)
	if err != nil || v != 0 || d != "" || m != nil {
		t.Fatalf("Latest with nothing committed = %d, %q, %v, %v; want 0, \"\", nil, nil", v, d, m, err)
	}
	if _, err := r.Model(ctx, 1, ""); !errors.Is(err, modelbus.ErrVersionNotFound) {
		t.Fatalf("Model(1) before any commit = %v, want ErrVersionNotFound", err)
	}

	if _, err := modelbus.DeclareStream(ctx, js); err != nil {
		t.Fatal(err)
	}
	snaps, err := modelbus.OpenSnapshots(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	d1 := commit(t, js, snaps, 1, ecoSnapshot("One", ""))
	d2 := commit(t, js, snaps, 2, ecoSnapshot("Two", "  someFieldFromTheFuture: 1\n"))

	v, d, m, err = r.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v != 2 || d != d2 || m.GetEcosystem().GetName() != "Two" {
		t.Fatalf("Latest = %d, %q, %q; want 2, %q, Two", v, d, m.GetEcosystem().GetName(), d2)
	}
	m1, err := r.Model(ctx, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	if m1.GetEcosystem().GetName() != "One" {
		t.Errorf("Model(1) ecosystem = %q, want One", m1.GetEcosystem().GetName())
	}
	again, err := r.Model(ctx, 1, d1)
	if err != nil {
		t.Fatal(err)
	}
	if again != m1 {
		t.Error("Model(1) loaded twice: want the cached model")
	}
	l, err := r.Load(ctx, 0, "")
	if err != nil || l.Version != 2 || l.Source == nil {
		t.Fatalf("Load(0) = %+v, %v; want version 2 with a source map", l, err)
	}

	// A third model evicts the least recently used: Load(0) used version 2 last, so version 1
	// goes.
	commit(t, js, snaps, 3, ecoSnapshot("Three", ""))
	if _, err := r.Model(ctx, 3, ""); err != nil {
		t.Fatal(err)
	}
	m1b, err := r.Model(ctx, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	if m1b == m1 {
		t.Error("version 1 still cached after two newer loads with cache size 2")
	}

	// Concurrent loads of one digest agree.
	commit(t, js, snaps, 4, ecoSnapshot("Four", ""))
	var wg sync.WaitGroup
	got := make([]*modelv1.Model, 8)
	for i := range got {
		wg.Go(func() {
			m, err := r.Model(ctx, 4, "")
			if err != nil {
				t.Error(err)
			}
			got[i] = m
		})
	}
	wg.Wait()
	for _, m := range got {
		if m == nil || m != got[0] {
			t.Fatal("concurrent loads of version 4 returned different models")
		}
	}

	if _, err := r.Model(ctx, 9, ""); !errors.Is(err, modelbus.ErrVersionNotFound) {
		t.Errorf("Model(9) = %v, want ErrVersionNotFound", err)
	}
	if _, err := r.Model(ctx, 9, "sha256:nope"); !errors.Is(err, modelbus.ErrSnapshotNotFound) {
		t.Errorf("Model(9, unknown digest) = %v, want ErrSnapshotNotFound", err)
	}
	if v, _, err := r.Head(ctx); err != nil || v != 4 {
		t.Errorf("Head after a failed load of version 9 = %d, %v; want 4", v, err)
	}
}
