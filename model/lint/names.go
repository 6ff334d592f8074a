package lint

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/datasurface/datasurface/model/index"
	"github.com/datasurface/datasurface/model/names"
	"github.com/datasurface/datasurface/model/problem"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// checkNames reports DS-LINT-001..005 and DS-LINT-007: the syntax of every name by its kind
// (spec/model.md §2.1) and uniqueness within every scope of §2.2, case-insensitively for names
// and exactly for keys made of references (sinks, assignments, primary ingestions).
// Struct field names are the type rules' (DS-LINT-054); consumers are the workspace rules'.
func checkNames(c *Context) {
	r := &nameRules{c: c}
	r.ecosystem()
	r.zones()
	r.teams()
	r.psps()
	r.datastores()
	r.workspaces()
	r.assignments()
}

// nameRules holds the reusable uniqueness sets of one checkNames run.
type nameRules struct {
	c *Context
	// sets reused for the many small scopes, so large models allocate little.
	datasets, columns, dsgs, sinks, containers uniqueScope
}

const theEcosystem = "the ecosystem"

func quotedScope(kind, name string) string { return kind + " '" + oneLineName(name) + "'" }

// sqlName reports DS-LINT-001 or DS-LINT-002 when n is not a valid SQL identifier.
func (r *nameRules) sqlName(what, n, path, key string) {
	switch names.SQLIdentifier(n) {
	case names.SQLIdentifierInvalid:
		r.c.Report(RuleSQLIdentifierInvalid, path, key,
			"%s name '%s' must start with a letter and contain only letters, digits and '_' (at most 128)", what, oneLineName(n))
	case names.SQLIdentifierReserved:
		r.c.Report(RuleSQLIdentifierReserved, path, key, "%s name '%s' is a reserved SQL word", what, n)
	}
}

// displayName reports DS-LINT-003 when n is not a display name.
func (r *nameRules) displayName(what, n, path, key string) {
	if !names.IsDisplayName(n) {
		r.c.Report(RuleDisplayNameInvalid, path, key,
			"%s name '%s' must be 1–128 printable characters without '/' or ':' or surrounding spaces", what, oneLineName(n))
	}
}

// credential reports DS-LINT-007 when cr's name is not a credential name. key is the field path
// of the credential; its name is cited.
func (r *nameRules) credential(cr *modelv1.Credential, path, key string) {
	if cr == nil {
		return
	}
	if n := cr.GetName(); !names.IsCredentialName(n) {
		r.c.Report(RuleCredentialNameInvalid, path, key+".name",
			"credential name '%s' must match ^[A-Za-z_][A-Za-z0-9_]*$", oneLineName(n))
	}
}

// inlineContainer checks the optional display name of an inline container whose field path
// (below object path) is field, e.g. "capture.sqlSnapshot.container".
func (r *nameRules) inlineContainer(dc *modelv1.DataContainer, path, field string) {
	info := index.ContainerOf(dc)
	if info.Variant == "" || info.Variant == "ref" || info.Name == "" {
		return
	}
	r.displayName("container", info.Name, path, path+"#"+field+"."+info.Variant+".name")
}

func (r *nameRules) ecosystem() {
	eco := r.c.Model.GetEcosystem()
	if eco == nil {
		return
	}
	r.displayName("ecosystem", eco.GetName(), index.EcosystemPath, index.EcosystemPath)

	vendors := eco.GetVendors()
	var u uniqueScope
	u.reset(r.c, "vendor", true, func() string { return theEcosystem }, func(i int) (string, string) {
		p := index.VendorPath(vendors[i].GetName())
		return p, p
	})
	for i, v := range vendors {
		p := index.VendorPath(v.GetName())
		r.displayName("vendor", v.GetName(), p, p)
		u.add(i, v.GetName())
		r.locations(v.GetName(), nil, p, v.GetLocations())
	}

	zones := eco.GetZones()
	u.reset(r.c, "zone", true, func() string { return theEcosystem }, func(i int) (string, string) {
		return index.EcosystemPath, index.EcosystemPath + "#zones[" + zones[i].GetName() + "]"
	})
	for i, z := range zones {
		r.displayName("zone", z.GetName(), index.EcosystemPath, index.EcosystemPath+"#zones["+z.GetName()+"]")
		u.add(i, z.GetName())
	}
}

