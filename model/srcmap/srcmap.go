// Package srcmap keeps the position of every node of a loaded model, keyed by object path, so
// problems can cite file:line:column while the canonical model stays free of positions.
//
// Keys. An object's own node is keyed by its object path (spec/model.md §1):
//
//	ecosystem, vendor[V], vendor[V]/location[L]/location[L2], psp[P], psp[P]/platform[D],
//	zone[Z], zone[Z]/team[T], datastore[S], datastore[S]/dataset[D], datastore[S]/dataset[D]/column[C],
//	workspace[W], workspace[W]/dsg[G], workspace[W]/dsg[G]/sink[S.D], workspace[W]/transformer,
//	assignment[W.G], assignment[W.G]/platform[D], primary[S]
//
// The Team document of Z/T is keyed zone[Z]/team[T] as well. A field inside an object is keyed
// object + "#" + the YAML key path, joined by "." (json names), e.g.
//
//	datastore[S]/dataset[D]#primaryKey
//	datastore[S]#capture.sqlSnapshot.container.postgres.host
//	datastore[S]/dataset[D]/column[C]#type
//
// Elements of a list are keyed by what identifies them, never by index (the canonical form sorts
// many lists): an element with a name by "[name]", a scalar by "[value]", a classification by
// "[TYPE]", an approval by "[W.G.D]", a stream override by "[S]" or "[S.D]", a primary ingestion
// platform by "[D]". Map entries by ".key". Examples:
//
//	zone[Z]#teams[Sales].owningRepo
//	datastore[S]/dataset[D]#primaryKey[id]
//	zone[Z]#locationPolicies[EUOnly].allowed[Acme:EU]
//	datastore[S]#capture.sqlSnapshot.sourceTables.customers
//
// Where a key holds both a mapping and a field value, the value node is recorded (the node a
// problem about that field must cite). When two YAML nodes map to one key (a duplicate that lint
// reports), the first is kept.
//
// Lazy documents. A loaded model has millions of keys but a gate run looks up a few: instead of
// recording every key, a loader registers each document with AddDoc — its roots (the object keys
// of its top-level objects: datastore[S], zone[Z]/team[T], vendor[V], assignment[W.G], …) and a
// function that records the document's keys — and the keys are computed on the first lookup
// that can concern the document, once. Every key a document records must be one of its roots or
// a root followed by '/' or '#'; a lookup of key k therefore only needs the documents registered
// under k, under a prefix of k ending before a '/' or '#', or under an ancestor of k. The answers
// are exactly those of a map into which every key was Set in registration order: Set keys and
// documents take part in "the first wins" in the order they were added.
//
// Sides. Positions carry the Side of the map they are read from; documents store none, so one
// document can be shared by the maps of two loaded models (a head reusing the unchanged files of
// its base) and WithSide is O(1).
//
// Concurrency. Lookups (Exact, Pos, Field, Len, Keys) are safe for concurrent use, including the
// first lookup that resolves a document. Set and AddDoc must not run concurrently with anything
// else on the same map; maps made by WithSide share their content copy-on-write, so changing
// one never changes the other.
package srcmap

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/datasurface/datasurface/model/problem"
)

// Map is the source map of one loaded model.
type Map struct {
	side problem.Side
	t    *table
}

// table is the content of a map, shared by the maps WithSide makes (copy on write: frozen).
type table struct {
	frozen atomic.Bool
	set    map[string]setEntry
	docs   []*Doc
	owners map[string][]int32 // root key → indexes of the documents registered under it, ascending
}

// setEntry is a key recorded by Set: it precedes the documents added after it (order = the
// number of documents added before it).
type setEntry struct {
	file      string
	line, col int32
	order     int32
}

// lineCol is a position inside a document's file.
type lineCol struct{ line, col int32 }

// Doc is the part of a source map that one document contributes, computed on first use.
type Doc struct {
	file  string
	roots []string
	once  sync.Once
	fill  func(set func(key string, line, column int))
	pos   map[string]lineCol
}

