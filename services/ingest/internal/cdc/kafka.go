package cdc

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Message is one Kafka message.
type Message struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
}

// Range is the offsets [Start, End) of one partition.
type Range struct {
	Start, End int64
}

// Source reads the Kafka topics of a stream.
type Source interface {
	// Partitions lists the partitions of topic; an unknown topic has none (Debezium creates a
	// table's topic with its first event).
	Partitions(ctx context.Context, topic string) ([]int32, error)
	// Watermarks returns the low and high watermark of a partition.
	Watermarks(ctx context.Context, topic string, partition int32) (low, high int64, err error)
	// Read calls fn for every message in the ranges of topic's partitions, in offset order per
	// partition; it can be called again for the same ranges (the same messages come back).
	Read(ctx context.Context, topic string, ranges map[int32]Range, fn func(Message) error) error
	// Commit commits offsets (topic → partition → the next offset to read) to the consumer
	// group, for monitoring only: positions live in the batch state (yellow.md §7.3).
	Commit(ctx context.Context, offsets map[string]map[int32]int64) error
	Close()
}

// Config opens a Source.
type Config struct {
	BootstrapServers []string
	// Group is the consumer group id (datasurface.<D>.<K>); offsets are never committed by a
	// read, only recorded in the batch state, and committed to the group (Source.Commit) for
	// monitoring once their batch has committed.
	Group string
	// SecurityProtocol is librdkafka's security.protocol; for sasl_* User and Password are the
	// SASL/PLAIN login.
	SecurityProtocol string
	User, Password   string
	// Timeout bounds metadata requests and waiting for the next message of a range.
	Timeout time.Duration
}

// Open connects a consumer (manual assignment, no auto-commit, read_committed).
func Open(cfg Config) (Source, error) {
	cm := kafka.ConfigMap{
		"bootstrap.servers":          strings.Join(cfg.BootstrapServers, ","),
		"group.id":                   cfg.Group,
		"enable.auto.commit":         false,
		"enable.auto.offset.store":   false,
		"isolation.level":            "read_committed",
		"auto.offset.reset":          "error",
		"enable.partition.eof":       true,
		"queued.max.messages.kbytes": 8192,
		"fetch.max.bytes":            8 << 20,
		"fetch.wait.max.ms":          100,
		"security.protocol":          cfg.SecurityProtocol,
		"log_level":                  3,
	}
	if strings.HasPrefix(strings.ToLower(cfg.SecurityProtocol), "sasl") {
		cm["sasl.mechanisms"] = "PLAIN"
		cm["sasl.username"] = cfg.User
		cm["sasl.password"] = cfg.Password
	}
	c, err := kafka.NewConsumer(&cm)
	if err != nil {
		return nil, fmt.Errorf("kafka consumer: %w", err)
	}
	t := cfg.Timeout
	if t <= 0 {
		t = 30 * time.Second
	}
	return &consumer{c: c, timeout: t}, nil
}

type consumer struct {
	c       *kafka.Consumer
	timeout time.Duration
}

func (k *consumer) ms(ctx context.Context) int {
	t := k.timeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < t {
		t = max(time.Until(dl), time.Millisecond)
	}
	return int(t / time.Millisecond)
}

func (k *consumer) Partitions(ctx context.Context, topic string) ([]int32, error) {
	md, err := k.c.GetMetadata(&topic, false, k.ms(ctx))
	if err != nil {
		return nil, fmt.Errorf("metadata of topic %s: %w", topic, err)
	}
	t, ok := md.Topics[topic]
	if !ok {
		return nil, nil
	}
	if t.Error.Code() == kafka.ErrUnknownTopicOrPart || t.Error.Code() == kafka.ErrUnknownTopic {
		return nil, nil
	}
	if t.Error.Code() != kafka.ErrNoError {
		return nil, fmt.Errorf("metadata of topic %s: %w", topic, t.Error)
	}
	out := make([]int32, 0, len(t.Partitions))
	for _, p := range t.Partitions {
		out = append(out, p.ID)
	}
	slices.Sort(out)
	return out, nil
}

