// Package history is the validator's view of the committed model history: the index of every
// ds.model.committed message (version, digest, proposal, stream sequence), read incrementally
// from the MODEL stream; the snapshots the versions name; and their loaded models.
//
// Memory stays bounded by what the history contains, not by versions × model size: a small LRU
// holds fully loaded models (the bases of checks), and for the name-reuse and TRANSITIVE checks
// each version is kept only as a datastores-only projection whose datastores are interned by
// content, so a datastore unchanged over a thousand versions is held once. Models are loaded
// lazily, on the first check that needs them, and reloaded from the snapshot store on demand.
package history

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/datasurface/datasurface/kit/events"
	"github.com/datasurface/datasurface/kit/modelbus"
	"github.com/datasurface/datasurface/model/compat"
	"github.com/datasurface/datasurface/model/load"
	"github.com/datasurface/datasurface/model/problem"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
)

// Version is one committed model version.
type Version struct {
	Number     int64
	Digest     string
	ProposalID string
	// Sequence is the stream sequence of its ds.model.committed message.
	Sequence uint64
}

// ErrUnusable says a committed snapshot cannot be loaded at all (its file list is invalid).
var ErrUnusable = errors.New("committed snapshot cannot be loaded")

// Store reads the committed history. It is safe for concurrent use.
type Store struct {
	stream jetstream.Stream
	snaps  *modelbus.Snapshots
	log    *slog.Logger

	mu         sync.Mutex // guards the index
	versions   []Version  // ascending by Sequence (and Number)
	byProposal map[string]int
	byNumber   map[int64]int
	next       uint64 // first stream sequence not read yet

	cacheMu     sync.Mutex // guards the loaded models
	bases       *lru
	projections map[string]*modelv1.Model // by digest; nil = unusable as history (skipped)
	interned    map[[sha256.Size]byte]*modelv1.Datastore
}

// New returns a store over the MODEL stream and the snapshot store that keeps cacheSize fully
// loaded models.
func New(stream jetstream.Stream, snaps *modelbus.Snapshots, cacheSize int, log *slog.Logger) *Store {
	return &Store{
		stream:      stream,
		snaps:       snaps,
		log:         log,
		byProposal:  map[string]int{},
		byNumber:    map[int64]int{},
		next:        1,
		bases:       newLRU(cacheSize),
		projections: map[string]*modelv1.Model{},
		interned:    map[[sha256.Size]byte]*modelv1.Datastore{},
	}
}

// Head returns the newest committed version (modelbus.LastCommitted), or nil when nothing is
// committed yet, after reading the index up to it: ByProposal and ByNumber then answer for
// every version up to the head.
func (s *Store) Head(ctx context.Context) (*Version, error) {
	last, err := modelbus.LastCommitted(ctx, s.stream)
	if err != nil {
		return nil, err
	}
	if last == nil {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.syncLocked(ctx, last.Sequence); err != nil {
		return nil, err
	}
	i, ok := slices.BinarySearchFunc(s.versions, last.Sequence, func(v Version, seq uint64) int {
		return cmpUint(v.Sequence, seq)
	})
	if !ok {
		return nil, fmt.Errorf("committed version at stream sequence %d is missing from the index", last.Sequence)
	}
	v := s.versions[i]
	return &v, nil
}

// syncLocked reads the ds.model.committed messages after the last one read, up to stream
// sequence upTo.
func (s *Store) syncLocked(ctx context.Context, upTo uint64) error {
	for s.next <= upTo {
		m, err := s.stream.GetMsg(ctx, s.next, jetstream.WithGetMsgSubject(modelbus.SubjectCommitted))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return fmt.Errorf("committed history ends at stream sequence %d, before %d", s.next-1, upTo)
		}
		if err != nil {
			return fmt.Errorf("read committed history from stream sequence %d: %w", s.next, err)
		}
		if t := m.Header.Get(events.HeaderType); t != "" && t != string((&eventsv1.ModelCommitted{}).ProtoReflect().Descriptor().FullName()) {
			return fmt.Errorf("committed event at stream sequence %d has type %q", m.Sequence, t)
		}
		ev := &eventsv1.ModelCommitted{}
		if err := proto.Unmarshal(m.Data, ev); err != nil {
			return fmt.Errorf("decode committed event at stream sequence %d: %w", m.Sequence, err)
		}
		s.add(Version{Number: ev.GetVersion(), Digest: ev.GetDigest(), ProposalID: ev.GetProposalId(), Sequence: m.Sequence})
		s.next = m.Sequence + 1
	}
	return nil
}

