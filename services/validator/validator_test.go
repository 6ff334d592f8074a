package validator_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/datasurface/datasurface/kit/events"
	"github.com/datasurface/datasurface/kit/metrics"
	"github.com/datasurface/datasurface/kit/modelbus"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/validator"
	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const couponCol = "        - {name: coupon_code, type: VarChar(32), documentation: Voucher used at checkout}\n"

// outcome is what a test compares of a verdict.
type outcome struct {
	Accepted    bool
	BaseVersion int64
	Version     int64
	Rules       []string // rule ids the report must contain (others may be there too)
	Changes     []string // the exact change set, when not nil
}

func outcomeOf(v *eventsv1.ModelVerdict, want outcome) outcome {
	got := outcome{Accepted: v.GetAccepted(), BaseVersion: v.GetBaseVersion(), Version: v.GetVersion()}
	have := ruleIDs(v.GetReport())
	for _, r := range want.Rules {
		if slices.Contains(have, r) {
			got.Rules = append(got.Rules, r)
		}
	}
	if want.Changes != nil {
		got.Changes = changeKinds(v.GetReport().GetChanges())
		if got.Changes == nil {
			got.Changes = []string{}
		}
	}
	return got
}

func TestDecidesProposals(t *testing.T) {
	e := newEnv(t)
	e.start(validator.Config{ToolVersion: "test"})
	acme := snapshotOf(t, acmeDir)
	addColumn := snapshotOf(t, changesDir+"/add-nullable-column")
	removeDataset := edited(t, snapshotOf(t, changesDir+"/remove-deprecated-dataset"), salesDBPath, lastOrderCol, lastOrderCol+couponCol)
	reuseName := edited(t, addColumn, salesDBPath, "{name: percent_off, type: Double, nullable: false}", "{name: percent_off, type: Float, nullable: false}")

	steps := []struct {
		name   string
		id     string
		source string
		snap   *modelv1.Snapshot // nil: announce digest without storing a snapshot
		digest string
		want   outcome
	}{
		{name: "initial check-in commits version 1", id: "p-initial", source: ecoRepo, snap: acme,
			want: outcome{Accepted: true, Version: 1, Rules: []string{"DS-GATE-001", "DS-LINT-087"}}},
		{name: "unauthorized change is rejected", id: "p-unauthorized", source: salesRepo, snap: snapshotOf(t, changesDir+"/unauthorized"),
			want: outcome{BaseVersion: 1, Rules: []string{"DS-AUTH-002"}}},
		{name: "lint error is rejected", id: "p-lint", source: riskRepo, snap: snapshotOf(t, changesDir+"/lint-error"),
			want: outcome{BaseVersion: 1, Rules: []string{"DS-LINT-081"}}},
		{name: "compatible change commits version 2", id: "p-column", source: salesRepo, snap: addColumn,
			want: outcome{Accepted: true, BaseVersion: 1, Version: 2,
				Changes: []string{"COLUMN_ADDED datastore[SalesDB]/dataset[orders]/column[coupon_code]"}}},
		{name: "resubmitting the head commits nothing", id: "p-same", source: salesRepo, snap: addColumn,
			want: outcome{Accepted: true, BaseVersion: 2, Version: 0, Changes: []string{}}},
		{name: "unknown snapshot is rejected", id: "p-missing", source: salesRepo, digest: "sha256:0123456789",
			want: outcome{BaseVersion: 2, Rules: []string{"DS-GATE-005"}}},
		{name: "removing a deprecated dataset commits version 3", id: "p-remove", source: salesRepo, snap: removeDataset,
			want: outcome{Accepted: true, BaseVersion: 2, Version: 3,
				Changes: []string{"CAPTURE_CHANGED datastore[SalesDB]", "DATASET_REMOVED datastore[SalesDB]/dataset[legacy_discounts]"}}},
		{name: "a re-used dataset name is checked against the history", id: "p-reuse", source: salesRepo, snap: reuseName,
			want: outcome{BaseVersion: 3, Rules: []string{"DS-COMPAT-DATASET-NAME-REUSED"}}},
	}
	verdictsBefore, gateBefore := verdictCounts(t), gateCounts(t)
	digests := map[string]string{}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.snap != nil {
				digests[s.id] = e.propose(s.id, s.source, s.snap)
			} else {
				e.announce(s.id, s.id, s.source, s.digest)
			}
			v := e.verdict(s.id)
			if diff := cmp.Diff(s.want, outcomeOf(v, s.want)); diff != "" {
				t.Errorf("verdict (-want +got):\n%s\nproblems: %v", diff, v.GetReport().GetProblems())
			}
		})
	}

	t.Run("an unreadable proposal event is rejected", func(t *testing.T) {
		msg := nats.NewMsg(modelbus.SubjectProposed + "p-junk")
		msg.Data = []byte("not a proposal")
		msg.Header.Set(events.HeaderType, "datasurface.events.v1.ModelProposed")
		if _, err := e.js.PublishMsg(t.Context(), msg, jetstream.WithMsgID("p-junk")); err != nil {
			t.Fatal(err)
		}
		want := outcome{BaseVersion: 3, Rules: []string{"DS-GATE-006"}}
		if diff := cmp.Diff(want, outcomeOf(e.verdict("p-junk"), want)); diff != "" {
			t.Errorf("verdict (-want +got):\n%s", diff)
		}
	})

	t.Run("history", func(t *testing.T) {
		commits := e.committed()
		want := []versionOf{{1, "p-initial", digests["p-initial"]}, {2, "p-column", digests["p-column"]}, {3, "p-remove", digests["p-remove"]}}
		if diff := cmp.Diff(want, versions(commits)); diff != "" {
			t.Errorf("committed versions (-want +got):\n%s", diff)
		}
		for _, c := range commits {
			if c.GetSource() == "" || c.GetCommittedAt() == nil {
				t.Errorf("version %d lacks source or time: %v", c.GetVersion(), c)
			}
			if diff := cmp.Diff(e.verdicts(c.GetProposalId())[0].GetReport().GetChanges(), c.GetChanges(), protocmp.Transform()); diff != "" {
				t.Errorf("version %d: change set differs from its verdict's (-verdict +commit):\n%s", c.GetVersion(), diff)
			}
		}
		if n := len(commits[0].GetChanges()); n == 0 {
			t.Error("the initial check-in has an empty change set")
		}
		for _, s := range steps {
			if n := len(e.verdicts(s.id)); n != 1 {
				t.Errorf("proposal %s has %d verdicts, want 1", s.id, n)
			}
		}
	})

	t.Run("metrics", func(t *testing.T) {
		got := verdictCounts(t)
		for k := range got {
			got[k] -= verdictsBefore[k]
		}
		// Three commits, one resubmitted head, five rejections (two of them without a gate run:
		// the missing snapshot and the unreadable event).
		want := map[string]float64{"committed": 3, "unchanged": 1, "rejected": 5}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("datasurface_model_verdicts_total moved (-want +got):\n%s", diff)
		}
		gates := gateCounts(t)
		for k := range gates {
			gates[k] -= gateBefore[k]
		}
		if diff := cmp.Diff(map[string]float64{"passed": 4, "failed": 3, "error": 0}, gates); diff != "" {
			t.Errorf("datasurface_gate_duration_seconds runs (-want +got):\n%s", diff)
		}
	})
}

