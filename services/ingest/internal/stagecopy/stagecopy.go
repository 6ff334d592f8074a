// Package stagecopy owns the streaming copy of yellow.md §7.1: the text output of
// `COPY (SELECT …) TO STDOUT` on a source session flows through a transformer that appends the
// batch id and the two row hashes to every line (hashing.Hasher.AppendStagingLine) into
// `COPY <staging> (…) FROM STDIN` on the merge session. Memory is bounded by a few buffers
// whatever the table size: lines are hashed in place, the staging data is handed to the merge
// session through a synchronous pipe in chunks of FlushBytes, and nothing is allocated per row.
//
// Rows with NULL in a key column are counted (with the first as an example) and left out, so
// the whole snapshot is read and the count is exact. When the merge session rejects the data,
// a Drain policy decides whether the source keeps being read to its end (so the source
// transaction stays usable for a diagnosis in the same snapshot) or is abandoned at once.
package stagecopy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/datasurface/datasurface/platforms/yellow/hashing"
	"github.com/jackc/pgx/v5/pgconn"
)

// FlushBytes is the size of the chunks handed to the merge session.
const FlushBytes = 256 << 10

// maxKeep is the capacity above which a buffer grown by one huge row is released after use.
const maxKeep = 4 << 20

// Spec is one copy.
type Spec struct {
	// SourceSQL is `COPY (SELECT …) TO STDOUT`; its fields are the model columns in model order.
	SourceSQL string
	// StagingSQL is `COPY <staging> (model columns, ds_surf_batch_id, ds_surf_all_hash,
	// ds_surf_key_hash) FROM STDIN`.
	StagingSQL string
	Hasher     *hashing.Hasher
	Batch      int32
	// KeyFields are the field indexes of the primary-key columns and KeyNames their names (nil
	// for a keyless dataset): a row with `\N` in one of them is counted and skipped.
	KeyFields []int
	KeyNames  []string
	// Tee, when set, receives the source COPY text as read (the raw archive).
	Tee io.Writer
	// Drain reports whether, after the merge session rejected the data with err, the rest of
	// the source output is read and discarded instead of abandoning the source session (which
	// closes it). nil = never drain.
	Drain func(err error) bool
}

// Result is the outcome of a copy.
type Result struct {
	// Rows is the number of staged rows, Bytes the number of source COPY bytes read.
	Rows  int64
	Bytes int64
	// NullKeys counts rows with NULL in a key column; NullKeyExample shows the key of the first
	// (`col=value, …`, values as COPY text, `\N` for NULL).
	NullKeys       int64
	NullKeyExample string
	// SourceErr is the error of the source side (the COPY TO, or a line that could not be
	// hashed); StagingErr the error of the merge side. Both nil = success.
	SourceErr  error
	StagingErr error
	// SourceClosed is true when the source session was abandoned (it is closed and its
	// transaction is gone).
	SourceClosed bool
}

// Err returns the first cause of a failed copy: the source error when there is one (the merge
// side then only saw the aborted stream), else the staging error.
func (r Result) Err() error {
	if r.SourceErr != nil {
		return r.SourceErr
	}
	return r.StagingErr
}

// Errors of the transformer: an unhashable source line, a failed write to the tee.
var (
	ErrLine = errors.New("source line")
	ErrTee  = errors.New("raw archive")
)

// Run copies spec.SourceSQL on src into spec.StagingSQL on dst. Both sessions must be idle (in
// their transactions); ctx cancels both.
func Run(ctx context.Context, src, dst *pgconn.PgConn, spec Spec) Result {
	p := newChunkPipe(Chunks, FlushBytes+4096)
	t := &transformer{spec: spec, pipe: p}
	if len(spec.KeyFields) > 0 {
		t.keyMask = make([]bool, spec.Hasher.Fields())
		for _, i := range spec.KeyFields {
			t.keyMask[i] = true
			t.maxKey = max(t.maxKey, i)
		}
	}
	var res Result
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := src.CopyTo(ctx, t, spec.SourceSQL)
		if err == nil {
			err = t.flush(true)
		}
		if err != nil {
			res.SourceErr = err
			p.closeWrite(fmt.Errorf("source copy failed: %w", err))
			return
		}
		p.closeWrite(nil)
	}()
	tag, err := dst.CopyFrom(ctx, p, spec.StagingSQL)
	if err != nil {
		p.abort(err)
	}
	<-done
	res.Rows, res.Bytes, res.NullKeys, res.NullKeyExample = t.rows, t.bytes, t.nullKeys, t.nullExample
	if err != nil {
		res.StagingErr = err
		if res.SourceErr != nil && errors.Is(res.SourceErr, err) {
			res.SourceErr = nil // the source side only stopped because the merge side failed
		}
	} else if tag.RowsAffected() != t.rows && res.SourceErr == nil {
		res.StagingErr = fmt.Errorf("staging copy took %d rows, %d were sent", tag.RowsAffected(), t.rows)
	}
	res.SourceClosed = src.IsClosed()
	return res
}

// Chunks is the number of chunks of FlushBytes in flight between the transformer and the merge
// session: the transformer fills one while the others are sent, so hashing overlaps sending.
const Chunks = 4

// chunkPipe hands filled chunks from the transformer (writer) to the merge session's COPY
// (reader, an io.Reader) and returns the emptied ones: at most n chunks exist.
type chunkPipe struct {
	full     chan []byte
	free     chan []byte
	done     chan struct{} // closed by abort
	abortErr error
	werr     error // set before full is closed
	cur      []byte
	off      int
	size     int
}

