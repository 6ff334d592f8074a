package dtype

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

func i64(v int64) *int64 { return &v }

func TestParse(t *testing.T) {
	tests := []struct {
		text string
		want *modelv1.DataType
		err  error
	}{
		{text: "Integer", want: &modelv1.DataType{Name: "Integer"}},
		{text: "Boolean", want: &modelv1.DataType{Name: "Boolean"}},
		{text: "VarChar(100)", want: &modelv1.DataType{Name: "VarChar", MaxSize: i64(100)}},
		{text: "VarChar", want: &modelv1.DataType{Name: "VarChar"}},
		{text: "Char", want: &modelv1.DataType{Name: "Char", MaxSize: i64(1)}},
		{text: "NChar(3)", want: &modelv1.DataType{Name: "NChar", MaxSize: i64(3)}},
		{text: "Decimal(12,2)", want: &modelv1.DataType{Name: "Decimal", Precision: 12, Scale: 2}},
		{text: "Decimal( 12 , 2 )", want: &modelv1.DataType{Name: "Decimal", Precision: 12, Scale: 2}},
		{text: "Decimal(5)", want: &modelv1.DataType{Name: "Decimal", Precision: 5}},
		{text: "Float", want: &modelv1.DataType{Name: "IEEE32"}},
		{text: "Double", want: &modelv1.DataType{Name: "IEEE64"}},
		{text: "String", want: &modelv1.DataType{Name: "NVarChar"}},
		{text: "String(10)", want: &modelv1.DataType{Name: "NVarChar", MaxSize: i64(10)}},
		{text: "Vector(768)", want: &modelv1.DataType{Name: "Array", MaxSize: i64(768), ElementType: &modelv1.DataType{Name: "IEEE32"}}},
		{text: "Timestamp", want: &modelv1.DataType{Name: "Timestamp", TimeZone: "UTC"}},
		{text: "Geography", want: &modelv1.DataType{Name: "Geography", Srid: 4326, SrsName: "WGS84"}},
		{text: "MXFP8_E4M3", want: &modelv1.DataType{Name: "MXFP8_E4M3"}},
		{text: "FP8_E8M0", want: &modelv1.DataType{Name: "FP8_E8M0"}},
		{text: "Binary(16)", want: &modelv1.DataType{Name: "Binary", MaxSize: i64(16)}},
		// Values are lint's business.
		{text: "VarChar(0)", want: &modelv1.DataType{Name: "VarChar", MaxSize: i64(0)}},
		{text: "VarChar(-1)", want: &modelv1.DataType{Name: "VarChar", MaxSize: i64(-1)}},
		{text: "Decimal(5000,2)", want: &modelv1.DataType{Name: "Decimal", Precision: 5000, Scale: 2}},
		// Errors.
		{text: "", err: ErrSyntax},
		{text: "Varchar", err: ErrSyntax},
		{text: "VarChar(", err: ErrSyntax},
		{text: "VarChar()", err: ErrSyntax},
		{text: "VarChar(a)", err: ErrSyntax},
		{text: "VarChar(1)x", err: ErrSyntax},
		{text: "VarChar(1,2)", err: ErrSyntax},
		{text: "VarChar(--1)", err: ErrSyntax},
		{text: "Integer(5)", err: ErrSyntax},
		{text: "Decimal", err: ErrSyntax},
		{text: "Decimal(1,2,3)", err: ErrSyntax},
		{text: "CustomFloat", err: ErrSyntax},
		{text: "Array(3)", err: ErrSyntax},
		{text: "Vector", err: ErrSyntax},
		{text: " Integer", err: ErrSyntax},
		{text: "Decimal(99999999999,2)", err: ErrRange},
		{text: "VarChar(99999999999999999999)", err: ErrRange},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := Parse(tt.text)
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("type (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCanonicalize(t *testing.T) {
	tests := []struct {
		name     string
		in, want *modelv1.DataType
	}{
		{"nil", nil, nil},
		{"custom float equal to IEEE32", &modelv1.DataType{Name: "CustomFloat", SizeInBits: 32, Precision: 24, MaxExponent: 127, MinExponent: -126},
			&modelv1.DataType{Name: "IEEE32"}},
		{"custom float equal to FP8_E4M3", &modelv1.DataType{Name: "CustomFloat", SizeInBits: 8, Precision: 4, MaxExponent: 8, MinExponent: -6,
			NonFinite: modelv1.FloatNonFinite_FLOAT_NON_FINITE_NAN_ONLY, NanEncoding: modelv1.FloatNanEncoding_FLOAT_NAN_ENCODING_ALL_ONES},
			&modelv1.DataType{Name: "FP8_E4M3"}},
		{"custom float like FP8_E8M0 stays custom (no sign bit to express)", &modelv1.DataType{Name: "CustomFloat", SizeInBits: 8, Precision: 1, MaxExponent: 127, MinExponent: -127,
			NonFinite: modelv1.FloatNonFinite_FLOAT_NON_FINITE_NAN_ONLY, NanEncoding: modelv1.FloatNanEncoding_FLOAT_NAN_ENCODING_ALL_ONES},
			&modelv1.DataType{Name: "CustomFloat", SizeInBits: 8, Precision: 1, MaxExponent: 127, MinExponent: -127,
				NonFinite: modelv1.FloatNonFinite_FLOAT_NON_FINITE_NAN_ONLY, NanEncoding: modelv1.FloatNanEncoding_FLOAT_NAN_ENCODING_ALL_ONES}},
		{"custom float defaults", &modelv1.DataType{Name: "CustomFloat", SizeInBits: 12, Precision: 5, MaxExponent: 15, MinExponent: -14},
			&modelv1.DataType{Name: "CustomFloat", SizeInBits: 12, Precision: 5, MaxExponent: 15, MinExponent: -14,
				NonFinite: modelv1.FloatNonFinite_FLOAT_NON_FINITE_IEEE754, NanEncoding: modelv1.FloatNanEncoding_FLOAT_NAN_ENCODING_IEEE}},
		{"MX", &modelv1.DataType{Name: "MicroScalingFloat", BatchSize: 32, ScaleType: "FP8_E8M0", MxElementType: "FP6_E3M2"},
			&modelv1.DataType{Name: "MXFP6_E3M2"}},
		{"MX other batch", &modelv1.DataType{Name: "MicroScalingFloat", BatchSize: 64, ScaleType: "FP8_E8M0", MxElementType: "Double"},
			&modelv1.DataType{Name: "MicroScalingFloat", BatchSize: 64, ScaleType: "FP8_E8M0", MxElementType: "IEEE64"}},
		{"nested aliases", &modelv1.DataType{Name: "Map", KeyType: &modelv1.DataType{Name: "String"}, ValueType: &modelv1.DataType{Name: "Array", ElementType: &modelv1.DataType{Name: "Float"}}},
			&modelv1.DataType{Name: "Map", KeyType: &modelv1.DataType{Name: "NVarChar"}, ValueType: &modelv1.DataType{Name: "Array", ElementType: &modelv1.DataType{Name: "IEEE32"}}}},
		{"vector", &modelv1.DataType{Name: "Vector", MaxSize: i64(4)},
			&modelv1.DataType{Name: "Array", MaxSize: i64(4), ElementType: &modelv1.DataType{Name: "IEEE32"}}},
		{"struct fields", &modelv1.DataType{Name: "Struct", Fields: []*modelv1.StructField{{Name: "a", Type: &modelv1.DataType{Name: "Timestamp"}}}},
			&modelv1.DataType{Name: "Struct", Fields: []*modelv1.StructField{{Name: "a", Type: &modelv1.DataType{Name: "Timestamp", TimeZone: "UTC"}}}}},
		{"unknown name untouched", &modelv1.DataType{Name: "Blob", Precision: 3}, &modelv1.DataType{Name: "Blob", Precision: 3}},
		{"canonical is a fixed point", &modelv1.DataType{Name: "NChar", MaxSize: i64(1)}, &modelv1.DataType{Name: "NChar", MaxSize: i64(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			Canonicalize(tt.in)
			if diff := cmp.Diff(tt.want, tt.in, protocmp.Transform()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestString(t *testing.T) {
	must := func(s string) *modelv1.DataType {
		t.Helper()
		d, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	tests := []struct {
		in   *modelv1.DataType
		want string
	}{
		{nil, "<none>"},
		{must("Integer"), "Integer"},
		{must("VarChar(100)"), "VarChar(100)"},
		{must("VarChar"), "VarChar"},
		{&modelv1.DataType{Name: "VarChar", MaxSize: i64(10), Collation: "C"}, "VarChar(10, collation: C)"},
		{must("Decimal(12,2)"), "Decimal(12,2)"},
		{must("Timestamp"), "Timestamp"},
		{&modelv1.DataType{Name: "Timestamp", TimeZone: "Europe/Paris"}, "Timestamp(Europe/Paris)"},
		{must("Vector(768)"), "Array(IEEE32, 768)"},
		{&modelv1.DataType{Name: "Array", ElementType: must("Decimal(5,1)")}, "Array(Decimal(5,1))"},
		{&modelv1.DataType{Name: "Map", KeyType: must("String"), ValueType: must("Integer")}, "Map(NVarChar, Integer)"},
		{&modelv1.DataType{Name: "Struct", Fields: []*modelv1.StructField{{Name: "a", Type: must("Integer"), Nullable: true}, {Name: "b", Type: must("VarChar(10)")}}},
			"Struct(a: Integer, b: VarChar(10) not null)"},
		{must("Geography"), "Geography"},
		{&modelv1.DataType{Name: "Geography", Srid: 3857, SrsName: "WGS84", GeometryType: modelv1.GeometryType_GEOMETRY_TYPE_POINT}, "Geography(srid: 3857, geometryType: POINT)"},
		{&modelv1.DataType{Name: "CustomFloat", SizeInBits: 16, Precision: 8, MaxExponent: 127, MinExponent: -126},
			"CustomFloat(sizeInBits: 16, precision: 8, maxExponent: 127, minExponent: -126, nonFinite: IEEE754, nanEncoding: IEEE)"},
		{&modelv1.DataType{Name: "MicroScalingFloat", BatchSize: 16, ScaleType: "FP8_E8M0", MxElementType: "FP8_E4M3"},
			"MicroScalingFloat(batchSize: 16, scaleType: FP8_E8M0, elementType: FP8_E4M3)"},
		{&modelv1.DataType{}, "<unnamed>"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, String(tt.in)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestFamilies(t *testing.T) {
	tests := map[string]string{
		"Boolean": "boolean", "TinyInt": "integer", "BigInt": "integer", "Decimal": "decimal",
		"IEEE16": "float", "Float": "float", "CustomFloat": "float", "FP8_E8M0": "float",
		"MXFP4_E2M1": "mx", "MicroScalingFloat": "mx", "Date": "date", "Timestamp": "timestamp",
		"Interval": "interval", "Char": "non-unicode string", "VarChar": "non-unicode string",
		"NChar": "unicode string", "String": "unicode string", "Variant": "variant", "Binary": "binary",
		"Array": "array", "Vector": "array", "Map": "map", "Struct": "struct", "Geography": "geography",
		"Blob": "unknown",
	}
	for name, want := range tests {
		if got := FamilyOf(&modelv1.DataType{Name: name}).String(); got != want {
			t.Errorf("%s: family %q, want %q", name, got, want)
		}
	}
	if FamilyOf(nil) != Unknown || Family(99).String() != "unknown" {
		t.Error("nil or out-of-range family")
	}
}

func TestFloats(t *testing.T) {
	got, ok := NamedFloat("FP8_E8M0")
	want := FloatFormat{Name: "FP8_E8M0", Bits: 8, Precision: 1, MaxExp: 127, MinExp: -127,
		NonFinite: modelv1.FloatNonFinite_FLOAT_NON_FINITE_NAN_ONLY, NaN: modelv1.FloatNanEncoding_FLOAT_NAN_ENCODING_ALL_ONES,
		Unsigned: true, NoZero: true}
	if diff := cmp.Diff(want, got); !ok || diff != "" {
		t.Errorf("FP8_E8M0 (-want +got):\n%s", diff)
	}
	if f, ok := NamedFloat("Double"); !ok || f.Name != "IEEE64" || f.Precision != 53 {
		t.Errorf("Double: %+v", f)
	}
	if _, ok := NamedFloat("Integer"); ok {
		t.Error("Integer is a float")
	}
	if len(NamedFloats()) != 13 {
		t.Errorf("%d named floats", len(NamedFloats()))
	}
	custom, ok := FloatFormatOf(&modelv1.DataType{Name: "CustomFloat", SizeInBits: 8, Precision: 3, MaxExponent: 15, MinExponent: -14})
	if !ok || custom.Name != "FP8_E5M2" || custom.NonFinite != modelv1.FloatNonFinite_FLOAT_NON_FINITE_IEEE754 {
		t.Errorf("custom: %+v", custom)
	}
	if _, ok := FloatFormatOf(&modelv1.DataType{Name: "Decimal"}); ok {
		t.Error("Decimal has a float format")
	}
}

func TestMXAndIntegers(t *testing.T) {
	batch, scale, elem, ok := MX("MXFP8_E5M2")
	if diff := cmp.Diff([]any{32, "FP8_E8M0", "FP8_E5M2", true}, []any{batch, scale, elem, ok}); diff != "" {
		t.Errorf("MX (-want +got):\n%s", diff)
	}
	if _, _, _, ok := MX("MicroScalingFloat"); ok {
		t.Error("MicroScalingFloat is not a named MX type")
	}
	for name, bits := range map[string]int{"TinyInt": 8, "SmallInt": 16, "Integer": 32, "BigInt": 64, "Decimal": 0} {
		if got := IntegerBits(name); got != bits {
			t.Errorf("%s: %d bits", name, got)
		}
	}
}

func TestNames(t *testing.T) {
	if c, ok := CanonicalName("String"); !ok || c != "NVarChar" {
		t.Errorf("String → %q %v", c, ok)
	}
	if c, ok := CanonicalName("Vector"); !ok || c != "Array" {
		t.Errorf("Vector → %q %v", c, ok)
	}
	if p, ok := Params("Decimal"); !ok || !cmp.Equal(p, []string{"precision", "scale"}) {
		t.Errorf("Decimal params %v", p)
	}
	if Known("Varchar") || !Known("VarChar") {
		t.Error("Known")
	}
}
