package reconcile_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datasurface/datasurface/kit/temporalserver"
	"github.com/datasurface/datasurface/services/scheduler/internal/reconcile"
	"github.com/datasurface/datasurface/services/scheduler/internal/testmodel"
	"github.com/google/go-cmp/cmp"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"
	"google.golang.org/grpc"
)

// calls counts the Temporal RPCs a client makes, by method name: an interceptor on the real
// client's connection (every call goes to the server).
type calls struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *calls) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	c.mu.Lock()
	c.n[method[strings.LastIndex(method, "/")+1:]]++
	c.mu.Unlock()
	return invoker(ctx, method, req, reply, cc, opts...)
}

// take returns the counts of the schedule RPCs since the last call and resets them.
func (c *calls) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for m, n := range c.n {
		if strings.Contains(m, "Schedule") {
			out[m] = n
		}
	}
	c.n = map[string]int{}
	return out
}

// dialCounting starts a Temporal dev server and returns a client whose calls are counted.
func dialCounting(t *testing.T) (client.Client, *calls) {
	t.Helper()
	srv := temporalserver.StartForTest(t)
	cs := &calls{n: map[string]int{}}
	c, err := client.Dial(client.Options{HostPort: srv.Addr, Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
		ConnectionOptions: client.ConnectionOptions{DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(cs.intercept)}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, cs
}

// fingerprints are the desired fingerprints of model version (v, d), by schedule id.
func (m *models) fingerprints(t *testing.T, v int64, d string) map[string]string {
	t.Helper()
	mod, err := m.Model(t.Context(), v, d)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, s := range reconcile.NewPlan(mod, v, d).Schedules {
		out[s.ID] = s.Fingerprint
	}
	return out
}

// listed returns the fingerprints ListSchedules shows (SpecAttribute), by schedule id.
func listed(t *testing.T, c client.Client) map[string]string {
	t.Helper()
	it, err := c.ScheduleClient().List(t.Context(), client.ScheduleListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		var fp string
		if p := e.SearchAttributes.GetIndexedFields()[reconcile.SpecAttribute]; p != nil {
			if err := converter.GetDefaultDataConverter().FromPayload(p, &fp); err != nil {
				t.Fatal(err)
			}
		}
		out[e.ID] = fp
	}
	return out
}

// awaitListed waits until ListSchedules shows exactly want (the listing is eventually
// consistent: a new process trusts what it shows).
func awaitListed(t *testing.T, c client.Client, want map[string]string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := listed(t, c)
		d := cmp.Diff(want, got)
		if d == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("schedules listed (-want +got):\n%s", d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func applyOK(t *testing.T, r *reconcile.Reconciler, v int64, d string) reconcile.Summary {
	t.Helper()
	s, err := r.Apply(t.Context(), v, d)
	if err != nil {
		t.Fatal(err)
	}
	s.Duration, s.Changes = 0, nil
	return s
}

// TestRestartReconcile: a reconciler started afresh (a restarted scheduler) over an unchanged
// model reads the schedules with one listing and neither describes nor updates any; a changed
// stream's schedule is updated with its new fingerprint, keeping an operator's pause and note.
func TestRestartReconcile(t *testing.T) {
	c, rpc := dialCounting(t)
	ms := &models{}
	cfg := reconcile.Config{NoReconcileWorkflows: true}
	stores := []testmodel.Store{{Name: "Payments", Cron: "*/5 * * * *"}, {Name: "Refunds"}, {Name: "Ledger", Cron: "0 * * * *"}}
	v1, d1 := ms.commit(t, testmodel.Model{Stores: stores, TransformerCron: "0 * * * *"})
	fp1 := ms.fingerprints(t, v1, d1)
	if got := applyOK(t, reconcile.New(cfg, c, ms, nil), v1, d1); len(got.Created) != 5 {
		t.Fatalf("first reconcile created %v, want 5 schedules", got.Created)
	}
	// An operator pauses Payments.
	const note = "paused by the operator: source maintenance"
	if err := c.ScheduleClient().GetHandle(t.Context(), "batch/YellowLive/Payments").Pause(t.Context(), client.SchedulePauseOptions{Note: note}); err != nil {
		t.Fatal(err)
	}
	awaitListed(t, c, fp1)

	// Restart, same model: one listing, nothing described, updated or created.
	rpc.take()
	got := applyOK(t, reconcile.New(cfg, c, ms, nil), v1, d1)
	if diff := cmp.Diff(reconcile.Summary{Version: v1, Unchanged: 5}, got); diff != "" {
		t.Errorf("restart, unchanged model: summary (-want +got):\n%s", diff)
	}
	if n := rpc.take(); n["DescribeSchedule"]+n["UpdateSchedule"]+n["CreateSchedule"]+n["DeleteSchedule"] != 0 || n["ListSchedules"] == 0 {
		t.Errorf("restart, unchanged model: schedule calls %v, want ListSchedules only", n)
	}

	// Payments' cron changes; a restarted reconciler updates that schedule alone.
	stores[0].Cron = "*/7 * * * *"
	v2, d2 := ms.commit(t, testmodel.Model{Stores: stores, TransformerCron: "0 * * * *"})
	fp2 := ms.fingerprints(t, v2, d2)
	const pay = "batch/YellowLive/Payments"
	if fp2[pay] == fp1[pay] {
		t.Fatal("the fingerprint of Payments did not change with its cron")
	}
	got = applyOK(t, reconcile.New(cfg, c, ms, nil), v2, d2)
	if diff := cmp.Diff(reconcile.Summary{Version: v2, Updated: []string{pay}, Unchanged: 4, Described: 1}, got); diff != "" {
		t.Errorf("restart, Payments changed: summary (-want +got):\n%s", diff)
	}
	if n := rpc.take(); n["DescribeSchedule"] != 1 || n["UpdateSchedule"] != 1 || n["CreateSchedule"]+n["DeleteSchedule"] != 0 {
		t.Errorf("restart, Payments changed: schedule calls %v, want one describe and one update", n)
	}
	// The update is a signal the schedule's workflow applies soon after.
	var desc *client.ScheduleDescription
	var attr string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		desc = describe(t, c, pay)
		err := converter.GetDefaultDataConverter().FromPayload(desc.SearchAttributes.GetIndexedFields()[reconcile.SpecAttribute], &attr)
		if err == nil && attr == fp2[pay] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Payments' %s = %q (%v), want %q", reconcile.SpecAttribute, attr, err, fp2[pay])
		}
	}
	if !desc.Schedule.State.Paused || desc.Schedule.State.Note != note {
		t.Errorf("Payments after the update: paused %v, note %q; want the operator's pause and note", desc.Schedule.State.Paused, desc.Schedule.State.Note)
	}
	if cal := desc.Schedule.Spec.Calendars; len(cal) != 1 || cal[0].Minute[0].Step != 7 {
		t.Errorf("Payments' calendar after the update = %+v, want every 7 minutes", cal)
	}
	awaitListed(t, c, fp2)

	// And the next restart has nothing to do again.
	rpc.take()
	got = applyOK(t, reconcile.New(cfg, c, ms, nil), v2, d2)
	if diff := cmp.Diff(reconcile.Summary{Version: v2, Unchanged: 5}, got); diff != "" {
		t.Errorf("second restart: summary (-want +got):\n%s", diff)
	}
	if n := rpc.take(); n["DescribeSchedule"]+n["UpdateSchedule"]+n["CreateSchedule"]+n["DeleteSchedule"] != 0 {
		t.Errorf("second restart: schedule calls %v, want ListSchedules only", n)
	}
}

// TestSpecAttributeAdded: schedules made without SpecAttribute (an older scheduler, or a
// namespace where it was not registered) get it on the next reconcile that may set it, without
// counting as changes; the restart after that is a listing only.
func TestSpecAttributeAdded(t *testing.T) {
	c, rpc := dialCounting(t)
	ms := &models{}
	v1, d1 := ms.commit(t, testmodel.Model{Stores: []testmodel.Store{{Name: "Payments"}}})
	fp := ms.fingerprints(t, v1, d1)
	applyOK(t, reconcile.New(reconcile.Config{NoReconcileWorkflows: true, NoSpecAttribute: true}, c, ms, nil), v1, d1)
	bare := map[string]string{}
	for id := range fp {
		bare[id] = ""
	}
	awaitListed(t, c, bare)

	rpc.take()
	cfg := reconcile.Config{NoReconcileWorkflows: true}
	got := applyOK(t, reconcile.New(cfg, c, ms, nil), v1, d1)
	if diff := cmp.Diff(reconcile.Summary{Version: v1, Unchanged: len(fp), Described: len(fp)}, got); diff != "" {
		t.Errorf("attribute added: summary (-want +got):\n%s", diff)
	}
	if n := rpc.take(); n["UpdateSchedule"] != len(fp) {
		t.Errorf("attribute added: schedule calls %v, want %d updates", n, len(fp))
	}
	awaitListed(t, c, fp)
	if s := describe(t, c, "batch/YellowLive/Payments"); !s.Schedule.State.Paused || s.Schedule.State.Note != reconcile.NoteExternal {
		t.Errorf("external schedule after the attribute was added: %+v", s.Schedule.State)
	}
	rpc.take()
	got = applyOK(t, reconcile.New(cfg, c, ms, nil), v1, d1)
	if diff := cmp.Diff(reconcile.Summary{Version: v1, Unchanged: len(fp)}, got); diff != "" {
		t.Errorf("restart after: summary (-want +got):\n%s", diff)
	}
	if n := rpc.take(); n["DescribeSchedule"]+n["UpdateSchedule"] != 0 {
		t.Errorf("restart after: schedule calls %v, want ListSchedules only", n)
	}
}

// TestAttributeKeptInStep: a reconciler that does not use SpecAttribute (NoSpecAttribute, or
// the attribute's registration not confirmed this time) trusts no listed fingerprint, and
// still updates the attribute of a schedule that carries it, so it never goes stale.
func TestAttributeKeptInStep(t *testing.T) {
	c, rpc := dialCounting(t)
	ms := &models{}
	stores := []testmodel.Store{{Name: "Payments", Cron: "*/5 * * * *"}}
	v1, d1 := ms.commit(t, testmodel.Model{Stores: stores})
	applyOK(t, reconcile.New(reconcile.Config{NoReconcileWorkflows: true}, c, ms, nil), v1, d1)
	awaitListed(t, c, ms.fingerprints(t, v1, d1))

	stores[0].Cron = "*/9 * * * *"
	v2, d2 := ms.commit(t, testmodel.Model{Stores: stores})
	fp2 := ms.fingerprints(t, v2, d2)
	rpc.take()
	got := applyOK(t, reconcile.New(reconcile.Config{NoReconcileWorkflows: true, NoSpecAttribute: true}, c, ms, nil), v2, d2)
	if diff := cmp.Diff(reconcile.Summary{Version: v2, Updated: []string{"batch/YellowLive/Payments"}, Unchanged: len(fp2) - 1, Described: len(fp2)}, got); diff != "" {
		t.Errorf("without the attribute: summary (-want +got):\n%s", diff)
	}
	if n := rpc.take(); n["DescribeSchedule"] != len(fp2) || n["UpdateSchedule"] != 1 {
		t.Errorf("without the attribute: schedule calls %v, want %d describes and one update", n, len(fp2))
	}
	awaitListed(t, c, fp2)
}
