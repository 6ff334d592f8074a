package load

import (
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/datasurface/datasurface/model/load/internal/yamltree"
	"github.com/datasurface/datasurface/model/problem"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// srcEntry is one source-map key with its position, collected per file and merged in discovery
// order. The key is keys[off:off+n] of its file's key text.
type srcEntry struct {
	off, n    uint32
	line, col int32
}

// decoder turns the YAML documents of one file into model messages, collecting problems and
// source-map entries. One decoder is used by one goroutine at a time.
type decoder struct {
	file    string
	side    problem.Side
	lenient bool
	schema  *schemaCache
	parser  yamltree.Parser
	owned   bool // file contents belong to the loader and are never modified

	problems []problem.Problem
	entries  []srcEntry // reused from file to file
	keys     []byte     // the text of the entries' keys, reused from file to file
	unknown  []string
	noKeys   bool     // collect only the roots, not the source-map entries (the lazy source map)
	plain    bool     // the file has no anchors, aliases, tags or merge keys (Parser.Plain)
	roots    []string // object keys of the current document's top-level objects

	// The current source-map key is buf[base:]; its first objLen bytes are the current object
	// path (the key has no '#' part yet when its length is objLen).
	buf     []byte
	base    int
	objLen  int
	objNode *yamltree.Node // the node the current object is recorded at
	noRec   bool           // do not record source-map entries (defaults); nor are keys without an object

	types map[string]*modelv1.DataType // parsed shorthand types, shared by the columns (datatype.go)

	kind     string   // kind of the current document
	yamlPath []string // YAML keys from the document root (lenient unknown-field names)
	failed   bool     // the current document has a load problem
}

// doc is one loaded document.
type doc struct {
	kind   string
	msg    proto.Message
	failed bool
	line   int32 // position of the document's root node
	col    int32
	roots  []string // object keys of its top-level objects (source-map roots)
}

// Document kinds.
const (
	kindEcosystem   = "Ecosystem"
	kindPSP         = "PlatformServicesProvider"
	kindAssignments = "PlatformAssignments"
	kindZone        = "GovernanceZone"
	kindTeam        = "Team"
	kindDatastore   = "Datastore"
	kindWorkspace   = "Workspace"
	apiVersion      = "datasurface/v1"
)

func newMessage(kind string) proto.Message {
	switch kind {
	case kindEcosystem:
		return &modelv1.Ecosystem{}
	case kindPSP:
		return &modelv1.PlatformServicesProvider{}
	case kindAssignments:
		return &modelv1.PlatformAssignments{}
	case kindZone:
		return &modelv1.GovernanceZone{}
	case kindTeam:
		return &modelv1.Team{}
	case kindDatastore:
		return &modelv1.Datastore{}
	case kindWorkspace:
		return &modelv1.Workspace{}
	}
	return nil
}

// --- problems -------------------------------------------------------------------------------

func (d *decoder) pos(n *yamltree.Node) problem.Position {
	if n == nil {
		return problem.Position{}
	}
	return problem.Position{Side: d.side, File: d.file, Line: int(n.Line), Column: int(n.Column)}
}

func (d *decoder) report(r problem.Rule, n *yamltree.Node, msg string) {
	d.failed = true
	d.problems = append(d.problems, problem.Problem{
		Rule: r, Severity: r.Severity, Phase: "lint", Message: msg, Path: d.objPath(), Pos: d.pos(n),
	})
}

// q quotes a value for a message: in single quotes, on one line (control characters escaped),
// and at most 120 characters long.
func q(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			clean = false
			break
		}
	}
	if !clean {
		var b strings.Builder
		for _, r := range s {
			switch {
			case r == '\n':
				b.WriteString(`\n`)
			case r == '\t':
				b.WriteString(`\t`)
			case r < 0x20 || r == 0x7f:
				b.WriteString(`\x`)
				b.WriteString(strconv.FormatInt(int64(r)|0x100, 16)[1:])
			default:
				b.WriteRune(r)
			}
		}
		s = b.String()
	}
	if r := []rune(s); len(r) > 120 {
		s = string(r[:117]) + "..."
	}
	return "'" + s + "'"
}

