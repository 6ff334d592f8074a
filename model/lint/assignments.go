package lint

import (
	"github.com/datasurface/datasurface/model/index"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// checkAssignments: DS-LINT-090 (a transformer workspace's dataset group is assigned), 098
// (unknown workspace, dataset group or platform), 099 (assigned without platformRequirements),
// 100 (primary ingestion names) and 101 (Yellow stream overrides). DS-LINT-102 is the
// intention graph's.
func checkAssignments(c *Context) {
	k := newObjChecker(c)
	for _, a := range c.Model.GetAssignments() {
		k.checkAssignment(a)
	}
	for _, pi := range c.Model.GetPrimaryIngestions() {
		k.checkPrimaryIngestion(pi)
	}
	for _, p := range c.Model.GetPsps() {
		for _, d := range p.GetPlatforms() {
			k.checkStreamOverrides(p, d)
		}
	}
}

func (k *objChecker) checkAssignment(a *modelv1.DatasetGroupAssignment) {
	w, g := a.GetWorkspace(), a.GetDatasetGroup()
	path := index.AssignmentPath(w, g)
	ws := k.x.Workspaces[w]
	var dsg *modelv1.DatasetGroup
	switch {
	case ws == nil:
		k.c.Report(RuleAssignmentUnknown, path, path+"#workspace", "assignment names unknown workspace '%s'", w)
	default:
		if dsg = k.x.DSG(w, g); dsg == nil {
			k.c.Report(RuleAssignmentUnknown, path, path+"#datasetGroup", "assignment names unknown dataset group '%s.%s'", w, g)
		}
	}
	for _, pa := range a.GetPlatforms() {
		d := pa.GetPlatform()
		ppath := index.AssignmentPlatformPath(w, g, d)
		if k.x.Platforms[d] == nil {
			k.c.Report(RuleAssignmentUnknown, ppath, ppath+"#platform", "assignment names unknown platform '%s'", d)
		}
		if dsg != nil && ws.GetTransformer() == nil && dsg.GetPlatformRequirements() == nil {
			k.c.Report(RuleAssignmentRequirementsMiss, ppath, ppath,
				"dataset group '%s.%s' is assigned to '%s' but has no platformRequirements", w, g, d)
		}
	}
	if ws.GetTransformer() != nil {
		k.c.Report(RuleTransformerWorkspaceAssign, path, path,
			"'%s' has a transformer, so dataset group '%s' must not be assigned to a platform", w, g)
	}
}

func (k *objChecker) checkPrimaryIngestion(pi *modelv1.PrimaryIngestion) {
	s := pi.GetDatastore()
	path := index.PrimaryPath(s)
	if k.x.Datastores[s] == nil {
		k.c.Report(RulePrimaryIngestionUnknown, path, path+"#datastore", "primaryIngestion names unknown datastore '%s'", s)
	}
	for _, d := range pi.GetPlatforms() {
		if k.x.Platforms[d] == nil {
			k.c.Report(RulePrimaryIngestionUnknown, path, path+"#platforms["+d+"]", "primaryIngestion names unknown platform '%s'", d)
		}
	}
}

// checkStreamOverrides: DS-LINT-101 — an override names a datastore, and a dataset exactly when
// the datastore's streams are per dataset (SINGLE_DATASET).
func (k *objChecker) checkStreamOverrides(p *modelv1.PlatformServicesProvider, d *modelv1.DataPlatform) {
	path := index.PlatformPath(p.GetName(), d.GetName())
	for _, so := range d.GetYellow().GetStreamOverrides() {
		s, dn := so.GetDatastore(), so.GetDataset()
		elem := s
		if dn != "" {
			elem += "." + dn
		}
		key := path + "#yellow.streamOverrides[" + elem + "]"
		store := k.x.Datastores[s]
		if store == nil {
			k.c.Report(RuleStreamOverrideInvalid, path, key, "stream override for '%s': unknown datastore", s)
			continue
		}
		switch cons := index.CaptureOf(store).Consistency; {
		case cons == modelv1.Consistency_CONSISTENCY_SINGLE_DATASET && dn == "":
			k.c.Report(RuleStreamOverrideInvalid, path, key, "stream override for '%s': dataset required for SINGLE_DATASET", s)
		case cons == modelv1.Consistency_CONSISTENCY_MULTI_DATASET && dn != "":
			k.c.Report(RuleStreamOverrideInvalid, path, key, "stream override for '%s': dataset not allowed for MULTI_DATASET", s)
		case dn != "" && k.dataset(store, dn) == nil:
			k.c.Report(RuleStreamOverrideInvalid, path, key, "stream override for '%s': unknown dataset '%s'", s, dn)
		}
	}
}
