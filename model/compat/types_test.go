package compat_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	"github.com/datasurface/datasurface/model/compat"
	"github.com/datasurface/datasurface/model/dtype"
	"github.com/datasurface/datasurface/model/problem"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

func named(name string) *modelv1.DataType { return &modelv1.DataType{Name: name} }

func sized(name string, n int64) *modelv1.DataType {
	return &modelv1.DataType{Name: name, MaxSize: proto.Int64(n)}
}

func decimal(p, s int32) *modelv1.DataType {
	return &modelv1.DataType{Name: "Decimal", Precision: p, Scale: s}
}

func collated(t *modelv1.DataType, c string) *modelv1.DataType {
	t.Collation = c
	return t
}

func timestamp(tz string) *modelv1.DataType {
	return &modelv1.DataType{Name: "Timestamp", TimeZone: tz}
}

func array(elem *modelv1.DataType, n ...int64) *modelv1.DataType {
	t := &modelv1.DataType{Name: "Array", ElementType: elem}
	if len(n) > 0 {
		t.MaxSize = proto.Int64(n[0])
	}
	return t
}

func mapOf(k, v *modelv1.DataType) *modelv1.DataType {
	return &modelv1.DataType{Name: "Map", KeyType: k, ValueType: v}
}

func field(name string, t *modelv1.DataType, nullable bool) *modelv1.StructField {
	return &modelv1.StructField{Name: name, Type: t, Nullable: nullable}
}

func structOf(fs ...*modelv1.StructField) *modelv1.DataType {
	return &modelv1.DataType{Name: "Struct", Fields: fs}
}

func geo(srid int32, g modelv1.GeometryType, n ...int64) *modelv1.DataType {
	t := &modelv1.DataType{Name: "Geography", Srid: srid, SrsName: "WGS84", GeometryType: g}
	if len(n) > 0 {
		t.MaxSize = proto.Int64(n[0])
	}
	return t
}

func customFloat(bits, prec, maxExp, minExp int32, nf modelv1.FloatNonFinite, nan modelv1.FloatNanEncoding) *modelv1.DataType {
	return &modelv1.DataType{Name: "CustomFloat", SizeInBits: bits, Precision: prec, MaxExponent: maxExp,
		MinExponent: minExp, NonFinite: nf, NanEncoding: nan}
}

func msf(batch int32, scale, elem string) *modelv1.DataType {
	return &modelv1.DataType{Name: "MicroScalingFloat", BatchSize: batch, ScaleType: scale, MxElementType: elem}
}

const (
	ieee754  = modelv1.FloatNonFinite_FLOAT_NON_FINITE_IEEE754
	nanOnly  = modelv1.FloatNonFinite_FLOAT_NON_FINITE_NAN_ONLY
	finite   = modelv1.FloatNonFinite_FLOAT_NON_FINITE_FINITE_ONLY
	encIEEE  = modelv1.FloatNanEncoding_FLOAT_NAN_ENCODING_IEEE
	encOnes  = modelv1.FloatNanEncoding_FLOAT_NAN_ENCODING_ALL_ONES
	point    = modelv1.GeometryType_GEOMETRY_TYPE_POINT
	polygon  = modelv1.GeometryType_GEOMETRY_TYPE_POLYGON
	anyShape = modelv1.GeometryType_GEOMETRY_TYPE_UNSPECIFIED
)

func issue(r problem.Rule, msg string) compat.TypeIssue {
	return compat.TypeIssue{Rule: r, Message: msg}
}

func notRepresentable(o, n *modelv1.DataType, reason string) compat.TypeIssue {
	return issue(compat.FloatNotRepresentable, dtype.String(o)+" values are not all representable in "+dtype.String(n)+": "+reason)
}

