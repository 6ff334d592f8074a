package batch

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/services/ingest/internal/books"
	"github.com/datasurface/datasurface/services/ingest/internal/cdc"
	"github.com/datasurface/datasurface/services/ingest/internal/cdcingest"
	"github.com/datasurface/datasurface/services/ingest/internal/failure"
	"github.com/datasurface/datasurface/services/ingest/internal/plan"
	"github.com/datasurface/datasurface/services/ingest/internal/sqlingest"
	"github.com/jackc/pgx/v5"
)

const layoutCDC = layout.CDC

// CDC configures Kafka CDC reads.
type CDC struct {
	// Open connects a Kafka source.
	Open func(cdc.Config) (cdc.Source, error)
	// SecurityProtocol is librdkafka's security.protocol; SASL protocols log in with the
	// stream's credential.
	SecurityProtocol string
	Timeout          time.Duration
}

// ingestCDC is the Kafka CDC ingest (yellow.md §7.3).
func ingestCDC(ctx context.Context, d Deps, s *plan.Stream, b int32, merge *pgx.Conn, cur books.Batch) (Outcome, error) {
	var last *mergesql.State
	_, st, ok, err := books.LastCommitted(ctx, merge, s.Books, s.Key)
	if err != nil {
		return Outcome{}, sqlingest.MergeErr("", "read the last committed batch", err)
	}
	if ok {
		last = &st
	}
	cfg := cdc.Config{
		BootstrapServers: s.Kafka.BootstrapServers, Group: "datasurface." + s.Platform + "." + s.Key,
		SecurityProtocol: d.CDC.SecurityProtocol, Timeout: d.CDC.Timeout,
	}
	if strings.HasPrefix(strings.ToLower(cfg.SecurityProtocol), "sasl") {
		sec, err := d.Secrets.Resolve(ctx, s.Store, s.Kafka.Credential)
		if err != nil {
			return Outcome{}, failure.Newf(failure.Credential, "", err, "resolve credential %q of the Kafka cluster", s.Kafka.Credential.GetName())
		}
		cfg.User, cfg.Password = sec.User, sec.Password
	}
	src, err := d.CDC.Open(cfg)
	if err != nil {
		return Outcome{}, failure.Wrap(err, failure.Kafka, "", "connect to Kafka")
	}
	defer src.Close()
	if err := cdcingest.CommitOffsets(ctx, src, last); err != nil {
		d.Log.WarnContext(ctx, "the last committed batch's offsets not committed to the consumer group (monitoring only)",
			"stream", s.Key, "group", cfg.Group, "error", err)
	}
	ranges, ks, err := cdcingest.Ranges(ctx, src, s, cur.State, last)
	if err != nil {
		return Outcome{}, err
	}
	var prevMax []int64
	if last != nil && last.Kafka != nil {
		prevMax = last.Kafka.MaxPos
	}
	started, err := books.StartTime(ctx, merge, s.Books, s.Key, b)
	if err != nil {
		return Outcome{}, sqlingest.MergeErr("", "read the batch start time", err)
	}
	out := Outcome{Capture: s.Capture, Kafka: ks}
	err = commit(ctx, merge, s, b, func(tx pgx.Tx, state *mergesql.State) (int64, error) {
		arch, err := openArchive(ctx, d, s, b, state)
		if err != nil {
			return 0, err
		}
		loader := &cdcingest.Loader{Src: src, Stream: s, Batch: b, Ranges: ranges, PrevMax: prevMax, Log: d.Log}
		if arch != nil {
			loader.Archive = arch
		}
		loaded, err := loader.Load(ctx, tx)
		if err != nil {
			abortArchive(ctx, arch)
			return 0, err
		}
		if loaded.Kafka != nil {
			ks.MaxPos = loaded.Kafka.MaxPos
		}
		out.DataTime = loaded.DataTime
		if out.DataTime.IsZero() {
			out.DataTime = started.UTC()
		}
		out.Rows, out.Total, out.Bytes = loaded.Rows, loaded.Total, loaded.Bytes
		out.Rejected, out.Replayed = nonEmpty(loaded.Rejected), nonEmpty(loaded.Replayed)
		state.Kafka = ks
		state.DataTime = out.DataTime.Format(time.RFC3339Nano)
		setStaged(state, loaded.Rows)
		for name := range state.Rows {
			c := state.Rows[name]
			c.Rejected, c.Replayed = loaded.Rejected[name], loaded.Replayed[name]
			state.Rows[name] = c
		}
		if arch != nil {
			if err := arch.Finish(ctx, state); err != nil {
				abortArchive(ctx, arch)
				return 0, failure.Wrap(err, failure.Archive, "", "raw archive")
			}
		}
		return loaded.Total, nil
	})
	if err != nil {
		return Outcome{}, err
	}
	d.Log.DebugContext(ctx, "cdc batch", "stream", s.Key, "batch", b, "range", fmt.Sprint(ks.Start, " → ", ks.End))
	return out, nil
}

func nonEmpty(m map[string]int64) map[string]int64 {
	if len(m) == 0 {
		return nil
	}
	return m
}
