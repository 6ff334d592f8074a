// Package events is the JetStream part of the runtime kit: streams declared by their owning
// service, publishes that carry Nats-Msg-Id and the payload's type, and durable pull consumers
// with explicit ack, bounded redelivery with back-off, and poison messages terminated and
// reported. Effects stay idempotent through the Postgres inbox (inbox.go).
package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
)

// Headers set on every event.
const (
	HeaderType = "Ds-Type" // the protobuf full name of the payload
)

// EnsureStream creates the stream or updates it to cfg.
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	s, err := js.CreateOrUpdateStream(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("declare stream %s: %w", cfg.Name, err)
	}
	return s, nil
}

// PublishOption adjusts one publish.
type PublishOption = jetstream.PublishOpt

// ExpectLastSequence makes the publish fail unless the stream's last sequence is seq, so two
// writers can never both append after the same message.
func ExpectLastSequence(seq uint64) PublishOption { return jetstream.WithExpectLastSequence(seq) }

// ExpectLastSequencePerSubject is ExpectLastSequence for the message's subject.
func ExpectLastSequencePerSubject(seq uint64) PublishOption {
	return jetstream.WithExpectLastSequencePerSubject(seq)
}

// Publish sends msg on subject with Nats-Msg-Id = id (the stream's duplicate window drops a
// retried publish) and the payload type header, and waits for the stream's ack.
func Publish(ctx context.Context, js jetstream.JetStream, subject, id string, msg proto.Message, opts ...PublishOption) (*jetstream.PubAck, error) {
	if id == "" {
		return nil, errors.New("publish: empty event id")
	}
	data, err := proto.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("marshal %s: %w", msg.ProtoReflect().Descriptor().FullName(), err)
	}
	m := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	m.Header.Set(HeaderType, string(msg.ProtoReflect().Descriptor().FullName()))
	opts = append([]PublishOption{jetstream.WithMsgID(id)}, opts...)
	ack, err := js.PublishMsg(ctx, m, opts...)
	if err != nil {
		return nil, fmt.Errorf("publish %s: %w", subject, err)
	}
	return ack, nil
}

// Event is one delivered message.
type Event struct {
	ID        string // Nats-Msg-Id
	Subject   string
	Type      string
	Data      []byte
	Sequence  uint64 // stream sequence
	Delivered uint64 // delivery count, 1 on first delivery
}

// Decode unmarshals the payload into m after checking the type header.
func (e Event) Decode(m proto.Message) error {
	want := string(m.ProtoReflect().Descriptor().FullName())
	if e.Type != want {
		return Permanent(fmt.Errorf("event %s has type %q, want %q", e.ID, e.Type, want))
	}
	if err := proto.Unmarshal(e.Data, m); err != nil {
		return Permanent(fmt.Errorf("decode event %s: %w", e.ID, err))
	}
	return nil
}

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks err as not worth retrying: the message is terminated and reported.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// Handler handles one event. Returning nil acks it; a Permanent error terminates it; any other
// error asks for redelivery after the consumer's back-off.
type Handler func(ctx context.Context, e Event) error

// Consumer is a durable pull consumer run as a component.
type Consumer struct {
	JS         jetstream.JetStream
	Stream     string
	Durable    string
	Filter     string
	MaxDeliver int             // default 10
	Backoff    []time.Duration // default 100ms, 1s, 5s
	AckWait    time.Duration   // default 30s
	Handler    Handler
	Log        *slog.Logger
	// OnPoison is called for every terminated message (permanent error or last delivery).
	OnPoison func(ctx context.Context, e Event, err error)
	// RefreshEvery is how often the pending gauges (metrics.go) are refreshed besides after
	// every fetch that delivered messages; default DefaultRefreshEvery.
	RefreshEvery time.Duration

	metrics *consumerMetrics
}

