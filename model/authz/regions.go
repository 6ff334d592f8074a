// Package authz owns the ownership rules of spec/governance.md §1: it splits a model into its
// regions (ecosystem, zones, teams), compares each region between two models in canonical form
// ("declared but empty" is the undefined state), knows the change sources of a base model and
// decides whether a change from one source is authorized, reporting DS-AUTH-001..005.
//
// The package is pure: it reads two canonical models and their source maps and never touches
// files, the network or the environment. The CLI gate and the validator service both call Check,
// so they give the same verdict for the same inputs.
package authz

import (
	"cmp"
	"slices"

	"github.com/datasurface/datasurface/model/index"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"google.golang.org/protobuf/proto"
)

// RegionKind is the kind of an ownership region.
type RegionKind int

// Region kinds, in canonical order.
const (
	EcosystemRegion RegionKind = iota + 1
	ZoneRegion
	TeamRegion
)

// Region is one ownership region of a model (spec/governance.md §1.1).
type Region struct {
	Kind RegionKind
	Zone string // zone and team regions
	Team string // team regions
	// Owner is the owning repository named by the region's declaration (the ecosystem's
	// owningRepo for the ecosystem region); empty when the region is not declared.
	Owner string
	// Declared reports whether the region is declared (always true for the ecosystem).
	Declared bool
	// Defined reports whether the region has content; "declared but empty" is undefined.
	Defined bool
}

// Path returns the region's object path: ecosystem, zone[Z] or zone[Z]/team[T].
func (r Region) Path() string {
	switch r.Kind {
	case ZoneRegion:
		return index.ZonePath(r.Zone)
	case TeamRegion:
		return index.TeamPath(r.Zone, r.Team)
	}
	return index.EcosystemPath
}

// String names the region in messages: ecosystem, zone 'Z', team 'Z/T'.
func (r Region) String() string {
	switch r.Kind {
	case ZoneRegion:
		return "zone '" + r.Zone + "'"
	case TeamRegion:
		return "team '" + r.Zone + "/" + r.Team + "'"
	}
	return "ecosystem"
}

// Regions lists the regions of m: the ecosystem, then every zone that is declared or defined,
// then every team that is declared or defined, each group sorted by name.
func Regions(m *modelv1.Model) []Region {
	x := newRegionIndex(m)
	out := []Region{{Kind: EcosystemRegion, Owner: x.ecoOwner(), Declared: true, Defined: m.GetEcosystem() != nil}}
	for _, z := range x.zoneNames() {
		d, declared := x.zoneDecl[z]
		out = append(out, Region{
			Kind: ZoneRegion, Zone: z, Owner: d.GetOwningRepo(), Declared: declared, Defined: x.zoneDefined(z),
		})
	}
	for _, k := range x.teamKeys() {
		d, declared := x.teamDecl[k]
		out = append(out, Region{
			Kind: TeamRegion, Zone: k.zone, Team: k.team, Owner: d.GetOwningRepo(), Declared: declared,
			Defined: x.teamDefined(k),
		})
	}
	return out
}