// describe names what a node is, for DS-LOAD-007 messages.
func describe(n *yamltree.Node) string {
	switch n.Kind {
	case yamltree.MappingNode:
		return "a mapping"
	case yamltree.SequenceNode:
		return "a list"
	case yamltree.AliasNode:
		return "an alias"
	}
	switch n.Tag {
	case yamltree.TagStr:
		return "a string"
	case yamltree.TagInt:
		return "an integer"
	case yamltree.TagFloat:
		return "a number with a fraction"
	case yamltree.TagBool:
		return "a boolean"
	case yamltree.TagNull:
		return "null"
	case yamltree.TagTimestamp:
		return "a timestamp"
	case yamltree.TagMerge:
		return "a merge key"
	}
	return "a tagged value"
}

func (d *decoder) typeError(n *yamltree.Node, field, expected string) {
	d.report(ruleFieldType, n, q(field)+" must be "+expected+", found "+describe(n))
}

func (d *decoder) unknownField(key *yamltree.Node, where string, candidates []string) {
	if d.lenient {
		var b strings.Builder
		b.WriteString(d.kind)
		for _, p := range d.yamlPath {
			b.WriteByte('.')
			b.WriteString(p)
		}
		b.WriteByte('.')
		b.WriteString(key.Value)
		d.unknown = append(d.unknown, b.String())
		return
	}
	msg := "unknown field " + q(key.Value) + " in " + where
	if s := suggest(key.Value, candidates); s != "" {
		msg += "; did you mean " + q(s) + "?"
	}
	d.report(ruleFieldUnknown, key, msg)
}

// --- source map -----------------------------------------------------------------------------

// maxKeyLen bounds the source-map keys recorded: deeper nodes (a location tree or nested types
// a hundred levels deep) fall back to their nearest recorded ancestor, so a pathological file
// cannot make the source map quadratic in its size.
const maxKeyLen = 1024

// record records the current key at n.
func (d *decoder) record(n *yamltree.Node) {
	if d.noKeys || d.noRec || d.objLen == 0 || len(d.buf)-d.base > maxKeyLen || len(d.keys) > 1<<31 {
		return
	}
	off := len(d.keys)
	d.keys = append(d.keys, d.buf[d.base:]...)
	d.entries = append(d.entries, srcEntry{off: uint32(off), n: uint32(len(d.keys) - off), line: n.Line, col: n.Column})
}

// pushField appends ".name" (or "#name" at the object root) to the current key.
func (d *decoder) pushField(name string) int {
	mark := len(d.buf)
	if mark-d.base == d.objLen {
		d.buf = append(d.buf, '#')
	} else {
		d.buf = append(d.buf, '.')
	}
	d.buf = append(d.buf, name...)
	d.yamlPath = append(d.yamlPath, name)
	return mark
}

func (d *decoder) popField(mark int) {
	d.buf = d.buf[:mark]
	d.yamlPath = d.yamlPath[:len(d.yamlPath)-1]
}

// pushElem appends "[key]" to the current key.
func (d *decoder) pushElem(key string) int {
	mark := len(d.buf)
	d.buf = append(d.buf, '[')
	d.buf = append(d.buf, key...)
	d.buf = append(d.buf, ']')
	return mark
}

// objState saves the current object while a nested object is decoded.
type objState struct {
	base, objLen int
	node         *yamltree.Node
}

// enterObject makes path the current object; its key is recorded at n.
func (d *decoder) enterObject(path string, n *yamltree.Node) objState {
	s := objState{base: d.base, objLen: d.objLen, node: d.objNode}
	d.base = len(d.buf)
	d.buf = append(d.buf, path...)
	d.objLen = len(path)
	d.objNode = n
	d.roots = append(d.roots, path)
	if n != nil {
		d.record(n)
	}
	return s
}

