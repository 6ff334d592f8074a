// Package graph builds the intention graph of every data platform (spec/model.md §4.18) from a
// canonical model: the dataset groups a platform serves, the transformer workspaces it pulls in,
// its ingestion streams and merge tables, the Ingest → Export → Trigger → DataTransformer nodes
// with their propagated priorities, the transformer cycles of the ecosystem and the dependency
// tree of a datastore. Everything here is a pure, deterministic function of the model; it never
// reports problems (lint turns cycles and policy violations into problems).
package graph

import (
	"cmp"
	"slices"
	"strings"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// KindRemote is the effective capture of a stream that a platform copies from the first primary
// ingestion platform of its datastore instead of reading the source (yellow.md §8).
const KindRemote = "remote"

// Ecosystem is the intention graph of every data platform of a model.
type Ecosystem struct {
	// Platforms holds the graph of every data platform of the model, by name.
	Platforms map[string]*Platform
	// Cycles lists the transformer cycles of the model: for every workspace that consumes,
	// directly or through other transformers, its own transformer's output, the shortest path
	// W1 → W2 → … → W1 where each workspace consumes the output of the next. One cycle per such
	// workspace, sorted by W1.
	Cycles [][]string
}

// PlatformNames returns the names of the platforms, sorted.
func (e *Ecosystem) PlatformNames() []string {
	names := make([]string, 0, len(e.Platforms))
	for n := range e.Platforms {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Platform is the intention graph of one data platform.
type Platform struct {
	Name string
	// Roots are the dataset groups the platform serves, sorted by (workspace, dataset group).
	Roots []Root
	// Streams are the ingestion streams, sorted by key.
	Streams []Stream
	// Exports are the platform's merge tables, one per dataset of every stream, sorted by
	// (datastore, dataset).
	Exports []Export
	// Transformers are the transformer workspaces the platform runs, sorted by workspace.
	Transformers []Transformer
	// Nodes are sorted by id; Edges by (from, to).
	Nodes []Node
	Edges []Edge
}

// Root is one dataset group of a platform's graph.
type Root struct {
	Workspace    string
	DatasetGroup string
	// Status is the assignment's status for an assigned dataset group (never DECOMMISSIONED);
	// ASSIGNMENT_STATUS_UNSPECIFIED for a group only pulled in as a transformer root.
	Status modelv1.AssignmentStatus
	// Transformer marks a group of a transformer workspace pulled in because a workspace on
	// the platform consumes its output (§4.18 step 2).
	Transformer bool
}

// Stream is one ingestion stream (spec/model.md §4.10) of a platform.
type Stream struct {
	Key       string
	Datastore string
	// Datasets are the datasets the stream ingests, in model order: all datasets of the
	// datastore for MULTI_DATASET, the one dataset for SINGLE_DATASET.
	Datasets    []string
	Consistency modelv1.Consistency
	// Kind is the effective capture on this platform: one of the index.Kind* constants, or
	// KindRemote.
	Kind string
	// Remote is true when the datastore has a primary ingestion that does not list this
	// platform; PrimaryPlatform is then the first listed platform, the one copied from.
	Remote          bool
	PrimaryPlatform string
	Priority        modelv1.Priority
}

// Export is one merge table of a platform, shared by every workspace on it.
type Export struct {
	Datastore string
	Dataset   string
	// Stream is the key of the stream that fills the table.
	Stream string
	// Readers are the workspaces of the graph with a sink on the dataset, sorted.
	Readers  []string
	Priority modelv1.Priority
}

// Transformer is a transformer workspace a platform runs.
type Transformer struct {
	Workspace       string
	Name            string // the DataTransformer's name
	OutputDatastore string
	Priority        modelv1.Priority
}

// NodeKind is the kind of a graph node.
type NodeKind int

// Node kinds, in pipeline order.
const (
	NodeIngest NodeKind = iota + 1
	NodeExport
	NodeTrigger
	NodeDataTransformer
)

// String returns the node kind as it appears in node ids.
func (k NodeKind) String() string {
	switch k {
	case NodeIngest:
		return "Ingest"
	case NodeExport:
		return "Export"
	case NodeTrigger:
		return "Trigger"
	case NodeDataTransformer:
		return "DataTransformer"
	}
	return "NodeKind(?)"
}

// Node is a node of a platform's graph. Ids: Ingest/D/<stream key>, Export/D/<S>/<T>,
// Trigger/D/<W>, DataTransformer/D/<W>.
type Node struct {
	ID       string
	Kind     NodeKind
	Priority modelv1.Priority
}

// Edge runs from a node to the node it feeds.
type Edge struct {
	From string
	To   string
}

// IngestID returns Ingest/D/<key>.
func IngestID(d, key string) string { return "Ingest/" + d + "/" + key }

// ExportID returns Export/D/<S>/<T>.
func ExportID(d, s, t string) string { return "Export/" + d + "/" + s + "/" + t }

// TriggerID returns Trigger/D/<W>.
func TriggerID(d, w string) string { return "Trigger/" + d + "/" + w }

// DataTransformerID returns DataTransformer/D/<W>.
func DataTransformerID(d, w string) string { return "DataTransformer/" + d + "/" + w }

// Stream returns the stream with the given key.
func (p *Platform) Stream(key string) (Stream, bool) {
	i, ok := slices.BinarySearchFunc(p.Streams, key, func(s Stream, k string) int { return strings.Compare(s.Key, k) })
	if !ok {
		return Stream{}, false
	}
	return p.Streams[i], true
}

// Export returns the merge table of dataset t of datastore s.
func (p *Platform) Export(s, t string) (Export, bool) {
	i, ok := slices.BinarySearchFunc(p.Exports, [2]string{s, t}, func(e Export, k [2]string) int {
		return cmp.Or(strings.Compare(e.Datastore, k[0]), strings.Compare(e.Dataset, k[1]))
	})
	if !ok {
		return Export{}, false
	}
	return p.Exports[i], true
}

// Ingests reports whether the platform ingests (reads or copies) datastore s.
func (p *Platform) Ingests(s string) bool {
	i, _ := slices.BinarySearchFunc(p.Exports, s, func(e Export, k string) int { return strings.Compare(e.Datastore, k) })
	return i < len(p.Exports) && p.Exports[i].Datastore == s
}
