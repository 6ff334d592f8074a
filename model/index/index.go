// Package index gives name lookups over a canonical model and the derived facts every other
// package needs: object paths, stream keys, effective captures, container resolution. It is pure
// and never reports problems; where names repeat, the first object (in canonical order) wins.
package index

import (
	"strings"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// Index holds lookups by name over one model.
type Index struct {
	Model *modelv1.Model

	Datastores map[string]*modelv1.Datastore
	Workspaces map[string]*modelv1.Workspace
	// Zones holds the GovernanceZone documents by name.
	Zones map[string]*modelv1.GovernanceZone
	// ZoneDecls holds the Ecosystem's zone declarations by name.
	ZoneDecls map[string]*modelv1.ZoneDeclaration
	// Teams holds Team documents by "Z/T".
	Teams map[string]*modelv1.Team
	// TeamDecls holds team declarations by "Z/T".
	TeamDecls map[string]*modelv1.TeamDeclaration
	PSPs      map[string]*modelv1.PlatformServicesProvider
	// Platforms holds every data platform by name; PlatformPSP its provider.
	Platforms   map[string]*modelv1.DataPlatform
	PlatformPSP map[string]*modelv1.PlatformServicesProvider
	Vendors     map[string]*modelv1.Vendor
	// Assignments holds dataset group assignments by "W.G".
	Assignments map[string]*modelv1.DatasetGroupAssignment
	// Primary holds primary ingestions by datastore.
	Primary map[string]*modelv1.PrimaryIngestion
	// Transformers maps a transformer's name to its workspace.
	Transformers map[string]*modelv1.Workspace
	// Outputs maps a datastore name to the workspace whose transformer writes it.
	Outputs map[string]*modelv1.Workspace
	// TeamDatastores and TeamWorkspaces list a team's objects by "Z/T", in canonical order.
	TeamDatastores map[string][]*modelv1.Datastore
	TeamWorkspaces map[string][]*modelv1.Workspace
}

// New indexes m. A nil model gives an empty index.
func New(m *modelv1.Model) *Index {
	if m == nil {
		m = &modelv1.Model{}
	}
	x := &Index{
		Model:          m,
		Datastores:     make(map[string]*modelv1.Datastore, len(m.GetDatastores())),
		Workspaces:     make(map[string]*modelv1.Workspace, len(m.GetWorkspaces())),
		Zones:          make(map[string]*modelv1.GovernanceZone, len(m.GetZones())),
		ZoneDecls:      make(map[string]*modelv1.ZoneDeclaration),
		Teams:          make(map[string]*modelv1.Team, len(m.GetTeams())),
		TeamDecls:      make(map[string]*modelv1.TeamDeclaration),
		PSPs:           make(map[string]*modelv1.PlatformServicesProvider),
		Platforms:      make(map[string]*modelv1.DataPlatform),
		PlatformPSP:    make(map[string]*modelv1.PlatformServicesProvider),
		Vendors:        make(map[string]*modelv1.Vendor),
		Assignments:    make(map[string]*modelv1.DatasetGroupAssignment, len(m.GetAssignments())),
		Primary:        make(map[string]*modelv1.PrimaryIngestion),
		Transformers:   make(map[string]*modelv1.Workspace),
		Outputs:        make(map[string]*modelv1.Workspace),
		TeamDatastores: make(map[string][]*modelv1.Datastore),
		TeamWorkspaces: make(map[string][]*modelv1.Workspace),
	}
	for _, d := range m.GetDatastores() {
		putFirst(x.Datastores, d.GetName(), d)
		k := TeamKey(d.GetZone(), d.GetTeam())
		x.TeamDatastores[k] = append(x.TeamDatastores[k], d)
	}
	for _, w := range m.GetWorkspaces() {
		putFirst(x.Workspaces, w.GetName(), w)
		k := TeamKey(w.GetZone(), w.GetTeam())
		x.TeamWorkspaces[k] = append(x.TeamWorkspaces[k], w)
		if t := w.GetTransformer(); t != nil {
			putFirst(x.Transformers, t.GetName(), w)
			putFirst(x.Outputs, t.GetOutputDatastore(), w)
		}
	}
	for _, z := range m.GetZones() {
		putFirst(x.Zones, z.GetName(), z)
		for _, t := range z.GetTeams() {
			putFirst(x.TeamDecls, TeamKey(z.GetName(), t.GetName()), t)
		}
	}
	for _, z := range m.GetEcosystem().GetZones() {
		putFirst(x.ZoneDecls, z.GetName(), z)
	}
	for _, t := range m.GetTeams() {
		putFirst(x.Teams, TeamKey(t.GetZone(), t.GetName()), t)
	}
	for _, p := range m.GetPsps() {
		putFirst(x.PSPs, p.GetName(), p)
		for _, d := range p.GetPlatforms() {
			if _, ok := x.Platforms[d.GetName()]; !ok {
				x.Platforms[d.GetName()] = d
				x.PlatformPSP[d.GetName()] = p
			}
		}
	}
	for _, v := range m.GetEcosystem().GetVendors() {
		putFirst(x.Vendors, v.GetName(), v)
	}
	for _, a := range m.GetAssignments() {
		putFirst(x.Assignments, a.GetWorkspace()+"."+a.GetDatasetGroup(), a)
	}
	for _, p := range m.GetPrimaryIngestions() {
		putFirst(x.Primary, p.GetDatastore(), p)
	}
	return x
}

func putFirst[V any](m map[string]V, k string, v V) {
	if _, ok := m[k]; !ok {
		m[k] = v
	}
}

// TeamKey returns "Z/T".
func TeamKey(zone, team string) string { return zone + "/" + team }

// Dataset returns dataset ds of datastore s, or nil.
func (x *Index) Dataset(s, ds string) *modelv1.Dataset {
	return FindDataset(x.Datastores[s], ds)
}

// FindDataset returns the dataset named ds of store, or nil.
func FindDataset(store *modelv1.Datastore, ds string) *modelv1.Dataset {
	for _, d := range store.GetDatasets() {
		if d.GetName() == ds {
			return d
		}
	}
	return nil
}

// FindColumn returns the column named c of ds, or nil.
func FindColumn(ds *modelv1.Dataset, c string) *modelv1.Column {
	for _, col := range ds.GetColumns() {
		if col.GetName() == c {
			return col
		}
	}
	return nil
}

// DSG returns dataset group g of workspace w, or nil.
func (x *Index) DSG(w, g string) *modelv1.DatasetGroup {
	for _, d := range x.Workspaces[w].GetDatasetGroups() {
		if d.GetName() == g {
			return d
		}
	}
	return nil
}

// Yellow returns the Yellow settings of platform d, or nil when d is not a Yellow platform.
func (x *Index) Yellow(d string) *modelv1.YellowPlatform {
	return x.Platforms[d].GetYellow()
}

// FoldLookup finds the name in names that equals n case-insensitively but not exactly; it is used
// for "did you mean" messages (spec/model.md §2.2).
func FoldLookup[V any](names map[string]V, n string) (string, bool) {
	for k := range names {
		if k != n && strings.EqualFold(k, n) {
			return k, true
		}
	}
	return "", false
}
