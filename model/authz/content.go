package authz

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/datasurface/datasurface/model/index"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// node is one object of a region's canonical content: its own fields (msg, with the fields that
// hold child objects cleared) and its child objects, both in canonical order. Two regions have
// the same content iff their node lists are equal (same ids in the same order, proto.Equal own
// fields, equal children).
type node struct {
	id   string // unique among siblings (the key, suffixed when a document repeats)
	key  string // source-map key of the object's node
	what string // how a message names the object: "datastore 'SalesDB'"
	msg  proto.Message
	kids []node
	// src is the model object msg and kids were built from. Loaded models share the objects of
	// unchanged files (package load), so two nodes built from one object are equal without
	// comparing their content.
	src proto.Message
}

// change is the first difference found in a region.
type change struct {
	what   string
	verb   string // added, removed, modified
	key    string // source-map key of the cited node
	path   string // object path of the object
	inBase bool   // the cited node is in the base model
}

func equalNodes(a, b []node) bool {
	return slices.EqualFunc(a, b, func(x, y node) bool {
		if x.id != y.id {
			return false
		}
		if x.src != nil && x.src == y.src {
			return true
		}
		return proto.Equal(x.msg, y.msg) && equalNodes(x.kids, y.kids)
	})
}

// firstChange returns the first difference between base and head node lists: the first head
// object (in canonical order) that is new or differs, else the first base object that is gone,
// else (the objects are equal but ordered differently) the parent itself. ok is false when the
// lists are equal.
func firstChange(base, head []node, parent *node) (change, bool) {
	if equalNodes(base, head) {
		return change{}, false
	}
	byID := make(map[string]*node, len(base))
	for i := range base {
		byID[base[i].id] = &base[i]
	}
	inHead := make(map[string]bool, len(head))
	for i := range head {
		h := &head[i]
		inHead[h.id] = true
		b, ok := byID[h.id]
		if !ok {
			return change{what: h.what, verb: "added", key: h.key, path: h.key}, true
		}
		if c, ok := nodeChange(b, h); ok {
			return c, true
		}
	}
	for i := range base {
		if b := &base[i]; !inHead[b.id] {
			return change{what: b.what, verb: "removed", key: b.key, path: b.key, inBase: true}, true
		}
	}
	// Same objects, different order.
	if parent != nil {
		return change{what: parent.what, verb: "modified", key: parent.key, path: parent.key}, true
	}
	h := head[0]
	return change{what: h.what, verb: "modified", key: h.key, path: h.key}, true
}

// nodeChange returns the first difference between two versions of one object: a difference of
// its own fields (cited at the field), else the first difference among its children.
func nodeChange(b, h *node) (change, bool) {
	if b.src != nil && b.src == h.src {
		return change{}, false
	}
	if !proto.Equal(b.msg, h.msg) {
		key := h.key
		if f := fieldPath(b.msg.ProtoReflect(), h.msg.ProtoReflect()); f != "" {
			key += "#" + f
		}
		return change{what: h.what, verb: "modified", key: key, path: h.key}, true
	}
	return firstChange(b.kids, h.kids, h)
}

// fieldPath returns the source-map field path (package srcmap) of the first field, in field
// order, whose value differs between a and b, descending into nested messages, named list
// elements and map entries. It returns "" when the messages are equal.
func fieldPath(a, b protoreflect.Message) string {
	fields := a.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if fieldEqual(a, b, fd) {
			continue
		}
		name := fd.JSONName()
		switch {
		case fd.IsMap() && fd.MapKey().Kind() == protoreflect.StringKind:
			ma, mb := a.Get(fd).Map(), b.Get(fd).Map()
			var keys []string
			collect := func(k protoreflect.MapKey, _ protoreflect.Value) bool {
				keys = append(keys, k.String())
				return true
			}
			ma.Range(collect)
			mb.Range(collect)
			slices.Sort(keys)
			for _, k := range slices.Compact(keys) {
				mk := protoreflect.ValueOfString(k).MapKey()
				va, oka := ma.Get(mk), ma.Has(mk)
				vb, okb := mb.Get(mk), mb.Has(mk)
				if oka != okb || !va.Equal(vb) {
					return name + "." + k
				}
			}
			return name
		case fd.IsList() && fd.Message() != nil:
			if el := listElement(a.Get(fd).List(), b.Get(fd).List(), fd.Message()); el != "" {
				return name + el
			}
			return name
		case fd.Message() != nil && a.Has(fd) && b.Has(fd):
			if sub := fieldPath(a.Get(fd).Message(), b.Get(fd).Message()); sub != "" {
				return name + "." + sub
			}
			return name
		}
		return name
	}
	return ""
}

// fieldEqual compares one field of two messages of the same type.
func fieldEqual(a, b protoreflect.Message, fd protoreflect.FieldDescriptor) bool {
	ca, cb := a.New(), b.New()
	if a.Has(fd) {
		ca.Set(fd, a.Get(fd))
	}
	if b.Has(fd) {
		cb.Set(fd, b.Get(fd))
	}
	return proto.Equal(ca.Interface(), cb.Interface())
}

