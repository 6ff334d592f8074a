package stagecopy

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/datasurface/datasurface/platforms/yellow/hashing"
	"github.com/google/go-cmp/cmp"
)

func hasher(t *testing.T) *hashing.Hasher {
	t.Helper()
	h, err := hashing.New([]hashing.Column{{Name: "id", Type: "integer"}, {Name: "name", Type: "character varying"}, {Name: "k2", Type: "integer"}}, []string{"k2", "id"})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// feed writes src into a transformer in pieces cut at the given offsets and returns what the
// merge side would read.
func feed(t *testing.T, src string, cuts []int) (string, *transformer) {
	t.Helper()
	p := newChunkPipe(2, 64)
	tr := &transformer{spec: Spec{Hasher: hasher(t), Batch: 7, KeyFields: []int{2, 0}, KeyNames: []string{"k2", "id"}}, pipe: p}
	tr.keyMask = []bool{true, false, true}
	tr.maxKey = 2
	var (
		out bytes.Buffer
		wg  sync.WaitGroup
	)
	wg.Go(func() { _, _ = io.Copy(&out, p) })
	prev := 0
	for _, c := range append(cuts, len(src)) {
		if _, err := tr.Write([]byte(src[prev:c])); err != nil {
			t.Fatal(err)
		}
		prev = c
	}
	if err := tr.flush(true); err != nil {
		t.Fatal(err)
	}
	p.closeWrite(nil)
	wg.Wait()
	return out.String(), tr
}

func TestTransformerChunking(t *testing.T) {
	src := "1\tann\t10\n2\t\\N\t20\n3\tc\\td\t\\N\n\\N\tx\t\\N\n4\tlong " + strings.Repeat("x", 200) + "\t40\n"
	want, tr := feed(t, src, nil)
	if tr.rows != 3 || tr.nullKeys != 2 || tr.nullExample != `k2=\N, id=3` || tr.bytes != int64(len(src)) {
		t.Fatalf("rows %d nullKeys %d example %q bytes %d", tr.rows, tr.nullKeys, tr.nullExample, tr.bytes)
	}
	h := hasher(t)
	var exp []byte
	for _, l := range []string{"1\tann\t10", "2\t\\N\t20", "4\tlong " + strings.Repeat("x", 200) + "\t40"} {
		var err error
		if exp, err = h.AppendStagingLine(exp, []byte(l), 7); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(string(exp), want); diff != "" {
		t.Fatalf("staging lines (-want +got):\n%s", diff)
	}
	for i := 1; i < len(src); i++ {
		for _, cuts := range [][]int{{i}, {i / 2, i}} {
			if got, _ := feed(t, src, cuts); got != want {
				t.Fatalf("cut at %v: output differs", cuts)
			}
		}
	}
}

func TestTransformerUnterminated(t *testing.T) {
	p := newChunkPipe(2, 64)
	tr := &transformer{spec: Spec{Hasher: hasher(t)}, pipe: p}
	if _, err := tr.Write([]byte("1\ta\t2\n3\tb")); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, p) }()
	if err := tr.flush(true); !errors.Is(err, ErrLine) {
		t.Fatalf("flush = %v, want ErrLine", err)
	}
}

func TestTransformerDrain(t *testing.T) {
	boom := errors.New("unique violation")
	for _, drain := range []bool{true, false} {
		p := newChunkPipe(1, 16)
		tr := &transformer{spec: Spec{Hasher: hasher(t), Drain: func(err error) bool { return drain && errors.Is(err, boom) }}, pipe: p}
		p.abort(boom)
		var err error
		for range 50 {
			if _, err = tr.Write([]byte("1\tabcdefghijklmnopqrstuvwxyz\t2\n")); err != nil {
				break
			}
		}
		if err == nil {
			err = tr.flush(true)
		}
		if drain && (err != nil || !tr.discard) {
			t.Errorf("drain: err %v, discard %t", err, tr.discard)
		}
		if !drain && !errors.Is(err, boom) {
			t.Errorf("no drain: err %v", err)
		}
	}
}
