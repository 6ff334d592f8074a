package ytypes

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

func named(n string) *modelv1.DataType { return &modelv1.DataType{Name: n} }

func sized(n string, size int64) *modelv1.DataType {
	return &modelv1.DataType{Name: n, MaxSize: proto.Int64(size)}
}

func array(el *modelv1.DataType) *modelv1.DataType {
	return &modelv1.DataType{Name: "Array", ElementType: el}
}

// TestMap covers every row of yellow.md §3.
func TestPlatformTypeMap(t *testing.T) {
	postgis := Options{PostGIS: true}
	tests := []struct {
		name   string
		dt     *modelv1.DataType
		opts   Options
		want   Physical
		reason string // non-empty: not storable
		format string // Format of the type in the error
	}{
		{name: "Boolean", dt: named("Boolean"), want: Physical{Type: "boolean"}},
		{name: "TinyInt", dt: named("TinyInt"), want: Physical{Type: "smallint"}},
		{name: "SmallInt", dt: named("SmallInt"), want: Physical{Type: "smallint"}},
		{name: "Integer", dt: named("Integer"), want: Physical{Type: "integer"}},
		{name: "BigInt", dt: named("BigInt"), want: Physical{Type: "bigint"}},
		{name: "Decimal", dt: &modelv1.DataType{Name: "Decimal", Precision: 12, Scale: 2}, want: Physical{Type: "numeric(12,2)"}},
		{name: "Decimal scale 0", dt: &modelv1.DataType{Name: "Decimal", Precision: 7}, want: Physical{Type: "numeric(7,0)"}},
		// float types representable by IEEE32
		{name: "IEEE16", dt: named("IEEE16"), want: Physical{Type: "real"}},
		{name: "IEEE32", dt: named("IEEE32"), want: Physical{Type: "real"}},
		{name: "FP8_E4M3", dt: named("FP8_E4M3"), want: Physical{Type: "real"}},
		{name: "FP8_E5M2", dt: named("FP8_E5M2"), want: Physical{Type: "real"}},
		{name: "FP6_E2M3", dt: named("FP6_E2M3"), want: Physical{Type: "real"}},
		{name: "FP6_E3M2", dt: named("FP6_E3M2"), want: Physical{Type: "real"}},
		{name: "FP4_E2M1", dt: named("FP4_E2M1"), want: Physical{Type: "real"}},
		{name: "FP8_E5M2FNUZ", dt: named("FP8_E5M2FNUZ"), want: Physical{Type: "real"}},
		{name: "FP8_E4M3FNUZ", dt: named("FP8_E4M3FNUZ"), want: Physical{Type: "real"}},
		// other float types representable by IEEE64
		{name: "IEEE64", dt: named("IEEE64"), want: Physical{Type: "double precision"}},
		{name: "FP8_E8M0", dt: named("FP8_E8M0"), want: Physical{Type: "double precision"}},
		{
			name: "CustomFloat within IEEE64",
			dt:   &modelv1.DataType{Name: "CustomFloat", SizeInBits: 40, Precision: 30, MaxExponent: 511, MinExponent: -510},
			want: Physical{Type: "double precision"},
		},
		// not storable floats
		{name: "IEEE128", dt: named("IEEE128"), reason: "it is wider than IEEE64", format: "IEEE128"},
		{name: "IEEE256", dt: named("IEEE256"), reason: "it is wider than IEEE64", format: "IEEE256"},
		{name: "MXFP8_E4M3", dt: named("MXFP8_E4M3"), reason: "microscaling floats have no PostgreSQL type", format: "MXFP8_E4M3"},
		{name: "MXFP4_E2M1", dt: named("MXFP4_E2M1"), reason: "microscaling floats have no PostgreSQL type", format: "MXFP4_E2M1"},
		{name: "MicroScalingFloat", dt: &modelv1.DataType{Name: "MicroScalingFloat", BatchSize: 16}, reason: "microscaling floats have no PostgreSQL type", format: "MicroScalingFloat"},
		{
			name:   "wider CustomFloat",
			dt:     &modelv1.DataType{Name: "CustomFloat", SizeInBits: 80, Precision: 64, MaxExponent: 16383, MinExponent: -16382},
			reason: "it is wider than IEEE64",
			format: "CustomFloat(sizeInBits 80, precision 64, exponents -16382..16383)",
		},
		{name: "Date", dt: named("Date"), want: Physical{Type: "date"}},
		{name: "Interval", dt: named("Interval"), want: Physical{Type: "interval"}},
		{name: "Timestamp", dt: &modelv1.DataType{Name: "Timestamp", TimeZone: "Europe/Berlin"}, want: Physical{Type: "timestamp without time zone"}},
		{name: "Char(n)", dt: sized("Char", 2), want: Physical{Type: "character(2)"}},
		{name: "Char default size", dt: named("Char"), want: Physical{Type: "character(1)"}},
		{name: "NChar(n)", dt: sized("NChar", 3), want: Physical{Type: "character(3)"}},
		{name: "VarChar(n)", dt: sized("VarChar", 100), want: Physical{Type: "character varying(100)"}},
		{name: "NVarChar(n)", dt: sized("NVarChar", 50), want: Physical{Type: "character varying(50)"}},
		{name: "VarChar unbounded", dt: named("VarChar"), want: Physical{Type: "character varying"}},
		{name: "NVarChar unbounded", dt: named("NVarChar"), want: Physical{Type: "character varying"}},
		{
			name: "collation",
			dt:   &modelv1.DataType{Name: "VarChar", MaxSize: proto.Int64(20), Collation: "de-DE-x-icu"},
			want: Physical{Type: "character varying(20)", Collation: "de-DE-x-icu"},
		},
		{name: "Variant", dt: named("Variant"), want: Physical{Type: "jsonb"}},
		{name: "Binary", dt: sized("Binary", 16), want: Physical{Type: "bytea"}},
		{name: "Array of a scalar", dt: array(named("Integer")), want: Physical{Type: "integer[]"}},
		{name: "Array of strings", dt: array(sized("VarChar", 10)), want: Physical{Type: "character varying(10)[]"}},
		{name: "Vector (canonical Array of IEEE32)", dt: &modelv1.DataType{Name: "Array", ElementType: named("IEEE32"), MaxSize: proto.Int64(768)}, want: Physical{Type: "real[]"}},
		{name: "nested Array", dt: array(array(named("Integer"))), reason: "array elements must be scalar, not Array", format: "Array(Array(Integer))"},
		{name: "Array of Map", dt: array(&modelv1.DataType{Name: "Map", KeyType: named("VarChar"), ValueType: named("Integer")}), reason: "array elements must be scalar, not Map", format: "Array(Map(VarChar, Integer))"},
		{name: "Array of Struct", dt: array(named("Struct")), reason: "array elements must be scalar, not Struct", format: "Array(Struct)"},
		{name: "Array of an unstorable scalar", dt: array(named("IEEE128")), reason: "its element type IEEE128 cannot be stored: it is wider than IEEE64", format: "Array(IEEE128)"},
		{name: "Map", dt: &modelv1.DataType{Name: "Map", KeyType: named("VarChar"), ValueType: named("Integer")}, want: Physical{Type: "jsonb"}},
		{name: "Struct", dt: &modelv1.DataType{Name: "Struct", Fields: []*modelv1.StructField{{Name: "a", Type: named("Integer")}}}, want: Physical{Type: "jsonb"}},
		{
			name: "Geography with postgis",
			dt:   &modelv1.DataType{Name: "Geography", Srid: 4326, GeometryType: modelv1.GeometryType_GEOMETRY_TYPE_POINT},
			opts: postgis,
			want: Physical{Type: "geography(Point,4326)"},
		},
		{name: "Geography LineString", dt: &modelv1.DataType{Name: "Geography", Srid: 4326, GeometryType: modelv1.GeometryType_GEOMETRY_TYPE_LINESTRING}, opts: postgis, want: Physical{Type: "geography(LineString,4326)"}},
		{name: "Geography Polygon", dt: &modelv1.DataType{Name: "Geography", Srid: 4326, GeometryType: modelv1.GeometryType_GEOMETRY_TYPE_POLYGON}, opts: postgis, want: Physical{Type: "geography(Polygon,4326)"}},
		{name: "Geography MultiPoint", dt: &modelv1.DataType{Name: "Geography", Srid: 4326, GeometryType: modelv1.GeometryType_GEOMETRY_TYPE_MULTIPOINT}, opts: postgis, want: Physical{Type: "geography(MultiPoint,4326)"}},
		{name: "Geography MultiLineString", dt: &modelv1.DataType{Name: "Geography", Srid: 4326, GeometryType: modelv1.GeometryType_GEOMETRY_TYPE_MULTILINESTRING}, opts: postgis, want: Physical{Type: "geography(MultiLineString,4326)"}},
		{name: "Geography MultiPolygon", dt: &modelv1.DataType{Name: "Geography", Srid: 4326, GeometryType: modelv1.GeometryType_GEOMETRY_TYPE_MULTIPOLYGON}, opts: postgis, want: Physical{Type: "geography(MultiPolygon,4326)"}},
		{name: "Geography GeometryCollection", dt: &modelv1.DataType{Name: "Geography", Srid: 4326, GeometryType: modelv1.GeometryType_GEOMETRY_TYPE_GEOMETRYCOLLECTION}, opts: postgis, want: Physical{Type: "geography(GeometryCollection,4326)"}},
		{name: "Geography of any shape", dt: &modelv1.DataType{Name: "Geography", Srid: 3857}, opts: postgis, want: Physical{Type: "geography(Geometry,3857)"}},
		{name: "Geography without postgis", dt: &modelv1.DataType{Name: "Geography", Srid: 4326}, reason: "the platform does not enable postgis", format: "Geography"},
		{name: "unknown", dt: named("Money"), reason: "it is not a known type", format: "Money"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Map(tc.dt, tc.opts)
			ok, reason := Storable(tc.dt, tc.opts)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("Map: %v", err)
				}
				if d := cmp.Diff(tc.want, got); d != "" {
					t.Errorf("Map (-want +got):\n%s", d)
				}
				if !ok || reason != "" {
					t.Errorf("Storable = %v, %q; want true", ok, reason)
				}
				return
			}
			var ns *NotStorableError
			if !errors.As(err, &ns) {
				t.Fatalf("Map error = %v, want *NotStorableError", err)
			}
			if d := cmp.Diff(NotStorableError{Type: tc.format, Reason: tc.reason}, *ns); d != "" {
				t.Errorf("Map error (-want +got):\n%s", d)
			}
			if want := "type " + tc.format + " cannot be stored on Yellow: " + tc.reason; err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
			if ok || reason != tc.reason {
				t.Errorf("Storable = %v, %q; want false, %q", ok, reason, tc.reason)
			}
		})
	}
}