// verdictCounts reads datasurface_model_verdicts_total by verdict.
func verdictCounts(t *testing.T) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, v := range []string{"committed", "unchanged", "rejected"} {
		n, _, err := metrics.Value("datasurface_model_verdicts_total", map[string]string{"verdict": v})
		if err != nil {
			t.Fatal(err)
		}
		out[v] = n
	}
	return out
}

// gateCounts reads the sample counts of datasurface_gate_duration_seconds by outcome.
func gateCounts(t *testing.T) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, o := range []string{"passed", "failed", "error"} {
		n, _, err := metrics.Value("datasurface_gate_duration_seconds", map[string]string{"outcome": o})
		if err != nil {
			t.Fatal(err)
		}
		out[o] = n
	}
	return out
}

// idle waits until the durable consumer has no pending or unacknowledged proposal.
func (e *env) idle(durable string) {
	e.t.Helper()
	waitFor(e.t, "consumer "+durable+" to be idle", func() bool {
		c, err := e.js.Consumer(e.t.Context(), modelbus.Stream, durable)
		if err != nil {
			return false
		}
		info, err := c.Info(e.t.Context())
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.NumRedelivered == 0
	})
}

func TestRedelivery(t *testing.T) {
	e := newEnv(t)
	e.start(validator.Config{})
	acme := snapshotOf(t, acmeDir)
	addColumn := snapshotOf(t, changesDir+"/add-nullable-column")

	// The same proposal delivered twice (a second event, so the stream does not drop it).
	d1 := e.propose("p1", ecoRepo, acme)
	e.announce("p1", "p1-again", ecoRepo, d1)
	e.verdict("p1")
	e.idle(validator.DefaultDurable)

	// A validator crashed after committing p2 and before its verdict: the commit is in the
	// stream, the proposal is delivered again.
	d2 := digestOf(t, addColumn)
	if err := e.snaps.Put(t.Context(), d2, addColumn); err != nil {
		t.Fatal(err)
	}
	last, err := modelbus.LastCommitted(t.Context(), e.stream)
	if err != nil {
		t.Fatal(err)
	}
	commit := &eventsv1.ModelCommitted{Version: 2, Digest: d2, Source: salesRepo, ProposalId: "p2", CommittedAt: timestamppb.Now(),
		Changes: []*modelv1.Change{{Kind: modelv1.ChangeKind_CHANGE_KIND_COLUMN_ADDED, Path: "datastore[SalesDB]/dataset[orders]/column[coupon_code]"}}}
	if _, err := events.Publish(t.Context(), e.js, modelbus.SubjectCommitted, "commit-p2", commit, events.ExpectLastSequencePerSubject(last.Sequence)); err != nil {
		t.Fatal(err)
	}
	e.announce("p2", "p2", salesRepo, d2)
	want := outcome{Accepted: true, BaseVersion: 1, Version: 2,
		Changes: []string{"COLUMN_ADDED datastore[SalesDB]/dataset[orders]/column[coupon_code]"}}
	if diff := cmp.Diff(want, outcomeOf(e.verdict("p2"), want)); diff != "" {
		t.Errorf("verdict of the committed proposal (-want +got):\n%s", diff)
	}
	// And once more after its verdict.
	e.announce("p2", "p2-again", salesRepo, d2)
	e.idle(validator.DefaultDurable)

	if diff := cmp.Diff([]versionOf{{1, "p1", d1}, {2, "p2", d2}}, versions(e.committed())); diff != "" {
		t.Errorf("committed versions (-want +got):\n%s", diff)
	}
	for _, id := range []string{"p1", "p2"} {
		if n := len(e.verdicts(id)); n != 1 {
			t.Errorf("proposal %s has %d verdicts, want 1", id, n)
		}
	}
}

