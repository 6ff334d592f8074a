package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/kit/natsserver"
	"github.com/datasurface/datasurface/kit/temporalserver"
	ingestv1 "github.com/datasurface/datasurface/proto/gen/datasurface/ingest/v1"
	"github.com/datasurface/datasurface/proto/gen/datasurface/ingest/v1/ingestv1connect"
	mergev1 "github.com/datasurface/datasurface/proto/gen/datasurface/merge/v1"
	"github.com/datasurface/datasurface/proto/gen/datasurface/merge/v1/mergev1connect"
	yellowv1 "github.com/datasurface/datasurface/proto/gen/datasurface/yellow/v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fakeMerge answers MergeService with canned data and records what it was asked.
type fakeMerge struct {
	mergev1connect.UnimplementedMergeServiceHandler
	asked []string
}

var t0 = time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)

var fakeBatches = []*yellowv1.Batch{
	{Platform: "YellowLive", Stream: "SalesDB", Id: 3, Status: yellowv1.BatchStatus_BATCH_STATUS_FAILED, Attempt: 2, StartTime: timestamppb.New(t0),
		Error: &yellowv1.BatchError{Phase: "ingest", Message: "column amount missing", Permanent: true}},
	{Platform: "YellowLive", Stream: "SalesDB", Id: 2, Status: yellowv1.BatchStatus_BATCH_STATUS_COMMITTED, Attempt: 1, Inserted: 5, Total: 5,
		StartTime: timestamppb.New(t0), EndTime: timestamppb.New(t0.Add(time.Second)), DataTime: timestamppb.New(t0),
		Datasets: []*yellowv1.DatasetRows{{Dataset: "orders", Staged: 5, Inserted: 5}}},
}

func (f *fakeMerge) ListBatches(_ context.Context, r *connect.Request[mergev1.ListBatchesRequest]) (*connect.Response[mergev1.ListBatchesResponse], error) {
	f.asked = append(f.asked, "list "+r.Msg.GetPlatform()+"/"+r.Msg.GetStream()+" "+r.Msg.GetPageToken())
	if r.Msg.GetPlatform() != "YellowLive" {
		return nil, connect.NewError(connect.CodeNotFound, errors.New(`platform "`+r.Msg.GetPlatform()+`" not found`))
	}
	// One batch a page, to exercise paging.
	if r.Msg.GetPageToken() == "" {
		return connect.NewResponse(&mergev1.ListBatchesResponse{ModelVersion: 7, Batches: fakeBatches[:1], NextPageToken: "p2"}), nil
	}
	return connect.NewResponse(&mergev1.ListBatchesResponse{ModelVersion: 7, Batches: fakeBatches[1:]}), nil
}

func (f *fakeMerge) GetBatch(_ context.Context, r *connect.Request[mergev1.GetBatchRequest]) (*connect.Response[mergev1.GetBatchResponse], error) {
	f.asked = append(f.asked, "get "+r.Msg.GetPlatform()+"/"+r.Msg.GetStream()+" "+itoaCLI(r.Msg.GetBatch()))
	for _, b := range fakeBatches {
		if b.GetId() == r.Msg.GetBatch() || (r.Msg.GetBatch() == 0 && b.GetId() == 3) {
			return connect.NewResponse(&mergev1.GetBatchResponse{ModelVersion: 7, Batch: b}), nil
		}
	}
	return nil, connect.NewError(connect.CodeNotFound, errors.New("batch 9 of stream SalesDB of platform YellowLive not found"))
}

func (f *fakeMerge) GetLag(_ context.Context, r *connect.Request[mergev1.GetLagRequest]) (*connect.Response[mergev1.GetLagResponse], error) {
	f.asked = append(f.asked, "lag "+r.Msg.GetPlatform())
	return connect.NewResponse(&mergev1.GetLagResponse{ModelVersion: 7, At: timestamppb.New(t0.Add(time.Hour)),
		Streams: []*mergev1.StreamLag{
			{Stream: "SalesDB", Committed: true, Batch: 2, DataTime: timestamppb.New(t0), Seconds: 3600},
			{Stream: "Payments"},
		},
		Workspaces: []*mergev1.WorkspaceLag{{Workspace: "SalesAnalytics", Streams: []string{"Payments", "SalesDB"}, Committed: true, Seconds: 3600}},
	}), nil
}

func itoaCLI(i int32) string { return strconv.Itoa(int(i)) }

