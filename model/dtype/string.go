package dtype

import (
	"strconv"
	"strings"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// String renders t for messages: the shorthand where one exists (`VarChar(100)`,
// `Decimal(12,2)`, `Integer`), otherwise the name with its arguments: `Timestamp(Europe/Paris)`,
// `Array(IEEE32, 768)`, `Map(NVarChar, Integer)`, `Struct(a: Integer, b: VarChar(10) not null)`,
// `CustomFloat(sizeInBits: 16, precision: 8, maxExponent: 127, minExponent: -126, nonFinite:
// IEEE754, nanEncoding: IEEE)`. Parameters at their defaults are omitted. A nil type renders as
// `<none>`.
func String(t *modelv1.DataType) string {
	var b strings.Builder
	write(&b, t)
	return b.String()
}

func write(b *strings.Builder, t *modelv1.DataType) {
	if t == nil {
		b.WriteString("<none>")
		return
	}
	name := t.GetName()
	if name == "" {
		name = "<unnamed>"
	}
	b.WriteString(name)
	a := args{b: b}
	switch name {
	case NameDecimal:
		b.WriteByte('(')
		b.WriteString(strconv.Itoa(int(t.GetPrecision())))
		b.WriteByte(',')
		b.WriteString(strconv.Itoa(int(t.GetScale())))
		b.WriteByte(')')
		return
	case "Char", "VarChar", "NChar", NameNVarChar, "String", "Variant", "Binary", NameVector:
		if t.MaxSize != nil {
			a.raw(strconv.FormatInt(t.GetMaxSize(), 10))
		}
		if t.GetCollation() != "" {
			a.kv("collation", t.GetCollation())
		}
	case NameTimestamp:
		if tz := t.GetTimeZone(); tz != "" && tz != DefaultTimeZone {
			a.raw(tz)
		}
	case NameArray:
		a.sep()
		write(b, t.GetElementType())
		if t.MaxSize != nil {
			a.raw(strconv.FormatInt(t.GetMaxSize(), 10))
		}
	case NameMap:
		a.sep()
		write(b, t.GetKeyType())
		a.sep()
		write(b, t.GetValueType())
	case NameStruct:
		a.open()
		for _, f := range t.GetFields() {
			a.sep()
			b.WriteString(f.GetName())
			b.WriteString(": ")
			write(b, f.GetType())
			if !f.GetNullable() {
				b.WriteString(" not null")
			}
		}
	case NameGeography:
		if s := t.GetSrid(); s != 0 && s != DefaultSRID {
			a.kv("srid", strconv.Itoa(int(s)))
		}
		if s := t.GetSrsName(); s != "" && s != DefaultSRSName {
			a.kv("srsName", s)
		}
		if g := t.GetGeometryType(); g != modelv1.GeometryType_GEOMETRY_TYPE_UNSPECIFIED {
			a.kv("geometryType", strings.TrimPrefix(g.String(), "GEOMETRY_TYPE_"))
		}
		if t.MaxSize != nil {
			a.kv("maxSize", strconv.FormatInt(t.GetMaxSize(), 10))
		}
	case NameCustomFloat:
		a.kv("sizeInBits", strconv.Itoa(int(t.GetSizeInBits())))
		a.kv("precision", strconv.Itoa(int(t.GetPrecision())))
		a.kv("maxExponent", strconv.Itoa(int(t.GetMaxExponent())))
		a.kv("minExponent", strconv.Itoa(int(t.GetMinExponent())))
		nf := t.GetNonFinite()
		if nf == modelv1.FloatNonFinite_FLOAT_NON_FINITE_UNSPECIFIED {
			nf = ieee754
		}
		a.kv("nonFinite", strings.TrimPrefix(nf.String(), "FLOAT_NON_FINITE_"))
		ne := t.GetNanEncoding()
		if ne == modelv1.FloatNanEncoding_FLOAT_NAN_ENCODING_UNSPECIFIED {
			ne = nanIEEE
		}
		a.kv("nanEncoding", strings.TrimPrefix(ne.String(), "FLOAT_NAN_ENCODING_"))
	case NameMicroScalingFloat:
		a.kv("batchSize", strconv.Itoa(int(t.GetBatchSize())))
		a.kv("scaleType", t.GetScaleType())
		a.kv("elementType", t.GetMxElementType())
	}
	a.close()
}

// args writes "(a, b, k: v)" lazily: nothing when there are no arguments.
type args struct {
	b      *strings.Builder
	opened bool
	n      int
}

func (a *args) open() {
	if !a.opened {
		a.b.WriteByte('(')
		a.opened = true
	}
}

func (a *args) sep() {
	a.open()
	if a.n > 0 {
		a.b.WriteString(", ")
	}
	a.n++
}

func (a *args) raw(s string) {
	a.sep()
	a.b.WriteString(s)
}

func (a *args) kv(k, v string) {
	a.sep()
	a.b.WriteString(k)
	a.b.WriteString(": ")
	a.b.WriteString(v)
}

func (a *args) close() {
	if a.opened {
		a.b.WriteByte(')')
	}
}
