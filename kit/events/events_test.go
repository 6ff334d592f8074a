package events_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/datasurface/datasurface/kit/events"
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
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("consumer did not reach the last event")
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
}
