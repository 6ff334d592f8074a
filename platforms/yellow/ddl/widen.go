package ddl

import (
	"strconv"
	"strings"

	"github.com/datasurface/datasurface/platforms/yellow/ytypes"
)

// ptype is a normalized physical type split into base, parameters and array dimensions.
type ptype struct {
	base   string
	params []string
	dims   int
}

func parseType(t string) ptype {
	n := ytypes.Normalize(t)
	var p ptype
	for strings.HasSuffix(n, "[]") {
		n = n[:len(n)-2]
		p.dims++
	}
	if open := strings.IndexByte(n, '('); open >= 0 && strings.HasSuffix(n, ")") {
		p.params = strings.Split(n[open+1:len(n)-1], ",")
		n = n[:open]
	}
	p.base = n
	return p
}

func (p ptype) intParam(i int) (int, bool) {
	if i >= len(p.params) {
		return 0, false
	}
	v, err := strconv.Atoi(p.params[i])
	return v, err == nil
}

var intRank = map[string]int{"SMALLINT": 1, "INTEGER": 2, "BIGINT": 3}

// Widens reports whether changing a column from physical type from to physical type to is a
// widening Yellow applies with ALTER COLUMN … TYPE (the physical image of the compatible changes
// of governance.md §2.4): smallint → integer → bigint; numeric(p,s) → numeric(p',s') with p' ≥ p,
// s' ≥ s and p'−s' ≥ p−s; real → double precision; date → timestamp; character(n) and
// character varying(n) → character(m) or character varying(m) with m ≥ n, or unbounded character
// varying; geography(T,srid) → geography(Geometry,srid); and the same for array elements of equal
// dimensions. Equivalent types (ytypes.Equivalent) also widen (no change). Collations are
// compared separately.
func Widens(from, to string) bool {
	if ytypes.Equivalent(from, to) {
		return true
	}
	f, t := parseType(from), parseType(to)
	if f.dims != t.dims {
		return false
	}
	switch {
	case intRank[f.base] > 0 && intRank[t.base] > 0:
		return intRank[t.base] >= intRank[f.base]
	case f.base == "NUMERIC" && t.base == "NUMERIC":
		if len(t.params) == 0 {
			return true // unbounded numeric holds every numeric
		}
		fp, ok1 := f.intParam(0)
		fs, ok2 := f.intParam(1)
		tp, ok3 := t.intParam(0)
		ts, ok4 := t.intParam(1)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return false
		}
		return tp >= fp && ts >= fs && tp-ts >= fp-fs
	case f.base == "REAL" && t.base == "DOUBLE PRECISION":
		return true
	case f.base == "DATE" && t.base == "TIMESTAMP" && len(t.params) == 0:
		return true
	case isString(f.base) && isString(t.base):
		if t.base == "CHARACTER VARYING" && len(t.params) == 0 {
			return true
		}
		fn, okf := f.intParam(0)
		if f.base == "CHARACTER" && len(f.params) == 0 {
			fn, okf = 1, true // bpchar without a length is character(1)
		}
		tn, okt := t.intParam(0)
		if t.base == "CHARACTER" && len(t.params) == 0 {
			tn, okt = 1, true
		}
		return okf && okt && tn >= fn
	case f.base == "GEOGRAPHY" && t.base == "GEOGRAPHY":
		if len(f.params) != 2 || len(t.params) != 2 {
			return false
		}
		return f.params[1] == t.params[1] && (t.params[0] == "GEOMETRY" || t.params[0] == f.params[0])
	}
	return false
}

func isString(base string) bool { return base == "CHARACTER" || base == "CHARACTER VARYING" }
