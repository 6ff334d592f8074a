// Package propose owns the proposal side of modelsvc: accepting an authenticated snapshot (store
// it content-addressed, record the proposal, then announce ds.model.proposed.<id>), the outbox
// loop that republishes proposals whose announcement was lost, and recording the validator's
// verdicts.
package propose

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/datasurface/datasurface/kit/events"
	"github.com/datasurface/datasurface/kit/modelbus"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/modelsvc/internal/failure"
	"github.com/datasurface/datasurface/services/modelsvc/internal/intake"
	"github.com/datasurface/datasurface/services/modelsvc/internal/proposals"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// MaxCommitBytes bounds the optional git commit of a proposal.
const MaxCommitBytes = 256

// Proposer accepts proposals.
type Proposer struct {
	store     *proposals.Store
	js        jetstream.JetStream
	log       *slog.Logger
	digest    func(*modelv1.Snapshot) (string, error)
	now       func() time.Time
	snapshots atomic.Pointer[modelbus.Snapshots]
	// publishTimeout bounds one publish after the row is durable.
	publishTimeout time.Duration
}

// Config wires a Proposer.
type Config struct {
	Store  *proposals.Store
	JS     jetstream.JetStream
	Log    *slog.Logger
	Digest func(*modelv1.Snapshot) (string, error)
	Now    func() time.Time
}

// New returns a Proposer; it refuses proposals until Start gives it the snapshot store.
func New(c Config) *Proposer {
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Proposer{store: c.Store, js: c.JS, log: c.Log, digest: c.Digest, now: c.Now, publishTimeout: 10 * time.Second}
}

// Start makes the proposer accept proposals, storing snapshots in snaps.
func (p *Proposer) Start(snaps *modelbus.Snapshots) { p.snapshots.Store(snaps) }

// Proposed is the outcome of Propose.
type Proposed struct {
	ID     string
	Digest string
}

// Propose records a proposal from an authenticated source. snap must already have passed
// intake.CheckSnapshot (or come from intake.ReadArchive). The snapshot is stored and the row
// inserted before ds.model.proposed.<id> is published; when the publish fails the proposal still
// stands and the outbox loop publishes it later.
func (p *Proposer) Propose(ctx context.Context, source, commit string, snap *modelv1.Snapshot) (Proposed, error) {
	snaps := p.snapshots.Load()
	if snaps == nil {
		return Proposed{}, failure.Unavailablef("modelsvc is starting; try again shortly")
	}
	if err := checkCommit(commit); err != nil {
		return Proposed{}, err
	}
	snap = intake.Sorted(snap)
	digest, err := p.digest(snap)
	if err != nil {
		return Proposed{}, err
	}
	if err := snaps.Put(ctx, digest, snap); err != nil {
		return Proposed{}, err
	}
	now := p.now().UTC().Truncate(time.Microsecond) // Postgres keeps microseconds
	row := proposals.Proposal{ID: intake.NewID(now), Source: source, Digest: digest, Commit: commit, ProposedAt: now}
	if err := p.store.Insert(ctx, row); err != nil {
		return Proposed{}, err
	}
	// The proposal is durable: finish announcing it even if the caller goes away.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.publishTimeout)
	defer cancel()
	if err := p.publish(pctx, row); err != nil {
		p.log.WarnContext(ctx, "proposal stored but not yet announced; the outbox will retry", "proposal", row.ID, "err", err)
	}
	p.log.InfoContext(ctx, "proposal recorded", "proposal", row.ID, "source", source, "digest", digest, "files", len(snap.GetFiles()))
	return Proposed{ID: row.ID, Digest: digest}, nil
}

func checkCommit(c string) error {
	if len(c) > MaxCommitBytes {
		return failure.Invalid("commit", "commit is longer than %d bytes", MaxCommitBytes)
	}
	for _, r := range c {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return failure.Invalid("commit", "commit %q may hold only printable characters without spaces", c)
		}
	}
	return nil
}

// publish announces one stored proposal and marks it published.
func (p *Proposer) publish(ctx context.Context, row proposals.Proposal) error {
	ev := &eventsv1.ModelProposed{
		ProposalId: row.ID,
		Source:     row.Source,
		Digest:     row.Digest,
		Commit:     row.Commit,
		ProposedAt: timestamppb.New(row.ProposedAt),
	}
	if _, err := events.Publish(ctx, p.js, modelbus.SubjectProposed+row.ID, row.ID, ev); err != nil {
		return err
	}
	return p.store.MarkPublished(ctx, row.ID)
}

// RunOutbox republishes unpublished proposals at start and then every interval until ctx ends.
// A republished event carries the same Nats-Msg-Id, so the stream drops it when the first publish
// did arrive.
func (p *Proposer) RunOutbox(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		p.flush(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

const outboxBatch = 100

func (p *Proposer) flush(ctx context.Context) {
	for ctx.Err() == nil {
		rows, err := p.store.Unpublished(ctx, outboxBatch)
		if err != nil {
			if ctx.Err() == nil {
				p.log.WarnContext(ctx, "outbox: list unpublished proposals", "err", err)
			}
			return
		}
		for _, row := range rows {
			if err := p.publish(ctx, row); err != nil {
				if ctx.Err() == nil {
					p.log.WarnContext(ctx, "outbox: republish failed", "proposal", row.ID, "err", err)
				}
				return
			}
			p.log.InfoContext(ctx, "outbox: proposal announced", "proposal", row.ID)
		}
		if len(rows) < outboxBatch {
			return
		}
	}
}

// HandleVerdict records a ds.model.verdict.<id> event (an events.Handler). Redelivery is
// harmless: the update is level-based.
func (p *Proposer) HandleVerdict(ctx context.Context, e events.Event) error {
	v := &eventsv1.ModelVerdict{}
	if err := e.Decode(v); err != nil {
		return err
	}
	if v.GetProposalId() == "" {
		return events.Permanent(fmt.Errorf("verdict event %s has no proposal id", e.ID))
	}
	found, err := p.store.ApplyVerdict(ctx, v.GetProposalId(), proposals.Verdict{
		Accepted:    v.GetAccepted(),
		BaseVersion: v.GetBaseVersion(),
		Version:     v.GetVersion(),
		Report:      v.GetReport(),
		DecidedAt:   v.GetDecidedAt().AsTime(),
	})
	if err != nil {
		return err
	}
	if !found {
		p.log.WarnContext(ctx, "verdict for an unknown proposal ignored", "proposal", v.GetProposalId(), "event", e.ID)
		return nil
	}
	p.log.InfoContext(ctx, "verdict recorded", "proposal", v.GetProposalId(), "accepted", v.GetAccepted(), "version", v.GetVersion())
	return nil
}

// Get returns a proposal: InvalidArgument for a malformed id, NotFound for an unknown one.
func (p *Proposer) Get(ctx context.Context, id string) (*modelv1.Proposal, error) {
	if p.snapshots.Load() == nil {
		return nil, failure.Unavailablef("modelsvc is starting; try again shortly")
	}
	if id == "" {
		return nil, failure.Required("proposal_id")
	}
	if !intake.IsID(id) {
		return nil, failure.Invalid("proposal_id", "proposal_id '%s' is not a valid proposal id", id)
	}
	row, err := p.store.Get(ctx, id)
	if errors.Is(err, proposals.ErrNotFound) {
		return nil, failure.NotFoundf("Proposal", id)
	}
	if err != nil {
		return nil, err
	}
	return row.ToProto()
}
