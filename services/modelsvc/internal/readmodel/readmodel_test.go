package readmodel

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/modelsvc/internal/failure"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func committed(n int64) *eventsv1.ModelCommitted {
	return &eventsv1.ModelCommitted{
		Version:     n,
		Digest:      fmt.Sprintf("sha256:%02d", n),
		Source:      "acme/model@eco",
		CommittedAt: timestamppb.New(time.Date(2026, 1, 1, 0, 0, int(n), 0, time.UTC)),
		Changes:     []*modelv1.Change{{Kind: modelv1.ChangeKind_CHANGE_KIND_DATASTORE_ADDED, Path: fmt.Sprintf("datastore[S%d]", n)}},
	}
}

// countingLoader returns a model named after the version and counts loads per version.
type countingLoader struct {
	mu    sync.Mutex
	loads map[int64]int
	fail  atomic.Bool
}

func (c *countingLoader) load(_ context.Context, v *Version) (*modelv1.Model, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loads == nil {
		c.loads = map[int64]int{}
	}
	c.loads[v.Number]++
	if c.fail.Load() {
		return nil, errors.New("snapshot store down")
	}
	return &modelv1.Model{Ecosystem: &modelv1.Ecosystem{Name: v.Digest}}, nil
}

func numbers(vs []*Version) []int64 {
	out := []int64{}
	for _, v := range vs {
		out = append(out, v.Number)
	}
	return out
}

func TestVersions(t *testing.T) {
	ctx := t.Context()
	rm := New((&countingLoader{}).load, 2, nil)
	if _, err := rm.Latest(); failure.KindOf(err) != failure.Unavailable {
		t.Fatalf("Latest before ready = %v, want Unavailable", err)
	}
	if rm.Ready() == nil {
		t.Fatal("ready before MarkReady")
	}
	rm.MarkReady(ctx)
	if _, err := rm.Version(0); failure.KindOf(err) != failure.Unavailable {
		t.Fatalf("Version(0) with nothing committed = %v, want Unavailable", err)
	}
	for n := int64(1); n <= 3; n++ {
		rm.Apply(ctx, committed(n), uint64(n*10))
	}
	rm.Apply(ctx, committed(2), 99) // a duplicate is ignored
	tests := []struct {
		ask  int64
		want int64
		kind failure.Kind
	}{
		{0, 3, 0},
		{1, 1, 0},
		{3, 3, 0},
		{4, 0, failure.VersionNotFound},
		{-1, 0, failure.InvalidArgument},
	}
	for _, tt := range tests {
		v, err := rm.Version(tt.ask)
		if tt.kind != 0 {
			if failure.KindOf(err) != tt.kind {
				t.Errorf("Version(%d) = %v, want kind %v", tt.ask, err, tt.kind)
			}
			continue
		}
		if err != nil || v.Number != tt.want {
			t.Errorf("Version(%d) = %v, %v; want %d", tt.ask, v, err, tt.want)
		}
	}
	if f := failure.As(func() error { _, err := rm.Version(9); return err }()); f == nil || f.Latest != 3 {
		t.Errorf("VersionNotFound does not carry the latest version: %+v", f)
	}
	for _, tt := range []struct {
		below int64
		limit int
		want  []int64
		more  bool
	}{
		{0, 10, []int64{3, 2, 1}, false},
		{0, 2, []int64{3, 2}, true},
		{1, 2, []int64{1}, false},
		{2, 5, []int64{2, 1}, false},
	} {
		vs, more, err := rm.Versions(tt.below, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, numbers(vs)); diff != "" || more != tt.more {
			t.Errorf("Versions(%d, %d) = %v more=%v, want %v more=%v", tt.below, tt.limit, numbers(vs), more, tt.want, tt.more)
		}
	}
}