// enterChild makes segment[key] (or segment alone when single) under the current object the
// current object (root: a top-level object), recorded at n.
func (d *decoder) enterChild(root, single bool, segment, key string, n *yamltree.Node) objState {
	s := objState{base: d.base, objLen: d.objLen, node: d.objNode}
	start := len(d.buf)
	if !root {
		d.buf = append(d.buf, d.buf[d.base:d.base+d.objLen]...)
		d.buf = append(d.buf, '/')
	}
	d.buf = append(d.buf, segment...)
	if !single {
		d.buf = append(d.buf, '[')
		d.buf = append(d.buf, key...)
		d.buf = append(d.buf, ']')
	}
	d.base = start
	d.objLen = len(d.buf) - start
	d.objNode = n
	if root {
		d.roots = append(d.roots, string(d.buf[start:]))
	}
	d.record(n)
	return s
}

// objPath returns the current object path.
func (d *decoder) objPath() string {
	if d.objLen == 0 {
		return ""
	}
	return string(d.buf[d.base : d.base+d.objLen])
}

func (d *decoder) leaveObject(s objState) {
	d.buf = d.buf[:d.base]
	d.base, d.objLen, d.objNode = s.base, s.objLen, s.node
}

// --- documents ------------------------------------------------------------------------------

// document decodes one YAML document.
func (d *decoder) document(root *yamltree.Node) doc {
	d.failed = false
	d.kind = ""
	d.objNode = nil
	d.buf = d.buf[:0]
	d.base, d.objLen = 0, 0
	d.yamlPath = d.yamlPath[:0]
	d.roots = d.roots[:0]
	entries, keys := len(d.entries), len(d.keys)
	if !d.plain {
		d.checkFeatures(root)
	}
	out := d.envelope(root)
	out.failed = out.failed || d.failed
	if out.failed {
		// a document that fails to load is not in the model
		d.entries, d.keys = d.entries[:entries], d.keys[:keys]
	} else {
		out.roots = slices.Clone(d.roots)
	}
	return out
}

// checkFeatures reports anchors, aliases, merge keys and explicit tags anywhere in n.
func (d *decoder) checkFeatures(n *yamltree.Node) {
	switch {
	case n.Kind == yamltree.AliasNode:
		d.report(ruleYAMLFeature, n, "YAML aliases are not allowed in model files")
	case n.Style&yamltree.Anchored != 0:
		d.report(ruleYAMLFeature, n, "YAML anchors are not allowed in model files")
	}
	if n.Style&yamltree.Tagged != 0 {
		d.report(ruleYAMLFeature, n, "YAML tags are not allowed in model files")
	}
	for i := range n.Content {
		c := &n.Content[i]
		if n.Kind == yamltree.MappingNode && i%2 == 0 && c.Tag == yamltree.TagMerge && c.Style&yamltree.Tagged == 0 {
			d.report(ruleYAMLFeature, c, "YAML merge keys are not allowed in model files")
		}
		d.checkFeatures(c)
	}
}

