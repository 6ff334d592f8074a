// Package changes computes the typed change set between two committed models
// (spec/governance.md §2.5), the summary services consume instead of diffing models themselves.
//
// Every change is {kind, path, before?, after?}. Paths are object paths (spec/model.md §1):
// ecosystem, vendor[V], zone[Z], zone[Z]/team[T], datastore[S]/dataset[D]/column[C],
// workspace[W]/dsg[G]/sink[S.D], workspace[W]/transformer, psp[P]/platform[D],
// assignment[W.G]/platform[D], primary[S]. Where a kind does not itself say which field changed,
// the path names the field the way source-map keys do (object + "#" + YAML key path, e.g.
// datastore[S]/dataset[D]/column[C]#nullable, zone[Z]#locationPolicies[EUOnly]).
//
// Rules of the mapping:
//
//   - Children of an added or removed object are implied: DATASTORE_ADDED carries no
//     DATASET_ADDED. Exceptions, because they have an identity of their own: the team
//     declarations of a zone that becomes defined or undefined (TEAM_DECLARED / UNDECLARED) and
//     the platforms of an added or removed PSP (platforms are matched by name across PSPs).
//   - Zones and teams: declared = listed in the parent's document; defined = the region has
//     content (a zone: its GovernanceZone document has a field besides its name; a team: its Team
//     document has a field besides name and zone, or a datastore or workspace belongs to it).
//     "Declared but empty" is undefined, so an empty document appearing or vanishing is no change.
//     A changed owningRepo of a declaration is HANDED_OVER (before/after: the repositories).
//     Policies are POLICY_CHANGED at zone[Z]#<policy list>[P] (added, removed or changed).
//   - Data platforms are matched by name across PSPs; one that moved to another PSP is
//     PLATFORM_CHANGED at its new path, before/after the PSP names.
//   - DOCUMENTATION_CHANGED is reported where an object's own documentation (or deprecation
//     reason) changed, and where an object differs in documentation only (documentation of
//     nested containers, locations, …).
//   - Every other difference falls back to the *_CHANGED kind of the region that holds it:
//     TEAM_CHANGED for team documents and for datastore, dataset and column fields without a kind
//     of their own (column removed, nullability, classifications, keys, order, production status,
//     deprecation of the datastore, a type change that is not a widening); WORKSPACE_CHANGED for
//     workspace, dataset group and sink fields; ECOSYSTEM_CHANGED for the ecosystem document and
//     assignment fields other than the status; ZONE_CHANGED for zone fields the schema may add.
//     Moving a datastore or workspace to another team is TEAM_CHANGED at its path, before/after
//     the team keys Z/T.
//   - Dataset deprecation is effective deprecation: deprecating a datastore deprecates its
//     datasets, so it yields DATASET_DEPRECATED for each dataset not already deprecated.
//   - before/after: type strings for COLUMN_ADDED (after) and COLUMN_WIDENED, statuses for
//     ASSIGNMENT_*, cron text for TRIGGER_CHANGED ("external" for an external trigger, empty for
//     none), platform lists for PRIMARY_INGESTION_CHANGED, repositories for declarations, enum
//     values and lists for field changes.
//
// Changes are sorted by path, then kind, before, after; identical models give an empty set.
package changes