func TestModelCache(t *testing.T) {
	ctx := t.Context()
	loader := &countingLoader{}
	rm := New(loader.load, 2, nil)
	rm.MarkReady(ctx)
	for n := int64(1); n <= 4; n++ {
		rm.Apply(ctx, committed(n), uint64(n))
	}
	get := func(n int64) {
		t.Helper()
		l, err := rm.Model(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("sha256:%02d", l.Version.Number); l.Model.GetEcosystem().GetName() != want || (n != 0 && l.Version.Number != n) {
			t.Fatalf("Model(%d) = version %d model %q", n, l.Version.Number, l.Model.GetEcosystem().GetName())
		}
	}
	get(0) // latest = 4
	get(1)
	get(2) // evicts 1 (4 is the latest and stays although it is the least recently used)
	if diff := cmp.Diff([]int64{2, 4}, rm.cache.cached()); diff != "" {
		t.Errorf("cache (-want +got):\n%s", diff)
	}
	get(2)
	get(4)
	get(1) // loads 1 again
	if diff := cmp.Diff(map[int64]int{1: 2, 2: 1, 4: 1}, loader.loads); diff != "" {
		t.Errorf("loads (-want +got):\n%s", diff)
	}

	// Concurrent requests for one version share one load.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := rm.Model(ctx, 3); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if loader.loads[3] != 1 {
		t.Errorf("version 3 loaded %d times, want once", loader.loads[3])
	}

	// A failed load is not cached.
	loader.fail.Store(true)
	if _, err := rm.Model(ctx, 3); err != nil {
		t.Fatalf("cached version 3 failed: %v", err)
	}
	rm.Apply(ctx, committed(5), 5)
	if _, err := rm.Model(ctx, 5); err == nil {
		t.Fatal("Model(5) succeeded with a failing loader")
	}
	loader.fail.Store(false)
	if _, err := rm.Model(ctx, 5); err != nil {
		t.Fatalf("Model(5) after recovery: %v", err)
	}
}

func TestWatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	rm := New((&countingLoader{}).load, 2, nil)
	for n := int64(1); n <= 3; n++ {
		rm.Apply(ctx, committed(n), uint64(n))
	}
	type result struct {
		from int64
		got  []int64
		err  error
	}
	results := make(chan result, 2)
	watch := func(from int64, count int) {
		var got []int64
		wctx, stop := context.WithCancel(ctx)
		defer stop()
		err := rm.Watch(wctx, from, func(v *Version) error {
			got = append(got, v.Number)
			if len(got) == count {
				stop()
			}
			return nil
		})
		results <- result{from, got, err}
	}
	var wg sync.WaitGroup
	wg.Go(func() { watch(2, 3) }) // replays 2, 3, then sees 4
	wg.Go(func() { watch(0, 1) }) // waits for ready, then sees only 4
	rm.MarkReady(ctx)
	// Version 4 is committed once both watchers have subscribed; committing it repeatedly is
	// harmless (duplicates are ignored), so wait for the condition without sleeping blindly.
	for !watching(rm, 2) {
		select {
		case <-ctx.Done():
			t.Fatal("watchers did not subscribe")
		case <-time.After(time.Millisecond):
		}
	}
	rm.Apply(ctx, committed(4), 4)
	wg.Wait()
	close(results)
	want := map[int64][]int64{2: {2, 3, 4}, 0: {4}}
	for r := range results {
		if !errors.Is(r.err, context.Canceled) {
			t.Errorf("Watch(%d) returned %v, want context.Canceled", r.from, r.err)
		}
		if diff := cmp.Diff(want[r.from], r.got); diff != "" {
			t.Errorf("Watch(%d) (-want +got):\n%s", r.from, diff)
		}
	}
	if err := rm.Watch(ctx, -1, nil); failure.KindOf(err) != failure.InvalidArgument {
		t.Errorf("Watch(-1) = %v, want InvalidArgument", err)
	}
}

// watching reports whether n watchers wait for the next version.
func watching(rm *ReadModel, n int32) bool { return rm.waiting.Load() >= n }
