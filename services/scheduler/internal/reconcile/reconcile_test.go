package reconcile_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/datasurface/datasurface/kit/natsserver"
	"github.com/datasurface/datasurface/kit/opsbus"
	"github.com/datasurface/datasurface/kit/temporalserver"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/scheduler/internal/ids"
	"github.com/datasurface/datasurface/services/scheduler/internal/platformevents"
	"github.com/datasurface/datasurface/services/scheduler/internal/reconcile"
	"github.com/datasurface/datasurface/services/scheduler/internal/testmodel"
	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"google.golang.org/protobuf/proto"
)

// models is an in-memory model store by digest.
type models struct {
	mu   sync.Mutex
	byD  map[string]*modelv1.Model
	next int64
}

func (m *models) Model(_ context.Context, _ int64, d string) (*modelv1.Model, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if x := m.byD[d]; x != nil {
		return x, nil
	}
	return nil, fmt.Errorf("digest %s unknown", d)
}

func (m *models) Remember(int64, string) {}

// commit stores model x and returns its version and digest.
func (m *models) commit(t testing.TB, x testmodel.Model) (int64, string) {
	t.Helper()
	mod, d, err := x.Load()
	if err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byD == nil {
		m.byD = map[string]*modelv1.Model{}
	}
	m.byD[d] = mod
	m.next++
	return m.next, d
}