import (
	"cmp"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/datasurface/datasurface/model/compat"
	"github.com/datasurface/datasurface/model/compat/equal"
	"github.com/datasurface/datasurface/model/dtype"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// kind abbreviates the change kind type.
type kind = modelv1.ChangeKind

// Diff returns the change set from base to head. A nil base is the empty model (an initial
// check-in: everything is ADDED, DECLARED or DEFINED).
func Diff(base, head *modelv1.Model) []*modelv1.Change {
	return DiffPaired(base, head, nil)
}

// DiffPaired is Diff with the datastores already paired and compared by
// equal.PairDatastores(base, head) (nil: computed here), so that a caller running both
// compat.Check and Diff compares the datastores once (pass the same value as
// compat.Input.Datastores).
func DiffPaired(base, head *modelv1.Model, datastores *equal.Pairs[*modelv1.Datastore]) []*modelv1.Change {
	if base == nil {
		base = &modelv1.Model{}
	}
	if head == nil {
		head = &modelv1.Model{}
	}
	if datastores == nil {
		datastores = equal.PairDatastores(base, head)
	}
	workspaces := equal.Pair(base.GetWorkspaces(), head.GetWorkspaces(), (*modelv1.Workspace).GetName, equal.Workspace)
	d := &differ{}
	d.ecosystem(base.GetEcosystem(), head.GetEcosystem())
	d.zones(base, head)
	d.teams(base, head, datastores, workspaces)
	d.datastores(datastores)
	d.workspaces(workspaces)
	d.platforms(base.GetPsps(), head.GetPsps())
	d.assignments(base.GetAssignments(), head.GetAssignments())
	d.primaryIngestions(base.GetPrimaryIngestions(), head.GetPrimaryIngestions())
	return d.result()
}

type differ struct {
	out []*modelv1.Change
}

func (d *differ) add(k kind, path, before, after string) {
	d.out = append(d.out, &modelv1.Change{Kind: k, Path: path, Before: before, After: after})
}

func (d *differ) result() []*modelv1.Change {
	slices.SortFunc(d.out, func(a, b *modelv1.Change) int {
		return cmp.Or(
			strings.Compare(a.GetPath(), b.GetPath()),
			cmp.Compare(a.GetKind(), b.GetKind()),
			strings.Compare(a.GetBefore(), b.GetBefore()),
			strings.Compare(a.GetAfter(), b.GetAfter()),
		)
	})
	return slices.CompactFunc(d.out, func(a, b *modelv1.Change) bool { return proto.Equal(a, b) })
}

// object compares two versions of an object: a non-documentation difference is changed at
// path; a documentation-only difference, or a change of the object's own documentation, is
// DOCUMENTATION_CHANGED at docPath.
func (d *differ) object(changed kind, path, docPath string, a, b proto.Message) {
	if proto.Equal(a, b) {
		return
	}
	nonDoc := !proto.Equal(stripDocs(a), stripDocs(b))
	if nonDoc {
		d.add(changed, path, "", "")
	}
	if !nonDoc || !proto.Equal(ownDocumentation(a), ownDocumentation(b)) {
		d.add(modelv1.ChangeKind_CHANGE_KIND_DOCUMENTATION_CHANGED, docPath, "", "")
	}
}

// docs reports DOCUMENTATION_CHANGED at path when two documentation values differ.
func (d *differ) docs(path string, a, b *modelv1.Documentation) {
	if !proto.Equal(a, b) {
		d.add(modelv1.ChangeKind_CHANGE_KIND_DOCUMENTATION_CHANGED, path, "", "")
	}
}

// scalar reports k at path with before/after when they differ.
func (d *differ) scalar(k kind, path, before, after string) {
	if before != after {
		d.add(k, path, before, after)
	}
}

// deprecation reports a changed deprecation status as k at path#deprecation and a changed
// reason as DOCUMENTATION_CHANGED at path; any other difference (an absent deprecation against
// an explicit NOT_DEPRECATED one) as k at path#deprecation without before/after.
func (d *differ) deprecation(k kind, path string, a, b *modelv1.Deprecation) {
	mark := len(d.out)
	d.scalar(k, path+"#deprecation", deprecationText(a), deprecationText(b))
	d.docs(path, a.GetReason(), b.GetReason())
	d.fallback(mark, k, path+"#deprecation", equal.Deprecation(a, b))
}

// fallback reports k at path when two values differ (same is false) and nothing was reported
// since mark: the differences the specific checks render alike, such as an absent sub-message
// against an empty one.
func (d *differ) fallback(mark int, k kind, path string, same bool) {
	if !same && len(d.out) == mark {
		d.add(k, path, "", "")
	}
}

func deprecationText(dep *modelv1.Deprecation) string {
	if isDeprecated(dep) {
		return "DEPRECATED"
	}
	return "NOT_DEPRECATED"
}

func isDeprecated(dep *modelv1.Deprecation) bool {
	return dep.GetStatus() == modelv1.DeprecationStatus_DEPRECATION_STATUS_DEPRECATED
}

// ---------------------------------------------------------------------------------------------
// Ecosystem and vendors

const (
	ecosystemChanged     = modelv1.ChangeKind_CHANGE_KIND_ECOSYSTEM_CHANGED
	documentationChanged = modelv1.ChangeKind_CHANGE_KIND_DOCUMENTATION_CHANGED
	teamChanged          = modelv1.ChangeKind_CHANGE_KIND_TEAM_CHANGED
	workspaceChanged     = modelv1.ChangeKind_CHANGE_KIND_WORKSPACE_CHANGED
)

func (d *differ) ecosystem(a, b *modelv1.Ecosystem) {
	if proto.Equal(a, b) {
		return
	}
	if a == nil || b == nil {
		d.add(ecosystemChanged, "ecosystem", "", "")
	} else {
		d.scalar(ecosystemChanged, "ecosystem#name", a.GetName(), b.GetName())
		d.scalar(ecosystemChanged, "ecosystem#owningRepo", a.GetOwningRepo(), b.GetOwningRepo())
		d.scalar(ecosystemChanged, "ecosystem#liveRepo", a.GetLiveRepo(), b.GetLiveRepo())
		d.scalar(ecosystemChanged, "ecosystem#compatibility.mode",
			enumName(a.GetCompatibility().GetMode(), "COMPATIBILITY_MODE_"),
			enumName(b.GetCompatibility().GetMode(), "COMPATIBILITY_MODE_"))
		if !equalExcept(a.GetCompatibility(), b.GetCompatibility(), "mode") {
			d.add(ecosystemChanged, "ecosystem#compatibility", "", "")
		}
		d.docs("ecosystem", a.GetDocumentation(), b.GetDocumentation())
		if !equalExcept(a, b, "name", "owning_repo", "live_repo", "compatibility", "documentation", "vendors", "zones") {
			d.add(ecosystemChanged, "ecosystem", "", "")
		}
	}
	pairs(a.GetVendors(), b.GetVendors(), (*modelv1.Vendor).GetName, func(name string, x, y *modelv1.Vendor) {
		path := "vendor[" + name + "]"
		switch {
		case x == nil:
			d.add(modelv1.ChangeKind_CHANGE_KIND_VENDOR_ADDED, path, "", "")
		case y == nil:
			d.add(modelv1.ChangeKind_CHANGE_KIND_VENDOR_REMOVED, path, "", "")
		default:
			d.object(modelv1.ChangeKind_CHANGE_KIND_VENDOR_CHANGED, path, path, x, y)
		}
	})
}

// pairs calls f for every name in a or b (in no particular order) with the element of each
// side, nil where absent. The first element of a name wins.
func pairs[T any](a, b []*T, name func(*T) string, f func(name string, x, y *T)) {
	ia := make(map[string]*T, len(a))
	for _, x := range a {
		if _, dup := ia[name(x)]; !dup {
			ia[name(x)] = x
		}
	}
	ib := make(map[string]*T, len(b))
	for _, y := range b {
		if _, dup := ib[name(y)]; !dup {
			ib[name(y)] = y
		}
	}
	for n, x := range ia {
		f(n, x, ib[n])
	}
	for n, y := range ib {
		if ia[n] == nil {
			f(n, nil, y)
		}
	}
}

// ---------------------------------------------------------------------------------------------
// Zones, teams, policies

func (d *differ) zones(base, head *modelv1.Model) {
	pairs(base.GetEcosystem().GetZones(), head.GetEcosystem().GetZones(), (*modelv1.ZoneDeclaration).GetName,
		func(z string, x, y *modelv1.ZoneDeclaration) {
			path := "zone[" + z + "]"
			switch {
			case x == nil:
				d.add(modelv1.ChangeKind_CHANGE_KIND_ZONE_DECLARED, path, "", y.GetOwningRepo())
			case y == nil:
				d.add(modelv1.ChangeKind_CHANGE_KIND_ZONE_UNDECLARED, path, x.GetOwningRepo(), "")
			default:
				d.scalar(modelv1.ChangeKind_CHANGE_KIND_ZONE_HANDED_OVER, path, x.GetOwningRepo(), y.GetOwningRepo())
				if !equalExcept(x, y, "owning_repo") {
					d.add(ecosystemChanged, path, "", "")
				}
			}
		})
	pairs(base.GetZones(), head.GetZones(), (*modelv1.GovernanceZone).GetName, func(z string, x, y *modelv1.GovernanceZone) {
		if proto.Equal(x, y) {
			return
		}
		path := "zone[" + z + "]"
		dx, dy := x != nil && hasContent(x, "name"), y != nil && hasContent(y, "name")
		switch {
		case !dx && !dy:
		case !dx:
			d.add(modelv1.ChangeKind_CHANGE_KIND_ZONE_DEFINED, path, "", "")
			for _, t := range y.GetTeams() {
				d.add(modelv1.ChangeKind_CHANGE_KIND_TEAM_DECLARED, path+"/team["+t.GetName()+"]", "", t.GetOwningRepo())
			}
		case !dy:
			d.add(modelv1.ChangeKind_CHANGE_KIND_ZONE_UNDEFINED, path, "", "")
			for _, t := range x.GetTeams() {
				d.add(modelv1.ChangeKind_CHANGE_KIND_TEAM_UNDECLARED, path+"/team["+t.GetName()+"]", t.GetOwningRepo(), "")
			}
		default:
			d.zone(path, x, y)
		}
	})
}

func (d *differ) zone(path string, x, y *modelv1.GovernanceZone) {
	d.docs(path, x.GetDocumentation(), y.GetDocumentation())
	pairs(x.GetTeams(), y.GetTeams(), (*modelv1.TeamDeclaration).GetName, func(t string, a, b *modelv1.TeamDeclaration) {
		tp := path + "/team[" + t + "]"
		switch {
		case a == nil:
			d.add(modelv1.ChangeKind_CHANGE_KIND_TEAM_DECLARED, tp, "", b.GetOwningRepo())
		case b == nil:
			d.add(modelv1.ChangeKind_CHANGE_KIND_TEAM_UNDECLARED, tp, a.GetOwningRepo(), "")
		default:
			d.scalar(modelv1.ChangeKind_CHANGE_KIND_TEAM_HANDED_OVER, tp, a.GetOwningRepo(), b.GetOwningRepo())
			if !equalExcept(a, b, "owning_repo") {
				d.add(modelv1.ChangeKind_CHANGE_KIND_ZONE_CHANGED, tp, "", "")
			}
		}
	})
	// Policies: every list field named *_policies, elements keyed by name.
	handled := []protoreflect.Name{"name", "documentation", "teams"}
	fields := x.ProtoReflect().Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if !fd.IsList() || fd.Message() == nil || !strings.HasSuffix(string(fd.Name()), "_policies") {
			continue
		}
		handled = append(handled, fd.Name())
		la, lb := x.ProtoReflect().Get(fd).List(), y.ProtoReflect().Get(fd).List()
		pairs(messages(la), messages(lb), func(m *protoreflect.Message) string { return nameOf(*m) },
			func(p string, a, b *protoreflect.Message) {
				pp := path + "#" + fd.JSONName() + "[" + p + "]"
				switch {
				case a == nil || b == nil:
					d.add(modelv1.ChangeKind_CHANGE_KIND_POLICY_CHANGED, pp, "", "")
				default:
					d.object(modelv1.ChangeKind_CHANGE_KIND_POLICY_CHANGED, pp, pp, (*a).Interface(), (*b).Interface())
				}
			})
	}
	if !equalExcept(x, y, handled...) {
		d.add(modelv1.ChangeKind_CHANGE_KIND_ZONE_CHANGED, path, "", "")
	}
}

