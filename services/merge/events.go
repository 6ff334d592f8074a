package merge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/datasurface/datasurface/kit/events"
	"github.com/datasurface/datasurface/kit/opsbus"
	"github.com/datasurface/datasurface/platforms/yellow/batchstatus"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Batch lifecycle events (yellow.md §6; DESIGN.md §3), published on ds.batch.<platform>.<event>
// in the OPS stream once the state they announce is committed.
const (
	EventStarted         = "started"
	EventCommitted       = "committed"
	EventFailed          = "failed"
	EventViewsReconciled = "views.reconciled"
)

// subjectToken matches platform names that are NATS subject tokens as they are (model lint
// makes platform names SQL identifiers, which always are).
var subjectToken = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// EventSubject is ds.batch.<platform>.<event>. A platform name that is not a plain subject
// token (it cannot happen for a linted model) is replaced by "x" + 16 hex characters of its
// SHA-256, so a subject never gains tokens or wildcards.
func EventSubject(platform, event string) string {
	if !subjectToken.MatchString(platform) {
		sum := sha256.Sum256([]byte(platform))
		platform = "x" + hex.EncodeToString(sum[:8])
	}
	return opsbus.SubjectBatch + platform + "." + event
}

// batchEventID is the Nats-Msg-Id of a batch event: platform/stream/batch/event/attempt.
func batchEventID(d, key string, b int32, event string, attempt int) string {
	return d + "/" + key + "/" + strconv.Itoa(int(b)) + "/" + event + "/" + strconv.Itoa(attempt)
}

// publisher publishes the merge service's batch events; a nil JS publishes nothing. Publishing
// never fails an activity: the state is committed before, so a publish that still fails after
// its retries is logged (ERROR, with the event id) and the event is lost; the bookkeeping tables
// and MergeService still show the state.
type publisher struct {
	js  jetstream.JetStream
	log *slog.Logger

	mu       sync.Mutex
	declared bool
}

// publishTimeout bounds one event's publishing, retries included.
const publishTimeout = 10 * time.Second

func (p *publisher) publish(ctx context.Context, d, event, id string, msg proto.Message) {
	if p == nil || p.js == nil {
		return
	}
	// The state is committed: announce it even when the activity's context has just ended.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	var err error
	for attempt := range 3 {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
		}
		if err = p.declare(ctx); err != nil {
			continue
		}
		if _, err = events.Publish(ctx, p.js, EventSubject(d, event), id, msg); err == nil {
			return
		}
	}
	p.log.ErrorContext(ctx, "batch event not published", "subject", EventSubject(d, event), "event", id, "err", err)
}

// declare declares the OPS stream once per process.
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

// batch reads batch b of key as committed (the event's content comes from the merge database, so
// a retried activity publishes the same payload under the same id).
func (p *publisher) batch(ctx context.Context, q batchstatus.Querier, d, key string, b int32) (batchstatus.Batch, bool) {
	row, ok, err := batchstatus.Read(ctx, q, d, key, b)
	if err != nil || !ok {
		p.log.ErrorContext(ctx, "batch event not published: batch not readable", "platform", d, "stream", key, "batch", b, "err", err)
		return batchstatus.Batch{}, false
	}
	return row, true
}

func ref(d string, b batchstatus.Batch) *eventsv1.BatchRef {
	return &eventsv1.BatchRef{Platform: d, Stream: b.Stream, Batch: b.ID, Attempt: int32(b.State.Attempt), ModelVersion: b.State.ModelVersion}
}