// locations checks the names of sibling locations locs below parent (the path from the vendor's
// root, nil at the root) whose object path is parentPath.
func (r *nameRules) locations(vendor string, parent []string, parentPath string, locs []*modelv1.Location) {
	if len(locs) == 0 {
		return
	}
	scope := func() string {
		if len(parent) == 0 {
			return quotedScope("vendor", vendor)
		}
		return quotedScope("location", vendor+":"+strings.Join(parent, "/"))
	}
	var u uniqueScope
	u.reset(r.c, "location", true, scope, func(i int) (string, string) {
		p := parentPath + "/location[" + locs[i].GetName() + "]"
		return p, p
	})
	for i, l := range locs {
		p := parentPath + "/location[" + l.GetName() + "]"
		r.displayName("location", l.GetName(), p, p)
		u.add(i, l.GetName())
		r.locations(vendor, append(parent[:len(parent):len(parent)], l.GetName()), p, l.GetChildren())
	}
}

func (r *nameRules) zones() {
	zones := r.c.Model.GetZones()
	x := r.c.Index
	var u uniqueScope
	u.reset(r.c, "zone", true, func() string { return theEcosystem }, func(i int) (string, string) {
		p := index.ZonePath(zones[i].GetName())
		return p, p
	})
	for i, z := range zones {
		zp := index.ZonePath(z.GetName())
		// A declared zone's name is checked at its declaration (the document must repeat it).
		if _, declared := x.ZoneDecls[z.GetName()]; !declared {
			r.displayName("zone", z.GetName(), zp, zp)
		}
		u.add(i, z.GetName())
		r.zone(z, zp)
	}
}

// zone checks the team declarations and policy names of one GovernanceZone document.
func (r *nameRules) zone(z *modelv1.GovernanceZone, zp string) {
	zoneScope := func() string { return quotedScope("zone", z.GetName()) }
	teams := z.GetTeams()
	var u uniqueScope
	u.reset(r.c, "team", true, zoneScope, func(i int) (string, string) {
		return zp, zp + "#teams[" + teams[i].GetName() + "]"
	})
	for i, t := range teams {
		r.displayName("team", t.GetName(), zp, zp+"#teams["+t.GetName()+"]")
		u.add(i, t.GetName())
	}

	storage := z.GetStoragePolicies()
	u.reset(r.c, "storage policy", true, zoneScope, func(i int) (string, string) {
		return zp, zp + "#storagePolicies[" + storage[i].GetName() + "]"
	})
	for i, p := range storage {
		r.displayName("storage policy", p.GetName(), zp, zp+"#storagePolicies["+p.GetName()+"]")
		u.add(i, p.GetName())
	}
	for _, k := range zonePolicyKinds {
		ps := k.get(z)
		u.reset(r.c, k.what, true, zoneScope, func(i int) (string, string) {
			return zp, zp + "#" + k.field + "[" + ps[i].GetName() + "]"
		})
		for i, p := range ps {
			r.displayName(k.what, p.GetName(), zp, zp+"#"+k.field+"["+p.GetName()+"]")
			u.add(i, p.GetName())
		}
	}
}

// policyKind is one kind of allow/deny policy of a zone.
type policyKind struct {
	what  string // as in messages: "location policy"
	field string // json name of the zone field: "locationPolicies"
	get   func(*modelv1.GovernanceZone) []*modelv1.AllowDenyPolicy
}

// zonePolicyKinds lists the allow/deny policy kinds of a zone in the order of spec/model.md §4.3.
var zonePolicyKinds = []policyKind{
	{"classification policy", "classificationPolicies", (*modelv1.GovernanceZone).GetClassificationPolicies},
	{"vendor policy", "vendorPolicies", (*modelv1.GovernanceZone).GetVendorPolicies},
	{"hard-vendor policy", "hardVendorPolicies", (*modelv1.GovernanceZone).GetHardVendorPolicies},
	{"location policy", "locationPolicies", (*modelv1.GovernanceZone).GetLocationPolicies},
	{"platform policy", "platformPolicies", (*modelv1.GovernanceZone).GetPlatformPolicies},
}

