package compat

import (
	"fmt"
	"strings"

	"github.com/datasurface/datasurface/model/compat/equal"
	"github.com/datasurface/datasurface/model/dtype"
	"github.com/datasurface/datasurface/model/problem"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// TypeIssue is one reason why a new column type does not accept the old one
// (spec/governance.md §2.4). Message follows the rule's template; issues found inside a nested
// type are prefixed with where they are ("array element: ", "map key: ", "map value: ",
// "struct field 'f': ").
type TypeIssue struct {
	Rule    problem.Rule
	Message string
}

// CheckType reports why newT does not accept oldT: every value stored under oldT must be readable
// under newT. Both types must be in canonical form (spec/model.md §4.7). It returns nil when newT
// accepts oldT, including when the two are equal. A nil type (a type the loader could not read)
// is never reported: lint reports it.
func CheckType(newT, oldT *modelv1.DataType) []TypeIssue {
	var c typeChecker
	c.check(newT, oldT, "")
	return c.issues
}

// Accepts reports whether newT accepts oldT (CheckType finds nothing).
func Accepts(newT, oldT *modelv1.DataType) bool {
	return len(CheckType(newT, oldT)) == 0
}

type typeChecker struct {
	issues []TypeIssue
}

func (c *typeChecker) add(r problem.Rule, prefix, format string, args ...any) {
	c.issues = append(c.issues, TypeIssue{Rule: r, Message: prefix + fmt.Sprintf(format, args...)})
}

func (c *typeChecker) check(n, o *modelv1.DataType, prefix string) {
	if n == nil || o == nil {
		return
	}
	fn, fo := dtype.FamilyOf(n), dtype.FamilyOf(o)
	if fn != fo {
		if fn == dtype.Timestamp && fo == dtype.Date {
			return // the only cross-type acceptance
		}
		c.add(TypeFamilyChanged, prefix, "type changed from %s to %s, a different type family",
			dtype.String(o), dtype.String(n))
		return
	}
	switch fn {
	case dtype.Boolean, dtype.Date, dtype.Interval:
		// one member, no parameters
	case dtype.Integer:
		if bn, bo := dtype.IntegerBits(n.GetName()), dtype.IntegerBits(o.GetName()); bn < bo {
			c.add(TypeNarrowed, prefix, "bits reduced from %d to %d", bo, bn)
		}
	case dtype.Decimal:
		c.decimal(n, o, prefix)
	case dtype.Float:
		c.float(n, o, prefix)
	case dtype.MicroScaling:
		c.mx(n, o, prefix)
	case dtype.NonUnicodeString, dtype.UnicodeString:
		if n.GetCollation() != o.GetCollation() {
			c.add(TypeCollationChanged, prefix, "collation changed from %s to %s",
				collation(o.GetCollation()), collation(n.GetCollation()))
		}
		c.size(n, o, prefix)
	case dtype.Timestamp:
		if tn, to := timeZone(n), timeZone(o); tn != to {
			c.add(TypeTimezoneChanged, prefix, "time zone changed from %s to %s", to, tn)
		}
	case dtype.Variant, dtype.Binary:
		c.size(n, o, prefix)
	case dtype.Array:
		c.size(n, o, prefix)
		c.check(n.GetElementType(), o.GetElementType(), prefix+"array element: ")
	case dtype.Map:
		c.check(n.GetKeyType(), o.GetKeyType(), prefix+"map key: ")
		c.check(n.GetValueType(), o.GetValueType(), prefix+"map value: ")
	case dtype.Struct:
		c.structType(n, o, prefix)
	case dtype.Geography:
		c.geography(n, o, prefix)
	default:
		// A type this version does not know (lint reports it): only identity is accepted.
		if !equal.DataType(n, o) {
			c.add(TypeFamilyChanged, prefix, "type changed from %s to %s, a different type family",
				dtype.String(o), dtype.String(n))
		}
	}
}

// decimal: pN ≥ pO, sN ≥ sO and pN−sN ≥ pO−sO. A precision loss always implies a loss of scale
// or of integer digits; the integer-digit loss is reported only when the precision did not
// shrink, so one change yields at most two problems.
func (c *typeChecker) decimal(n, o *modelv1.DataType, prefix string) {
	pn, sn := n.GetPrecision(), n.GetScale()
	po, so := o.GetPrecision(), o.GetScale()
	if pn < po {
		c.add(TypeNarrowed, prefix, "precision reduced from %d to %d", po, pn)
	}
	if sn < so {
		c.add(TypeNarrowed, prefix, "scale reduced from %d to %d", so, sn)
	}
	if pn >= po && pn-sn < po-so {
		c.add(TypeNarrowed, prefix, "integer digits reduced from %d to %d", po-so, pn-sn)
	}
}

// float: every value of O is representable in N (spec/governance.md §2.4). Subnormals are not
// counted.
func (c *typeChecker) float(n, o *modelv1.DataType, prefix string) {
	fn, okN := dtype.FloatFormatOf(n)
	fo, okO := dtype.FloatFormatOf(o)
	if !okN || !okO {
		if !equal.DataType(n, o) {
			c.add(FloatNotRepresentable, prefix, "%s values are not all representable in %s: %s",
				dtype.String(o), dtype.String(n), "unknown float format")
		}
		return
	}
	if r := FloatReasons(fn, fo); len(r) > 0 {
		c.add(FloatNotRepresentable, prefix, "%s values are not all representable in %s: %s",
			dtype.String(o), dtype.String(n), strings.Join(r, "; "))
	}
}

// FloatReasons lists why some values of float format o are not representable in n; nil when
// they all are. The conditions, in this order: maxExp(o) ≤ maxExp(n), minExp(o) ≥ minExp(n),
// precision(o) ≤ precision(n), infinities, NaN, sign, zero.
func FloatReasons(n, o dtype.FloatFormat) []string {
	var r []string
	if o.MaxExp > n.MaxExp {
		r = append(r, fmt.Sprintf("maximum exponent %d > %d", o.MaxExp, n.MaxExp))
	}
	if o.MinExp < n.MinExp {
		r = append(r, fmt.Sprintf("minimum exponent %d < %d", o.MinExp, n.MinExp))
	}
	if o.Precision > n.Precision {
		r = append(r, fmt.Sprintf("precision %d > %d bits", o.Precision, n.Precision))
	}
	if hasInfinities(o) && !hasInfinities(n) {
		r = append(r, "no infinities")
	}
	if hasNaN(o) && !hasNaN(n) {
		r = append(r, "no NaN")
	}
	if !o.Unsigned && n.Unsigned {
		r = append(r, "no negative values")
	}
	if !o.NoZero && n.NoZero {
		r = append(r, "no zero")
	}
	return r
}

func hasInfinities(f dtype.FloatFormat) bool {
	return f.NonFinite == modelv1.FloatNonFinite_FLOAT_NON_FINITE_IEEE754 ||
		f.NonFinite == modelv1.FloatNonFinite_FLOAT_NON_FINITE_UNSPECIFIED
}

func hasNaN(f dtype.FloatFormat) bool {
	return hasInfinities(f) || f.NonFinite == modelv1.FloatNonFinite_FLOAT_NON_FINITE_NAN_ONLY
}

// mx: same scale type, same element type, batchSize(N) ≥ batchSize(O).
func (c *typeChecker) mx(n, o *modelv1.DataType, prefix string) {
	bn, scn, en, okN := mxParams(n)
	bo, sco, eo, okO := mxParams(o)
	if !okN || !okO {
		if !equal.DataType(n, o) {
			c.add(MXChanged, prefix, "element type changed from %s to %s", dtype.String(o), dtype.String(n))
		}
		return
	}
	if scn != sco {
		c.add(MXChanged, prefix, "scale type changed from %s to %s", sco, scn)
	}
	if en != eo {
		c.add(MXChanged, prefix, "element type changed from %s to %s", eo, en)
	}
	if bn < bo {
		c.add(TypeNarrowed, prefix, "batch size reduced from %d to %d", bo, bn)
	}
}

func mxParams(t *modelv1.DataType) (batch int, scale, element string, ok bool) {
	if t.GetName() == "MicroScalingFloat" {
		return int(t.GetBatchSize()), t.GetScaleType(), t.GetMxElementType(), true
	}
	return dtype.MX(t.GetName())
}

// size is the size rule of bounded types: N unbounded → ok; N bounded while O unbounded →
// BOUND-ADDED; maxSize(N) < maxSize(O) → NARROWED.
func (c *typeChecker) size(n, o *modelv1.DataType, prefix string) {
	sn, boundedN := maxSize(n)
	so, boundedO := maxSize(o)
	switch {
	case !boundedN:
	case !boundedO:
		c.add(TypeBoundAdded, prefix, "an unbounded %s became bounded (%d)", o.GetName(), sn)
	case sn < so:
		c.add(TypeNarrowed, prefix, "size reduced from %d to %d", so, sn)
	}
}

// maxSize returns the bound of t; Char and NChar default to 1 should a loader not have
// materialised it.
func maxSize(t *modelv1.DataType) (int64, bool) {
	if t.MaxSize != nil {
		return *t.MaxSize, true
	}
	if name := t.GetName(); name == "Char" || name == "NChar" {
		return 1, true
	}
	return 0, false
}

func collation(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func timeZone(t *modelv1.DataType) string {
	if tz := t.GetTimeZone(); tz != "" {
		return tz
	}
	return "UTC"
}

// structType: every old field keeps its name and position, its new type accepts the old one and
// its nullability is unchanged; new fields come only after the old ones and are nullable. An
// old field whose name is gone while its slot holds a field with a new name counts as renamed
// (STRUCT-FIELD-MOVED), not as removed plus inserted.
func (c *typeChecker) structType(n, o *modelv1.DataType, prefix string) {
	nf, of := n.GetFields(), o.GetFields()
	newIndex := make(map[string]int, len(nf))
	for i, f := range nf {
		newIndex[f.GetName()] = i
	}
	oldNames := make(map[string]bool, len(of))
	for _, f := range of {
		oldNames[f.GetName()] = true
	}
	renamed := make(map[int]bool)
	for i, f := range of {
		j, ok := newIndex[f.GetName()]
		if !ok {
			if i < len(nf) && !oldNames[nf[i].GetName()] {
				renamed[i] = true
				c.add(StructFieldMoved, prefix, "struct field '%s' moved or renamed; existing fields must keep their positions", f.GetName())
			} else {
				c.add(StructFieldRemoved, prefix, "struct field '%s' removed", f.GetName())
			}
			continue
		}
		if j != i {
			c.add(StructFieldMoved, prefix, "struct field '%s' moved or renamed; existing fields must keep their positions", f.GetName())
		}
		g := nf[j]
		c.check(g.GetType(), f.GetType(), fmt.Sprintf("%sstruct field '%s': ", prefix, f.GetName()))
		if g.GetNullable() != f.GetNullable() {
			c.add(StructFieldNullability, prefix, "struct field '%s' changed nullability", f.GetName())
		}
	}
	for j, g := range nf {
		if oldNames[g.GetName()] || renamed[j] {
			continue
		}
		if j < len(of) {
			c.add(StructFieldInserted, prefix, "new struct field '%s' must be appended after the existing fields", g.GetName())
		}
		if !g.GetNullable() {
			c.add(StructFieldNotNull, prefix, "new struct field '%s' must be nullable", g.GetName())
		}
	}
}

// geography: same SRID (the SRS name is a label); geometry type unchanged or its constraint
// removed; size rule.
func (c *typeChecker) geography(n, o *modelv1.DataType, prefix string) {
	if n.GetSrid() != o.GetSrid() {
		c.add(GeoSRSChanged, prefix, "SRID changed from %d to %d", o.GetSrid(), n.GetSrid())
	}
	gn, gO := n.GetGeometryType(), o.GetGeometryType()
	const anyGeometry = modelv1.GeometryType_GEOMETRY_TYPE_UNSPECIFIED
	switch {
	case gn == gO || gn == anyGeometry:
	case gO == anyGeometry:
		c.add(GeoTypeConstrained, prefix, "geometry type restricted to %s", enumName(gn, "GEOMETRY_TYPE_"))
	default:
		c.add(GeoTypeChanged, prefix, "geometry type changed from %s to %s",
			enumName(gO, "GEOMETRY_TYPE_"), enumName(gn, "GEOMETRY_TYPE_"))
	}
	c.size(n, o, prefix)
}
