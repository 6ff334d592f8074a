package load

import (
	"errors"
	"slices"

	"github.com/datasurface/datasurface/model/dtype"
	"github.com/datasurface/datasurface/model/load/internal/yamltree"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// Decoding of DataType (the message marked custom): a shorthand string parsed by dtype.Parse, or
// a mapping {type: Name, …params} whose keys are the parameters of that type (spec/model.md
// §4.7). Values are loaded as written; their ranges are lint's business.

// dataType decodes a type node; the current key is the type's key. It returns nil after a
// problem.
func (d *decoder) dataType(n *yamltree.Node, field string) *modelv1.DataType {
	switch n.Kind {
	case yamltree.ScalarNode:
		if n.Tag == yamltree.TagNull && n.Style == 0 {
			d.typeError(n, field, "a type name or a mapping")
			return nil
		}
		if t, ok := d.types[n.Value]; ok {
			return t
		}
		t, err := dtype.Parse(n.Value)
		if err != nil {
			if errors.Is(err, dtype.ErrRange) {
				d.report(ruleFieldType, n, q(field)+" must be a type whose numbers fit their parameters, found "+q(n.Value))
			} else {
				d.typeSyntax(n, n.Value)
			}
			return nil
		}
		if len(d.types) < maxTypeCache {
			if d.types == nil {
				d.types = make(map[string]*modelv1.DataType)
			}
			d.types[n.Value] = t
		}
		return t
	case yamltree.MappingNode:
		return d.typeMapping(n, field)
	case yamltree.AliasNode:
		return nil
	}
	d.typeError(n, field, "a type name or a mapping")
	return nil
}

// The shorthand types of a model repeat a lot (VarChar(100), Integer, …): each worker parses
// each text once and hands the same message to every column that writes it. Loaded models are
// immutable (package documentation), so sharing a DataType between columns is as safe as
// sharing objects between a base and a head; it saves a copy per column (600,000 in the
// benchmark model) and the memory they take.
const maxTypeCache = 4096

func (d *decoder) typeSyntax(n *yamltree.Node, text string) {
	d.report(ruleTypeSyntax, n, q(text)+" is not a valid type; expected Name, Name(n) or Name(n,m)")
}

// Enum and string parameter decoders, built from the DataType descriptor.
type typeFields struct {
	nonFinite, nanEncoding, geometryType *fieldInfo
	str                                  *fieldInfo
}

var strField = &fieldInfo{kind: kString}

func (d *decoder) typeFieldInfo() typeFields {
	mi := d.schema.msgs["datasurface.model.v1.DataType"]
	return typeFields{
		nonFinite:    mi.byName["nonFinite"],
		nanEncoding:  mi.byName["nanEncoding"],
		geometryType: mi.byName["geometryType"],
		str:          strField,
	}
}

func (d *decoder) typeMapping(n *yamltree.Node, field string) *modelv1.DataType {
	typeNode := lookup(n, "type")
	if typeNode == nil {
		d.report(ruleFieldRequired, n, "'type' is required")
		return nil
	}
	mark := d.pushField("type")
	d.record(typeNode)
	d.popField(mark)
	if typeNode.Kind != yamltree.ScalarNode {
		d.typeError(typeNode, "type", "a type name")
		return nil
	}
	name := typeNode.Value
	params, ok := dtype.Params(name)
	if !ok || typeNode.Tag != yamltree.TagStr {
		d.typeSyntax(typeNode, name)
		return nil
	}
	canonical, _ := dtype.CanonicalName(name)
	t := &modelv1.DataType{Name: canonical}
	tf := d.typeFieldInfo()
	var seen uint64 // bit i: params[i]; bit 63: type
	var dims *int64
	failed := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := &n.Content[i], &n.Content[i+1]
		if k.Tag == yamltree.TagMerge && k.Style&yamltree.Tagged == 0 {
			continue
		}
		idx := -1
		bit := uint64(1) << 63
		if k.Value != "type" {
			idx = slices.Index(params, k.Value)
			if idx < 0 || k.Kind != yamltree.ScalarNode {
				d.unknownField(k, name+" type", append([]string{"type"}, params...))
				continue
			}
			bit = 1 << uint(idx)
		}
		if seen&bit != 0 {
			d.report(ruleDuplicateKey, k, "duplicate key "+q(k.Value))
			continue
		}
		seen |= bit
		if idx < 0 || v.Kind == yamltree.AliasNode {
			continue
		}
		mark := d.pushField(k.Value)
		d.record(v)
		if !d.typeParam(t, name, k.Value, v, tf, &dims) {
			failed = true
		}
		d.popField(mark)
	}
	for _, req := range requiredParams[canonical] {
		if name == dtype.NameVector {
			break
		}
		if i := slices.Index(params, req); i >= 0 && seen&(1<<uint(i)) == 0 {
			d.report(ruleFieldRequired, n, q(req)+" is required")
			failed = true
		}
	}
	if name == dtype.NameVector {
		if seen&1 == 0 {
			d.report(ruleFieldRequired, n, "'dimensions' is required")
			failed = true
		}
		t.ElementType = &modelv1.DataType{Name: dtype.NameIEEE32}
		t.MaxSize = dims
	}
	if failed {
		return nil
	}
	dtype.Canonicalize(t)
	return t
}