// teams checks Team documents: names unique per zone, team containers named and unique.
func (r *nameRules) teams() {
	x := r.c.Index
	byZone := make(map[string]*uniqueScope)
	teams := r.c.Model.GetTeams()
	for i, t := range teams {
		tp := index.TeamPath(t.GetZone(), t.GetName())
		if _, declared := x.TeamDecls[index.TeamKey(t.GetZone(), t.GetName())]; !declared {
			r.displayName("team", t.GetName(), tp, tp)
		}
		u := byZone[t.GetZone()]
		if u == nil {
			u = &uniqueScope{}
			zone := t.GetZone()
			u.reset(r.c, "team", true, func() string { return quotedScope("zone", zone) }, func(i int) (string, string) {
				p := index.TeamPath(teams[i].GetZone(), teams[i].GetName())
				return p, p
			})
			byZone[zone] = u
		}
		u.add(i, t.GetName())

		cs := t.GetContainers()
		r.containers.reset(r.c, "team container", true, func() string {
			return quotedScope("team", index.TeamKey(t.GetZone(), t.GetName()))
		}, func(i int) (string, string) {
			return tp, tp + "#containers[" + index.ContainerName(cs[i]) + "]"
		})
		for i, dc := range cs {
			n := index.ContainerName(dc)
			r.displayName("team container", n, tp, tp+"#containers["+n+"]")
			r.containers.add(i, n)
		}
	}
}

func (r *nameRules) psps() {
	psps := r.c.Model.GetPsps()
	var u uniqueScope
	u.reset(r.c, "platform services provider", true, func() string { return theEcosystem }, func(i int) (string, string) {
		p := index.PSPPath(psps[i].GetName())
		return p, p
	})
	// Platforms are unique across all PSPs; flatten them to index the set.
	type plat struct{ psp, name string }
	var plats []plat
	for i, p := range psps {
		pp := index.PSPPath(p.GetName())
		r.displayName("platform services provider", p.GetName(), pp, pp)
		u.add(i, p.GetName())
		for _, d := range p.GetPlatforms() {
			plats = append(plats, plat{p.GetName(), d.GetName()})
			dp := index.PlatformPath(p.GetName(), d.GetName())
			r.displayName("platform", d.GetName(), dp, dp)
			if y := d.GetYellow(); y != nil {
				r.inlineContainer(y.GetMergeDatabase(), dp, "yellow.mergeDatabase")
				r.credential(y.GetMergeCredential(), dp, dp+"#yellow.mergeCredential")
				r.credential(y.GetSecurityCredential(), dp, dp+"#yellow.securityCredential")
				r.credential(y.GetRawArchive().GetCredential(), dp, dp+"#yellow.rawArchive.credential")
			}
		}
	}
	u.reset(r.c, "platform", true, func() string { return theEcosystem }, func(i int) (string, string) {
		p := index.PlatformPath(plats[i].psp, plats[i].name)
		return p, p
	})
	for i, p := range plats {
		u.add(i, p.name)
	}
}

