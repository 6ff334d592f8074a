package lint

import (
	"time"
	_ "time/tzdata" // Timestamp time zones are validated the same on every machine (DS-LINT-055)

	"github.com/datasurface/datasurface/model/dtype"
	"github.com/datasurface/datasurface/model/index"
	"github.com/datasurface/datasurface/model/names"
	"github.com/datasurface/datasurface/model/problem"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// typeSite locates a type node: the column it belongs to and, for a nested type, the field path
// inside the column's type (".elementType", ".fields[f].type", …). Paths and keys are built only
// when a problem is reported, so checking a clean column allocates nothing.
type typeSite struct {
	store, dataset, column string
	rel                    string
}

// path returns the column's object path.
func (ts typeSite) path() string { return index.ColumnPath(ts.store, ts.dataset, ts.column) }

// key returns the source-map key of param of the type node ("" for the node itself).
func (ts typeSite) key(param string) string { return ts.path() + "#type" + ts.rel + param }

// sub returns the site of a nested type.
func (ts typeSite) sub(rel string) typeSite {
	ts.rel += rel
	return ts
}

// reportType reports rule r at the parameter param of the type at ts.
func (k *objChecker) reportType(r problem.Rule, ts typeSite, param, format string, args ...any) {
	k.c.Report(r, ts.path(), ts.key(param), format, args...)
}

// checkType applies the type rules DS-LINT-049..055 (spec/model.md §4.7) to t and, recursively,
// to its element, key, value and struct field types. Parameters are cited at the type node's
// key + "." + parameter (e.g. datastore[S]/dataset[D]/column[C]#type.maxSize), which falls back
// to the type node for the shorthand form.
func (k *objChecker) checkType(t *modelv1.DataType, ts typeSite) {
	if t == nil {
		return
	}
	name := t.GetName()
	switch name {
	case "Char", "VarChar", "NChar", "NVarChar", "Variant", "Binary":
		k.checkMaxSize(t, ts)
	case "Array":
		k.checkMaxSize(t, ts)
		k.checkType(t.GetElementType(), ts.sub(".elementType"))
	case "Map":
		k.checkType(t.GetKeyType(), ts.sub(".keyType"))
		k.checkType(t.GetValueType(), ts.sub(".valueType"))
	case "Decimal":
		p, s := t.GetPrecision(), t.GetScale()
		if p < 1 || p > 1000 || s < 0 || s > p {
			at := ".scale"
			if p < 1 || p > 1000 {
				at = ".precision"
			}
			k.reportType(RuleDecimalInvalid, ts, at, "Decimal(%d,%d): precision must be 1–1000 and scale 0–precision", p, s)
		}
	case "CustomFloat":
		k.checkCustomFloat(t, ts)
	case "MicroScalingFloat":
		if b := t.GetBatchSize(); b <= 0 {
			k.reportType(RuleMXInvalid, ts, ".batchSize", "MicroScalingFloat: batchSize must be greater than 0, found %d", b)
		}
		if _, ok := dtype.NamedFloat(t.GetScaleType()); !ok {
			k.reportType(RuleMXInvalid, ts, ".scaleType", "MicroScalingFloat: scaleType '%s' is not a float type", t.GetScaleType())
		}
		if _, ok := dtype.NamedFloat(t.GetMxElementType()); !ok {
			k.reportType(RuleMXInvalid, ts, ".elementType", "MicroScalingFloat: elementType '%s' is not a float type", t.GetMxElementType())
		}
	case "Geography":
		if t.GetSrid() < 0 {
			k.reportType(RuleGeographyInvalid, ts, ".srid", "Geography: srid must be ≥ 0")
		}
		if t.MaxSize != nil && t.GetMaxSize() <= 0 {
			k.reportType(RuleGeographyInvalid, ts, ".maxSize", "Geography: maxSize must be > 0")
		}
	case "Struct":
		k.checkStruct(t, ts)
	case "Timestamp":
		if tz := t.GetTimeZone(); !k.knownTimeZone(tz) {
			k.reportType(RuleTimezoneUnknown, ts, ".timeZone", "Timestamp time zone '%s' is not known", oneLineName(tz))
		}
	}
}

// checkMaxSize: DS-LINT-049, a bounded maxSize must be positive.
func (k *objChecker) checkMaxSize(t *modelv1.DataType, ts typeSite) {
	if t.MaxSize != nil && t.GetMaxSize() <= 0 {
		k.reportType(RuleTypeSizeInvalid, ts, ".maxSize", "%s maxSize must be greater than 0, found %d", t.GetName(), t.GetMaxSize())
	}
}

// floatCombinations are the valid (nonFinite, nanEncoding) pairs of spec/model.md §4.7.
var floatCombinations = map[[2]int32]bool{
	{int32(modelv1.FloatNonFinite_FLOAT_NON_FINITE_IEEE754), int32(modelv1.FloatNanEncoding_FLOAT_NAN_ENCODING_IEEE)}:           true,
	{int32(modelv1.FloatNonFinite_FLOAT_NON_FINITE_NAN_ONLY), int32(modelv1.FloatNanEncoding_FLOAT_NAN_ENCODING_ALL_ONES)}:      true,
	{int32(modelv1.FloatNonFinite_FLOAT_NON_FINITE_NAN_ONLY), int32(modelv1.FloatNanEncoding_FLOAT_NAN_ENCODING_NEGATIVE_ZERO)}: true,
	{int32(modelv1.FloatNonFinite_FLOAT_NON_FINITE_FINITE_ONLY), int32(modelv1.FloatNanEncoding_FLOAT_NAN_ENCODING_IEEE)}:       true,
}

// checkCustomFloat: DS-LINT-051, one problem per violated constraint.
func (k *objChecker) checkCustomFloat(t *modelv1.DataType, ts typeSite) {
	bits, minE, maxE, prec := t.GetSizeInBits(), t.GetMinExponent(), t.GetMaxExponent(), t.GetPrecision()
	if bits <= 0 {
		k.reportType(RuleFloatInvalid, ts, ".sizeInBits", "CustomFloat: sizeInBits must be greater than 0, found %d", bits)
	}
	if minE > 0 {
		k.reportType(RuleFloatInvalid, ts, ".minExponent", "CustomFloat: minExponent must be ≤ 0, found %d", minE)
	}
	if maxE <= 0 {
		k.reportType(RuleFloatInvalid, ts, ".maxExponent", "CustomFloat: maxExponent must be greater than 0, found %d", maxE)
	}
	if prec < 1 || (bits > 0 && prec > bits) {
		k.reportType(RuleFloatInvalid, ts, ".precision", "CustomFloat: precision must be 1–sizeInBits (%d), found %d", bits, prec)
	}
	nf, ne := t.GetNonFinite(), t.GetNanEncoding()
	if nf == modelv1.FloatNonFinite_FLOAT_NON_FINITE_UNSPECIFIED {
		nf = modelv1.FloatNonFinite_FLOAT_NON_FINITE_IEEE754 // the default
	}
	if ne == modelv1.FloatNanEncoding_FLOAT_NAN_ENCODING_UNSPECIFIED {
		ne = modelv1.FloatNanEncoding_FLOAT_NAN_ENCODING_IEEE // the default
	}
	if !floatCombinations[[2]int32{int32(nf), int32(ne)}] {
		k.reportType(RuleFloatInvalid, ts, ".nanEncoding", "CustomFloat: nonFinite %s cannot be combined with nanEncoding %s",
			enumName(nf.String(), "FLOAT_NON_FINITE_"), enumName(ne.String(), "FLOAT_NAN_ENCODING_"))
	}
}

// checkStruct: DS-LINT-054 — field names are unique (case-insensitively) SQL identifiers and
// every field has a type; field types are checked recursively.
func (k *objChecker) checkStruct(t *modelv1.DataType, ts typeSite) {
	fields := t.GetFields()
	var seen map[string]string // lower-cased name → first spelling
	if len(fields) > 1 {
		seen = make(map[string]string, len(fields))
	}
	for _, f := range fields {
		fn := f.GetName()
		field := ".fields[" + fn + "]"
		switch names.SQLIdentifier(fn) {
		case names.SQLIdentifierInvalid:
			k.reportType(RuleStructInvalid, ts, field+".name",
				"Struct field '%s': name must start with a letter and contain only letters, digits and '_' (at most 128)", fn)
		case names.SQLIdentifierReserved:
			k.reportType(RuleStructInvalid, ts, field+".name", "Struct field '%s': name is a reserved SQL word", fn)
		}
		if seen != nil {
			lower := lowerASCII(fn)
			if first, dup := seen[lower]; dup {
				if first == fn {
					k.reportType(RuleStructInvalid, ts, field+".name", "Struct field '%s': name is used twice", fn)
				} else {
					k.reportType(RuleStructInvalid, ts, field+".name", "Struct field '%s': name differs from '%s' only by letter case", fn, first)
				}
			} else {
				seen[lower] = fn
			}
		}
		if f.GetType() == nil {
			k.reportType(RuleStructInvalid, ts, field, "Struct field '%s': type is missing", fn)
			continue
		}
		k.checkType(f.GetType(), ts.sub(field+".type"))
	}
}

// knownTimeZone reports whether tz is an IANA time zone name known to the embedded database or
// a fixed offset GMT±HH[:MM] (hours 00–14, minutes 00–59). The empty name is the default, UTC.
// Verdicts are cached: a large model repeats a handful of zones.
func (k *objChecker) knownTimeZone(tz string) bool {
	if tz == "" {
		return true
	}
	if ok, cached := k.tz[tz]; cached {
		return ok
	}
	ok := gmtOffset(tz)
	if !ok && tz != "Local" {
		_, err := time.LoadLocation(tz)
		ok = err == nil
	}
	k.tz[tz] = ok
	return ok
}

// gmtOffset reports whether tz is GMT+HH, GMT-HH, GMT+HH:MM or GMT-HH:MM.
func gmtOffset(tz string) bool {
	if len(tz) != 6 && len(tz) != 9 || tz[:3] != "GMT" || (tz[3] != '+' && tz[3] != '-') {
		return false
	}
	two := func(s string, max int) bool {
		return s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' && int(s[0]-'0')*10+int(s[1]-'0') <= max
	}
	if !two(tz[4:6], 14) {
		return false
	}
	return len(tz) == 6 || (tz[6] == ':' && two(tz[7:9], 59))
}

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