func messages(l protoreflect.List) []*protoreflect.Message {
	out := make([]*protoreflect.Message, l.Len())
	for i := range l.Len() {
		m := l.Get(i).Message()
		out[i] = &m
	}
	return out
}

type teamKey struct{ zone, team string }

func (k teamKey) path() string   { return "zone[" + k.zone + "]/team[" + k.team + "]" }
func (k teamKey) String() string { return k.zone + "/" + k.team }

// teams reports team definitions (TEAM_DEFINED / UNDEFINED) and changes of Team documents. A
// team's definition can only change where its Team document changed or a datastore or
// workspace joined or left it, so only those teams are examined.
func (d *differ) teams(base, head *modelv1.Model, stores *equal.Pairs[*modelv1.Datastore], works *equal.Pairs[*modelv1.Workspace]) {
	docs := func(m *modelv1.Model) map[teamKey]*modelv1.Team {
		out := make(map[teamKey]*modelv1.Team, len(m.GetTeams()))
		for _, t := range m.GetTeams() {
			k := teamKey{t.GetZone(), t.GetName()}
			if _, dup := out[k]; !dup {
				out[k] = t
			}
		}
		return out
	}
	tb, th := docs(base), docs(head)
	candidates := make(map[teamKey]bool)
	for k, x := range tb {
		if !proto.Equal(x, th[k]) {
			candidates[k] = true
		}
	}
	for k := range th {
		if tb[k] == nil {
			candidates[k] = true
		}
	}
	teamMoves(stores, candidates)
	teamMoves(works, candidates)
	if len(candidates) == 0 {
		return
	}
	mb, mh := members(base, candidates), members(head, candidates)
	for k := range candidates {
		x, y := tb[k], th[k]
		dx := mb[k] || (x != nil && hasContent(x, "name", "zone"))
		dy := mh[k] || (y != nil && hasContent(y, "name", "zone"))
		switch {
		case !dx && !dy:
		case !dx:
			d.add(modelv1.ChangeKind_CHANGE_KIND_TEAM_DEFINED, k.path(), "", "")
		case !dy:
			d.add(modelv1.ChangeKind_CHANGE_KIND_TEAM_UNDEFINED, k.path(), "", "")
		default:
			// Compare the documents' content; an absent document is an empty one.
			cx, cy := without(orEmpty(x), "name", "zone"), without(orEmpty(y), "name", "zone")
			d.object(teamChanged, k.path(), k.path(), cx, cy)
		}
	}
}

