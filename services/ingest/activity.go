package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/ingest/internal/batch"
	"github.com/datasurface/datasurface/services/ingest/internal/failure"
	"github.com/datasurface/datasurface/services/ingest/internal/pgsession"
)

// Activities are the ingest activities. Each method has one input and one result struct, both
// serializable (JSON) except the optional in-memory model.
type Activities struct {
	deps   batch.Deps
	log    *slog.Logger
	mods   ModelSource
	events *publisher
}

func newActivities(cfg Config, deps Deps, log *slog.Logger) *Activities {
	d := batch.Deps{
		Secrets: deps.Secrets,
		Session: pgsession.Options{SSLMode: cfg.SSLMode, ConnectTimeout: cfg.ConnectTimeout, ApplicationName: cfg.ApplicationName},
		Log:     log,
		Pools:   &pgsession.Pools{},
	}
	d.CDC = newCDC(cfg.Kafka)
	if cfg.Archive.Endpoint != "" {
		d.Archive = newArchive(cfg.Archive)
	}
	return &Activities{deps: d, log: log, mods: deps.Models, events: &publisher{js: deps.JS, log: log}}
}

// IngestBatchInput names the batch to ingest. The batch must have been opened (yellow.md §6.3
// step 2: its metrics row exists, status started). The merge database, the sources and their
// credentials come from the model.
type IngestBatchInput struct {
	// Platform is the Yellow data platform D.
	Platform string `json:"platform"`
	// Stream is the stream key K (`S` or `S#T`).
	Stream string `json:"stream"`
	// BatchID is the batch B.
	BatchID int32 `json:"batchId"`
	// ModelVersion and ModelDigest name the committed model the batch runs under; Deps.Models
	// resolves them when Model is nil.
	ModelVersion int64  `json:"modelVersion"`
	ModelDigest  string `json:"modelDigest"`
	// Model is the model itself, for synchronous callers that already hold it (run-batch,
	// tests). It is never serialized.
	Model *modelv1.Model `json:"-"`
}

// IngestBatchResult is what the ingest did.
type IngestBatchResult struct {
	Platform string `json:"platform"`
	Stream   string `json:"stream"`
	BatchID  int32  `json:"batchId"`
	// Status is the batch's status after the call: "ingested", or "committed" when the batch
	// was already merged. AlreadyIngested is true when this call found nothing to do (a
	// retried activity): the counts are then read back from the batch's state record.
	Status          string `json:"status"`
	AlreadyIngested bool   `json:"alreadyIngested"`
	// Capture is snapshot, watermark or cdc.
	Capture string `json:"capture"`
	// Rows is the number of rows staged per dataset; Total their sum.
	Rows  map[string]int64 `json:"rows"`
	Total int64            `json:"total"`
	// Rejected and Replayed count CDC events set aside (poison, QUARANTINE policy) and
	// skipped as connector replays, per dataset.
	Rejected map[string]int64 `json:"rejected,omitempty"`
	Replayed map[string]int64 `json:"replayed,omitempty"`
	// Bytes is the number of source bytes read (COPY text, or Kafka message values).
	Bytes int64 `json:"bytes"`
	// Duration is the wall time of the call.
	Duration time.Duration `json:"duration"`
	// DataTime is the batch's data time (yellow.md §14).
	DataTime time.Time `json:"dataTime"`
	// WatermarkLow and WatermarkHigh are the interval [low, high) a watermark batch read, as
	// canonical text ("" low = first batch; "" high = nothing to read yet).
	WatermarkLow  string `json:"watermarkLow,omitempty"`
	WatermarkHigh string `json:"watermarkHigh,omitempty"`
	// KafkaEnd is the end offset ("topic/partition" → offset) a CDC batch read up to.
	KafkaEnd map[string]int64 `json:"kafkaEnd,omitempty"`
}

