package schema

import (
	"regexp"
	"strings"
)

// The data type names of spec/model.md §4.7. DataType is parsed by dedicated loader code (it is
// marked custom in the proto), so its YAML schema is written by hand here.
var (
	integerTypes = []string{"Boolean", "TinyInt", "SmallInt", "Integer", "BigInt"}
	// floatTypes are the named float formats and their aliases (Float → IEEE32, Double → IEEE64).
	floatTypes = []string{
		"IEEE16", "IEEE32", "IEEE64", "IEEE128", "IEEE256", "FP8_E4M3", "FP8_E5M2", "FP6_E2M3",
		"FP6_E3M2", "FP4_E2M1", "FP8_E5M2FNUZ", "FP8_E4M3FNUZ", "FP8_E8M0", "Float", "Double",
	}
	mxTypes     = []string{"MXFP8_E4M3", "MXFP8_E5M2", "MXFP6_E2M3", "MXFP6_E3M2", "MXFP4_E2M1"}
	stringTypes = []string{"Char", "VarChar", "NChar", "NVarChar", "String"}
	// shorthandTypes may be written as a string `Name`, `Name(n)` or `Name(n,m)`.
	shorthandTypes = concat(integerTypes, []string{"Decimal"}, floatTypes, mxTypes,
		[]string{"Date", "Timestamp", "Interval"}, stringTypes,
		[]string{"Variant", "Binary", "Vector", "Geography"})
)

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func enumOf(names []string) object {
	vals := make([]any, len(names))
	for i, n := range names {
		vals[i] = n
	}
	return object{"enum": vals}
}

// ShorthandPattern matches the shorthand string form of a data type.
var ShorthandPattern = `^(` + strings.Join(shorthandTypes, "|") + `)(\(\s*[0-9]+\s*(,\s*[0-9]+\s*)?\))?$`

var _ = regexp.MustCompile(ShorthandPattern)

// dataType defines DataType: a shorthand string or a mapping {type: Name, ...parameters}.
func (g *generator) dataType() (object, error) {
	nonFinite, err := g.enumByName("FloatNonFinite")
	if err != nil {
		return nil, err
	}
	nanEncoding, err := g.enumByName("FloatNanEncoding")
	if err != nil {
		return nil, err
	}
	geometry, err := g.enumByName("GeometryType")
	if err != nil {
		return nil, err
	}
	positive := object{"type": "integer", "minimum": 1}
	maxSize := object{"type": "integer", "minimum": 1, "description": "absent = unbounded (Char and NChar: 1)"}
	dt := ref("DataType")
	variant := func(types []string, props object, required ...string) object {
		p := object{"type": enumOf(types)}
		if len(types) == 1 {
			p["type"] = object{"const": types[0]}
		}
		for k, v := range props {
			p[k] = v
		}
		req := []any{"type"}
		for _, r := range required {
			req = append(req, r)
		}
		return object{"type": "object", "additionalProperties": false, "properties": p, "required": req}
	}
	var allTypes []string
	allTypes = append(allTypes, shorthandTypes...)
	allTypes = append(allTypes, "CustomFloat", "MicroScalingFloat", "Array", "Map", "Struct")
	return object{
		"description": "A column type (spec/model.md §4.7): a shorthand string such as `VarChar(100)` or `\"Decimal(12,2)\"`, or a mapping {type: Name, ...parameters}.",
		"anyOf": []any{
			object{"type": "string", "pattern": ShorthandPattern},
			object{
				"type":       "object",
				"required":   []any{"type"},
				"properties": object{"type": enumOf(allTypes)},
				"oneOf": []any{
					variant(concat(integerTypes, floatTypes, mxTypes, []string{"Date", "Interval"}), nil),
					variant([]string{"Decimal"}, object{
						"precision": object{"type": "integer", "minimum": 1, "maximum": 1000, "description": "total digits"},
						"scale":     object{"type": "integer", "minimum": 0, "default": 0, "description": "digits after the point, at most precision"},
					}, "precision"),
					variant([]string{"CustomFloat"}, object{
						"maxExponent": object{"type": "integer", "minimum": 1},
						"minExponent": object{"type": "integer", "maximum": 0},
						"precision":   object{"type": "integer", "minimum": 1, "description": "significand bits including the implicit leading bit"},
						"sizeInBits":  positive,
						"nonFinite":   withDefault(nonFinite, "IEEE754"),
						"nanEncoding": withDefault(nanEncoding, "IEEE"),
					}, "maxExponent", "minExponent", "precision", "sizeInBits"),
					variant([]string{"MicroScalingFloat"}, object{
						"batchSize":   positive,
						"scaleType":   enumOf(floatTypes),
						"elementType": enumOf(floatTypes),
					}, "batchSize", "scaleType", "elementType"),
					variant([]string{"Timestamp"}, object{
						"timeZone": object{"type": "string", "default": "UTC", "description": "IANA name or GMT±HH[:MM]"},
					}),
					variant(stringTypes, object{"maxSize": maxSize, "collation": object{"type": "string"}}),
					variant([]string{"Variant", "Binary"}, object{"maxSize": maxSize}),
					variant([]string{"Array"}, object{"elementType": dt, "maxSize": maxSize}, "elementType"),
					variant([]string{"Vector"}, object{"dimensions": positive}, "dimensions"),
					variant([]string{"Map"}, object{"keyType": dt, "valueType": dt}, "keyType", "valueType"),
					variant([]string{"Struct"}, object{
						"fields": object{"type": "array", "items": object{
							"type":                 "object",
							"additionalProperties": false,
							"required":             []any{"name", "type"},
							"properties": object{
								"name":     object{"type": "string"},
								"type":     dt,
								"nullable": object{"type": "boolean", "default": true},
							},
						}},
					}, "fields"),
					variant([]string{"Geography"}, object{
						"srid":         object{"type": "integer", "minimum": 0, "default": 4326},
						"srsName":      object{"type": "string", "default": "WGS84"},
						"geometryType": geometry,
						"maxSize":      maxSize,
					}),
				},
			},
		},
	}, nil
}

func withDefault(s object, def any) object {
	s = clone(s)
	s["default"] = def
	return s
}
