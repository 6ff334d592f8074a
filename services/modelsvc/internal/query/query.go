// Package query answers modelsvc's read questions over one committed model version: the objects
// of the read API (governance.md §4.2), name validation, dependency trees, and paging with opaque
// tokens bound to the version they were issued for. It returns canonical model objects; the
// Connect handler and the compatibility endpoint render them.
package query

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/datasurface/datasurface/kit/modelbus"
	"github.com/datasurface/datasurface/model/graph"
	"github.com/datasurface/datasurface/model/index"
	"github.com/datasurface/datasurface/model/names"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/modelsvc/internal/failure"
	"github.com/datasurface/datasurface/services/modelsvc/internal/readmodel"
)

// Reader answers questions about committed versions.
type Reader struct {
	rm    *readmodel.ReadModel
	snaps func() *modelbus.Snapshots
}

// New returns a reader over rm; snaps returns the snapshot store (nil while starting).
func New(rm *readmodel.ReadModel, snaps func() *modelbus.Snapshots) *Reader {
	return &Reader{rm: rm, snaps: snaps}
}

// At returns the loaded model of version (0 = latest).
func (r *Reader) At(ctx context.Context, version int64) (*readmodel.Loaded, error) {
	return r.rm.Model(ctx, version)
}

// Latest returns the newest committed version.
func (r *Reader) Latest() (*readmodel.Version, error) { return r.rm.Latest() }

// Arg is a request argument: its field name (for messages) and value.
type Arg struct {
	Field string
	Value string
}

// sqlName checks an argument naming a datastore, dataset or workspace (a SQL identifier).
func sqlName(a Arg) error {
	if a.Value == "" {
		return failure.Required(a.Field)
	}
	if !names.IsSQLIdentifier(a.Value) {
		return failure.InvalidName(a.Field, a.Value)
	}
	return nil
}

// displayName checks an argument naming a zone or team.
func displayName(a Arg) error {
	if a.Value == "" {
		return failure.Required(a.Field)
	}
	if !names.IsDisplayName(a.Value) {
		return failure.InvalidName(a.Field, a.Value)
	}
	return nil
}

// Workspaces returns every workspace, sorted by name.
func Workspaces(l *readmodel.Loaded) []*modelv1.Workspace { return l.Model.GetWorkspaces() }

// Workspace returns the named workspace.
func Workspace(l *readmodel.Loaded, name Arg) (*modelv1.Workspace, error) {
	if err := sqlName(name); err != nil {
		return nil, err
	}
	w := l.Index.Workspaces[name.Value]
	if w == nil {
		return nil, failure.NotFoundf("Workspace", name.Value)
	}
	return w, nil
}

// Datastore returns the named datastore.
func Datastore(l *readmodel.Loaded, name Arg) (*modelv1.Datastore, error) {
	if err := sqlName(name); err != nil {
		return nil, err
	}
	s := l.Index.Datastores[name.Value]
	if s == nil {
		return nil, failure.NotFoundf("Datastore", name.Value)
	}
	return s, nil
}

// DatastoreNames returns the names of every datastore, sorted.
func DatastoreNames(l *readmodel.Loaded) []string {
	out := make([]string, 0, len(l.Model.GetDatastores()))
	for _, s := range l.Model.GetDatastores() {
		out = append(out, s.GetName())
	}
	return out
}

// Dataset returns dataset ds of datastore store, with the datastore.
func Dataset(l *readmodel.Loaded, store, ds Arg) (*modelv1.Datastore, *modelv1.Dataset, error) {
	if err := sqlName(store); err != nil {
		return nil, nil, err
	}
	if err := sqlName(ds); err != nil {
		return nil, nil, err
	}
	s := l.Index.Datastores[store.Value]
	if s == nil {
		return nil, nil, failure.NotFoundf("Datastore", store.Value)
	}
	d := index.FindDataset(s, ds.Value)
	if d == nil {
		return nil, nil, failure.NotFoundf("Dataset", store.Value+"."+ds.Value)
	}
	return s, d, nil
}

// TeamRef names a team.
type TeamRef struct {
	Zone string
	Team string
}

// Teams returns every team of the model — declared in a zone, or with a Team, Datastore or
// Workspace document — sorted by (zone, team).
func Teams(l *readmodel.Loaded) []TeamRef {
	x := l.Index
	seen := map[string]bool{}
	var out []TeamRef
	add := func(key string) {
		if seen[key] {
			return
		}
		seen[key] = true
		z, t, _ := strings.Cut(key, "/")
		out = append(out, TeamRef{Zone: z, Team: t})
	}
	for k := range x.TeamDecls {
		add(k)
	}
	for k := range x.Teams {
		add(k)
	}
	for k := range x.TeamDatastores {
		add(k)
	}
	for k := range x.TeamWorkspaces {
		add(k)
	}
	slices.SortFunc(out, func(a, b TeamRef) int {
		return cmp.Or(cmp.Compare(a.Zone, b.Zone), cmp.Compare(a.Team, b.Team))
	})
	return out
}

// Team is one team with everything it owns.
type Team struct {
	Zone string
	Name string
	// Decl is the team's declaration in its zone (nil when undeclared).
	Decl *modelv1.TeamDeclaration
	// Doc is the Team document (nil when there is none).
	Doc        *modelv1.Team
	Datastores []*modelv1.Datastore // sorted by name
	Workspaces []*modelv1.Workspace // sorted by name
}

// GetTeam returns team zone/team.
func GetTeam(l *readmodel.Loaded, zone, team Arg) (*Team, error) {
	if err := displayName(zone); err != nil {
		return nil, err
	}
	if err := displayName(team); err != nil {
		return nil, err
	}
	x := l.Index
	key := index.TeamKey(zone.Value, team.Value)
	t := &Team{
		Zone:       zone.Value,
		Name:       team.Value,
		Decl:       x.TeamDecls[key],
		Doc:        x.Teams[key],
		Datastores: x.TeamDatastores[key],
		Workspaces: x.TeamWorkspaces[key],
	}
	if t.Decl == nil && t.Doc == nil && len(t.Datastores) == 0 && len(t.Workspaces) == 0 {
		return nil, failure.NotFoundf("Team", key)
	}
	return t, nil
}

// Dependencies returns the dependency tree of datastore store (spec/model.md §4.18).
func Dependencies(l *readmodel.Loaded, store Arg) ([]graph.Dependent, error) {
	if _, err := Datastore(l, store); err != nil {
		return nil, err
	}
	return graph.Dependencies(l.Index, store.Value), nil
}
