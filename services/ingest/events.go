package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/datasurface/datasurface/kit/events"
	"github.com/datasurface/datasurface/kit/opsbus"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// EventIngested is the event of a batch whose staging is complete: ds.batch.<platform>.ingested
// (stream OPS), published after the ingest transaction committed (DESIGN.md §3).
const EventIngested = "ingested"

var subjectToken = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// EventSubject is ds.batch.<platform>.<event>; a platform name that is not a plain subject token
// (impossible for a linted model) is replaced by "x" + 16 hex characters of its SHA-256 — the
// merge service's rule.
func EventSubject(platform, event string) string {
	if !subjectToken.MatchString(platform) {
		sum := sha256.Sum256([]byte(platform))
		platform = "x" + hex.EncodeToString(sum[:8])
	}
	return opsbus.SubjectBatch + platform + "." + event
}

// publisher publishes the ingested events; a nil JS publishes nothing. A publish that still
// fails after its retries is logged (ERROR, with the event id) and never fails the activity: the
// batch is ingested whether or not anyone heard of it.
type publisher struct {
	js  jetstream.JetStream
	log *slog.Logger

	mu       sync.Mutex
	declared bool
}

// ingested publishes BatchIngested with Nats-Msg-Id platform/stream/batch/ingested/attempt, so
// a retried IngestBatch (which reports the batch already ingested) is dropped by the stream.
func (p *publisher) ingested(ctx context.Context, in IngestBatchInput, res IngestBatchResult, attempt int, modelVersion int64) {
	if p == nil || p.js == nil {
		return
	}
	names := make([]string, 0, len(res.Rows))
	for n := range res.Rows {
		names = append(names, n)
	}
	slices.Sort(names)
	ev := &eventsv1.BatchIngested{
		Batch:   &eventsv1.BatchRef{Platform: in.Platform, Stream: in.Stream, Batch: in.BatchID, Attempt: int32(attempt), ModelVersion: modelVersion},
		Capture: res.Capture, Total: res.Total, Bytes: res.Bytes, Duration: durationpb.New(res.Duration),
	}
	if !res.DataTime.IsZero() {
		ev.DataTime = timestamppb.New(res.DataTime)
	}
	for _, n := range names {
		ev.Datasets = append(ev.Datasets, &eventsv1.DatasetRows{Dataset: n, Staged: res.Rows[n], Rejected: res.Rejected[n], Replayed: res.Replayed[n]})
	}
	id := in.Platform + "/" + in.Stream + "/" + strconv.Itoa(int(in.BatchID)) + "/" + EventIngested + "/" + strconv.Itoa(attempt)
	p.publish(ctx, in.Platform, id, ev)
}

func (p *publisher) publish(ctx context.Context, d, id string, msg proto.Message) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	subject := EventSubject(d, EventIngested)
	var err error
	for attempt := range 3 {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
		}
		if err = p.declare(ctx); err != nil {
			continue
		}
		if _, err = events.Publish(ctx, p.js, subject, id, msg); err == nil {
			return
		}
	}
	p.log.ErrorContext(ctx, "batch event not published", "subject", subject, "event", id, "err", err)
}

func (p *publisher) declare(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.declared {
		return nil
	}
	if err := opsbus.DeclareStream(ctx, p.js); err != nil {
		return err
	}
	p.declared = true
	return nil
}
