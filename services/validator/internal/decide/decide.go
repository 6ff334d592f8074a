// Package decide turns each proposal (ds.model.proposed.<id>) into a verdict
// (ds.model.verdict.<id>) and, for an accepted change, a commit (ds.model.committed) — the one
// place that publishes commits.
//
// Every decision is tied to the committed head it was made against, so any number of validators
// (one durable consumer shared by several instances, or several durables) decide every proposal
// at most once, commit versions consecutively and never twice:
//
//   - The head is read first, then the proposal's verdict subject: a proposal that has a verdict
//     is decided and is only acknowledged.
//   - A proposal already committed (a crash after the commit, before the verdict) gets its
//     verdict re-published with the committed version; it is never committed again.
//   - A commit is version head+1 published with the head's stream sequence as the expected last
//     sequence of ds.model.committed; a rejection or a "no change" verdict is published with
//     the same expectation. If the head moved in between, the publish fails and the proposal is
//     evaluated again against the new head (errHeadMoved).
//   - Commit before verdict: no verdict announces a version that is not durable.
package decide

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/datasurface/datasurface/kit/events"
	"github.com/datasurface/datasurface/kit/modelbus"
	"github.com/datasurface/datasurface/model/gate"
	"github.com/datasurface/datasurface/model/problem"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/validator/internal/check"
	"github.com/datasurface/datasurface/services/validator/internal/history"
	"github.com/datasurface/datasurface/services/validator/internal/telemetry"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The validator's own gate-level rules: a proposal that cannot be checked at all is rejected with
// one of them (phase "gate"), never dropped.
var (
	RuleSnapshotNotFound = problem.Rule{ID: "DS-GATE-005", Name: "snapshot-not-found", Severity: problem.Error}
	RuleProposalInvalid  = problem.Rule{ID: "DS-GATE-006", Name: "proposal-invalid", Severity: problem.Error}
	RuleBaseUnavailable  = problem.Rule{ID: "DS-GATE-007", Name: "base-unavailable", Severity: problem.Error}
	RuleInternalError    = problem.Rule{ID: "DS-GATE-008", Name: "internal-error", Severity: problem.Error}
)

// maxAttempts bounds the immediate re-evaluations of one delivery when the head keeps moving;
// after that the delivery fails and the consumer redelivers it after its back-off.
const maxAttempts = 5

// errHeadMoved says the committed head changed while a proposal was being decided.
var errHeadMoved = errors.New("the committed head moved")

// Decider decides proposals.
type Decider struct {
	JS      jetstream.JetStream
	Stream  jetstream.Stream
	History *history.Store
	Checker *check.Checker
	Log     *slog.Logger
	Now     func() time.Time
}

// proposal is a decoded ds.model.proposed event.
type proposal struct {
	id, source, digest string
	// invalid, when set, is why the proposal cannot be checked (it is rejected).
	invalid string
}

// Handle decides one proposal event (an events.Handler). It returns nil once the proposal's
// verdict is durable, a retryable error when it could not get there (the consumer redelivers),
// and a permanent error only for an event that names no usable proposal id.
func (d *Decider) Handle(ctx context.Context, e events.Event) error {
	p, err := decodeProposal(e)
	if err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		err := d.decide(ctx, p)
		if err == nil || !errors.Is(err, errHeadMoved) || attempt == maxAttempts {
			return err
		}
		d.Log.InfoContext(ctx, "committed head moved; evaluating the proposal again", "proposal", p.id, "attempt", attempt, "err", err)
	}
}

func decodeProposal(e events.Event) (proposal, error) {
	var m eventsv1.ModelProposed
	derr := e.Decode(&m)
	p := proposal{id: m.GetProposalId(), source: m.GetSource(), digest: m.GetDigest()}
	if p.id == "" {
		p.id = strings.TrimPrefix(e.Subject, modelbus.SubjectProposed)
	}
	if !validToken(p.id) {
		return p, events.Permanent(fmt.Errorf("proposal event %s (subject %s) has no usable proposal id %q", e.ID, e.Subject, p.id))
	}
	switch {
	case derr != nil:
		p.invalid = fmt.Sprintf("the proposal event cannot be read: %v", derr)
	case p.digest == "":
		p.invalid = "the proposal names no snapshot digest"
	}
	return p, nil
}

// validToken reports whether id can be the last token of a subject.
func validToken(id string) bool {
	return id != "" && !strings.ContainsAny(id, ".*> \t\r\n")
}