func dial(t testing.TB) client.Client {
	t.Helper()
	srv := temporalserver.StartForTest(t)
	c, err := client.Dial(client.Options{HostPort: srv.Addr, Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func summary(s reconcile.Summary) reconcile.Summary {
	s.Duration = 0
	s.Changes = nil // checked through the events they publish
	s.Described = 0 // depends on how soon the listing shows new schedules (restart_test.go)
	return s
}

// opsEvents reads the ds.platform.* events published on the OPS stream since the last call:
// "<subject> <Nats-Msg-Id>" per message.
type opsEvents struct {
	js   jetstream.JetStream
	next uint64
}

func (o *opsEvents) read(t *testing.T) []string {
	t.Helper()
	st, err := o.js.Stream(t.Context(), opsbus.Stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	if o.next == 0 {
		o.next = 1
	}
	for ; o.next <= info.State.LastSeq; o.next++ {
		m, err := st.GetMsg(t.Context(), o.next)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m.Subject+" "+m.Header.Get(jetstream.MsgIDHeader))
		if strings.HasSuffix(m.Subject, ".reconciled") {
			ev := &eventsv1.PlatformReconciled{}
			if err := proto.Unmarshal(m.Data, ev); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("  created=%v updated=%v deleted=%v paused=%v transformers=%v/%v/%v streams=%d",
				ev.GetStreamsCreated(), ev.GetStreamsUpdated(), ev.GetStreamsDeleted(), ev.GetStreamsPaused(),
				ev.GetTransformersCreated(), ev.GetTransformersUpdated(), ev.GetTransformersDeleted(), ev.GetStreams()))
		}
		if strings.HasSuffix(m.Subject, ".stream.removed") {
			ev := &eventsv1.StreamRemoved{}
			if err := proto.Unmarshal(m.Data, ev); err != nil {
				t.Fatal(err)
			}
			if !ev.GetDataKept() {
				t.Errorf("%s: data_kept false", m.Subject)
			}
		}
	}
	return out
}

// publisher returns a publisher on an in-process JetStream with the OPS stream declared.
func publisher(t *testing.T) (*platformevents.Publisher, *opsEvents) {
	t.Helper()
	nc, err := nats.Connect(natsserver.StartForTest(t).ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	p := &platformevents.Publisher{JS: js}
	if err := p.Declare(t.Context()); err != nil {
		t.Fatal(err)
	}
	return p, &opsEvents{js: js}
}

func TestReconcileSchedules(t *testing.T) {
	c := dial(t)
	ctx := t.Context()
	ms := &models{}
	pub, ops := publisher(t)
	// The ReconcileWorkflows are not run here (no worker): PlatformReconciled is published with
	// the schedules, as with NoReconcileWorkflows; the started workflows are only listed.
	r := reconcile.New(reconcile.Config{Events: pub}, c, ms, nil)
	events := func(step string, want ...string) {
		t.Helper()
		if diff := cmp.Diff(want, ops.read(t)); diff != "" {
			t.Errorf("%s: events (-want +got):\n%s", step, diff)
		}
	}
	apply := func(r *reconcile.Reconciler, v int64, d string) reconcile.Summary {
		t.Helper()
		s, err := r.Apply(ctx, v, d)
		if err != nil {
			t.Fatal(err)
		}
		return summary(s)
	}
	check := func(step string, got, want reconcile.Summary) {
		t.Helper()
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: summary (-want +got):\n%s", step, diff)
		}
	}

	v1, d1 := ms.commit(t, testmodel.Model{})
	check("first commit", apply(r, v1, d1), reconcile.Summary{Version: 1,
		Created: []string{"batch/YellowLive/SalesDB"}, Reconciles: []string{"reconcile/YellowLive/v1"}})
	events("first commit", "ds.platform.YellowLive.stream.schedule.changed YellowLive/SalesDB/schedule.changed/v1")
	check("same commit again", apply(r, v1, d1), reconcile.Summary{Version: 1, Unchanged: 1})
	// A new process (nothing cached) compares with what exists in Temporal.
	check("same commit, fresh reconciler", apply(reconcile.New(reconcile.Config{Events: pub}, c, ms, nil), v1, d1),
		reconcile.Summary{Version: 1, Unchanged: 1})
	events("same commit twice")

	desc := describe(t, c, "batch/YellowLive/SalesDB")
	if desc.Schedule.Policy.Overlap != enumspb.SCHEDULE_OVERLAP_POLICY_SKIP || desc.Schedule.State.Paused ||
		len(desc.Schedule.Spec.Calendars) == 0 || desc.Schedule.Spec.TimeZoneName != "UTC" {
		t.Errorf("SalesDB schedule = %+v / %+v / %+v", desc.Schedule.Policy, desc.Schedule.State, desc.Schedule.Spec)
	}
	if wa := desc.Schedule.Action.(*client.ScheduleWorkflowAction); wa.Workflow != "BatchWorkflow" || wa.TaskQueue != "scheduler" || wa.ID != "batch/YellowLive/SalesDB" {
		t.Errorf("SalesDB action = %+v", wa)
	}

	// A datastore with an external trigger and a transformer with a cron are added.
	v2, d2 := ms.commit(t, testmodel.Model{Stores: []testmodel.Store{{Name: "Payments"}}, TransformerCron: "0 * * * *"})
	check("datastore added", apply(r, v2, d2), reconcile.Summary{Version: 2,
		Created:    []string{"batch/YellowLive/Payments", "transformer/YellowLive/CustomerTotals"},
		Unchanged:  1,
		Reconciles: []string{"reconcile/YellowLive/v2"}})
	events("datastore added",
		"ds.platform.YellowLive.stream.schedule.changed YellowLive/Payments/schedule.changed/v2",
		"ds.platform.YellowLive.stream.schedule.changed YellowLive/CustomerTotals/schedule.changed/v2")
	pay := describe(t, c, "batch/YellowLive/Payments")
	if !pay.Schedule.State.Paused || pay.Schedule.State.Note != reconcile.NoteExternal || len(pay.Schedule.Spec.Calendars) != 0 {
		t.Errorf("external schedule = %+v / %+v", pay.Schedule.State, pay.Schedule.Spec)
	}

	// Its trigger becomes a cron: updated and unpaused.
	v3, d3 := ms.commit(t, testmodel.Model{Stores: []testmodel.Store{{Name: "Payments", Cron: "*/5 * * * 7"}}, TransformerCron: "0 * * * *"})
	check("trigger changed", apply(r, v3, d3), reconcile.Summary{Version: 3,
		Updated: []string{"batch/YellowLive/Payments"}, Unchanged: 2, Reconciles: []string{"reconcile/YellowLive/v3"}})
	events("trigger changed", "ds.platform.YellowLive.stream.schedule.changed YellowLive/Payments/schedule.changed/v3")
	pay = describe(t, c, "batch/YellowLive/Payments")
	if pay.Schedule.State.Paused || len(pay.Schedule.Spec.Calendars) == 0 {
		t.Errorf("cron schedule = %+v / %+v", pay.Schedule.State, pay.Schedule.Spec)
	}

	// The datastore is removed: its schedule is deleted (its data is the merge service's).
	v4, d4 := ms.commit(t, testmodel.Model{})
	check("datastore removed", apply(r, v4, d4), reconcile.Summary{Version: 4,
		Deleted:   []string{"batch/YellowLive/Payments", "transformer/YellowLive/CustomerTotals"},
		Unchanged: 1, Reconciles: []string{"reconcile/YellowLive/v4"}})
	events("datastore removed",
		"ds.platform.YellowLive.stream.removed YellowLive/Payments/removed/v4",
		"ds.platform.YellowLive.stream.removed YellowLive/CustomerTotals/removed/v4")
	if _, err := c.ScheduleClient().GetHandle(ctx, "batch/YellowLive/Payments").Describe(ctx); !ids.IsNotFound(err) {
		t.Errorf("describe a deleted schedule: %v, want NotFound", err)
	}
	// An older commit delivered late reconciles to itself but starts no second reconcile of it.
	check("older version again", apply(r, v1, d1), reconcile.Summary{Version: 1, Unchanged: 1})
	events("older version again")

	// Without ReconcileWorkflows the platform's reconcile is announced with the schedules; a
	// repeat is dropped by its Nats-Msg-Id.
	nr := reconcile.New(reconcile.Config{Events: pub, NoReconcileWorkflows: true}, c, ms, nil)
	v5, d5 := ms.commit(t, testmodel.Model{Stores: []testmodel.Store{{Name: "Payments"}}})
	apply(nr, v5, d5)
	apply(nr, v5, d5)
	events("announced without workflows",
		"ds.platform.YellowLive.stream.schedule.changed YellowLive/Payments/schedule.changed/v5",
		"ds.platform.YellowLive.reconciled YellowLive/reconciled/v5",
		"  created=[Payments] updated=[] deleted=[] paused=[Payments] transformers=[]/[]/[] streams=3")
}

func describe(t *testing.T, c client.Client, id string) *client.ScheduleDescription {
	t.Helper()
	d, err := c.ScheduleClient().GetHandle(t.Context(), id).Describe(t.Context())
	if err != nil {
		t.Fatalf("describe %s: %v", id, err)
	}
	return d
}
