// Package cdcingest owns the Kafka CDC ingest of yellow.md §7.3 inside the ingest transaction:
// the batch's offset range per partition (start = the previous committed batch's end, end =
// recorded when the batch started, or read now; a start below the low watermark is a CDC gap),
// decoding every event of the range into the dataset's CDC load table (replays of events already
// committed skipped, poison events quarantined or failing the batch per the stream's policy),
// the row hashes computed in SQL (the normative form of yellow.md §5: CDC values are converted
// text, not PostgreSQL's output text), and the conflation of the load table into staging(B).
//
// Offsets are never committed to Kafka while a batch is read: the range lives in the batch state
// and becomes final with the merge commit. CommitOffsets copies a committed batch's end offsets to
// the consumer group afterwards, for monitoring.
package cdcingest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/hashing"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/ingest/internal/cdc"
	"github.com/datasurface/datasurface/services/ingest/internal/failure"
	"github.com/datasurface/datasurface/services/ingest/internal/plan"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Limits.
const (
	// MaxRejects is the most poison events one batch quarantines; more fail the batch.
	MaxRejects = 10000
	// MaxPasses is how often a dataset's events are read again after the merge database
	// rejected one of them (each rejection quarantines that event).
	MaxPasses  = 20
	flushBytes = 256 << 10
)

// Loaded is what a CDC load staged.
type Loaded struct {
	Rows     map[string]int64
	Rejected map[string]int64
	Replayed map[string]int64
	Total    int64
	Bytes    int64
	Kafka    *mergesql.KafkaState
	// DataTime is the newest source.ts_ms read (zero when no event was read).
	DataTime time.Time
}

// Ranges computes the offset range of every partition of the stream's topics: start = the
// previous committed batch's end (the low watermark for a new partition), end = the end
// recorded in the current state (the high watermark now when none is recorded).
func Ranges(ctx context.Context, src cdc.Source, s *plan.Stream, cur mergesql.State, last *mergesql.State) (map[string]map[int32]cdc.Range, *mergesql.KafkaState, error) {
	ks := &mergesql.KafkaState{Start: map[string]int64{}, End: map[string]int64{}}
	out := map[string]map[int32]cdc.Range{}
	for _, ds := range s.Datasets {
		parts, err := src.Partitions(ctx, ds.Topic)
		if err != nil {
			return nil, nil, failure.Wrap(err, failure.Kafka, ds.Ref(), "list the partitions of topic "+ds.Topic)
		}
		out[ds.Topic] = map[int32]cdc.Range{}
		for _, p := range parts {
			k := ds.Topic + "/" + strconv.Itoa(int(p))
			low, high, err := src.Watermarks(ctx, ds.Topic, p)
			if err != nil {
				return nil, nil, failure.Wrap(err, failure.Kafka, ds.Ref(), "read the offsets of "+k)
			}
			end, ok := int64(0), false
			if cur.Kafka != nil {
				end, ok = cur.Kafka.End[k]
			}
			if !ok {
				end = high
			}
			start, ok := int64(0), false
			if last != nil && last.Kafka != nil {
				start, ok = last.Kafka.End[k]
			}
			if !ok {
				start = low
			}
			switch {
			case start < low:
				return nil, nil, failure.Newf(failure.CDCGap, ds.Ref(), nil,
					"CDC gap on %s: events %d to %d were deleted by retention before they were read; re-snapshot the connector and run `datasurface batch reseed`", k, start, low-1)
			case start > end:
				return nil, nil, failure.Newf(failure.CDCGap, ds.Ref(), nil,
					"CDC gap on %s: the previous batch read up to offset %d but the partition ends at %d (was the topic recreated?); run `datasurface batch reseed`", k, start, end)
			}
			ks.Start[k], ks.End[k] = start, end
			out[ds.Topic][p] = cdc.Range{Start: start, End: end}
		}
	}
	return out, ks, nil
}

