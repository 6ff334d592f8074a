package srcmap

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/datasurface/datasurface/model/problem"
)

// entry is one key recorded by a test document.
type entry struct {
	key       string
	line, col int
}

// doc returns a lazy document of file recording entries, counting its fills.
func doc(file string, fills *atomic.Int32, roots []string, entries ...entry) *Doc {
	return NewDoc(file, roots, func(set func(string, int, int)) {
		fills.Add(1)
		for _, e := range entries {
			set(e.key, e.line, e.col)
		}
	})
}

// step builds the same content into an eager and a lazy map: a Set, or a document.
type step struct {
	set     *entry
	file    string
	roots   []string
	entries []entry
}

func build(side problem.Side, steps []step) (eager, lazy *Map, fills *atomic.Int32) {
	eager, lazy, fills = New(side), New(side), new(atomic.Int32)
	for _, s := range steps {
		if s.set != nil {
			eager.Set(s.set.key, s.file, s.set.line, s.set.col)
			lazy.Set(s.set.key, s.file, s.set.line, s.set.col)
			continue
		}
		for _, e := range s.entries {
			eager.Set(e.key, s.file, e.line, e.col)
		}
		lazy.AddDoc(doc(s.file, fills, s.roots, s.entries...))
	}
	return eager, lazy, fills
}

var testSteps = []step{
	{file: "eco.yaml", roots: []string{"ecosystem", "vendor[V]"}, entries: []entry{
		{"ecosystem", 3, 18}, {"ecosystem#zones[Z]", 7, 7}, {"ecosystem#zones[Z].owningRepo", 7, 20},
		{"vendor[V]", 9, 13}, {"vendor[V]/location[L]", 10, 17},
	}},
	{set: &entry{"datastore[S]#documentation", 1, 1}, file: "set.yaml"},
	{file: "zone.yaml", roots: []string{"zone[Z]"}, entries: []entry{
		{"zone[Z]", 3, 18}, {"zone[Z]#teams[T]", 6, 7}, {"zone[Z]#teams[T]", 99, 99},
	}},
	{file: "team.yaml", roots: []string{"zone[Z]/team[T]"}, entries: []entry{
		{"zone[Z]/team[T]", 3, 18}, {"zone[Z]/team[T]#containers[pg].postgres.host", 5, 40},
	}},
	{file: "s1.yaml", roots: []string{"datastore[S]"}, entries: []entry{
		{"datastore[S]", 3, 18}, {"datastore[S]#documentation", 5, 18}, {"datastore[S]/dataset[D]", 7, 13},
		{"datastore[S]/dataset[D]#primaryKey[id]", 8, 20},
	}},
	{file: "s2.yaml", roots: []string{"datastore[S]"}, entries: []entry{ // a duplicate datastore
		{"datastore[S]", 3, 18}, {"datastore[S]/dataset[D2]", 7, 13},
	}},
	{set: &entry{"datastore[S]/dataset[D2]", 2, 2}, file: "set.yaml"},
	{set: &entry{"datastore[X]", 4, 4}, file: "set.yaml"},
	// Names with brackets and separators: the parent of the dataset key skips its root.
	{file: "odd.yaml", roots: []string{"datastore[a]/b]"}, entries: []entry{
		{"datastore[a]/b]", 3, 18}, {"datastore[a]/b]/dataset[x[y]", 7, 13}, {"datastore[a]/b]#documentation", 4, 5},
	}},
	{file: "assign.yaml", roots: []string{"assignment[W.G]", "primary[S]"}, entries: []entry{
		{"assignment[W.G]", 6, 7}, {"assignment[W.G]/platform[P]", 9, 11}, {"assignment[W.G]/platform[P]#status", 9, 40},
		{"primary[S]", 12, 7},
	}},
}

// probes are keys looked up besides the recorded ones.
var probes = []string{
	"", "ecosystem#owningRepo", "ecosystem#zones[Z].owningRepo.x", "vendor[V]/location[L]/location[M]#x",
	"zone[Z]#teams[T].owningRepo", "zone[Z]/team[T]#containers[pg].postgres.port", "zone[Z]/team[U]#x",
	"datastore[S]/dataset[D]/column[c]#type", "datastore[S]/dataset[D2]#x", "datastore[X]/dataset[D]",
	"datastore[a]/b]/dataset[x[y]#columns", "datastore[Nope]", "assignment[W.G]/platform[Q]#status",
	"primary[S]#platforms[P]", "psp[P]/platform[D]",
}

// keysOf returns every key of m with its position.
func keysOf(m *Map) map[string]problem.Position {
	out := map[string]problem.Position{}
	m.Keys(func(k string, p problem.Position) { out[k] = p })
	return out
}

