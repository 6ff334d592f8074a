package ingest_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/kit/natsserver"
	"github.com/datasurface/datasurface/kit/opsbus"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	ingestv1 "github.com/datasurface/datasurface/proto/gen/datasurface/ingest/v1"
	"github.com/datasurface/datasurface/proto/gen/datasurface/ingest/v1/ingestv1connect"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	yellowv1 "github.com/datasurface/datasurface/proto/gen/datasurface/yellow/v1"
	"github.com/datasurface/datasurface/services/ingest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
)

// headModel is a LatestModel holding one model that tests replace.
type headModel struct {
	mu sync.Mutex
	v  int64
	m  *modelv1.Model
}

func (h *headModel) set(m *modelv1.Model) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.v++
	h.m = m
}

func (h *headModel) Latest(context.Context) (int64, string, *modelv1.Model, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.v, "", h.m, nil
}

// busService is the env's ingest service with events on js and the API under head.
func (e *env) busService(js jetstream.JetStream, head *headModel) *ingest.Service {
	e.t.Helper()
	svc, err := ingest.New(ingest.Config{SSLMode: "disable"}, ingest.Deps{JS: js, Latest: head, Secrets: ingest.Credentials{LookupEnv: func(k string) (string, bool) {
		v, ok := e.vars[k]
		return v, ok
	}}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(svc.Close)
	return svc
}

func serveIngest(t *testing.T, svc *ingest.Service) ingestv1connect.IngestServiceClient {
	t.Helper()
	path, h := ingestv1connect.NewIngestServiceHandler(svc.Handler())
	mux := http.NewServeMux()
	mux.Handle(path, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return ingestv1connect.NewIngestServiceClient(srv.Client(), srv.URL, connect.WithHTTPGet())
}

func ingestedEvents(t *testing.T, js jetstream.JetStream) []*jetstream.RawStreamMsg {
	t.Helper()
	s, err := js.Stream(t.Context(), opsbus.Stream)
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := uint64(1); ; {
		m, err := s.GetMsg(t.Context(), seq, jetstream.WithGetMsgSubject(opsbus.SubjectBatch+">"))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
		seq = m.Sequence + 1
	}
}

func wantCode(t *testing.T, what string, err error, want connect.Code) {
	t.Helper()
	if connect.CodeOf(err) != want {
		t.Errorf("%s: got %v (%v), want %v", what, connect.CodeOf(err), err, want)
	}
}

// TestIngestServiceAPIAndEvents ingests real batches with a service that publishes on an
// in-process JetStream and answers IngestService through the generated client over HTTP:
// ds.batch.<platform>.ingested exactly once per ingest (a retried IngestBatch is dropped by its
// Nats-Msg-Id; a failed ingest publishes nothing), the batches as the merge database records
// them, source checks of good and broken sources, and the error codes.
func TestIngestServiceAPIAndEvents(t *testing.T) {
	ctx := context.Background()
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
	e := newEnv(t)
	people := dataset("people", []string{"id"}, col("id", typ("Integer"), false), col("name", sized("VarChar", 20), true))
	b := dataset("b", []string{"id"}, col("id", typ("Integer"), false), col("name", typ("VarChar"), true), col("qty", typ("Integer"), true))
	c := dataset("c", []string{"id"}, col("id", typ("Integer"), false))
	d := dataset("d", []string{"id"}, col("id", typ("Integer"), false), col("day", typ("Integer"), true))
	m := e.model(e.snapshotStore("Shop", modelv1.Consistency_CONSISTENCY_SINGLE_DATASET, nil, people),
		e.snapshotStore("Broken", modelv1.Consistency_CONSISTENCY_MULTI_DATASET, nil, b, c, d))
	e.execSrc(`CREATE TABLE people (id int PRIMARY KEY, name text); INSERT INTO people VALUES (1, 'ann'), (2, 'bob');
		CREATE TABLE b (id int, "Name" text); CREATE TABLE d (id int, day date)`)
	e.setup(m)
	head := &headModel{}
	head.set(m)
	svc := e.busService(js, head)
	client := serveIngest(t, svc)
	e.svc = svc

	// Batch 1: ingested once, announced once; a retried IngestBatch finds it ingested.
	b1 := e.open(m, "Shop#people")
	res := e.mustIngest(m, "Shop#people", b1)
	if again := e.mustIngest(m, "Shop#people", b1); !again.AlreadyIngested {
		t.Fatalf("second ingest: %+v", again)
	}
	evs := ingestedEvents(t, js)
	if len(evs) != 1 {
		t.Fatalf("%d events after one ingest and its retry, want 1", len(evs))
	}
	if evs[0].Subject != "ds.batch.Test_DP.ingested" || evs[0].Header.Get(jetstream.MsgIDHeader) != "Test_DP/Shop#people/1/ingested/1" {
		t.Errorf("event %s %s", evs[0].Subject, evs[0].Header.Get(jetstream.MsgIDHeader))
	}
	ev := &eventsv1.BatchIngested{}
	if err := proto.Unmarshal(evs[0].Data, ev); err != nil {
		t.Fatal(err)
	}
	want := &eventsv1.BatchIngested{
		Batch:   &eventsv1.BatchRef{Platform: platform, Stream: "Shop#people", Batch: 1, Attempt: 1, ModelVersion: 1},
		Capture: "snapshot", Total: 2, Bytes: res.Bytes, DataTime: ev.GetDataTime(), Duration: ev.GetDuration(),
		Datasets: []*eventsv1.DatasetRows{{Dataset: "people", Staged: 2}},
	}
	if !proto.Equal(want, ev) || !ev.GetDataTime().AsTime().Equal(res.DataTime) {
		t.Errorf("BatchIngested = %v, want %v", ev, want)
	}

	// A failed ingest (source table broken) publishes nothing.
	e.execSrc(`ALTER TABLE people RENAME TO people_gone`)
	e.commit(m, "Shop#people", b1)
	b2 := e.open(m, "Shop#people")
	if _, err := e.ingest(ctx, m, "Shop#people", b2); err == nil {
		t.Fatal("ingest of a missing table succeeded")
	}
	if n := len(ingestedEvents(t, js)); n != 1 {
		t.Errorf("%d events after a failed ingest, want 1", n)
	}
	e.execSrc(`ALTER TABLE people_gone RENAME TO people`)

	// ListBatches / GetBatch.
	lb, err := client.ListBatches(ctx, connect.NewRequest(&ingestv1.ListBatchesRequest{Platform: platform}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range lb.Msg.GetBatches() {
		got = append(got, x.GetStream()+" "+x.GetStatus().String())
	}
	if strings.Join(got, ", ") != "Shop#people BATCH_STATUS_STARTED, Shop#people BATCH_STATUS_COMMITTED" || lb.Msg.GetModelVersion() != 1 {
		t.Errorf("ListBatches: %v (model version %d)", got, lb.Msg.GetModelVersion())
	}
	gb, err := client.GetBatch(ctx, connect.NewRequest(&ingestv1.GetBatchRequest{Platform: platform, Stream: "Shop#people", Batch: 1}))
	if err != nil {
		t.Fatal(err)
	}
	if x := gb.Msg.GetBatch(); x.GetTotal() != 2 || len(x.GetDatasets()) != 1 || x.GetDatasets()[0].GetStaged() != 2 ||
		x.GetAttempt() != 1 || x.GetDataTime() == nil || x.GetStatus() != yellowv1.BatchStatus_BATCH_STATUS_COMMITTED {
		t.Errorf("GetBatch 1: %v", x)
	}
	cur, err := client.GetBatch(ctx, connect.NewRequest(&ingestv1.GetBatchRequest{Platform: platform, Stream: "Shop#people"}))
	if err != nil || cur.Msg.GetBatch().GetId() != 2 {
		t.Errorf("current batch: %v, %v", cur, err)
	}

	// Source checks.
	ok, err := client.CheckSource(ctx, connect.NewRequest(&ingestv1.CheckSourceRequest{Platform: platform, Stream: "Shop#people"}))
	if err != nil {
		t.Fatal(err)
	}
	if !ok.Msg.GetOk() || !ok.Msg.GetConnected() || len(ok.Msg.GetDatasets()) != 1 || ok.Msg.GetDatasets()[0].GetTable() != `"public"."people"` {
		t.Errorf("CheckSource Shop#people: %v", ok.Msg)
	}
	bad, err := client.CheckSource(ctx, connect.NewRequest(&ingestv1.CheckSourceRequest{Platform: platform, Stream: "Broken"}))
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, dc := range bad.Msg.GetDatasets() {
		got = append(got, dc.GetDataset()+" "+dc.GetCode())
	}
	if bad.Msg.GetOk() || !bad.Msg.GetConnected() || strings.Join(got, ", ") != "b column-missing, c source-table-missing, d column-type" {
		t.Errorf("CheckSource Broken: ok %v, %v", bad.Msg.GetOk(), got)
	}
	if p := bad.Msg.GetDatasets()[0].GetProblem(); !strings.Contains(p, `(the source has "Name"; column names are case-sensitive)`) {
		t.Errorf("problem of b: %s", p)
	}

	// Error codes.
	for _, c := range []struct {
		name string
		err  error
		want connect.Code
	}{
		{"no platform", call(client.ListBatches(ctx, connect.NewRequest(&ingestv1.ListBatchesRequest{}))), connect.CodeInvalidArgument},
		{"unknown platform", call(client.ListBatches(ctx, connect.NewRequest(&ingestv1.ListBatchesRequest{Platform: "Nope"}))), connect.CodeNotFound},
		{"unknown stream", call(client.GetBatch(ctx, connect.NewRequest(&ingestv1.GetBatchRequest{Platform: platform, Stream: "Nope"}))), connect.CodeNotFound},
		{"unknown batch", call(client.GetBatch(ctx, connect.NewRequest(&ingestv1.GetBatchRequest{Platform: platform, Stream: "Shop#people", Batch: 9}))), connect.CodeNotFound},
		{"bad page token", call(client.ListBatches(ctx, connect.NewRequest(&ingestv1.ListBatchesRequest{Platform: platform, PageToken: "x"}))), connect.CodeInvalidArgument},
		{"check without stream", call(client.CheckSource(ctx, connect.NewRequest(&ingestv1.CheckSourceRequest{Platform: platform}))), connect.CodeInvalidArgument},
		{"check unknown stream", call(client.CheckSource(ctx, connect.NewRequest(&ingestv1.CheckSourceRequest{Platform: platform, Stream: "Nope"}))), connect.CodeNotFound},
	} {
		wantCode(t, c.name, c.err, c.want)
	}

	// Unreachable databases: the source → connected false with the reason; the merge database
	// → Unavailable.
	port := freePort(t)
	down := proto.Clone(m).(*modelv1.Model)
	down.GetDatastores()[0].GetCapture().GetSqlSnapshot().GetContainer().GetPostgres().Port = int32(port)
	head.set(down)
	unreach, err := client.CheckSource(ctx, connect.NewRequest(&ingestv1.CheckSourceRequest{Platform: platform, Stream: "Shop#people"}))
	if err != nil {
		t.Fatal(err)
	}
	if unreach.Msg.GetConnected() || unreach.Msg.GetOk() || unreach.Msg.GetConnectError() == "" {
		t.Errorf("CheckSource of a source nobody listens on: %v", unreach.Msg)
	}
	down = proto.Clone(m).(*modelv1.Model)
	down.GetPsps()[0].GetPlatforms()[0].GetYellow().GetMergeDatabase().GetPostgres().Port = int32(port)
	head.set(down)
	_, err = client.ListBatches(ctx, connect.NewRequest(&ingestv1.ListBatchesRequest{Platform: platform}))
	wantCode(t, "merge database down", err, connect.CodeUnavailable)

	// No model: Unavailable.
	empty := e.busService(nil, &headModel{})
	_, err = serveIngest(t, empty).ListBatches(ctx, connect.NewRequest(&ingestv1.ListBatchesRequest{Platform: platform}))
	wantCode(t, "no committed model", err, connect.CodeUnavailable)
}

func call[T any](_ T, err error) error { return err }