// CommitOffsets commits the end offsets of the stream's last committed batch (its state last;
// nil when none) to the stream's consumer group datasurface.<D>.<K>, for monitoring (yellow.md
// §7.3): the ingest of the next batch calls it, when that batch is known committed, so the group
// is never ahead of a committed batch. The batch state stays the only source of positions:
// nothing reads these offsets back.
func CommitOffsets(ctx context.Context, src cdc.Source, last *mergesql.State) error {
	if last == nil || last.Kafka == nil || len(last.Kafka.End) == 0 {
		return nil
	}
	offsets := map[string]map[int32]int64{}
	for k, end := range last.Kafka.End {
		i := strings.LastIndexByte(k, '/')
		p, err := strconv.ParseInt(k[i+1:], 10, 32)
		if i <= 0 || err != nil {
			return fmt.Errorf("committed batch state: partition %q is not <topic>/<partition>", k)
		}
		topic := k[:i]
		if offsets[topic] == nil {
			offsets[topic] = map[int32]int64{}
		}
		offsets[topic][int32(p)] = end
	}
	return src.Commit(ctx, offsets)
}

// reject is a poison event set aside.
type reject struct {
	topic     string
	partition int32
	offset    int64
	reason    string
	payload   []byte
}

type msgID struct {
	partition int32
	offset    int64
}

// Loader loads the CDC batch of one stream.
type Loader struct {
	Src    cdc.Source
	Stream *plan.Stream
	Batch  int32
	Ranges map[string]map[int32]cdc.Range
	// PrevMax is state.kafka.maxPos of the last committed batch (nil = none).
	PrevMax []int64
	Log     *slog.Logger
	// Archive receives every message read, as JSON lines (nil = no raw archive).
	Archive interface {
		Dataset(ctx context.Context, name string) (io.WriteCloser, error)
	}
}

// Load stages every dataset in the ingest transaction tx.
func (l *Loader) Load(ctx context.Context, tx pgx.Tx) (Loaded, error) {
	out := Loaded{Rows: map[string]int64{}, Rejected: map[string]int64{}, Replayed: map[string]int64{}}
	var prev *cdc.Position
	if len(l.PrevMax) == 3 {
		prev = &cdc.Position{l.PrevMax[0], l.PrevMax[1], l.PrevMax[2]}
	}
	var maxPos *cdc.Position
	var rejects []reject
	for _, ds := range l.Stream.Datasets {
		r, err := l.loadOne(ctx, tx, ds, prev)
		if err != nil {
			return out, err
		}
		out.Rows[ds.Name] = r.staged
		out.Total += r.staged
		out.Bytes += r.bytes
		if len(r.rejects) > 0 {
			out.Rejected[ds.Name] = int64(len(r.rejects))
		}
		if r.replayed > 0 {
			out.Replayed[ds.Name] = r.replayed
		}
		if r.maxPos != nil && (maxPos == nil || r.maxPos.Compare(*maxPos) > 0) {
			maxPos = r.maxPos
		}
		if r.maxTs > 0 && time.UnixMilli(r.maxTs).After(out.DataTime) {
			out.DataTime = time.UnixMilli(r.maxTs).UTC()
		}
		rejects = append(rejects, r.rejects...)
	}
	for _, rj := range rejects {
		st := l.Stream.Books.Reject(l.Stream.Key, l.Batch, rj.topic, rj.partition, rj.offset, rj.reason, rj.payload)
		if _, err := tx.Exec(ctx, st.SQL, st.Args...); err != nil {
			return out, mergeErr("", "record a rejected event", err)
		}
	}
	if len(rejects) > 0 {
		l.Log.WarnContext(ctx, "poison CDC events quarantined", "stream", l.Stream.Key, "batch", l.Batch, "rejected", len(rejects), "first", rejects[0].reason)
	}
	if maxPos == nil && prev != nil {
		maxPos = prev
	}
	if maxPos != nil {
		out.Kafka = &mergesql.KafkaState{MaxPos: []int64{maxPos[0], maxPos[1], maxPos[2]}}
	}
	return out, nil
}