// chain proposes n compatible changes in a row (the first is the initial check-in) and returns
// their ids and digests.
func (e *env) chain(from, to int) (ids, digests []string) {
	acme := snapshotOf(e.t, acmeDir)
	for i := from; i < to; i++ {
		id, source := fmt.Sprintf("p%02d", i+1), salesRepo
		if i == 0 {
			source = ecoRepo
		}
		ids = append(ids, id)
		digests = append(digests, e.propose(id, source, withColumns(e.t, acme, i)))
	}
	return ids, digests
}

// checkHistory asserts that proposal ids[i] was committed as version i+1, with no other version
// and exactly one verdict per proposal.
func (e *env) checkHistory(ids, digests []string) {
	t := e.t
	t.Helper()
	var want []versionOf
	for i, id := range ids {
		want = append(want, versionOf{int64(i + 1), id, digests[i]})
	}
	if diff := cmp.Diff(want, versions(e.committed())); diff != "" {
		t.Errorf("committed versions (-want +got):\n%s", diff)
	}
	for i, id := range ids {
		vs := e.verdicts(id)
		if len(vs) != 1 {
			t.Errorf("proposal %s has %d verdicts, want 1", id, len(vs))
			continue
		}
		if !vs[0].GetAccepted() || vs[0].GetVersion() != int64(i+1) || vs[0].GetBaseVersion() != int64(i) {
			t.Errorf("proposal %s: verdict accepted=%v version=%d base=%d, want accepted version %d base %d",
				id, vs[0].GetAccepted(), vs[0].GetVersion(), vs[0].GetBaseVersion(), i+1, i)
		}
	}
}