// Run consumes until ctx ends. Messages are handled one at a time, in stream order.
func (c *Consumer) Run(ctx context.Context) error {
	maxDeliver := c.MaxDeliver
	if maxDeliver == 0 {
		maxDeliver = 10
	}
	backoff := c.Backoff
	if backoff == nil {
		backoff = []time.Duration{100 * time.Millisecond, time.Second, 5 * time.Second}
	}
	ackWait := c.AckWait
	if ackWait == 0 {
		ackWait = 30 * time.Second
	}
	log := c.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cons, err := c.JS.CreateOrUpdateConsumer(ctx, c.Stream, jetstream.ConsumerConfig{
		Durable:       c.Durable,
		FilterSubject: c.Filter,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxDeliver:    maxDeliver,
		MaxAckPending: 1,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("declare consumer %s on %s: %w", c.Durable, c.Stream, err)
	}
	c.metrics = newConsumerMetrics(c.Stream, c.Durable)
	defer c.metrics.forget()
	refreshEvery := c.RefreshEvery
	if refreshEvery <= 0 {
		refreshEvery = DefaultRefreshEvery
	}
	_ = c.metrics.refresh(ctx, cons)
	refreshCtx, stopRefresh := context.WithCancel(ctx)
	refreshDone := make(chan struct{})
	go func() {
		defer close(refreshDone)
		c.metrics.refreshLoop(refreshCtx, cons, refreshEvery)
	}()
	defer func() {
		stopRefresh()
		<-refreshDone
	}()
	for ctx.Err() == nil {
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			log.WarnContext(ctx, "fetch failed", "consumer", c.Durable, "err", err)
			sleep(ctx, time.Second)
			continue
		}
		handled := 0
		for msg := range batch.Messages() {
			c.handle(ctx, log, msg, maxDeliver, backoff)
			handled++
		}
		if handled > 0 && ctx.Err() == nil {
			_ = c.metrics.refresh(ctx, cons)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && ctx.Err() == nil {
			log.WarnContext(ctx, "fetch batch error", "consumer", c.Durable, "err", err)
		}
	}
	return nil
}

func (c *Consumer) handle(ctx context.Context, log *slog.Logger, msg jetstream.Msg, maxDeliver int, backoff []time.Duration) {
	c.metrics.delivered.Inc()
	md, err := msg.Metadata()
	if err != nil {
		_ = msg.TermWithReason("no metadata")
		c.metrics.terminated.Inc()
		return
	}
	e := Event{
		ID:        msg.Headers().Get(jetstream.MsgIDHeader),
		Subject:   msg.Subject(),
		Type:      msg.Headers().Get(HeaderType),
		Data:      msg.Data(),
		Sequence:  md.Sequence.Stream,
		Delivered: md.NumDelivered,
	}
	herr := c.Handler(ctx, e)
	switch {
	case herr == nil:
		if err := msg.DoubleAck(ctx); err != nil {
			if ctx.Err() == nil {
				log.WarnContext(ctx, "ack failed", "consumer", c.Durable, "event", e.ID, "err", err)
			}
		} else {
			c.metrics.acked.Inc()
		}
	case ctx.Err() != nil:
		// Shutting down: hand the message back at once so the next consumer need not wait for
		// the ack deadline.
		_ = msg.Nak()
		c.metrics.naked.Inc()
	case IsPermanent(herr) || int(e.Delivered) >= maxDeliver:
		log.ErrorContext(ctx, "event terminated", "consumer", c.Durable, "event", e.ID, "subject", e.Subject, "delivered", e.Delivered, "err", herr)
		_ = msg.TermWithReason(truncate(herr.Error(), 200))
		c.metrics.terminated.Inc()
		if c.OnPoison != nil {
			c.OnPoison(ctx, e, herr)
		}
	default:
		d := backoff[min(int(e.Delivered)-1, len(backoff)-1)]
		log.WarnContext(ctx, "event failed, will retry", "consumer", c.Durable, "event", e.ID, "delivered", e.Delivered, "retry_in", d, "err", herr)
		_ = msg.NakWithDelay(d)
		c.metrics.naked.Inc()
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