func (r *nameRules) datastores() {
	stores := r.c.Model.GetDatastores()
	var u uniqueScope
	u.reset(r.c, "datastore", true, func() string { return theEcosystem }, func(i int) (string, string) {
		p := index.DatastorePath(stores[i].GetName())
		return p, p
	})
	// The datasets of store and the columns of set are checked with closures made once: the
	// loops below only move store and set.
	var store *modelv1.Datastore
	var set *modelv1.Dataset
	datasetScope := func() string { return quotedScope("datastore", store.GetName()) }
	datasetMember := func(i int) (string, string) {
		p := index.DatasetPath(store.GetName(), store.GetDatasets()[i].GetName())
		return p, p
	}
	columnScope := func() string { return quotedScope("dataset", store.GetName()+"."+set.GetName()) }
	columnMember := func(i int) (string, string) {
		p := index.ColumnPath(store.GetName(), set.GetName(), set.GetColumns()[i].GetName())
		return p, p
	}
	for i, s := range stores {
		store = s
		sn := s.GetName()
		if names.SQLIdentifier(sn) != names.SQLIdentifierValid {
			sp := index.DatastorePath(sn)
			r.sqlName("datastore", sn, sp, sp)
		}
		u.add(i, sn)

		if cp := index.CaptureOf(s); cp.Container != nil {
			sp := index.DatastorePath(sn)
			r.inlineContainer(cp.Container, sp, cp.FieldPrefix+".container")
			r.credential(cp.Credential, sp, sp+"#"+cp.FieldPrefix+".credential")
		}

		r.datasets.reset(r.c, "dataset", true, datasetScope, datasetMember)
		for j, d := range s.GetDatasets() {
			set = d
			if names.SQLIdentifier(d.GetName()) != names.SQLIdentifierValid {
				dp := index.DatasetPath(sn, d.GetName())
				r.sqlName("dataset", d.GetName(), dp, dp)
			}
			r.datasets.add(j, d.GetName())

			r.columns.reset(r.c, "column", true, columnScope, columnMember)
			for k, col := range d.GetColumns() {
				if names.SQLIdentifier(col.GetName()) != names.SQLIdentifierValid {
					p := index.ColumnPath(sn, d.GetName(), col.GetName())
					r.sqlName("column", col.GetName(), p, p)
				}
				r.columns.add(k, col.GetName())
			}
		}
	}
}

func (r *nameRules) workspaces() {
	wss := r.c.Model.GetWorkspaces()
	var u uniqueScope
	u.reset(r.c, "workspace", true, func() string { return theEcosystem }, func(i int) (string, string) {
		p := index.WorkspacePath(wss[i].GetName())
		return p, p
	})
	// Transformers are unique across the ecosystem; txs indexes the workspaces that have one.
	var txs []*modelv1.Workspace
	for i, w := range wss {
		wn := w.GetName()
		wp := index.WorkspacePath(wn)
		r.sqlName("workspace", wn, wp, wp)
		u.add(i, wn)
		r.inlineContainer(w.GetContainer(), wp, "container")
		if cp := w.GetClassificationPolicy(); cp != nil {
			r.displayName("classification policy", cp.GetName(), wp, wp+"#classificationPolicy.name")
		}

		dsgs := w.GetDatasetGroups()
		r.dsgs.reset(r.c, "dataset group", true, func() string { return quotedScope("workspace", wn) }, func(i int) (string, string) {
			p := index.DSGPath(wn, dsgs[i].GetName())
			return p, p
		})
		for j, g := range dsgs {
			gn := g.GetName()
			gp := index.DSGPath(wn, gn)
			r.sqlName("dataset group", gn, gp, gp)
			r.dsgs.add(j, gn)

			sinks := g.GetSinks()
			r.sinks.reset(r.c, "sink", false, func() string { return quotedScope("dataset group", wn+"."+gn) }, func(i int) (string, string) {
				p := index.SinkPath(wn, gn, sinks[i].GetDatastore(), sinks[i].GetDataset())
				return p, p
			})
			for k, s := range sinks {
				r.sinks.add(k, s.GetDatastore()+"."+s.GetDataset())
			}
		}
		if t := w.GetTransformer(); t != nil {
			tp := index.TransformerPath(wn)
			r.sqlName("transformer", t.GetName(), tp, tp+"#name")
			txs = append(txs, w)
		}
	}
	u.reset(r.c, "transformer", true, func() string { return theEcosystem }, func(i int) (string, string) {
		p := index.TransformerPath(txs[i].GetName())
		return p, p + "#name"
	})
	for i, w := range txs {
		u.add(i, w.GetTransformer().GetName())
	}
}

