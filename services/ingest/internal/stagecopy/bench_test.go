package stagecopy

import (
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/datasurface/datasurface/platforms/yellow/hashing"
)

// BenchmarkTransformer measures the Go side of the staging copy alone: source COPY lines of
// about 176 bytes (the shape of `datasurface bench --suite yellow`), one Write per line as
// pgconn delivers them, hashed and handed through the chunk pipe to a reader that discards
// them. It reports rows/s and the bytes allocated per row (expected 0).
func BenchmarkTransformer(b *testing.B) {
	h, err := hashing.New([]hashing.Column{
		{Name: "id", Type: "bigint"}, {Name: "name", Type: "character varying(50)"}, {Name: "amount", Type: "numeric(12,2)"},
		{Name: "created", Type: "timestamp without time zone"}, {Name: "note", Type: "character varying(200)"}, {Name: "flag", Type: "boolean"},
	}, []string{"id"})
	if err != nil {
		b.Fatal(err)
	}
	const n = 4096
	lines := make([][]byte, n)
	for i := range lines {
		lines[i] = fmt.Appendf(nil, "%d\tname-%d\t%d.%02d\t2026-01-%02d 10:%02d:%02d\t%032x%032x%032x%032x\t%s\n",
			i+1, i+1, i%1000, i%100, i%28+1, i%60, i%60, i, i*7, i*13, i*17, []string{"t", "f"}[i%2])
	}
	p := newChunkPipe(Chunks, FlushBytes+4096)
	tr := &transformer{spec: Spec{Hasher: h, Batch: 7, KeyFields: []int{0}, KeyNames: []string{"id"}}, pipe: p, keyMask: make([]bool, 6)}
	tr.keyMask[0] = true
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = io.Copy(io.Discard, p) })
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := tr.Write(lines[i%n]); err != nil {
			b.Fatal(err)
		}
	}
	if err := tr.flush(true); err != nil {
		b.Fatal(err)
	}
	p.closeWrite(nil)
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
