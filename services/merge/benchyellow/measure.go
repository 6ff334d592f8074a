package benchyellow

import (
	"context"
	"errors"
	"io"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// memSampler samples the Go heap in use (objects + unused spans: MemStats.HeapInuse, read
// without stopping the world) and the process RSS until stopped, keeping the peaks.
type memSampler struct {
	stop     chan struct{}
	wg       sync.WaitGroup
	heap     uint64
	rss      uint64
	heapBase uint64
	rssBase  uint64
}

func startSampler() *memSampler {
	s := &memSampler{stop: make(chan struct{})}
	s.heapBase, s.rssBase = heapInUse(), rss()
	s.wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			s.heap, s.rss = max(s.heap, heapInUse()), max(s.rss, rss())
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	})
	return s
}

// Stop ends sampling and returns the peaks.
func (s *memSampler) Stop() (heap, rssPeak uint64) {
	close(s.stop)
	s.wg.Wait()
	return s.heap, s.rss
}

var heapSamples = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}

func heapInUse() uint64 {
	s := make([]metrics.Sample, len(heapSamples))
	copy(s, heapSamples)
	metrics.Read(s)
	var n uint64
	for _, x := range s {
		if x.Value.Kind() == metrics.KindUint64 {
			n += x.Value.Uint64()
		}
	}
	return n
}

// rss is the process's resident set size (Linux; 0 elsewhere).
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// pipeCopy streams `COPY (query) TO STDOUT` on from into `copyFrom` on to, untouched: the
// physical limit of moving the rows between the two databases.
func pipeCopy(ctx context.Context, from, to *pgx.Conn, query, copyFrom string) (int64, error) {
	pr, pw := io.Pipe()
	var (
		wg     sync.WaitGroup
		srcErr error
	)
	wg.Go(func() {
		_, srcErr = from.PgConn().CopyTo(ctx, pw, "COPY ("+query+") TO STDOUT")
		_ = pw.CloseWithError(srcErr)
	})
	tag, err := to.PgConn().CopyFrom(ctx, pr, copyFrom)
	_ = pr.CloseWithError(err)
	wg.Wait()
	return tag.RowsAffected(), errors.Join(err, srcErr)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[len(s)/2]
}
