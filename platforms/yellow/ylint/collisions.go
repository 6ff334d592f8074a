package ylint

import (
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/datasurface/datasurface/model/index"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// objKind is the kind of object that produces a physical name.
type objKind uint8

const (
	objPlatformSchema objKind = iota
	objPlatformTable
	objOwnerRole
	objReaderRole
	objStagingTable
	objMergeTable
	objCDCLoadTable
	objWorkspaceSchema
	objWorkspaceRole
	objLiveView
	objFullView
	objTransformerSchema
	objTransformerRole
	objTransformerTable
)

// bookkeeping lists the platform's own tables (yellow.md §2) with their descriptions.
var bookkeeping = []struct {
	name func(d string) naming.Name
	what string
}{
	{naming.BatchCounter, "the batch counter table"},
	{naming.BatchMetrics, "the batch metrics table"},
	{naming.TransformerRuns, "the transformer runs table"},
	{naming.CDCRejects, "the CDC rejects table"},
	{naming.RoleSecrets, "the role secrets table"},
}

// producer is an object that produces a physical name, by numbers into the platform's graph (a
// large model has hundreds of thousands of names); its description and position are derived
// only when it collides. a and b: the bookkeeping table; the export; the root (and the sink of
// its group) for workspace objects; the transformer (and the output dataset).
type producer struct {
	kind objKind
	plat int32 // index in the checker's platforms
	a, b int32
}

// collider finds the names two producers share. Each namespace collects the 32-bit FNV-1a hash
// of every name with its producer, in registration order; the names of a large model (hundreds
// of thousands) are built in a reused buffer and never kept. check then sorts each namespace by
// hash (a stable radix sort, so registration order survives) and rebuilds the names only of
// producers whose hashes meet, to compare them exactly. Platforms register, and namespaces are
// checked, concurrently; problems are reported in a fixed order afterwards.
type collider struct {
	k      *checker
	ps     []*platform
	spaces map[string]*space
}

// space is one namespace: a database's schemas, a schema's tables and views, a cluster's roles.
type space struct {
	entries []entry
}

type entry struct {
	h uint32
	p producer
}

// registrar collects one platform's names by namespace, in registration order.
type registrar struct {
	spaces map[string]*space
	order  []string // namespace keys in first-use order
	buf    []byte
}

// space returns the namespace key's space, creating it with room for hint names.
func (r *registrar) space(key string, hint int) *space {
	sp := r.spaces[key]
	if sp == nil {
		sp = &space{entries: make([]entry, 0, hint)}
		r.spaces[key] = sp
		r.order = append(r.order, key)
	}
	return sp
}

func fnv32(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}

// add records that p produces name (the bytes may be reused afterwards).
func (r *registrar) add(sp *space, name []byte, p producer) {
	sp.entries = append(sp.entries, entry{h: fnv32(name), p: p})
}

// addString is add for a name that is already a string.
func (r *registrar) addString(sp *space, name string, p producer) {
	r.buf = append(r.buf[:0], name...)
	r.add(sp, r.buf, p)
}

// merge appends a platform's namespaces to the collider's (platforms merge in name order, so
// registration order is platform order, then the platform's own order).
func (n *collider) merge(r *registrar) {
	for _, key := range r.order {
		es := r.spaces[key].entries
		if sp := n.spaces[key]; sp != nil {
			sp.entries = append(sp.entries, es...)
		} else {
			n.spaces[key] = &space{entries: es}
		}
	}
}

// finding is a producer whose name an earlier producer already has.
type finding struct {
	name        string
	first, then producer
}

// check reports DS-YELLOW-017 for every name of a namespace that a producer shares with an
// earlier one.
func (n *collider) check() {
	keys := make([]string, 0, len(n.spaces))
	for k, sp := range n.spaces {
		if len(sp.entries) > 1 {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	found := make([][]finding, len(keys))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(keys)) {
		wg.Go(func() {
			var scratch []entry
			for i := int(next.Add(1) - 1); i < len(keys); i = int(next.Add(1) - 1) {
				found[i], scratch = n.checkSpace(n.spaces[keys[i]].entries, scratch)
			}
		})
	}
	wg.Wait()
	for _, fs := range found {
		for _, f := range fs {
			d := n.ps[f.then.plat].name
			path := n.path(f.then)
			n.k.report(RulePhysicalNameCollision, path, path, "%s name '%s' on '%s' is produced by both %s and %s",
				object(f.then.kind), f.name, d, n.describe(f.first, d), n.describe(f.then, d))
		}
	}
}

// checkSpace sorts one namespace by hash and compares the names of producers whose hashes are
// equal: each producer is found against the first one (in registration order) with its name.
func (n *collider) checkSpace(es, scratch []entry) ([]finding, []entry) {
	scratch = radixSort(es, scratch)
	var out []finding
	for i := 0; i < len(es); {
		j := i + 1
		for j < len(es) && es[j].h == es[i].h {
			j++
		}
		if j-i > 1 {
			group := es[i:j]
			names := make([]string, len(group))
			for k, e := range group {
				names[k] = string(n.name(nil, e.p))
			}
			for k := 1; k < len(group); k++ {
				if first := slices.Index(names[:k], names[k]); first >= 0 && group[first].p != group[k].p {
					out = append(out, finding{name: names[k], first: group[first].p, then: group[k].p})
				}
			}
		}
		i = j
	}
	return out, scratch
}

// radixSort sorts es by hash, keeping the order of equal hashes (LSD radix sort, one byte per
// pass); scratch is reused between calls and returned.
func radixSort(es, scratch []entry) []entry {
	if cap(scratch) < len(es) {
		scratch = make([]entry, len(es))
	}
	src, dst := es, scratch[:len(es)]
	for shift := uint(0); shift < 32; shift += 8 {
		var count [257]int
		for _, e := range src {
			count[(e.h>>shift)&0xff+1]++
		}
		if count[(src[0].h>>shift)&0xff+1] == len(src) {
			continue // every hash has the same byte here
		}
		for b := 1; b < len(count); b++ {
			count[b] += count[b-1]
		}
		for _, e := range src {
			b := (e.h >> shift) & 0xff
			dst[count[b]] = e
			count[b]++
		}
		src, dst = dst, src
	}
	if &src[0] != &es[0] {
		copy(es, src)
	}
	return scratch
}

// name appends the physical name p produces to dst.
func (n *collider) name(dst []byte, p producer) []byte {
	pl, w, g, s, t := n.refs(p)
	d := pl.name
	switch p.kind {
	case objPlatformSchema:
		return append(dst, naming.PlatformSchema(d)...)
	case objPlatformTable:
		return append(dst, bookkeeping[p.a].name(d).Name...)
	case objOwnerRole:
		return append(dst, naming.OwnerRole(d)...)
	case objReaderRole:
		return append(dst, naming.ReaderRole(d)...)
	case objStagingTable:
		return naming.AppendStagingTable(dst, d, s, t)
	case objMergeTable:
		return naming.AppendMergeTable(dst, d, s, t)
	case objCDCLoadTable:
		return naming.AppendCDCLoadTable(dst, d, s, t)
	case objWorkspaceSchema:
		return append(dst, naming.WorkspaceSchema(d, w)...)
	case objWorkspaceRole:
		return append(dst, naming.WorkspaceRole(d, w)...)
	case objLiveView:
		return naming.AppendLiveView(dst, d, w, g, s, t)
	case objFullView:
		return naming.AppendFullView(dst, d, w, g, s, t)
	case objTransformerSchema:
		return append(dst, naming.TransformerSchema(d, w)...)
	case objTransformerRole:
		return append(dst, naming.TransformerRole(d, w)...)
	case objTransformerTable:
		return append(dst, naming.TransformerTable(d, w, s, t).Name...)
	}
	return dst
}

// object is the word for the producer's namespace in the message.
func object(k objKind) string {
	switch k {
	case objPlatformSchema, objWorkspaceSchema, objTransformerSchema:
		return "schema"
	case objOwnerRole, objReaderRole, objWorkspaceRole, objTransformerRole:
		return "role"
	case objLiveView, objFullView:
		return "view"
	}
	return "table"
}

// refs resolves a producer's numbers to names.
func (n *collider) refs(p producer) (pl *platform, w, g, s, t string) {
	pl = n.ps[p.plat]
	gr := pl.g
	switch p.kind {
	case objStagingTable, objMergeTable, objCDCLoadTable:
		e := gr.Exports[p.a]
		s, t = e.Datastore, e.Dataset
	case objWorkspaceSchema, objWorkspaceRole, objLiveView, objFullView:
		r := gr.Roots[p.a]
		w, g = r.Workspace, r.DatasetGroup
		if p.kind == objLiveView || p.kind == objFullView {
			sink := n.k.x.DSG(w, g).GetSinks()[p.b]
			s, t = sink.GetDatastore(), sink.GetDataset()
		}
	case objTransformerSchema, objTransformerRole, objTransformerTable:
		tr := gr.Transformers[p.a]
		w = tr.Workspace
		if p.kind == objTransformerTable {
			s, t = tr.OutputDatastore, n.k.x.Datastores[tr.OutputDatastore].GetDatasets()[p.b].GetName()
		}
	}
	return pl, w, g, s, t
}

// describe names the producer; its platform is named unless it is the message's platform d.
func (n *collider) describe(p producer, d string) string {
	pl, w, g, s, t := n.refs(p)
	var out string
	switch p.kind {
	case objPlatformSchema:
		return "the platform schema of '" + pl.name + "'"
	case objOwnerRole:
		return "the owner role of '" + pl.name + "'"
	case objReaderRole:
		return "the reader role of '" + pl.name + "'"
	case objPlatformTable:
		out = bookkeeping[p.a].what
	case objStagingTable:
		out = "the staging table of '" + s + "." + t + "'"
	case objMergeTable:
		out = "the merge table of '" + s + "." + t + "'"
	case objCDCLoadTable:
		out = "the CDC load table of '" + s + "." + t + "'"
	case objWorkspaceSchema:
		out = "the schema of workspace '" + w + "'"
	case objWorkspaceRole:
		out = "the group role of workspace '" + w + "'"
	case objLiveView:
		out = "the live view of '" + w + "." + g + "' on '" + s + "." + t + "'"
	case objFullView:
		out = "the full-history view of '" + w + "." + g + "' on '" + s + "." + t + "'"
	case objTransformerSchema:
		out = "the output schema of transformer workspace '" + w + "'"
	case objTransformerRole:
		out = "the login role of transformer workspace '" + w + "'"
	case objTransformerTable:
		out = "the output table of '" + s + "." + t + "' of transformer workspace '" + w + "'"
	}
	if pl.name != d {
		out += " of platform '" + pl.name + "'"
	}
	return out
}

// path returns the object path (also the source-map key) a problem about the producer cites:
// the dataset of a table, the sink of a view, the workspace or transformer of their schemas and
// roles, the platform otherwise.
func (n *collider) path(p producer) string {
	pl, w, g, s, t := n.refs(p)
	switch p.kind {
	case objStagingTable, objMergeTable, objCDCLoadTable, objTransformerTable:
		return index.DatasetPath(s, t)
	case objWorkspaceSchema, objWorkspaceRole:
		return index.WorkspacePath(w)
	case objLiveView, objFullView:
		return index.SinkPath(w, g, s, t)
	case objTransformerSchema, objTransformerRole:
		return index.TransformerPath(w)
	}
	return pl.path
}

// collisions checks DS-YELLOW-017: every schema, table and view name of the platforms that
// share a merge database (host:port/database) is produced by one object only, and so is every
// managed role name of the platforms that share a cluster (host:port).
func (k *checker) collisions(ps []*platform) {
	// Platforms that other Yellow platforms copy from need a reader role (security.md §2).
	reader := make(map[string]bool)
	for _, p := range ps {
		for _, st := range p.g.Streams {
			if st.Remote && k.x.Yellow(st.PrimaryPlatform) != nil {
				reader[st.PrimaryPlatform] = true
			}
		}
	}
	n := &collider{k: k, ps: ps, spaces: make(map[string]*space)}
	regs := make([]*registrar, len(ps))
	var wg sync.WaitGroup
	for pi, p := range ps {
		if p.y.GetMergeDatabase().GetPostgres() == nil {
			continue // DS-YELLOW-002
		}
		regs[pi] = &registrar{spaces: make(map[string]*space)}
		wg.Go(func() { k.register(regs[pi], p, int32(pi), reader[p.name]) })
	}
	wg.Wait()
	for _, r := range regs {
		if r != nil {
			n.merge(r)
		}
	}
	n.check()
}

// register collects every physical name of platform p (index plat): its schema, bookkeeping
// tables and roles; staging, merge and CDC load tables; workspace schemas, roles and views;
// transformer schemas, roles and tables (yellow.md §2, security.md §2).
func (k *checker) register(n *registrar, p *platform, plat int32, needsReader bool) {
	pg := p.y.GetMergeDatabase().GetPostgres()
	port := pg.GetPort()
	if port == 0 {
		port = 5432
	}
	cluster := strings.ToLower(pg.GetHost()) + ":" + strconv.Itoa(int(port))
	db := cluster + "/" + pg.GetDatabase()
	g, d := p.g, p.name
	at := func(kind objKind, a, b int) producer {
		return producer{kind: kind, plat: plat, a: int32(a), b: int32(b)}
	}

	schemas := n.space("schema\x00"+db, 1+len(g.Roots)+2*len(g.Transformers))
	roles := n.space("role\x00"+cluster, 2+len(g.Roots)+len(g.Transformers))
	pschema := naming.PlatformSchema(d)
	n.addString(schemas, pschema, at(objPlatformSchema, 0, 0))
	tables := n.space("relation\x00"+db+"\x00"+pschema, len(bookkeeping)+3*len(g.Exports))
	for i, b := range bookkeeping {
		n.addString(tables, b.name(d).Name, at(objPlatformTable, i, 0))
	}
	n.addString(roles, naming.OwnerRole(d), at(objOwnerRole, 0, 0))
	if needsReader {
		n.addString(roles, naming.ReaderRole(d), at(objReaderRole, 0, 0))
	}

	si := 0 // streams and exports are both sorted by datastore: walk them together
	for i, e := range g.Exports {
		n.buf = naming.AppendStagingTable(n.buf[:0], d, e.Datastore, e.Dataset)
		n.add(tables, n.buf, at(objStagingTable, i, 0))
		n.buf = naming.AppendMergeTable(n.buf[:0], d, e.Datastore, e.Dataset)
		n.add(tables, n.buf, at(objMergeTable, i, 0))
		for si < len(g.Streams) && g.Streams[si].Datastore < e.Datastore {
			si++
		}
		if si < len(g.Streams) && g.Streams[si].Datastore == e.Datastore && g.Streams[si].Kind == index.KindKafkaCDC {
			n.buf = naming.AppendCDCLoadTable(n.buf[:0], d, e.Datastore, e.Dataset)
			n.add(tables, n.buf, at(objCDCLoadTable, i, 0))
		}
	}

	forensic := p.y.GetMilestoning() == modelv1.PlatformMilestoning_PLATFORM_MILESTONING_FORENSIC
	var views *space
	for i, r := range g.Roots {
		w := r.Workspace
		if i == 0 || g.Roots[i-1].Workspace != w {
			wsSchema := naming.WorkspaceSchema(d, w)
			n.addString(schemas, wsSchema, at(objWorkspaceSchema, i, 0))
			n.addString(roles, naming.WorkspaceRole(d, w), at(objWorkspaceRole, i, 0))
			views = n.space("relation\x00"+db+"\x00"+wsSchema, 0)
		}
		dsg := k.x.DSG(w, r.DatasetGroup)
		full := forensic && r.Status != modelv1.AssignmentStatus_ASSIGNMENT_STATUS_UNSPECIFIED &&
			dsg.GetPlatformRequirements().GetMilestoning() == modelv1.Milestoning_MILESTONING_FORENSIC
		for j, sink := range dsg.GetSinks() {
			n.buf = naming.AppendLiveView(n.buf[:0], d, w, r.DatasetGroup, sink.GetDatastore(), sink.GetDataset())
			n.add(views, n.buf, at(objLiveView, i, j))
			if full {
				n.buf = naming.AppendFullView(n.buf[:0], d, w, r.DatasetGroup, sink.GetDatastore(), sink.GetDataset())
				n.add(views, n.buf, at(objFullView, i, j))
			}
		}
	}

	for i, t := range g.Transformers {
		schema := naming.TransformerSchema(d, t.Workspace)
		n.addString(schemas, schema, at(objTransformerSchema, i, 0))
		n.addString(roles, naming.TransformerRole(d, t.Workspace), at(objTransformerRole, i, 0))
		outs := k.x.Datastores[t.OutputDatastore].GetDatasets()
		out := n.space("relation\x00"+db+"\x00"+schema, len(outs))
		for j, ds := range outs {
			n.addString(out, naming.TransformerTable(d, t.Workspace, t.OutputDatastore, ds.GetName()).Name, at(objTransformerTable, i, j))
		}
	}
}