type teamMember interface {
	comparable
	GetZone() string
	GetTeam() string
}

// teamMoves adds to teams the team of every object added or removed, and both teams of every
// object moved from one team to another.
func teamMoves[T teamMember](p *equal.Pairs[T], teams map[teamKey]bool) {
	var none T
	for i, x := range p.Base {
		switch y := p.Head[i]; {
		case y == none:
			teams[teamKey{x.GetZone(), x.GetTeam()}] = true
		case p.Changed[i] && (x.GetZone() != y.GetZone() || x.GetTeam() != y.GetTeam()):
			teams[teamKey{x.GetZone(), x.GetTeam()}] = true
			teams[teamKey{y.GetZone(), y.GetTeam()}] = true
		}
	}
	for _, y := range p.Added {
		teams[teamKey{y.GetZone(), y.GetTeam()}] = true
	}
}

// members reports which of the given teams have a datastore or workspace in m.
func members(m *modelv1.Model, teams map[teamKey]bool) map[teamKey]bool {
	out := make(map[teamKey]bool, len(teams))
	var few []teamKey // a few teams are compared directly, without hashing every object's team
	if len(teams) <= 8 {
		for k := range teams {
			few = append(few, k)
		}
	}
	has := func(zone, team string) {
		if few == nil {
			if k := (teamKey{zone, team}); teams[k] {
				out[k] = true
			}
			return
		}
		for _, k := range few {
			if k.team == team && k.zone == zone {
				out[k] = true
			}
		}
	}
	for _, s := range m.GetDatastores() {
		has(s.GetZone(), s.GetTeam())
	}
	for _, w := range m.GetWorkspaces() {
		has(w.GetZone(), w.GetTeam())
	}
	return out
}

func orEmpty(t *modelv1.Team) *modelv1.Team {
	if t == nil {
		return &modelv1.Team{}
	}
	return t
}

// ---------------------------------------------------------------------------------------------
// Datastores, datasets, columns

func (d *differ) datastores(p *equal.Pairs[*modelv1.Datastore]) {
	for i, x := range p.Base {
		path := "datastore[" + x.GetName() + "]"
		switch y := p.Head[i]; {
		case y == nil:
			d.add(modelv1.ChangeKind_CHANGE_KIND_DATASTORE_REMOVED, path, "", "")
		case p.Changed[i]:
			d.datastore(path, x, y)
		}
	}
	for _, y := range p.Added {
		d.add(modelv1.ChangeKind_CHANGE_KIND_DATASTORE_ADDED, "datastore["+y.GetName()+"]", "", "")
	}
}

