// Package modelsrc gives the security service the committed model of a version: from the
// control plane's MODEL stream (ds.model.committed → digest → snapshot in the snapshot store,
// loaded by kit/modelbus.Reader), or a fixed model for the CLI and tests. Loaded models are
// cached.
package modelsrc

import (
	"context"
	"fmt"
	"sync"

	"github.com/datasurface/datasurface/kit/modelbus"
	"github.com/datasurface/datasurface/model/srcmap"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/nats-io/nats.go/jetstream"
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

// ErrVersionNotFound is returned for a version that is not committed
// (kit/modelbus.ErrVersionNotFound).
var ErrVersionNotFound = modelbus.ErrVersionNotFound

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

// Bus reads committed versions from the MODEL stream and their snapshots: the shared
// kit/modelbus.Reader, created on first use.
type Bus struct {
	JS jetstream.JetStream
	// CacheSize bounds the loaded models kept (default modelbus.DefaultReaderCacheSize).
	CacheSize int

	once sync.Once
	r    *modelbus.Reader
}

func (b *Bus) reader() *modelbus.Reader {
	b.once.Do(func() { b.r = modelbus.NewReaderSize(b.JS, b.CacheSize) })
	return b.r
}

// Head returns the newest committed version number (0 when nothing is committed).
func (b *Bus) Head(ctx context.Context) (int64, error) {
	v, _, err := b.reader().Head(ctx)
	return v, err
}

// Model returns committed version v (0 = the newest).
func (b *Bus) Model(ctx context.Context, v int64) (*Version, error) {
	l, err := b.reader().Load(ctx, v, "")
	if err != nil {
		return nil, err
	}
	return fromLoaded(l), nil
}

// Committed returns the model a ds.model.committed event announces, by its digest.
func (b *Bus) Committed(ctx context.Context, ev *eventsv1.ModelCommitted) (*Version, error) {
	l, err := b.reader().Committed(ctx, ev)
	if err != nil {
		return nil, err
	}
	return fromLoaded(l), nil
}

func fromLoaded(l *modelbus.Loaded) *Version {
	return &Version{Number: l.Version, Digest: l.Digest, Model: l.Model, Source: l.Source}
}