func (d *decoder) envelope(root *yamltree.Node) doc {
	first := len(d.problems)
	if root.Kind != yamltree.MappingNode {
		d.typeError(root, "document", "a mapping")
		return doc{failed: true, line: root.Line, col: root.Column}
	}
	var apiNode, kindNode, metaNode, specNode *yamltree.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := &root.Content[i], &root.Content[i+1]
		var slot **yamltree.Node
		switch k.Value {
		case "apiVersion":
			slot = &apiNode
		case "kind":
			slot = &kindNode
		case "metadata":
			slot = &metaNode
		case "spec":
			slot = &specNode
		}
		if slot == nil || k.Kind != yamltree.ScalarNode || k.Tag != yamltree.TagStr {
			if k.Tag != yamltree.TagMerge {
				d.kind = documentKind(root)
				d.unknownField(k, strings.TrimSpace(d.kind+" document"), envelopeKeys)
			}
			continue
		}
		if *slot != nil {
			d.report(ruleDuplicateKey, k, "duplicate key "+q(k.Value))
			continue
		}
		*slot = v
	}
	out := doc{line: root.Line, col: root.Column}
	if apiNode == nil {
		d.report(ruleFieldRequired, root, "'apiVersion' is required")
	} else if apiNode.Kind != yamltree.ScalarNode || apiNode.Value != apiVersion || apiNode.Tag != yamltree.TagStr {
		v := apiNode.Value
		if apiNode.Kind != yamltree.ScalarNode {
			v = describe(apiNode)
		}
		d.report(ruleAPIVersion, apiNode, "apiVersion "+q(v)+" is not supported; use 'datasurface/v1'")
	}
	if kindNode == nil {
		d.report(ruleFieldRequired, root, "'kind' is required")
		return doc{failed: true}
	}
	kind := kindNode.Value
	if kindNode.Kind != yamltree.ScalarNode || kindNode.Tag != yamltree.TagStr || newMessage(kind) == nil {
		if kindNode.Kind != yamltree.ScalarNode {
			kind = describe(kindNode)
		}
		d.report(ruleKindUnknown, kindNode, "unknown kind "+q(kind))
		return doc{failed: true}
	}
	d.kind = kind
	out.kind = kind
	pm := newMessage(kind)
	out.msg = pm
	mi := d.schema.msgs[pm.ProtoReflect().Descriptor().FullName()]
	m := msgOf(pm, mi)
	if metaNode == nil {
		d.report(ruleFieldRequired, root, "'metadata' is required")
		out.failed = true
	} else {
		d.metadata(metaNode, mi, m)
		// Problems found before the object was known belong to it too.
		if path := d.objPath(); path != "" && !strings.Contains(path, "[]") {
			for i := first; i < len(d.problems); i++ {
				if d.problems[i].Path == "" {
					d.problems[i].Path = path
				}
			}
		}
	}
	if specNode == nil {
		d.report(ruleFieldRequired, root, "'spec' is required")
		out.failed = true
		return out
	}
	d.yamlPath = append(d.yamlPath[:0], "spec")
	d.message(specNode, m, "spec")
	return out
}

var envelopeKeys = []string{"apiVersion", "kind", "metadata", "spec"}

// documentKind returns the kind written in a document, if it is a known one, for messages about
// keys seen before the kind is decoded.
func documentKind(root *yamltree.Node) string {
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "kind" && newMessage(root.Content[i+1].Value) != nil {
			return root.Content[i+1].Value
		}
	}
	return ""
}

// metadata decodes the metadata mapping, then makes the document's object current.
func (d *decoder) metadata(n *yamltree.Node, mi *msgInfo, m msg) {
	d.yamlPath = append(d.yamlPath[:0], "metadata")
	if n.Kind != yamltree.MappingNode {
		d.typeError(n, "metadata", "a mapping")
		d.objectFor(mi, m, nil)
		return
	}
	var seen uint64
	var nameNode *yamltree.Node
	type kv struct {
		f *fieldInfo
		v *yamltree.Node
	}
	var vals [4]kv
	nv := 0
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := &n.Content[i], &n.Content[i+1]
		f := mi.meta[k.Value]
		if f == nil || k.Kind != yamltree.ScalarNode || k.Tag != yamltree.TagStr {
			if k.Tag != yamltree.TagMerge {
				names := make([]string, len(mi.metaList))
				for j, mf := range mi.metaList {
					names[j] = mf.name
				}
				d.unknownField(k, d.kind+" metadata", names)
			}
			continue
		}
		if seen&f.bit != 0 {
			d.report(ruleDuplicateKey, k, "duplicate key "+q(k.Value))
			continue
		}
		seen |= f.bit
		if nv < len(vals) {
			vals[nv] = kv{f, v}
			nv++
		}
		if f.name == "name" {
			nameNode = v
		}
		d.scalarField(v, f, m)
	}
	for _, f := range mi.metaList {
		if f.required && seen&f.bit == 0 {
			d.report(ruleFieldRequired, n, q(f.name)+" is required")
		}
	}
	d.objectFor(mi, m, nameNode)
	for _, e := range vals[:nv] {
		if e.f.name == "name" {
			continue // the object's own key is the name node
		}
		mark := d.pushField("metadata")
		d.buf = append(d.buf, '.')
		d.buf = append(d.buf, e.f.name...)
		d.record(e.v)
		d.popField(mark)
	}
}

