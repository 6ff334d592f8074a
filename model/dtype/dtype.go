// Package dtype owns the column data types of spec/model.md §4.7: the type names, their families
// and parameters, the float and MX format tables, the shorthand syntax (`VarChar(100)`,
// `Decimal(12,2)`), canonicalisation (aliases, defaults, named forms of custom floats) and the
// human rendering used in messages. The loader, lint, the compatibility checker and the platforms
// share it so that every part of the system agrees on what a type is.
package dtype

import (
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// Family groups types by kind of value (spec/model.md §4.7, column "family").
type Family int

// Families. Unknown is the family of a nil type or an unknown name.
const (
	Unknown Family = iota
	Boolean
	Integer
	Decimal
	Float
	MicroScaling // the "mx" family (named MicroScaling because MX is the function)
	NonUnicodeString
	UnicodeString
	Date
	Timestamp
	Interval
	Variant
	Binary
	Array
	Map
	Struct
	Geography
)

var familyNames = [...]string{
	Unknown:          "unknown",
	Boolean:          "boolean",
	Integer:          "integer",
	Decimal:          "decimal",
	Float:            "float",
	MicroScaling:     "mx",
	NonUnicodeString: "non-unicode string",
	UnicodeString:    "unicode string",
	Date:             "date",
	Timestamp:        "timestamp",
	Interval:         "interval",
	Variant:          "variant",
	Binary:           "binary",
	Array:            "array",
	Map:              "map",
	Struct:           "struct",
	Geography:        "geography",
}

// String returns the family's lower-case name as written in the spec ("unicode string").
func (f Family) String() string {
	if f < 0 || int(f) >= len(familyNames) {
		return "unknown"
	}
	return familyNames[f]
}

// Canonical type names that other packages compare against.
const (
	NameCustomFloat       = "CustomFloat"
	NameMicroScalingFloat = "MicroScalingFloat"
	NameArray             = "Array"
	NameVector            = "Vector"
	NameMap               = "Map"
	NameStruct            = "Struct"
	NameDecimal           = "Decimal"
	NameTimestamp         = "Timestamp"
	NameGeography         = "Geography"
	NameIEEE32            = "IEEE32"
	NameIEEE64            = "IEEE64"
	NameNVarChar          = "NVarChar"
	NameFP8E8M0           = "FP8_E8M0"
)

// Default parameter values materialised by Canonicalize.
const (
	DefaultTimeZone   = "UTC"
	DefaultSRID       = 4326
	DefaultSRSName    = "WGS84"
	DefaultCharSize   = 1
	MXBatchSize       = 32
	MXScaleType       = NameFP8E8M0
	shorthandNone     = 0
	shorthandOptional = 1 // Name or Name(n)
	shorthandOne      = 2 // Name(n) only
	shorthandDecimal  = 3 // Name(p) or Name(p,s)
	shorthandNever    = 4 // mapping form only
)

// typeInfo describes one accepted type name.
type typeInfo struct {
	family    Family
	canonical string   // the canonical name (differs for aliases)
	params    []string // mapping keys besides "type"
	shorthand int
}

var (
	sizeParams   = []string{"maxSize", "collation"}
	maxSizeParam = []string{"maxSize"}
)

// types lists every accepted type name, aliases included.
var types = map[string]typeInfo{
	"Boolean":             {family: Boolean},
	"TinyInt":             {family: Integer},
	"SmallInt":            {family: Integer},
	"Integer":             {family: Integer},
	"BigInt":              {family: Integer},
	NameDecimal:           {family: Decimal, params: []string{"precision", "scale"}, shorthand: shorthandDecimal},
	"IEEE16":              {family: Float},
	NameIEEE32:            {family: Float},
	NameIEEE64:            {family: Float},
	"IEEE128":             {family: Float},
	"IEEE256":             {family: Float},
	"FP8_E4M3":            {family: Float},
	"FP8_E5M2":            {family: Float},
	"FP6_E2M3":            {family: Float},
	"FP6_E3M2":            {family: Float},
	"FP4_E2M1":            {family: Float},
	"FP8_E5M2FNUZ":        {family: Float},
	"FP8_E4M3FNUZ":        {family: Float},
	NameFP8E8M0:           {family: Float},
	"Float":               {family: Float, canonical: NameIEEE32},
	"Double":              {family: Float, canonical: NameIEEE64},
	NameCustomFloat:       {family: Float, params: []string{"maxExponent", "minExponent", "precision", "sizeInBits", "nonFinite", "nanEncoding"}, shorthand: shorthandNever},
	"MXFP8_E4M3":          {family: MicroScaling},
	"MXFP8_E5M2":          {family: MicroScaling},
	"MXFP6_E2M3":          {family: MicroScaling},
	"MXFP6_E3M2":          {family: MicroScaling},
	"MXFP4_E2M1":          {family: MicroScaling},
	NameMicroScalingFloat: {family: MicroScaling, params: []string{"batchSize", "scaleType", "elementType"}, shorthand: shorthandNever},
	"Date":                {family: Date},
	NameTimestamp:         {family: Timestamp, params: []string{"timeZone"}},
	"Interval":            {family: Interval},
	"Char":                {family: NonUnicodeString, params: sizeParams, shorthand: shorthandOptional},
	"VarChar":             {family: NonUnicodeString, params: sizeParams, shorthand: shorthandOptional},
	"NChar":               {family: UnicodeString, params: sizeParams, shorthand: shorthandOptional},
	NameNVarChar:          {family: UnicodeString, params: sizeParams, shorthand: shorthandOptional},
	"String":              {family: UnicodeString, canonical: NameNVarChar, params: sizeParams, shorthand: shorthandOptional},
	"Variant":             {family: Variant, params: maxSizeParam, shorthand: shorthandOptional},
	"Binary":              {family: Binary, params: maxSizeParam, shorthand: shorthandOptional},
	NameArray:             {family: Array, params: []string{"elementType", "maxSize"}, shorthand: shorthandNever},
	NameVector:            {family: Array, canonical: NameArray, params: []string{"dimensions"}, shorthand: shorthandOne},
	NameMap:               {family: Map, params: []string{"keyType", "valueType"}, shorthand: shorthandNever},
	NameStruct:            {family: Struct, params: []string{"fields"}, shorthand: shorthandNever},
	NameGeography:         {family: Geography, params: []string{"srid", "srsName", "geometryType", "maxSize"}},
}

func init() {
	for name, ti := range types {
		if ti.canonical == "" {
			ti.canonical = name
			types[name] = ti
		}
	}
}

// Known reports whether name is an accepted type name (aliases included).
func Known(name string) bool {
	_, ok := types[name]
	return ok
}

// CanonicalName resolves an alias (Float, Double, String, Vector) to its canonical name; other
// known names are returned as is. ok is false for unknown names.
func CanonicalName(name string) (canonical string, ok bool) {
	ti, ok := types[name]
	if !ok {
		return name, false
	}
	return ti.canonical, true
}

// Params returns the mapping keys (besides `type`) that the mapping form of the named type
// accepts. ok is false for unknown names. The slice must not be modified.
func Params(name string) (params []string, ok bool) {
	ti, ok := types[name]
	return ti.params, ok
}

// FamilyOf returns the family of t (Unknown for nil or an unknown name).
func FamilyOf(t *modelv1.DataType) Family {
	if t == nil {
		return Unknown
	}
	return FamilyOfName(t.GetName())
}

// FamilyOfName returns the family of a type name (Unknown for an unknown name).
func FamilyOfName(name string) Family {
	return types[name].family
}

// IntegerBits returns the width of an integer type: TinyInt 8, SmallInt 16, Integer 32, BigInt
// 64; 0 for any other name.
func IntegerBits(name string) int {
	switch name {
	case "TinyInt":
		return 8
	case "SmallInt":
		return 16
	case "Integer":
		return 32
	case "BigInt":
		return 64
	}
	return 0
}

// FloatFormat is the shape of a binary floating-point format. Precision counts significand bits
// including the implicit leading bit; MaxExp and MinExp are the unbiased exponent range of normal
// numbers (LLVM APFloat semantics).
type FloatFormat struct {
	Name      string // empty for a CustomFloat that matches no named format
	Bits      int
	Precision int
	MaxExp    int
	MinExp    int
	NonFinite modelv1.FloatNonFinite
	NaN       modelv1.FloatNanEncoding
	Unsigned  bool // no sign bit (FP8_E8M0)
	NoZero    bool // zero is not representable (FP8_E8M0)
}

const (
	ieee754    = modelv1.FloatNonFinite_FLOAT_NON_FINITE_IEEE754
	nanOnly    = modelv1.FloatNonFinite_FLOAT_NON_FINITE_NAN_ONLY
	finiteOnly = modelv1.FloatNonFinite_FLOAT_NON_FINITE_FINITE_ONLY
	nanIEEE    = modelv1.FloatNanEncoding_FLOAT_NAN_ENCODING_IEEE
	nanAllOnes = modelv1.FloatNanEncoding_FLOAT_NAN_ENCODING_ALL_ONES
	nanNegZero = modelv1.FloatNanEncoding_FLOAT_NAN_ENCODING_NEGATIVE_ZERO
)

// floats is the float family table of spec/model.md §4.7, in the spec's order.
var floats = []FloatFormat{
	{Name: "IEEE16", Bits: 16, Precision: 11, MaxExp: 15, MinExp: -14, NonFinite: ieee754, NaN: nanIEEE},
	{Name: "IEEE32", Bits: 32, Precision: 24, MaxExp: 127, MinExp: -126, NonFinite: ieee754, NaN: nanIEEE},
	{Name: "IEEE64", Bits: 64, Precision: 53, MaxExp: 1023, MinExp: -1022, NonFinite: ieee754, NaN: nanIEEE},
	{Name: "IEEE128", Bits: 128, Precision: 113, MaxExp: 16383, MinExp: -16382, NonFinite: ieee754, NaN: nanIEEE},
	{Name: "IEEE256", Bits: 256, Precision: 237, MaxExp: 262143, MinExp: -262142, NonFinite: ieee754, NaN: nanIEEE},
	{Name: "FP8_E4M3", Bits: 8, Precision: 4, MaxExp: 8, MinExp: -6, NonFinite: nanOnly, NaN: nanAllOnes},
	{Name: "FP8_E5M2", Bits: 8, Precision: 3, MaxExp: 15, MinExp: -14, NonFinite: ieee754, NaN: nanIEEE},
	{Name: "FP6_E2M3", Bits: 6, Precision: 4, MaxExp: 2, MinExp: 0, NonFinite: finiteOnly, NaN: nanIEEE},
	{Name: "FP6_E3M2", Bits: 6, Precision: 3, MaxExp: 4, MinExp: -2, NonFinite: finiteOnly, NaN: nanIEEE},
	{Name: "FP4_E2M1", Bits: 4, Precision: 2, MaxExp: 2, MinExp: 0, NonFinite: finiteOnly, NaN: nanIEEE},
	{Name: "FP8_E5M2FNUZ", Bits: 8, Precision: 3, MaxExp: 15, MinExp: -15, NonFinite: nanOnly, NaN: nanNegZero},
	{Name: "FP8_E4M3FNUZ", Bits: 8, Precision: 4, MaxExp: 7, MinExp: -7, NonFinite: nanOnly, NaN: nanNegZero},
	{Name: "FP8_E8M0", Bits: 8, Precision: 1, MaxExp: 127, MinExp: -127, NonFinite: nanOnly, NaN: nanAllOnes, Unsigned: true, NoZero: true},
}

// NamedFloat returns the format of a named float type; the aliases Float and Double resolve to
// IEEE32 and IEEE64.
func NamedFloat(name string) (FloatFormat, bool) {
	switch name {
	case "Float":
		name = NameIEEE32
	case "Double":
		name = NameIEEE64
	}
	for _, f := range floats {
		if f.Name == name {
			return f, true
		}
	}
	return FloatFormat{}, false
}

// NamedFloats returns the float family table (a copy), in the spec's order.
func NamedFloats() []FloatFormat {
	return append([]FloatFormat(nil), floats...)
}

// FloatFormatOf returns the format of a float-family type: a named float or a CustomFloat (with
// the defaults IEEE754 / IEEE for unspecified non-finite and NaN settings; Name is set when the
// parameters equal a named format).
func FloatFormatOf(t *modelv1.DataType) (FloatFormat, bool) {
	if t == nil {
		return FloatFormat{}, false
	}
	if t.GetName() != NameCustomFloat {
		return NamedFloat(t.GetName())
	}
	f := FloatFormat{
		Bits:      int(t.GetSizeInBits()),
		Precision: int(t.GetPrecision()),
		MaxExp:    int(t.GetMaxExponent()),
		MinExp:    int(t.GetMinExponent()),
		NonFinite: t.GetNonFinite(),
		NaN:       t.GetNanEncoding(),
	}
	if f.NonFinite == modelv1.FloatNonFinite_FLOAT_NON_FINITE_UNSPECIFIED {
		f.NonFinite = ieee754
	}
	if f.NaN == modelv1.FloatNanEncoding_FLOAT_NAN_ENCODING_UNSPECIFIED {
		f.NaN = nanIEEE
	}
	f.Name = matchFloat(f)
	return f, true
}

// matchFloat returns the name of the signed named format equal to f, or "".
func matchFloat(f FloatFormat) string {
	for _, n := range floats {
		if n.Unsigned || n.NoZero {
			continue
		}
		if n.Bits == f.Bits && n.Precision == f.Precision && n.MaxExp == f.MaxExp && n.MinExp == f.MinExp &&
			n.NonFinite == f.NonFinite && n.NaN == f.NaN {
			return n.Name
		}
	}
	return ""
}

// mxTypes maps each MX type to its element type (batch 32, scale FP8_E8M0).
var mxTypes = []struct{ name, element string }{
	{"MXFP8_E4M3", "FP8_E4M3"},
	{"MXFP8_E5M2", "FP8_E5M2"},
	{"MXFP6_E2M3", "FP6_E2M3"},
	{"MXFP6_E3M2", "FP6_E3M2"},
	{"MXFP4_E2M1", "FP4_E2M1"},
}

// MX returns the parameters of a named MX type: batch size 32, scale type FP8_E8M0 and its
// element type. ok is false for any other name (MicroScalingFloat included: read its fields).
func MX(name string) (batch int, scale, element string, ok bool) {
	for _, m := range mxTypes {
		if m.name == name {
			return MXBatchSize, MXScaleType, m.element, true
		}
	}
	return 0, "", "", false
}

func mxName(batch int32, scale, element string) string {
	if batch != MXBatchSize || scale != MXScaleType {
		return ""
	}
	for _, m := range mxTypes {
		if m.element == element {
			return m.name
		}
	}
	return ""
}