// NewDoc returns a lazily filled document of file (the path positions report). roots are the
// object keys of the document's top-level objects; fill records the document's keys by calling
// set (the first position of a repeated key is kept). fill runs at most once, on the first
// lookup that needs the document, possibly on another goroutine; every key it records must be a
// root, or a root followed by '/' or '#' and more.
func NewDoc(file string, roots []string, fill func(set func(key string, line, column int))) *Doc {
	return &Doc{file: file, roots: roots, fill: fill}
}

// resolved returns the document's keys, filling them on first use.
func (d *Doc) resolved() map[string]lineCol {
	d.once.Do(func() {
		type entry struct {
			key string
			at  lineCol
		}
		var entries []entry
		if d.fill != nil {
			d.fill(func(key string, line, column int) {
				entries = append(entries, entry{key, lineCol{int32(line), int32(column)}})
			})
		}
		pos := make(map[string]lineCol, len(entries))
		for _, e := range entries {
			if _, ok := pos[e.key]; !ok {
				pos[e.key] = e.at
			}
		}
		d.pos, d.fill = pos, nil
	})
	return d.pos
}

// New returns an empty map for the given side.
func New(side problem.Side) *Map {
	return &Map{side: side, t: &table{}}
}

// own returns the map's table, copied first when another map shares it.
func (m *Map) own() *table {
	if m.t == nil {
		m.t = &table{}
	} else if m.t.frozen.Load() {
		t := &table{
			set:    make(map[string]setEntry, len(m.t.set)),
			docs:   slices.Clip(slices.Clone(m.t.docs)),
			owners: make(map[string][]int32, len(m.t.owners)),
		}
		for k, e := range m.t.set {
			t.set[k] = e
		}
		for k, v := range m.t.owners {
			t.owners[k] = slices.Clip(slices.Clone(v))
		}
		m.t = t
	}
	return m.t
}

// Set records the position of key unless it is already recorded.
func (m *Map) Set(key string, file string, line, column int) {
	t := m.own()
	if _, ok := t.set[key]; ok {
		return
	}
	if t.set == nil {
		t.set = make(map[string]setEntry)
	}
	t.set[key] = setEntry{file: file, line: int32(line), col: int32(column), order: int32(len(t.docs))}
}

// AddDoc registers a lazily filled document after everything recorded so far.
func (m *Map) AddDoc(d *Doc) {
	t := m.own()
	if t.owners == nil {
		t.owners = make(map[string][]int32)
	}
	i := int32(len(t.docs))
	t.docs = append(t.docs, d)
	for _, r := range d.roots {
		if o := t.owners[r]; len(o) == 0 || o[len(o)-1] != i {
			t.owners[r] = append(o, i)
		}
	}
}

// Docs returns the number of documents registered.
func (m *Map) Docs() int {
	if m == nil || m.t == nil {
		return 0
	}
	return len(m.t.docs)
}

func (m *Map) position(file string, line, col int32) problem.Position {
	return problem.Position{Side: m.side, File: file, Line: int(line), Column: int(col)}
}

// cand is a document that may record a key under key[:end] (see candidates).
type cand struct {
	doc, end int32
}

// candidates returns the documents that may record a key of chain (a key and its ancestors,
// all prefixes of key), ordered by registration: those registered under a prefix of the key
// ending before a '/' or '#', or under a chain element. end is the length of that prefix.
func (t *table) candidates(key string, chain []string, buf []cand) []cand {
	out := buf[:0]
	if len(t.owners) == 0 {
		return out
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c == '/' || c == '#' {
			for _, d := range t.owners[key[:i]] {
				out = append(out, cand{d, int32(i)})
			}
		}
	}
	for _, k := range chain {
		for _, d := range t.owners[k] {
			out = append(out, cand{d, int32(len(k))})
		}
	}
	if len(out) > 1 {
		slices.SortStableFunc(out, func(a, b cand) int { return int(a.doc) - int(b.doc) })
	}
	return out
}

