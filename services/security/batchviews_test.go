package security_test

import (
	"context"
	"testing"

	"github.com/datasurface/datasurface/kit/events"
	"github.com/datasurface/datasurface/kit/modelbus"
	"github.com/datasurface/datasurface/kit/natsserver"
	"github.com/datasurface/datasurface/kit/opsbus"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	"github.com/datasurface/datasurface/services/security"
	"github.com/datasurface/datasurface/services/security/internal/securitytest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestViewsReconciledRegrants: the merge service drops and re-creates a workspace view at a
// moment its owner's default privileges do not cover it (here they were revoked by hand, as
// drift), so the new view has no SELECT for its workspace role. The merge service's
// ds.batch.<platform>.views.reconciled event makes the running security service re-plan and
// apply the platform — without any model commit — and the view is granted again; the platform's
// plan is empty afterwards. An event that only replaced or dropped views applies nothing.
func TestViewsReconciledRegrants(t *testing.T) {
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
	acme := snapshotOf(t, "../../examples/acme")
	digest := digestOf(t, acme)
	if err := snaps.Put(ctx, digest, acme); err != nil {
		t.Fatal(err)
	}
	if _, err := events.Publish(ctx, js, modelbus.SubjectCommitted, "commit-"+digest,
		&eventsv1.ModelCommitted{Version: 1, Digest: digest, CommittedAt: timestamppb.Now()}); err != nil {
		t.Fatal(err)
	}

	f := newFixture(t, loadAcme(t), security.Config{Instance: "views-test"}, security.Deps{JS: js})
	done := make(chan error, 1)
	go func() { done <- f.svc.Run(ctx) }()
	waitFor(t, "version 1 applied", func() bool { return f.roleExists("yellowlive_ws_salesanalytics") })
	f.build(platLive)
	f.apply(platLive)
	f.requireEmpty(platLive)

	var spec securitytest.ViewSpec
	for _, s := range securitytest.Views(f.model(), f.platforms[platLive]) {
		if s.Workspace == "SalesAnalytics" && s.Merge.Dataset == "SalesDB.orders" {
			spec = s
		}
	}
	orders := naming.LiveView(platLive, "SalesAnalytics", "main", "SalesDB", "orders")
	if !f.hasSelect("bi_reader", orders) {
		t.Fatal("bi_reader cannot read the orders view after the apply")
	}

	// Drift: the owner's default privilege in the workspace schema is gone; the merge service
	// re-creates the view (a widening does: drop and create in one transaction).
	f.env.Exec(`ALTER DEFAULT PRIVILEGES FOR ROLE ` + securitytest.Q(naming.OwnerRole(platLive)) + ` IN SCHEMA ` +
		securitytest.Q(orders.Schema) + ` REVOKE SELECT ON TABLES FROM yellowlive_ws_salesanalytics`)
	f.recreate(spec)
	if f.hasSelect("bi_reader", orders) {
		t.Fatal("the re-created view kept SELECT without default privileges: the test proves nothing")
	}

	// An event that only replaced a view applies nothing: still no SELECT.
	publish := func(id string, sc *eventsv1.SchemaViewChanges) {
		t.Helper()
		ev := &eventsv1.ViewsReconciled{Platform: platLive, ModelVersion: 1, Schemas: []*eventsv1.SchemaViewChanges{sc}, ReconciledAt: timestamppb.Now()}
		if _, err := events.Publish(ctx, js, opsbus.SubjectBatch+platLive+".views.reconciled", id, ev); err != nil {
			t.Fatal(err)
		}
	}
	publish("YellowLive/views.reconciled/1/replaced", &eventsv1.SchemaViewChanges{Schema: orders.Schema, Replaced: []string{orders.String()}})
	// The consumer handles events in order: once a later event is handled, the first one was.
	publish("YellowLive/views.reconciled/1/nothing", &eventsv1.SchemaViewChanges{Schema: orders.Schema})
	waitFor(t, "the views consumer to catch up", func() bool { return consumerDone(t, js, 2) })
	if f.hasSelect("bi_reader", orders) {
		t.Error("an event without created or re-created views applied grants")
	}

	publish("YellowLive/views.reconciled/1/recreated", &eventsv1.SchemaViewChanges{Schema: orders.Schema, Recreated: []string{orders.String()}})
	waitFor(t, "the re-created view granted again", func() bool { return f.hasSelect("bi_reader", orders) })
	waitFor(t, "the views consumer to ack", func() bool { return consumerDone(t, js, 3) })
	f.requireEmpty(platLive)

	// No model commit happened: MODEL holds version 1 only.
	s, err := js.Stream(ctx, modelbus.Stream)
	if err != nil {
		t.Fatal(err)
	}
	last, err := modelbus.LastCommitted(ctx, s)
	if err != nil || last.Event.GetVersion() != 1 {
		t.Errorf("last committed version: %v, %v", last, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// consumerDone reports whether the views consumer acknowledged n events.
func consumerDone(t *testing.T, js jetstream.JetStream, n uint64) bool {
	t.Helper()
	c, err := js.Consumer(t.Context(), opsbus.Stream, security.DefaultDurable+"-views")
	if err != nil {
		return false
	}
	info, err := c.Info(t.Context())
	if err != nil {
		return false
	}
	return info.AckFloor.Stream > 0 && info.NumAckPending == 0 && info.NumPending == 0 && info.Delivered.Consumer >= n
}
