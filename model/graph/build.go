package graph

import (
	"cmp"
	"slices"
	"strings"
	"sync"

	"github.com/datasurface/datasurface/model/index"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// Build builds the intention graph of every data platform of m.
func Build(m *modelv1.Model) *Ecosystem { return BuildIndex(index.New(m)) }

// Options select what a build computes.
type Options struct {
	// Outline builds roots, streams, exports (with readers) and transformers only: Nodes and
	// Edges stay empty and priorities are not propagated (they are zero). Lint needs no more.
	Outline bool
}

// BuildIndex builds the intention graph of every data platform of the indexed model.
func BuildIndex(x *index.Index) *Ecosystem { return BuildWith(x, Options{}) }

// BuildWith builds the graph parts o selects for every data platform of the indexed model.
// Platforms are built concurrently; the result does not depend on scheduling.
func BuildWith(x *index.Index, o Options) *Ecosystem {
	pr := newPrep(x)
	pr.outline = o.Outline
	assigned := assignedRoots(x)
	e := &Ecosystem{Platforms: make(map[string]*Platform, len(x.Platforms))}
	names := make([]string, 0, len(x.Platforms))
	for n := range x.Platforms {
		names = append(names, n)
	}
	slices.Sort(names)
	built := make([]*Platform, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Go(func() { built[i] = pr.build(n, assigned[n]) })
	}
	wg.Go(func() { e.Cycles = cycles(pr.consumes()) })
	wg.Wait()
	for i, n := range names {
		e.Platforms[n] = built[i]
	}
	return e
}

// BuildPlatform builds the intention graph of platform d alone. A platform nothing is assigned
// to (or an unknown one) gets an empty graph.
func BuildPlatform(x *index.Index, d string) *Platform {
	var roots []Root
	for _, a := range x.Model.GetAssignments() {
		if r, ok := assignedRoot(x, a, d); ok {
			roots = append(roots, r)
		}
	}
	return newPrep(x).build(d, roots)
}

// assignedRoots returns the assigned roots of every platform (§4.18 step 1), in assignment order.
func assignedRoots(x *index.Index) map[string][]Root {
	out := make(map[string][]Root)
	for _, a := range x.Model.GetAssignments() {
		for i, p := range a.GetPlatforms() {
			d := p.GetPlatform()
			if slices.ContainsFunc(a.GetPlatforms()[:i], func(q *modelv1.PlatformAssignment) bool { return q.GetPlatform() == d }) {
				continue // a repeated platform: the first entry decides
			}
			if r, ok := assignedRoot(x, a, d); ok {
				out[d] = append(out[d], r)
			}
		}
	}
	return out
}

// assignedRoot returns the root of assignment a on platform d: its first entry for d, unless
// that entry is DECOMMISSIONED or the dataset group does not exist.
func assignedRoot(x *index.Index, a *modelv1.DatasetGroupAssignment, d string) (Root, bool) {
	for _, p := range a.GetPlatforms() {
		if p.GetPlatform() != d {
			continue
		}
		if p.GetStatus() == modelv1.AssignmentStatus_ASSIGNMENT_STATUS_DECOMMISSIONED ||
			x.DSG(a.GetWorkspace(), a.GetDatasetGroup()) == nil {
			return Root{}, false
		}
		return Root{Workspace: a.GetWorkspace(), DatasetGroup: a.GetDatasetGroup(), Status: p.GetStatus()}, true
	}
	return Root{}, false
}

// producer returns the workspace named by s's transformerOutput capture, or "".
func producer(s *modelv1.Datastore) string {
	if t, ok := s.GetCapture().GetKind().(*modelv1.CaptureMetadata_TransformerOutput); ok {
		return t.TransformerOutput.GetWorkspace()
	}
	return ""
}

// ref is a sink resolved to numbers: the datastore's position in name order and the dataset's
// position in its datastore's name order (-1 when the dataset does not exist).
type ref struct{ store, ds int32 }

// prep is what every platform's build shares, computed once per model: datastores and their
// datasets in name order, and every dataset group's sinks resolved to refs. Platforms then work
// on numbers instead of names.
type prep struct {
	x      *index.Index
	stores []*modelv1.Datastore // distinct datastores (first of a name wins) in name order
	// The datasets of store i are [first[i], first[i+1]) of these, in name order: their model
	// index, name and name hash (so that resolving a sink touches few model objects).
	first    []int32
	dsIndex  []int32
	dsName   []string
	dsHash   []uint64
	producer []string // per store: the workspace of its transformerOutput capture
	capture  []index.Capture
	refs     map[*modelv1.DatasetGroup][]ref
	outline  bool // Options.Outline
}

// datasets returns the positions of store si's datasets in the dsIndex/dsName/dsHash slices.
func (pr *prep) datasets(si int) (from, to int) { return int(pr.first[si]), int(pr.first[si+1]) }

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func newPrep(x *index.Index) *prep {
	pr := &prep{x: x}
	all := x.Model.GetDatastores()
	byName := func(a, b *modelv1.Datastore) int { return strings.Compare(a.GetName(), b.GetName()) }
	nDatasets := 0
	if slices.IsSortedFunc(all, byName) {
		// The canonical order: a repeated name is adjacent to its first occurrence.
		pr.stores = make([]*modelv1.Datastore, 0, len(all))
		for i, s := range all {
			if i == 0 || all[i-1].GetName() != s.GetName() {
				pr.stores = append(pr.stores, s)
				nDatasets += len(s.GetDatasets())
			}
		}
	} else {
		seen := make(map[string]bool, len(all))
		for _, s := range all {
			if !seen[s.GetName()] {
				seen[s.GetName()] = true
				pr.stores = append(pr.stores, s)
				nDatasets += len(s.GetDatasets())
			}
		}
		slices.SortStableFunc(pr.stores, byName)
	}
	num := make(map[string]int32, len(pr.stores))
	pr.first = make([]int32, len(pr.stores)+1)
	pr.dsIndex = make([]int32, 0, nDatasets)
	pr.dsName = make([]string, 0, nDatasets)
	pr.dsHash = make([]uint64, 0, nDatasets)
	pr.producer = make([]string, len(pr.stores))
	pr.capture = make([]index.Capture, len(pr.stores))
	for i, s := range pr.stores {
		num[s.GetName()] = int32(i)
		pr.producer[i] = producer(s)
		pr.capture[i] = index.CaptureOf(s)
		from := len(pr.dsIndex)
		for j, t := range s.GetDatasets() {
			pr.dsIndex = append(pr.dsIndex, int32(j))
			pr.dsName = append(pr.dsName, t.GetName())
		}
		if names := pr.dsName[from:]; !slices.IsSorted(names) {
			idx := pr.dsIndex[from:]
			slices.SortStableFunc(idx, func(a, b int32) int {
				return strings.Compare(s.GetDatasets()[a].GetName(), s.GetDatasets()[b].GetName())
			})
			for k, j := range idx {
				names[k] = s.GetDatasets()[j].GetName()
			}
		}
		for _, n := range pr.dsName[from:] {
			pr.dsHash = append(pr.dsHash, fnv64(n))
		}
		pr.first[i+1] = int32(len(pr.dsIndex))
	}
	nGroups := 0
	for _, w := range x.Model.GetWorkspaces() {
		nGroups += len(w.GetDatasetGroups())
	}
	pr.refs = make(map[*modelv1.DatasetGroup][]ref, nGroups)
	for _, w := range x.Model.GetWorkspaces() {
		for _, g := range w.GetDatasetGroups() {
			refs := make([]ref, 0, len(g.GetSinks()))
			for _, sink := range g.GetSinks() {
				si, ok := num[sink.GetDatastore()]
				if !ok {
					continue
				}
				r := ref{store: si, ds: -1}
				name := sink.GetDataset()
				h := fnv64(name)
				from, to := pr.datasets(int(si))
				for j := from; j < to; j++ {
					if pr.dsHash[j] == h && pr.dsName[j] == name {
						r.ds = int32(j - from)
						break
					}
				}
				refs = append(refs, r)
			}
			pr.refs[g] = refs
		}
	}
	return pr
}

// builder holds the state of one platform's build.
type builder struct {
	pr   *prep
	x    *index.Index
	name string
	p    *Platform

	rootIdx  map[[2]string]int // (W, G) → index in p.Roots
	pulled   map[string]bool   // transformer workspaces pulled in
	included []bool            // per store: named by a root's sink
	// Per store, the first index of its exports and its streams (-1: not on the platform); a
	// store's exports and streams are contiguous.
	firstExport []int32
	firstStream []int32
	// Per export, the index of its stream.
	exportStream []int32
}

func (pr *prep) build(name string, assigned []Root) *Platform {
	b := &builder{
		pr:       pr,
		x:        pr.x,
		name:     name,
		p:        &Platform{Name: name},
		rootIdx:  make(map[[2]string]int, len(assigned)),
		pulled:   make(map[string]bool),
		included: make([]bool, len(pr.stores)),
	}
	for _, r := range assigned {
		b.addRoot(r)
	}
	b.closure()
	b.streams()
	b.readers()
	if !pr.outline {
		b.nodes()
	}
	p := b.p
	// Streams were built per datastore in name order, which is key order unless a name is not a
	// SQL identifier; nodes refer to them by their built positions, so sort only now.
	if !slices.IsSortedFunc(p.Streams, compareStream) {
		slices.SortStableFunc(p.Streams, compareStream)
	}
	// Empty lists are nil, so equal graphs compare equal however they were built.
	if len(p.Streams) == 0 {
		p.Streams, p.Exports, p.Nodes, p.Edges = nil, nil, nil, nil
	}
	if len(p.Nodes) == 0 {
		p.Nodes = nil
	}
	if len(p.Edges) == 0 {
		p.Edges = nil
	}
	return p
}

func (b *builder) addRoot(r Root) {
	k := [2]string{r.Workspace, r.DatasetGroup}
	if i, ok := b.rootIdx[k]; ok {
		b.p.Roots[i].Transformer = b.p.Roots[i].Transformer || r.Transformer
		return
	}
	b.rootIdx[k] = len(b.p.Roots)
	b.p.Roots = append(b.p.Roots, r)
}

// closure adds the groups of every transformer workspace whose output a root consumes, until
// nothing changes (§4.18 step 2), and marks the datastores the roots' sinks name.
func (b *builder) closure() {
	for i := 0; i < len(b.p.Roots); i++ { // p.Roots grows while we scan it
		r := b.p.Roots[i]
		for _, rf := range b.pr.refs[b.x.DSG(r.Workspace, r.DatasetGroup)] {
			b.included[rf.store] = true
			wn := b.pr.producer[rf.store]
			if wn == "" || b.pulled[wn] {
				continue
			}
			w := b.x.Workspaces[wn]
			if w == nil {
				continue
			}
			b.pulled[wn] = true
			for _, g := range w.GetDatasetGroups() {
				b.addRoot(Root{Workspace: wn, DatasetGroup: g.GetName(), Transformer: true})
			}
			if t := w.GetTransformer(); t != nil {
				b.p.Transformers = append(b.p.Transformers, Transformer{
					Workspace: wn, Name: t.GetName(), OutputDatastore: t.GetOutputDatastore(),
				})
			}
		}
	}
	slices.SortFunc(b.p.Roots, func(a, c Root) int {
		return cmp.Or(strings.Compare(a.Workspace, c.Workspace), strings.Compare(a.DatasetGroup, c.DatasetGroup))
	})
	slices.SortFunc(b.p.Transformers, func(a, c Transformer) int { return strings.Compare(a.Workspace, c.Workspace) })
}

// streams derives the streams and exports of the named datastores (§4.18 step 3). Exports come
// out sorted (stores and datasets are visited in name order); streams are sorted at the end of
// build. Slices and keys are carved from a few shared allocations: a large model has a hundred
// thousand exports.
func (b *builder) streams() {
	pr := b.pr
	nExports, nStreams, keyBytes := 0, 0, 0
	for si, in := range b.included {
		if !in {
			continue
		}
		from, to := pr.datasets(si)
		n := to - from
		nExports += n
		if pr.capture[si].Consistency == modelv1.Consistency_CONSISTENCY_SINGLE_DATASET {
			nStreams += n
			keyBytes += n * (len(pr.stores[si].GetName()) + 1)
			for _, t := range pr.dsName[from:to] {
				keyBytes += len(t)
			}
		} else {
			nStreams++
		}
	}
	b.p.Exports = make([]Export, 0, nExports)
	b.p.Streams = make([]Stream, 0, nStreams)
	b.exportStream = make([]int32, 0, nExports)
	b.firstExport = make([]int32, len(pr.stores))
	b.firstStream = make([]int32, len(pr.stores))
	names := make([]string, 0, nExports) // backing array of every Stream.Datasets
	keyBuf := make([]byte, 0, keyBytes)  // SINGLE_DATASET keys "S#T", cut into strings below
	var keyEnds []int
	for si, in := range b.included {
		if !in {
			b.firstExport[si], b.firstStream[si] = -1, -1
			continue
		}
		s := pr.stores[si]
		sn := s.GetName()
		capture := pr.capture[si]
		kind, remote, primary := capture.Kind, false, ""
		if pi := b.x.Primary[sn]; pi != nil && len(pi.GetPlatforms()) > 0 && !slices.Contains(pi.GetPlatforms(), b.name) {
			kind, remote, primary = KindRemote, true, pi.GetPlatforms()[0]
		}
		b.firstExport[si], b.firstStream[si] = int32(len(b.p.Exports)), int32(len(b.p.Streams))
		ds := s.GetDatasets()
		if capture.Consistency != modelv1.Consistency_CONSISTENCY_SINGLE_DATASET {
			n0 := len(names)
			for _, t := range ds { // model order, as the stream ingests them
				names = append(names, t.GetName())
			}
			from, to := pr.datasets(si)
			for _, t := range pr.dsName[from:to] {
				b.p.Exports = append(b.p.Exports, Export{Datastore: sn, Dataset: t, Stream: sn})
				b.exportStream = append(b.exportStream, int32(len(b.p.Streams)))
			}
			b.p.Streams = append(b.p.Streams, Stream{
				Key: sn, Datastore: sn, Datasets: names[n0:len(names):len(names)], Consistency: capture.Consistency,
				Kind: kind, Remote: remote, PrimaryPlatform: primary,
			})
			continue
		}
		from, to := pr.datasets(si)
		for _, t := range pr.dsName[from:to] {
			keyBuf = append(keyBuf, sn...)
			keyBuf = append(keyBuf, '#')
			keyBuf = append(keyBuf, t...)
			keyEnds = append(keyEnds, len(keyBuf))
			names = append(names, t)
			b.exportStream = append(b.exportStream, int32(len(b.p.Streams)))
			b.p.Exports = append(b.p.Exports, Export{Datastore: sn, Dataset: t}) // Stream set below
			b.p.Streams = append(b.p.Streams, Stream{
				Datastore: sn, Datasets: names[len(names)-1 : len(names) : len(names)], Consistency: capture.Consistency,
				Kind: kind, Remote: remote, PrimaryPlatform: primary, // Key set below
			})
		}
	}
	keys := string(keyBuf)
	k, from := 0, 0
	for i := range b.p.Streams {
		if st := &b.p.Streams[i]; st.Key == "" {
			st.Key = keys[from:keyEnds[k]]
			from = keyEnds[k]
			k++
		}
	}
	for i, si := range b.exportStream {
		if b.p.Exports[i].Stream == "" {
			b.p.Exports[i].Stream = b.p.Streams[si].Key
		}
	}
}

// readers records, per export, the workspaces of the graph with a sink on it. Roots are sorted
// by workspace, so appending keeps each list sorted.
func (b *builder) readers() {
	for _, r := range b.p.Roots {
		for _, rf := range b.pr.refs[b.x.DSG(r.Workspace, r.DatasetGroup)] {
			if rf.ds < 0 || b.firstExport[rf.store] < 0 {
				continue
			}
			e := &b.p.Exports[b.firstExport[rf.store]+rf.ds]
			if n := len(e.Readers); n == 0 || e.Readers[n-1] != r.Workspace {
				e.Readers = append(e.Readers, r.Workspace)
			}
		}
	}
}

// edge is an edge by node index.
type edge struct{ from, to int32 }

// nodes builds the nodes and edges (§4.18 step 4) and propagates priorities (step 5). Nodes are
// laid out in id order by construction (DataTransformer < Export < Ingest < Trigger, each kind in
// name order) and their ids are cut from one string, so a large graph costs few allocations;
// names that are not SQL identifiers can break that order, which a final sort repairs.
func (b *builder) nodes() {
	p, d := b.p, b.name
	nT, nE, nS := len(p.Transformers), len(p.Exports), len(p.Streams)
	n := 2*nT + nE + nS
	dt0, ex0, in0, tr0 := 0, nT, nT+nE, nT+nE+nS

	size := 0
	for _, t := range p.Transformers {
		size += 2*len(d) + 2*len(t.Workspace) + len("DataTransformer//Trigger//")
	}
	for _, e := range p.Exports {
		size += len(d) + len(e.Datastore) + len(e.Dataset) + len("Export///")
	}
	for _, s := range p.Streams {
		size += len(d) + len(s.Key) + len("Ingest//")
	}
	buf := make([]byte, 0, size)
	ends := make([]int, 0, n)
	put := func(k NodeKind, parts ...string) {
		buf = append(buf, k.String()...)
		for _, s := range parts {
			buf = append(buf, '/')
			buf = append(buf, s...)
		}
		ends = append(ends, len(buf))
	}
	for _, t := range p.Transformers {
		put(NodeDataTransformer, d, t.Workspace)
	}
	for _, e := range p.Exports {
		put(NodeExport, d, e.Datastore, e.Dataset)
	}
	for _, s := range p.Streams {
		put(NodeIngest, d, s.Key)
	}
	for _, t := range p.Transformers {
		put(NodeTrigger, d, t.Workspace)
	}
	all := string(buf)
	p.Nodes = make([]Node, n)
	from := 0
	for i := range n {
		k := NodeIngest
		switch {
		case i < ex0:
			k = NodeDataTransformer
		case i < in0:
			k = NodeExport
		case i >= tr0:
			k = NodeTrigger
		}
		p.Nodes[i] = Node{ID: all[from:ends[i]], Kind: k}
		from = ends[i]
	}

	// Edges, generated in node order with ascending successors.
	base := make([]modelv1.Priority, n)
	edges := make([]edge, 0, nE+2*nT)
	trigger := make(map[string]int32, nT)
	for i, t := range p.Transformers {
		trigger[t.Workspace] = int32(tr0 + i)
	}
	prio := func(w string) modelv1.Priority { return b.x.Workspaces[w].GetPriority() }
	for i, t := range p.Transformers { // DataTransformer → Ingest of its output streams
		base[dt0+i] = prio(t.Workspace)
		if si, ok := b.storeNum(t.OutputDatastore); ok && b.firstStream[si] >= 0 {
			for j := b.firstStream[si]; int(j) < nS && p.Streams[j].Datastore == t.OutputDatastore; j++ {
				edges = append(edges, edge{int32(dt0 + i), int32(in0) + j})
			}
		}
	}
	for i, e := range p.Exports { // Export → Trigger of the transformers that read it
		for _, w := range e.Readers {
			base[ex0+i] = max(base[ex0+i], prio(w))
			if tn, ok := trigger[w]; ok {
				edges = append(edges, edge{int32(ex0 + i), tn})
			}
		}
	}
	for i, si := range b.exportStream { // Ingest → Export (exports of a stream are contiguous)
		edges = append(edges, edge{int32(in0) + si, int32(ex0 + i)})
	}
	for i, t := range p.Transformers { // Trigger → DataTransformer
		base[tr0+i] = prio(t.Workspace)
		edges = append(edges, edge{int32(tr0 + i), int32(dt0 + i)})
	}
	for i := range base {
		base[i] = max(base[i], modelv1.Priority_PRIORITY_UNKNOWN)
	}
	pr := propagate(base, edges)
	for i := range p.Nodes {
		p.Nodes[i].Priority = pr[i]
	}
	for i := range p.Streams {
		p.Streams[i].Priority = pr[in0+i]
	}
	for i := range p.Exports {
		p.Exports[i].Priority = pr[ex0+i]
	}
	for i := range p.Transformers {
		p.Transformers[i].Priority = pr[dt0+i]
	}

	if !slices.IsSortedFunc(p.Nodes, compareNode) {
		order := make([]int32, n)
		for i := range order {
			order[i] = int32(i)
		}
		slices.SortStableFunc(order, func(a, c int32) int { return compareNode(p.Nodes[a], p.Nodes[c]) })
		rank := make([]int32, n)
		sorted := make([]Node, n)
		for r, i := range order {
			rank[i] = int32(r)
			sorted[r] = p.Nodes[i]
		}
		p.Nodes = sorted
		for i := range edges {
			edges[i] = edge{rank[edges[i].from], rank[edges[i].to]}
		}
	}
	compareEdge := func(a, c edge) int { return cmp.Or(cmp.Compare(a.from, c.from), cmp.Compare(a.to, c.to)) }
	if !slices.IsSortedFunc(edges, compareEdge) {
		slices.SortFunc(edges, compareEdge)
	}
	edges = slices.Compact(edges)
	p.Edges = make([]Edge, len(edges))
	for i, e := range edges {
		p.Edges[i] = Edge{From: p.Nodes[e.from].ID, To: p.Nodes[e.to].ID}
	}
}

// storeNum finds datastore s in name order.
func (b *builder) storeNum(s string) (int, bool) {
	return slices.BinarySearchFunc(b.pr.stores, s, func(d *modelv1.Datastore, k string) int { return strings.Compare(d.GetName(), k) })
}

func compareStream(a, c Stream) int { return strings.Compare(a.Key, c.Key) }

func compareNode(a, c Node) int { return strings.Compare(a.ID, c.ID) }

// propagate gives every node the maximum of its own base priority and the priorities of its
// successors, transitively: a fixed point, so cycles terminate (a priority only ever rises and
// has few values).
func propagate(base []modelv1.Priority, edges []edge) []modelv1.Priority {
	n := len(base)
	start := make([]int32, n+1) // predecessors of v: pred[start[v]:start[v+1]]
	for _, e := range edges {
		start[e.to+1]++
	}
	for i := range n {
		start[i+1] += start[i]
	}
	pred := make([]int32, len(edges))
	fill := slices.Clone(start[:n])
	for _, e := range edges {
		pred[fill[e.to]] = e.from
		fill[e.to]++
	}
	prio := slices.Clone(base)
	queue := make([]int32, n)
	queued := make([]bool, n)
	for i := range queue {
		queue[i] = int32(i)
		queued[i] = true
	}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		queued[v] = false
		for _, u := range pred[start[v]:start[v+1]] {
			if prio[v] > prio[u] {
				prio[u] = prio[v]
				if !queued[u] {
					queued[u] = true
					queue = append(queue, u)
				}
			}
		}
	}
	return prio
}
