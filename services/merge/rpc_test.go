package merge_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	cc "connectrpc.com/connect"
	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	mergev1 "github.com/datasurface/datasurface/proto/gen/datasurface/merge/v1"
	"github.com/datasurface/datasurface/proto/gen/datasurface/merge/v1/mergev1connect"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	yellowv1 "github.com/datasurface/datasurface/proto/gen/datasurface/yellow/v1"
	"github.com/datasurface/datasurface/services/merge"
	"github.com/datasurface/datasurface/services/merge/internal/mergetest"
)

// serveMerge serves svc's MergeService over HTTP and returns a client using GET for reads.
func serveMerge(t *testing.T, svc *merge.Service) mergev1connect.MergeServiceClient {
	t.Helper()
	path, h := mergev1connect.NewMergeServiceHandler(svc.Handler())
	mux := http.NewServeMux()
	mux.Handle(path, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return mergev1connect.NewMergeServiceClient(srv.Client(), srv.URL, cc.WithHTTPGet())
}

func wantCode(t *testing.T, what string, err error, want cc.Code) {
	t.Helper()
	if cc.CodeOf(err) != want {
		t.Errorf("%s: got %v (%v), want code %v", what, cc.CodeOf(err), err, want)
	}
}

// TestMergeServiceAPI answers every MergeService RPC through the generated client over HTTP
// against real batches in Postgres: before the first batch, after a committed, a failed and a
// resumed batch; pagination; tables and views against the model; lag; and the error codes.
func TestMergeServiceAPI(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, merge.Config{})
	svc := e.withBus(nil, merge.Config{})
	client := serveMerge(t, svc)
	const d = "YellowLive"

	// Nothing reconciled yet: no batches, nothing committed, tables and views pending.
	lb, err := client.ListBatches(ctx, cc.NewRequest(&mergev1.ListBatchesRequest{Platform: d}))
	if err != nil || len(lb.Msg.GetBatches()) != 0 || lb.Msg.GetModelVersion() != 1 {
		t.Fatalf("ListBatches before any batch: %v, %v", lb, err)
	}
	lag, err := client.GetLag(ctx, cc.NewRequest(&mergev1.GetLagRequest{Platform: d}))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range lag.Msg.GetStreams() {
		if s.GetCommitted() {
			t.Errorf("stream %s committed before any batch", s.GetStream())
		}
	}

	e.sql(sourceDDL, peopleRows("(1, 'ann', 'ann@x', 10)", "(2, 'bob', NULL, NULL)"), "INSERT INTO visits VALUES (1, 'home'), (2, 'cart')")
	e.mustCycle(d, "Shop")
	e.sql(peopleRows("(1, 'ann', 'ann@x', 11)"))
	e.act.SetBeforeCommit(func(context.Context) error { return context.DeadlineExceeded })
	_, _ = e.cycle(d, "Shop")
	e.act.SetBeforeCommit(nil)

	// Batch 2 is failed (attempt 1); batch 1 committed.
	lb, err = client.ListBatches(ctx, cc.NewRequest(&mergev1.ListBatchesRequest{Platform: d, Stream: "Shop"}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range lb.Msg.GetBatches() {
		got = append(got, b.GetStream()+"#"+itoa(b.GetId())+" "+b.GetStatus().String()+" attempt "+itoa(b.GetAttempt()))
	}
	diff(t, "ListBatches", []string{"Shop#2 BATCH_STATUS_FAILED attempt 1", "Shop#1 BATCH_STATUS_COMMITTED attempt 1"}, got)
	failed := lb.Msg.GetBatches()[0]
	if failed.GetError().GetPhase() != "merge" || failed.GetError().GetAt() == nil || failed.GetEndTime() == nil {
		t.Errorf("failed batch: %v", failed)
	}

	// Pagination: one batch a page.
	p1, err := client.ListBatches(ctx, cc.NewRequest(&mergev1.ListBatchesRequest{Platform: d, PageSize: 1}))
	if err != nil || len(p1.Msg.GetBatches()) != 1 || p1.Msg.GetNextPageToken() == "" || p1.Msg.GetBatches()[0].GetId() != 2 {
		t.Fatalf("page 1: %v, %v", p1, err)
	}
	p2, err := client.ListBatches(ctx, cc.NewRequest(&mergev1.ListBatchesRequest{Platform: d, PageSize: 1, PageToken: p1.Msg.GetNextPageToken()}))
	if err != nil || len(p2.Msg.GetBatches()) != 1 || p2.Msg.GetBatches()[0].GetId() != 1 {
		t.Fatalf("page 2: %v, %v", p2, err)
	}
	if p2.Msg.GetNextPageToken() != "" {
		p3, err := client.ListBatches(ctx, cc.NewRequest(&mergev1.ListBatchesRequest{Platform: d, PageSize: 1, PageToken: p2.Msg.GetNextPageToken()}))
		if err != nil || len(p3.Msg.GetBatches()) != 0 || p3.Msg.GetNextPageToken() != "" {
			t.Fatalf("page 3: %v, %v", p3, err)
		}
	}

	e.mustCycle(d, "Shop")
	gb, err := client.GetBatch(ctx, cc.NewRequest(&mergev1.GetBatchRequest{Platform: d, Stream: "Shop", Batch: 1}))
	if err != nil {
		t.Fatal(err)
	}
	b1 := gb.Msg.GetBatch()
	diff(t, "batch 1 datasets", []string{"people 2/2/0/0", "visits 2/2/0/0"}, datasetLines(b1.GetDatasets()))
	if b1.GetStatus() != yellowv1.BatchStatus_BATCH_STATUS_COMMITTED || b1.GetInserted() != 4 || b1.GetTotal() != 4 || b1.GetModelVersion() != 1 ||
		b1.GetDataTime() == nil || b1.GetStartTime() == nil || b1.GetEndTime() == nil || b1.GetError() != nil {
		t.Errorf("batch 1: %v", b1)
	}
	cur, err := client.GetBatch(ctx, cc.NewRequest(&mergev1.GetBatchRequest{Platform: d, Stream: "Shop"}))
	if err != nil || cur.Msg.GetBatch().GetId() != 2 || cur.Msg.GetBatch().GetAttempt() != 2 ||
		cur.Msg.GetBatch().GetStatus() != yellowv1.BatchStatus_BATCH_STATUS_COMMITTED || cur.Msg.GetBatch().GetError() != nil {
		t.Errorf("current batch: %v, %v", cur, err)
	}

	// Tables: the Shop stream's tables are in step, with their row counts.
	lt, err := client.ListTables(ctx, cc.NewRequest(&mergev1.ListTablesRequest{Platform: d, Stream: "Shop"}))
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, tb := range lt.Msg.GetTables() {
		got = append(got, tb.GetDataset()+" "+tb.GetKind()+" "+tb.GetState().String()+" "+itoa(int32(tb.GetRows())))
	}
	diff(t, "ListTables", []string{
		"people staging TABLE_STATE_IN_STEP 3", "people merge TABLE_STATE_IN_STEP 1",
		"visits staging TABLE_STATE_IN_STEP 4", "visits merge TABLE_STATE_IN_STEP 2",
	}, got)
	// A model that adds people.city: the merge and staging tables are pending, city missing.
	o := e.opts
	o.City = true
	e.setModel(o)
	lt, err = client.ListTables(ctx, cc.NewRequest(&mergev1.ListTablesRequest{Platform: d, Stream: "Shop"}))
	if err != nil {
		t.Fatal(err)
	}
	if tb := lt.Msg.GetTables()[1]; tb.GetState() != mergev1.TableState_TABLE_STATE_PENDING || len(tb.GetMissingColumns()) != 1 ||
		tb.GetMissingColumns()[0] != "city" || lt.Msg.GetModelVersion() != 2 {
		t.Errorf("merge table of people under model 2: %v", tb)
	}

	// Views: present; one dropped by hand is pending; unknown workspace NotFound.
	people := naming.LiveView(d, "Analytics", "main", "Shop", "people")
	visits := naming.LiveView(d, "Analytics", "main", "Shop", "visits")
	e.query("DROP VIEW " + ddl.Ident(visits))
	lv, err := client.ListViews(ctx, cc.NewRequest(&mergev1.ListViewsRequest{Platform: d, Workspace: "Analytics"}))
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, v := range lv.Msg.GetViews() {
		states[v.GetName()] = v.GetState().String()
		if v.GetName() == people.String() && (v.GetStream() != "Shop" || v.GetLagSeconds() <= 0) {
			t.Errorf("people view: %v", v)
		}
	}
	// Model 2 adds city to people, but the merge table lacks it yet, so the view is desired as
	// it is (present); visits was dropped (pending).
	if states[visits.String()] != "VIEW_STATE_PENDING" {
		t.Errorf("dropped view %s: %s", visits, states[visits.String()])
	}
	if states[people.String()] != "VIEW_STATE_PRESENT" {
		t.Errorf("view %s: %s", people, states[people.String()])
	}
	// Once the tables are reconciled to model 2, the people view lacks city: stale.
	if _, err := e.act.ReconcileTables(ctx, merge.ReconcileTablesInput{Platform: d, Version: e.v(), Streams: []string{"Shop"}}); err != nil {
		t.Fatal(err)
	}
	lv, err = client.ListViews(ctx, cc.NewRequest(&mergev1.ListViewsRequest{Platform: d, Workspace: "Analytics"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range lv.Msg.GetViews() {
		if v.GetName() == people.String() && v.GetState() != mergev1.ViewState_VIEW_STATE_STALE {
			t.Errorf("view %s after the tables took city: %s", people, v.GetState())
		}
	}

	// Lag: Shop committed batch 2; the Analytics workspace reads it.
	lag, err = client.GetLag(ctx, cc.NewRequest(&mergev1.GetLagRequest{Platform: d}))
	if err != nil {
		t.Fatal(err)
	}
	var shop *mergev1.StreamLag
	for _, s := range lag.Msg.GetStreams() {
		if s.GetStream() == "Shop" {
			shop = s
		}
	}
	if shop == nil || !shop.GetCommitted() || shop.GetBatch() != 2 || shop.GetSeconds() <= 0 || shop.GetDataTime() == nil {
		t.Errorf("Shop lag: %v", shop)
	}
	var analytics *mergev1.WorkspaceLag
	for _, w := range lag.Msg.GetWorkspaces() {
		if w.GetWorkspace() == "Analytics" {
			analytics = w
		}
	}
	if analytics == nil || !analytics.GetCommitted() || analytics.GetSeconds() < shop.GetSeconds() {
		t.Errorf("Analytics lag: %v (Shop %v)", analytics, shop)
	}

	// Error codes.
	for _, c := range []struct {
		name string
		call func() error
		want cc.Code
	}{
		{"no platform", func() error {
			_, err := client.ListBatches(ctx, cc.NewRequest(&mergev1.ListBatchesRequest{}))
			return err
		}, cc.CodeInvalidArgument},
		{"unknown platform", func() error {
			_, err := client.GetLag(ctx, cc.NewRequest(&mergev1.GetLagRequest{Platform: "Nope"}))
			return err
		}, cc.CodeNotFound},
		{"unknown stream", func() error {
			_, err := client.ListBatches(ctx, cc.NewRequest(&mergev1.ListBatchesRequest{Platform: d, Stream: "Nope"}))
			return err
		}, cc.CodeNotFound},
		{"unknown batch", func() error {
			_, err := client.GetBatch(ctx, cc.NewRequest(&mergev1.GetBatchRequest{Platform: d, Stream: "Shop", Batch: 99}))
			return err
		}, cc.CodeNotFound},
		{"stream without batches", func() error {
			_, err := client.GetBatch(ctx, cc.NewRequest(&mergev1.GetBatchRequest{Platform: d, Stream: "Clicks"}))
			return err
		}, cc.CodeNotFound},
		{"negative batch", func() error {
			_, err := client.GetBatch(ctx, cc.NewRequest(&mergev1.GetBatchRequest{Platform: d, Stream: "Shop", Batch: -1}))
			return err
		}, cc.CodeInvalidArgument},
		{"no stream", func() error {
			_, err := client.GetBatch(ctx, cc.NewRequest(&mergev1.GetBatchRequest{Platform: d}))
			return err
		}, cc.CodeInvalidArgument},
		{"page size", func() error {
			_, err := client.ListBatches(ctx, cc.NewRequest(&mergev1.ListBatchesRequest{Platform: d, PageSize: 5000}))
			return err
		}, cc.CodeInvalidArgument},
		{"page token", func() error {
			_, err := client.ListBatches(ctx, cc.NewRequest(&mergev1.ListBatchesRequest{Platform: d, PageToken: "!!"}))
			return err
		}, cc.CodeInvalidArgument},
		{"unknown workspace", func() error {
			_, err := client.ListViews(ctx, cc.NewRequest(&mergev1.ListViewsRequest{Platform: d, Workspace: "Nope"}))
			return err
		}, cc.CodeNotFound},
	} {
		wantCode(t, c.name, c.call(), c.want)
	}
}

// TestMergeServiceUnavailable: no committed model, and a merge database nobody listens on,
// answer Unavailable.
func TestMergeServiceUnavailable(t *testing.T) {
	ctx := context.Background()
	empty := &models{m: map[int64]*modelv1.Model{}}
	svc, err := merge.New(merge.Config{}, merge.Deps{Models: empty, Secrets: trustSecrets{}, Latest: latest{empty}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	_, err = serveMerge(t, svc).ListBatches(ctx, cc.NewRequest(&mergev1.ListBatchesRequest{Platform: "YellowLive"}))
	wantCode(t, "no committed model", err, cc.CodeUnavailable)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	down := &models{m: map[int64]*modelv1.Model{1: mergetest.Load(t, mergetest.Options{Host: "127.0.0.1", Port: port, MergeDB: "merge", SourceDB: "src"})}}
	svc, err = merge.New(merge.Config{}, merge.Deps{Models: down, Secrets: trustSecrets{}, Latest: latest{down}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	client := serveMerge(t, svc)
	_, err = client.GetLag(ctx, cc.NewRequest(&mergev1.GetLagRequest{Platform: "YellowLive"}))
	wantCode(t, "merge database down", err, cc.CodeUnavailable)
	_, err = client.GetBatch(ctx, cc.NewRequest(&mergev1.GetBatchRequest{Platform: "YellowLive", Stream: "Shop", Batch: 1}))
	wantCode(t, "merge database down (GetBatch)", err, cc.CodeUnavailable)
}

func datasetLines(ds []*yellowv1.DatasetRows) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.GetDataset()+" "+itoa(int32(d.GetStaged()))+"/"+itoa(int32(d.GetInserted()))+"/"+itoa(int32(d.GetUpdated()))+"/"+itoa(int32(d.GetDeleted())))
	}
	return out
}

func itoa(i int32) string { return strconv.Itoa(int(i)) }