type dsResult struct {
	staged, replayed, bytes int64
	rejects                 []reject
	maxPos                  *cdc.Position
	maxTs                   int64
}

var copyLine = regexp.MustCompile(`line (\d+)`)

func (l *Loader) loadOne(ctx context.Context, tx pgx.Tx, ds *plan.Dataset, prev *cdc.Position) (dsResult, error) {
	ref := ds.Ref()
	for _, st := range []mergesql.Stmt{mergesql.TruncateCDCLoad(ds.Load.Name), mergesql.ClearStaging(ds.Staging.Name, l.Batch)} {
		if _, err := tx.Exec(ctx, st.SQL, st.Args...); err != nil {
			return dsResult{}, mergeErr(ref, st.Name, err)
		}
	}
	dec, err := cdc.NewDecoder(ds.Dataset, ds.TimeZones)
	if err != nil {
		return dsResult{}, failure.New(failure.Model, ref, "CDC decoder", err)
	}
	p := &pass{l: l, ds: ds, dec: dec, prev: prev, diverted: map[msgID]string{}}
	for n := 1; ; n++ {
		if _, err := tx.Exec(ctx, "SAVEPOINT cdc"); err != nil {
			return dsResult{}, mergeErr(ref, "savepoint", err)
		}
		err := p.run(ctx, tx)
		if err == nil {
			break
		}
		if _, ok := failure.As(err); ok || ctx.Err() != nil {
			return dsResult{}, failure.Wrap(err, failure.Kafka, ref, "read the CDC events")
		}
		m := copyLine.FindStringSubmatch(pgWhere(err))
		code := failure.PgCode(err)
		if m == nil || (!strings.HasPrefix(code, "22") && !strings.HasPrefix(code, "23")) || n >= MaxPasses {
			return dsResult{}, mergeErr(ref, "copy the CDC events into the load table", err)
		}
		if _, rerr := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT cdc"); rerr != nil {
			return dsResult{}, mergeErr(ref, "rollback to savepoint", errors.Join(err, rerr))
		}
		line, _ := strconv.Atoi(m[1])
		p.divertLine, p.divertReason = line, "the merge database rejects a value: "+failure.PgMessage(err)
		l.Log.DebugContext(ctx, "CDC event rejected by the merge database, reading again", "dataset", ref, "line", line, "error", err)
	}
	cols := make([]hashing.Column, len(ds.Columns))
	for i, c := range ds.Columns {
		cols[i] = hashing.Column{Name: c.Name, Type: c.Type}
	}
	all, err := hashing.AllHashSQL("l", cols)
	if err != nil {
		return dsResult{}, failure.New(failure.Model, ref, "hash SQL", err)
	}
	key, err := hashing.KeyHashSQL("l", cols, ds.PrimaryKey)
	if err != nil {
		return dsResult{}, failure.New(failure.Model, ref, "hash SQL", err)
	}
	upd := "UPDATE " + pgx.Identifier{ds.Load.Name.Schema, ds.Load.Name.Name}.Sanitize() + " AS l SET " +
		pgx.Identifier{layout.AllHash}.Sanitize() + " = " + all + ", " + pgx.Identifier{layout.KeyHash}.Sanitize() + " = " + key +
		" WHERE l." + pgx.Identifier{layout.BatchID}.Sanitize() + " = $1"
	if _, err := tx.Exec(ctx, upd, l.Batch); err != nil {
		return dsResult{}, mergeErr(ref, "hash the CDC events", err)
	}
	conflate, err := mergesql.ConflateCDC(ds.Load, ds.Staging, l.Batch)
	if err != nil {
		return dsResult{}, failure.New(failure.Model, ref, "conflate", err)
	}
	tag, err := tx.Exec(ctx, conflate.SQL, conflate.Args...)
	if err != nil {
		return dsResult{}, mergeErr(ref, conflate.Name, err)
	}
	r := p.res
	r.staged = tag.RowsAffected()
	if r.staged > mergesql.AnalyzeThreshold {
		if _, err := tx.Exec(ctx, mergesql.Analyze(ds.Staging.Name).SQL); err != nil {
			return dsResult{}, mergeErr(ref, "analyze staging", err)
		}
	}
	return r, nil
}