func (d *differ) datastore(path string, x, y *modelv1.Datastore) {
	d.scalar(teamChanged, path, teamKey{x.GetZone(), x.GetTeam()}.String(), teamKey{y.GetZone(), y.GetTeam()}.String())
	d.docs(path, x.GetDocumentation(), y.GetDocumentation())
	d.scalar(teamChanged, path+"#productionStatus",
		enumName(x.GetProductionStatus(), "PRODUCTION_STATUS_"), enumName(y.GetProductionStatus(), "PRODUCTION_STATUS_"))
	d.deprecation(teamChanged, path, x.GetDeprecation(), y.GetDeprecation())
	d.capture(path, x.GetCapture(), y.GetCapture())
	if !proto.Equal(x.GetApprovals(), y.GetApprovals()) {
		d.add(modelv1.ChangeKind_CHANGE_KIND_APPROVALS_CHANGED, path, "", "")
	}

	sx, sy := isDeprecated(x.GetDeprecation()), isDeprecated(y.GetDeprecation())
	iy := make(map[string]*modelv1.Dataset, len(y.GetDatasets()))
	for _, ds := range y.GetDatasets() {
		iy[ds.GetName()] = ds
	}
	ix := make(map[string]bool, len(x.GetDatasets()))
	for _, a := range x.GetDatasets() {
		ix[a.GetName()] = true
		dp := path + "/dataset[" + a.GetName() + "]"
		b := iy[a.GetName()]
		if b == nil {
			d.add(modelv1.ChangeKind_CHANGE_KIND_DATASET_REMOVED, dp, "", "")
			continue
		}
		ea, eb := sx || isDeprecated(a.GetDeprecation()), sy || isDeprecated(b.GetDeprecation())
		switch {
		case !ea && eb:
			d.add(modelv1.ChangeKind_CHANGE_KIND_DATASET_DEPRECATED, dp, "", "")
		case ea && !eb:
			d.add(modelv1.ChangeKind_CHANGE_KIND_DATASET_UNDEPRECATED, dp, "", "")
		}
		if !equal.Dataset(a, b) {
			d.dataset(dp, a, b, ea == eb)
		}
	}
	for _, b := range y.GetDatasets() {
		if !ix[b.GetName()] {
			d.add(modelv1.ChangeKind_CHANGE_KIND_DATASET_ADDED, path+"/dataset["+b.GetName()+"]", "", "")
		}
	}
	if ox, oy := commonOrder(x.GetDatasets(), y.GetDatasets()); !slices.Equal(ox, oy) {
		d.add(teamChanged, path+"#datasets", strings.Join(names(x.GetDatasets()), ", "), strings.Join(names(y.GetDatasets()), ", "))
	}
	if !equalExcept(x, y, "name", "zone", "team", "documentation", "production_status", "deprecation", "capture", "approvals", "datasets") {
		d.add(teamChanged, path, "", "")
	}
}

func names[T interface{ GetName() string }](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.GetName()
	}
	return out
}

// commonOrder returns the names present in both lists, in the order of each.
func commonOrder[T interface{ GetName() string }](x, y []T) ([]string, []string) {
	inX := make(map[string]bool, len(x))
	for _, e := range x {
		inX[e.GetName()] = true
	}
	inY := make(map[string]bool, len(y))
	for _, e := range y {
		inY[e.GetName()] = true
	}
	var ox, oy []string
	for _, e := range x {
		if inY[e.GetName()] {
			ox = append(ox, e.GetName())
		}
	}
	for _, e := range y {
		if inX[e.GetName()] {
			oy = append(oy, e.GetName())
		}
	}
	return ox, oy
}

func (d *differ) capture(path string, x, y *modelv1.CaptureMetadata) {
	if equal.Capture(x, y) {
		return
	}
	d.trigger(path, captureTrigger(x), captureTrigger(y))
	kx, ky := captureKind(x), captureKind(y)
	if kx != ky {
		d.add(modelv1.ChangeKind_CHANGE_KIND_CAPTURE_CHANGED, path, kx, ky)
		return
	}
	vx, vy := captureVariant(x), captureVariant(y)
	if vx == nil || vy == nil {
		return
	}
	d.object(modelv1.ChangeKind_CHANGE_KIND_CAPTURE_CHANGED, path, path, without(vx, "trigger"), without(vy, "trigger"))
}

// captureVariant returns the populated variant of a capture.
func captureVariant(c *modelv1.CaptureMetadata) proto.Message {
	switch k := c.GetKind().(type) {
	case *modelv1.CaptureMetadata_SqlSnapshot:
		return k.SqlSnapshot
	case *modelv1.CaptureMetadata_SqlWatermark:
		return k.SqlWatermark
	case *modelv1.CaptureMetadata_KafkaCdc:
		return k.KafkaCdc
	case *modelv1.CaptureMetadata_TransformerOutput:
		return k.TransformerOutput
	}
	return nil
}

func captureKind(c *modelv1.CaptureMetadata) string {
	switch c.GetKind().(type) {
	case *modelv1.CaptureMetadata_SqlSnapshot:
		return "sqlSnapshot"
	case *modelv1.CaptureMetadata_SqlWatermark:
		return "sqlWatermark"
	case *modelv1.CaptureMetadata_KafkaCdc:
		return "kafkaCdc"
	case *modelv1.CaptureMetadata_TransformerOutput:
		return "transformerOutput"
	}
	return ""
}

func captureTrigger(c *modelv1.CaptureMetadata) *modelv1.Trigger {
	switch k := c.GetKind().(type) {
	case *modelv1.CaptureMetadata_SqlSnapshot:
		return k.SqlSnapshot.GetTrigger()
	case *modelv1.CaptureMetadata_SqlWatermark:
		return k.SqlWatermark.GetTrigger()
	case *modelv1.CaptureMetadata_KafkaCdc:
		return k.KafkaCdc.GetTrigger()
	}
	return nil
}

// trigger reports TRIGGER_CHANGED at path, before/after the cron text.
func (d *differ) trigger(path string, x, y *modelv1.Trigger) {
	mark := len(d.out)
	d.scalar(modelv1.ChangeKind_CHANGE_KIND_TRIGGER_CHANGED, path, triggerText(x), triggerText(y))
	d.fallback(mark, modelv1.ChangeKind_CHANGE_KIND_TRIGGER_CHANGED, path, equal.Trigger(x, y))
}

