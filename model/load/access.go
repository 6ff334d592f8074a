package load

import (
	"reflect"
	"strconv"
	"strings"
	"unsafe"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Field access without protoreflect. protoreflect's Set and Append box every value and go through
// reflect, which costs more than the rest of decoding on large models. The generated messages
// are plain Go structs whose fields carry their proto field numbers in `protobuf:"…"` tags, so the
// schema cache resolves, once per field, the Go struct offset and checks the Go type against the
// descriptor; the decoder then writes through typed pointers (as protobuf-go's own fast path
// does). Fields whose Go type does not match what is expected, and members of real one-ofs
// (stored behind wrapper types), go through protoreflect instead.

type accKind uint8

const (
	accReflect accKind = iota // through protoreflect
	accString
	accInt32 // int32 and enums
	accInt64
	accBool
	accOptString
	accOptInt32
	accOptInt64
	accOptBool
	accMessage
	accListString
	accListInt32 // repeated enums
	accListMessage
	accMapString
)

type access struct {
	kind accKind
	off  uintptr
}

// msg is a message being decoded: a pointer to its Go struct and its schema.
type msg struct {
	p  unsafe.Pointer
	mi *msgInfo
}

// newMsg allocates a message of type mi.
func newMsg(mi *msgInfo) msg {
	return msg{p: reflect.New(mi.goType).UnsafePointer(), mi: mi}
}

// msgOf wraps an existing message.
func msgOf(m proto.Message, mi *msgInfo) msg {
	return msg{p: reflect.ValueOf(m).UnsafePointer(), mi: mi}
}

// proto returns the message as a proto.Message.
func (m msg) proto() proto.Message {
	return reflect.NewAt(m.mi.goType, m.p).Interface().(proto.Message)
}

// reflect returns the message's protoreflect view (for accReflect fields).
func (m msg) reflect() protoreflect.Message { return m.proto().ProtoReflect() }

func (m msg) at(f *fieldInfo) unsafe.Pointer { return unsafe.Add(m.p, f.acc.off) }

// resolveAccess fills the access of every field of mi from its Go struct type.
func resolveAccess(mi *msgInfo) {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(mi.desc.FullName())
	if err != nil {
		return
	}
	t := reflect.TypeOf(mt.Zero().Interface())
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return
	}
	mi.goType = t.Elem()
	byNumber := make(map[protoreflect.FieldNumber]reflect.StructField, mi.goType.NumField())
	for i := 0; i < mi.goType.NumField(); i++ {
		sf := mi.goType.Field(i)
		tag := sf.Tag.Get("protobuf")
		if tag == "" {
			continue
		}
		parts := strings.Split(tag, ",")
		if len(parts) < 2 {
			continue
		}
		if n, err := strconv.Atoi(parts[1]); err == nil {
			byNumber[protoreflect.FieldNumber(n)] = sf
		}
	}
	for _, f := range mi.fields {
		sf, ok := byNumber[f.fd.Number()]
		if !ok || (f.fd.ContainingOneof() != nil && !f.fd.ContainingOneof().IsSynthetic()) {
			continue
		}
		if k := accessKind(f.fd, sf.Type); k != accReflect {
			f.acc = access{kind: k, off: sf.Offset}
		}
	}
}

// accessKind checks Go type t against field fd and returns how to write it.
func accessKind(fd protoreflect.FieldDescriptor, t reflect.Type) accKind {
	is := func(t reflect.Type, k reflect.Kind) bool { return t.Kind() == k }
	isMsgPtr := func(t reflect.Type) bool { return t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct }
	switch {
	case fd.IsMap():
		if t.Kind() == reflect.Map && is(t.Key(), reflect.String) && is(t.Elem(), reflect.String) &&
			fd.MapKey().Kind() == protoreflect.StringKind && fd.MapValue().Kind() == protoreflect.StringKind {
			return accMapString
		}
	case fd.IsList():
		if t.Kind() != reflect.Slice {
			return accReflect
		}
		switch fd.Kind() {
		case protoreflect.StringKind:
			if is(t.Elem(), reflect.String) {
				return accListString
			}
		case protoreflect.EnumKind:
			if is(t.Elem(), reflect.Int32) {
				return accListInt32
			}
		case protoreflect.MessageKind:
			if isMsgPtr(t.Elem()) {
				return accListMessage
			}
		}
	case fd.Kind() == protoreflect.MessageKind:
		if isMsgPtr(t) {
			return accMessage
		}
	case fd.HasPresence():
		if t.Kind() != reflect.Pointer {
			return accReflect
		}
		switch e := t.Elem(); {
		case fd.Kind() == protoreflect.StringKind && is(e, reflect.String):
			return accOptString
		case (fd.Kind() == protoreflect.Int32Kind || fd.Kind() == protoreflect.EnumKind) && is(e, reflect.Int32):
			return accOptInt32
		case fd.Kind() == protoreflect.Int64Kind && is(e, reflect.Int64):
			return accOptInt64
		case fd.Kind() == protoreflect.BoolKind && is(e, reflect.Bool):
			return accOptBool
		}
	default:
		switch {
		case fd.Kind() == protoreflect.StringKind && is(t, reflect.String):
			return accString
		case (fd.Kind() == protoreflect.Int32Kind || fd.Kind() == protoreflect.EnumKind) && is(t, reflect.Int32):
			return accInt32
		case fd.Kind() == protoreflect.Int64Kind && is(t, reflect.Int64):
			return accInt64
		case fd.Kind() == protoreflect.BoolKind && is(t, reflect.Bool):
			return accBool
		}
	}
	return accReflect
}