// listElement names the first differing element of two lists of messages that have a name
// field ("[name]", plus the path inside it when the element exists in both); "" otherwise.
func listElement(la, lb protoreflect.List, md protoreflect.MessageDescriptor) string {
	nf := md.Fields().ByName("name")
	if nf == nil || nf.Kind() != protoreflect.StringKind {
		return ""
	}
	byName := map[string]protoreflect.Message{}
	for i := range la.Len() {
		m := la.Get(i).Message()
		if _, ok := byName[m.Get(nf).String()]; !ok {
			byName[m.Get(nf).String()] = m
		}
	}
	for i := range lb.Len() {
		m := lb.Get(i).Message()
		n := m.Get(nf).String()
		old, ok := byName[n]
		if !ok {
			return "[" + n + "]"
		}
		if !proto.Equal(old.Interface(), m.Interface()) {
			if sub := fieldPath(old, m); sub != "" {
				return "[" + n + "]." + sub
			}
			return "[" + n + "]"
		}
		delete(byName, n)
	}
	for i := range la.Len() {
		if n := la.Get(i).Message().Get(nf).String(); byName[n] != nil {
			return "[" + n + "]"
		}
	}
	return ""
}

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

// uniqueIDs suffixes the ids of repeated objects (a leniently loaded base may hold two documents
// of one name) so that every sibling has its own id.
func uniqueIDs(ns []node) []node {
	seen := map[string]int{}
	for i := range ns {
		seen[ns[i].id]++
		if n := seen[ns[i].id]; n > 1 {
			ns[i].id = fmt.Sprintf("%s#%d", ns[i].id, n)
		}
	}
	return ns
}

// ---------------------------------------------------------------------------------------------
// Region content extracts.

// ecosystemContent is the ecosystem region without the zone declarations (whose names are
// compared separately, as declarations, and whose owners are hand-overs): the Ecosystem document,
// its vendors, every PlatformServicesProvider and every platform assignment and primary
// ingestion.
func ecosystemContent(m *modelv1.Model) []node {
	var ns []node
	if e := m.GetEcosystem(); e != nil {
		c := without(e, "zones", "vendors")
		ns = append(ns, node{id: index.EcosystemPath, key: index.EcosystemPath, what: "ecosystem '" + e.GetName() + "'", msg: c, src: e})
		for _, v := range e.GetVendors() {
			k := index.VendorPath(v.GetName())
			ns = append(ns, node{id: k, key: k, what: "vendor '" + v.GetName() + "'", msg: v, src: v})
		}
	}
	for _, p := range m.GetPsps() {
		c := without(p, "platforms")
		k := index.PSPPath(p.GetName())
		n := node{id: k, key: k, what: "platform services provider '" + p.GetName() + "'", msg: c, src: p}
		for _, d := range p.GetPlatforms() {
			dk := index.PlatformPath(p.GetName(), d.GetName())
			n.kids = append(n.kids, node{id: dk, key: dk, what: "data platform '" + d.GetName() + "'", msg: d, src: d})
		}
		n.kids = uniqueIDs(n.kids)
		ns = append(ns, n)
	}
	for _, a := range m.GetAssignments() {
		c := without(a, "platforms")
		k := index.AssignmentPath(a.GetWorkspace(), a.GetDatasetGroup())
		n := node{id: k, key: k, what: "assignment '" + a.GetWorkspace() + "." + a.GetDatasetGroup() + "'", msg: c, src: a}
		for _, p := range a.GetPlatforms() {
			pk := index.AssignmentPlatformPath(a.GetWorkspace(), a.GetDatasetGroup(), p.GetPlatform())
			n.kids = append(n.kids, node{id: pk, key: pk,
				what: "assignment '" + a.GetWorkspace() + "." + a.GetDatasetGroup() + "' → '" + p.GetPlatform() + "'", msg: p, src: p})
		}
		n.kids = uniqueIDs(n.kids)
		ns = append(ns, n)
	}
	for _, p := range m.GetPrimaryIngestions() {
		k := index.PrimaryPath(p.GetDatastore())
		ns = append(ns, node{id: k, key: k, what: "primary ingestion of '" + p.GetDatastore() + "'", msg: p, src: p})
	}
	return uniqueIDs(ns)
}

// zoneContent is zone z's region without its team declarations (compared separately): the
// GovernanceZone document, omitted when it holds nothing but its name.
func zoneContent(x *regionIndex, z string) []node {
	var ns []node
	for _, doc := range x.zoneDocs[z] {
		if isEmptyZone(doc) {
			continue
		}
		c := without(doc, "teams")
		k := index.ZonePath(z)
		ns = append(ns, node{id: k, key: k, what: "GovernanceZone '" + z + "'", msg: c, src: doc})
	}
	return uniqueIDs(ns)
}