// triggerText renders a trigger: its cron text, "external", or "" for none.
func triggerText(t *modelv1.Trigger) string {
	switch k := t.GetKind().(type) {
	case *modelv1.Trigger_Cron:
		return k.Cron
	case *modelv1.Trigger_External:
		return "external"
	}
	return ""
}

// dataset compares two versions of a dataset. sameEffective is false when the effective
// deprecation already produced a change; a changed own status is then not repeated.
func (d *differ) dataset(path string, x, y *modelv1.Dataset, sameEffective bool) {
	d.docs(path, x.GetDocumentation(), y.GetDocumentation())
	if sameEffective {
		d.deprecation(teamChanged, path, x.GetDeprecation(), y.GetDeprecation())
	} else {
		d.docs(path, x.GetDeprecation().GetReason(), y.GetDeprecation().GetReason())
	}
	d.list(teamChanged, path+"#classifications", classifications(x.GetClassifications()), classifications(y.GetClassifications()))
	d.list(teamChanged, path+"#storagePolicies", x.GetStoragePolicies(), y.GetStoragePolicies())
	d.list(teamChanged, path+"#primaryKey", x.GetPrimaryKey(), y.GetPrimaryKey())
	d.list(teamChanged, path+"#partitionKey", x.GetPartitionKey(), y.GetPartitionKey())

	iy := make(map[string]*modelv1.Column, len(y.GetColumns()))
	for _, c := range y.GetColumns() {
		iy[c.GetName()] = c
	}
	ix := make(map[string]bool, len(x.GetColumns()))
	for _, a := range x.GetColumns() {
		ix[a.GetName()] = true
		cp := path + "/column[" + a.GetName() + "]"
		b := iy[a.GetName()]
		if b == nil {
			d.add(teamChanged, cp, dtype.String(a.GetType()), "")
			continue
		}
		if !equal.Column(a, b) {
			d.column(cp, a, b)
		}
	}
	for _, b := range y.GetColumns() {
		if !ix[b.GetName()] {
			d.add(modelv1.ChangeKind_CHANGE_KIND_COLUMN_ADDED, path+"/column["+b.GetName()+"]", "", dtype.String(b.GetType()))
		}
	}
	if len(compat.MovedColumns(x, y)) > 0 {
		d.add(teamChanged, path+"#columns", strings.Join(names(x.GetColumns()), ", "), strings.Join(names(y.GetColumns()), ", "))
	}
	if !equalExcept(x, y, "name", "documentation", "deprecation", "classifications", "storage_policies", "primary_key", "partition_key", "columns") {
		d.add(teamChanged, path, "", "")
	}
}

func (d *differ) column(path string, x, y *modelv1.Column) {
	if !equal.DataType(x.GetType(), y.GetType()) {
		before, after := dtype.String(x.GetType()), dtype.String(y.GetType())
		if x.GetType() != nil && y.GetType() != nil && compat.Accepts(y.GetType(), x.GetType()) {
			d.add(modelv1.ChangeKind_CHANGE_KIND_COLUMN_WIDENED, path, before, after)
		} else {
			d.add(teamChanged, path+"#type", before, after)
		}
	}
	d.scalar(teamChanged, path+"#nullable", nullability(x), nullability(y))
	d.list(teamChanged, path+"#classifications", classifications(x.GetClassifications()), classifications(y.GetClassifications()))
	d.docs(path, x.GetDocumentation(), y.GetDocumentation())
	if !equalExcept(x, y, "name", "type", "nullable", "classifications", "documentation") {
		d.add(teamChanged, path, "", "")
	}
}

func nullability(c *modelv1.Column) string {
	if c.GetNullable() {
		return "nullable"
	}
	return "not null"
}

// list reports k at path when two lists differ, before/after rendered "[a, b]".
func (d *differ) list(k kind, path string, x, y []string) {
	if !slices.Equal(x, y) {
		d.add(k, path, "["+strings.Join(x, ", ")+"]", "["+strings.Join(y, ", ")+"]")
	}
}

// classifications renders classifications as TYPE or TYPE:label, in list order.
func classifications(cs []*modelv1.Classification) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = enumName(c.GetType(), "CLASSIFICATION_TYPE_")
		if c.GetLabel() != "" {
			out[i] += ":" + c.GetLabel()
		}
	}
	return out
}

// ---------------------------------------------------------------------------------------------
// Workspaces

func (d *differ) workspaces(p *equal.Pairs[*modelv1.Workspace]) {
	for i, x := range p.Base {
		path := "workspace[" + x.GetName() + "]"
		switch y := p.Head[i]; {
		case y == nil:
			d.add(modelv1.ChangeKind_CHANGE_KIND_WORKSPACE_REMOVED, path, "", "")
		case p.Changed[i]:
			d.workspace(path, x, y)
		}
	}
	for _, y := range p.Added {
		d.add(modelv1.ChangeKind_CHANGE_KIND_WORKSPACE_ADDED, "workspace["+y.GetName()+"]", "", "")
	}
}