// requiredParams are the parameters a mapping must give (Vector's dimensions are checked apart).
var requiredParams = map[string][]string{
	dtype.NameDecimal: {"precision"},
	dtype.NameArray:   {"elementType"},
	dtype.NameMap:     {"keyType", "valueType"},
}

// typeParam decodes one parameter of a type mapping into t; the current key is the parameter's.
func (d *decoder) typeParam(t *modelv1.DataType, name, key string, v *yamltree.Node, tf typeFields, dims **int64) bool {
	i32 := func(dst *int32) bool {
		x, ok := d.integer(v, key, 32)
		*dst = int32(x)
		return ok
	}
	str := func(dst *string) bool {
		x, ok := d.scalar(v, tf.str, key)
		if ok {
			*dst = x.s
		}
		return ok
	}
	enum := func(f *fieldInfo) (int32, bool) {
		x, ok := d.scalar(v, f, key)
		return int32(x.i), ok
	}
	switch key {
	case "maxSize", "dimensions":
		x, ok := d.integer(v, key, 64)
		if ok {
			if key == "dimensions" {
				*dims = &x
			} else {
				t.MaxSize = &x
			}
		}
		return ok
	case "collation":
		return str(&t.Collation)
	case "timeZone":
		return str(&t.TimeZone)
	case "srsName":
		return str(&t.SrsName)
	case "scaleType":
		return str(&t.ScaleType)
	case "precision":
		return i32(&t.Precision)
	case "scale":
		return i32(&t.Scale)
	case "maxExponent":
		return i32(&t.MaxExponent)
	case "minExponent":
		return i32(&t.MinExponent)
	case "sizeInBits":
		return i32(&t.SizeInBits)
	case "batchSize":
		return i32(&t.BatchSize)
	case "srid":
		return i32(&t.Srid)
	case "nonFinite":
		x, ok := enum(tf.nonFinite)
		t.NonFinite = modelv1.FloatNonFinite(x)
		return ok
	case "nanEncoding":
		x, ok := enum(tf.nanEncoding)
		t.NanEncoding = modelv1.FloatNanEncoding(x)
		return ok
	case "geometryType":
		x, ok := enum(tf.geometryType)
		t.GeometryType = modelv1.GeometryType(x)
		return ok
	case "elementType":
		if name == dtype.NameMicroScalingFloat {
			return str(&t.MxElementType)
		}
		t.ElementType = d.dataType(v, key)
		return t.ElementType != nil
	case "keyType":
		t.KeyType = d.dataType(v, key)
		return t.KeyType != nil
	case "valueType":
		t.ValueType = d.dataType(v, key)
		return t.ValueType != nil
	case "fields":
		return d.structFields(t, v)
	}
	return false
}

var structFieldKeys = []string{"name", "nullable", "type"}

// structFields decodes the fields of a Struct type.
func (d *decoder) structFields(t *modelv1.DataType, n *yamltree.Node) bool {
	if n.Kind != yamltree.SequenceNode {
		d.typeError(n, "fields", "a list")
		return false
	}
	ok := true
	for i := range n.Content {
		e := &n.Content[i]
		if e.Kind == yamltree.AliasNode {
			continue
		}
		key := ""
		if nv := lookup(e, "name"); nv != nil && nv.Kind == yamltree.ScalarNode {
			key = nv.Value
		}
		mark := d.pushElem(key)
		d.record(e)
		if f := d.structField(e); f != nil {
			t.Fields = append(t.Fields, f)
		} else {
			ok = false
		}
		d.buf = d.buf[:mark]
	}
	return ok
}

func (d *decoder) structField(n *yamltree.Node) *modelv1.StructField {
	if n.Kind != yamltree.MappingNode {
		d.typeError(n, "fields", "a mapping")
		return nil
	}
	f := &modelv1.StructField{Nullable: true}
	var seen [3]bool
	ok := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := &n.Content[i], &n.Content[i+1]
		if k.Tag == yamltree.TagMerge && k.Style&yamltree.Tagged == 0 {
			continue
		}
		idx := slices.Index(structFieldKeys, k.Value)
		if idx < 0 || k.Kind != yamltree.ScalarNode {
			d.unknownField(k, "struct field", structFieldKeys)
			continue
		}
		if seen[idx] {
			d.report(ruleDuplicateKey, k, "duplicate key "+q(k.Value))
			continue
		}
		seen[idx] = true
		if v.Kind == yamltree.AliasNode {
			continue
		}
		mark := d.pushField(k.Value)
		d.record(v)
		switch k.Value {
		case "name":
			if x, good := d.scalar(v, strField, "name"); good {
				f.Name = x.s
			} else {
				ok = false
			}
		case "nullable":
			if v.Kind == yamltree.ScalarNode && v.Tag == yamltree.TagBool {
				f.Nullable = v.Value == "true" || v.Value == "True" || v.Value == "TRUE"
			} else {
				d.typeError(v, "nullable", "a boolean (true or false)")
				ok = false
			}
		case "type":
			f.Type = d.dataType(v, "type")
			ok = ok && f.Type != nil
		}
		d.popField(mark)
	}
	if !seen[0] {
		d.report(ruleFieldRequired, n, "'name' is required")
		ok = false
	}
	if !seen[2] {
		d.report(ruleFieldRequired, n, "'type' is required")
		ok = false
	}
	if !ok {
		return nil
	}
	return f
}