func TestCheckType(t *testing.T) {
	// Custom float formats used below.
	e5m2Like := customFloat(12, 8, 15, -14, ieee754, encIEEE) // wider than FP8_E5M2 in precision
	finiteWide := customFloat(16, 11, 15, -14, finite, encIEEE)
	nanOnlyWide := customFloat(10, 5, 8, -6, nanOnly, encOnes) // FP8_E4M3 plus one precision bit

	tests := []struct {
		name     string
		new, old *modelv1.DataType
		want     []compat.TypeIssue
	}{
		// identity and family
		{"equal types", sized("VarChar", 10), sized("VarChar", 10), nil},
		{"nil old type is not reported", named("Integer"), nil, nil},
		{"boolean", named("Boolean"), named("Boolean"), nil},
		{"family changed", named("Integer"), named("Boolean"),
			[]compat.TypeIssue{issue(compat.TypeFamilyChanged, "type changed from Boolean to Integer, a different type family")}},
		{"integer to decimal is a family change", decimal(20, 0), named("Integer"),
			[]compat.TypeIssue{issue(compat.TypeFamilyChanged, "type changed from Integer to "+dtype.String(decimal(20, 0))+", a different type family")}},
		{"timestamp accepts date", timestamp("UTC"), named("Date"), nil},
		{"date does not accept timestamp", named("Date"), timestamp("UTC"),
			[]compat.TypeIssue{issue(compat.TypeFamilyChanged, "type changed from "+dtype.String(timestamp("UTC"))+" to Date, a different type family")}},
		{"date", named("Date"), named("Date"), nil},
		{"interval", named("Interval"), named("Interval"), nil},

		// integer
		{"integer widened", named("BigInt"), named("Integer"), nil},
		{"tinyint to smallint", named("SmallInt"), named("TinyInt"), nil},
		{"integer narrowed", named("SmallInt"), named("BigInt"),
			[]compat.TypeIssue{issue(compat.TypeNarrowed, "bits reduced from 64 to 16")}},

		// decimal
		{"decimal widened", decimal(14, 4), decimal(12, 2), nil},
		{"decimal precision reduced", decimal(10, 2), decimal(12, 2),
			[]compat.TypeIssue{issue(compat.TypeNarrowed, "precision reduced from 12 to 10")}},
		{"decimal scale reduced", decimal(14, 1), decimal(12, 2),
			[]compat.TypeIssue{issue(compat.TypeNarrowed, "scale reduced from 2 to 1")}},
		{"decimal integer digits reduced", decimal(10, 4), decimal(10, 2),
			[]compat.TypeIssue{issue(compat.TypeNarrowed, "integer digits reduced from 8 to 6")}},
		{"decimal precision and scale reduced", decimal(10, 1), decimal(12, 2),
			[]compat.TypeIssue{
				issue(compat.TypeNarrowed, "precision reduced from 12 to 10"),
				issue(compat.TypeNarrowed, "scale reduced from 2 to 1"),
			}},

		// float: the examples of spec/governance.md §2.4
		{"IEEE16 accepts FP8_E4M3", named("IEEE16"), named("FP8_E4M3"), nil},
		{"IEEE16 accepts FP6_E2M3", named("IEEE16"), named("FP6_E2M3"), nil},
		{"IEEE16 accepts FP4_E2M1", named("IEEE16"), named("FP4_E2M1"), nil},
		{"FP8_E4M3 accepts FP6_E2M3", named("FP8_E4M3"), named("FP6_E2M3"), nil},
		{"FP8_E4M3 accepts FP4_E2M1", named("FP8_E4M3"), named("FP4_E2M1"), nil},
		{"FP8_E4M3 does not accept FP8_E5M2", named("FP8_E4M3"), named("FP8_E5M2"),
			[]compat.TypeIssue{notRepresentable(named("FP8_E5M2"), named("FP8_E4M3"),
				"maximum exponent 15 > 8; minimum exponent -14 < -6; no infinities")}},
		{"FP8_E5M2 does not accept FP8_E4M3", named("FP8_E5M2"), named("FP8_E4M3"),
			[]compat.TypeIssue{notRepresentable(named("FP8_E4M3"), named("FP8_E5M2"), "precision 4 > 3 bits")}},
		{"FP8_E5M2FNUZ does not accept FP8_E5M2 (infinities)", named("FP8_E5M2FNUZ"), named("FP8_E5M2"),
			[]compat.TypeIssue{notRepresentable(named("FP8_E5M2"), named("FP8_E5M2FNUZ"), "no infinities")}},
		{"FP8_E5M2 does not accept FP8_E5M2FNUZ", named("FP8_E5M2"), named("FP8_E5M2FNUZ"),
			[]compat.TypeIssue{notRepresentable(named("FP8_E5M2FNUZ"), named("FP8_E5M2"), "minimum exponent -15 < -14")}},
		{"FP8_E4M3FNUZ does not accept FP8_E4M3", named("FP8_E4M3FNUZ"), named("FP8_E4M3"),
			[]compat.TypeIssue{notRepresentable(named("FP8_E4M3"), named("FP8_E4M3FNUZ"), "maximum exponent 8 > 7")}},
		{"FP8_E4M3 does not accept FP8_E4M3FNUZ", named("FP8_E4M3"), named("FP8_E4M3FNUZ"),
			[]compat.TypeIssue{notRepresentable(named("FP8_E4M3FNUZ"), named("FP8_E4M3"), "minimum exponent -7 < -6")}},
		{"IEEE32 accepts IEEE16", named("IEEE32"), named("IEEE16"), nil},
		{"IEEE256 accepts IEEE128", named("IEEE256"), named("IEEE128"), nil},
		{"IEEE16 does not accept IEEE32", named("IEEE16"), named("IEEE32"),
			[]compat.TypeIssue{notRepresentable(named("IEEE32"), named("IEEE16"),
				"maximum exponent 127 > 15; minimum exponent -126 < -14; precision 24 > 11 bits")}},
		{"FP6_E2M3 does not accept FP8_E4M3 (NaN)", named("FP6_E2M3"), named("FP8_E4M3"),
			[]compat.TypeIssue{notRepresentable(named("FP8_E4M3"), named("FP6_E2M3"),
				"maximum exponent 8 > 2; minimum exponent -6 < 0; no NaN")}},
		{"IEEE64 accepts FP8_E8M0", named("IEEE64"), named("FP8_E8M0"), nil},
		{"IEEE32 does not accept FP8_E8M0 (subnormals not counted)", named("IEEE32"), named("FP8_E8M0"),
			[]compat.TypeIssue{notRepresentable(named("FP8_E8M0"), named("IEEE32"), "minimum exponent -127 < -126")}},
		{"FP8_E8M0 does not accept FP4_E2M1 (sign, zero)", named("FP8_E8M0"), named("FP4_E2M1"),
			[]compat.TypeIssue{notRepresentable(named("FP4_E2M1"), named("FP8_E8M0"),
				"precision 2 > 1 bits; no negative values; no zero")}},

		// float: the custom float family
		{"custom float accepts FP8_E5M2", e5m2Like, named("FP8_E5M2"), nil},
		{"FP8_E5M2 does not accept a wider custom float", named("FP8_E5M2"), e5m2Like,
			[]compat.TypeIssue{notRepresentable(e5m2Like, named("FP8_E5M2"), "precision 8 > 3 bits")}},
		{"IEEE16 accepts a finite-only custom float of its range", named("IEEE16"), finiteWide, nil},
		{"finite-only custom float does not accept IEEE16", finiteWide, named("IEEE16"),
			[]compat.TypeIssue{notRepresentable(named("IEEE16"), finiteWide, "no infinities; no NaN")}},
		{"NaN-only custom float accepts FP8_E4M3", nanOnlyWide, named("FP8_E4M3"), nil},
		{"NaN-only custom float does not accept FP8_E5M2", nanOnlyWide, named("FP8_E5M2"),
			[]compat.TypeIssue{notRepresentable(named("FP8_E5M2"), nanOnlyWide,
				"maximum exponent 15 > 8; minimum exponent -14 < -6; no infinities")}},
		{"custom float widened", customFloat(16, 9, 15, -14, ieee754, encIEEE), e5m2Like, nil},

		// mx
		{"mx equal named", named("MXFP8_E4M3"), named("MXFP8_E4M3"), nil},
		{"mx element changed", named("MXFP8_E5M2"), named("MXFP8_E4M3"),
			[]compat.TypeIssue{issue(compat.MXChanged, "element type changed from FP8_E4M3 to FP8_E5M2")}},
		{"mx batch size increased", msf(64, "FP8_E8M0", "FP8_E4M3"), named("MXFP8_E4M3"), nil},
		{"mx batch size reduced", msf(16, "FP8_E8M0", "FP8_E4M3"), named("MXFP8_E4M3"),
			[]compat.TypeIssue{issue(compat.TypeNarrowed, "batch size reduced from 32 to 16")}},
		{"mx scale changed", msf(32, "IEEE16", "FP8_E4M3"), named("MXFP8_E4M3"),
			[]compat.TypeIssue{issue(compat.MXChanged, "scale type changed from FP8_E8M0 to IEEE16")}},
		{"mx and float are different families", named("FP8_E4M3"), named("MXFP8_E4M3"),
			[]compat.TypeIssue{issue(compat.TypeFamilyChanged, "type changed from MXFP8_E4M3 to FP8_E4M3, a different type family")}},

		// strings
		{"varchar widened", sized("VarChar", 200), sized("VarChar", 100), nil},
		{"varchar narrowed", sized("VarChar", 50), sized("VarChar", 100),
			[]compat.TypeIssue{issue(compat.TypeNarrowed, "size reduced from 100 to 50")}},
		{"varchar unbounded accepts bounded", named("VarChar"), sized("VarChar", 100), nil},
		{"varchar bound added", sized("VarChar", 100), named("VarChar"),
			[]compat.TypeIssue{issue(compat.TypeBoundAdded, "an unbounded VarChar became bounded (100)")}},
		{"char to varchar is interchangeable", sized("VarChar", 2), sized("Char", 2), nil},
		{"varchar to char is interchangeable", sized("Char", 10), sized("VarChar", 10), nil},
		{"char without size defaults to 1", sized("Char", 1), named("Char"), nil},
		{"nchar to nvarchar", named("NVarChar"), sized("NChar", 3), nil},
		{"unicode does not accept non-unicode", sized("NVarChar", 100), sized("VarChar", 100),
			[]compat.TypeIssue{issue(compat.TypeFamilyChanged, "type changed from VarChar(100) to NVarChar(100), a different type family")}},
		{"non-unicode does not accept unicode", sized("VarChar", 100), sized("NVarChar", 100),
			[]compat.TypeIssue{issue(compat.TypeFamilyChanged, "type changed from NVarChar(100) to VarChar(100), a different type family")}},
		{"collation changed", collated(sized("VarChar", 100), "en_US"), collated(sized("VarChar", 100), "C"),
			[]compat.TypeIssue{issue(compat.TypeCollationChanged, "collation changed from C to en_US")}},
		{"collation added", collated(sized("NVarChar", 100), "en_US"), sized("NVarChar", 100),
			[]compat.TypeIssue{issue(compat.TypeCollationChanged, "collation changed from none to en_US")}},

		// timestamp
		{"timestamp same zone", timestamp("Europe/Berlin"), timestamp("Europe/Berlin"), nil},
		{"timestamp zone changed", timestamp("Europe/Berlin"), timestamp("UTC"),
			[]compat.TypeIssue{issue(compat.TypeTimezoneChanged, "time zone changed from UTC to Europe/Berlin")}},

		// variant, binary
		{"variant bounded to unbounded", named("Variant"), sized("Variant", 1000), nil},
		{"variant bound added", sized("Variant", 1000), named("Variant"),
			[]compat.TypeIssue{issue(compat.TypeBoundAdded, "an unbounded Variant became bounded (1000)")}},
		{"binary widened", sized("Binary", 32), sized("Binary", 16), nil},
		{"binary narrowed", sized("Binary", 8), sized("Binary", 16),
			[]compat.TypeIssue{issue(compat.TypeNarrowed, "size reduced from 16 to 8")}},

		// array, map
		{"array widened", array(named("IEEE64"), 1024), array(named("IEEE32"), 768), nil},
		{"array element count reduced", array(named("IEEE32"), 512), array(named("IEEE32"), 768),
			[]compat.TypeIssue{issue(compat.TypeNarrowed, "size reduced from 768 to 512")}},
		{"array bound added", array(named("IEEE32"), 768), array(named("IEEE32")),
			[]compat.TypeIssue{issue(compat.TypeBoundAdded, "an unbounded Array became bounded (768)")}},
		{"array element narrowed", array(named("IEEE16"), 768), array(named("IEEE32"), 768),
			[]compat.TypeIssue{issue(compat.FloatNotRepresentable, "array element: IEEE32 values are not all representable in IEEE16: "+
				"maximum exponent 127 > 15; minimum exponent -126 < -14; precision 24 > 11 bits")}},
		{"map widened", mapOf(sized("VarChar", 20), named("BigInt")), mapOf(sized("VarChar", 10), named("Integer")), nil},
		{"map key narrowed", mapOf(sized("VarChar", 5), named("Integer")), mapOf(sized("VarChar", 10), named("Integer")),
			[]compat.TypeIssue{issue(compat.TypeNarrowed, "map key: size reduced from 10 to 5")}},
		{"map value changed family", mapOf(sized("VarChar", 10), named("Boolean")), mapOf(sized("VarChar", 10), named("Integer")),
			[]compat.TypeIssue{issue(compat.TypeFamilyChanged, "map value: type changed from Integer to Boolean, a different type family")}},

		// struct
		{"struct field appended nullable", structOf(field("a", named("Integer"), false), field("b", named("Date"), true)),
			structOf(field("a", named("Integer"), false)), nil},
		{"struct field widened", structOf(field("a", named("BigInt"), false)), structOf(field("a", named("Integer"), false)), nil},
		{"struct field removed", structOf(field("a", named("Integer"), true)),
			structOf(field("a", named("Integer"), true), field("b", named("Date"), true)),
			[]compat.TypeIssue{issue(compat.StructFieldRemoved, "struct field 'b' removed")}},
		{"struct field moved", structOf(field("b", named("Date"), true), field("a", named("Integer"), true)),
			structOf(field("a", named("Integer"), true), field("b", named("Date"), true)),
			[]compat.TypeIssue{
				issue(compat.StructFieldMoved, "struct field 'a' moved or renamed; existing fields must keep their positions"),
				issue(compat.StructFieldMoved, "struct field 'b' moved or renamed; existing fields must keep their positions"),
			}},
		{"struct field renamed", structOf(field("a", named("Integer"), true), field("c", named("Date"), true)),
			structOf(field("a", named("Integer"), true), field("b", named("Date"), true)),
			[]compat.TypeIssue{issue(compat.StructFieldMoved, "struct field 'b' moved or renamed; existing fields must keep their positions")}},
		{"struct field inserted", structOf(field("a", named("Integer"), true), field("x", named("Date"), true), field("b", named("Date"), true)),
			structOf(field("a", named("Integer"), true), field("b", named("Date"), true)),
			[]compat.TypeIssue{
				issue(compat.StructFieldMoved, "struct field 'b' moved or renamed; existing fields must keep their positions"),
				issue(compat.StructFieldInserted, "new struct field 'x' must be appended after the existing fields"),
			}},
		{"struct field appended not null", structOf(field("a", named("Integer"), true), field("b", named("Date"), false)),
			structOf(field("a", named("Integer"), true)),
			[]compat.TypeIssue{issue(compat.StructFieldNotNull, "new struct field 'b' must be nullable")}},
		{"struct field nullability changed", structOf(field("a", named("Integer"), false)), structOf(field("a", named("Integer"), true)),
			[]compat.TypeIssue{issue(compat.StructFieldNullability, "struct field 'a' changed nullability")}},
		{"struct field type narrowed", structOf(field("a", named("SmallInt"), true)), structOf(field("a", named("Integer"), true)),
			[]compat.TypeIssue{issue(compat.TypeNarrowed, "struct field 'a': bits reduced from 32 to 16")}},
		{"nested struct in array", array(structOf(field("a", named("Integer"), true))),
			array(structOf(field("a", named("Integer"), true), field("b", named("Integer"), true))),
			[]compat.TypeIssue{issue(compat.StructFieldRemoved, "array element: struct field 'b' removed")}},

		// geography
		{"geography constraint removed", geo(4326, anyShape), geo(4326, point), nil},
		{"geography srs label is not compared", &modelv1.DataType{Name: "Geography", Srid: 4326, SrsName: "other"}, geo(4326, anyShape), nil},
		{"geography srid changed", geo(3857, anyShape), geo(4326, anyShape),
			[]compat.TypeIssue{issue(compat.GeoSRSChanged, "SRID changed from 4326 to 3857")}},
		{"geography constrained", geo(4326, point), geo(4326, anyShape),
			[]compat.TypeIssue{issue(compat.GeoTypeConstrained, "geometry type restricted to POINT")}},
		{"geography type changed", geo(4326, polygon), geo(4326, point),
			[]compat.TypeIssue{issue(compat.GeoTypeChanged, "geometry type changed from POINT to POLYGON")}},
		{"geography size narrowed", geo(4326, anyShape, 100), geo(4326, anyShape, 200),
			[]compat.TypeIssue{issue(compat.TypeNarrowed, "size reduced from 200 to 100")}},
		{"geography bound added", geo(4326, anyShape, 100), geo(4326, anyShape),
			[]compat.TypeIssue{issue(compat.TypeBoundAdded, "an unbounded Geography became bounded (100)")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := compat.CheckType(tt.new, tt.old)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CheckType(%s, %s) mismatch (-want +got):\n%s", dtype.String(tt.new), dtype.String(tt.old), diff)
			}
			if gotOK, wantOK := compat.Accepts(tt.new, tt.old), len(tt.want) == 0; gotOK != wantOK {
				t.Errorf("Accepts = %v, want %v", gotOK, wantOK)
			}
		})
	}
}
