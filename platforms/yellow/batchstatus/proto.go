package batchstatus

import (
	"slices"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	yellowv1 "github.com/datasurface/datasurface/proto/gen/datasurface/yellow/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Proto converts a batch_metrics row of platform d to its API form (IngestService and
// MergeService answer the same message).
func Proto(d string, b Batch) *yellowv1.Batch {
	out := &yellowv1.Batch{
		Platform: d, Stream: b.Stream, Id: b.ID, Status: batchStatus(b.Status), Attempt: int32(b.State.Attempt),
		ModelVersion: b.State.ModelVersion, StartTime: ts(b.Start), EndTime: ts(b.End), DataTime: ts(b.DataTime()),
		Inserted: b.Inserted, Updated: b.Updated, Deleted: b.Deleted, Total: b.Total,
	}
	names := slices.Clone(b.State.Datasets)
	extra := len(names)
	for n := range b.State.Rows {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names[extra:])
	for _, n := range names {
		c := b.State.Rows[n]
		out.Datasets = append(out.Datasets, &yellowv1.DatasetRows{Dataset: n, Staged: c.Staged, Inserted: c.Inserted, Updated: c.Updated,
			Deleted: c.Deleted, Rejected: c.Rejected, Replayed: c.Replayed})
	}
	if e := b.State.Error; e != nil {
		be := &yellowv1.BatchError{Phase: e.Phase, Message: e.Message, Permanent: e.Permanent}
		if at, err := time.Parse(time.RFC3339Nano, e.At); err == nil {
			be.At = timestamppb.New(at)
		}
		out.Error = be
	}
	if w := b.State.Watermark; w != nil {
		out.WatermarkLow, out.WatermarkHigh = w.Low, w.High
	}
	if k := b.State.Kafka; k != nil && len(k.End) > 0 {
		out.KafkaEnd = k.End
	}
	return out
}

func batchStatus(s mergesql.Status) yellowv1.BatchStatus {
	switch s {
	case mergesql.Started:
		return yellowv1.BatchStatus_BATCH_STATUS_STARTED
	case mergesql.Ingested:
		return yellowv1.BatchStatus_BATCH_STATUS_INGESTED
	case mergesql.Committed:
		return yellowv1.BatchStatus_BATCH_STATUS_COMMITTED
	case mergesql.Failed:
		return yellowv1.BatchStatus_BATCH_STATUS_FAILED
	}
	return yellowv1.BatchStatus_BATCH_STATUS_UNSPECIFIED
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