// value is a decoded scalar: s for strings, i for integers, enums (number) and bools (0/1).
type value struct {
	s string
	i int64
}

// setScalar stores a decoded scalar in the singular or repeated scalar field f of m.
func (m msg) setScalar(f *fieldInfo, v value) {
	p := m.at(f)
	switch f.acc.kind {
	case accString:
		*(*string)(p) = v.s
	case accInt32:
		*(*int32)(p) = int32(v.i)
	case accInt64:
		*(*int64)(p) = v.i
	case accBool:
		*(*bool)(p) = v.i != 0
	case accOptString:
		x := v.s
		*(**string)(p) = &x
	case accOptInt32:
		x := int32(v.i)
		*(**int32)(p) = &x
	case accOptInt64:
		x := v.i
		*(**int64)(p) = &x
	case accOptBool:
		x := v.i != 0
		*(**bool)(p) = &x
	case accListString:
		*(*[]string)(p) = append(*(*[]string)(p), v.s)
	case accListInt32:
		*(*[]int32)(p) = append(*(*[]int32)(p), int32(v.i))
	default:
		m.setReflect(f, v)
	}
}

// setReflect stores a scalar through protoreflect.
func (m msg) setReflect(f *fieldInfo, v value) {
	var pv protoreflect.Value
	switch f.kind {
	case kString:
		pv = protoreflect.ValueOfString(v.s)
	case kInt32:
		pv = protoreflect.ValueOfInt32(int32(v.i))
	case kInt64:
		pv = protoreflect.ValueOfInt64(v.i)
	case kBool:
		pv = protoreflect.ValueOfBool(v.i != 0)
	case kEnum:
		pv = protoreflect.ValueOfEnum(protoreflect.EnumNumber(v.i))
	default:
		return
	}
	r := m.reflect()
	if f.list {
		r.Mutable(f.fd).List().Append(pv)
		return
	}
	r.Set(f.fd, pv)
}

// child returns a new message set in the singular message field f of m (replacing any value).
func (m msg) child(f *fieldInfo) msg {
	if f.acc.kind == accMessage {
		c := newMsg(f.msg)
		*(*unsafe.Pointer)(m.at(f)) = c.p
		return c
	}
	r := m.reflect()
	r.Clear(f.fd)
	return msgOf(r.Mutable(f.fd).Message().Interface(), f.msg)
}

// appendChild appends a new message to the repeated message field f of m.
func (m msg) appendChild(f *fieldInfo) msg {
	c := newMsg(f.msg)
	if f.acc.kind == accListMessage {
		// []*T and []unsafe.Pointer have the same layout.
		s := (*[]unsafe.Pointer)(m.at(f))
		*s = append(*s, c.p)
		return c
	}
	m.reflect().Mutable(f.fd).List().Append(protoreflect.ValueOfMessage(c.proto().ProtoReflect()))
	return c
}

// setMessage stores an already built message in the singular message field f of m.
func (m msg) setMessage(f *fieldInfo, c proto.Message) {
	if f.acc.kind == accMessage {
		*(*unsafe.Pointer)(m.at(f)) = reflect.ValueOf(c).UnsafePointer()
		return
	}
	m.reflect().Set(f.fd, protoreflect.ValueOfMessage(c.ProtoReflect()))
}

// mapString returns a setter for the string → string map field f of m.
func (m msg) mapString(f *fieldInfo, size int) func(k, v string) {
	if f.acc.kind == accMapString {
		p := (*map[string]string)(m.at(f))
		if *p == nil {
			*p = make(map[string]string, size)
		}
		mp := *p
		return func(k, v string) { mp[k] = v }
	}
	mp := m.reflect().Mutable(f.fd).Map()
	return func(k, v string) {
		mp.Set(protoreflect.ValueOfString(k).MapKey(), protoreflect.ValueOfString(v))
	}
}

// getString reads the singular string field f of m.
func (m msg) getString(f *fieldInfo) string {
	if f.acc.kind == accString {
		return *(*string)(m.at(f))
	}
	return m.reflect().Get(f.fd).String()
}

// setInt32 stores an int32 in the singular field f of m.
func (m msg) setInt32(f *fieldInfo, v int32) { m.setScalar(f, value{i: int64(v)}) }

// block hands out the messages of one list, allocated together (one allocation instead of one per
// element; the model's lists live and die together).
type block struct {
	base unsafe.Pointer
	size uintptr
	mi   *msgInfo
	n, i int
}

// reserve prepares the repeated message field f of m for n more elements. The returned block
// is empty when f is not written directly.
func (m msg) reserve(f *fieldInfo, n int) block {
	if f.acc.kind != accListMessage || n < 2 {
		return block{}
	}
	s := (*[]unsafe.Pointer)(m.at(f))
	if cap(*s)-len(*s) < n {
		ns := make([]unsafe.Pointer, len(*s), len(*s)+n)
		copy(ns, *s)
		*s = ns
	}
	v := reflect.MakeSlice(reflect.SliceOf(f.msg.goType), n, n)
	return block{base: v.UnsafePointer(), size: f.msg.goType.Size(), mi: f.msg, n: n}
}

// appendFrom appends the next message of b (or a new one) to the repeated field f of m.
func (m msg) appendFrom(f *fieldInfo, b *block) msg {
	if b.i >= b.n {
		return m.appendChild(f)
	}
	c := msg{p: unsafe.Add(b.base, uintptr(b.i)*b.size), mi: b.mi}
	b.i++
	s := (*[]unsafe.Pointer)(m.at(f))
	*s = append(*s, c.p)
	return c
}
