package events

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/datasurface/datasurface/kit/metrics"
)

// DefaultRefreshEvery is how often a running Consumer refreshes its pending gauges when
// Consumer.RefreshEvery is zero.
const DefaultRefreshEvery = 15 * time.Second

var (
	consumerPending = metrics.Gauge("event_consumer_pending",
		"Messages of the stream the durable consumer has not been delivered yet (ConsumerInfo.NumPending).",
		"stream", "consumer")
	consumerAckPending = metrics.Gauge("event_consumer_ack_pending",
		"Messages delivered to the durable consumer and not acknowledged yet (ConsumerInfo.NumAckPending).",
		"stream", "consumer")
	consumerDelivered = metrics.Counter("event_consumer_delivered_total",
		"Messages delivered to the consumer's handler (redeliveries included).", "stream", "consumer")
	consumerAcked = metrics.Counter("event_consumer_acked_total",
		"Messages the consumer acknowledged after its handler succeeded.", "stream", "consumer")
	consumerNaked = metrics.Counter("event_consumer_naked_total",
		"Messages handed back for redelivery (handler failed with a retryable error, or shutdown).", "stream", "consumer")
	consumerTerminated = metrics.Counter("event_consumer_terminated_total",
		"Messages terminated as poison (permanent error, last delivery, or no metadata).", "stream", "consumer")
)

// consumerMetrics are the collectors of one durable consumer.
type consumerMetrics struct {
	stream, durable                     string
	delivered, acked, naked, terminated prometheus.Counter
}

func newConsumerMetrics(stream, durable string) *consumerMetrics {
	return &consumerMetrics{
		stream: stream, durable: durable,
		delivered:  consumerDelivered.WithLabelValues(stream, durable),
		acked:      consumerAcked.WithLabelValues(stream, durable),
		naked:      consumerNaked.WithLabelValues(stream, durable),
		terminated: consumerTerminated.WithLabelValues(stream, durable),
	}
}

// refresh reads the consumer's info and sets the pending gauges.
func (m *consumerMetrics) refresh(ctx context.Context, cons jetstream.Consumer) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	info, err := cons.Info(ctx)
	if err != nil {
		return err
	}
	consumerPending.WithLabelValues(m.stream, m.durable).Set(float64(info.NumPending))
	consumerAckPending.WithLabelValues(m.stream, m.durable).Set(float64(info.NumAckPending))
	return nil
}

// refreshLoop refreshes the gauges every interval until ctx ends.
func (m *consumerMetrics) refreshLoop(ctx context.Context, cons jetstream.Consumer, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = m.refresh(ctx, cons)
		}
	}
}

// forget removes the consumer's gauges once it stops (its values would go stale).
func (m *consumerMetrics) forget() {
	consumerPending.DeleteLabelValues(m.stream, m.durable)
	consumerAckPending.DeleteLabelValues(m.stream, m.durable)
}