// lookup returns the first recorded position of k (a prefix of key) among the Set keys and the
// candidate documents that own k (registered under k, or under a prefix of k followed by '/' or
// '#'), in the order they were added.
func (m *Map) lookup(key, k string, cands []cand) (problem.Position, bool) {
	t := m.t
	e, isSet := t.set[k]
	last := int32(-1)
	for _, c := range cands {
		if isSet && c.doc >= e.order {
			break
		}
		if c.doc == last {
			continue
		}
		if n := int(c.end); n > len(k) || (n < len(k) && key[n] != '/' && key[n] != '#') {
			continue
		}
		last = c.doc
		d := t.docs[c.doc]
		if p, ok := d.resolved()[k]; ok {
			return m.position(d.file, p.line, p.col), true
		}
	}
	if isSet {
		return m.position(e.file, e.line, e.col), true
	}
	return problem.Position{}, false
}

// Exact returns the position recorded for key.
func (m *Map) Exact(key string) (problem.Position, bool) {
	if m == nil || m.t == nil {
		return problem.Position{}, false
	}
	var chainBuf [1]string
	var candBuf [8]cand
	chainBuf[0] = key
	return m.lookup(key, key, m.t.candidates(key, chainBuf[:], candBuf[:]))
}

// Pos returns the position of key, falling back to the closest recorded ancestor: first the
// shorter field paths, then the object itself, then its parent objects. A missing field is
// therefore cited at the object that lacks it. It returns the zero Position when nothing is known.
func (m *Map) Pos(key string) problem.Position {
	if m == nil || m.t == nil {
		return problem.Position{}
	}
	var chainBuf [16]string
	var candBuf [8]cand
	chain := chainBuf[:0]
	for k := key; k != ""; k = parent(k) {
		chain = append(chain, k)
	}
	cands := m.t.candidates(key, chain, candBuf[:])
	for _, k := range chain {
		if p, ok := m.lookup(key, k, cands); ok {
			return p
		}
	}
	return problem.Position{}
}

// Field returns Pos(object + "#" + field).
func (m *Map) Field(object, field string) problem.Position {
	return m.Pos(object + "#" + field)
}

// Len returns the number of recorded keys. It resolves every document.
func (m *Map) Len() int {
	n := 0
	m.each(func(string, problem.Position) { n++ })
	return n
}

// Keys calls f for every recorded key (unordered). It resolves every document.
func (m *Map) Keys(f func(key string, p problem.Position)) {
	m.each(f)
}

// each calls f once for every recorded key with the position that wins.
func (m *Map) each(f func(key string, p problem.Position)) {
	if m == nil || m.t == nil {
		return
	}
	t := m.t
	bySlot := make([][]string, len(t.docs)+1) // Set keys by the number of documents before them
	for k, e := range t.set {
		bySlot[e.order] = append(bySlot[e.order], k)
	}
	seen := make(map[string]struct{})
	emitSet := func(i int) {
		for _, k := range bySlot[i] {
			if _, dup := seen[k]; !dup {
				seen[k] = struct{}{}
				e := t.set[k]
				f(k, m.position(e.file, e.line, e.col))
			}
		}
	}
	for i, d := range t.docs {
		emitSet(i)
		for k, p := range d.resolved() {
			if _, dup := seen[k]; !dup {
				seen[k] = struct{}{}
				f(k, m.position(d.file, p.line, p.col))
			}
		}
	}
	emitSet(len(t.docs))
}

// WithSide returns a map with the content of m whose positions report side s. The two share
// their content until either is changed.
func (m *Map) WithSide(s problem.Side) *Map {
	if m == nil {
		return New(s)
	}
	if m.t == nil {
		m.t = &table{}
	}
	m.t.frozen.Store(true)
	return &Map{side: s, t: m.t}
}

// parent strips the last segment of a key: a ".field", a "[element]", the "#" part, or the
// last "/object[...]". Brackets may contain '.', '/', '#' (sink keys, location keys), so the
// scan skips bracketed text.
func parent(k string) string {
	depth := 0
	for i := len(k) - 1; i >= 0; i-- {
		switch c := k[i]; {
		case c == ']':
			depth++
		case c == '[':
			depth--
			if depth == 0 && i > 0 && strings.Contains(k[:i], "#") {
				// element of a field list: strip the bracket
				return k[:i]
			}
		case depth > 0:
		case c == '.' || c == '#' || c == '/':
			return k[:i]
		}
	}
	return ""
}