// assignments checks that assignment keys W.G, the platforms of one assignment, primary
// ingestions and the platforms of one primary ingestion do not repeat (exactly: they are
// references, resolved by the assignment rules).
func (r *nameRules) assignments() {
	as := r.c.Model.GetAssignments()
	var u, plats uniqueScope
	u.reset(r.c, "assignment", false, func() string { return theEcosystem }, func(i int) (string, string) {
		p := index.AssignmentPath(as[i].GetWorkspace(), as[i].GetDatasetGroup())
		return p, p
	})
	for i, a := range as {
		u.add(i, a.GetWorkspace()+"."+a.GetDatasetGroup())
		ps := a.GetPlatforms()
		plats.reset(r.c, "platform", false, func() string {
			return quotedScope("assignment", a.GetWorkspace()+"."+a.GetDatasetGroup())
		}, func(i int) (string, string) {
			p := index.AssignmentPlatformPath(a.GetWorkspace(), a.GetDatasetGroup(), ps[i].GetPlatform())
			return p, p
		})
		for j, p := range ps {
			plats.add(j, p.GetPlatform())
		}
	}

	pis := r.c.Model.GetPrimaryIngestions()
	u.reset(r.c, "primary ingestion", false, func() string { return theEcosystem }, func(i int) (string, string) {
		p := index.PrimaryPath(pis[i].GetDatastore())
		return p, p
	})
	for i, pi := range pis {
		u.add(i, pi.GetDatastore())
		pp := index.PrimaryPath(pi.GetDatastore())
		ps := pi.GetPlatforms()
		plats.reset(r.c, "platform", false, func() string { return quotedScope("primary ingestion", pi.GetDatastore()) },
			func(i int) (string, string) { return pp, pp + "#platforms[" + ps[i] + "]" })
		for j, p := range ps {
			plats.add(j, p)
		}
	}
}

// uniqueScope finds repeated names among the members of one scope (spec/model.md §2.2): an exact
// repeat is DS-LINT-004, a repeat that differs only by letter case (Unicode simple folding, as
// strings.EqualFold) is DS-LINT-005. Members are identified by their index; paths and keys are
// computed only when a problem is reported. A uniqueScope is reset and reused for every scope of
// one kind, and names are hashed rather than lower-cased, so checking the columns of 100,000
// datasets allocates almost nothing.
type uniqueScope struct {
	c      *Context
	what   string
	fold   bool
	scope  func() string
	member func(i int) (path, key string)

	// The first holder of each (folded) name by its hash: in a slice while the scope is small
	// (most are: the columns of a dataset), in a map once it holds more than smallScope names.
	hashes  []uint64
	holders []firstHolder
	first   map[uint64]firstHolder
	slow    map[string]firstHolder // folded name → first holder, for names whose hash collides
	exact   map[string]int         // exact name → first holder, only within collision groups
	count   map[string]int         // exact name → occurrences, only for repeated names
}

type firstHolder struct {
	i    int
	name string
}

// reset prepares u for a new scope. fold selects case-insensitive comparison (names) or exact
// comparison (keys made of references). member returns the object path and source-map key of
// member i.
func (u *uniqueScope) reset(c *Context, what string, fold bool, scope func() string, member func(i int) (path, key string)) {
	u.c, u.what, u.fold, u.scope, u.member = c, what, fold, scope, member
	u.hashes, u.holders = u.hashes[:0], u.holders[:0]
	clear(u.first)
	for _, m := range []map[string]int{u.exact, u.count} {
		clear(m)
	}
	clear(u.slow)
}

// add registers member i named n and reports it when it repeats an earlier member.
func (u *uniqueScope) add(i int, n string) {
	h := nameHash(n, u.fold)
	fh, ok := u.lookup(h)
	if !ok {
		u.insert(h, firstHolder{i, n})
		return
	}
	if !u.same(fh.name, n) { // different names with one hash: fall back to string keys
		if u.slow == nil {
			u.slow = make(map[string]firstHolder)
		}
		k := n
		if u.fold {
			k = foldName(n)
		}
		if fh, ok = u.slow[k]; !ok {
			u.slow[k] = firstHolder{i, n}
			return
		}
	}
	if fh.name == n {
		u.duplicate(i, fh.i, n)
		return
	}
	// A case-insensitive repeat: an exact repeat of an earlier member of the group, or a new
	// spelling.
	if u.exact == nil {
		u.exact = make(map[string]int)
	}
	if j, ok := u.exact[n]; ok {
		u.duplicate(i, j, n)
		return
	}
	u.exact[n] = i
	path, key := u.member(i)
	_, hkey := u.member(fh.i)
	u.c.Report(RuleNameCaseCollision, path, key, "%s '%s' differs from '%s' (at %s) only by letter case",
		u.what, oneLineName(n), oneLineName(fh.name), posText(u.c.Src.Pos(hkey)))
}

