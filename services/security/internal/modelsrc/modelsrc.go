// Package modelsrc gives the security service the committed model of a version: from the
// control plane's MODEL stream (ds.model.committed → digest → snapshot in the snapshot store,
// loaded with model/load), or a fixed model for the CLI and tests. Loaded models are cached.
package modelsrc

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/datasurface/datasurface/kit/modelbus"
	"github.com/datasurface/datasurface/model/load"
	"github.com/datasurface/datasurface/model/srcmap"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
)

// Version is one committed model.
type Version struct {
	Number int64
	Digest string
	Model  *modelv1.Model
	// Source maps object paths to positions (nil when unknown).
	Source *srcmap.Map
}

// Source gives committed models; version 0 asks for the newest.
type Source interface {
	Model(ctx context.Context, version int64) (*Version, error)
}

// ErrVersionNotFound is returned for a version that is not committed.
var ErrVersionNotFound = errors.New("model version not found")

// Static is one fixed model.
type Static struct {
	V *Version
}

// Model returns the fixed model for version 0 or its own number.
func (s Static) Model(_ context.Context, v int64) (*Version, error) {
	if s.V == nil || (v != 0 && v != s.V.Number) {
		return nil, fmt.Errorf("%w: %d", ErrVersionNotFound, v)
	}
	return s.V, nil
}

// Bus reads committed versions from the MODEL stream and their snapshots.
type Bus struct {
	JS jetstream.JetStream
	// CacheSize bounds the loaded models kept (default 4).
	CacheSize int

	mu      sync.Mutex
	stream  jetstream.Stream
	snaps   *modelbus.Snapshots
	digests map[int64]string
	next    uint64
	head    int64
	cache   map[int64]*Version
	order   []int64
}

func (b *Bus) open(ctx context.Context) error {
	if b.stream != nil {
		return nil
	}
	s, err := modelbus.DeclareStream(ctx, b.JS)
	if err != nil {
		return err
	}
	snaps, err := modelbus.OpenSnapshots(ctx, b.JS)
	if err != nil {
		return err
	}
	b.stream, b.snaps, b.digests, b.next, b.cache = s, snaps, map[int64]string{}, 1, map[int64]*Version{}
	return nil
}

// sync indexes the committed events after the last one read.
func (b *Bus) sync(ctx context.Context) error {
	last, err := modelbus.LastCommitted(ctx, b.stream)
	if err != nil {
		return err
	}
	if last == nil {
		return nil
	}
	for b.next <= last.Sequence {
		m, err := b.stream.GetMsg(ctx, b.next, jetstream.WithGetMsgSubject(modelbus.SubjectCommitted))
		if err != nil {
			return fmt.Errorf("read committed history from stream sequence %d: %w", b.next, err)
		}
		ev := &eventsv1.ModelCommitted{}
		if err := proto.Unmarshal(m.Data, ev); err != nil {
			return fmt.Errorf("decode committed event at stream sequence %d: %w", m.Sequence, err)
		}
		b.digests[ev.GetVersion()] = ev.GetDigest()
		b.head = max(b.head, ev.GetVersion())
		b.next = m.Sequence + 1
	}
	return nil
}

// Head returns the newest committed version number (0 when nothing is committed).
func (b *Bus) Head(ctx context.Context) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.open(ctx); err != nil {
		return 0, err
	}
	if err := b.sync(ctx); err != nil {
		return 0, err
	}
	return b.head, nil
}

// Model returns committed version v (0 = the newest).
func (b *Bus) Model(ctx context.Context, v int64) (*Version, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.open(ctx); err != nil {
		return nil, err
	}
	if mv, ok := b.cache[v]; ok && v != 0 {
		return mv, nil
	}
	if _, ok := b.digests[v]; !ok || v == 0 {
		if err := b.sync(ctx); err != nil {
			return nil, err
		}
	}
	if v == 0 {
		v = b.head
	}
	digest, ok := b.digests[v]
	if !ok {
		return nil, fmt.Errorf("%w: %d", ErrVersionNotFound, v)
	}
	if mv, ok := b.cache[v]; ok {
		return mv, nil
	}
	mv, err := b.loadLocked(ctx, v, digest)
	if err != nil {
		return nil, err
	}
	return mv, nil
}

// Committed returns the model a ds.model.committed event announces, by its digest.
func (b *Bus) Committed(ctx context.Context, ev *eventsv1.ModelCommitted) (*Version, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.open(ctx); err != nil {
		return nil, err
	}
	if mv, ok := b.cache[ev.GetVersion()]; ok && mv.Digest == ev.GetDigest() {
		return mv, nil
	}
	b.digests[ev.GetVersion()] = ev.GetDigest()
	b.head = max(b.head, ev.GetVersion())
	return b.loadLocked(ctx, ev.GetVersion(), ev.GetDigest())
}

func (b *Bus) loadLocked(ctx context.Context, v int64, digest string) (*Version, error) {
	snap, err := b.snaps.Get(ctx, digest)
	if err != nil {
		return nil, fmt.Errorf("model version %d: %w", v, err)
	}
	files := make([]load.File, 0, len(snap.GetFiles()))
	for _, f := range snap.GetFiles() {
		files = append(files, load.File{Path: f.GetPath(), Content: f.GetContent()})
	}
	res, err := load.Files(files, load.Options{Lenient: true})
	if err != nil {
		return nil, fmt.Errorf("load model version %d: %w", v, err)
	}
	mv := &Version{Number: v, Digest: digest, Model: res.Model, Source: res.Source}
	size := b.CacheSize
	if size <= 0 {
		size = 4
	}
	if len(b.order) >= size {
		delete(b.cache, b.order[0])
		b.order = b.order[1:]
	}
	b.cache[v] = mv
	b.order = append(b.order, v)
	return mv, nil
}