// objectFor sets the current object to the document's object path, recorded at nameNode.
func (d *decoder) objectFor(mi *msgInfo, m msg, nameNode *yamltree.Node) {
	get := func(name string) string {
		if f := mi.meta[name]; f != nil {
			return m.getString(f)
		}
		return ""
	}
	var path string
	switch d.kind {
	case kindEcosystem:
		path = "ecosystem"
	case kindPSP:
		path = "psp[" + get("name") + "]"
	case kindZone:
		path = "zone[" + get("name") + "]"
	case kindTeam:
		path = "zone[" + get("zone") + "]/team[" + get("name") + "]"
	case kindDatastore:
		path = "datastore[" + get("name") + "]"
	case kindWorkspace:
		path = "workspace[" + get("name") + "]"
	default:
		return // PlatformAssignments: its entries are the objects
	}
	d.buf = d.buf[:0]
	d.base = 0
	d.enterObject(path, nameNode)
}

// --- messages -------------------------------------------------------------------------------

// message decodes mapping n into m. field names the YAML key holding n. It returns the presence
// bits of the fields set.
func (d *decoder) message(n *yamltree.Node, m msg, field string) uint64 {
	mi := m.mi
	if n.Kind == yamltree.AliasNode {
		return 0
	}
	if mi.inline != nil {
		d.value(n, mi.inline, m, field)
		return mi.inline.bit
	}
	if mi.scalar != nil && n.Kind == yamltree.ScalarNode {
		d.scalarField(n, mi.scalar, m)
		return mi.scalar.bit
	}
	if n.Kind != yamltree.MappingNode {
		if mi.scalar != nil {
			d.typeError(n, field, "a string or a mapping")
		} else {
			d.typeError(n, field, "a mapping")
		}
		return 0
	}
	var seen uint64
	var oneofSeen [2]*yamltree.Node // first member value seen per oneof (at most 2 oneofs)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := &n.Content[i], &n.Content[i+1]
		f := mi.byName[k.Value]
		if f == nil || k.Kind != yamltree.ScalarNode || k.Tag != yamltree.TagStr {
			if k.Tag != yamltree.TagMerge {
				d.unknownField(k, mi.name, mi.names)
			}
			continue
		}
		if seen&f.bit != 0 {
			d.report(ruleDuplicateKey, k, "duplicate key "+q(k.Value))
			continue
		}
		seen |= f.bit
		if f.oneof >= 0 && f.oneof < len(oneofSeen) {
			if oneofSeen[f.oneof] != nil {
				d.report(ruleOneOf, v, q(field)+" must have exactly one of "+mi.oneofs[f.oneof].names)
			} else {
				oneofSeen[f.oneof] = v
			}
		}
		mark := d.pushField(f.name)
		d.value(v, f, m, f.name)
		d.popField(mark)
	}
	for i := range mi.oneofs {
		if i < len(oneofSeen) && oneofSeen[i] == nil {
			d.report(ruleOneOf, n, q(field)+" must have exactly one of "+mi.oneofs[i].names)
		}
	}
	for _, f := range mi.required {
		if seen&f.bit == 0 {
			d.report(ruleFieldRequired, n, q(f.name)+" is required")
		}
	}
	for _, f := range mi.defaults {
		if seen&f.bit == 0 && f.def != nil {
			d.materialise(f, m)
		}
	}
	return seen
}

// materialise sets field f of m to its default.
func (d *decoder) materialise(f *fieldInfo, m msg) {
	noRec := d.noRec
	d.noRec = true
	mark := d.pushField(f.name)
	d.value(f.def, f, m, f.name)
	d.popField(mark)
	d.noRec = noRec
}

// value decodes node n into field f of m. The current key is the field's key.
func (d *decoder) value(n *yamltree.Node, f *fieldInfo, m msg, field string) {
	if n.Kind == yamltree.AliasNode {
		return // reported by checkFeatures
	}
	switch {
	case f.list:
		d.record(n)
		d.list(n, f, m, field)
	case f.isMap:
		d.record(n)
		d.mapField(n, f, m, field)
	case f.kind == kMessage:
		if f.obj != nil && f.obj.single {
			if n.Kind != yamltree.MappingNode {
				d.record(n)
				d.typeError(n, field, "a mapping")
				return
			}
			s := d.enterChild(false, true, f.obj.segment, "", n)
			d.messageField(n, f, m, field)
			d.leaveObject(s)
			return
		}
		d.record(n)
		d.messageField(n, f, m, field)
	default:
		if n != d.objNode { // an object's name is recorded as the object
			d.record(n)
		}
		d.scalarField(n, f, m)
	}
}

