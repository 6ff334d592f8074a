package security_test

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/kit/events"
	"github.com/datasurface/datasurface/kit/modelbus"
	"github.com/datasurface/datasurface/kit/natsserver"
	"github.com/datasurface/datasurface/kit/server"
	"github.com/datasurface/datasurface/model/load"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	securityv1 "github.com/datasurface/datasurface/proto/gen/datasurface/security/v1"
	"github.com/datasurface/datasurface/proto/gen/datasurface/security/v1/securityv1connect"
	"github.com/datasurface/datasurface/services/security"
	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func snapshotOf(t *testing.T, dir string) *modelv1.Snapshot {
	t.Helper()
	snap := &modelv1.Snapshot{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		snap.Files = append(snap.Files, &modelv1.SnapshotFile{Path: filepath.ToSlash(rel), Content: b})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func digestOf(t *testing.T, snap *modelv1.Snapshot) string {
	t.Helper()
	var files []load.File
	for _, f := range snap.GetFiles() {
		files = append(files, load.File{Path: f.GetPath(), Content: f.GetContent()})
	}
	res, err := load.Files(files, load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res.Digest
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// opsMessages returns the messages of the OPS stream on subject.
func opsMessages(t *testing.T, js jetstream.JetStream, subject string) []*jetstream.RawStreamMsg {
	t.Helper()
	s, err := js.Stream(t.Context(), "OPS")
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := uint64(1); ; {
		m, err := s.GetMsg(t.Context(), seq, jetstream.WithGetMsgSubject(subject))
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

// TestServiceEndToEnd runs the service as deployed: it consumes ds.model.committed (snapshot
// loaded by digest from the snapshot store), applies both platforms, publishes the audit events
// on ds.security.<platform>.*, and answers Plan, Apply, ExplainAccess and ListGrants through the
// generated Connect client over HTTP.
func TestServiceEndToEnd(t *testing.T) {
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
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if _, err := modelbus.DeclareStream(ctx, js); err != nil {
		t.Fatal(err)
	}
	snaps, err := modelbus.OpenSnapshots(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	commit := func(v int64, snap *modelv1.Snapshot) {
		digest := digestOf(t, snap)
		if err := snaps.Put(ctx, digest, snap); err != nil {
			t.Fatal(err)
		}
		ev := &eventsv1.ModelCommitted{Version: v, Digest: digest, CommittedAt: timestamppb.Now()}
		if _, err := events.Publish(ctx, js, modelbus.SubjectCommitted, "commit-"+digest, ev); err != nil {
			t.Fatal(err)
		}
	}

	f := newFixture(t, loadAcme(t), security.Config{Instance: "security-test-1"}, security.Deps{JS: js})
	done := make(chan error, 1)
	go func() { done <- f.svc.Run(ctx) }()
	srv := server.New("127.0.0.1:0", nil)
	f.svc.Register(srv)
	go func() { _ = srv.Run(ctx) }()
	addr, err := srv.Addr(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client := securityv1connect.NewSecurityServiceClient(http.DefaultClient, "http://"+addr)

	acme := snapshotOf(t, "../../examples/acme")
	commit(1, acme)
	waitFor(t, "the committed model applied", func() bool {
		return f.roleExists("yellowlive_ws_salesanalytics") && slices.Contains(f.members("yellowlive_ws_salesanalytics"), "bi_reader") &&
			f.roleExists("yellowforensic_ws_riskanalytics")
	})

	// The merge service makes tables and views; an RPC apply grants the reader its tables.
	f.build(platForensic)
	f.build(platLive)
	for _, d := range []string{platForensic, platLive} {
		resp, err := client.Apply(ctx, connect.NewRequest(&securityv1.ApplyRequest{Platform: d, ModelVersion: 1}))
		if err != nil {
			t.Fatalf("Apply %s: %v", d, err)
		}
		if resp.Msg.GetApplied().GetModelVersion() != 1 {
			t.Errorf("applied version %d", resp.Msg.GetApplied().GetModelVersion())
		}
		plan, err := client.Plan(ctx, connect.NewRequest(&securityv1.PlanRequest{Platform: d}))
		if err != nil {
			t.Fatal(err)
		}
		if n := len(plan.Msg.GetPlan().GetActions()); n != 0 {
			t.Errorf("plan of %s after apply: %v", d, ops(plan.Msg.GetPlan()))
		}
	}

	// Audit: applied and access events name the platform, version and instance; nothing holds
	// a secret.
	applied := opsMessages(t, js, "ds.security.YellowLive.applied")
	if len(applied) == 0 {
		t.Fatal("no ds.security.YellowLive.applied event")
	}
	first := &eventsv1.SecurityApplied{}
	if err := proto.Unmarshal(applied[0].Data, first); err != nil {
		t.Fatal(err)
	}
	if first.GetModelVersion() != 1 || first.GetInstance() != "security-test-1" || first.GetPlatform() != platLive || len(first.GetActions()) == 0 {
		t.Errorf("applied event: version %d instance %q platform %q, %d actions", first.GetModelVersion(), first.GetInstance(), first.GetPlatform(), len(first.GetActions()))
	}
	granted := opsMessages(t, js, "ds.security.YellowLive.access.granted")
	var principals []string
	for _, m := range granted {
		ev := &eventsv1.SecurityAccessChanged{}
		if err := proto.Unmarshal(m.Data, ev); err != nil {
			t.Fatal(err)
		}
		if ev.GetRole() == "yellowlive_ws_salesanalytics" {
			principals = append(principals, ev.GetPrincipal()+"@"+ev.GetWorkspace())
		}
	}
	if diff := cmp.Diff([]string{"bi_reader@SalesAnalytics"}, principals); diff != "" {
		t.Errorf("access.granted on SalesAnalytics (-want +got):\n%s", diff)
	}
	for _, m := range opsMessages(t, js, "ds.security.>") {
		if strings.Contains(string(m.Data), knownPassword) || strings.Contains(string(m.Data), "SCRAM-SHA-256") {
			t.Errorf("event %s carries a secret", m.Subject)
		}
	}
	if len(opsMessages(t, js, "ds.security.YellowLive.plan.computed")) == 0 {
		t.Error("no plan.computed event")
	}

	// ExplainAccess and ListGrants over the wire.
	ex, err := client.ExplainAccess(ctx, connect.NewRequest(&securityv1.ExplainAccessRequest{Principal: "bi_reader", Datastore: "SalesDB", Dataset: "orders"}))
	if err != nil {
		t.Fatal(err)
	}
	wantEx := &securityv1.ExplainAccessResponse{
		Principal: "bi_reader", Dataset: "SalesDB.orders", ModelVersion: 1,
		Answers: []*securityv1.AccessAnswer{{
			Platform: platLive, Access: true,
			Paths: []*securityv1.AccessPath{{
				Role: "yellowlive_ws_salesanalytics", Workspace: "SalesAnalytics", Via: "consumer", DatasetGroup: "main",
				Schema: "yellowlive_salesanalytics",
				Views:  []*securityv1.ViewAccess{{Name: "yellowlive_salesanalytics.yellowlive_salesanalytics_main_salesdb_orders_view_live", Kind: "live"}},
			}},
			Live: &securityv1.LiveAccess{Checked: true, PrincipalExists: true, Membership: true,
				Select: map[string]bool{
					"yellowlive_salesanalytics.yellowlive_salesanalytics_main_salesdb_orders_view_live":   true,
					"yellowlive_customertotals.yellowlive_customertotals_inputs_salesdb_orders_view_live": false,
				}},
		}},
	}
	if diff := cmp.Diff(wantEx, ex.Msg, protocmp.Transform(), protocmp.IgnoreFields(&securityv1.AccessPath{}, "consumer_at")); diff != "" {
		t.Errorf("ExplainAccess (-want +got):\n%s", diff)
	}
	grants, err := client.ListGrants(ctx, connect.NewRequest(&securityv1.ListGrantsRequest{Platform: platLive, Role: "bi_reader"}))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*securityv1.Grant{{Kind: "membership", ObjectType: "role", Object: "yellowlive_ws_salesanalytics", Grantee: "bi_reader", Grantor: secLogin, Desired: true}},
		grants.Msg.GetGrants(), protocmp.Transform()); diff != "" {
		t.Errorf("ListGrants (-want +got):\n%s", diff)
	}

	// Errors map to codes.
	if _, err := client.Apply(ctx, connect.NewRequest(&securityv1.ApplyRequest{Platform: platLive, ExpectedDigest: "nope"})); connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Errorf("Apply with a stale digest: %v", err)
	}
	if _, err := client.Plan(ctx, connect.NewRequest(&securityv1.PlanRequest{Platform: "NoSuch"})); connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("Plan of an unknown platform: %v", err)
	}
	if _, err := client.ExplainAccess(ctx, connect.NewRequest(&securityv1.ExplainAccessRequest{Principal: "x"})); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Errorf("ExplainAccess without a dataset: %v", err)
	}

	// Version 2 removes bi_reader: the consumer revokes it and publishes access.revoked.
	edited := proto.Clone(acme).(*modelv1.Snapshot)
	for _, fl := range edited.Files {
		if strings.HasSuffix(fl.Path, "SalesAnalytics.yaml") {
			fl.Content = []byte(strings.Replace(string(fl.Content), "consumers: [bi_reader]", "consumers: []", 1))
		}
	}
	commit(2, edited)
	waitFor(t, "version 2 applied", func() bool { return !slices.Contains(f.members("yellowlive_ws_salesanalytics"), "bi_reader") })
	waitFor(t, "access.revoked", func() bool { return len(opsMessages(t, js, "ds.security.YellowLive.access.revoked")) > 0 })
	rev := &eventsv1.SecurityAccessChanged{}
	if err := proto.Unmarshal(opsMessages(t, js, "ds.security.YellowLive.access.revoked")[0].Data, rev); err != nil {
		t.Fatal(err)
	}
	if rev.GetPrincipal() != "bi_reader" || rev.GetModelVersion() != 2 || rev.GetGranted() {
		t.Errorf("access.revoked: %v", rev)
	}
	// A periodic check finds a hand-made membership no model version explains: drift.detected,
	// then it is revoked.
	f.env.Exec(`GRANT yellowlive_ws_paymentsops TO outsider`)
	if err := f.svc.CheckDrift(ctx); err != nil {
		t.Fatal(err)
	}
	drift := opsMessages(t, js, "ds.security.YellowLive.drift.detected")
	if len(drift) != 1 {
		t.Fatalf("%d drift events", len(drift))
	}
	dev := &eventsv1.SecurityDriftDetected{}
	if err := proto.Unmarshal(drift[0].Data, dev); err != nil {
		t.Fatal(err)
	}
	if len(dev.GetDrift()) != 1 || dev.GetDrift()[0].GetGrantee() != "outsider" || dev.GetModelVersion() != 2 {
		t.Errorf("drift event: %v", dev)
	}
	if slices.Contains(f.members("yellowlive_ws_paymentsops"), "outsider") {
		t.Error("the drift was not reverted")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}
