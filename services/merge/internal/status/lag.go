// Package status reads what the merge service keeps in a platform's merge database for its API
// (yellow.md §11, §12, §14): the live staging and merge tables against the model, the managed
// workspace views, and lag. Batch bookkeeping is read through platforms/yellow/batchstatus.
package status

import (
	"context"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/batchstatus"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
)

// Lag is a stream's lag (yellow.md §14): its latest committed batch, that batch's data time and
// now − data time.
type Lag struct {
	Stream   string
	Batch    int32
	DataTime time.Time // zero when the batch recorded none
	Seconds  float64
}

// Lags reads the lag of the streams keys of platform d (nil = every stream); streams without a
// committed batch are absent.
func Lags(ctx context.Context, q batchstatus.Querier, d string, keys []string) (map[string]Lag, error) {
	st := mergesql.StreamLag(naming.BatchMetrics(d), keys)
	rows, err := q.Query(ctx, st.SQL, st.Args...)
	if err != nil {
		return nil, batchstatus.Classify(err)
	}
	defer rows.Close()
	out := map[string]Lag{}
	for rows.Next() {
		var l Lag
		var dt *time.Time
		var secs *float64
		if err := rows.Scan(&l.Stream, &l.Batch, &dt, &secs); err != nil {
			return nil, err
		}
		if dt != nil {
			l.DataTime = dt.UTC()
		}
		if secs != nil {
			l.Seconds = *secs
		}
		out[l.Stream] = l
	}
	return out, batchstatus.Classify(rows.Err())
}