func (d *differ) workspace(path string, x, y *modelv1.Workspace) {
	d.scalar(teamChanged, path, teamKey{x.GetZone(), x.GetTeam()}.String(), teamKey{y.GetZone(), y.GetTeam()}.String())
	d.docs(path, x.GetDocumentation(), y.GetDocumentation())
	d.scalar(workspaceChanged, path+"#productionStatus",
		enumName(x.GetProductionStatus(), "PRODUCTION_STATUS_"), enumName(y.GetProductionStatus(), "PRODUCTION_STATUS_"))
	d.deprecation(workspaceChanged, path, x.GetDeprecation(), y.GetDeprecation())
	d.scalar(workspaceChanged, path+"#priority", enumName(x.GetPriority(), "PRIORITY_"), enumName(y.GetPriority(), "PRIORITY_"))
	mark := len(d.out)
	d.object(workspaceChanged, path+"#container", path, orNil(x.GetContainer()), orNil(y.GetContainer()))
	d.fallback(mark, workspaceChanged, path+"#container", equal.DataContainer(x.GetContainer(), y.GetContainer()))
	mark = len(d.out)
	d.object(workspaceChanged, path+"#classificationPolicy", path, orNil(x.GetClassificationPolicy()), orNil(y.GetClassificationPolicy()))
	d.fallback(mark, workspaceChanged, path+"#classificationPolicy", proto.Equal(x.GetClassificationPolicy(), y.GetClassificationPolicy()))

	ax, ay := x.GetAccess(), y.GetAccess()
	mark = len(d.out)
	if !slices.Equal(ax.GetConsumers(), ay.GetConsumers()) {
		d.add(modelv1.ChangeKind_CHANGE_KIND_CONSUMERS_CHANGED, path,
			strings.Join(ax.GetConsumers(), ", "), strings.Join(ay.GetConsumers(), ", "))
	}
	cx, cy := enumNames(ax.GetApprovedClassifications(), "CLASSIFICATION_TYPE_"), enumNames(ay.GetApprovedClassifications(), "CLASSIFICATION_TYPE_")
	d.list(workspaceChanged, path+"#access.approvedClassifications", cx, cy)
	if !equalExcept(orNil(ax), orNil(ay), "consumers", "approved_classifications") {
		d.add(workspaceChanged, path+"#access", "", "")
	}
	d.fallback(mark, workspaceChanged, path+"#access", proto.Equal(ax, ay))

	pairs(x.GetDatasetGroups(), y.GetDatasetGroups(), (*modelv1.DatasetGroup).GetName, func(g string, a, b *modelv1.DatasetGroup) {
		gp := path + "/dsg[" + g + "]"
		switch {
		case a == nil:
			d.add(modelv1.ChangeKind_CHANGE_KIND_DSG_ADDED, gp, "", "")
		case b == nil:
			d.add(modelv1.ChangeKind_CHANGE_KIND_DSG_REMOVED, gp, "", "")
		case !equal.DatasetGroup(a, b):
			d.datasetGroup(gp, a, b)
		}
	})

	tp := path + "/transformer"
	tx, ty := x.GetTransformer(), y.GetTransformer()
	switch {
	case tx == nil && ty == nil:
	case tx == nil:
		d.add(modelv1.ChangeKind_CHANGE_KIND_TRANSFORMER_ADDED, tp, "", "")
	case ty == nil:
		d.add(modelv1.ChangeKind_CHANGE_KIND_TRANSFORMER_REMOVED, tp, "", "")
	default:
		d.trigger(tp, tx.GetTrigger(), ty.GetTrigger())
		d.object(modelv1.ChangeKind_CHANGE_KIND_TRANSFORMER_CHANGED, tp, tp, without(tx, "trigger"), without(ty, "trigger"))
	}
	if !equalExcept(x, y, "name", "zone", "team", "documentation", "production_status", "deprecation", "priority",
		"container", "classification_policy", "access", "dataset_groups", "transformer") {
		d.add(workspaceChanged, path, "", "")
	}
}

// orNil turns a typed nil message into an empty one, so that an absent sub-message compares as
// an empty one (the callers report "absent against empty" separately, see fallback).
func orNil[M proto.Message](m M) proto.Message {
	if !m.ProtoReflect().IsValid() {
		return m.ProtoReflect().Type().New().Interface()
	}
	return m
}

func sinkName(s *modelv1.DatasetSink) string { return s.GetDatastore() + "." + s.GetDataset() }

func (d *differ) datasetGroup(path string, x, y *modelv1.DatasetGroup) {
	d.docs(path, x.GetDocumentation(), y.GetDocumentation())
	if !proto.Equal(x.GetPlatformRequirements(), y.GetPlatformRequirements()) {
		d.add(workspaceChanged, path+"#platformRequirements", "", "")
	}
	pairs(x.GetSinks(), y.GetSinks(), sinkName, func(s string, a, b *modelv1.DatasetSink) {
		sp := path + "/sink[" + s + "]"
		switch {
		case a == nil:
			d.add(modelv1.ChangeKind_CHANGE_KIND_SINK_ADDED, sp, "", "")
		case b == nil:
			d.add(modelv1.ChangeKind_CHANGE_KIND_SINK_REMOVED, sp, "", "")
		default:
			d.scalar(workspaceChanged, sp+"#deprecationsAllowed",
				enumName(a.GetDeprecationsAllowed(), "DEPRECATIONS_ALLOWED_"), enumName(b.GetDeprecationsAllowed(), "DEPRECATIONS_ALLOWED_"))
			if !equalExcept(a, b, "deprecations_allowed") {
				d.add(workspaceChanged, sp, "", "")
			}
		}
	})
	if !equalExcept(x, y, "name", "documentation", "platform_requirements", "sinks") {
		d.add(workspaceChanged, path, "", "")
	}
}

// ---------------------------------------------------------------------------------------------
// Platform services providers, data platforms