func TestConcurrentValidators(t *testing.T) {
	const n = 16
	for _, tc := range []struct {
		name     string
		durables []string
	}{
		{"one durable shared by two instances", []string{"validator", "validator"}},
		{"two durables", []string{"validator-a", "validator-b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ids, digests := e.chain(0, n/2)
			for _, d := range tc.durables {
				e.start(validator.Config{Durable: d})
			}
			more, moreDigests := e.chain(n/2, n)
			ids, digests = append(ids, more...), append(digests, moreDigests...)
			for _, id := range ids {
				e.verdict(id)
			}
			for _, d := range tc.durables {
				e.idle(d)
			}
			e.checkHistory(ids, digests)
		})
	}
}

func TestRestartMidStream(t *testing.T) {
	const n = 16
	e := newEnv(t)
	cfg := validator.Config{AckWait: 2 * time.Second}
	first := e.start(cfg)
	ids, digests := e.chain(0, n)
	waitFor(t, "a few verdicts", func() bool {
		_, err := e.stream.GetLastMsgForSubject(t.Context(), modelbus.SubjectVerdict+ids[3])
		return err == nil
	})
	first.stop()
	e.start(cfg)
	for _, id := range ids {
		e.verdict(id)
	}
	e.idle(validator.DefaultDurable)
	e.checkHistory(ids, digests)
}

func TestUnusableInputs(t *testing.T) {
	e := newEnv(t)
	e.start(validator.Config{})

	// A proposal id that cannot name a verdict subject: the event is terminated, the next
	// proposal is still decided.
	if _, err := events.Publish(t.Context(), e.js, modelbus.SubjectProposed+"x", "bad-id",
		&eventsv1.ModelProposed{ProposalId: "a.b", Source: ecoRepo, Digest: "sha256:00"}); err != nil {
		t.Fatal(err)
	}

	// Version 1 names a snapshot that is not in the store: no proposal can be checked against it.
	if _, err := events.Publish(t.Context(), e.js, modelbus.SubjectCommitted, "commit-lost",
		&eventsv1.ModelCommitted{Version: 1, Digest: "sha256:lost", ProposalId: "lost"}, events.ExpectLastSequencePerSubject(0)); err != nil {
		t.Fatal(err)
	}
	e.propose("p1", salesRepo, snapshotOf(t, changesDir+"/add-nullable-column"))
	want := outcome{BaseVersion: 1, Rules: []string{"DS-GATE-007"}}
	if diff := cmp.Diff(want, outcomeOf(e.verdict("p1"), want)); diff != "" {
		t.Errorf("verdict against a lost base (-want +got):\n%s", diff)
	}
	e.idle(validator.DefaultDurable)
	if n := len(e.committed()); n != 1 {
		t.Errorf("%d committed versions, want 1", n)
	}
	if n := len(e.messages(modelbus.SubjectVerdict + "a.b")); n != 0 {
		t.Errorf("%d verdicts for an unusable proposal id", n)
	}
}
