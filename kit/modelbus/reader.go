package modelbus

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/datasurface/datasurface/model/load"
	"github.com/datasurface/datasurface/model/srcmap"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
)

// ErrVersionNotFound is returned (wrapped: "model version N is not committed") for a model
// version that is not committed.
var ErrVersionNotFound = errors.New("model version is not committed")

// notCommitted is ErrVersionNotFound for one version.
type notCommitted int64

func (e notCommitted) Error() string {
	return fmt.Sprintf("model version %d is not committed", int64(e))
}
func (e notCommitted) Is(target error) bool { return target == ErrVersionNotFound }

// DefaultReaderCacheSize is how many loaded models a Reader keeps unless told otherwise.
const DefaultReaderCacheSize = 4

// Loaded is one committed model version, loaded from its snapshot.
type Loaded struct {
	Version int64
	Digest  string
	Model   *modelv1.Model
	// Source maps object paths of Model to file positions.
	Source *srcmap.Map
}

// Reader gives committed models: it indexes the ds.model.committed events of the MODEL stream
// (version → snapshot digest), loads a version's snapshot from the snapshot store with
// model/load (lenient: a committed snapshot passed the gate, and fields a newer model knows are
// skipped) and keeps the last few loaded models, by digest. Loaded models are shared and must
// not be modified. A Reader is safe for concurrent use; it declares the stream and opens the
// snapshot store on first use.
type Reader struct {
	js   jetstream.JetStream
	size int

	mu      sync.Mutex
	stream  jetstream.Stream
	snaps   *Snapshots
	digests map[int64]string // version → digest, from the events read so far
	next    uint64           // next stream sequence to index
	head    int64
	cache   map[string]*Loaded // by digest
	order   []string           // digests, least recently used first
	loading map[string]*pending
}

type pending struct {
	done chan struct{}
	l    *Loaded
	err  error
}

// NewReader returns a Reader over js keeping DefaultReaderCacheSize loaded models.
func NewReader(js jetstream.JetStream) *Reader {
	return NewReaderSize(js, DefaultReaderCacheSize)
}

// NewReaderSize returns a Reader keeping up to size loaded models (DefaultReaderCacheSize when
// size ≤ 0).
func NewReaderSize(js jetstream.JetStream, size int) *Reader {
	if size <= 0 {
		size = DefaultReaderCacheSize
	}
	return &Reader{js: js, size: size, digests: map[int64]string{}, next: 1,
		cache: map[string]*Loaded{}, loading: map[string]*pending{}}
}

// Model returns the model of committed version v. digest may be "": it is then looked up in
// the MODEL stream. A version that was never committed is ErrVersionNotFound.
func (r *Reader) Model(ctx context.Context, v int64, digest string) (*modelv1.Model, error) {
	l, err := r.Load(ctx, v, digest)
	if err != nil {
		return nil, err
	}
	return l.Model, nil
}

// Latest returns the newest committed version, its digest and model; version 0, "" and a nil
// model when nothing is committed.
func (r *Reader) Latest(ctx context.Context) (version int64, digest string, m *modelv1.Model, err error) {
	v, d, err := r.Head(ctx)
	if err != nil || v == 0 {
		return 0, "", nil, err
	}
	l, err := r.Load(ctx, v, d)
	if err != nil {
		return 0, "", nil, err
	}
	return v, d, l.Model, nil
}

// Head returns the newest committed version and its digest without loading it (0, "" when
// nothing is committed).
func (r *Reader) Head(ctx context.Context) (version int64, digest string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.openLocked(ctx); err != nil {
		return 0, "", err
	}
	if err := r.syncLocked(ctx); err != nil {
		return 0, "", err
	}
	return r.head, r.digests[r.head], nil
}

// Remember records that version v has snapshot digest d, as a ds.model.committed event just
// received says, so a later Model(v, "") needs no stream read.
func (r *Reader) Remember(v int64, d string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rememberLocked(v, d)
}

func (r *Reader) rememberLocked(v int64, d string) {
	if v <= 0 || d == "" {
		return
	}
	r.digests[v] = d
	r.head = max(r.head, v)
}

// Committed loads the version a ds.model.committed event announces.
func (r *Reader) Committed(ctx context.Context, ev *eventsv1.ModelCommitted) (*Loaded, error) {
	return r.Load(ctx, ev.GetVersion(), ev.GetDigest())
}