func (d *differ) platforms(a, b []*modelv1.PlatformServicesProvider) {
	pairs(a, b, (*modelv1.PlatformServicesProvider).GetName, func(p string, x, y *modelv1.PlatformServicesProvider) {
		path := "psp[" + p + "]"
		switch {
		case x == nil:
			d.add(modelv1.ChangeKind_CHANGE_KIND_PSP_ADDED, path, "", "")
		case y == nil:
			d.add(modelv1.ChangeKind_CHANGE_KIND_PSP_REMOVED, path, "", "")
		case x == y: // one object, shared by both models
		default:
			d.object(modelv1.ChangeKind_CHANGE_KIND_PSP_CHANGED, path, path, without(x, "platforms"), without(y, "platforms"))
		}
	})
	type at struct {
		psp string
		p   *modelv1.DataPlatform
	}
	index := func(ps []*modelv1.PlatformServicesProvider) []*at {
		var out []*at
		for _, psp := range ps {
			for _, p := range psp.GetPlatforms() {
				out = append(out, &at{psp.GetName(), p})
			}
		}
		return out
	}
	pairs(index(a), index(b), func(x *at) string { return x.p.GetName() }, func(name string, x, y *at) {
		switch {
		case x == nil:
			d.add(modelv1.ChangeKind_CHANGE_KIND_PLATFORM_ADDED, "psp["+y.psp+"]/platform["+name+"]", "", "")
		case y == nil:
			d.add(modelv1.ChangeKind_CHANGE_KIND_PLATFORM_REMOVED, "psp["+x.psp+"]/platform["+name+"]", "", "")
		default:
			path := "psp[" + y.psp + "]/platform[" + name + "]"
			d.scalar(modelv1.ChangeKind_CHANGE_KIND_PLATFORM_CHANGED, path, x.psp, y.psp)
			d.object(modelv1.ChangeKind_CHANGE_KIND_PLATFORM_CHANGED, path, path, x.p, y.p)
		}
	})
}

// ---------------------------------------------------------------------------------------------
// Assignments and primary ingestion

func (d *differ) assignments(a, b []*modelv1.DatasetGroupAssignment) {
	if slices.Equal(a, b) {
		return // the same objects (loaded models share the objects of unchanged files)
	}
	type entry struct {
		wg string
		p  *modelv1.PlatformAssignment
	}
	flat := func(as []*modelv1.DatasetGroupAssignment) []*entry {
		var out []*entry
		for _, x := range as {
			for _, p := range x.GetPlatforms() {
				out = append(out, &entry{x.GetWorkspace() + "." + x.GetDatasetGroup(), p})
			}
		}
		return out
	}
	key := func(e *entry) string { return "assignment[" + e.wg + "]/platform[" + e.p.GetPlatform() + "]" }
	// An entry without platforms (a lint error) is still a difference.
	pairs(a, b, func(x *modelv1.DatasetGroupAssignment) string { return x.GetWorkspace() + "." + x.GetDatasetGroup() },
		func(wg string, x, y *modelv1.DatasetGroupAssignment) {
			if (x == nil || y == nil) && len(x.GetPlatforms())+len(y.GetPlatforms()) == 0 {
				d.add(ecosystemChanged, "assignment["+wg+"]", "", "")
			}
		})
	pairs(flat(a), flat(b), key, func(path string, x, y *entry) {
		switch {
		case x == nil:
			d.add(modelv1.ChangeKind_CHANGE_KIND_ASSIGNMENT_ADDED, path, "", status(y.p))
		case y == nil:
			d.add(modelv1.ChangeKind_CHANGE_KIND_ASSIGNMENT_REMOVED, path, status(x.p), "")
		case equal.PlatformAssignment(x.p, y.p):
		default:
			d.scalar(modelv1.ChangeKind_CHANGE_KIND_ASSIGNMENT_STATUS_CHANGED, path, status(x.p), status(y.p))
			d.scalar(ecosystemChanged, path+"#productionStatus",
				enumName(x.p.GetProductionStatus(), "PRODUCTION_STATUS_"), enumName(y.p.GetProductionStatus(), "PRODUCTION_STATUS_"))
			d.scalar(ecosystemChanged, path+"#deprecationsAllowed",
				enumName(x.p.GetDeprecationsAllowed(), "DEPRECATIONS_ALLOWED_"), enumName(y.p.GetDeprecationsAllowed(), "DEPRECATIONS_ALLOWED_"))
			d.docs(path, x.p.GetDocumentation(), y.p.GetDocumentation())
			if !equalExcept(x.p, y.p, "status", "production_status", "deprecations_allowed", "documentation") {
				d.add(ecosystemChanged, path, "", "")
			}
		}
	})
}

func status(p *modelv1.PlatformAssignment) string {
	return enumName(p.GetStatus(), "ASSIGNMENT_STATUS_")
}

func (d *differ) primaryIngestions(a, b []*modelv1.PrimaryIngestion) {
	if slices.Equal(a, b) {
		return // the same objects
	}
	pairs(a, b, (*modelv1.PrimaryIngestion).GetDatastore, func(s string, x, y *modelv1.PrimaryIngestion) {
		if x == nil || y == nil || !proto.Equal(x, y) {
			d.add(modelv1.ChangeKind_CHANGE_KIND_PRIMARY_INGESTION_CHANGED, "primary["+s+"]",
				strings.Join(x.GetPlatforms(), ", "), strings.Join(y.GetPlatforms(), ", "))
		}
	})
}

// enumName renders a protobuf enum value without its type prefix.
func enumName[E interface{ String() string }](e E, prefix string) string {
	return strings.TrimPrefix(e.String(), prefix)
}

func enumNames[E interface{ String() string }](es []E, prefix string) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = enumName(e, prefix)
	}
	return out
}