// messageField decodes n into the message field f of m.
func (d *decoder) messageField(n *yamltree.Node, f *fieldInfo, m msg, field string) {
	if f.msg.custom {
		if t := d.dataType(n, field); t != nil {
			m.setMessage(f, t)
		}
		return
	}
	sub := m.child(f)
	seen := d.message(n, sub, field)
	if f.port != 0 && n.Kind == yamltree.MappingNode {
		if pf := f.msg.port; pf != nil && seen&pf.bit == 0 {
			sub.setInt32(pf, f.port)
		}
	}
}

// scalarField decodes scalar n into the singular field f of m.
func (d *decoder) scalarField(n *yamltree.Node, f *fieldInfo, m msg) {
	if v, ok := d.scalar(n, f, f.name); ok {
		m.setScalar(f, v)
	}
}

// scalar decodes a scalar node for a field of kind f.kind.
func (d *decoder) scalar(n *yamltree.Node, f *fieldInfo, field string) (value, bool) {
	if n.Kind != yamltree.ScalarNode {
		d.typeError(n, field, expectedOf(f))
		return value{}, false
	}
	switch f.kind {
	case kString:
		if n.Tag != yamltree.TagStr {
			d.typeError(n, field, "a string")
			return value{}, false
		}
		return value{s: n.Value}, true
	case kInt32:
		v, ok := d.integer(n, field, 32)
		return value{i: v}, ok
	case kInt64:
		v, ok := d.integer(n, field, 64)
		return value{i: v}, ok
	case kBool:
		if n.Tag != yamltree.TagBool {
			d.typeError(n, field, "a boolean (true or false)")
			return value{}, false
		}
		if n.Value == "true" || n.Value == "True" || n.Value == "TRUE" {
			return value{i: 1}, true
		}
		return value{}, true
	case kEnum:
		num, ok := f.enum.byName[n.Value]
		if !ok || n.Tag != yamltree.TagStr {
			d.report(ruleEnumUnknown, n, q(n.Value)+" is not a valid "+f.enum.name+"; expected one of "+f.enum.list)
			return value{}, false
		}
		return value{i: int64(num)}, true
	}
	d.typeError(n, field, expectedOf(f))
	return value{}, false
}

func expectedOf(f *fieldInfo) string {
	switch f.kind {
	case kString:
		return "a string"
	case kInt32, kInt64:
		return "an integer"
	case kBool:
		return "a boolean (true or false)"
	case kEnum:
		return "one of " + f.enum.list
	}
	return "a mapping"
}

// integer parses an integer scalar as yaml.v3 resolves it (underscores, 0x, 0o, 0b prefixes).
func (d *decoder) integer(n *yamltree.Node, field string, bits int) (int64, bool) {
	if n.Tag != yamltree.TagInt {
		d.typeError(n, field, "an integer")
		return 0, false
	}
	s := n.Value
	if strings.IndexByte(s, '_') >= 0 {
		s = strings.ReplaceAll(s, "_", "")
	}
	v, err := strconv.ParseInt(s, 0, bits)
	if err != nil {
		d.report(ruleFieldType, n, q(field)+" must be a "+strconv.Itoa(bits)+"-bit integer, found "+q(n.Value))
		return 0, false
	}
	return v, true
}