// KnownSources returns the known change sources of base (spec/governance.md §1.3): the ecosystem
// owner, the owner of every declared zone and the owner of every declared team of any zone,
// sorted and without duplicates or empty strings.
func KnownSources(base *modelv1.Model) []string {
	var out []string
	if o := base.GetEcosystem().GetOwningRepo(); o != "" {
		out = append(out, o)
	}
	for _, z := range base.GetEcosystem().GetZones() {
		if o := z.GetOwningRepo(); o != "" {
			out = append(out, o)
		}
	}
	for _, z := range base.GetZones() {
		for _, t := range z.GetTeams() {
			if o := t.GetOwningRepo(); o != "" {
				out = append(out, o)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// teamKey identifies a team region.
type teamKey struct{ zone, team string }

func compareTeamKeys(a, b teamKey) int {
	return cmp.Or(cmp.Compare(a.zone, b.zone), cmp.Compare(a.team, b.team))
}

// regionIndex groups the documents of one model by region. Where a declaration repeats (a lint
// error, possible in a leniently loaded base) the first one wins; documents are all kept so that
// region content is compared faithfully.
type regionIndex struct {
	m          *modelv1.Model
	zoneDecl   map[string]*modelv1.ZoneDeclaration
	zoneDocs   map[string][]*modelv1.GovernanceZone
	teamDecl   map[teamKey]*modelv1.TeamDeclaration
	teamDocs   map[teamKey][]*modelv1.Team
	datastores map[teamKey][]*modelv1.Datastore
	workspaces map[teamKey][]*modelv1.Workspace
}

func newRegionIndex(m *modelv1.Model) *regionIndex {
	x := &regionIndex{
		m:          m,
		zoneDecl:   map[string]*modelv1.ZoneDeclaration{},
		zoneDocs:   map[string][]*modelv1.GovernanceZone{},
		teamDecl:   map[teamKey]*modelv1.TeamDeclaration{},
		teamDocs:   map[teamKey][]*modelv1.Team{},
		datastores: map[teamKey][]*modelv1.Datastore{},
		workspaces: map[teamKey][]*modelv1.Workspace{},
	}
	for _, d := range m.GetEcosystem().GetZones() {
		if _, ok := x.zoneDecl[d.GetName()]; !ok {
			x.zoneDecl[d.GetName()] = d
		}
	}
	for _, z := range m.GetZones() {
		x.zoneDocs[z.GetName()] = append(x.zoneDocs[z.GetName()], z)
		for _, t := range z.GetTeams() {
			k := teamKey{z.GetName(), t.GetName()}
			if _, ok := x.teamDecl[k]; !ok {
				x.teamDecl[k] = t
			}
		}
	}
	for _, t := range m.GetTeams() {
		k := teamKey{t.GetZone(), t.GetName()}
		x.teamDocs[k] = append(x.teamDocs[k], t)
	}
	for _, d := range m.GetDatastores() {
		k := teamKey{d.GetZone(), d.GetTeam()}
		x.datastores[k] = append(x.datastores[k], d)
	}
	for _, w := range m.GetWorkspaces() {
		k := teamKey{w.GetZone(), w.GetTeam()}
		x.workspaces[k] = append(x.workspaces[k], w)
	}
	return x
}

func (x *regionIndex) ecoOwner() string { return x.m.GetEcosystem().GetOwningRepo() }

// zoneNames returns every zone declared or documented, sorted.
func (x *regionIndex) zoneNames() []string {
	var out []string
	for z := range x.zoneDecl {
		out = append(out, z)
	}
	for z := range x.zoneDocs {
		out = append(out, z)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// teamKeys returns every team declared or holding a document, sorted.
func (x *regionIndex) teamKeys() []teamKey {
	var out []teamKey
	for k := range x.teamDecl {
		out = append(out, k)
	}
	for k := range x.teamDocs {
		out = append(out, k)
	}
	for k := range x.datastores {
		out = append(out, k)
	}
	for k := range x.workspaces {
		out = append(out, k)
	}
	slices.SortFunc(out, compareTeamKeys)
	return slices.Compact(out)
}

// teamDeclNames returns the names of the teams declared by zone z's documents, sorted.
func (x *regionIndex) teamDeclNames(z string) []string {
	var out []string
	for _, doc := range x.zoneDocs[z] {
		for _, t := range doc.GetTeams() {
			out = append(out, t.GetName())
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// zoneDefined reports whether zone z has content: a GovernanceZone document with any field
// besides its name (team declarations count, their owners do not matter).
func (x *regionIndex) zoneDefined(z string) bool {
	for _, doc := range x.zoneDocs[z] {
		if len(doc.GetTeams()) > 0 || !isEmptyZone(doc) {
			return true
		}
	}
	return false
}

// teamDefined reports whether team k has content: a non-empty Team document, a datastore or a
// workspace.
func (x *regionIndex) teamDefined(k teamKey) bool {
	if len(x.datastores[k]) > 0 || len(x.workspaces[k]) > 0 {
		return true
	}
	for _, t := range x.teamDocs[k] {
		if !isEmptyTeam(t) {
			return true
		}
	}
	return false
}

// isEmptyZone reports whether doc, ignoring its team declarations, holds nothing but its name.
func isEmptyZone(doc *modelv1.GovernanceZone) bool {
	c := proto.CloneOf(doc)
	c.Teams = nil
	return proto.Equal(c, &modelv1.GovernanceZone{Name: doc.GetName()})
}

// isEmptyTeam reports whether a Team document holds nothing but its name and zone.
func isEmptyTeam(t *modelv1.Team) bool {
	return proto.Equal(t, &modelv1.Team{Name: t.GetName(), Zone: t.GetZone()})
}