func (d *Decider) decide(ctx context.Context, p proposal) error {
	head, err := d.History.Head(ctx)
	if err != nil {
		return err
	}
	// Read after the head: a verdict published before this head was committed is visible now.
	decided, err := d.hasVerdict(ctx, p.id)
	if err != nil {
		return err
	}
	if decided {
		d.Log.InfoContext(ctx, "proposal already decided", "proposal", p.id)
		return nil
	}
	if v, ok := d.History.ByProposal(p.id); ok {
		return d.announceCommitted(ctx, p, v)
	}
	rep, err := d.evaluate(ctx, p, head)
	if err != nil {
		return err
	}
	var (
		headNumber int64
		headSeq    uint64
	)
	if head != nil {
		headNumber, headSeq = head.Number, head.Sequence
	}
	// The verdicts that commit nothing hold only while the head they were made against does.
	unchangedHead := jetstream.WithExpectLastSequenceForSubject(headSeq, modelbus.SubjectCommitted)
	switch {
	case !rep.GetPassed():
		if err := d.publishVerdict(ctx, p, false, headNumber, 0, rep, unchangedHead); err != nil {
			return err
		}
		telemetry.Verdict(telemetry.VerdictRejected)
		d.Log.InfoContext(ctx, "proposal rejected", "proposal", p.id, "source", p.source, "base_version", headNumber, "problems", len(rep.GetProblems()))
		return nil
	case head != nil && head.Digest == rep.GetHeadDigest() && len(rep.GetChanges()) == 0:
		if err := d.publishVerdict(ctx, p, true, headNumber, 0, rep, unchangedHead); err != nil {
			return err
		}
		telemetry.Verdict(telemetry.VerdictUnchanged)
		d.Log.InfoContext(ctx, "proposal accepted without change", "proposal", p.id, "source", p.source, "version", headNumber)
		return nil
	}
	version := headNumber + 1
	if err := d.commit(ctx, p, version, headSeq, rep.GetChanges()); err != nil {
		return err
	}
	if err := d.publishVerdict(ctx, p, true, headNumber, version, rep); err != nil {
		return err
	}
	telemetry.Verdict(telemetry.VerdictCommitted)
	d.Log.InfoContext(ctx, "proposal committed", "proposal", p.id, "source", p.source, "version", version, "changes", len(rep.GetChanges()))
	return nil
}

// evaluate runs the gate on proposal p against base (nil: initial check-in). A proposal that
// cannot be checked at all gets a rejecting report with one of the validator's gate rules; the
// error is for failures worth retrying.
func (d *Decider) evaluate(ctx context.Context, p proposal, base *history.Version) (*modelv1.Report, error) {
	if p.invalid != "" {
		return rejection(p, base, RuleProposalInvalid, p.invalid), nil
	}
	snap, err := d.History.Snapshot(ctx, p.digest)
	if errors.Is(err, modelbus.ErrSnapshotNotFound) {
		return rejection(p, base, RuleSnapshotNotFound, fmt.Sprintf("snapshot %s of proposal %s is not in the snapshot store", p.digest, p.id)), nil
	}
	if err != nil {
		return nil, err
	}
	head, err := check.LoadHead(snap)
	if err != nil {
		return rejection(p, base, RuleProposalInvalid, fmt.Sprintf("snapshot %s cannot be loaded: %v", p.digest, err)), nil
	}
	if head.Digest != p.digest {
		return rejection(p, base, RuleProposalInvalid, fmt.Sprintf("the snapshot stored as %s has digest %s", p.digest, head.Digest)), nil
	}
	rep, err := d.Checker.Against(ctx, head, p.source, base)
	var ce *check.Error
	switch {
	case errors.Is(err, check.ErrGateFailed):
		d.Log.ErrorContext(ctx, "the gate failed on a proposal", "proposal", p.id, "err", err)
		return rejection(p, base, RuleInternalError, "the gate failed on this proposal; see the validator log"), nil
	case errors.As(err, &ce) && ce.Kind == check.FailedPrecondition:
		d.Log.ErrorContext(ctx, "the committed base cannot be used", "proposal", p.id, "err", err)
		return rejection(p, base, RuleBaseUnavailable, ce.Error()), nil
	case err != nil:
		return nil, err
	}
	return rep.Proto(), nil
}

