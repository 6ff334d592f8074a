package ingest

import (
	"github.com/datasurface/datasurface/kit/metrics"
	"github.com/datasurface/datasurface/platforms/yellow/batchapi"
)

// Metrics of the ingest worker (docs/metrics.md). The activity calls themselves are counted by
// kit/metrics/temporalmetrics (service "ingest").
var (
	batchesIngested = metrics.Counter("batches_ingested_total",
		"Batches staged by IngestBatch (a repeated call on an ingested batch is not counted), by platform, stream and capture (snapshot, watermark, cdc).",
		"platform", "stream", "capture")
	rowsIngested = metrics.Counter("ingest_rows_total",
		"Rows staged by ingested batches, by platform and stream.", "platform", "stream")
	rowsRejected = metrics.Counter("ingest_rejected_rows_total",
		"Source rows rejected while staging (yellow.md), by platform and stream.", "platform", "stream")
	bytesIngested = metrics.Counter("ingest_bytes_total",
		"Bytes read from sources by ingested batches, by platform and stream.", "platform", "stream")
	ingestDuration = metrics.Histogram("ingest_duration_seconds",
		"Time IngestBatch took to stage a batch, by platform and stream.", nil, "platform", "stream")
)

// observeIngest records an IngestBatch result.
func observeIngest(in batchapi.IngestBatchInput, res batchapi.IngestBatchResult, err error) {
	if err != nil || res.AlreadyIngested {
		return
	}
	batchesIngested.WithLabelValues(in.Platform, in.Stream, res.Capture).Inc()
	rowsIngested.WithLabelValues(in.Platform, in.Stream).Add(float64(res.Total))
	var rejected int64
	for _, n := range res.Rejected {
		rejected += n
	}
	rowsRejected.WithLabelValues(in.Platform, in.Stream).Add(float64(rejected))
	bytesIngested.WithLabelValues(in.Platform, in.Stream).Add(float64(res.Bytes))
	if res.Duration > 0 {
		ingestDuration.WithLabelValues(in.Platform, in.Stream).Observe(res.Duration.Seconds())
	}
}