func TestBatchesAndLag(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr string
		wantAsked  []string
	}{
		{name: "list pages", args: []string{"batches", "list", "--platform", "YellowLive", "--stream", "SalesDB"},
			wantStdout: []string{"SalesDB  3      failed     2", "ingest: column amount missing (permanent)", "SalesDB  2      committed  1", "(model version 7)"},
			wantAsked:  []string{"list YellowLive/SalesDB ", "list YellowLive/SalesDB p2"}},
		{name: "list limit", args: []string{"batches", "list", "--platform", "YellowLive", "--limit", "1"},
			wantStdout: []string{"SalesDB  3", "(more: raise --limit)"}, wantAsked: []string{"list YellowLive/ "}},
		{name: "list unknown platform", args: []string{"batches", "list", "--platform", "Nope"}, wantCode: 1,
			wantStderr: `platform "Nope" not found`, wantAsked: []string{"list Nope/ "}},
		{name: "list needs --platform", args: []string{"batches", "list"}, wantCode: 2, wantStderr: "--platform D is required"},
		{name: "get", args: []string{"batches", "get", "--platform", "YellowLive", "--stream", "SalesDB", "--batch", "2"},
			wantStdout: []string{"batch      YellowLive/SalesDB #2 (model version 7)", "status     committed (attempt 1", "rows       5 staged, 5 inserted", "orders   5       5"},
			wantAsked:  []string{"get YellowLive/SalesDB 2"}},
		{name: "get current", args: []string{"batches", "get", "--platform", "YellowLive", "--stream", "SalesDB"},
			wantStdout: []string{"#3", "error      ingest: column amount missing (permanent)"}, wantAsked: []string{"get YellowLive/SalesDB 0"}},
		{name: "get unknown batch", args: []string{"batches", "get", "--platform", "YellowLive", "--stream", "SalesDB", "--batch", "9"}, wantCode: 1,
			wantStderr: "batch 9 of stream SalesDB", wantAsked: []string{"get YellowLive/SalesDB 9"}},
		{name: "get needs --stream", args: []string{"batches", "get", "--platform", "YellowLive"}, wantCode: 2, wantStderr: "--stream STREAM is required"},
		{name: "lag", args: []string{"lag", "--platform", "YellowLive"},
			wantStdout: []string{"SalesDB   2      2026-01-02T03:00:00Z  1h0m0s", "Payments  -      -                     nothing committed", "SalesAnalytics  1h0m0s  Payments, SalesDB"},
			wantAsked:  []string{"lag YellowLive"}},
		{name: "lag json", args: []string{"lag", "--platform", "YellowLive", "--format", "json"},
			wantStdout: []string{`"stream": "SalesDB"`, `"seconds": 3600`}, wantAsked: []string{"lag YellowLive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeMerge{}
			_, h := mergev1connect.NewMergeServiceHandler(f)
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

func TestBatchesServerDown(t *testing.T) {
	_, stderr, code := runWith(t, nil, "lag", "--platform", "YellowLive", "--server", "http://127.0.0.1:1", "--timeout", "2s")
	if code != 2 || stderr == "" {
		t.Errorf("exit code %d, stderr %q; want 2 and a message", code, stderr)
	}
}

// TestServeMountsBatchAPIs: `serve --service=ingest,merge` mounts IngestService and
// MergeService next to the activity workers; with no model committed yet they answer
// Unavailable (not 404 or Unimplemented), and `datasurface lag` reports it with exit code 2.
func TestServeMountsBatchAPIs(t *testing.T) {
	ts := temporalserver.StartForTest(t)
	ns := natsserver.StartForTest(t)
	env := map[string]string{"DATASURFACE_NATS": ns.ClientURL(), "DATASURFACE_TEMPORAL": ts.Addr, "DATASURFACE_LOG_FORMAT": "text"}
	s := startServe(t, env, "--service", "ingest,merge", "--temporal-namespace", temporalserver.DefaultNamespace, "--log-level", "warn")

	merge := mergev1connect.NewMergeServiceClient(http.DefaultClient, s.url, connect.WithHTTPGet())
	_, err := merge.GetLag(t.Context(), connect.NewRequest(&mergev1.GetLagRequest{Platform: "YellowLive"}))
	if connect.CodeOf(err) != connect.CodeUnavailable || !strings.Contains(err.Error(), "no committed model") {
		t.Errorf("MergeService.GetLag: %v, want Unavailable: no committed model", err)
	}
	ingest := ingestv1connect.NewIngestServiceClient(http.DefaultClient, s.url, connect.WithHTTPGet())
	_, err = ingest.ListBatches(t.Context(), connect.NewRequest(&ingestv1.ListBatchesRequest{Platform: "YellowLive"}))
	if connect.CodeOf(err) != connect.CodeUnavailable {
		t.Errorf("IngestService.ListBatches: %v, want Unavailable", err)
	}
	_, stderr, code := runWith(t, map[string]string{"DATASURFACE_SERVER": s.url}, "lag", "--platform", "YellowLive")
	if code != 2 || !strings.Contains(stderr, "no committed model") {
		t.Errorf("lag: exit code %d, stderr %q", code, stderr)
	}
}
