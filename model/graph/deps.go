package graph

import (
	"slices"

	"github.com/datasurface/datasurface/model/index"
)

// consumes returns, for every workspace, the sorted workspaces whose transformer output it
// consumes: W → W' when a sink of W names a datastore with capture transformerOutput W' (an
// existing workspace).
func consumes(x *index.Index) map[string][]string {
	out := make(map[string][]string)
	for _, w := range x.Model.GetWorkspaces() {
		var next []string
		for _, g := range w.GetDatasetGroups() {
			for _, sink := range g.GetSinks() {
				p := producer(x.Datastores[sink.GetDatastore()])
				if p != "" && x.Workspaces[p] != nil {
					next = append(next, p)
				}
			}
		}
		if len(next) > 0 {
			slices.Sort(next)
			out[w.GetName()] = slices.Compact(next)
		}
	}
	return out
}

// Cycles returns the transformer cycles of the model (spec/model.md §4.18 step 2, lint
// DS-LINT-097): for every workspace that consumes its own transformer output, directly or
// through other transformers, the shortest path W → W2 → … → W, where each workspace consumes
// the output of the next (ties broken by name). Sorted by the first workspace.
func Cycles(x *index.Index) [][]string { return cycles(consumes(x)) }

// consumes is the package function consumes over resolved sinks.
func (pr *prep) consumes() map[string][]string {
	out := make(map[string][]string)
	for _, w := range pr.x.Model.GetWorkspaces() {
		var next []string
		for _, g := range w.GetDatasetGroups() {
			for _, r := range pr.refs[g] {
				if p := pr.producer[r.store]; p != "" && pr.x.Workspaces[p] != nil {
					next = append(next, p)
				}
			}
		}
		if len(next) > 0 {
			slices.Sort(next)
			out[w.GetName()] = slices.Compact(next)
		}
	}
	return out
}

// cycles finds the cycles of the consumes relation (see Cycles).
func cycles(next map[string][]string) [][]string {
	if len(next) == 0 {
		return nil
	}
	comp := sccs(next)
	names := make([]string, 0, len(comp))
	for w := range comp {
		names = append(names, w)
	}
	slices.Sort(names)
	var out [][]string
	for _, w := range names {
		if c := shortestCycle(next, comp, w); c != nil {
			out = append(out, c)
		}
	}
	return out
}

// sccs returns the strongly connected component id of every node that lies on a cycle
// (Tarjan's algorithm, iterative so deep chains cannot overflow the stack).
func sccs(next map[string][]string) map[string]int {
	nodes := make([]string, 0, len(next))
	for w := range next {
		nodes = append(nodes, w)
	}
	slices.Sort(nodes)
	idx := make(map[string]int, len(nodes))
	low := make(map[string]int, len(nodes))
	on := make(map[string]bool)
	var stack []string
	counter, compID := 0, 0
	cyclic := make(map[string]int)

	type frame struct {
		v string
		i int
	}
	for _, root := range nodes {
		if _, seen := idx[root]; seen {
			continue
		}
		call := []frame{{v: root}}
		idx[root], low[root] = counter, counter
		counter++
		stack = append(stack, root)
		on[root] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			if f.i < len(next[f.v]) {
				u := next[f.v][f.i]
				f.i++
				if _, seen := idx[u]; !seen {
					idx[u], low[u] = counter, counter
					counter++
					stack = append(stack, u)
					on[u] = true
					call = append(call, frame{v: u})
				} else if on[u] {
					low[f.v] = min(low[f.v], idx[u])
				}
				continue
			}
			v := f.v
			call = call[:len(call)-1]
			if len(call) > 0 {
				parent := call[len(call)-1].v
				low[parent] = min(low[parent], low[v])
			}
			if low[v] != idx[v] {
				continue
			}
			var members []string
			for {
				u := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				on[u] = false
				members = append(members, u)
				if u == v {
					break
				}
			}
			if len(members) > 1 || slices.Contains(next[v], v) {
				for _, u := range members {
					cyclic[u] = compID
				}
			}
			compID++
		}
	}
	return cyclic
}

// shortestCycle returns the shortest path w → … → w inside w's component (breadth first,
// successors in name order), or nil.
func shortestCycle(next map[string][]string, comp map[string]int, w string) []string {
	c, ok := comp[w]
	if !ok {
		return nil
	}
	prev := map[string]string{}
	queue := []string{w}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, u := range next[v] {
			if cu, ok := comp[u]; !ok || cu != c {
				continue
			}
			if u == w {
				path := []string{w}
				for at := v; at != w; at = prev[at] {
					path = append(path, at)
				}
				path = append(path, w)
				// path is w, v, …, w reversed after the first element; fix the order.
				slices.Reverse(path[1 : len(path)-1])
				return path
			}
			if _, seen := prev[u]; seen {
				continue
			}
			prev[u] = v
			queue = append(queue, u)
		}
	}
	return nil
}

// Dependent is a workspace that depends on a datastore, with the workspaces that depend on its
// transformer's output datastore.
type Dependent struct {
	Workspace    string
	Dependencies []Dependent
}

// Dependencies returns the dependency tree of datastore s (read API get_dependencies,
// spec/model.md §4.18): the workspaces with a sink on s, each with, recursively, the
// dependencies of its transformer's output datastore. A workspace already on the path is listed
// but not expanded again. Every level is sorted by workspace name.
func Dependencies(x *index.Index, s string) []Dependent {
	readers := make(map[string][]string)
	for _, w := range x.Model.GetWorkspaces() {
		for _, g := range w.GetDatasetGroups() {
			for _, sink := range g.GetSinks() {
				sn := sink.GetDatastore()
				if rs := readers[sn]; len(rs) == 0 || rs[len(rs)-1] != w.GetName() {
					readers[sn] = append(readers[sn], w.GetName())
				}
			}
		}
	}
	for sn, rs := range readers {
		slices.Sort(rs)
		readers[sn] = slices.Compact(rs)
	}
	onPath := make(map[string]bool)
	var deps func(s string) []Dependent
	deps = func(s string) []Dependent {
		rs := readers[s]
		if len(rs) == 0 {
			return nil
		}
		out := make([]Dependent, 0, len(rs))
		for _, w := range rs {
			d := Dependent{Workspace: w}
			if !onPath[w] {
				if t := x.Workspaces[w].GetTransformer(); t != nil && t.GetOutputDatastore() != "" {
					onPath[w] = true
					d.Dependencies = deps(t.GetOutputDatastore())
					onPath[w] = false
				}
			}
			out = append(out, d)
		}
		return out
	}
	return deps(s)
}