func TestPlatformTypeFormat(t *testing.T) {
	tests := []struct {
		dt   *modelv1.DataType
		want string
	}{
		{nil, "(none)"},
		{named("Integer"), "Integer"},
		{sized("VarChar", 100), "VarChar(100)"},
		{named("VarChar"), "VarChar"},
		{&modelv1.DataType{Name: "Decimal", Precision: 12, Scale: 2}, "Decimal(12,2)"},
		{&modelv1.DataType{Name: "Array", ElementType: named("IEEE32"), MaxSize: proto.Int64(3)}, "Array(IEEE32, 3)"},
	}
	for _, tc := range tests {
		if got := Format(tc.dt); got != tc.want {
			t.Errorf("Format(%v) = %q, want %q", tc.dt, got, tc.want)
		}
	}
}

// TestEquivalent covers the synonyms and examples of yellow.md §3.
func TestPlatformTypeEquivalent(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		// spec examples
		{"VARCHAR(50)", "VARCHAR(200)", false},
		{"CHAR(10)", "VARCHAR(10)", false},
		{"DECIMAL(10,2)", "DECIMAL(10,3)", false},
		{"NUMERIC(10,2)", "DECIMAL(10,2)", true},
		{"TIMESTAMP", "TIMESTAMPTZ", false},
		// synonyms
		{"INT", "integer", true},
		{"int4", "INTEGER", true},
		{"int2", "smallint", true},
		{"INT8", "bigint", true},
		{"bool", "boolean", true},
		{"float4", "real", true},
		{"float8", "double precision", true},
		{"FLOAT(25)", "double precision", true},
		{"float(53)", "FLOAT8", true},
		{"float(24)", "double precision", false},
		{"varchar(10)", "character varying(10)", true},
		{"char(3)", "character(3)", true},
		{"bpchar(3)", "CHARACTER(3)", true},
		{"timestamp", "timestamp without time zone", true},
		{"timestamptz", "timestamp with time zone", true},
		{"timestamp with time zone", "timestamp without time zone", false},
		// white space, case, parameters
		{"  character   varying ( 10 ) ", "VARCHAR(10)", true},
		{"numeric(10)", "decimal(10,0)", true},
		{"numeric(10, 2)", "NUMERIC(10,2)", true},
		{"numeric", "numeric(10,0)", false},
		{"timestamp(3) without time zone", "TIMESTAMP(3)", true},
		{"timestamp(3)", "timestamp(6)", false},
		{"integer[]", "INT4[]", true},
		{"integer[]", "integer", false},
		{"integer[3]", "int[]", true},
		{"character varying(10)[]", "varchar(10)[]", true},
		{"jsonb", "JSONB", true},
		{"jsonb", "json", false},
		{"geography(Point,4326)", "GEOGRAPHY(POINT, 4326)", true},
	}
	for _, tc := range tests {
		if got := Equivalent(tc.a, tc.b); got != tc.want {
			t.Errorf("Equivalent(%q, %q) = %v, want %v (%q vs %q)", tc.a, tc.b, got, tc.want, Normalize(tc.a), Normalize(tc.b))
		}
		if got := Equivalent(tc.b, tc.a); got != tc.want {
			t.Errorf("Equivalent(%q, %q) not symmetric", tc.b, tc.a)
		}
	}
}
