package load

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
)

// FuzzLoad loads arbitrary bytes as one model file: loading never panics, always returns a
// model, reports no internal error, and is deterministic. The seed corpus is in
// testdata/fuzz/FuzzLoad.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(ecoDoc))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range []Options{{}, {Lenient: true}} {
			start := time.Now()
			r, err := Files([]File{{Path: "f.yaml", Content: data}}, opts)
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("loading took %v", d)
			}
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if r.Model == nil || r.Source == nil {
				t.Fatal("nil model or source map")
			}
			for _, p := range r.Problems {
				if strings.Contains(p.Message, errInternal.Error()) {
					t.Fatalf("internal error: %s", p.Message)
				}
				if !p.Pos.IsZero() && (p.Pos.File != "f.yaml" || p.Pos.Line < 1 || p.Pos.Column < 1) {
					t.Fatalf("bad position %v in %v", p.Pos, p)
				}
			}
			again, err := Files([]File{{Path: "f.yaml", Content: data}}, opts)
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(r.Model, again.Model) {
				t.Fatal("loading twice gives different models")
			}
			if diff := cmp.Diff(reduce(r.Problems), reduce(again.Problems)); diff != "" {
				t.Fatalf("loading twice gives different problems:\n%s", diff)
			}
		}
	})
}