func pgWhere(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Where
	}
	return ""
}

// pass is one read of a dataset's range into its load table.
type pass struct {
	l    *Loader
	ds   *plan.Dataset
	dec  *cdc.Decoder
	prev *cdc.Position
	// diverted are events the merge database rejected in an earlier pass (→ reason).
	diverted     map[msgID]string
	divertLine   int
	divertReason string

	res     dsResult
	line    int
	partMax map[int32][2]int64
	buf     []byte
	w       *io.PipeWriter
	arch    io.WriteCloser
	archBuf []byte
}

func (p *pass) run(ctx context.Context, tx pgx.Tx) (err error) {
	p.res = dsResult{}
	p.line = 0
	p.buf = p.buf[:0]
	p.arch = nil
	if p.l.Archive != nil {
		if p.arch, err = p.l.Archive.Dataset(ctx, p.ds.Name); err != nil {
			return failure.Wrap(err, failure.Archive, p.ds.Ref(), "raw archive")
		}
		defer func() {
			if cerr := p.arch.Close(); cerr != nil && err == nil {
				err = failure.Wrap(cerr, failure.Archive, p.ds.Ref(), "raw archive")
			}
		}()
	}
	p.partMax = map[int32][2]int64{}
	pr, pw := io.Pipe()
	p.w = pw
	done := make(chan error, 1)
	go func() {
		err := p.l.Src.Read(ctx, p.ds.Topic, p.l.Ranges[p.ds.Topic], p.message)
		if err == nil {
			err = p.flush()
		}
		_ = pw.CloseWithError(err)
		done <- err
	}()
	_, err = tx.Conn().PgConn().CopyFrom(ctx, pr, mergesql.CopyFrom(p.ds.Load.Name, mergesql.CDCLoadCopyColumns(p.ds.Load)))
	_ = pr.CloseWithError(err)
	readErr := <-done
	if readErr != nil && !errors.Is(readErr, io.ErrClosedPipe) && (err == nil || !errors.Is(readErr, err)) {
		return readErr
	}
	return err
}

// message decodes one Kafka message into a load line (or a reject, or nothing).
func (p *pass) message(m cdc.Message) error {
	p.res.bytes += int64(len(m.Value))
	if p.arch != nil {
		p.archBuf = appendArchiveLine(p.archBuf[:0], m)
		if _, err := p.arch.Write(p.archBuf); err != nil {
			return failure.Wrap(err, failure.Archive, p.ds.Ref(), "raw archive")
		}
	}
	id := msgID{m.Partition, m.Offset}
	if reason, ok := p.diverted[id]; ok {
		return p.poison(m, reason)
	}
	start := len(p.buf)
	buf, ev, err := p.dec.Decode(p.buf, m.Key, m.Value, m.Offset)
	p.buf = buf
	switch {
	case errors.Is(err, cdc.ErrTruncate):
		return failure.Newf(failure.CDCTruncate, p.ds.Ref(), nil, "truncate event at %s/%d offset %d: the table was truncated at the source; re-snapshot the connector and run `datasurface batch reseed`", m.Topic, m.Partition, m.Offset)
	case err != nil:
		p.buf = p.buf[:start]
		var ps *cdc.Poison
		if errors.As(err, &ps) {
			return p.poison(m, ps.Reason)
		}
		return err
	case ev.Op == 0: // tombstone
		p.buf = p.buf[:start]
		return nil
	}
	if p.prev != nil && ev.Pos.Compare(*p.prev) <= 0 {
		p.buf = p.buf[:start]
		p.res.replayed++
		return nil
	}
	lsn := [2]int64{ev.Pos[0], ev.Pos[1]}
	if last, ok := p.partMax[m.Partition]; ok && (lsn[0] < last[0] || lsn[0] == last[0] && lsn[1] < last[1]) {
		p.buf = p.buf[:start]
		return p.poison(m, fmt.Sprintf("out of order: position [%d, %d] after [%d, %d] in the same partition", lsn[0], lsn[1], last[0], last[1]))
	}
	p.line++
	if p.line == p.divertLine {
		p.buf = p.buf[:start]
		p.line--
		p.diverted[id] = p.divertReason
		p.divertLine = 0
		return p.poison(m, p.divertReason)
	}
	p.partMax[m.Partition] = lsn
	if p.res.maxPos == nil || ev.Pos.Compare(*p.res.maxPos) > 0 {
		pos := ev.Pos
		p.res.maxPos = &pos
	}
	p.res.maxTs = max(p.res.maxTs, ev.TsMs)
	p.buf = fmt.Appendf(p.buf, "\t%d\t\\\\x\t\\\\x\t%c\t{%d,%d,%d}\t", p.l.Batch, ev.Op, ev.Pos[0], ev.Pos[1], ev.Pos[2])
	p.buf = hashing.AppendEscaped(p.buf, []byte(m.Topic))
	p.buf = fmt.Appendf(p.buf, "\t%d\t%d\n", m.Partition, m.Offset)
	if len(p.buf) >= flushBytes {
		return p.flush()
	}
	return nil
}

