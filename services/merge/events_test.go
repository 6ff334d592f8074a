package merge_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/datasurface/datasurface/kit/natsserver"
	"github.com/datasurface/datasurface/kit/opsbus"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/ingest"
	"github.com/datasurface/datasurface/services/merge"
	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
)

// latest is the newest version of a test's model history (the API's LatestModel).
type latest struct{ ms *models }

func (l latest) Latest(context.Context) (int64, string, *modelv1.Model, error) {
	l.ms.mu.Lock()
	defer l.ms.mu.Unlock()
	var v int64
	for k := range l.ms.m {
		v = max(v, k)
	}
	if v == 0 {
		return 0, "", nil, nil
	}
	return v, fmt.Sprintf("sha256:v%d", v), l.ms.m[v], nil
}

// startJS starts an in-process JetStream server and connects to it.
func startJS(t testing.TB) jetstream.JetStream {
	t.Helper()
	ns := natsserver.StartForTest(t)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// withBus replaces the env's merge and ingest services by ones that publish on js and answer
// the API under the newest model.
func (e *env) withBus(js jetstream.JetStream, cfg merge.Config) *merge.Service {
	e.t.Helper()
	svc, err := merge.New(cfg, merge.Deps{Models: e.models, Secrets: trustSecrets{}, JS: js, Latest: latest{e.models}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(svc.Close)
	e.act = svc.Activities()
	isvc, err := ingest.New(ingest.Config{SSLMode: "disable"}, ingest.Deps{JS: js, Secrets: ingest.Credentials{
		LookupEnv: func(name string) (string, bool) {
			if strings.HasSuffix(name, "_USER") {
				return "postgres", true
			}
			return "unused", strings.HasSuffix(name, "_PASSWORD")
		},
	}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(isvc.Close)
	e.ing = isvc.Activities()
	return svc
}

// opsEvent is one message of the OPS stream.
type opsEvent struct {
	Subject, ID, Type string
	Msg               proto.Message
}

// batchEvents reads every ds.batch.> message of the OPS stream, in stream order.
func batchEvents(t testing.TB, js jetstream.JetStream) []opsEvent {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, opsbus.Stream)
	if err != nil {
		t.Fatal(err)
	}
	var out []opsEvent
	for seq := uint64(1); ; {
		m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(opsbus.SubjectBatch+">"))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		var msg proto.Message
		switch typ := m.Header.Get("Ds-Type"); typ {
		case "datasurface.events.v1.BatchStarted":
			msg = &eventsv1.BatchStarted{}
		case "datasurface.events.v1.BatchIngested":
			msg = &eventsv1.BatchIngested{}
		case "datasurface.events.v1.BatchCommitted":
			msg = &eventsv1.BatchCommitted{}
		case "datasurface.events.v1.BatchFailed":
			msg = &eventsv1.BatchFailed{}
		case "datasurface.events.v1.ViewsReconciled":
			msg = &eventsv1.ViewsReconciled{}
		default:
			t.Fatalf("unexpected event type %q on %s", typ, m.Subject)
		}
		if err := proto.Unmarshal(m.Data, msg); err != nil {
			t.Fatal(err)
		}
		out = append(out, opsEvent{Subject: m.Subject, ID: m.Header.Get(jetstream.MsgIDHeader), Type: string(msg.ProtoReflect().Descriptor().Name()), Msg: msg})
		seq = m.Sequence + 1
	}
}

func eventLines(evs []opsEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Subject + " " + e.ID
	}
	return out
}

// TestBatchEvents runs real batches (merge + ingest against Postgres, events on an in-process
// JetStream) and checks that every state change is announced exactly once, after it is
// committed, with its content: a new batch; a retried MergeBatch of a committed batch (the same
// Nats-Msg-Id, dropped by the stream); a merge whose commit fails (failed, never committed);
// the resumed batch (attempt 2).
func TestBatchEvents(t *testing.T) {
	js := startJS(t)
	e := newEnv(t, merge.Config{})
	e.withBus(js, merge.Config{})
	e.sql(sourceDDL, peopleRows("(1, 'ann', 'ann@x', 10)", "(2, 'bob', NULL, NULL)"), "INSERT INTO visits VALUES (1, 'home'), (2, 'cart')")
	const d = "YellowLive"

	first := e.mustCycle(d, "Shop")
	evs := batchEvents(t, js)
	diff(t, "events of batch 1", []string{
		"ds.batch.YellowLive.started YellowLive/Shop/1/started/1",
		"ds.batch.YellowLive.ingested YellowLive/Shop/1/ingested/1",
		"ds.batch.YellowLive.committed YellowLive/Shop/1/committed/1",
		fmt.Sprintf("ds.batch.YellowLive.views.reconciled YellowLive/views.reconciled/1/%d", evs[len(evs)-1].Msg.(*eventsv1.ViewsReconciled).GetReconciledAt().AsTime().UnixNano()),
	}, eventLines(evs))

	ref := &eventsv1.BatchRef{Platform: d, Stream: "Shop", Batch: 1, Attempt: 1, ModelVersion: 1}
	started := evs[0].Msg.(*eventsv1.BatchStarted)
	if d := cmp.Diff(&eventsv1.BatchStarted{Batch: ref, Datasets: []string{"people", "visits"}}, started, protocmp.Transform(),
		protocmp.IgnoreFields(&eventsv1.BatchStarted{}, "started_at")); d != "" {
		t.Errorf("BatchStarted (-want +got):\n%s", d)
	}
	ingested := evs[1].Msg.(*eventsv1.BatchIngested)
	if d := cmp.Diff(&eventsv1.BatchIngested{Batch: ref, Capture: "snapshot", Total: 4, Datasets: []*eventsv1.DatasetRows{
		{Dataset: "people", Staged: 2}, {Dataset: "visits", Staged: 2},
	}}, ingested, protocmp.Transform(), protocmp.IgnoreFields(&eventsv1.BatchIngested{}, "bytes", "duration", "data_time")); d != "" {
		t.Errorf("BatchIngested (-want +got):\n%s", d)
	}
	if ingested.GetDataTime() == nil || ingested.GetBytes() == 0 {
		t.Errorf("BatchIngested without data time or bytes: %v", ingested)
	}
	committed := evs[2].Msg.(*eventsv1.BatchCommitted)
	if d := cmp.Diff(&eventsv1.BatchCommitted{Batch: ref, Mode: first.Merge.Mode, Inserted: 4, Total: 4, Datasets: []*eventsv1.DatasetRows{
		{Dataset: "people", Staged: 2, Inserted: 2}, {Dataset: "visits", Staged: 2, Inserted: 2},
	}}, committed, protocmp.Transform(), protocmp.IgnoreFields(&eventsv1.BatchCommitted{}, "started_at", "committed_at", "duration", "data_time")); d != "" {
		t.Errorf("BatchCommitted (-want +got):\n%s", d)
	}
	if !committed.GetCommittedAt().AsTime().Equal(first.Merge.End) || !committed.GetStartedAt().AsTime().Equal(first.Merge.Start) ||
		!committed.GetDataTime().AsTime().Equal(ingested.GetDataTime().AsTime()) || committed.GetDuration().AsDuration() <= 0 {
		t.Errorf("BatchCommitted times: %v (merge result %v – %v)", committed, first.Merge.Start, first.Merge.End)
	}
	views := evs[3].Msg.(*eventsv1.ViewsReconciled)
	var created []string
	for _, s := range views.GetSchemas() {
		created = append(created, s.GetCreated()...)
	}
	if views.GetPlatform() != d || views.GetModelVersion() != 1 || !slices.Contains(created, `yellowlive_analytics.yellowlive_analytics_main_shop_people_view_live`) {
		t.Errorf("ViewsReconciled: %v", views)
	}

	// A retried MergeBatch of the committed batch publishes under the same id: dropped.
	res, err := e.act.MergeBatch(context.Background(), merge.MergeBatchInput{Platform: d, Stream: "Shop", Version: e.v(), Batch: 1})
	if err != nil || !res.AlreadyCommitted {
		t.Fatalf("retried MergeBatch: %+v, %v", res, err)
	}
	if got := batchEvents(t, js); len(got) != len(evs) {
		t.Errorf("retried MergeBatch added events: %v", eventLines(got[len(evs):]))
	}

	// Batch 2: the merge transaction fails at COMMIT time: failed is announced, committed never.
	e.sql(peopleRows("(1, 'ann', 'ann@x', 11)"))
	e.act.SetBeforeCommit(func(context.Context) error { return errors.New("simulated crash before COMMIT") })
	if _, err := e.cycle(d, "Shop"); err == nil {
		t.Fatal("batch 2 committed despite the failing hook")
	}
	e.act.SetBeforeCommit(nil)
	evs2 := batchEvents(t, js)[len(evs):]
	diff(t, "events of the failed batch 2", []string{
		"ds.batch.YellowLive.started YellowLive/Shop/2/started/1",
		"ds.batch.YellowLive.ingested YellowLive/Shop/2/ingested/1",
		"ds.batch.YellowLive.failed YellowLive/Shop/2/failed/1",
	}, eventLines(evs2))
	failed := evs2[2].Msg.(*eventsv1.BatchFailed)
	if failed.GetPhase() != "merge" || !strings.Contains(failed.GetReason(), "simulated crash before COMMIT") || failed.GetPermanent() ||
		failed.GetBatch().GetAttempt() != 1 || failed.GetFailedAt() == nil {
		t.Errorf("BatchFailed: %v", failed)
	}

	// The next run resumes batch 2 with attempt 2: new ids, so nothing is dropped.
	e.mustCycle(d, "Shop")
	evs3 := batchEvents(t, js)[len(evs)+len(evs2):]
	diff(t, "events of batch 2, attempt 2", []string{
		"ds.batch.YellowLive.started YellowLive/Shop/2/started/2",
		"ds.batch.YellowLive.ingested YellowLive/Shop/2/ingested/2",
		"ds.batch.YellowLive.committed YellowLive/Shop/2/committed/2",
	}, eventLines(evs3))
	if s := evs3[0].Msg.(*eventsv1.BatchStarted); !s.GetResumed() || s.GetBatch().GetAttempt() != 2 {
		t.Errorf("resumed BatchStarted: %v", s)
	}
	if c := evs3[2].Msg.(*eventsv1.BatchCommitted); c.GetUpdated() != 1 || c.GetDeleted() != 1 || c.GetBatch().GetBatch() != 2 {
		t.Errorf("BatchCommitted of batch 2: %v", c)
	}
}

// TestTransformerBatchEvents: a transformer run stages its output batch itself, so the merge
// service announces it started and ingested, then committed.
func TestTransformerBatchEvents(t *testing.T) {
	js := startJS(t)
	e := newEnv(t, merge.Config{TransformerAsMergeLogin: true})
	e.withBus(js, merge.Config{TransformerAsMergeLogin: true})
	e.sql(sourceDDL, peopleRows("(1, 'ann', 'a', 10)", "(2, 'bob', 'b', 20)"), "INSERT INTO visits VALUES (1, 'home'), (2, 'home')")
	const d = "YellowLive"
	e.mustCycle(d, "Shop")
	n := len(batchEvents(t, js))
	e.mustCycle(d, "Stats")
	var got []string
	for _, ev := range batchEvents(t, js)[n:] {
		if !strings.HasSuffix(ev.Subject, ".views.reconciled") {
			got = append(got, ev.Subject+" "+ev.ID)
		}
	}
	diff(t, "events of the transformer output batch", []string{
		"ds.batch.YellowLive.started YellowLive/Stats/1/started/1",
		"ds.batch.YellowLive.ingested YellowLive/Stats/1/ingested/1",
		"ds.batch.YellowLive.committed YellowLive/Stats/1/committed/1",
	}, got)
	for _, ev := range batchEvents(t, js)[n:] {
		if in, ok := ev.Msg.(*eventsv1.BatchIngested); ok {
			if in.GetCapture() != "transformerOutput" || in.GetTotal() != 2 || len(in.GetDatasets()) != 1 || in.GetDatasets()[0].GetStaged() != 2 {
				t.Errorf("BatchIngested of the output: %v", in)
			}
		}
	}
}

// TestEventSubject: platform names are subject tokens as they are; anything else is escaped
// into one token.
func TestEventSubject(t *testing.T) {
	for _, c := range []struct{ platform, want string }{
		{"YellowLive", "ds.batch.YellowLive.committed"},
		{"Yellow_2", "ds.batch.Yellow_2.committed"},
	} {
		if got := merge.EventSubject(c.platform, merge.EventCommitted); got != c.want {
			t.Errorf("EventSubject(%q) = %q, want %q", c.platform, got, c.want)
		}
	}
	for _, bad := range []string{"a.b", "a*", "a>", "a b", ""} {
		got := merge.EventSubject(bad, merge.EventCommitted)
		if !strings.HasPrefix(got, "ds.batch.x") || strings.Count(got, ".") != 3 || strings.ContainsAny(got, "*> ") {
			t.Errorf("EventSubject(%q) = %q: not one escaped token", bad, got)
		}
	}
}