func (s *Store) add(v Version) {
	if n := len(s.versions); n > 0 && v.Number != s.versions[n-1].Number+1 {
		s.log.Error("committed versions are not consecutive", "previous", s.versions[n-1].Number, "version", v.Number, "sequence", v.Sequence)
	}
	s.versions = append(s.versions, v)
	if _, dup := s.byNumber[v.Number]; !dup {
		s.byNumber[v.Number] = len(s.versions) - 1
	}
	if v.ProposalID != "" {
		if _, dup := s.byProposal[v.ProposalID]; dup {
			s.log.Error("proposal committed twice", "proposal", v.ProposalID, "version", v.Number)
		} else {
			s.byProposal[v.ProposalID] = len(s.versions) - 1
		}
	}
}

// ByProposal returns the version that committed proposal id, among the versions read so far.
func (s *Store) ByProposal(id string) (Version, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.byProposal[id]
	if !ok {
		return Version{}, false
	}
	return s.versions[i], true
}

// ByNumber returns version n, among the versions read so far.
func (s *Store) ByNumber(n int64) (Version, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.byNumber[n]
	if !ok {
		return Version{}, false
	}
	return s.versions[i], true
}

// Snapshot returns the stored snapshot of digest (modelbus.ErrSnapshotNotFound when unknown).
func (s *Store) Snapshot(ctx context.Context, digest string) (*modelv1.Snapshot, error) {
	return s.snaps.Get(ctx, digest)
}

// Files converts a snapshot to the loader's input.
func Files(snap *modelv1.Snapshot) []load.File {
	out := make([]load.File, 0, len(snap.GetFiles()))
	for _, f := range snap.GetFiles() {
		out = append(out, load.File{Path: f.GetPath(), Content: f.GetContent()})
	}
	return out
}

// LoadBase loads a snapshot as a base model: leniently, positions on the base side — as
// `datasurface validate` loads --base.
func LoadBase(snap *modelv1.Snapshot) (*load.Result, error) {
	return load.Files(Files(snap), load.Options{Side: problem.Base, Lenient: true})
}

// Base returns the loaded model of committed version v, as a base (LoadBase). Errors wrap
// modelbus.ErrSnapshotNotFound or ErrUnusable when the version cannot be loaded at all.
func (s *Store) Base(ctx context.Context, v Version) (*load.Result, error) {
	s.cacheMu.Lock()
	res, ok := s.bases.get(v.Digest)
	s.cacheMu.Unlock()
	if ok {
		return res, nil
	}
	res, err := s.load(ctx, v)
	if err != nil {
		return nil, err
	}
	s.cacheMu.Lock()
	s.bases.put(v.Digest, res)
	s.cacheMu.Unlock()
	return res, nil
}

// load reads and loads version v without caching it.
func (s *Store) load(ctx context.Context, v Version) (*load.Result, error) {
	snap, err := s.snaps.Get(ctx, v.Digest)
	if err != nil {
		return nil, fmt.Errorf("version %d: %w", v.Number, err)
	}
	res, err := LoadBase(snap)
	if err != nil {
		return nil, fmt.Errorf("version %d: %w: %w", v.Number, ErrUnusable, err)
	}
	if res.Digest != v.Digest {
		s.log.WarnContext(ctx, "committed snapshot has another digest under this loader", "version", v.Number, "committed", v.Digest, "loaded", res.Digest)
	}
	return res, nil
}

