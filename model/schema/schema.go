// Package schema generates the JSON Schema (draft 2020-12) of the YAML model format
// (spec/model.md §1, §5) from the canonical proto definitions and their YAML options
// (proto/datasurface/model/v1/options.proto), so editors can complete and check model files.
// The proto files are the one source of truth; the loader, not this schema, is authoritative.
package schema

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"unicode"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"gopkg.in/yaml.v3"
)

const (
	// Draft is the JSON Schema dialect of the generated schema.
	Draft = "https://json-schema.org/draft/2020-12/schema"
	// APIVersion is the only apiVersion a model document may have.
	APIVersion = "datasurface/v1"
)

// kinds are the document kinds in the order of spec/model.md §1; each names the message of
// package datasurface.model.v1 that holds its metadata and spec fields.
var kinds = []string{
	"Ecosystem", "PlatformServicesProvider", "PlatformAssignments", "GovernanceZone", "Team",
	"Datastore", "Workspace",
}

type object = map[string]any

// commentsJSON holds the leading comments of the proto definitions by full name, extracted by
// `make generate` (tools/cmd/protocomments), since generated descriptors carry no comments.
//
//go:embed comments.json
var commentsJSON []byte

// JSON returns the schema of one model document, indented by two spaces, keys sorted.
func JSON() ([]byte, error) {
	s, err := Schema()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("encode schema: %w", err)
	}
	return buf.Bytes(), nil
}

// Schema returns the schema as JSON values (maps, slices, strings, numbers, booleans).
func Schema() (map[string]any, error) {
	g := &generator{
		file:   modelv1.File_datasurface_model_v1_model_proto,
		defs:   object{},
		owners: map[string]protoreflect.FullName{},
		docs:   map[protoreflect.FullName]bool{},
	}
	if err := json.Unmarshal(commentsJSON, &g.comments); err != nil {
		return nil, fmt.Errorf("read comments.json: %w", err)
	}
	for _, kind := range kinds {
		md := g.file.Messages().ByName(protoreflect.Name(kind))
		if md == nil {
			return nil, fmt.Errorf("kind %s: no message %s in %s", kind, kind, g.file.Path())
		}
		g.docs[md.FullName()] = true
	}
	oneOf := make([]any, 0, len(kinds))
	for _, kind := range kinds {
		ref, err := g.document(g.file.Messages().ByName(protoreflect.Name(kind)))
		if err != nil {
			return nil, err
		}
		oneOf = append(oneOf, ref)
	}
	return object{
		"$schema":     Draft,
		"title":       "datasurface model document",
		"description": "One YAML document of a datasurface model (apiVersion " + APIVersion + "). Generated from the proto definitions by model/schema; the loader is authoritative.",
		"oneOf":       oneOf,
		"$defs":       g.defs,
	}, nil
}

type generator struct {
	file protoreflect.FileDescriptor
	defs object
	// owners are the messages and enums behind the definitions, by definition name.
	owners map[string]protoreflect.FullName
	// docs are the document messages: their metadata fields form the document's metadata.
	docs map[protoreflect.FullName]bool
	// comments are the proto comments by full name (descriptions).
	comments map[string]string
}

// describe adds the proto comment of d, if any, as the description of s.
func (g *generator) describe(s object, d protoreflect.Descriptor) object {
	c := g.comments[string(d.FullName())]
	if c == "" {
		return s
	}
	if fd, ok := d.(protoreflect.FieldDescriptor); ok {
		// Field comments start with the proto field name ("owning_repo: …"); YAML has the JSON name.
		name := string(fd.Name())
		switch {
		case strings.HasPrefix(c, name+": "):
			c = strings.TrimPrefix(c, name+": ")
		case strings.HasPrefix(c, name+" "):
			c = fd.JSONName() + strings.TrimPrefix(c, name)
		}
	}
	s = clone(s)
	s["description"] = c
	return s
}

func ref(name string) object { return object{"$ref": "#/$defs/" + name} }

func fieldOptions(fd protoreflect.FieldDescriptor) *modelv1.FieldYaml {
	o, _ := proto.GetExtension(fd.Options(), modelv1.E_Field).(*modelv1.FieldYaml)
	return o
}

func messageOptions(md protoreflect.MessageDescriptor) *modelv1.MessageYaml {
	o, _ := proto.GetExtension(md.Options(), modelv1.E_Message).(*modelv1.MessageYaml)
	return o
}

