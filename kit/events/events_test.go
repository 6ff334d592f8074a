package events_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/datasurface/datasurface/kit/events"
	"github.com/datasurface/datasurface/kit/metrics"
	"github.com/datasurface/datasurface/kit/natsserver"
	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func setup(t *testing.T) jetstream.JetStream {
	t.Helper()
	s := natsserver.StartForTest(t)
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := events.EnsureStream(t.Context(), js, jetstream.StreamConfig{
		Name: "TEST", Subjects: []string{"t.>"}, Storage: jetstream.FileStorage, Duplicates: time.Minute,
	}); err != nil {
		t.Fatal(err)
	}
	return js
}

func TestPublishDropsRetriedEventID(t *testing.T) {
	ctx := t.Context()
	js := setup(t)
	for range 3 {
		if _, err := events.Publish(ctx, js, "t.a", "event-1", wrapperspb.String("x")); err != nil {
			t.Fatal(err)
		}
	}
	s, _ := js.Stream(ctx, "TEST")
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Fatalf("messages = %d, want 1", info.State.Msgs)
	}
}

func TestExpectLastSequenceRejectsStaleWriter(t *testing.T) {
	ctx := t.Context()
	js := setup(t)
	ack, err := events.Publish(ctx, js, "t.a", "e1", wrapperspb.String("1"), events.ExpectLastSequence(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := events.Publish(ctx, js, "t.a", "e2", wrapperspb.String("2"), events.ExpectLastSequence(ack.Sequence)); err != nil {
		t.Fatal(err)
	}
	// A second writer that also saw sequence 1 must lose.
	if _, err := events.Publish(ctx, js, "t.a", "e3", wrapperspb.String("3"), events.ExpectLastSequence(ack.Sequence)); err == nil {
		t.Fatal("stale publish accepted")
	}
}

func TestConsumerRetriesThenAcksAndTerminatesPoison(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	js := setup(t)
	for i, v := range []string{"flaky", "poison", "ok"} {
		if _, err := events.Publish(ctx, js, "t.a", v, wrapperspb.String(v)); err != nil {
			t.Fatal(i, err)
		}
	}
	var mu sync.Mutex
	var handled, poisoned []string
	attempts := map[string]int{}
	done := make(chan struct{})
	c := &events.Consumer{
		JS: js, Stream: "TEST", Durable: "test", Filter: "t.>", MaxDeliver: 5,
		Backoff: []time.Duration{10 * time.Millisecond},
		Handler: func(ctx context.Context, e events.Event) error {
			var v wrapperspb.StringValue
			if err := e.Decode(&v); err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			attempts[v.Value]++
			switch {
			case v.Value == "flaky" && attempts[v.Value] < 3:
				return errors.New("transient")
			case v.Value == "poison":
				return events.Permanent(errors.New("cannot handle"))
			}
			handled = append(handled, v.Value)
			if v.Value == "ok" {
				close(done)
			}
			return nil
		},
		OnPoison: func(_ context.Context, e events.Event, _ error) {
			mu.Lock()
			poisoned = append(poisoned, e.ID)
			mu.Unlock()
		},
	}
	before := consumerCounters(t, "test")
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("consumer did not reach the last event")
	}
	// The last ack follows the handler: wait for it before stopping the consumer.
	for deadline := time.Now().Add(10 * time.Second); consumerCounters(t, "test")["acked"]-before["acked"] < 2; {
		if time.Now().After(deadline) {
			t.Fatal("the last event was not acked")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]string{"flaky", "ok"}, handled); diff != "" {
		t.Errorf("handled (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"poison"}, poisoned); diff != "" {
		t.Errorf("poisoned (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"flaky": 3, "poison": 1, "ok": 1}, attempts); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
	after := consumerCounters(t, "test")
	for k := range after {
		after[k] -= before[k]
	}
	// flaky: 3 deliveries (2 naks, 1 ack); poison: 1 delivery, terminated; ok: 1, acked.
	want := map[string]float64{"delivered": 5, "acked": 2, "naked": 2, "terminated": 1}
	if diff := cmp.Diff(want, after); diff != "" {
		t.Errorf("consumer counters moved (-want +got):\n%s", diff)
	}
}

// consumerCounters reads the delivered/acked/naked/terminated counters of durable on TEST.
func consumerCounters(t *testing.T, durable string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, k := range []string{"delivered", "acked", "naked", "terminated"} {
		v, _, err := metrics.Value("datasurface_event_consumer_"+k+"_total", map[string]string{"stream": "TEST", "consumer": durable})
		if err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	return out
}

// gauges reads the pending and ack-pending gauges of durable on TEST.
func gauges(t *testing.T, durable string) (pending, ackPending float64, present bool) {
	t.Helper()
	labels := map[string]string{"stream": "TEST", "consumer": durable}
	pending, ok1, err := metrics.Value("datasurface_event_consumer_pending", labels)
	if err != nil {
		t.Fatal(err)
	}
	ackPending, ok2, err := metrics.Value("datasurface_event_consumer_ack_pending", labels)
	if err != nil {
		t.Fatal(err)
	}
	return pending, ackPending, ok1 && ok2
}

func waitGauges(t *testing.T, durable string, pending, ackPending float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, a, ok := gauges(t, durable)
		if ok && p == pending && a == ackPending {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gauges of %s: pending %v, ack pending %v (present %v); want %v, %v", durable, p, a, ok, pending, ackPending)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestConsumerPendingGaugesReflectUnackedMessages holds the handler on the first of five
// messages: the periodic refresh shows four undelivered and one unacknowledged; once released
// and everything is acked, both gauges drop to zero, and they disappear when the consumer stops.
func TestConsumerPendingGaugesReflectUnackedMessages(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	js := setup(t)
	for i := range 5 {
		id := fmt.Sprintf("m%d", i)
		if _, err := events.Publish(ctx, js, "t.a", id, wrapperspb.String(id)); err != nil {
			t.Fatal(err)
		}
	}
	release := make(chan struct{})
	c := &events.Consumer{
		JS: js, Stream: "TEST", Durable: "gauge", Filter: "t.>", RefreshEvery: 20 * time.Millisecond,
		Handler: func(ctx context.Context, e events.Event) error {
			if e.ID == "m0" {
				select {
				case <-release:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		},
	}
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	waitGauges(t, "gauge", 4, 1)
	close(release)
	waitGauges(t, "gauge", 0, 0)
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if _, _, ok := gauges(t, "gauge"); ok {
		t.Error("the gauges of a stopped consumer are still exported")
	}
}