// list decodes sequence n into the repeated field f of m.
func (d *decoder) list(n *yamltree.Node, f *fieldInfo, m msg, field string) {
	if n.Kind != yamltree.SequenceNode {
		d.typeError(n, field, "a list")
		return
	}
	var blk block
	if f.kind == kMessage {
		blk = m.reserve(f, len(n.Content))
	}
	for i := range n.Content {
		e := &n.Content[i]
		if e.Kind == yamltree.AliasNode {
			continue
		}
		if f.kind != kMessage {
			mark := d.pushElem(e.Value)
			d.record(e)
			if v, ok := d.scalar(e, f, field); ok {
				m.setScalar(f, v)
			}
			d.buf = d.buf[:mark]
			continue
		}
		el := m.appendFrom(f, &blk)
		key, nameNode := d.elementKey(e, f.msg)
		if f.obj != nil {
			at := e
			if nameNode != nil && f.msg.nameFd != nil {
				at = nameNode
			}
			s := d.enterChild(f.obj.root, false, f.obj.segment, key, at)
			d.message(e, el, field)
			d.leaveObject(s)
		} else {
			mark := d.pushElem(key)
			d.record(e)
			d.message(e, el, field)
			d.buf = d.buf[:mark]
		}
	}
	if f.minItems > 0 && len(n.Content) < f.minItems {
		msg := q(field) + " needs at least " + strconv.Itoa(f.minItems) + " element"
		if f.minItems > 1 {
			msg += "s"
		}
		d.report(ruleFieldRequired, n, msg)
	}
}

// elementKey returns the key of a list element of message type mi (its name, or the values of
// its key fields joined by "."), and the node of its name when it has one.
func (d *decoder) elementKey(e *yamltree.Node, mi *msgInfo) (string, *yamltree.Node) {
	switch {
	case e.Kind == yamltree.ScalarNode && mi.scalar != nil:
		return e.Value, nil
	case e.Kind != yamltree.MappingNode:
		return "", nil
	case mi.special == specialContainer:
		// {postgres: {name: x, …}} or {ref: x}
		for i := 0; i+1 < len(e.Content); i += 2 {
			v := &e.Content[i+1]
			if e.Content[i].Value == "ref" && v.Kind == yamltree.ScalarNode {
				return v.Value, nil
			}
			if v.Kind == yamltree.MappingNode {
				if nv := lookup(v, "name"); nv != nil && nv.Kind == yamltree.ScalarNode {
					return nv.Value, nil
				}
			}
		}
		return "", nil
	}
	if len(mi.keys) == 1 {
		if v := lookup(e, mi.keys[0].name); v != nil && v.Kind == yamltree.ScalarNode {
			return v.Value, v
		}
		return "", nil
	}
	var b strings.Builder
	for _, k := range mi.keys {
		if v := lookup(e, k.name); v != nil && v.Kind == yamltree.ScalarNode && v.Value != "" {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(v.Value)
		}
	}
	return b.String(), nil
}

// lookup returns the value of key in mapping n (the first one), or nil.
func lookup(n *yamltree.Node, key string) *yamltree.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return &n.Content[i+1]
		}
	}
	return nil
}

// mapField decodes mapping n into the string → string map field f of m.
func (d *decoder) mapField(n *yamltree.Node, f *fieldInfo, m msg, field string) {
	if n.Kind != yamltree.MappingNode {
		d.typeError(n, field, "a mapping")
		return
	}
	set := m.mapString(f, len(n.Content)/2)
	var seen map[string]struct{}
	if len(n.Content) > 16 {
		seen = make(map[string]struct{}, len(n.Content)/2)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := &n.Content[i], &n.Content[i+1]
		if k.Tag == yamltree.TagMerge && k.Style&yamltree.Tagged == 0 {
			continue // reported by checkFeatures
		}
		if k.Kind != yamltree.ScalarNode || k.Tag != yamltree.TagStr {
			d.typeError(k, field+" key", "a string")
			continue
		}
		dup := false
		if seen != nil {
			_, dup = seen[k.Value]
			seen[k.Value] = struct{}{}
		} else {
			for j := 0; j < i; j += 2 {
				if n.Content[j].Value == k.Value && n.Content[j].Kind == yamltree.ScalarNode {
					dup = true
					break
				}
			}
		}
		if dup {
			d.report(ruleDuplicateKey, k, "duplicate key "+q(k.Value))
			continue
		}
		mark := len(d.buf)
		d.buf = append(d.buf, '.')
		d.buf = append(d.buf, k.Value...)
		d.record(v)
		d.buf = d.buf[:mark]
		if v.Kind == yamltree.AliasNode {
			continue
		}
		if v.Kind != yamltree.ScalarNode || v.Tag != yamltree.TagStr {
			d.typeError(v, field+"."+k.Value, "a string")
			continue
		}
		set(k.Value, v.Value)
	}
}