// smallScope is the size up to which a scope is searched linearly.
const smallScope = 16

func (u *uniqueScope) lookup(h uint64) (firstHolder, bool) {
	if len(u.first) > 0 {
		fh, ok := u.first[h]
		return fh, ok
	}
	for k, x := range u.hashes {
		if x == h {
			return u.holders[k], true
		}
	}
	return firstHolder{}, false
}

func (u *uniqueScope) insert(h uint64, fh firstHolder) {
	switch {
	case len(u.first) > 0:
		u.first[h] = fh
	case len(u.hashes) < smallScope:
		u.hashes, u.holders = append(u.hashes, h), append(u.holders, fh)
	default:
		if u.first == nil {
			u.first = make(map[uint64]firstHolder)
		}
		for k, x := range u.hashes {
			u.first[x] = u.holders[k]
		}
		u.first[h] = fh
		u.hashes, u.holders = u.hashes[:0], u.holders[:0]
	}
}

func (u *uniqueScope) same(a, b string) bool {
	if u.fold {
		return strings.EqualFold(a, b)
	}
	return a == b
}

// duplicate reports member i, an exact repeat of member j.
func (u *uniqueScope) duplicate(i, j int, n string) {
	if u.count == nil {
		u.count = make(map[string]int)
	}
	if u.count[n] == 0 {
		u.count[n] = 1
	}
	u.count[n]++
	path, key := u.member(i)
	_, jkey := u.member(j)
	u.c.Report(RuleDuplicateName, path, occurrenceKey(u.c, key, u.count[n]),
		"%s '%s' is already defined in %s at %s", u.what, oneLineName(n), u.scope(), posText(u.c.Src.Pos(jkey)))
}

// nameHash is FNV-1a over the bytes of s or, with fold, over its case-folded runes (see
// foldRune), so that strings.EqualFold(a, b) implies nameHash(a) == nameHash(b).
func nameHash(s string, fold bool) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	if !fold {
		for i := 0; i < len(s); i++ {
			h = (h ^ uint64(s[i])) * prime
		}
		return h
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			h = (h ^ uint64(c)) * prime
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		for v := uint32(foldRune(r)); v != 0; v >>= 8 {
			h = (h ^ uint64(v&0xff)) * prime
		}
		i += size
	}
	return h
}

// foldRune returns the smallest rune of r's simple case-folding orbit (upper case for ASCII
// letters): two runes are equal under strings.EqualFold iff their foldRune is equal.
func foldRune(r rune) rune {
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		m = min(m, f)
	}
	return m
}

// foldName maps every rune of s to foldRune.
func foldName(s string) string {
	return strings.Map(foldRune, s)
}

// occurrenceKey returns the source-map key of the n-th node (n ≥ 2) recorded under key. The
// source map keeps the first node of a repeated key; a loader that also records the n-th one
// under key + "~n" lets lint cite the repeat itself. Without it, the repeat is cited at key.
func occurrenceKey(c *Context, key string, n int) string {
	if n < 2 {
		return key
	}
	k := key + "~" + strconv.Itoa(n)
	if _, ok := c.Src.Exact(k); ok {
		return k
	}
	return key
}

// posText renders a position for a message: file:line:column.
func posText(p problem.Position) string {
	if p.IsZero() {
		return "an unknown position"
	}
	return p.String()
}

// oneLineName renders a name for a one-line message: invalid UTF-8 and control characters are
// escaped as in a Go string literal; everything else is kept as is.
func oneLineName(s string) string {
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			q := strconv.Quote(s)
			return q[1 : len(q)-1]
		}
	}
	return s
}
