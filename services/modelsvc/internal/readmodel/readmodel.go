// Package readmodel is modelsvc's materialised view of the committed model history: it replays
// ds.model.committed from the start of the MODEL stream and keeps following it, keeps every
// committed version's metadata and change set in memory, loads the model of a version on demand
// (an LRU of loaded models and their indexes, the latest always kept), and lets callers watch new
// versions. A restart replays the same stream and so rebuilds the same view.
package readmodel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/datasurface/datasurface/kit/events"
	"github.com/datasurface/datasurface/kit/modelbus"
	"github.com/datasurface/datasurface/model/index"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/modelsvc/internal/failure"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Version is one committed model version.
type Version struct {
	Number      int64
	Digest      string
	CommittedAt time.Time
	Source      string
	ProposalID  string
	Changes     []*modelv1.Change
	// Sequence is the MODEL stream sequence of the committed event.
	Sequence uint64
}

// Proto returns the API's ModelVersion.
func (v *Version) Proto() *modelv1.ModelVersion {
	return &modelv1.ModelVersion{
		Number:      v.Number,
		Digest:      v.Digest,
		CommittedAt: timestamppb.New(v.CommittedAt),
		Source:      v.Source,
	}
}

// ChangesProto returns copies of the version's changes.
func (v *Version) ChangesProto() []*modelv1.Change {
	out := make([]*modelv1.Change, len(v.Changes))
	for i, c := range v.Changes {
		out[i] = proto.CloneOf(c)
	}
	return out
}

// Loaded is a version's model with its index.
type Loaded struct {
	Version *Version
	Model   *modelv1.Model
	Index   *index.Index
}

// Loader returns the canonical model of a committed version (from the snapshot store).
type Loader func(ctx context.Context, v *Version) (*modelv1.Model, error)

// ReadModel is the view. Its zero value is not usable; call New.
type ReadModel struct {
	log  *slog.Logger
	load Loader

	mu       sync.Mutex
	versions []*Version // ascending by Number
	ready    bool
	readyCh  chan struct{}
	changed  chan struct{} // closed and replaced on every new version
	cache    *lru
	// waiting counts watchers blocked until the next version.
	waiting atomic.Int32
	// stopped is closed when Follow returns, ending every watch.
	stopped  chan struct{}
	stopOnce sync.Once
}

// New returns an empty, not yet ready read model that keeps up to cacheVersions loaded models.
func New(load Loader, cacheVersions int, log *slog.Logger) *ReadModel {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &ReadModel{
		log:     log,
		load:    load,
		readyCh: make(chan struct{}),
		changed: make(chan struct{}),
		stopped: make(chan struct{}),
		cache:   newLRU(max(cacheVersions, 1)),
	}
}

