package dtype

import (
	"errors"
	"strconv"
	"strings"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// Sentinel errors of Parse, matched with errors.Is.
var (
	// ErrSyntax: the text is not `Name`, `Name(n)` or `Name(n,m)` of a known type taking that many
	// arguments (DS-LOAD-012).
	ErrSyntax = errors.New("not a valid type")
	// ErrRange: a number does not fit its parameter (int32, or int64 for maxSize) (DS-LOAD-007).
	ErrRange = errors.New("number out of range")
)

// Error is the error Parse returns; it wraps ErrSyntax or ErrRange.
type Error struct {
	Text   string // the text that was parsed
	Reason string
	Err    error // ErrSyntax or ErrRange
}

func (e *Error) Error() string {
	return "'" + e.Text + "' is not a valid type: " + e.Reason
}

func (e *Error) Unwrap() error { return e.Err }

func syntaxError(text, reason string) error {
	return &Error{Text: text, Reason: reason, Err: ErrSyntax}
}

// Parse parses the shorthand form of a type: `Name`, `Name(n)` or `Name(n,m)` (spaces are allowed
// around the numbers). Aliases are resolved (Float → IEEE32, Double → IEEE64, String → NVarChar,
// Vector(n) → Array of IEEE32 with maxSize n) and the result is canonicalised. Numbers are taken
// as written: range checks (maxSize > 0, Decimal bounds) belong to lint. Types that need
// parameters (CustomFloat, MicroScalingFloat, Array, Map, Struct, Decimal without a precision)
// have no shorthand.
func Parse(text string) (*modelv1.DataType, error) {
	name, argText, hasArgs := strings.Cut(text, "(")
	ti, ok := types[name]
	if !ok {
		if name == "" {
			return nil, syntaxError(text, "missing type name")
		}
		return nil, syntaxError(text, "unknown type name '"+name+"'")
	}
	var args [2]string
	n := 0
	if hasArgs {
		inner, ok := strings.CutSuffix(argText, ")")
		if !ok {
			return nil, syntaxError(text, "missing ')'")
		}
		for part := range strings.SplitSeq(inner, ",") {
			if n == len(args) {
				return nil, syntaxError(text, "too many arguments")
			}
			args[n] = strings.Trim(part, " ")
			n++
		}
	}
	switch ti.shorthand {
	case shorthandNever:
		return nil, syntaxError(text, name+" has no shorthand form; use a mapping {type: "+name+", ...}")
	case shorthandNone:
		if hasArgs {
			return nil, syntaxError(text, name+" takes no arguments")
		}
	case shorthandOptional:
		if n > 1 {
			return nil, syntaxError(text, name+" takes one argument")
		}
	case shorthandOne:
		if n != 1 {
			return nil, syntaxError(text, name+" takes exactly one argument")
		}
	case shorthandDecimal:
		if n == 0 {
			return nil, syntaxError(text, "Decimal needs a precision: Decimal(p) or Decimal(p,s)")
		}
	}
	t := &modelv1.DataType{Name: ti.canonical}
	switch ti.shorthand {
	case shorthandDecimal:
		p, err := parseInt(text, args[0], 32)
		if err != nil {
			return nil, err
		}
		t.Precision = int32(p)
		if n == 2 {
			s, err := parseInt(text, args[1], 32)
			if err != nil {
				return nil, err
			}
			t.Scale = int32(s)
		}
	case shorthandOptional, shorthandOne:
		if n == 1 {
			v, err := parseInt(text, args[0], 64)
			if err != nil {
				return nil, err
			}
			t.MaxSize = &v
		}
		if name == NameVector {
			t.ElementType = &modelv1.DataType{Name: NameIEEE32}
		}
	}
	Canonicalize(t)
	return t, nil
}

// parseInt parses a decimal integer with an optional sign.
func parseInt(text, s string, bits int) (int64, error) {
	digits := strings.TrimLeft(s, "+-")
	if digits == "" || len(s)-len(digits) > 1 {
		return 0, syntaxError(text, "'"+s+"' is not a number")
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, syntaxError(text, "'"+s+"' is not a number")
		}
	}
	v, err := strconv.ParseInt(s, 10, bits)
	if err != nil {
		return 0, &Error{Text: text, Reason: s + " is out of range", Err: ErrRange}
	}
	return v, nil
}

// Canonicalize puts t (recursively) in canonical form, in place:
//   - aliases resolved: Float → IEEE32, Double → IEEE64, String → NVarChar, Vector → Array of
//     IEEE32 (its maxSize kept);
//   - defaults materialised: Char and NChar maxSize 1; Timestamp time zone UTC; Geography srid
//     4326 (an srid of 0 reads as absent) and srsName WGS84; CustomFloat nonFinite IEEE754 and
//     nanEncoding IEEE; StructField types canonicalised (nullable is the loader's business);
//   - a CustomFloat equal to a signed named float becomes that name, a MicroScalingFloat equal to
//     an MX type becomes that name (parameters cleared); MX scale and element names have their
//     aliases resolved.
//
// Unknown names are left as they are. A nil t is ignored.
func Canonicalize(t *modelv1.DataType) {
	if t == nil {
		return
	}
	if ti, ok := types[t.Name]; ok && ti.canonical != t.Name {
		if t.Name == NameVector && t.ElementType == nil {
			t.ElementType = &modelv1.DataType{Name: NameIEEE32}
		}
		t.Name = ti.canonical
	}
	switch t.Name {
	case "Char", "NChar":
		if t.MaxSize == nil {
			v := int64(DefaultCharSize)
			t.MaxSize = &v
		}
	case NameTimestamp:
		if t.TimeZone == "" {
			t.TimeZone = DefaultTimeZone
		}
	case NameGeography:
		if t.Srid == 0 {
			t.Srid = DefaultSRID
		}
		if t.SrsName == "" {
			t.SrsName = DefaultSRSName
		}
	case NameCustomFloat:
		if t.NonFinite == modelv1.FloatNonFinite_FLOAT_NON_FINITE_UNSPECIFIED {
			t.NonFinite = ieee754
		}
		if t.NanEncoding == modelv1.FloatNanEncoding_FLOAT_NAN_ENCODING_UNSPECIFIED {
			t.NanEncoding = nanIEEE
		}
		f, _ := FloatFormatOf(t)
		if f.Name != "" {
			clearParams(t)
			t.Name = f.Name
		}
	case NameMicroScalingFloat:
		t.ScaleType = floatAlias(t.ScaleType)
		t.MxElementType = floatAlias(t.MxElementType)
		if n := mxName(t.BatchSize, t.ScaleType, t.MxElementType); n != "" {
			clearParams(t)
			t.Name = n
		}
	case NameArray:
		Canonicalize(t.ElementType)
	case NameMap:
		Canonicalize(t.KeyType)
		Canonicalize(t.ValueType)
	case NameStruct:
		for _, f := range t.Fields {
			Canonicalize(f.GetType())
		}
	}
}

func floatAlias(name string) string {
	switch name {
	case "Float":
		return NameIEEE32
	case "Double":
		return NameIEEE64
	}
	return name
}

// clearParams resets every parameter of t, keeping its name.
func clearParams(t *modelv1.DataType) {
	name := t.Name
	t.Reset()
	t.Name = name
}
