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
package srcmap

import (
	"strings"

	"github.com/datasurface/datasurface/model/problem"
)

// Map is the source map of one loaded model.
type Map struct {
	pos  map[string]problem.Position
	side problem.Side
}

// New returns an empty map for the given side.
func New(side problem.Side) *Map {
	return &Map{pos: make(map[string]problem.Position), side: side}
}

// Set records the position of key unless it is already recorded.
func (m *Map) Set(key string, file string, line, column int) {
	if _, ok := m.pos[key]; ok {
		return
	}
	m.pos[key] = problem.Position{Side: m.side, File: file, Line: line, Column: column}
}

// Exact returns the position recorded for key.
func (m *Map) Exact(key string) (problem.Position, bool) {
	if m == nil {
		return problem.Position{}, false
	}
	p, ok := m.pos[key]
	return p, ok
}

// Pos returns the position of key, falling back to the closest recorded ancestor: first the
// shorter field paths, then the object itself, then its parent objects. A missing field is
// therefore cited at the object that lacks it. It returns the zero Position when nothing is known.
func (m *Map) Pos(key string) problem.Position {
	if m == nil {
		return problem.Position{}
	}
	for k := key; k != ""; k = parent(k) {
		if p, ok := m.pos[k]; ok {
			return p
		}
	}
	return problem.Position{}
}

// Field returns Pos(object + "#" + field).
func (m *Map) Field(object, field string) problem.Position {
	return m.Pos(object + "#" + field)
}

// Len returns the number of recorded keys.
func (m *Map) Len() int { return len(m.pos) }

// Keys calls f for every recorded key (unordered).
func (m *Map) Keys(f func(key string, p problem.Position)) {
	for k, p := range m.pos {
		f(k, p)
	}
}

// WithSide returns a copy of m whose positions report side s.
func (m *Map) WithSide(s problem.Side) *Map {
	c := New(s)
	for k, p := range m.pos {
		p.Side = s
		c.pos[k] = p
	}
	return c
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
