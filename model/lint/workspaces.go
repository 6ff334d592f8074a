package lint

import (
	"strings"

	"github.com/datasurface/datasurface/model/index"
	"github.com/datasurface/datasurface/model/names"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// checkWorkspaces: DS-LINT-080..096 (DS-LINT-097 is the intention graph's) — dataset groups,
// sinks, approvals, production status, deprecation, visibility and masking, consumers,
// workspace containers and transformers.
func checkWorkspaces(c *Context) {
	managed := managedRolePrefixes(c.Index)
	workspaces := c.Model.GetWorkspaces()
	inShards(c, len(workspaces), func(k *objChecker, lo, hi int) {
		for _, ws := range workspaces[lo:hi] {
			k.checkWorkspace(ws, managed)
		}
	})
}

func (k *objChecker) checkWorkspace(ws *modelv1.Workspace, managed []string) {
	w := ws.GetName()
	path := index.WorkspacePath(w)
	k.checkConsumers(ws, managed)
	if dc := ws.GetContainer(); dc.GetKind() != nil && index.ContainerOf(dc).Variant != "ref" {
		k.checkContainerAddress(dc, node{path, "container", ""})
	}
	approved := clsMaskOf(ws.GetAccess().GetApprovedClassifications())
	var clear clsMask // classification types this workspace sees in clear, over all sinks
	for _, g := range ws.GetDatasetGroups() {
		gn := g.GetName()
		if len(g.GetSinks()) == 0 {
			gpath := index.DSGPath(w, gn)
			k.c.Report(RuleDSGEmpty, gpath, gpath+"#sinks", "dataset group '%s.%s' has no sinks", w, gn)
		}
		if ws.GetTransformer() != nil && g.GetPlatformRequirements() != nil {
			gpath := index.DSGPath(w, gn)
			k.c.Report(RuleTransformerWorkspaceAssign, gpath, gpath+"#platformRequirements",
				"'%s' has a transformer, so dataset group '%s' must not declare platformRequirements", w, gn)
		}
		for _, sk := range g.GetSinks() {
			clear |= k.checkSink(ws, gn, sk, approved)
		}
	}
	k.checkClassificationPolicies(ws, clear)
	if ws.GetTransformer() != nil {
		k.checkTransformer(ws)
	}
}

// checkSink: DS-LINT-081..087 for one sink. It returns the classification types the sink shows
// the workspace in clear.
func (k *objChecker) checkSink(ws *modelv1.Workspace, g string, sk *modelv1.DatasetSink, approved clsMask) clsMask {
	w, s, d := ws.GetName(), sk.GetDatastore(), sk.GetDataset()
	store := k.x.Datastores[s]
	if store == nil {
		return 0 // an unknown datastore is DS-LINT-006's
	}
	ds := k.dataset(store, d)
	if ds == nil {
		spath := index.SinkPath(w, g, s, d)
		k.c.Report(RuleSinkDatasetUnknown, spath, spath+"#dataset", "sink '%s.%s' names an unknown dataset", s, d)
		return 0
	}
	deprecated := isDeprecated(store.GetDeprecation()) || isDeprecated(ds.GetDeprecation())
	approvedHere := k.approved(store, w, g, d)
	mismatch := store.GetProductionStatus() != ws.GetProductionStatus() &&
		productionName(store.GetProductionStatus()) != productionName(ws.GetProductionStatus())
	if approvedHere && !mismatch && !deprecated {
		return k.visibility(w, g, s, ds, func() string { return index.SinkPath(w, g, s, d) }, approved)
	}
	spath := index.SinkPath(w, g, s, d)
	if !approvedHere {
		k.c.Report(RuleSinkNotApproved, spath, spath, "datastore '%s' does not approve '%s.%s' for dataset '%s'", s, w, g, d)
	}
	if mismatch {
		k.c.Report(RuleProductionMismatch, spath, spath, "sink '%s.%s' connects a %s datastore to a %s one", s, d,
			productionName(store.GetProductionStatus()), productionName(ws.GetProductionStatus()))
	}
	if deprecated {
		if sk.GetDeprecationsAllowed() == modelv1.DeprecationsAllowed_DEPRECATIONS_ALLOWED_ALLOWED {
			k.c.Report(RuleDeprecatedAcknowledged, spath, spath, "'%s.%s' uses deprecated dataset '%s.%s'", w, g, s, d)
		} else {
			k.c.Report(RuleDeprecatedInUse, spath, spath,
				"'%s.%s' uses deprecated dataset '%s.%s'; acknowledge with deprecationsAllowed: ALLOWED or remove the sink", w, g, s, d)
		}
	}
	return k.visibility(w, g, s, ds, func() string { return spath }, approved)
}

// visibility applies spec/model.md §4.12 steps 1 and 2 to one sink: every dataset-level
// classification the workspace has not approved is DS-LINT-086 (and nothing reaches the
// workspace); columns carrying an unapproved classification are masked (one DS-LINT-087 listing
// them). It returns the types that reach the workspace in clear.
func (k *objChecker) visibility(w, g, s string, ds *modelv1.Dataset, sinkPath func() string, approved clsMask) clsMask {
	d := ds.GetName()
	datasetLevel := clsMaskOf2(ds.GetClassifications())
	if bad := datasetLevel &^ approved; bad != 0 {
		spath := sinkPath()
		for _, t := range bad.types() {
			k.c.Report(RuleClassificationNotApproved, spath, spath,
				"workspace '%s' has not approved classification %s of dataset '%s.%s'", w, clsName(t), s, d)
		}
		return 0
	}
	clear := datasetLevel
	var masked []string
	for _, col := range ds.GetColumns() {
		m := clsMaskOf2(col.GetClassifications())
		if m&^approved != 0 {
			masked = append(masked, "'"+col.GetName()+"'")
			continue
		}
		clear |= m
	}
	if len(masked) > 0 {
		spath := sinkPath()
		k.c.Report(RuleColumnsMasked, spath, spath, "workspace '%s' group '%s' sees '%s.%s' with masked columns %s", w, g, s, d, strings.Join(masked, ", "))
	}
	return clear
}

// checkClassificationPolicies: DS-LINT-088 (spec/model.md §4.12 step 3) — every type that reaches
// the workspace in clear must be accepted by the workspace's classificationPolicy and by every
// classification policy of the workspace's zone. One problem per (type, policy), cited at the
// approval that lets the type through.
func (k *objChecker) checkClassificationPolicies(ws *modelv1.Workspace, clear clsMask) {
	if clear == 0 {
		return
	}
	w := ws.GetName()
	path := index.WorkspacePath(w) // one per workspace that sees something in clear
	var own *clsPolicy
	if p := ws.GetClassificationPolicy(); p != nil {
		cp := newClsPolicy(p)
		own = &cp
	}
	zone := k.zonePolicies(ws.GetZone())
	for _, t := range clear.types() {
		if (own == nil || own.accepts(t)) && acceptedByAll(zone, t) {
			continue
		}
		key := path + "#access.approvedClassifications[" + clsName(t) + "]"
		if own != nil && !own.accepts(t) {
			k.c.Report(RuleClassificationPolicy, path, key, "classification %s visible to workspace '%s' is not allowed by workspace policy", clsName(t), w)
		}
		for _, p := range zone {
			if !p.accepts(t) {
				k.c.Report(RuleClassificationPolicy, path, key, "classification %s visible to workspace '%s' is not allowed by policy '%s' of zone '%s'",
					clsName(t), w, p.name, ws.GetZone())
			}
		}
	}
}

func acceptedByAll(ps []clsPolicy, t modelv1.ClassificationType) bool {
	for _, p := range ps {
		if !p.accepts(t) {
			return false
		}
	}
	return true
}

func (k *objChecker) zonePolicies(z string) []clsPolicy {
	ps, ok := k.zoneCls[z]
	if !ok {
		for _, p := range k.x.Zones[z].GetClassificationPolicies() {
			ps = append(ps, newClsPolicy(p))
		}
		k.zoneCls[z] = ps
	}
	return ps
}

// ---------------------------------------------------------------------------------------------
// Classification sets

// clsMask is a set of classification types: bit n = ClassificationType n.
type clsMask uint32

func clsMaskOf(ts []modelv1.ClassificationType) clsMask {
	var m clsMask
	for _, t := range ts {
		if t > 0 && t < 32 {
			m |= 1 << t
		}
	}
	return m
}

func clsMaskOf2(cs []*modelv1.Classification) clsMask {
	var m clsMask
	for _, c := range cs {
		if t := c.GetType(); t > 0 && t < 32 {
			m |= 1 << t
		}
	}
	return m
}

// types returns the members of m in enum order.
func (m clsMask) types() []modelv1.ClassificationType {
	var out []modelv1.ClassificationType
	for t := modelv1.ClassificationType(1); t < 32; t++ {
		if m&(1<<t) != 0 {
			out = append(out, t)
		}
	}
	return out
}

func clsName(t modelv1.ClassificationType) string {
	return enumName(t.String(), "CLASSIFICATION_TYPE_")
}

// clsPolicy is an allow/deny policy over classification types (spec/model.md §4.3).
type clsPolicy struct {
	name                string
	restricts           bool // allowed is non-empty
	allowed, notAllowed clsMask
}

func newClsPolicy(p *modelv1.AllowDenyPolicy) clsPolicy {
	cp := clsPolicy{name: p.GetName(), restricts: len(p.GetAllowed()) > 0}
	parse := func(vs []string) clsMask {
		var m clsMask
		for _, v := range vs {
			if t, ok := modelv1.ClassificationType_value["CLASSIFICATION_TYPE_"+v]; ok && t > 0 && t < 32 {
				m |= 1 << t
			}
		}
		return m
	}
	cp.allowed, cp.notAllowed = parse(p.GetAllowed()), parse(p.GetNotAllowed())
	return cp
}

func (p clsPolicy) accepts(t modelv1.ClassificationType) bool {
	bit := clsMask(1) << t
	return !(p.restricts && p.allowed&bit == 0) && p.notAllowed&bit == 0
}

func productionName(p modelv1.ProductionStatus) string {
	if p == modelv1.ProductionStatus_PRODUCTION_STATUS_PRODUCTION {
		return "PRODUCTION"
	}
	return "NOT_PRODUCTION" // the default
}

// ---------------------------------------------------------------------------------------------
// Consumers (DS-LINT-089)

// checkConsumers: a consumer must be a valid principal (1–63 bytes, no control characters;
// security.md §8), not a reserved role (postgres, public, pg_*, case-insensitively) and not a
// role datasurface manages (security.md §2).
func (k *objChecker) checkConsumers(ws *modelv1.Workspace, managed []string) {
	w := ws.GetName()
	path := index.WorkspacePath(w)
	for _, p := range ws.GetAccess().GetConsumers() {
		key := path + "#access.consumers[" + p + "]"
		lower := strings.ToLower(p)
		switch {
		case !names.IsPrincipal(p):
			k.c.Report(RuleConsumerInvalid, path, key, "consumer '%s' of workspace '%s' is not a valid role name (1–63 bytes, no control characters)", oneLineName(p), w)
		case lower == "postgres" || lower == "public" || strings.HasPrefix(lower, "pg_"):
			k.c.Report(RuleConsumerInvalid, path, key, "consumer '%s' of workspace '%s' is reserved (postgres, public, pg_*)", p, w)
		case isManagedRole(lower, managed):
			k.c.Report(RuleConsumerInvalid, path, key, "consumer '%s' of workspace '%s' is a datasurface-managed role", p, w)
		}
	}
}

// managedRolePrefixes returns phys(D) + "_" for every Yellow platform D: every role the security
// service manages on D starts with it (security.md §2).
func managedRolePrefixes(x *index.Index) []string {
	var out []string
	for _, p := range x.Model.GetPsps() {
		for _, d := range p.GetPlatforms() {
			if d.GetYellow() != nil {
				out = append(out, strings.ToLower(d.GetName())+"_")
			}
		}
	}
	return out
}

// physMax and physKeep describe phys() of yellow.md §2: a lower-cased name longer than 63 bytes
// becomes its first 54 bytes + "_" + 8 hex digits of its SHA-256.
const (
	physMax  = 63
	physKeep = 54
)

// isManagedRole reports whether the lower-cased role name r is, or could be, a role the security
// service manages (security.md §2): phys(D_owner), phys(D_reader), phys(D_ws_W) or
// phys(D_dt_W) for a Yellow platform D (prefix = lower(D) + "_") and any workspace name W — also
// one not yet in the model, so a consumer can never be granted a future workspace's or
// transformer's role. Hashed long names are matched by shape: their kept 54 bytes must be a
// prefix of such a name.
func isManagedRole(r string, prefixes []string) bool {
	hashed := len(r) == physMax && r[physKeep] == '_' && isLowerHex(r[physKeep+1:])
	for _, p := range prefixes {
		if rest, ok := strings.CutPrefix(r, p); ok && managedSuffix(rest, false) {
			return true
		}
		if !hashed {
			continue
		}
		kept := r[:physKeep]
		if len(p) >= physKeep {
			if kept == p[:physKeep] {
				return true
			}
		} else if rest, ok := strings.CutPrefix(kept, p); ok && managedSuffix(rest, true) {
			return true
		}
	}
	return false
}

// managedSuffix reports whether s is owner, reader, ws_<w> or dt_<w> for a lower-cased SQL
// identifier w; with truncated, whether s is a prefix of such a suffix whose full name is
// longer than 63 bytes (only ws_/dt_ names can be).
func managedSuffix(s string, truncated bool) bool {
	if !truncated && (s == "owner" || s == "reader") {
		return true
	}
	var w string
	switch {
	case strings.HasPrefix(s, "ws_"), strings.HasPrefix(s, "dt_"):
		w = s[3:]
	case truncated && len(s) < 3:
		return strings.HasPrefix("ws_", s) || strings.HasPrefix("dt_", s)
	default:
		return false
	}
	if w == "" {
		return truncated
	}
	if w[0] < 'a' || w[0] > 'z' {
		return false
	}
	for i := 1; i < len(w); i++ {
		if c := w[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return s != ""
}
