// Package ytypes owns how Yellow stores model column types in PostgreSQL (yellow.md §3): the
// physical type of every storable model type as format_type prints it, the reason a type cannot
// be stored (lint DS-YELLOW-014), and the equivalence of physical type spellings used when a live
// column is compared with the model.
package ytypes

import (
	"fmt"
	"strconv"
	"strings"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// Options are the platform settings that change what can be stored.
type Options struct {
	// PostGIS allows Geography columns (the platform's `postgis: true`).
	PostGIS bool
}

// Physical is the physical type of a column.
type Physical struct {
	// Type is the type as format_type prints it, e.g. `character varying(100)`, `numeric(12,2)`,
	// `integer[]`.
	Type string
	// Collation is the collation of a string column ("" = the database default); SQL appends
	// `COLLATE "<collation>"`.
	Collation string
}

// NotStorableError says why a model type cannot be stored on Yellow.
type NotStorableError struct {
	Type   string // the model type, as Format renders it
	Reason string
}

func (e *NotStorableError) Error() string {
	return fmt.Sprintf("type %s cannot be stored on Yellow: %s", e.Type, e.Reason)
}

// Float types by physical type (yellow.md §3).
var (
	realFloats = map[string]bool{
		"IEEE16": true, "IEEE32": true, "FP8_E4M3": true, "FP8_E5M2": true, "FP6_E2M3": true,
		"FP6_E3M2": true, "FP4_E2M1": true, "FP8_E5M2FNUZ": true, "FP8_E4M3FNUZ": true,
	}
	doubleFloats = map[string]bool{"IEEE64": true, "FP8_E8M0": true}
	wideFloats   = map[string]bool{"IEEE128": true, "IEEE256": true}
	mxTypes      = map[string]bool{
		"MXFP8_E4M3": true, "MXFP8_E5M2": true, "MXFP6_E2M3": true, "MXFP6_E3M2": true, "MXFP4_E2M1": true,
		"MicroScalingFloat": true,
	}
)

// IEEE64 limits a CustomFloat must fit to be stored as double precision.
const (
	ieee64Precision = 53
	ieee64MaxExp    = 1023
	ieee64MinExp    = -1022
)

// Map returns the physical type of dt, or a *NotStorableError.
func Map(dt *modelv1.DataType, o Options) (Physical, error) {
	typ, reason := physical(dt, o, true)
	if reason != "" {
		return Physical{}, &NotStorableError{Type: Format(dt), Reason: reason}
	}
	return Physical{Type: typ, Collation: dt.GetCollation()}, nil
}

// Storable reports whether dt can be stored on Yellow, and if not, why. It does not allocate
// for storable scalar types, so lint can call it for every column of a large model.
func Storable(dt *modelv1.DataType, o Options) (ok bool, reason string) {
	_, reason = physical(dt, o, false)
	return reason == "", reason
}

// physical returns the physical type (only when render is set) or the reason dt is not storable.
func physical(dt *modelv1.DataType, o Options, render bool) (typ, reason string) {
	name := dt.GetName()
	switch name {
	case "Boolean":
		return "boolean", ""
	case "TinyInt", "SmallInt":
		return "smallint", ""
	case "Integer":
		return "integer", ""
	case "BigInt":
		return "bigint", ""
	case "Decimal":
		if !render {
			return "", ""
		}
		return "numeric(" + itoa(int64(dt.GetPrecision())) + "," + itoa(int64(dt.GetScale())) + ")", ""
	case "CustomFloat":
		if dt.GetPrecision() > ieee64Precision || dt.GetMaxExponent() > ieee64MaxExp || dt.GetMinExponent() < ieee64MinExp {
			return "", "it is wider than IEEE64"
		}
		return "double precision", ""
	case "Date":
		return "date", ""
	case "Interval":
		return "interval", ""
	case "Timestamp":
		return "timestamp without time zone", ""
	case "Char", "NChar":
		if !render {
			return "", ""
		}
		n := int64(1)
		if dt.MaxSize != nil {
			n = dt.GetMaxSize()
		}
		return "character(" + itoa(n) + ")", ""
	case "VarChar", "NVarChar":
		if !render {
			return "", ""
		}
		if dt.MaxSize == nil {
			return "character varying", ""
		}
		return "character varying(" + itoa(dt.GetMaxSize()) + ")", ""
	case "Variant", "Map", "Struct":
		return "jsonb", ""
	case "Binary":
		return "bytea", ""
	case "Array":
		el := dt.GetElementType()
		switch el.GetName() {
		case "Array", "Map", "Struct":
			return "", "array elements must be scalar, not " + el.GetName()
		case "":
			return "", "the array has no element type"
		}
		t, reason := physical(el, o, render)
		if reason != "" {
			return "", "its element type " + Format(el) + " cannot be stored: " + reason
		}
		if !render {
			return "", ""
		}
		return t + "[]", ""
	case "Geography":
		if !o.PostGIS {
			return "", "the platform does not enable postgis"
		}
		if !render {
			return "", ""
		}
		return "geography(" + geometryName(dt.GetGeometryType()) + "," + itoa(int64(dt.GetSrid())) + ")", ""
	}
	switch {
	case realFloats[name]:
		return "real", ""
	case doubleFloats[name]:
		return "double precision", ""
	case wideFloats[name]:
		return "", "it is wider than IEEE64"
	case mxTypes[name]:
		return "", "microscaling floats have no PostgreSQL type"
	}
	return "", "it is not a known type"
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// geometryName is PostGIS's spelling of a geometry type in a typmod.
func geometryName(g modelv1.GeometryType) string {
	switch g {
	case modelv1.GeometryType_GEOMETRY_TYPE_POINT:
		return "Point"
	case modelv1.GeometryType_GEOMETRY_TYPE_LINESTRING:
		return "LineString"
	case modelv1.GeometryType_GEOMETRY_TYPE_POLYGON:
		return "Polygon"
	case modelv1.GeometryType_GEOMETRY_TYPE_MULTIPOINT:
		return "MultiPoint"
	case modelv1.GeometryType_GEOMETRY_TYPE_MULTILINESTRING:
		return "MultiLineString"
	case modelv1.GeometryType_GEOMETRY_TYPE_MULTIPOLYGON:
		return "MultiPolygon"
	case modelv1.GeometryType_GEOMETRY_TYPE_GEOMETRYCOLLECTION:
		return "GeometryCollection"
	}
	return "Geometry"
}

// Format renders a model type for messages in the shorthand of model.md §4.7 where it has one
// (`VarChar(100)`, `Decimal(12,2)`, `IEEE64`), and as Name(parameters) otherwise
// (`Array(Array(Integer))`, `Map(VarChar, Integer)`).
func Format(dt *modelv1.DataType) string {
	if dt == nil {
		return "(none)"
	}
	name := dt.GetName()
	switch name {
	case "Decimal":
		return fmt.Sprintf("Decimal(%d,%d)", dt.GetPrecision(), dt.GetScale())
	case "Char", "NChar", "VarChar", "NVarChar", "Variant", "Binary":
		if dt.MaxSize != nil {
			return fmt.Sprintf("%s(%d)", name, dt.GetMaxSize())
		}
	case "Array":
		if dt.MaxSize != nil {
			return fmt.Sprintf("Array(%s, %d)", Format(dt.GetElementType()), dt.GetMaxSize())
		}
		return "Array(" + Format(dt.GetElementType()) + ")"
	case "Map":
		return "Map(" + Format(dt.GetKeyType()) + ", " + Format(dt.GetValueType()) + ")"
	case "CustomFloat":
		return fmt.Sprintf("CustomFloat(sizeInBits %d, precision %d, exponents %d..%d)",
			dt.GetSizeInBits(), dt.GetPrecision(), dt.GetMinExponent(), dt.GetMaxExponent())
	case "":
		return "(none)"
	}
	return name
}

// synonyms maps a spelling of a base type (upper case, single spaces) to the one Equivalent
// compares (yellow.md §3).
var synonyms = map[string]string{
	"INT": "INTEGER", "INT4": "INTEGER", "INTEGER": "INTEGER",
	"INT2": "SMALLINT", "SMALLINT": "SMALLINT",
	"INT8": "BIGINT", "BIGINT": "BIGINT",
	"BOOL": "BOOLEAN", "BOOLEAN": "BOOLEAN",
	"NUMERIC": "NUMERIC", "DECIMAL": "NUMERIC",
	"FLOAT4": "REAL", "REAL": "REAL",
	"FLOAT8": "DOUBLE PRECISION", "DOUBLE PRECISION": "DOUBLE PRECISION",
	"VARCHAR": "CHARACTER VARYING", "CHARACTER VARYING": "CHARACTER VARYING",
	"CHAR": "CHARACTER", "CHARACTER": "CHARACTER", "BPCHAR": "CHARACTER",
	"TIMESTAMP": "TIMESTAMP", "TIMESTAMP WITHOUT TIME ZONE": "TIMESTAMP",
	"TIMESTAMPTZ": "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ",
}

// Equivalent reports whether two physical type spellings name the same type (yellow.md §3):
// white space trimmed and collapsed, case ignored, synonyms mapped (INT/INT4/INTEGER,
// INT2/SMALLINT, INT8/BIGINT, BOOL/BOOLEAN, NUMERIC/DECIMAL, FLOAT4/REAL,
// FLOAT8/DOUBLE PRECISION/FLOAT(25..53), VARCHAR/CHARACTER VARYING, CHAR/CHARACTER/BPCHAR,
// TIMESTAMP/TIMESTAMP WITHOUT TIME ZONE, TIMESTAMPTZ/TIMESTAMP WITH TIME ZONE); parameters must
// be equal, with NUMERIC(p) = NUMERIC(p,0). Array suffixes (`[]`) must match in number.
func Equivalent(a, b string) bool { return Normalize(a) == Normalize(b) }

// Normalize returns the canonical spelling Equivalent compares: e.g. `character varying(10)`
// → `CHARACTER VARYING(10)`, `decimal(10)` → `NUMERIC(10,0)`, `float(30)` → `DOUBLE PRECISION`,
// `int4[]` → `INTEGER[]`.
func Normalize(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	// Array suffixes: `[]` or `[n]`, any number, at the end.
	dims := 0
	for {
		t := strings.TrimRight(s, " ")
		if !strings.HasSuffix(t, "]") {
			break
		}
		open := strings.LastIndexByte(t, '[')
		if open < 0 {
			break
		}
		s = t[:open]
		dims++
	}
	// Parameters: the text inside the first (...), wherever it sits (`timestamp(3) with time
	// zone`); white space inside is dropped.
	params := ""
	if open := strings.IndexByte(s, '('); open >= 0 {
		if end := strings.IndexByte(s[open:], ')'); end >= 0 {
			params = strings.Join(strings.Fields(s[open+1:open+end]), "")
			s = s[:open] + " " + s[open+end+1:]
		}
	}
	base := strings.Join(strings.Fields(s), " ")
	if m, ok := synonyms[base]; ok {
		base = m
	}
	switch base {
	case "FLOAT":
		if p, err := strconv.Atoi(params); err == nil && p >= 25 && p <= 53 {
			base, params = "DOUBLE PRECISION", ""
		}
	case "NUMERIC":
		if params != "" && !strings.Contains(params, ",") {
			params += ",0"
		}
	}
	out := base
	if params != "" {
		out += "(" + params + ")"
	}
	return out + strings.Repeat("[]", dims)
}