// rejection is the report of a proposal that could not be checked.
func rejection(p proposal, base *history.Version, r problem.Rule, msg string) *modelv1.Report {
	rep := &modelv1.Report{
		Source:     p.source,
		HeadDigest: p.digest,
		Problems:   []*modelv1.Problem{gate.ProblemProto(problem.Problem{Rule: r, Severity: r.Severity, Phase: gate.PhaseGate, Message: msg})},
	}
	if base != nil {
		rep.BaseDigest = base.Digest
	}
	for _, name := range []string{gate.PhaseLint, gate.PhaseSource, gate.PhaseAuthorization, gate.PhaseCompatibility} {
		rep.Phases = append(rep.Phases, &modelv1.Phase{Name: name, Status: modelv1.PhaseStatus_PHASE_STATUS_SKIPPED})
	}
	return rep
}

// announceCommitted publishes the verdict of a proposal committed as version v whose verdict is
// missing. Its report is the gate's report against the version before v, recomputed: the gate is
// deterministic, so it is the report the commit was decided on.
func (d *Decider) announceCommitted(ctx context.Context, p proposal, v history.Version) error {
	if v.Digest != p.digest {
		d.Log.WarnContext(ctx, "proposal committed with another digest than it names", "proposal", p.id, "version", v.Number, "committed", v.Digest, "proposed", p.digest)
	}
	var base *history.Version
	if v.Number > 1 {
		b, ok := d.History.ByNumber(v.Number - 1)
		if !ok {
			return fmt.Errorf("version %d, the base of committed proposal %s, is not in the committed history", v.Number-1, p.id)
		}
		base = &b
	}
	rep, err := d.evaluate(ctx, p, base)
	if err != nil {
		return err
	}
	if !rep.GetPassed() {
		d.Log.WarnContext(ctx, "the gate no longer passes a committed proposal; announcing the commit", "proposal", p.id, "version", v.Number)
	}
	if err := d.publishVerdict(ctx, p, true, v.Number-1, v.Number, rep); err != nil {
		return err
	}
	telemetry.Verdict(telemetry.VerdictCommitted)
	d.Log.InfoContext(ctx, "verdict of a committed proposal published", "proposal", p.id, "version", v.Number)
	return nil
}

// commit publishes version on ds.model.committed, expecting the head at stream sequence headSeq
// (0: nothing committed).
func (d *Decider) commit(ctx context.Context, p proposal, version int64, headSeq uint64, changes []*modelv1.Change) error {
	ev := &eventsv1.ModelCommitted{
		Version:     version,
		Digest:      p.digest,
		Source:      p.source,
		ProposalId:  p.id,
		CommittedAt: timestamppb.New(d.Now()),
		Changes:     changes,
	}
	ack, err := events.Publish(ctx, d.JS, modelbus.SubjectCommitted, "commit-"+p.id, ev, events.ExpectLastSequencePerSubject(headSeq))
	if isWrongLastSequence(err) {
		return fmt.Errorf("%w: commit of version %d: %w", errHeadMoved, version, err)
	}
	if err != nil {
		return err
	}
	if ack.Duplicate {
		// This proposal's commit is already in the stream (at ack.Sequence): decide again, which
		// finds it and announces it.
		return fmt.Errorf("%w: proposal %s was committed at stream sequence %d", errHeadMoved, p.id, ack.Sequence)
	}
	return nil
}

func (d *Decider) publishVerdict(ctx context.Context, p proposal, accepted bool, baseVersion, version int64, rep *modelv1.Report, opts ...events.PublishOption) error {
	v := &eventsv1.ModelVerdict{
		ProposalId:  p.id,
		Accepted:    accepted,
		BaseVersion: baseVersion,
		Version:     version,
		Report:      rep,
		DecidedAt:   timestamppb.New(d.Now()),
	}
	_, err := events.Publish(ctx, d.JS, modelbus.SubjectVerdict+p.id, "verdict-"+p.id, v, opts...)
	if isWrongLastSequence(err) {
		return fmt.Errorf("%w: verdict of %s: %w", errHeadMoved, p.id, err)
	}
	return err
}

// hasVerdict reports whether a verdict of proposal id is in the stream.
func (d *Decider) hasVerdict(ctx context.Context, id string) (bool, error) {
	_, err := d.Stream.GetLastMsgForSubject(ctx, modelbus.SubjectVerdict+id)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up the verdict of %s: %w", id, err)
	}
	return true, nil
}

func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) &&
		(apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}