// Load returns committed version v with its source map; v 0 is the newest committed version.
// digest may be "" (looked up in the MODEL stream); a given digest is trusted (it comes from a
// ds.model.committed event) and remembered for v once its snapshot loaded.
func (r *Reader) Load(ctx context.Context, v int64, digest string) (*Loaded, error) {
	r.mu.Lock()
	if err := r.openLocked(ctx); err != nil {
		r.mu.Unlock()
		return nil, err
	}
	if digest == "" {
		d, ok := r.digests[v]
		if !ok || v == 0 {
			if err := r.syncLocked(ctx); err != nil {
				r.mu.Unlock()
				return nil, err
			}
			if v == 0 {
				v = r.head
			}
			d, ok = r.digests[v]
		}
		if !ok {
			r.mu.Unlock()
			return nil, notCommitted(v)
		}
		digest = d
	}
	if l, ok := r.cache[digest]; ok {
		r.touchLocked(digest)
		r.mu.Unlock()
		return withVersion(l, v), nil
	}
	p, busy := r.loading[digest]
	if !busy {
		p = &pending{done: make(chan struct{})}
		r.loading[digest] = p
	}
	snaps := r.snaps
	r.mu.Unlock()

	if busy {
		select {
		case <-p.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if p.err != nil {
			return nil, p.err
		}
		return withVersion(p.l, v), nil
	}
	p.l, p.err = loadSnapshot(ctx, snaps, v, digest)
	r.mu.Lock()
	delete(r.loading, digest)
	if p.err == nil {
		r.rememberLocked(v, digest)
		r.cache[digest] = p.l
		r.touchLocked(digest)
		for len(r.order) > r.size {
			delete(r.cache, r.order[0])
			r.order = r.order[1:]
		}
	}
	r.mu.Unlock()
	close(p.done)
	return p.l, p.err
}

// withVersion returns l numbered v: two versions may share a snapshot (a commit that changed
// nothing), and the caller asked for v.
func withVersion(l *Loaded, v int64) *Loaded {
	if l.Version == v {
		return l
	}
	c := *l
	c.Version = v
	return &c
}

func (r *Reader) touchLocked(digest string) {
	for i, d := range r.order {
		if d == digest {
			r.order = append(r.order[:i], r.order[i+1:]...)
			break
		}
	}
	r.order = append(r.order, digest)
}

func (r *Reader) openLocked(ctx context.Context) error {
	if r.stream != nil {
		return nil
	}
	s, err := DeclareStream(ctx, r.js)
	if err != nil {
		return err
	}
	snaps, err := OpenSnapshots(ctx, r.js)
	if err != nil {
		return err
	}
	r.stream, r.snaps = s, snaps
	return nil
}

// syncLocked indexes the committed events after the last one read.
func (r *Reader) syncLocked(ctx context.Context) error {
	last, err := LastCommitted(ctx, r.stream)
	if err != nil || last == nil {
		return err
	}
	for r.next <= last.Sequence {
		m, err := r.stream.GetMsg(ctx, r.next, jetstream.WithGetMsgSubject(SubjectCommitted))
		if err != nil {
			return fmt.Errorf("read committed history from stream sequence %d: %w", r.next, err)
		}
		ev := &eventsv1.ModelCommitted{}
		if err := proto.Unmarshal(m.Data, ev); err != nil {
			return fmt.Errorf("decode committed event at stream sequence %d: %w", m.Sequence, err)
		}
		r.rememberLocked(ev.GetVersion(), ev.GetDigest())
		r.next = m.Sequence + 1
	}
	return nil
}

// loadSnapshot reads and loads the snapshot of version v.
func loadSnapshot(ctx context.Context, snaps *Snapshots, v int64, digest string) (*Loaded, error) {
	snap, err := snaps.Get(ctx, digest)
	if err != nil {
		return nil, fmt.Errorf("model version %d: %w", v, err)
	}
	m, src, err := LoadSnapshot(snap)
	if err != nil {
		return nil, fmt.Errorf("model version %d (%s): %w", v, digest, err)
	}
	return &Loaded{Version: v, Digest: digest, Model: m, Source: src}, nil
}

// LoadSnapshot loads a committed snapshot's canonical model and source map (lenient).
func LoadSnapshot(snap *modelv1.Snapshot) (*modelv1.Model, *srcmap.Map, error) {
	files := make([]load.File, 0, len(snap.GetFiles()))
	for _, f := range snap.GetFiles() {
		files = append(files, load.File{Path: f.GetPath(), Content: f.GetContent()})
	}
	res, err := load.Files(files, load.Options{Lenient: true})
	if err != nil {
		return nil, nil, fmt.Errorf("load snapshot: %w", err)
	}
	if res.Model == nil {
		return nil, nil, errors.New("load snapshot: no model")
	}
	return res.Model, res.Source, nil
}
