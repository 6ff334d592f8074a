// Package modelbus is the contract of the control plane's model stream: the MODEL stream and its
// subjects, and the content-addressed snapshot store (a JetStream object store; see
// docs/adr/0003-snapshots-in-jetstream.md). modelsvc and the validator both use it; neither
// imports the other. Reader gives every other service the committed models (by version or
// digest, loaded and cached).
package modelbus

import (
	"context"
	"errors"
	"fmt"
	"time"

	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
)

// Stream and subjects (DESIGN.md §3).
const (
	Stream           = "MODEL"
	SubjectProposed  = "ds.model.proposed." // + proposal id
	SubjectVerdict   = "ds.model.verdict."  // + proposal id
	SubjectCommitted = "ds.model.committed"
	SnapshotBucket   = "DS_SNAPSHOTS"
	// DuplicateWindow is how long JetStream remembers Nats-Msg-Id values.
	DuplicateWindow = time.Hour
)

// DeclareStream creates or updates the MODEL stream: file storage, kept forever.
func DeclareStream(ctx context.Context, js jetstream.JetStream) (jetstream.Stream, error) {
	s, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       Stream,
		Subjects:   []string{"ds.model.>"},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		Discard:    jetstream.DiscardOld,
		MaxAge:     0,
		Duplicates: DuplicateWindow,
	})
	if err != nil {
		return nil, fmt.Errorf("declare stream %s: %w", Stream, err)
	}
	return s, nil
}

// Committed is one committed version read back from the stream.
type Committed struct {
	Event    *eventsv1.ModelCommitted
	Sequence uint64 // stream sequence of the message
}

// LastCommitted returns the newest ds.model.committed message, or nil when nothing is
// committed yet.
func LastCommitted(ctx context.Context, s jetstream.Stream) (*Committed, error) {
	m, err := s.GetLastMsgForSubject(ctx, SubjectCommitted)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read last committed version: %w", err)
	}
	ev := &eventsv1.ModelCommitted{}
	if err := proto.Unmarshal(m.Data, ev); err != nil {
		return nil, fmt.Errorf("decode committed event at sequence %d: %w", m.Sequence, err)
	}
	return &Committed{Event: ev, Sequence: m.Sequence}, nil
}

// Snapshots stores model snapshots by digest.
type Snapshots struct {
	store jetstream.ObjectStore
}

// OpenSnapshots opens (creating if needed) the snapshot bucket.
func OpenSnapshots(ctx context.Context, js jetstream.JetStream) (*Snapshots, error) {
	os, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:  SnapshotBucket,
		Storage: jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("open snapshot store: %w", err)
	}
	return &Snapshots{store: os}, nil
}

// Put stores snap under digest unless it is already there. The caller computes the digest from
// the same files (model/load), so equal digests mean equal content.
func (s *Snapshots) Put(ctx context.Context, digest string, snap *modelv1.Snapshot) error {
	if _, err := s.store.GetInfo(ctx, digest); err == nil {
		return nil
	} else if !errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("look up snapshot %s: %w", digest, err)
	}
	data, err := proto.Marshal(snap)
	if err != nil {
		return fmt.Errorf("marshal snapshot: %w", err)
	}
	if _, err := s.store.PutBytes(ctx, digest, data); err != nil {
		return fmt.Errorf("store snapshot %s: %w", digest, err)
	}
	return nil
}

// ErrSnapshotNotFound is returned by Get for an unknown digest.
var ErrSnapshotNotFound = errors.New("snapshot not found")

// Get returns the snapshot stored under digest.
func (s *Snapshots) Get(ctx context.Context, digest string) (*modelv1.Snapshot, error) {
	data, err := s.store.GetBytes(ctx, digest)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrSnapshotNotFound, digest)
	}
	if err != nil {
		return nil, fmt.Errorf("read snapshot %s: %w", digest, err)
	}
	snap := &modelv1.Snapshot{}
	if err := proto.Unmarshal(data, snap); err != nil {
		return nil, fmt.Errorf("decode snapshot %s: %w", digest, err)
	}
	return snap, nil
}