func TestLazyEqualsEager(t *testing.T) {
	eager, lazy, fills := build(problem.Head, testSteps)
	if fills.Load() != 0 {
		t.Fatalf("%d documents filled before any lookup", fills.Load())
	}
	if p := lazy.Pos("zone[Z]"); p.String() != "zone.yaml:3:18" {
		t.Errorf("zone[Z] at %v", p)
	}
	if n := fills.Load(); n != 1 {
		t.Errorf("one lookup filled %d documents", n)
	}
	all := keysOf(eager)
	keys := append([]string(nil), probes...)
	for k := range all {
		keys = append(keys, k, k+"#zz", k+".zz", k+"[zz]", k+"/child[zz]")
	}
	for _, k := range keys {
		ep, eok := eager.Exact(k)
		lp, lok := lazy.Exact(k)
		if ep != lp || eok != lok {
			t.Errorf("Exact(%q): eager %v %v, lazy %v %v", k, ep, eok, lp, lok)
		}
		if e, l := eager.Pos(k), lazy.Pos(k); e != l {
			t.Errorf("Pos(%q): eager %v, lazy %v", k, e, l)
		}
	}
	if diff := cmp.Diff(all, keysOf(lazy)); diff != "" {
		t.Errorf("keys (-eager +lazy):\n%s", diff)
	}
	if eager.Len() != lazy.Len() {
		t.Errorf("Len: eager %d, lazy %d", eager.Len(), lazy.Len())
	}
	if lazy.Docs() != 7 {
		t.Errorf("Docs %d", lazy.Docs())
	}
	// Every document is filled once, however often it is looked up.
	if n := fills.Load(); n != 7 {
		t.Errorf("%d fills for 7 documents", n)
	}
}

func TestFirstWins(t *testing.T) {
	_, lazy, _ := build(problem.Head, testSteps)
	for key, want := range map[string]string{
		"datastore[S]#documentation":           "set.yaml:1:1",  // Set before the document
		"datastore[S]/dataset[D2]":             "s2.yaml:7:13",  // Set after the document
		"datastore[S]":                         "s1.yaml:3:18",  // the first of two documents
		"zone[Z]#teams[T]":                     "zone.yaml:6:7", // the first of a repeated key
		"datastore[a]/b]/dataset[x[y]#columns": "odd.yaml:7:13",
	} {
		if got := lazy.Pos(key).String(); got != want {
			t.Errorf("Pos(%q) = %s, want %s", key, got, want)
		}
	}
}

func TestWithSide(t *testing.T) {
	_, lazy, fills := build(problem.Head, testSteps)
	base := lazy.WithSide(problem.Base)
	if fills.Load() != 0 {
		t.Errorf("WithSide filled %d documents", fills.Load())
	}
	if got := base.Pos("vendor[V]/location[L]#x").String(); got != "base:eco.yaml:10:17" {
		t.Errorf("base position %s", got)
	}
	if got := lazy.Pos("vendor[V]/location[L]#x").String(); got != "eco.yaml:10:17" {
		t.Errorf("head position %s", got)
	}
	if fills.Load() != 1 {
		t.Errorf("the shared document was filled %d times", fills.Load())
	}
	// Changing one map leaves the other as it was.
	base.Set("datastore[New]", "n.yaml", 1, 1)
	lazy.AddDoc(NewDoc("w.yaml", []string{"workspace[W]"}, func(set func(string, int, int)) { set("workspace[W]", 3, 18) }))
	if _, ok := lazy.Exact("datastore[New]"); ok {
		t.Error("a Set on the copy changed the original")
	}
	if _, ok := base.Exact("workspace[W]"); ok {
		t.Error("an AddDoc on the original changed the copy")
	}
	if p, ok := base.Exact("datastore[New]"); !ok || p.String() != "base:n.yaml:1:1" {
		t.Errorf("the copy lost its Set: %v", p)
	}
	if p, ok := lazy.Exact("workspace[W]"); !ok || p.String() != "w.yaml:3:18" {
		t.Errorf("the original lost its document: %v", p)
	}
	var nilMap *Map
	if p := nilMap.Pos("ecosystem"); !p.IsZero() {
		t.Errorf("nil map: %v", p)
	}
}

// Lookups from many goroutines fill each document once (run with -race).
func TestConcurrentLookups(t *testing.T) {
	eager, lazy, fills := build(problem.Base, testSteps)
	keys := append([]string(nil), probes...)
	for k := range keysOf(eager) {
		keys = append(keys, k)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8*len(keys))
	for range 8 {
		wg.Go(func() {
			for _, k := range keys {
				if e, l := eager.Pos(k), lazy.Pos(k); e != l {
					errs <- fmt.Sprintf("Pos(%q): eager %v, lazy %v", k, e, l)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if n := fills.Load(); n != 7 {
		t.Errorf("%d fills for 7 documents", n)
	}
}