func newChunkPipe(n, size int) *chunkPipe {
	p := &chunkPipe{full: make(chan []byte, n), free: make(chan []byte, n), done: make(chan struct{}), size: size}
	for range n {
		p.free <- make([]byte, 0, size)
	}
	return p
}

// get returns an empty chunk (writer side); it fails once the reader side aborted.
func (p *chunkPipe) get() ([]byte, error) {
	select { // an abort wins over a free chunk
	case <-p.done:
		return nil, p.abortErr
	default:
	}
	select {
	case b := <-p.free:
		return b[:0], nil
	case <-p.done:
		return nil, p.abortErr
	}
}

// put hands a filled chunk over (writer side).
func (p *chunkPipe) put(b []byte) error {
	select {
	case <-p.done:
		return p.abortErr
	default:
	}
	select {
	case p.full <- b:
		return nil
	case <-p.done:
		return p.abortErr
	}
}

// closeWrite ends the stream: err nil = EOF.
func (p *chunkPipe) closeWrite(err error) {
	p.werr = err
	close(p.full)
}

// abort tells the writer side the reader failed with err.
func (p *chunkPipe) abort(err error) {
	p.abortErr = err
	close(p.done)
}

// Read implements io.Reader for the merge session's COPY.
func (p *chunkPipe) Read(b []byte) (int, error) {
	if p.cur == nil {
		c, ok := <-p.full
		if !ok {
			if p.werr != nil {
				return 0, p.werr
			}
			return 0, io.EOF
		}
		p.cur, p.off = c, 0
	}
	n := copy(b, p.cur[p.off:])
	p.off += n
	if p.off == len(p.cur) {
		c := p.cur
		if cap(c) > maxKeep {
			c = make([]byte, 0, p.size) // release a chunk grown by one huge row
		}
		p.free <- c
		p.cur = nil
	}
	return n, nil
}

// transformer is the io.Writer the source COPY writes into.
type transformer struct {
	spec    Spec
	pipe    *chunkPipe
	out     []byte // the chunk being filled (nil until the first line)
	carry   []byte // a partial line from the previous write
	keyMask []bool
	maxKey  int
	discard bool

	rows, bytes, nullKeys int64
	nullExample           string
}

func (t *transformer) Write(p []byte) (int, error) {
	n := len(p)
	t.bytes += int64(n)
	if t.discard {
		return n, nil
	}
	if t.spec.Tee != nil {
		if _, err := t.spec.Tee.Write(p); err != nil {
			return 0, fmt.Errorf("%w: %w", ErrTee, err)
		}
	}
	if len(t.carry) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			t.carry = append(t.carry, p...)
			return n, nil
		}
		t.carry = append(t.carry, p[:i]...)
		if err := t.line(t.carry); err != nil {
			return 0, err
		}
		t.carry = t.carry[:0]
		if cap(t.carry) > maxKeep {
			t.carry = nil
		}
		p = p[i+1:]
	}
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			t.carry = append(t.carry, p...)
			break
		}
		if err := t.line(p[:i]); err != nil {
			return 0, err
		}
		p = p[i+1:]
	}
	if len(t.out) >= FlushBytes {
		if err := t.flush(false); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// line stages one source line.
func (t *transformer) line(l []byte) error {
	if t.discard {
		return nil
	}
	if t.keyMask != nil && t.nullKey(l) {
		return nil
	}
	if t.out == nil {
		b, err := t.pipe.get()
		if err != nil {
			return t.stagingFailed(err) // nil when draining: the line is discarded
		}
		t.out = b
	}
	var err error
	t.out, err = t.spec.Hasher.AppendStagingLine(t.out, l, t.spec.Batch)
	if err != nil {
		return fmt.Errorf("%w %d: %w", ErrLine, t.rows+t.nullKeys+1, err)
	}
	t.rows++
	return nil
}

// nullKey reports whether a key field of l is `\N`, counting the row.
func (t *transformer) nullKey(l []byte) bool {
	field, start := 0, 0
	for i := 0; i <= len(l) && field <= t.maxKey; i++ {
		if i < len(l) && l[i] != '\t' {
			continue
		}
		if t.keyMask[field] && i-start == 2 && l[start] == '\\' && l[start+1] == 'N' {
			t.nullKeys++
			if t.nullExample == "" {
				t.nullExample = t.keyText(l)
			}
			return true
		}
		field++
		start = i + 1
	}
	return false
}

// keyText renders the key fields of l as `name=value, …` in key order.
func (t *transformer) keyText(l []byte) string {
	fields := bytes.Split(l, []byte{'\t'})
	parts := make([]string, 0, len(t.spec.KeyFields))
	for k, i := range t.spec.KeyFields {
		v := "?"
		if i < len(fields) {
			v = string(fields[i])
			if len(v) > 100 {
				v = v[:100] + "…"
			}
		}
		parts = append(parts, t.spec.KeyNames[k]+"="+v)
	}
	return strings.Join(parts, ", ")
}

// flush hands the chunk being filled to the merge session (last: the source has ended).
func (t *transformer) flush(last bool) error {
	if t.discard {
		return nil
	}
	if last && len(t.carry) > 0 {
		return fmt.Errorf("%w %d: the source output ends without a line feed", ErrLine, t.rows+t.nullKeys+1)
	}
	if len(t.out) == 0 {
		return nil
	}
	b := t.out
	t.out = nil
	if err := t.pipe.put(b); err != nil {
		return t.stagingFailed(err)
	}
	return nil
}

// stagingFailed decides, after the merge session failed with err, whether the source is
// drained (nil: keep reading and discard) or abandoned (err).
func (t *transformer) stagingFailed(err error) error {
	if t.spec.Drain != nil && t.spec.Drain(err) {
		t.discard = true
		t.out = nil
		return nil
	}
	return err
}
