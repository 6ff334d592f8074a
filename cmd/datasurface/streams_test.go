package main

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	schedulerv1 "github.com/datasurface/datasurface/proto/gen/datasurface/scheduler/v1"
	"github.com/datasurface/datasurface/proto/gen/datasurface/scheduler/v1/schedulerv1connect"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fakeScheduler answers SchedulerService with canned data and records what it was asked.
type fakeScheduler struct {
	schedulerv1connect.UnimplementedSchedulerServiceHandler
	asked []string
}

var fakeStreams = []*schedulerv1.Stream{
	{Platform: "YellowLive", Key: "SalesDB", Capture: "sqlSnapshot", Trigger: schedulerv1.TriggerKind_TRIGGER_KIND_CRON, Cron: "*/10 * * * *",
		Schedule: &schedulerv1.Schedule{Id: "batch/YellowLive/SalesDB", Exists: true,
			NextRuns: []*timestamppb.Timestamp{timestamppb.New(time.Date(2026, 1, 2, 3, 10, 0, 0, time.UTC))}}},
	{Platform: "YellowLive", Key: "Payments", Capture: "sqlSnapshot", Trigger: schedulerv1.TriggerKind_TRIGGER_KIND_EXTERNAL,
		Schedule: &schedulerv1.Schedule{Id: "batch/YellowLive/Payments", Exists: true, Paused: true}},
	{Platform: "YellowForensic", Key: "Payments", Capture: "remote", Trigger: schedulerv1.TriggerKind_TRIGGER_KIND_EXTERNAL,
		Schedule: &schedulerv1.Schedule{Id: "batch/YellowForensic/Payments", Exists: true, Paused: true}},
}

func (f *fakeScheduler) ListStreams(_ context.Context, r *connect.Request[schedulerv1.ListStreamsRequest]) (*connect.Response[schedulerv1.ListStreamsResponse], error) {
	f.asked = append(f.asked, "list "+r.Msg.GetPlatform())
	return connect.NewResponse(&schedulerv1.ListStreamsResponse{ModelVersion: 7, Streams: fakeStreams}), nil
}

func (f *fakeScheduler) GetStream(_ context.Context, r *connect.Request[schedulerv1.GetStreamRequest]) (*connect.Response[schedulerv1.GetStreamResponse], error) {
	f.asked = append(f.asked, "get "+r.Msg.GetPlatform()+"/"+r.Msg.GetStream())
	if r.Msg.GetStream() != "SalesDB" {
		return nil, connect.NewError(connect.CodeNotFound, errors.New("stream not found"))
	}
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	return connect.NewResponse(&schedulerv1.GetStreamResponse{ModelVersion: 7, Stream: fakeStreams[0],
		Lag: &schedulerv1.Lag{Batch: 2, Seconds: 90, DataTime: timestamppb.New(t0)},
		Batches: []*schedulerv1.Batch{
			{Id: 3, Status: schedulerv1.BatchStatus_BATCH_STATUS_FAILED, Attempt: 2, StartTime: timestamppb.New(t0),
				Error: &schedulerv1.BatchError{Phase: "ingest", Message: "column amount missing", Permanent: true}},
			{Id: 2, Status: schedulerv1.BatchStatus_BATCH_STATUS_COMMITTED, Attempt: 1, Inserted: 5, Total: 5,
				StartTime: timestamppb.New(t0), EndTime: timestamppb.New(t0.Add(time.Second))},
		}}), nil
}

func (f *fakeScheduler) Trigger(_ context.Context, r *connect.Request[schedulerv1.TriggerRequest]) (*connect.Response[schedulerv1.TriggerResponse], error) {
	f.asked = append(f.asked, "trigger "+r.Msg.GetPlatform()+"/"+r.Msg.GetStream())
	return connect.NewResponse(&schedulerv1.TriggerResponse{ScheduleId: "batch/" + r.Msg.GetPlatform() + "/" + r.Msg.GetStream()}), nil
}