func (p *pass) flush() error {
	if len(p.buf) == 0 {
		return nil
	}
	_, err := p.w.Write(p.buf)
	p.buf = p.buf[:0]
	return err
}

// poison sets an event aside (QUARANTINE) or fails the batch (FAIL).
func (p *pass) poison(m cdc.Message, reason string) error {
	where := fmt.Sprintf("%s/%d offset %d", m.Topic, m.Partition, m.Offset)
	if p.l.Stream.RejectPolicy == modelv1.CdcRejectPolicy_CDC_REJECT_POLICY_FAIL {
		return failure.Newf(failure.CDCPoison, p.ds.Ref(), nil, "poison event at %s: %s (cdcRejectPolicy FAIL)", where, reason)
	}
	if len(p.res.rejects) >= MaxRejects {
		return failure.Newf(failure.CDCPoison, p.ds.Ref(), nil, "more than %d poison events in one batch; the last at %s: %s", MaxRejects, where, reason)
	}
	p.res.rejects = append(p.res.rejects, reject{topic: m.Topic, partition: m.Partition, offset: m.Offset, reason: reason, payload: slices.Clone(m.Value)})
	return nil
}

// mergeErr classifies an error of the merge session.
func mergeErr(ref, what string, err error) error {
	if _, ok := failure.As(err); ok {
		return err
	}
	switch failure.PgCode(err) {
	case "42501":
		return failure.New(failure.Staging, ref, what+": the merge login may not use the platform's tables (it must be a member of the platform owner role): "+failure.PgMessage(err), err)
	case "42P01", "42703", "42804":
		return failure.New(failure.Staging, ref, fmt.Sprintf("%s: the CDC tables do not match the model (reconcile the stream's tables first): %s", what, failure.PgMessage(err)), err)
	}
	return failure.Wrap(err, failure.MergeUnreachable, ref, what)
}

// appendArchiveLine appends one message as a JSON line of the raw archive: topic, partition,
// offset, and key and value as base64 (null when absent), so poison messages archive exactly.
func appendArchiveLine(dst []byte, m cdc.Message) []byte {
	dst = append(dst, `{"topic":`...)
	dst = strconv.AppendQuote(dst, m.Topic)
	dst = fmt.Appendf(dst, `,"partition":%d,"offset":%d,"key":`, m.Partition, m.Offset)
	dst = appendB64(dst, m.Key)
	dst = append(dst, `,"value":`...)
	dst = appendB64(dst, m.Value)
	return append(dst, '}', '\n')
}

func appendB64(dst, b []byte) []byte {
	if b == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}