// Follow replays ds.model.committed from the beginning of stream with an ordered consumer and
// follows it until ctx ends. The model becomes ready once it has seen the last committed event
// that existed when Follow started (at once when there was none). When Follow returns, every
// watch ends (the service is stopping).
func (r *ReadModel) Follow(ctx context.Context, stream jetstream.Stream) error {
	defer r.Stop()
	last, err := modelbus.LastCommitted(ctx, stream)
	if err != nil {
		return err
	}
	var target uint64
	if last != nil {
		target = last.Sequence
	} else {
		r.MarkReady(ctx)
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{modelbus.SubjectCommitted},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("follow %s: %w", modelbus.SubjectCommitted, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("follow %s: %w", modelbus.SubjectCommitted, err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	for {
		msg, err := it.Next()
		if err != nil {
			switch {
			case ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed):
				return nil
			case errors.Is(err, nats.ErrConnectionClosed):
				return fmt.Errorf("follow %s: %w", modelbus.SubjectCommitted, err)
			}
			// The ordered consumer recreates itself after gaps and reconnects; do not spin.
			r.log.WarnContext(ctx, "reading committed versions", "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		md, err := msg.Metadata()
		if err != nil {
			r.log.ErrorContext(ctx, "committed event without metadata skipped", "err", err)
			continue
		}
		ev := &eventsv1.ModelCommitted{}
		if err := decode(msg, ev); err != nil {
			r.log.ErrorContext(ctx, "undecodable committed event skipped", "sequence", md.Sequence.Stream, "err", err)
		} else {
			r.Apply(ctx, ev, md.Sequence.Stream)
		}
		if md.Sequence.Stream >= target {
			r.MarkReady(ctx)
		}
	}
}

// decode unmarshals a committed event, checking its type header when it has one.
func decode(msg jetstream.Msg, ev *eventsv1.ModelCommitted) error {
	if msg.Headers().Get(events.HeaderType) == "" {
		return proto.Unmarshal(msg.Data(), ev)
	}
	return events.Event{Type: msg.Headers().Get(events.HeaderType), Data: msg.Data(), ID: msg.Headers().Get(jetstream.MsgIDHeader)}.Decode(ev)
}

// Apply adds one committed event. Versions at or below the newest known one are duplicates and
// ignored; a gap is logged (versions are consecutive by contract) but the version is kept.
func (r *ReadModel) Apply(ctx context.Context, ev *eventsv1.ModelCommitted, seq uint64) {
	v := &Version{
		Number:      ev.GetVersion(),
		Digest:      ev.GetDigest(),
		CommittedAt: ev.GetCommittedAt().AsTime(),
		Source:      ev.GetSource(),
		ProposalID:  ev.GetProposalId(),
		Changes:     ev.GetChanges(),
		Sequence:    seq,
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var newest int64
	if n := len(r.versions); n > 0 {
		newest = r.versions[n-1].Number
	}
	if v.Number <= newest {
		r.log.WarnContext(ctx, "duplicate committed version ignored", "version", v.Number, "newest", newest, "sequence", seq)
		return
	}
	if v.Number != newest+1 {
		r.log.ErrorContext(ctx, "gap in committed versions", "version", v.Number, "newest", newest, "sequence", seq)
	}
	r.versions = append(r.versions, v)
	r.cache.setLatest(v.Number)
	close(r.changed)
	r.changed = make(chan struct{})
	if r.ready {
		r.log.InfoContext(ctx, "model version committed", "version", v.Number, "digest", v.Digest, "source", v.Source, "changes", len(v.Changes))
	}
}

// MarkReady declares the read model caught up. Follow calls it; tests that Apply versions
// themselves call it too.
func (r *ReadModel) MarkReady(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ready {
		return
	}
	r.ready = true
	close(r.readyCh)
	var latest int64
	if n := len(r.versions); n > 0 {
		latest = r.versions[n-1].Number
	}
	r.log.InfoContext(ctx, "read model caught up", "latest", latest)
}

// Ready returns nil once the committed stream has been replayed up to where it was at start.
func (r *ReadModel) Ready() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ready {
		return errors.New("replaying committed model versions")
	}
	return nil
}

// Waiting returns the number of watchers blocked until the next version.
func (r *ReadModel) Waiting() int { return int(r.waiting.Load()) }

// Stop ends every current and future watch.
func (r *ReadModel) Stop() { r.stopOnce.Do(func() { close(r.stopped) }) }

func errStopping() error { return failure.Unavailablef("modelsvc is stopping") }

// WaitReady blocks until the model is ready or ctx ends.
func (r *ReadModel) WaitReady(ctx context.Context) error {
	select {
	case <-r.readyCh:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-r.stopped:
		return errStopping()
	}
}

// Latest returns the newest version: Unavailable before the replay caught up or while nothing
// is committed.
func (r *ReadModel) Latest() (*Version, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.latestLocked()
}

func (r *ReadModel) latestLocked() (*Version, error) {
	if !r.ready {
		return nil, failure.Unavailablef("the model history is still being replayed")
	}
	if len(r.versions) == 0 {
		return nil, failure.Unavailablef("no model version has been committed yet")
	}
	return r.versions[len(r.versions)-1], nil
}

// Version returns version n (0 = latest): InvalidArgument for a negative n, VersionNotFound for
// one that was never committed, Unavailable as Latest.
func (r *ReadModel) Version(n int64) (*Version, error) {
	if n < 0 {
		return nil, failure.Invalid("version", "version must not be negative (0 = latest)")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	latest, err := r.latestLocked()
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return latest, nil
	}
	if v := r.findLocked(n); v != nil {
		return v, nil
	}
	return nil, failure.NoVersion(n, latest.Number)
}

func (r *ReadModel) findLocked(n int64) *Version {
	i, ok := slices.BinarySearchFunc(r.versions, n, func(v *Version, n int64) int { return compare(v.Number, n) })
	if !ok {
		return nil
	}
	return r.versions[i]
}

func compare(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Versions returns the versions with Number ≤ below (0 = all), newest first, at most limit of
// them, and whether older ones remain. It is Unavailable like Latest.
func (r *ReadModel) Versions(below int64, limit int) ([]*Version, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.latestLocked(); err != nil {
		return nil, false, err
	}
	end := len(r.versions)
	if below > 0 {
		end, _ = slices.BinarySearchFunc(r.versions, below+1, func(v *Version, n int64) int { return compare(v.Number, n) })
	}
	start := max(end-limit, 0)
	out := slices.Clone(r.versions[start:end])
	slices.Reverse(out)
	return out, start > 0, nil
}

// Model returns the loaded model of version n (0 = latest), loading it when it is not cached.
func (r *ReadModel) Model(ctx context.Context, n int64) (*Loaded, error) {
	v, err := r.Version(n)
	if err != nil {
		return nil, err
	}
	return r.cache.get(ctx, v, func(ctx context.Context) (*Loaded, error) {
		start := time.Now()
		m, err := r.load(ctx, v)
		if err != nil {
			return nil, fmt.Errorf("load model version %d (%s): %w", v.Number, v.Digest, err)
		}
		l := &Loaded{Version: v, Model: m, Index: index.New(m)}
		r.log.InfoContext(ctx, "model version loaded", "version", v.Number, "took", time.Since(start))
		return l, nil
	})
}

// Watch calls fn for every version with Number ≥ from, in order, then for every new version as
// it is committed, until ctx ends (returning ctx.Err()), the read model stops (Unavailable) or fn
// fails. from 0 means only versions committed after the replay caught up.
func (r *ReadModel) Watch(ctx context.Context, from int64, fn func(*Version) error) error {
	if from < 0 {
		return failure.Invalid("from_version", "from_version must not be negative (0 = only new versions)")
	}
	if from == 0 {
		if err := r.WaitReady(ctx); err != nil {
			return err
		}
		r.mu.Lock()
		from = 1
		if n := len(r.versions); n > 0 {
			from = r.versions[n-1].Number + 1
		}
		r.mu.Unlock()
	}
	next := from
	for {
		r.mu.Lock()
		i, _ := slices.BinarySearchFunc(r.versions, next, func(v *Version, n int64) int { return compare(v.Number, n) })
		pending := slices.Clone(r.versions[i:])
		changed := r.changed
		r.mu.Unlock()
		for _, v := range pending {
			if err := fn(v); err != nil {
				return err
			}
			next = v.Number + 1
		}
		if len(pending) > 0 {
			continue
		}
		r.waiting.Add(1)
		select {
		case <-ctx.Done():
			r.waiting.Add(-1)
			return ctx.Err()
		case <-r.stopped:
			r.waiting.Add(-1)
			return errStopping()
		case <-changed:
			r.waiting.Add(-1)
		}
	}
}