func (f *fakeScheduler) Pause(_ context.Context, r *connect.Request[schedulerv1.PauseRequest]) (*connect.Response[schedulerv1.PauseResponse], error) {
	f.asked = append(f.asked, "pause "+r.Msg.GetStream()+" "+r.Msg.GetReason())
	return connect.NewResponse(&schedulerv1.PauseResponse{Schedule: &schedulerv1.Schedule{Id: "batch/YellowLive/SalesDB", Exists: true, Paused: true}}), nil
}

func (f *fakeScheduler) Backfill(_ context.Context, r *connect.Request[schedulerv1.BackfillRequest]) (*connect.Response[schedulerv1.BackfillResponse], error) {
	f.asked = append(f.asked, "backfill "+r.Msg.GetStream())
	if r.Msg.GetBatch() != 3 {
		return nil, connect.NewError(connect.CodeFailedPrecondition, errors.New("batch 2 of SalesDB is committed, not failed"))
	}
	return connect.NewResponse(&schedulerv1.BackfillResponse{Batch: &schedulerv1.Batch{Id: 3, Attempt: 2,
		Error: &schedulerv1.BatchError{Message: "column amount missing"}}}), nil
}

func TestStreams(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr string
		wantAsked  []string
	}{
		{name: "list", args: []string{"streams", "list"},
			wantStdout: []string{"YellowLive      SalesDB   sqlSnapshot  cron */10 * * * *  active     2026-01-02T03:10:00Z", "(model version 7)"},
			wantAsked:  []string{"list "}},
		{name: "get resolves the platform", args: []string{"streams", "get", "SalesDB"},
			wantStdout: []string{"stream     YellowLive/SalesDB (model version 7)", "lag        1m30s (batch 2", "3      failed", "ingest: column amount missing (permanent)"},
			wantAsked:  []string{"list ", "get YellowLive/SalesDB"}},
		{name: "get unknown stream", args: []string{"streams", "get", "Nope", "--platform", "YellowLive"}, wantCode: 1,
			wantStderr: "stream not found", wantAsked: []string{"get YellowLive/Nope"}},
		{name: "ambiguous platform", args: []string{"streams", "trigger", "Payments"}, wantCode: 2,
			wantStderr: "choose one with --platform", wantAsked: []string{"list "}},
		{name: "trigger", args: []string{"streams", "trigger", "Payments", "--platform", "YellowForensic"},
			wantStdout: []string{"triggered YellowForensic/Payments (batch/YellowForensic/Payments)"}, wantAsked: []string{"trigger YellowForensic/Payments"}},
		{name: "pause", args: []string{"streams", "pause", "SalesDB", "--platform", "YellowLive", "--reason", "maintenance"},
			wantStdout: []string{"schedule batch/YellowLive/SalesDB paused"}, wantAsked: []string{"pause SalesDB maintenance"}},
		{name: "backfill", args: []string{"streams", "backfill", "SalesDB", "--batch", "3", "--platform", "YellowLive"},
			wantStdout: []string{"re-running batch 3 of YellowLive/SalesDB"}, wantAsked: []string{"backfill SalesDB"}},
		{name: "backfill refused", args: []string{"streams", "backfill", "SalesDB", "--batch", "2", "--platform", "YellowLive"}, wantCode: 1,
			wantStderr: "not failed", wantAsked: []string{"backfill SalesDB"}},
		{name: "backfill needs --batch", args: []string{"streams", "backfill", "SalesDB"}, wantCode: 2, wantStderr: "--batch B is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeScheduler{}
			_, h := schedulerv1connect.NewSchedulerServiceHandler(f)
			srv := httptest.NewServer(h)
			defer srv.Close()
			stdout, stderr, code := runWith(t, map[string]string{"DATASURFACE_SERVER": srv.URL}, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr: %s", code, tt.wantCode, stderr)
			}
			for _, w := range tt.wantStdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantStderr)
			}
			if diff := cmp.Diff(tt.wantAsked, f.asked); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStreamsServerDown(t *testing.T) {
	_, stderr, code := runWith(t, nil, "streams", "list", "--server", "http://127.0.0.1:1", "--timeout", "2s")
	if code != 2 || stderr == "" {
		t.Errorf("exit code %d, stderr %q; want 2 and a message", code, stderr)
	}
}