// DatasetRows converts state.rows in the order of state.datasets (then any others by name).
func datasetRows(st mergesql.State) []*eventsv1.DatasetRows {
	names := slices.Clone(st.Datasets)
	for n := range st.Rows {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names[len(st.Datasets):])
	out := make([]*eventsv1.DatasetRows, 0, len(names))
	for _, n := range names {
		r := st.Rows[n]
		out = append(out, &eventsv1.DatasetRows{Dataset: n, Staged: r.Staged, Inserted: r.Inserted, Updated: r.Updated,
			Deleted: r.Deleted, Rejected: r.Rejected, Replayed: r.Replayed})
	}
	return out
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// started publishes BatchStarted for a batch StartBatch opened or resumed.
func (p *publisher) started(ctx context.Context, q batchstatus.Querier, d, key string, o StartBatchResult) {
	if p == nil || p.js == nil || o.Status != string(mergesql.Started) {
		return
	}
	b, ok := p.batch(ctx, q, d, key, o.Batch)
	if !ok {
		return
	}
	ev := &eventsv1.BatchStarted{Batch: ref(d, b), Resumed: o.Resumed, SchemaReset: o.Reset, Datasets: b.State.Datasets, StartedAt: ts(b.Start)}
	p.publish(ctx, d, EventStarted, batchEventID(d, key, b.ID, EventStarted, b.State.Attempt), ev)
}

// committed publishes BatchCommitted for a committed batch (also when MergeBatch found it
// committed already: the same id makes the stream drop a repeat).
func (p *publisher) committed(ctx context.Context, q batchstatus.Querier, d, key string, batch int32, mode func(seed bool) string) {
	if p == nil || p.js == nil {
		return
	}
	b, ok := p.batch(ctx, q, d, key, batch)
	if !ok || b.Status != mergesql.Committed {
		return
	}
	ev := &eventsv1.BatchCommitted{
		Batch: ref(d, b), Mode: mode(b.State.Remote != nil && b.State.Remote.Seed), Datasets: datasetRows(b.State), Inserted: b.Inserted, Updated: b.Updated,
		Deleted: b.Deleted, Total: b.Total, StartedAt: ts(b.Start), CommittedAt: ts(b.End), DataTime: ts(b.DataTime()),
	}
	if !b.End.IsZero() {
		ev.Duration = durationpb.New(b.End.Sub(b.Start))
	}
	p.publish(ctx, d, EventCommitted, batchEventID(d, key, b.ID, EventCommitted, b.State.Attempt), ev)
}

// failed publishes BatchFailed for a batch recorded failed (its state.error).
func (p *publisher) failed(ctx context.Context, q batchstatus.Querier, d, key string, batch int32) {
	if p == nil || p.js == nil {
		return
	}
	b, ok := p.batch(ctx, q, d, key, batch)
	if !ok || b.Status != mergesql.Failed || b.State.Error == nil {
		return
	}
	e := b.State.Error
	ev := &eventsv1.BatchFailed{Batch: ref(d, b), Phase: e.Phase, Reason: e.Message, Permanent: e.Permanent}
	if at, err := time.Parse(time.RFC3339Nano, e.At); err == nil {
		ev.FailedAt = timestamppb.New(at)
	}
	p.publish(ctx, d, EventFailed, batchEventID(d, key, b.ID, EventFailed, b.State.Attempt), ev)
}

// views publishes ViewsReconciled for a reconcile that changed views.
func (p *publisher) views(ctx context.Context, d string, modelVersion int64, res ReconcileViewsResult, at time.Time) {
	if p == nil || p.js == nil || !res.Changed {
		return
	}
	ev := &eventsv1.ViewsReconciled{Platform: d, ModelVersion: modelVersion, ReconciledAt: timestamppb.New(at)}
	for _, s := range res.Schemas {
		ev.Schemas = append(ev.Schemas, &eventsv1.SchemaViewChanges{
			Schema: s.Schema, Created: s.Created, Replaced: s.Replaced, Recreated: s.Recreated, Dropped: s.Dropped, Pending: s.Pending,
		})
	}
	id := fmt.Sprintf("%s/%s/%d/%d", d, EventViewsReconciled, modelVersion, at.UnixNano())
	p.publish(ctx, d, EventViewsReconciled, id, ev)
}

// EventIngested is published by the merge service for a transformer output batch it staged
// (RunTransformer); the ingest service publishes it for source batches.
const EventIngested = "ingested"

// staged publishes BatchStarted and BatchIngested for a transformer output batch that
// RunTransformer opened and staged in one transaction.
func (p *publisher) staged(ctx context.Context, q batchstatus.Querier, d, key string, batch int32, took time.Duration) {
	if p == nil || p.js == nil {
		return
	}
	b, ok := p.batch(ctx, q, d, key, batch)
	if !ok || b.Status != mergesql.Ingested {
		return
	}
	p.publish(ctx, d, EventStarted, batchEventID(d, key, b.ID, EventStarted, b.State.Attempt),
		&eventsv1.BatchStarted{Batch: ref(d, b), Datasets: b.State.Datasets, StartedAt: ts(b.Start)})
	ev := &eventsv1.BatchIngested{Batch: ref(d, b), Capture: "transformerOutput", Datasets: datasetRows(b.State), Total: b.Total,
		Duration: durationpb.New(took), DataTime: ts(b.DataTime())}
	p.publish(ctx, d, EventIngested, batchEventID(d, key, b.ID, EventIngested, b.State.Attempt), ev)
}
