package changes

import (
	"slices"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

var documentationName = (&modelv1.Documentation{}).ProtoReflect().Descriptor().FullName()

// without returns a shallow copy of m holding every populated field except the named ones
// (proto field names). Sub-messages are shared, never modified.
func without(m proto.Message, exclude ...protoreflect.Name) proto.Message {
	src := m.ProtoReflect()
	dst := src.Type().New()
	src.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if !slices.Contains(exclude, fd.Name()) {
			dst.Set(fd, v)
		}
		return true
	})
	return dst.Interface()
}

// equalExcept reports whether a and b are equal in every field but the named ones.
func equalExcept(a, b proto.Message, exclude ...protoreflect.Name) bool {
	return proto.Equal(without(a, exclude...), without(b, exclude...))
}

// hasContent reports whether m has any populated field other than the named ones.
func hasContent(m proto.Message, exclude ...protoreflect.Name) bool {
	found := false
	m.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		if !slices.Contains(exclude, fd.Name()) {
			found = true
		}
		return !found
	})
	return found
}

// stripDocs returns a deep copy of m with every Documentation (at any depth, deprecation
// reasons included) removed.
func stripDocs(m proto.Message) proto.Message {
	c := proto.Clone(m)
	clearDocs(c.ProtoReflect())
	return c
}

func clearDocs(m protoreflect.Message) {
	var docs []protoreflect.FieldDescriptor
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		md := fd.Message()
		switch {
		case md == nil:
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, e protoreflect.Value) bool {
					clearDocs(e.Message())
					return true
				})
			}
		case md.FullName() == documentationName:
			docs = append(docs, fd)
		case fd.IsList():
			l := v.List()
			for i := range l.Len() {
				clearDocs(l.Get(i).Message())
			}
		default:
			clearDocs(v.Message())
		}
		return true
	})
	for _, fd := range docs {
		m.Clear(fd)
	}
}

// ownDocumentation returns the value of m's field "documentation", or nil.
func ownDocumentation(m proto.Message) proto.Message {
	r := m.ProtoReflect()
	fd := r.Descriptor().Fields().ByName("documentation")
	if fd == nil || !r.Has(fd) {
		return (*modelv1.Documentation)(nil)
	}
	return r.Get(fd).Message().Interface()
}

// nameOf returns the value of m's string field "name".
func nameOf(m protoreflect.Message) string {
	fd := m.Descriptor().Fields().ByName("name")
	if fd == nil || fd.Kind() != protoreflect.StringKind {
		return ""
	}
	return m.Get(fd).String()
}