// teamContent is team k's region: its Team document (omitted when empty), its datastores (with
// their datasets and columns) and its workspaces (with their dataset groups, sinks and
// transformer).
func teamContent(x *regionIndex, k teamKey) []node {
	var ns []node
	for _, t := range x.teamDocs[k] {
		if isEmptyTeam(t) {
			continue
		}
		key := index.TeamPath(k.zone, k.team)
		ns = append(ns, node{id: key, key: key, what: "Team '" + k.zone + "/" + k.team + "'", msg: t, src: t})
	}
	for _, d := range x.datastores[k] {
		ns = append(ns, datastoreNode(d))
	}
	for _, w := range x.workspaces[k] {
		ns = append(ns, workspaceNode(w))
	}
	return uniqueIDs(ns)
}

func datastoreNode(d *modelv1.Datastore) node {
	s := d.GetName()
	c := without(d, "datasets")
	k := index.DatastorePath(s)
	n := node{id: k, key: k, what: "datastore '" + s + "'", msg: c, src: d}
	for _, ds := range d.GetDatasets() {
		dc := without(ds, "columns")
		dk := index.DatasetPath(s, ds.GetName())
		dn := node{id: dk, key: dk, what: "dataset '" + s + "." + ds.GetName() + "'", msg: dc, src: ds}
		for _, col := range ds.GetColumns() {
			ck := index.ColumnPath(s, ds.GetName(), col.GetName())
			dn.kids = append(dn.kids, node{id: ck, key: ck,
				what: "column '" + s + "." + ds.GetName() + "." + col.GetName() + "'", msg: col, src: col})
		}
		dn.kids = uniqueIDs(dn.kids)
		n.kids = append(n.kids, dn)
	}
	n.kids = uniqueIDs(n.kids)
	return n
}

func workspaceNode(w *modelv1.Workspace) node {
	name := w.GetName()
	c := without(w, "dataset_groups", "transformer")
	k := index.WorkspacePath(name)
	n := node{id: k, key: k, what: "workspace '" + name + "'", msg: c, src: w}
	for _, g := range w.GetDatasetGroups() {
		gc := without(g, "sinks")
		gk := index.DSGPath(name, g.GetName())
		gn := node{id: gk, key: gk, what: "dataset group '" + name + "." + g.GetName() + "'", msg: gc, src: g}
		for _, s := range g.GetSinks() {
			sk := index.SinkPath(name, g.GetName(), s.GetDatastore(), s.GetDataset())
			gn.kids = append(gn.kids, node{id: sk, key: sk,
				what: "sink '" + s.GetDatastore() + "." + s.GetDataset() + "' of '" + name + "." + g.GetName() + "'", msg: s, src: s})
		}
		gn.kids = uniqueIDs(gn.kids)
		n.kids = append(n.kids, gn)
	}
	if t := w.GetTransformer(); t != nil {
		tk := index.TransformerPath(name)
		n.kids = append(n.kids, node{id: tk, key: tk, what: "transformer '" + t.GetName() + "'", msg: t, src: t})
	}
	n.kids = uniqueIDs(n.kids)
	return n
}

// teamEqual reports whether team k has the same content in both models, without building the
// node trees (the common case: most teams are untouched by a change).
func teamEqual(base, head *regionIndex, k teamKey) bool {
	nonEmpty := func(ts []*modelv1.Team) []*modelv1.Team {
		return slices.DeleteFunc(slices.Clone(ts), isEmptyTeam)
	}
	var cmp byteComparer
	return slices.EqualFunc(nonEmpty(base.teamDocs[k]), nonEmpty(head.teamDocs[k]), equalVia[*modelv1.Team](&cmp)) &&
		slices.EqualFunc(base.datastores[k], head.datastores[k], equalVia[*modelv1.Datastore](&cmp)) &&
		slices.EqualFunc(base.workspaces[k], head.workspaces[k], equalVia[*modelv1.Workspace](&cmp))
}

// byteComparer compares messages by their deterministic encoding, which for the model's
// messages (proto3, no unknown fields, no floating-point fields) agrees with proto.Equal and is
// several times faster on large datastores. The buffers are reused between calls.
type byteComparer struct{ a, b []byte }

func (c *byteComparer) equal(x, y proto.Message) bool {
	if x == y {
		return true // one object, shared by both models (package load reuses unchanged files)
	}
	opts := proto.MarshalOptions{Deterministic: true}
	var err error
	if c.a, err = opts.MarshalAppend(c.a[:0], x); err != nil {
		return proto.Equal(x, y)
	}
	if c.b, err = opts.MarshalAppend(c.b[:0], y); err != nil {
		return proto.Equal(x, y)
	}
	return bytes.Equal(c.a, c.b)
}

func equalVia[M proto.Message](c *byteComparer) func(a, b M) bool {
	return func(a, b M) bool { return c.equal(a, b) }
}
