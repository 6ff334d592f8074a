package lint

import (
	"slices"
	"strings"

	"github.com/datasurface/datasurface/model/graph"
	"github.com/datasurface/datasurface/model/index"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// checkGraph runs the intention-graph rules (spec/model.md §8 step 4): DS-LINT-097 transformer
// cycles, DS-LINT-035 platform policies over every platform's streams, and DS-LINT-102 Yellow
// platforms whose access is not managed.
func checkGraph(c *Context) {
	eco := graph.BuildWith(c.Index, graph.Options{Outline: true})
	checkGraphCycles(c, eco.Cycles)
	checkGraphPlatformPolicies(c, eco)
	checkGraphUnmanagedAccess(c)
}

// checkGraphCycles reports DS-LINT-097 once per workspace on a transformer cycle, at the sink of
// that workspace that reads the next workspace's output.
func checkGraphCycles(c *Context, cycles [][]string) {
	for _, cyc := range cycles {
		w, next := cyc[0], cyc[1]
		quoted := make([]string, len(cyc))
		for i, n := range cyc {
			quoted[i] = "'" + n + "'"
		}
		c.Report(RuleTransformerCycle, index.WorkspacePath(w), grSinkReading(c.Index, w, next),
			"workspace '%s' consumes its own transformer output through %s", w, strings.Join(quoted, " → "))
	}
}

// grSinkReading returns the source-map key of the first sink of workspace w that names a
// datastore written by workspace producer (the workspace itself when there is none).
func grSinkReading(x *index.Index, w, producer string) string {
	for _, g := range x.Workspaces[w].GetDatasetGroups() {
		for _, s := range g.GetSinks() {
			out, ok := x.Datastores[s.GetDatastore()].GetCapture().GetKind().(*modelv1.CaptureMetadata_TransformerOutput)
			if ok && out.TransformerOutput.GetWorkspace() == producer {
				return index.SinkPath(w, g.GetName(), s.GetDatastore(), s.GetDataset())
			}
		}
	}
	return index.WorkspacePath(w)
}

// checkGraphPlatformPolicies reports DS-LINT-035: every platform that ingests (reads or copies)
// a datastore must be accepted by every platform policy of the datastore's zone. The problem
// cites the datastore.
func checkGraphPlatformPolicies(c *Context, eco *graph.Ecosystem) {
	for _, d := range eco.PlatformNames() {
		p := eco.Platforms[d]
		for i, e := range p.Exports {
			if i > 0 && p.Exports[i-1].Datastore == e.Datastore {
				continue // one check per datastore
			}
			ds := c.Index.Datastores[e.Datastore]
			for _, pol := range c.Index.Zones[ds.GetZone()].GetPlatformPolicies() {
				if !grAccepts(pol, d) {
					c.Report(RulePlatformPolicyViolation, index.DatastorePath(e.Datastore), index.DatastorePath(e.Datastore),
						"platform '%s' may not ingest datastore '%s': not allowed by platform policy '%s' of zone '%s'",
						d, e.Datastore, pol.GetName(), ds.GetZone())
				}
			}
		}
	}
}

// grAccepts is accepts(x) of an allow/deny policy (spec/model.md §4.3).
func grAccepts(p *modelv1.AllowDenyPolicy, x string) bool {
	if len(p.GetAllowed()) > 0 && !slices.Contains(p.GetAllowed(), x) {
		return false
	}
	return !slices.Contains(p.GetNotAllowed(), x)
}

// checkGraphUnmanagedAccess reports DS-LINT-102 for every Yellow platform without a
// securityCredential, at its `yellow` mapping.
func checkGraphUnmanagedAccess(c *Context) {
	for _, psp := range c.Model.GetPsps() {
		for _, d := range psp.GetPlatforms() {
			y := d.GetYellow()
			if y == nil || y.GetSecurityCredential() != nil {
				continue
			}
			path := index.PlatformPath(psp.GetName(), d.GetName())
			c.Report(RulePlatformUnmanagedAccess, path, path+"#yellow",
				"platform '%s' has no securityCredential: workspace access is not managed", d.GetName())
		}
	}
}
