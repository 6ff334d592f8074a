// Package models gives the scheduler the committed models: the newest committed version (the
// last ds.model.committed message of the MODEL stream) and the canonical model of a version,
// loaded from its snapshot in the content-addressed store and cached by digest.
package models

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/datasurface/datasurface/kit/modelbus"
	"github.com/datasurface/datasurface/model/load"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/nats-io/nats.go/jetstream"
)

// Snapshots reads stored snapshots (kit/modelbus.Snapshots).
type Snapshots interface {
	Get(ctx context.Context, digest string) (*modelv1.Snapshot, error)
}

// Source loads committed models.
type Source struct {
	stream    jetstream.Stream // MODEL; nil: Latest reports only what Remember was told
	snapshots Snapshots
	keep      int

	mu      sync.Mutex
	cache   map[string]*modelv1.Model // by digest
	order   []string                  // digests, oldest first
	digests map[int64]string          // version → digest seen
	latestV int64
	latestD string
}

// New returns a source over the MODEL stream and the snapshot store keeping up to keep loaded
// models (default 4).
func New(stream jetstream.Stream, snapshots Snapshots, keep int) *Source {
	if keep <= 0 {
		keep = 4
	}
	return &Source{stream: stream, snapshots: snapshots, keep: keep, cache: map[string]*modelv1.Model{}, digests: map[int64]string{}}
}

// Remember records that version v has snapshot digest d (from a ds.model.committed event).
func (s *Source) Remember(v int64, d string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.digests[v] = d
	if v > s.latestV {
		s.latestV, s.latestD = v, d
	}
}

// Latest returns the newest committed version and digest (0, "" when none).
func (s *Source) Latest(ctx context.Context) (int64, string, error) {
	if s.stream != nil {
		c, err := modelbus.LastCommitted(ctx, s.stream)
		if err != nil {
			return 0, "", err
		}
		if c != nil {
			s.Remember(c.Event.GetVersion(), c.Event.GetDigest())
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latestV, s.latestD, nil
}

// Model returns the canonical model of version v with snapshot digest d (d may be "" for a
// version this source has seen).
func (s *Source) Model(ctx context.Context, v int64, d string) (*modelv1.Model, error) {
	s.mu.Lock()
	if d == "" {
		d = s.digests[v]
	}
	m := s.cache[d]
	s.mu.Unlock()
	if d == "" {
		return nil, fmt.Errorf("model version %d: digest unknown", v)
	}
	if m != nil {
		return m, nil
	}
	snap, err := s.snapshots.Get(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("model version %d: %w", v, err)
	}
	m, err = Load(snap)
	if err != nil {
		return nil, fmt.Errorf("model version %d (%s): %w", v, d, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.cache[d]; !ok {
		s.cache[d] = m
		s.order = append(s.order, d)
		if len(s.order) > s.keep {
			delete(s.cache, s.order[0])
			s.order = s.order[1:]
		}
	}
	return m, nil
}

// Load loads a snapshot's canonical model. A committed snapshot passed the gate, so a missing
// model is an error.
func Load(snap *modelv1.Snapshot) (*modelv1.Model, error) {
	files := make([]load.File, 0, len(snap.GetFiles()))
	for _, f := range snap.GetFiles() {
		files = append(files, load.File{Path: f.GetPath(), Content: f.GetContent()})
	}
	res, err := load.Files(files, load.Options{})
	if err != nil {
		return nil, fmt.Errorf("load snapshot: %w", err)
	}
	if res.Model == nil {
		return nil, errors.New("load snapshot: no model")
	}
	return res.Model, nil
}
