package lint

import (
	"strings"

	"github.com/datasurface/datasurface/model/index"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// checkReferences reports DS-LINT-006 for the links of spec/model.md §2.3 that have no rule of
// their own: sink → datastore, and datastore/workspace container `{ref}` → team container. A
// reference matches exactly; one that matches only case-insensitively names the spelling that
// exists. The other links are reported by their specific rules: sink → dataset (081),
// transformer → output datastore (091), capture transformerOutput → workspace (074), assignment
// (098), primary ingestion (100), approvals (056), stream overrides (101), dataset → storage
// policies (031), location keys → vendor tree (015–017, checkEcosystem) and zone/team metadata
// (018–020). Credentials resolve at run time, never in lint. Empty references are the loader's
// (a required field).
func checkReferences(c *Context) {
	r := refRules{c: c}
	for _, w := range c.Model.GetWorkspaces() {
		for _, g := range w.GetDatasetGroups() {
			for _, s := range g.GetSinks() {
				r.sinkDatastore(w.GetName(), g.GetName(), s)
			}
		}
		wp := index.WorkspacePath(w.GetName())
		r.containerRef(w.GetZone(), w.GetTeam(), w.GetContainer(), wp, wp+"#container.ref")
	}
	for _, s := range c.Model.GetDatastores() {
		cp := index.CaptureOf(s)
		sp := index.DatastorePath(s.GetName())
		r.containerRef(s.GetZone(), s.GetTeam(), cp.Container, sp, sp+"#"+cp.FieldPrefix+".container.ref")
	}
}

// refRules resolves references; its case-folded lookups are built on the first miss only.
type refRules struct {
	c          *Context
	foldStores map[string]string // lower-cased datastore name → first spelling
}

func (r *refRules) sinkDatastore(w, g string, s *modelv1.DatasetSink) {
	n := s.GetDatastore()
	if n == "" {
		return
	}
	if _, ok := r.c.Index.Datastores[n]; ok {
		return
	}
	if r.foldStores == nil {
		r.foldStores = make(map[string]string, len(r.c.Index.Datastores))
		for _, ds := range r.c.Model.GetDatastores() {
			if _, ok := r.foldStores[strings.ToLower(ds.GetName())]; !ok {
				r.foldStores[strings.ToLower(ds.GetName())] = ds.GetName()
			}
		}
	}
	p := index.SinkPath(w, g, n, s.GetDataset())
	r.unknown("datastore", n, r.foldStores[strings.ToLower(n)], p, p+"#datastore")
}

// containerRef checks a `{ref: name}` container against the team containers of zone/team.
func (r *refRules) containerRef(zone, team string, dc *modelv1.DataContainer, path, key string) {
	ref, ok := dc.GetKind().(*modelv1.DataContainer_Ref)
	if !ok || ref.Ref == "" || r.c.Index.ResolveContainer(zone, team, dc) != nil {
		return
	}
	var guess string
	for _, tc := range r.c.Index.Teams[index.TeamKey(zone, team)].GetContainers() {
		if n := index.ContainerName(tc); strings.EqualFold(n, ref.Ref) {
			guess = n
			break
		}
	}
	r.unknown("team container", ref.Ref, guess, path, key)
}

// unknown reports DS-LINT-006 for reference n to a missing what; guess, when not empty, is the
// existing spelling that matches n case-insensitively.
func (r *refRules) unknown(what, n, guess, path, key string) {
	if guess != "" && guess != n {
		r.c.Report(RuleReferenceUnknown, path, key, "%s '%s' does not exist; did you mean '%s'?", what, oneLineName(n), oneLineName(guess))
		return
	}
	r.c.Report(RuleReferenceUnknown, path, key, "%s '%s' does not exist", what, oneLineName(n))
}