// define stores the definition of owner (a message or enum) under name once and returns a
// reference to it; a second owner with the same name is an error rather than a silent overwrite.
func (g *generator) define(name string, owner protoreflect.FullName, build func() (object, error)) (object, error) {
	if prev, ok := g.owners[name]; ok {
		if prev != owner {
			return nil, fmt.Errorf("definition %s: both %s and %s", name, prev, owner)
		}
		return ref(name), nil
	}
	g.owners[name] = owner // before build, so recursive messages (Location, DataType) terminate
	s, err := build()
	if err != nil {
		return nil, err
	}
	g.defs[name] = s
	return ref(name), nil
}

// document defines <Kind>Document (the envelope) and <Kind> (its spec).
func (g *generator) document(md protoreflect.MessageDescriptor) (object, error) {
	kind := string(md.Name())
	meta := object{}
	var metaRequired []any
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if !fieldOptions(fd).GetMetadata() {
			continue
		}
		s, err := g.field(fd)
		if err != nil {
			return nil, err
		}
		meta[fd.JSONName()] = g.describe(s, fd)
		if fieldOptions(fd).GetRequired() {
			metaRequired = append(metaRequired, fd.JSONName())
		}
	}
	metadata := object{"type": "object", "additionalProperties": false, "properties": meta}
	if len(metaRequired) > 0 {
		metadata["required"] = metaRequired
	}
	spec, err := g.message(md)
	if err != nil {
		return nil, err
	}
	return g.define(kind+"Document", md.FullName()+".document", func() (object, error) {
		return g.describe(object{
			"title":                kind + " document",
			"type":                 "object",
			"additionalProperties": false,
			"required":             []any{"apiVersion", "kind", "metadata", "spec"},
			"properties": object{
				"apiVersion": object{"const": APIVersion},
				"kind":       object{"const": kind},
				"metadata":   metadata,
				"spec":       spec,
			},
		}, md), nil
	})
}

// message returns a reference to the schema of a message as authored in YAML.
func (g *generator) message(md protoreflect.MessageDescriptor) (object, error) {
	if md.ParentFile().Package() != g.file.Package() {
		return nil, fmt.Errorf("message %s: only messages of %s can be authored", md.FullName(), g.file.Package())
	}
	return g.define(string(md.Name()), md.FullName(), func() (object, error) {
		s, err := g.messageSchema(md)
		if err != nil || messageOptions(md).GetCustom() {
			return s, err // DataType has a hand-written description
		}
		return g.describe(s, md), nil
	})
}

// messageSchema is the schema of a message before its description is added.
func (g *generator) messageSchema(md protoreflect.MessageDescriptor) (object, error) {
	opts := messageOptions(md)
	switch {
	case opts.GetCustom():
		if md.FullName() != (&modelv1.DataType{}).ProtoReflect().Descriptor().FullName() {
			return nil, fmt.Errorf("message %s: custom YAML without a hand-written schema", md.FullName())
		}
		return g.dataType()
	case opts.GetInlineField() != "":
		fd := md.Fields().ByName(protoreflect.Name(opts.GetInlineField()))
		if fd == nil {
			return nil, fmt.Errorf("message %s: inline_field %q is not a field", md.FullName(), opts.GetInlineField())
		}
		return g.field(fd)
	case opts.GetScalarField() != "":
		fd := md.Fields().ByName(protoreflect.Name(opts.GetScalarField()))
		if fd == nil || fd.IsList() || fd.IsMap() || fd.Kind() == protoreflect.MessageKind {
			return nil, fmt.Errorf("message %s: scalar_field %q is not a scalar field", md.FullName(), opts.GetScalarField())
		}
		scalar, err := g.value(fd)
		if err != nil {
			return nil, err
		}
		obj, err := g.object(md)
		if err != nil {
			return nil, err
		}
		return object{"anyOf": []any{scalar, obj}}, nil
	default:
		return g.object(md)
	}
}

// object is the mapping form of a message: properties by JSON name, no unknown keys, required
// keys from (field).required, and exactly one key of each oneof.
func (g *generator) object(md protoreflect.MessageDescriptor) (object, error) {
	props := object{}
	var required []any
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		opts := fieldOptions(fd)
		if opts.GetCanonicalOnly() {
			continue
		}
		if opts.GetMetadata() {
			if !g.docs[md.FullName()] {
				return nil, fmt.Errorf("field %s: metadata field outside a document message", fd.FullName())
			}
			continue
		}
		s, err := g.field(fd)
		if err != nil {
			return nil, err
		}
		props[fd.JSONName()] = g.describe(s, fd)
		if opts.GetRequired() {
			required = append(required, fd.JSONName())
		}
	}
	s := object{"type": "object", "additionalProperties": false}
	if len(props) > 0 {
		s["properties"] = props
	}
	if len(required) > 0 {
		s["required"] = required
	}
	var oneofs []any
	for i := range md.Oneofs().Len() {
		od := md.Oneofs().Get(i)
		if od.IsSynthetic() {
			continue // a proto3 optional field
		}
		var variants []any
		for j := range od.Fields().Len() {
			variants = append(variants, object{"required": []any{od.Fields().Get(j).JSONName()}})
		}
		oneofs = append(oneofs, object{"oneOf": variants})
	}
	switch len(oneofs) {
	case 0:
	case 1:
		s["oneOf"] = oneofs[0].(object)["oneOf"]
	default:
		s["allOf"] = oneofs
	}
	return s, nil
}