func (k *consumer) Watermarks(ctx context.Context, topic string, p int32) (int64, int64, error) {
	low, high, err := k.c.QueryWatermarkOffsets(topic, p, k.ms(ctx))
	if err != nil {
		return 0, 0, fmt.Errorf("watermarks of %s/%d: %w", topic, p, err)
	}
	return low, high, nil
}

func (k *consumer) Read(ctx context.Context, topic string, ranges map[int32]Range, fn func(Message) error) error {
	var parts []kafka.TopicPartition
	remaining := map[int32]int64{}
	for p, r := range ranges {
		if r.Start < r.End {
			parts = append(parts, kafka.TopicPartition{Topic: &topic, Partition: p, Offset: kafka.Offset(r.Start)})
			remaining[p] = r.End
		}
	}
	if len(parts) == 0 {
		return nil
	}
	if err := k.c.Assign(parts); err != nil {
		return fmt.Errorf("assign %s: %w", topic, err)
	}
	defer func() { _ = k.c.Unassign() }()
	last := time.Now()
	for len(remaining) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch e := k.c.Poll(100).(type) {
		case *kafka.Message:
			if e.TopicPartition.Error != nil {
				return fmt.Errorf("read %s/%d: %w", topic, e.TopicPartition.Partition, e.TopicPartition.Error)
			}
			p, off := e.TopicPartition.Partition, int64(e.TopicPartition.Offset)
			end, ok := remaining[p]
			if !ok || *e.TopicPartition.Topic != topic {
				continue
			}
			if off >= end {
				delete(remaining, p)
				continue
			}
			last = time.Now()
			if err := fn(Message{Topic: topic, Partition: p, Offset: off, Key: e.Key, Value: e.Value}); err != nil {
				return err
			}
			if off+1 >= end {
				delete(remaining, p)
			}
		case kafka.PartitionEOF:
			if end, ok := remaining[e.Partition]; ok && int64(e.Offset) >= end {
				delete(remaining, e.Partition)
			}
		case kafka.Error:
			if e.IsFatal() || e.Code() == kafka.ErrOffsetOutOfRange {
				return fmt.Errorf("read %s: %w", topic, e)
			}
		case nil:
			if err := k.settle(topic, remaining); err != nil {
				return err
			}
			if len(remaining) > 0 && time.Since(last) > k.timeout {
				var stuck []string
				for p, end := range remaining {
					stuck = append(stuck, fmt.Sprintf("%s/%d (end %d)", topic, p, end))
				}
				slices.Sort(stuck)
				return fmt.Errorf("no message for %v from %s", k.timeout, strings.Join(stuck, ", "))
			}
		}
	}
	return nil
}

// settle drops partitions whose position reached their end without a message at end-1
// (transaction markers and aborted messages occupy offsets under read_committed).
func (k *consumer) settle(topic string, remaining map[int32]int64) error {
	var parts []kafka.TopicPartition
	for p := range remaining {
		parts = append(parts, kafka.TopicPartition{Topic: &topic, Partition: p})
	}
	pos, err := k.c.Position(parts)
	if err != nil {
		return fmt.Errorf("position on %s: %w", topic, err)
	}
	for _, tp := range pos {
		if tp.Offset >= 0 && int64(tp.Offset) >= remaining[tp.Partition] {
			delete(remaining, tp.Partition)
		}
	}
	return nil
}

func (k *consumer) Commit(ctx context.Context, offsets map[string]map[int32]int64) error {
	var parts []kafka.TopicPartition
	for topic, ps := range offsets {
		for p, off := range ps {
			parts = append(parts, kafka.TopicPartition{Topic: &topic, Partition: p, Offset: kafka.Offset(off)})
		}
	}
	if len(parts) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// A consumer with manual assignment commits as a simple consumer (no group membership).
	done, err := k.c.CommitOffsets(parts)
	if err != nil {
		return fmt.Errorf("commit offsets to the consumer group: %w", err)
	}
	var failed []string
	for _, tp := range done {
		if tp.Error != nil {
			failed = append(failed, fmt.Sprintf("%s/%d: %v", *tp.Topic, tp.Partition, tp.Error))
		}
	}
	if len(failed) > 0 {
		slices.Sort(failed)
		return fmt.Errorf("commit offsets to the consumer group: %s", strings.Join(failed, "; "))
	}
	return nil
}

func (k *consumer) Close() { _ = k.c.Close() }
