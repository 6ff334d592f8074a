package scheduler_test

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/kit/events"
	"github.com/datasurface/datasurface/kit/modelbus"
	"github.com/datasurface/datasurface/kit/natsserver"
	"github.com/datasurface/datasurface/kit/pgtest"
	"github.com/datasurface/datasurface/kit/run"
	"github.com/datasurface/datasurface/kit/server"
	"github.com/datasurface/datasurface/kit/temporalserver"
	"github.com/datasurface/datasurface/platforms/yellow/batchapi"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	schedulerv1 "github.com/datasurface/datasurface/proto/gen/datasurface/scheduler/v1"
	"github.com/datasurface/datasurface/proto/gen/datasurface/scheduler/v1/schedulerv1connect"
	"github.com/datasurface/datasurface/services/scheduler"
	"github.com/datasurface/datasurface/services/scheduler/internal/testmodel"
	"github.com/datasurface/datasurface/services/scheduler/internal/testplatform"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Shutdown()
	os.Exit(code)
}

// harness runs the scheduler against real components: an in-process NATS JetStream (the MODEL
// stream and the snapshot store), a Temporal dev server, a Postgres database for the platform's
// batch tables, and test activities on the merge, ingest and security task queues standing in
// for those services (they keep the batch state machine and write real batch_metrics rows).
type harness struct {
	t        *testing.T
	js       jetstream.JetStream
	temporal client.Client
	platform *testplatform.Platform
	api      schedulerv1connect.SchedulerServiceClient
	version  int64
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ts := temporalserver.StartForTest(t)
	dsn := pgtest.NewDatabase(t)
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
	tc, err := client.Dial(client.Options{HostPort: ts.Addr, Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)

	h := &harness{t: t, js: js, temporal: tc, platform: testplatform.New()}
	h.platform.Pool = pool
	for q, reg := range map[string]func(worker.ActivityRegistry){
		batchapi.TaskQueueMerge: h.platform.RegisterMerge, batchapi.TaskQueueIngest: h.platform.RegisterIngest,
		batchapi.TaskQueueSecurity: h.platform.RegisterSecurity,
	} {
		w := worker.New(tc, q, worker.Options{})
		reg(w)
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)
	}

	svc, err := scheduler.New(scheduler.Config{
		MergeDSN: dsn, RetryInitial: 200 * time.Millisecond, RetryMax: time.Second, RetryAttempts: 3,
	}, scheduler.Deps{Temporal: tc, JS: js, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New("127.0.0.1:0", nil)
	svc.Register(srv)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run.Group(ctx, svc, srv) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("scheduler: %v", err)
		}
	})
	addr, err := srv.Addr(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	h.api = schedulerv1connect.NewSchedulerServiceClient(http.DefaultClient, "http://"+addr)
	return h
}

// commit stores the model's snapshot and publishes the next ds.model.committed, as the
// validator does; again re-publishes the same event under a new message id (a duplicate
// delivery the duplicate window would not catch).
func (h *harness) commit(m testmodel.Model) *eventsv1.ModelCommitted {
	h.t.Helper()
	ctx := h.t.Context()
	snap, digest, err := m.Snapshot()
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := modelbus.DeclareStream(ctx, h.js); err != nil {
		h.t.Fatal(err)
	}
	snaps, err := modelbus.OpenSnapshots(ctx, h.js)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := snaps.Put(ctx, digest, snap); err != nil {
		h.t.Fatal(err)
	}
	h.version++
	ev := &eventsv1.ModelCommitted{Version: h.version, Digest: digest, Source: "acme/model@main"}
	h.publish(ev, fmt.Sprintf("commit-%d", h.version))
	return ev
}

func (h *harness) publish(ev *eventsv1.ModelCommitted, id string) {
	h.t.Helper()
	if _, err := events.Publish(h.t.Context(), h.js, modelbus.SubjectCommitted, id, ev); err != nil {
		h.t.Fatal(err)
	}
}

// eventually polls f until it returns "" (success) or the deadline passes.
func (h *harness) eventually(what string, timeout time.Duration, f func() string) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msg := f()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s: %s", what, msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stream returns GetStream's answer, or "" and the error text.
func (h *harness) stream(key string) (*schedulerv1.GetStreamResponse, string) {
	res, err := h.api.GetStream(h.t.Context(), connect.NewRequest(&schedulerv1.GetStreamRequest{Platform: testmodel.Platform, Stream: key}))
	if err != nil {
		return nil, err.Error()
	}
	return res.Msg, ""
}

func (h *harness) scheduleIDs() []string {
	h.t.Helper()
	it, err := h.temporal.ScheduleClient().List(h.t.Context(), client.ScheduleListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			h.t.Fatal(err)
		}
		out = append(out, e.ID)
	}
	return out
}

func batchesOf(res *schedulerv1.GetStreamResponse) string {
	var parts []string
	for _, b := range res.GetBatches() {
		parts = append(parts, fmt.Sprintf("%d:%s", b.GetId(), strings.TrimPrefix(b.GetStatus().String(), "BATCH_STATUS_")))
	}
	return strings.Join(parts, ",")
}

