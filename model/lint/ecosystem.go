package lint

import (
	"errors"

	"github.com/datasurface/datasurface/model/index"
	"github.com/datasurface/datasurface/model/names"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// checkEcosystem reports DS-LINT-010..020: the ecosystem's repositories, vendors, every location
// key of the model (resolved against the vendor tree), zones declared and defined, and teams
// declared in their zone. Without an Ecosystem document (the loader's DS-LOAD-011) the rules that
// need it (010, 011, 016, 017, 018) are skipped rather than reported for every object.
func checkEcosystem(c *Context) {
	eco := c.Model.GetEcosystem()
	if eco != nil {
		checkRepositories(c, eco)
		for _, v := range eco.GetVendors() {
			if v.GetDocumentation().GetDescription() == "" {
				p := index.VendorPath(v.GetName())
				c.Report(RuleVendorDocumentationMissing, p, p+"#documentation", "vendor '%s' has no documentation", oneLineName(v.GetName()))
			}
		}
	}
	checkLocationKeys(c, eco != nil)
	checkZoneMembership(c, eco != nil)
}

// checkRepositories reports DS-LINT-010..013 for the ecosystem's repositories and the owning
// repositories of zone and team declarations.
func checkRepositories(c *Context, eco *modelv1.Ecosystem) {
	const ep = index.EcosystemPath
	owning, live := eco.GetOwningRepo(), eco.GetLiveRepo()
	checkRepository(c, owning, ep, ep+"#owningRepo")
	if live == "" {
		c.Report(RuleLiveRepoMissing, ep, ep+"#liveRepo", "ecosystem has no liveRepo")
	} else {
		if live == owning {
			c.Report(RuleLiveRepoIsOwner, ep, ep+"#liveRepo", "liveRepo '%s' must differ from owningRepo", oneLineName(live))
		}
		checkRepository(c, live, ep, ep+"#liveRepo")
	}
	for _, z := range eco.GetZones() {
		checkRepository(c, z.GetOwningRepo(), ep, ep+"#zones["+z.GetName()+"].owningRepo")
	}
	for _, z := range c.Model.GetZones() {
		zp := index.ZonePath(z.GetName())
		for _, t := range z.GetTeams() {
			checkRepository(c, t.GetOwningRepo(), zp, zp+"#teams["+t.GetName()+"].owningRepo")
		}
	}
}

// checkRepository reports DS-LINT-012 and/or DS-LINT-013 for an invalid repository reference. An
// empty reference is a missing required field, the loader's problem.
func checkRepository(c *Context, ref, path, key string) {
	if ref == "" {
		return
	}
	_, err := names.ParseRepository(ref)
	if re := (*names.RepositoryError)(nil); errors.As(err, &re) {
		c.Report(RuleRepositoryInvalid, path, key, "repository '%s' is invalid: %s", oneLineName(ref), re.Reason)
	}
	if be := (*names.BranchError)(nil); errors.As(err, &be) {
		c.Report(RuleBranchInvalid, path, key, "branch '%s' is invalid: %s", oneLineName(be.Branch), be.Reason)
	}
}

// checkLocationKeys reports DS-LINT-015..017 for every location key of the model: PSP locations,
// container locations (team containers, captures, workspaces, merge databases) and the entries
// of location policies. resolve says whether keys are resolved against the vendor tree.
func checkLocationKeys(c *Context, resolve bool) {
	lr := newLocResolver(c.Index)
	// check cites the node keyPrefix + loc + "]"; the key is built only for a problem.
	check := func(path, keyPrefix, loc string) {
		res := lr.resolve(loc)
		if res.fault == locOK || (!resolve && res.fault != locSyntax) {
			return
		}
		key := keyPrefix + loc + "]"
		switch {
		case res.fault == locSyntax:
			c.Report(RuleLocationKeyInvalid, path, key, "location '%s' is not of the form Vendor:Location[/Sub…]", oneLineName(loc))
		case res.fault == locVendorUnknown:
			c.Report(RuleLocationVendorUnknown, path, key, "location '%s' names unknown vendor '%s'", oneLineName(loc), oneLineName(res.key.Vendor))
		case res.fault == locUnknown:
			c.Report(RuleLocationUnknown, path, key, "location '%s': vendor '%s' has no location '%s'",
				oneLineName(loc), oneLineName(res.key.Vendor), oneLineName(res.part))
		}
	}
	container := func(dc *modelv1.DataContainer, path func() string, field string) {
		info := index.ContainerOf(dc)
		for _, l := range info.Locations {
			if res := lr.resolve(l); res.fault != locOK {
				p := path()
				check(p, p+"#"+field+"."+info.Variant+".locations[", l)
			}
		}
	}
	for _, p := range c.Model.GetPsps() {
		pp := index.PSPPath(p.GetName())
		for _, l := range p.GetLocations() {
			check(pp, pp+"#locations[", l)
		}
		for _, d := range p.GetPlatforms() {
			if y := d.GetYellow(); y != nil {
				container(y.GetMergeDatabase(), func() string { return index.PlatformPath(p.GetName(), d.GetName()) }, "yellow.mergeDatabase")
			}
		}
	}
	for _, z := range c.Model.GetZones() {
		zp := index.ZonePath(z.GetName())
		for _, p := range z.GetLocationPolicies() {
			pk := zp + "#locationPolicies[" + p.GetName() + "]"
			for _, l := range p.GetAllowed() {
				check(zp, pk+".allowed[", l)
			}
			for _, l := range p.GetNotAllowed() {
				check(zp, pk+".notAllowed[", l)
			}
		}
	}
	for _, t := range c.Model.GetTeams() {
		tp := func() string { return index.TeamPath(t.GetZone(), t.GetName()) }
		for _, dc := range t.GetContainers() {
			container(dc, tp, "containers["+index.ContainerName(dc)+"]")
		}
	}
	for _, s := range c.Model.GetDatastores() {
		cp := index.CaptureOf(s)
		container(cp.Container, func() string { return index.DatastorePath(s.GetName()) }, cp.FieldPrefix+".container")
	}
	for _, w := range c.Model.GetWorkspaces() {
		container(w.GetContainer(), func() string { return index.WorkspacePath(w.GetName()) }, "container")
	}
}

// checkZoneMembership reports DS-LINT-018 (a GovernanceZone document not declared in the
// Ecosystem), DS-LINT-020 (a Team, Datastore or Workspace whose zone has no GovernanceZone
// document) and DS-LINT-019 (whose team is not declared in its zone's document). Lint never
// defines a missing zone or team.
func checkZoneMembership(c *Context, declared bool) {
	x := c.Index
	if declared {
		for _, z := range c.Model.GetZones() {
			if _, ok := x.ZoneDecls[z.GetName()]; !ok {
				zp := index.ZonePath(z.GetName())
				c.Report(RuleZoneNotDeclared, zp, zp, "GovernanceZone '%s' is not declared in the Ecosystem", oneLineName(z.GetName()))
			}
		}
	}
	member := func(kind, name, zone, team, path, zoneKey, teamKey string) {
		switch {
		case zone == "":
		case x.Zones[zone] == nil:
			c.Report(RuleZoneUndefinedForTeam, path, zoneKey, "%s '%s' belongs to zone '%s', which has no GovernanceZone document",
				kind, oneLineName(name), oneLineName(zone))
		case team == "":
		case x.TeamDecls[index.TeamKey(zone, team)] == nil:
			c.Report(RuleTeamNotDeclared, path, teamKey, "team '%s' is not declared in zone '%s'", oneLineName(team), oneLineName(zone))
		}
	}
	for _, t := range c.Model.GetTeams() {
		tp := index.TeamPath(t.GetZone(), t.GetName())
		member("team", t.GetName(), t.GetZone(), t.GetName(), tp, tp+"#zone", tp)
	}
	for _, s := range c.Model.GetDatastores() {
		sp := index.DatastorePath(s.GetName())
		member("datastore", s.GetName(), s.GetZone(), s.GetTeam(), sp, sp+"#zone", sp+"#team")
	}
	for _, w := range c.Model.GetWorkspaces() {
		wp := index.WorkspacePath(w.GetName())
		member("workspace", w.GetName(), w.GetZone(), w.GetTeam(), wp, wp+"#zone", wp+"#team")
	}
}

// locFault says why a location key does not resolve.
type locFault int

const (
	locOK            locFault = iota
	locSyntax                 // DS-LINT-015
	locVendorUnknown          // DS-LINT-016
	locUnknown                // DS-LINT-017
)

// locResolution is a location key parsed and resolved against the vendor tree.
type locResolution struct {
	key   names.LocationKey
	fault locFault
	part  string // the first location name that does not resolve (locUnknown)
}

// locResolver resolves location keys, memoised by key: a model of 10,000 datastores uses few
// distinct locations.
type locResolver struct {
	x    *index.Index
	memo map[string]locResolution
}

func newLocResolver(x *index.Index) *locResolver {
	return &locResolver{x: x, memo: make(map[string]locResolution)}
}

func (lr *locResolver) resolve(loc string) locResolution {
	if res, ok := lr.memo[loc]; ok {
		return res
	}
	var res locResolution
	k, err := names.ParseLocationKey(loc)
	switch {
	case err != nil:
		res.fault = locSyntax
	default:
		res.key = k
		v := lr.x.Vendors[k.Vendor]
		if v == nil {
			res.fault = locVendorUnknown
			break
		}
		nodes := v.GetLocations()
	parts:
		for _, part := range k.Path {
			for _, n := range nodes {
				if n.GetName() == part {
					nodes = n.GetChildren()
					continue parts
				}
			}
			res.fault, res.part = locUnknown, part
			break
		}
	}
	lr.memo[loc] = res
	return res
}
