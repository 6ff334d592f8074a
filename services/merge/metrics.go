package merge

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/datasurface/datasurface/kit/metrics"
	"github.com/datasurface/datasurface/platforms/yellow/batchapi"
)

// Metrics of the merge worker (docs/metrics.md). The activity calls themselves are counted by
// kit/metrics/temporalmetrics (service "merge").
var (
	batchesCommitted = metrics.Counter("batches_committed_total",
		"Batches committed by MergeBatch (a repeated call on a committed batch is not counted), by platform and stream.",
		"platform", "stream")
	batchesFailed = metrics.Counter("batches_failed_total",
		"Batch failures recorded by FailBatch, by platform, stream and the batch's state afterwards (failed: permanent; started: retried).",
		"platform", "stream", "state")
	rowsMerged = metrics.Counter("merge_rows_total",
		"Rows merged into merge tables by committed batches, by platform, stream and op (inserted, updated, deleted).",
		"platform", "stream", "op")
	batchDuration = metrics.Histogram("batch_duration_seconds",
		"Time from a batch's start to its commit, by platform and stream.", nil,
		"platform", "stream")
	streamLag = newLagCollector()
)

// observeMerge records a MergeBatch result.
func observeMerge(in batchapi.MergeBatchInput, res batchapi.MergeBatchResult, err error) {
	if err != nil || res.AlreadyCommitted {
		return
	}
	batchesCommitted.WithLabelValues(in.Platform, in.Stream).Inc()
	rowsMerged.WithLabelValues(in.Platform, in.Stream, "inserted").Add(float64(res.Inserted))
	rowsMerged.WithLabelValues(in.Platform, in.Stream, "updated").Add(float64(res.Updated))
	rowsMerged.WithLabelValues(in.Platform, in.Stream, "deleted").Add(float64(res.Deleted))
	if !res.Start.IsZero() && !res.End.IsZero() && !res.End.Before(res.Start) {
		batchDuration.WithLabelValues(in.Platform, in.Stream).Observe(res.End.Sub(res.Start).Seconds())
	}
}

// observeFail records a FailBatch result.
func observeFail(in batchapi.FailBatchInput, res batchapi.FailBatchResult, err error) {
	if err != nil {
		return
	}
	batchesFailed.WithLabelValues(in.Platform, in.Stream, res.Status).Inc()
}

// ObserveLag records the data times a Lag read found: datasurface_stream_lag_seconds then
// reports now − data time for each stream (until a later read replaces it).
func ObserveLag(platform string, res LagResult) {
	for _, s := range res.Streams {
		if !s.DataTime.IsZero() {
			streamLag.set(platform, s.Stream, s.DataTime)
		}
	}
}

// lagCollector exports datasurface_stream_lag_seconds{platform,stream}: the age, at scrape
// time, of the data time of each stream's latest committed batch as last read (by the Lag
// activity or after a commit). Computing it at scrape keeps it growing between reads.
type lagCollector struct {
	desc *prometheus.Desc
	now  func() time.Time

	mu        sync.Mutex
	dataTimes map[[2]string]time.Time
}

func newLagCollector() *lagCollector {
	c := &lagCollector{
		desc: prometheus.NewDesc(metrics.Namespace+"_stream_lag_seconds",
			"Stream lag (yellow.md §14): now minus the data time of the stream's latest committed batch, as last read by the Lag activity or a commit.",
			[]string{"platform", "stream"}, nil),
		now:       time.Now,
		dataTimes: map[[2]string]time.Time{},
	}
	return metrics.Register(c)
}

func (c *lagCollector) set(platform, stream string, dataTime time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dataTimes[[2]string{platform, stream}] = dataTime
}

// Describe implements prometheus.Collector.
func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for k, dt := range c.dataTimes {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, max(now.Sub(dt).Seconds(), 0), k[0], k[1])
	}
}