func TestCommitSchedulesTriggerAndRemove(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	h.commit(testmodel.Model{})
	h.eventually("SalesDB scheduled", 20*time.Second, func() string {
		res, msg := h.stream("SalesDB")
		if msg != "" {
			return msg
		}
		if !res.GetStream().GetSchedule().GetExists() {
			return "no schedule yet"
		}
		return ""
	})

	// A commit adds a datastore with an external trigger: its schedule exists, paused.
	added := h.commit(testmodel.Model{Stores: []testmodel.Store{{Name: "Payments"}}})
	h.eventually("Payments scheduled", 20*time.Second, func() string {
		res, msg := h.stream("Payments")
		if msg != "" {
			return msg
		}
		s := res.GetStream()
		if !s.GetSchedule().GetExists() || !s.GetSchedule().GetPaused() || s.GetTrigger() != schedulerv1.TriggerKind_TRIGGER_KIND_EXTERNAL {
			return fmt.Sprintf("stream = %v", s)
		}
		return ""
	})

	// The same commit delivered twice creates nothing twice.
	before := h.scheduleIDs()
	h.publish(added, "commit-2-redelivered")
	h.eventually("the duplicate commit handled", 30*time.Second, func() string {
		// The consumer's ack floor reaching the stream's last message means the duplicate was
		// handled (acked), so the comparison below sees its effect, if any.
		stream, err := h.js.Stream(h.t.Context(), modelbus.Stream)
		if err != nil {
			return err.Error()
		}
		si, err := stream.Info(h.t.Context())
		if err != nil {
			return err.Error()
		}
		c, err := stream.Consumer(h.t.Context(), scheduler.CommitConsumer)
		if err != nil {
			return err.Error()
		}
		ci, err := c.Info(h.t.Context())
		if err != nil {
			return err.Error()
		}
		if ci.AckFloor.Stream < si.State.LastSeq {
			return fmt.Sprintf("ack floor %d < last sequence %d", ci.AckFloor.Stream, si.State.LastSeq)
		}
		return ""
	})
	if diff := cmp.Diff(before, h.scheduleIDs()); diff != "" {
		t.Errorf("schedules after a duplicate commit (-before +after):\n%s", diff)
	}

	// Triggering runs the first batch to commit, with the real Temporal server.
	if _, err := h.api.Trigger(ctx, connect.NewRequest(&schedulerv1.TriggerRequest{Platform: testmodel.Platform, Stream: "Payments"})); err != nil {
		t.Fatal(err)
	}
	h.eventually("first batch committed", 30*time.Second, func() string {
		res, msg := h.stream("Payments")
		if msg != "" {
			return msg
		}
		if got := batchesOf(res); got != "1:COMMITTED" {
			return "batches = " + got + " " + res.GetBatchesError()
		}
		if b := res.GetBatches()[0]; b.GetTotal() != 3 || b.GetAttempt() != 1 || b.GetModelVersion() != 2 || res.GetLag() == nil {
			return fmt.Sprintf("batch = %v, lag = %v", b, res.GetLag())
		}
		return ""
	})

	// ListStreams shows every stream of the platform.
	list, err := h.api.ListStreams(ctx, connect.NewRequest(&schedulerv1.ListStreamsRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, s := range list.Msg.GetStreams() {
		keys = append(keys, s.GetKey()+"/"+s.GetTrigger().String())
	}
	want := []string{"Payments/TRIGGER_KIND_EXTERNAL", "SalesDB/TRIGGER_KIND_CRON", "SalesSummary/TRIGGER_KIND_AFTER_INPUTS"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("streams (-want +got):\n%s", diff)
	}

	// Pause and resume a cron stream.
	p, err := h.api.Pause(ctx, connect.NewRequest(&schedulerv1.PauseRequest{Platform: testmodel.Platform, Stream: "SalesDB", Reason: "source maintenance"}))
	if err != nil || !p.Msg.GetSchedule().GetPaused() || p.Msg.GetSchedule().GetNote() != "source maintenance" {
		t.Fatalf("pause: %v %v", p, err)
	}
	r, err := h.api.Resume(ctx, connect.NewRequest(&schedulerv1.ResumeRequest{Platform: testmodel.Platform, Stream: "SalesDB"}))
	if err != nil || r.Msg.GetSchedule().GetPaused() {
		t.Fatalf("resume: %v %v", r, err)
	}

	// Removing the datastore deletes its schedule; the data is left alone.
	h.commit(testmodel.Model{})
	h.eventually("Payments unscheduled", 20*time.Second, func() string {
		for _, id := range h.scheduleIDs() {
			if id == "batch/YellowLive/Payments" {
				return "the schedule still exists"
			}
		}
		return ""
	})
	if _, err := h.api.GetStream(ctx, connect.NewRequest(&schedulerv1.GetStreamRequest{Platform: testmodel.Platform, Stream: "Payments"})); connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("GetStream of a removed stream: %v, want NotFound", err)
	}
}

func TestBatchRetriesThenCommitsOnce(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	h.platform.Fail(batchapi.IngestBatch, testplatform.Transient("source busy"), testplatform.Transient("source busy"))
	h.commit(testmodel.Model{Stores: []testmodel.Store{{Name: "Payments"}}})
	h.eventually("Payments scheduled", 20*time.Second, func() string {
		if res, msg := h.stream("Payments"); msg != "" || !res.GetStream().GetSchedule().GetExists() {
			return "not yet " + msg
		}
		return ""
	})
	if _, err := h.api.Trigger(ctx, connect.NewRequest(&schedulerv1.TriggerRequest{Platform: testmodel.Platform, Stream: "Payments"})); err != nil {
		t.Fatal(err)
	}
	h.eventually("one committed batch", 30*time.Second, func() string {
		res, msg := h.stream("Payments")
		if msg != "" {
			return msg
		}
		if got := batchesOf(res); got != "1:COMMITTED" {
			return "batches = " + got
		}
		return ""
	})
	if n := h.platform.Count(batchapi.IngestBatch); n != 3 {
		t.Errorf("IngestBatch ran %d times, want 3 (two failures, one success)", n)
	}
}

func TestPermanentErrorFailsBatchThenBackfill(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	h.platform.Fail(batchapi.IngestBatch, testplatform.Permanent("source column amount is missing"))
	h.commit(testmodel.Model{Stores: []testmodel.Store{{Name: "Payments"}}})
	h.eventually("Payments scheduled", 20*time.Second, func() string {
		if res, msg := h.stream("Payments"); msg != "" || !res.GetStream().GetSchedule().GetExists() {
			return "not yet " + msg
		}
		return ""
	})
	if _, err := h.api.Trigger(ctx, connect.NewRequest(&schedulerv1.TriggerRequest{Platform: testmodel.Platform, Stream: "Payments"})); err != nil {
		t.Fatal(err)
	}
	h.eventually("a failed batch visible through GetStream", 30*time.Second, func() string {
		res, msg := h.stream("Payments")
		if msg != "" {
			return msg
		}
		if got := batchesOf(res); got != "1:FAILED" {
			return "batches = " + got
		}
		e := res.GetBatches()[0].GetError()
		if e.GetPhase() != "ingest" || !e.GetPermanent() || !strings.Contains(e.GetMessage(), "source column amount is missing") {
			return fmt.Sprintf("error = %v", e)
		}
		return ""
	})
	if n := h.platform.Count(batchapi.IngestBatch); n != 1 {
		t.Errorf("IngestBatch ran %d times, want 1 (permanent errors are not retried)", n)
	}

	// Backfill: only the current failed batch can be re-run; it resumes with attempt 2.
	if _, err := h.api.Backfill(ctx, connect.NewRequest(&schedulerv1.BackfillRequest{Platform: testmodel.Platform, Stream: "Payments", Batch: 2})); connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("backfill of an unknown batch: %v, want NotFound", err)
	}
	if _, err := h.api.Backfill(ctx, connect.NewRequest(&schedulerv1.BackfillRequest{Platform: testmodel.Platform, Stream: "Payments", Batch: 1})); err != nil {
		t.Fatal(err)
	}
	h.eventually("the failed batch committed on attempt 2", 30*time.Second, func() string {
		res, msg := h.stream("Payments")
		if msg != "" {
			return msg
		}
		if got := batchesOf(res); got != "1:COMMITTED" || res.GetBatches()[0].GetAttempt() != 2 {
			return fmt.Sprintf("batches = %s %v", got, res.GetBatches())
		}
		return ""
	})
	if _, err := h.api.Backfill(ctx, connect.NewRequest(&schedulerv1.BackfillRequest{Platform: testmodel.Platform, Stream: "Payments", Batch: 1})); connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Errorf("backfill of a committed batch: %v, want FailedPrecondition", err)
	}
	recordHistory(t, h, "batch/YellowLive/Payments")
}

var recordHistories = flag.Bool("record-history", false, "write the histories of the backfill test's batch workflows to internal/workflows/testdata")

// recordHistory writes the histories of the workflows the stream's schedule started to
// internal/workflows/testdata when -record-history is set (the replay tests read them).
func recordHistory(t *testing.T, h *harness, scheduleID string) {
	t.Helper()
	if !*recordHistories {
		return
	}
	ctx := t.Context()
	desc, err := h.temporal.ScheduleClient().GetHandle(ctx, scheduleID).Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range desc.Info.RecentActions {
		id := a.StartWorkflowResult.WorkflowID
		data, err := exportHistory(ctx, h.temporal, id, a.StartWorkflowResult.FirstExecutionRunID)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Join("internal", "workflows", "testdata", fmt.Sprintf("batch_history_%d.json", i+1))
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("recorded %s (%s)", name, id)
	}
}

// exportHistory returns a workflow's history as JSON, the format `temporal workflow show
// --output json` writes and worker.WorkflowReplayer reads.
func exportHistory(ctx context.Context, c client.Client, id, runID string) ([]byte, error) {
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	hist := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, err
		}
		hist.Events = append(hist.Events, e)
	}
	return temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
}