// History returns the committed versions up to and including version upTo, newest first, for
// gate.Input.History. base, when not nil, is the loaded model of version upTo and stands for it
// (the compatibility check recognises the base in the history by identity); every other version
// is a datastores-only projection, the only part of a history version the compatibility check
// reads. Versions whose model does not load are left out, as `datasurface validate --history`
// leaves them out.
func (s *Store) History(ctx context.Context, upTo int64, base *load.Result) ([]compat.Version, error) {
	s.mu.Lock()
	var vs []Version
	for _, v := range s.versions {
		if v.Number <= upTo {
			vs = append(vs, v)
		}
	}
	s.mu.Unlock()
	out := make([]compat.Version, 0, len(vs))
	for i := len(vs) - 1; i >= 0; i-- {
		v := vs[i]
		if v.Number == upTo && base != nil {
			out = append(out, compat.Version{Number: v.Number, Model: base.Model})
			continue
		}
		m, err := s.projection(ctx, v)
		if err != nil {
			return nil, err
		}
		if m != nil {
			out = append(out, compat.Version{Number: v.Number, Model: m})
		}
	}
	return out, nil
}

// projection returns the datastores-only model of version v, or nil when v cannot serve as
// history.
func (s *Store) projection(ctx context.Context, v Version) (*modelv1.Model, error) {
	s.cacheMu.Lock()
	m, ok := s.projections[v.Digest]
	if !ok {
		var res *load.Result
		if res, ok = s.bases.peek(v.Digest); ok {
			m = s.projectLocked(res)
			s.projections[v.Digest] = m
		}
	}
	s.cacheMu.Unlock()
	if ok {
		return m, nil
	}
	res, err := s.load(ctx, v)
	switch {
	case errors.Is(err, modelbus.ErrSnapshotNotFound), errors.Is(err, ErrUnusable):
		s.log.WarnContext(ctx, "committed version left out of the history", "version", v.Number, "err", err)
	case err != nil:
		return nil, err
	}
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if res != nil {
		m = s.projectLocked(res)
	}
	s.projections[v.Digest] = m
	return m, nil
}

// projectLocked keeps the datastores of a usable model, interned by content.
func (s *Store) projectLocked(res *load.Result) *modelv1.Model {
	if !usable(res) {
		return nil
	}
	ds := make([]*modelv1.Datastore, 0, len(res.Model.GetDatastores()))
	for _, d := range res.Model.GetDatastores() {
		ds = append(ds, s.internLocked(d))
	}
	return &modelv1.Model{Datastores: ds}
}

func (s *Store) internLocked(d *modelv1.Datastore) *modelv1.Datastore {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(d)
	if err != nil {
		return d
	}
	key := sha256.Sum256(b)
	if have, ok := s.interned[key]; ok {
		return have
	}
	s.interned[key] = d
	return d
}

// usable reports whether a leniently loaded model can serve as history: it parsed and has an
// Ecosystem (the rule of `datasurface validate --history`).
func usable(res *load.Result) bool {
	if res == nil || res.Model.GetEcosystem() == nil {
		return false
	}
	for _, p := range res.Problems {
		if p.Rule.ID == "DS-LOAD-001" {
			return false
		}
	}
	return true
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// lru keeps the most recently used loaded models.
type lru struct {
	size  int
	order []string // most recent last
	items map[string]*load.Result
}

func newLRU(size int) *lru {
	return &lru{size: max(size, 1), items: map[string]*load.Result{}}
}

func (c *lru) get(k string) (*load.Result, bool) {
	v, ok := c.items[k]
	if ok {
		c.touch(k)
	}
	return v, ok
}

func (c *lru) peek(k string) (*load.Result, bool) {
	v, ok := c.items[k]
	return v, ok
}

func (c *lru) put(k string, v *load.Result) {
	if _, ok := c.items[k]; ok {
		c.items[k] = v
		c.touch(k)
		return
	}
	if len(c.order) >= c.size {
		delete(c.items, c.order[0])
		c.order = c.order[1:]
	}
	c.items[k] = v
	c.order = append(c.order, k)
}

func (c *lru) touch(k string) {
	i := slices.Index(c.order, k)
	c.order = append(slices.Delete(c.order, i, i+1), k)
}