// IngestBatch ingests one batch (yellow.md §6.3 step 3): under the stream's lock, with the
// batch's status checked under its row lock, it deletes staging(B), loads every dataset of the
// stream, writes counts and capture state, sets the status ingested and commits — all in one
// merge-database transaction. A batch already ingested or committed is left alone (the result
// reads its state). On error nothing is staged; the caller records `failed` with ErrorState
// (a *Error tells whether the error is permanent).
func (a *Activities) IngestBatch(ctx context.Context, in IngestBatchInput) (IngestBatchResult, error) {
	start := time.Now()
	res := IngestBatchResult{Platform: in.Platform, Stream: in.Stream, BatchID: in.BatchID}
	m := in.Model
	if m == nil {
		if a.mods == nil {
			return res, failure.New(failure.Model, "", "the input carries no model and the service has no model source", nil)
		}
		var err error
		if m, err = a.mods.Model(ctx, in.ModelVersion, in.ModelDigest); err != nil {
			return res, failure.Wrap(err, failure.Internal, "", fmt.Sprintf("load model version %d (%s)", in.ModelVersion, in.ModelDigest))
		}
	}
	log := a.log.With("platform", in.Platform, "stream", in.Stream, "batch", in.BatchID)
	out, err := batch.Ingest(ctx, a.deps, batch.Request{Model: m, Platform: in.Platform, Stream: in.Stream, Batch: in.BatchID})
	res.Duration = time.Since(start)
	if err != nil {
		fe, _ := failure.As(err)
		if fe != nil {
			log.WarnContext(ctx, "ingest failed", "code", fe.Code, "permanent", fe.Permanent, "dataset", fe.Dataset, "error", err)
		} else {
			log.WarnContext(ctx, "ingest failed", "error", err)
		}
		return res, err
	}
	res.Capture = out.Capture.String()
	res.Rows, res.Total, res.Bytes = out.Rows, out.Total, out.Bytes
	res.Rejected, res.Replayed = out.Rejected, out.Replayed
	res.DataTime = out.DataTime
	if w := out.Watermark; w != nil {
		res.WatermarkLow, res.WatermarkHigh = w.Low, w.High
	}
	if k := out.Kafka; k != nil {
		res.KafkaEnd = k.End
	}
	res.Status = string(mergesql.Ingested)
	if out.Already != "" {
		res.AlreadyIngested = true
		res.Status = string(out.Already)
		log.InfoContext(ctx, "batch already ingested", "status", out.Already)
		if out.Already == mergesql.Ingested {
			// Announce again under the same id: a crash between the commit and the publish is
			// covered, and the stream drops a repeat.
			a.events.ingested(ctx, in, res, out.Attempt, out.ModelVersion)
		}
		return res, nil
	}
	log.InfoContext(ctx, "batch ingested", "rows", res.Total, "bytes", res.Bytes, "duration", res.Duration)
	a.events.ingested(ctx, in, res, out.Attempt, out.ModelVersion)
	return res, nil
}

// Error is a typed ingest error: Code says what failed, Permanent whether retrying the same
// batch can help (yellow.md §6.3), Dataset which dataset, Reason the precise reason recorded in
// the batch state.
type Error = failure.Error

// ErrorCode is the code of an Error.
type ErrorCode = failure.Code

// Error codes (see internal/failure for each one's meaning).
const (
	CodeModel              = failure.Model
	CodeCredential         = failure.Credential
	CodeBatchState         = failure.BatchState
	CodeStreamBusy         = failure.StreamBusy
	CodeSourceUnreachable  = failure.SourceUnreachable
	CodeMergeUnreachable   = failure.MergeUnreachable
	CodeSourceLogin        = failure.SourceLogin
	CodeSourceTableMissing = failure.SourceTableMissing
	CodeColumnMissing      = failure.ColumnMissing
	CodeColumnType         = failure.ColumnType
	CodeValueCast          = failure.ValueCast
	CodeNullKey            = failure.NullKey
	CodeDuplicateKey       = failure.DuplicateKey
	CodeStaging            = failure.Staging
	CodeCDCGap             = failure.CDCGap
	CodeCDCTruncate        = failure.CDCTruncate
	CodeCDCPoison          = failure.CDCPoison
	CodeKafka              = failure.Kafka
	CodeArchive            = failure.Archive
	CodeCanceled           = failure.Canceled
	CodeInternal           = failure.Internal
)

// IsPermanent reports whether err is a permanent ingest error (yellow.md §6.3): retrying the same
// batch cannot succeed, so a Temporal retry policy should not retry it.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Permanent
}

// ErrorState is the state.error the caller records with mergesql.Books.MarkFailed when an
// ingest fails: phase "ingest", the reason, and whether it is permanent.
func ErrorState(err error, at time.Time) mergesql.ErrorState {
	return mergesql.ErrorState{Phase: "ingest", Message: err.Error(), Permanent: IsPermanent(err), At: at.UTC().Format(time.RFC3339Nano)}
}
