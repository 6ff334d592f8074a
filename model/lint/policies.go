package lint

import (
	"slices"
	"strings"

	"github.com/datasurface/datasurface/model/index"
	"github.com/datasurface/datasurface/model/names"
	"github.com/datasurface/datasurface/model/problem"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// checkZones reports the zone policy rules DS-LINT-030..034 (spec/model.md §4.3, §7.4): values
// both allowed and forbidden, datasets' storage policies, and the location, vendor and
// hard-vendor policies over workspace and capture containers. Platform policies (035) are
// evaluated over the intention graph (checkGraph).
func checkZones(c *Context) {
	checkPolicyOverlaps(c)
	checkStoragePolicies(c)
	checkPlacementPolicies(c)
}

// checkPolicyOverlaps reports DS-LINT-030 for every allow/deny policy (the zones' and the
// workspaces' own classification policies) that lists a value as both allowed and not allowed.
func checkPolicyOverlaps(c *Context) {
	for _, z := range c.Model.GetZones() {
		zp := index.ZonePath(z.GetName())
		for _, k := range zonePolicyKinds {
			for _, p := range k.get(z) {
				checkPolicyOverlap(c, p, zp, zp+"#"+k.field+"["+p.GetName()+"]")
			}
		}
	}
	for _, w := range c.Model.GetWorkspaces() {
		if p := w.GetClassificationPolicy(); p != nil {
			wp := index.WorkspacePath(w.GetName())
			checkPolicyOverlap(c, p, wp, wp+"#classificationPolicy")
		}
	}
}

// checkPolicyOverlap reports each value of p that is in both lists once, at its notAllowed entry
// (key is the policy's own source-map key).
func checkPolicyOverlap(c *Context, p *modelv1.AllowDenyPolicy, path, key string) {
	allowed, denied := p.GetAllowed(), p.GetNotAllowed()
	if len(allowed) == 0 || len(denied) == 0 {
		return
	}
	var seen []string
	for _, v := range denied {
		if !slices.Contains(allowed, v) || slices.Contains(seen, v) {
			continue
		}
		seen = append(seen, v)
		c.Report(RulePolicyOverlap, path, key+".notAllowed["+v+"]", "policy '%s' both allows and forbids '%s'",
			oneLineName(p.GetName()), oneLineName(v))
	}
}

// checkStoragePolicies reports DS-LINT-031 for a dataset naming a storage policy its datastore's
// zone does not have, and DS-LINT-032 for one naming a deprecated policy (a WARNING when the
// dataset or its datastore is itself deprecated).
func checkStoragePolicies(c *Context) {
	byZone := make(map[string]map[string]*modelv1.StoragePolicy)
	policies := func(zone string) map[string]*modelv1.StoragePolicy {
		m, ok := byZone[zone]
		if !ok {
			ps := c.Index.Zones[zone].GetStoragePolicies()
			m = make(map[string]*modelv1.StoragePolicy, len(ps))
			for _, p := range ps {
				if _, dup := m[p.GetName()]; !dup {
					m[p.GetName()] = p
				}
			}
			byZone[zone] = m
		}
		return m
	}
	for _, s := range c.Model.GetDatastores() {
		storeDeprecated := isDeprecated(s.GetDeprecation())
		for _, d := range s.GetDatasets() {
			if len(d.GetStoragePolicies()) == 0 {
				continue
			}
			zone := s.GetZone()
			ps := policies(zone)
			for _, pn := range d.GetStoragePolicies() {
				p, ok := ps[pn]
				if ok && !isDeprecated(p.GetDeprecation()) {
					continue
				}
				dp := index.DatasetPath(s.GetName(), d.GetName())
				key := dp + "#storagePolicies[" + pn + "]"
				if !ok {
					c.Report(RuleStoragePolicyForeign, dp, key, "dataset '%s' uses storage policy '%s', which is not a policy of zone '%s'",
						oneLineName(d.GetName()), oneLineName(pn), oneLineName(zone))
					continue
				}
				sev := problem.Error
				if storeDeprecated || isDeprecated(d.GetDeprecation()) {
					sev = problem.Warning
				}
				c.ReportSeverity(RuleStoragePolicyDeprecated, sev, dp, key, "dataset '%s' uses deprecated storage policy '%s'",
					oneLineName(d.GetName()), oneLineName(pn))
			}
		}
	}
}

func isDeprecated(d *modelv1.Deprecation) bool {
	return d.GetStatus() == modelv1.DeprecationStatus_DEPRECATION_STATUS_DEPRECATED
}

// checkPlacementPolicies reports DS-LINT-033 and DS-LINT-034: every location of a workspace's
// data container must be accepted by every location, vendor and hard-vendor policy of the zone
// owning each datastore the workspace sinks; every location of a datastore's capture container
// by those of its own zone. Locations that do not resolve (015–017) are skipped.
func checkPlacementPolicies(c *Context) {
	pc := placementRules{c: c, lr: newLocResolver(c.Index), missing: make(map[string]bool)}
	x := c.Index
	var zones []string
	for _, w := range c.Model.GetWorkspaces() {
		site := placementSite{kind: "workspace", name: w.GetName(), field: "container"}
		site.resolve(x, w.GetZone(), w.GetTeam(), w.GetContainer())
		if len(site.locs) == 0 {
			continue
		}
		zones = zones[:0]
		for _, g := range w.GetDatasetGroups() {
			for _, s := range g.GetSinks() {
				if ds := x.Datastores[s.GetDatastore()]; ds != nil && !slices.Contains(zones, ds.GetZone()) {
					zones = append(zones, ds.GetZone())
				}
			}
		}
		for _, z := range zones {
			pc.check(&site, z)
		}
	}
	for _, s := range c.Model.GetDatastores() {
		cp := index.CaptureOf(s)
		if cp.Container == nil {
			continue
		}
		site := placementSite{kind: "datastore", name: s.GetName(), field: cp.FieldPrefix + ".container"}
		site.resolve(x, s.GetZone(), s.GetTeam(), cp.Container)
		pc.check(&site, s.GetZone())
	}
}

// placementSite is the container of a workspace or datastore whose locations zone policies
// constrain.
type placementSite struct {
	kind, name string // "workspace", "SalesAnalytics"
	field      string // field path of the container in the object: "container", "capture.sqlSnapshot.container"
	ref        bool   // the container is a `{ref}` to a team container
	variant    string // YAML variant of an inline container
	locs       []string
}

// resolve follows a `{ref}` to the team container of zone/team and collects the locations.
func (s *placementSite) resolve(x *index.Index, zone, team string, dc *modelv1.DataContainer) {
	if _, s.ref = dc.GetKind().(*modelv1.DataContainer_Ref); s.ref {
		dc = x.ResolveContainer(zone, team, dc)
	}
	info := index.ContainerOf(dc)
	s.variant, s.locs = info.Variant, info.Locations
}

func (s *placementSite) path() string {
	if s.kind == "workspace" {
		return index.WorkspacePath(s.name)
	}
	return index.DatastorePath(s.name)
}

// key is the node cited for location loc: the location entry of an inline container, the ref
// node of a referenced one.
func (s *placementSite) key(loc string) string {
	if s.ref {
		return s.path() + "#" + s.field + ".ref"
	}
	return s.path() + "#" + s.field + "." + s.variant + ".locations[" + loc + "]"
}

// placementRules evaluates location, vendor and hard-vendor policies.
type placementRules struct {
	c  *Context
	lr *locResolver
	// missing remembers the (vendor, zone, policy) triples already reported by DS-LINT-034.
	missing map[string]bool
}

// check evaluates the locations of site against the policies of zone.
func (pc *placementRules) check(site *placementSite, zone string) {
	z := pc.c.Index.Zones[zone]
	if z == nil || len(site.locs) == 0 {
		return
	}
	if len(z.GetLocationPolicies()) == 0 && len(z.GetVendorPolicies()) == 0 && len(z.GetHardVendorPolicies()) == 0 {
		return
	}
	violation := func(loc, kind string, p *modelv1.AllowDenyPolicy) {
		pc.c.Report(RuleLocationPolicyViolation, site.path(), site.key(loc), "location '%s' of %s is not allowed by %s '%s' of zone '%s'",
			oneLineName(loc), quotedScope(site.kind, site.name), kind, oneLineName(p.GetName()), oneLineName(zone))
	}
	for _, loc := range site.locs {
		res := pc.lr.resolve(loc)
		if res.fault != locOK {
			continue
		}
		for _, p := range z.GetLocationPolicies() {
			if !pc.acceptsLocation(p, res.key) {
				violation(loc, "location policy", p)
			}
		}
		for _, p := range z.GetVendorPolicies() {
			if !acceptsValue(p, res.key.Vendor) {
				violation(loc, "vendor policy", p)
			}
		}
		if len(z.GetHardVendorPolicies()) == 0 {
			continue
		}
		v := pc.c.Index.Vendors[res.key.Vendor]
		cv := v.GetCloudVendor()
		for _, p := range z.GetHardVendorPolicies() {
			if cv == modelv1.CloudVendor_CLOUD_VENDOR_UNSPECIFIED {
				pc.hardVendorMissing(v, zone, p)
				continue
			}
			if !acceptsValue(p, cloudVendorName(cv)) {
				violation(loc, "hard-vendor policy", p)
			}
		}
	}
}

// hardVendorMissing reports DS-LINT-034 once per (vendor, zone, policy), at the vendor.
func (pc *placementRules) hardVendorMissing(v *modelv1.Vendor, zone string, p *modelv1.AllowDenyPolicy) {
	k := v.GetName() + "\x00" + zone + "\x00" + p.GetName()
	if pc.missing[k] {
		return
	}
	pc.missing[k] = true
	vp := index.VendorPath(v.GetName())
	pc.c.Report(RuleHardVendorMissing, vp, vp+"#cloudVendor", "vendor '%s' has no cloudVendor but zone '%s' has hard-vendor policy '%s'",
		oneLineName(v.GetName()), oneLineName(zone), oneLineName(p.GetName()))
}

// acceptsLocation is accepts(k) of a location policy: an entry covers its node and descendants.
// Entries that are not location keys (DS-LINT-015) cover nothing.
func (pc *placementRules) acceptsLocation(p *modelv1.AllowDenyPolicy, k names.LocationKey) bool {
	covered := func(entries []string) bool {
		for _, e := range entries {
			if res := pc.lr.resolve(e); res.fault != locSyntax && res.key.Covers(k) {
				return true
			}
		}
		return false
	}
	if len(p.GetAllowed()) > 0 && !covered(p.GetAllowed()) {
		return false
	}
	return !covered(p.GetNotAllowed())
}

// acceptsValue is accepts(x) of spec/model.md §4.3: false if allowed is non-empty and lacks x,
// false if notAllowed holds x, true otherwise.
func acceptsValue(p *modelv1.AllowDenyPolicy, x string) bool {
	if len(p.GetAllowed()) > 0 && !slices.Contains(p.GetAllowed(), x) {
		return false
	}
	return !slices.Contains(p.GetNotAllowed(), x)
}

// cloudVendorName returns the YAML spelling of a cloud vendor: AWS, AZURE_CHINA, …
func cloudVendorName(cv modelv1.CloudVendor) string {
	return strings.TrimPrefix(cv.String(), "CLOUD_VENDOR_")
}
