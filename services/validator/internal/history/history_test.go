package history

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datasurface/datasurface/kit/events"
	"github.com/datasurface/datasurface/kit/modelbus"
	"github.com/datasurface/datasurface/kit/natsserver"
	"github.com/datasurface/datasurface/model/load"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func snapshotOf(t *testing.T, dir string) *modelv1.Snapshot {
	t.Helper()
	snap := &modelv1.Snapshot{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		snap.Files = append(snap.Files, &modelv1.SnapshotFile{Path: filepath.ToSlash(rel), Content: b})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func digest(t *testing.T, snap *modelv1.Snapshot) string {
	t.Helper()
	res, err := load.Files(Files(snap), load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res.Digest
}

func storeByName(m *modelv1.Model, name string) *modelv1.Datastore {
	for _, d := range m.GetDatastores() {
		if d.GetName() == name {
			return d
		}
	}
	return nil
}

func TestHistory(t *testing.T) {
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
	h := New(stream, snaps, 1, slog.New(slog.DiscardHandler))
	if head, err := h.Head(ctx); err != nil || head != nil {
		t.Fatalf("Head of an empty history = %v, %v; want nil, nil", head, err)
	}

	versions := []*modelv1.Snapshot{
		snapshotOf(t, "../../../../examples/acme"),
		snapshotOf(t, "../../../../examples/changes/add-nullable-column"),
		{Files: []*modelv1.SnapshotFile{{Path: "broken.yaml", Content: []byte("kind: [")}}}, // not YAML: left out
		nil, // snapshot missing from the store: left out
	}
	var want []Version
	for i, snap := range versions {
		d := fmt.Sprintf("sha256:missing%d", i)
		if snap != nil {
			d = digest(t, snap)
			if err := snaps.Put(ctx, d, snap); err != nil {
				t.Fatal(err)
			}
		}
		n := int64(i + 1)
		id := fmt.Sprintf("p%d", n)
		ack, err := events.Publish(ctx, js, modelbus.SubjectCommitted, "commit-"+id, &eventsv1.ModelCommitted{Version: n, Digest: d, ProposalId: id})
		if err != nil {
			t.Fatal(err)
		}
		// Other subjects in between are skipped by the index.
		if _, err := events.Publish(ctx, js, modelbus.SubjectVerdict+id, "verdict-"+id, &eventsv1.ModelVerdict{ProposalId: id}); err != nil {
			t.Fatal(err)
		}
		want = append(want, Version{Number: n, Digest: d, ProposalID: id, Sequence: ack.Sequence})
	}

	head, err := h.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want[3], *head); diff != "" {
		t.Errorf("Head (-want +got):\n%s", diff)
	}
	for _, v := range want {
		if got, ok := h.ByProposal(v.ProposalID); !ok || got != v {
			t.Errorf("ByProposal(%s) = %v, %v; want %v", v.ProposalID, got, ok, v)
		}
		if got, ok := h.ByNumber(v.Number); !ok || got != v {
			t.Errorf("ByNumber(%d) = %v, %v; want %v", v.Number, got, ok, v)
		}
	}
	if _, ok := h.ByProposal("p9"); ok {
		t.Error("ByProposal of an uncommitted proposal found a version")
	}

	// Newest first; the unusable versions are left out.
	all, err := h.History(ctx, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	var numbers []int64
	for _, v := range all {
		numbers = append(numbers, v.Number)
	}
	if diff := cmp.Diff([]int64{2, 1}, numbers); diff != "" {
		t.Errorf("history numbers (-want +got):\n%s", diff)
	}
	// Projections hold only datastores; an unchanged datastore is shared between versions.
	v2, v1 := all[0].Model, all[1].Model
	if v2.GetEcosystem() != nil || len(v2.GetWorkspaces()) != 0 || len(v2.GetDatastores()) == 0 {
		t.Errorf("projection is not datastores-only: ecosystem %v, %d workspaces, %d datastores", v2.GetEcosystem() != nil, len(v2.GetWorkspaces()), len(v2.GetDatastores()))
	}
	if storeByName(v1, "PaymentsDB") != storeByName(v2, "PaymentsDB") {
		t.Error("the unchanged datastore PaymentsDB is held twice")
	}
	if storeByName(v1, "SalesDB") == storeByName(v2, "SalesDB") {
		t.Error("the changed datastore SalesDB is shared")
	}

	// With a base, the base's own model stands for its version.
	base, err := h.Base(ctx, want[1])
	if err != nil {
		t.Fatal(err)
	}
	upTo2, err := h.History(ctx, 2, base)
	if err != nil {
		t.Fatal(err)
	}
	if len(upTo2) != 2 || upTo2[0].Model != base.Model || upTo2[1].Number != 1 {
		t.Errorf("History(2, base) = %v; want [base, version 1]", upTo2)
	}
	if _, err := h.Base(ctx, want[3]); err == nil {
		t.Error("Base of a version without snapshot = nil error")
	}
}

func TestLRU(t *testing.T) {
	c := newLRU(2)
	a, b, d := &load.Result{}, &load.Result{}, &load.Result{}
	c.put("a", a)
	c.put("b", b)
	if got, _ := c.get("a"); got != a { // a is now the most recent
		t.Fatal("a missing")
	}
	c.put("d", d) // evicts b
	if _, ok := c.peek("b"); ok {
		t.Error("b was not evicted")
	}
	for k, want := range map[string]*load.Result{"a": a, "d": d} {
		if got, ok := c.peek(k); !ok || got != want {
			t.Errorf("%s missing", k)
		}
	}
}
