package reconcile_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/datasurface/datasurface/kit/temporalserver"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/scheduler/internal/ids"
	"github.com/datasurface/datasurface/services/scheduler/internal/reconcile"
	"github.com/datasurface/datasurface/services/scheduler/internal/testmodel"
	"github.com/google/go-cmp/cmp"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
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
	return s
}

func TestReconcileSchedules(t *testing.T) {
	c := dial(t)
	ctx := t.Context()
	ms := &models{}
	r := reconcile.New(reconcile.Config{}, c, ms, nil)
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
	check("same commit again", apply(r, v1, d1), reconcile.Summary{Version: 1, Unchanged: 1})
	// A new process (nothing cached) compares with what exists in Temporal.
	check("same commit, fresh reconciler", apply(reconcile.New(reconcile.Config{}, c, ms, nil), v1, d1),
		reconcile.Summary{Version: 1, Unchanged: 1})

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
	pay := describe(t, c, "batch/YellowLive/Payments")
	if !pay.Schedule.State.Paused || pay.Schedule.State.Note != reconcile.NoteExternal || len(pay.Schedule.Spec.Calendars) != 0 {
		t.Errorf("external schedule = %+v / %+v", pay.Schedule.State, pay.Schedule.Spec)
	}

	// Its trigger becomes a cron: updated and unpaused.
	v3, d3 := ms.commit(t, testmodel.Model{Stores: []testmodel.Store{{Name: "Payments", Cron: "*/5 * * * 7"}}, TransformerCron: "0 * * * *"})
	check("trigger changed", apply(r, v3, d3), reconcile.Summary{Version: 3,
		Updated: []string{"batch/YellowLive/Payments"}, Unchanged: 2, Reconciles: []string{"reconcile/YellowLive/v3"}})
	pay = describe(t, c, "batch/YellowLive/Payments")
	if pay.Schedule.State.Paused || len(pay.Schedule.Spec.Calendars) == 0 {
		t.Errorf("cron schedule = %+v / %+v", pay.Schedule.State, pay.Schedule.Spec)
	}

	// The datastore is removed: its schedule is deleted (its data is the merge service's).
	v4, d4 := ms.commit(t, testmodel.Model{})
	check("datastore removed", apply(r, v4, d4), reconcile.Summary{Version: 4,
		Deleted:   []string{"batch/YellowLive/Payments", "transformer/YellowLive/CustomerTotals"},
		Unchanged: 1, Reconciles: []string{"reconcile/YellowLive/v4"}})
	if _, err := c.ScheduleClient().GetHandle(ctx, "batch/YellowLive/Payments").Describe(ctx); !ids.IsNotFound(err) {
		t.Errorf("describe a deleted schedule: %v, want NotFound", err)
	}
	// An older commit delivered late reconciles to itself but starts no second reconcile of it.
	check("older version again", apply(r, v1, d1), reconcile.Summary{Version: 1, Unchanged: 1})
}

func describe(t *testing.T, c client.Client, id string) *client.ScheduleDescription {
	t.Helper()
	d, err := c.ScheduleClient().GetHandle(t.Context(), id).Describe(t.Context())
	if err != nil {
		t.Fatalf("describe %s: %v", id, err)
	}
	return d
}

// BenchmarkReconcile1000Streams measures one commit that adds 1,000 streams (1,000 schedules
// created on a real Temporal dev server), and the same commit applied again (nothing to do).
// Target: ≤ 30 s for the first.
func BenchmarkReconcile1000Streams(b *testing.B) {
	c := dial(b)
	ms := &models{}
	ctx := b.Context()
	vBig, dBig := ms.commit(b, testmodel.Model{Stores: testmodel.Stores(1000, "*/15 * * * *")})
	vBase, dBase := ms.commit(b, testmodel.Model{})
	var created, again time.Duration
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		r := reconcile.New(reconcile.Config{NoReconcileWorkflows: true}, c, ms, nil)
		b.StartTimer()
		s, err := r.Apply(ctx, vBig, dBig)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if len(s.Created) != 1001 { // and SalesDB
			b.Fatalf("created %d schedules, want 1001", len(s.Created))
		}
		b.Logf("1,000 new streams: %s", s.Duration)
		created += s.Duration
		s, err = r.Apply(ctx, vBig, dBig)
		if err != nil {
			b.Fatal(err)
		}
		if len(s.Created)+len(s.Updated)+len(s.Deleted) != 0 {
			b.Fatalf("the same commit again changed %+v", s)
		}
		again += s.Duration
		b.Logf("the same commit again: %s", s.Duration)
		if s, err = r.Apply(ctx, vBase, dBase); err != nil || len(s.Deleted) != 1000 {
			b.Fatalf("delete: %d deleted, %v", len(s.Deleted), err)
		}
	}
	b.ReportMetric(created.Seconds()/float64(b.N), "s/commit-1000-new")
	b.ReportMetric(again.Seconds()/float64(b.N), "s/same-commit-again")
}