// field is the schema of one field: its value, a sequence of values, or a mapping of values,
// with its default.
func (g *generator) field(fd protoreflect.FieldDescriptor) (object, error) {
	var s object
	switch {
	case fd.IsMap():
		if fd.MapKey().Kind() != protoreflect.StringKind {
			return nil, fmt.Errorf("field %s: only string map keys can be authored", fd.FullName())
		}
		v, err := g.value(fd.MapValue())
		if err != nil {
			return nil, err
		}
		s = object{"type": "object", "additionalProperties": v}
	case fd.IsList():
		v, err := g.value(fd)
		if err != nil {
			return nil, err
		}
		s = object{"type": "array", "items": v}
		if n := fieldOptions(fd).GetMinItems(); n > 0 {
			s["minItems"] = n
		}
	default:
		v, err := g.value(fd)
		if err != nil {
			return nil, err
		}
		s = v
	}
	if def := fieldOptions(fd).GetDefault(); def != "" {
		var v any
		if err := yaml.Unmarshal([]byte(def), &v); err != nil {
			return nil, fmt.Errorf("field %s: default %q: %w", fd.FullName(), def, err)
		}
		s = clone(s)
		s["default"] = v
	}
	return s, nil
}

func clone(s object) object { return maps.Clone(s) }

// value is the schema of a single value of the field's type.
func (g *generator) value(fd protoreflect.FieldDescriptor) (object, error) {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return object{"type": "boolean"}, nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return object{"type": "integer"}, nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return object{"type": "integer", "minimum": 0}, nil
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return object{"type": "number"}, nil
	case protoreflect.StringKind, protoreflect.BytesKind:
		return object{"type": "string"}, nil
	case protoreflect.EnumKind:
		return g.enum(fd.Enum())
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if g.docs[fd.Message().FullName()] {
			return nil, fmt.Errorf("field %s: a document message cannot be nested", fd.FullName())
		}
		return g.message(fd.Message())
	}
	return nil, fmt.Errorf("field %s: unsupported kind %s", fd.FullName(), fd.Kind())
}

// enum is a string whose values are the enum value names without the UPPER_SNAKE prefix of the
// enum name and without the zero UNSPECIFIED value (CLOUD_VENDOR_AWS → "AWS").
func (g *generator) enum(ed protoreflect.EnumDescriptor) (object, error) {
	return g.define(string(ed.Name()), ed.FullName(), func() (object, error) {
		prefix := UpperSnake(string(ed.Name())) + "_"
		var names []any
		values := ed.Values()
		for i := range values.Len() {
			v := values.Get(i)
			name := string(v.Name())
			if !strings.HasPrefix(name, prefix) {
				return nil, fmt.Errorf("enum value %s: want prefix %s", v.FullName(), prefix)
			}
			if v.Number() == 0 || name == prefix+"UNSPECIFIED" {
				continue
			}
			names = append(names, strings.TrimPrefix(name, prefix))
		}
		return g.describe(object{"type": "string", "enum": names}, ed), nil
	})
}

// UpperSnake converts a CamelCase proto name to UPPER_SNAKE_CASE as buf lint expects enum value
// prefixes: "CloudVendor" → "CLOUD_VENDOR", "HTTPServer" → "HTTP_SERVER".
func UpperSnake(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if i > 0 && unicode.IsUpper(c) {
			prevLower := unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1])
			nextLower := i+1 < len(r) && unicode.IsLower(r[i+1])
			if prevLower || (unicode.IsUpper(r[i-1]) && nextLower) {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToUpper(c))
	}
	return b.String()
}

// enumByName returns a reference to the schema of an enum of the model file.
func (g *generator) enumByName(name string) (object, error) {
	ed := g.file.Enums().ByName(protoreflect.Name(name))
	if ed == nil {
		return nil, fmt.Errorf("no enum %s in %s", name, g.file.Path())
	}
	return g.enum(ed)
}
