// Package compat owns backwards compatibility (spec/governance.md §2): it compares a proposed
// model (head) with the committed one (base), and with earlier committed versions for dataset
// name reuse and BACKWARD_TRANSITIVE mode, and reports the DS-COMPAT-* problems of §2.3. The
// type rules of §2.4 are exported on their own as CheckType.
//
// Check is a pure function of its input. It skips datastores whose canonical form is unchanged
// (package equal: the semantics of proto.Equal without reflection), so a change touching one
// team costs little more than one pass over the datastores of the model. A caller that also
// needs the change set can pair and compare the datastores once for both:
//
//	p := equal.PairDatastores(base, head)
//	problems := compat.Check(compat.Input{Base: base, Head: head, ..., Datastores: p})
//	set := changes.DiffPaired(base, head, p)
package compat

import (
	"fmt"
	"slices"
	"strings"

	"github.com/datasurface/datasurface/model/compat/equal"
	"github.com/datasurface/datasurface/model/dtype"
	"github.com/datasurface/datasurface/model/problem"
	"github.com/datasurface/datasurface/model/srcmap"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// Version is an earlier committed model.
type Version struct {
	Number int64
	Model  *modelv1.Model
}

// Input is what Check compares.
type Input struct {
	Base, Head *modelv1.Model
	// BaseSrc and HeadSrc give positions; problems about removed objects cite the base.
	BaseSrc, HeadSrc *srcmap.Map
	// History holds earlier committed versions, newest first (it may include the base). Nil
	// skips the name-reuse and TRANSITIVE checks (the gate then reports DS-GATE-004).
	History []Version
	// Datastores optionally carries equal.PairDatastores(Base, Head), so that a caller can share
	// one comparison of the datastores between Check and changes.DiffPaired; nil computes it.
	Datastores *equal.Pairs[*modelv1.Datastore]
}

// Mode is the compatibility mode that applies to a change: BACKWARD_TRANSITIVE when the base or
// the head selects it in Ecosystem.spec.compatibility.mode (so a change can neither opt out of
// the stricter mode in the same change that breaks it nor delay opting in), else BACKWARD.
func Mode(base, head *modelv1.Model) modelv1.CompatibilityMode {
	const transitive = modelv1.CompatibilityMode_COMPATIBILITY_MODE_BACKWARD_TRANSITIVE
	if modeOf(base) == transitive || modeOf(head) == transitive {
		return transitive
	}
	return modelv1.CompatibilityMode_COMPATIBILITY_MODE_BACKWARD
}

func modeOf(m *modelv1.Model) modelv1.CompatibilityMode {
	return m.GetEcosystem().GetCompatibility().GetMode()
}

// Check compares in.Head with in.Base and returns the compatibility problems (phase
// "compatibility", unsorted). A nil base (initial check-in) or head yields nothing.
//
// In BACKWARD_TRANSITIVE mode, every dataset whose definition differs between base and head is
// also checked against each history version in which it existed (newest first), with the schema
// rules only (keys, columns, nullability, types; errors only). A finding of a rule at a node
// already reported is not repeated; transitive findings end in "(against version N)". Datasets
// the change does not touch are not re-checked, so switching the mode on never blames an
// unrelated change for old breaks.
func Check(in Input) []problem.Problem {
	if in.Base == nil || in.Head == nil {
		return nil
	}
	c := &checker{
		in:         in,
		transitive: Mode(in.Base, in.Head) == modelv1.CompatibilityMode_COMPATIBILITY_MODE_BACKWARD_TRANSITIVE,
		history:    make([]historyIndex, len(in.History)),
	}
	c.datastores()
	c.platforms()
	c.assignments()
	return c.out
}

type checker struct {
	in         Input
	transitive bool
	out        []problem.Problem
	history    []historyIndex
}

// finding is a problem with the source-map key of its node (the node identity for "once per
// rule and node").
type finding struct {
	problem.Problem
	key string
}

func (f finding) id() string { return f.Rule.ID + "\x00" + f.key }

func (c *checker) headPos(key string) problem.Position {
	return c.in.HeadSrc.Pos(key)
}

func (c *checker) basePos(key string) problem.Position {
	p := c.in.BaseSrc.Pos(key)
	if !p.IsZero() {
		p.Side = problem.Base
	}
	return p
}

func (c *checker) add(r problem.Rule, sev problem.Severity, path string, pos problem.Position, format string, args ...any) {
	c.out = append(c.out, newProblem(r, sev, path, pos, format, args...))
}

func newProblem(r problem.Rule, sev problem.Severity, path string, pos problem.Position, format string, args ...any) problem.Problem {
	return problem.Problem{
		Rule:     r,
		Severity: sev,
		Phase:    Phase,
		Message:  fmt.Sprintf(format, args...),
		Path:     path,
		Pos:      pos,
	}
}

func indexStores(ds []*modelv1.Datastore) map[string]*modelv1.Datastore {
	m := make(map[string]*modelv1.Datastore, len(ds))
	for _, d := range ds {
		m[d.GetName()] = d
	}
	return m
}

func datastorePath(s string) string    { return "datastore[" + s + "]" }
func datasetPath(s, d string) string   { return datastorePath(s) + "/dataset[" + d + "]" }
func columnPath(s, d, c string) string { return datasetPath(s, d) + "/column[" + c + "]" }

func deprecated(d *modelv1.Deprecation) bool {
	return d.GetStatus() == modelv1.DeprecationStatus_DEPRECATION_STATUS_DEPRECATED
}

// datastores applies the datastore, dataset, column and type rules.
func (c *checker) datastores() {
	p := c.in.Datastores
	if p == nil {
		p = equal.PairDatastores(c.in.Base, c.in.Head)
	}
	for i, b := range p.Base {
		switch h := p.Head[i]; {
		case h == nil:
			c.datastoreRemoved(b)
		case p.Changed[i]:
			c.compareDatastore(b, h)
		}
	}
	for _, h := range p.Added {
		for _, d := range h.GetDatasets() {
			c.nameReuse(h.GetName(), d)
		}
	}
	c.primaryIngestions(p)
}

func (c *checker) datastoreRemoved(b *modelv1.Datastore) {
	if deprecated(b.GetDeprecation()) {
		return
	}
	if len(b.GetDatasets()) > 0 && !slices.ContainsFunc(b.GetDatasets(), func(d *modelv1.Dataset) bool {
		return !deprecated(d.GetDeprecation())
	}) {
		return // every dataset is deprecated
	}
	s := b.GetName()
	c.add(DatastoreRemoved, DatastoreRemoved.Severity, datastorePath(s), c.basePos(datastorePath(s)),
		"datastore '%s' was removed but was not deprecated in the base", s)
}

func (c *checker) compareDatastore(b, h *modelv1.Datastore) {
	s := b.GetName()
	path := datastorePath(s)
	kb, kh := captureKind(b.GetCapture()), captureKind(h.GetCapture())
	if kb != "" && kh != "" && kb != kh {
		c.add(CaptureKindChanged, CaptureKindChanged.Severity, path, c.headPos(path+"#capture"),
			"capture of '%s' changed from %s to %s; consumers will see different delete behaviour", s, kb, kh)
	}
	cb, ch := consistency(b.GetCapture()), consistency(h.GetCapture())
	if cb != modelv1.Consistency_CONSISTENCY_UNSPECIFIED && ch != modelv1.Consistency_CONSISTENCY_UNSPECIFIED && cb != ch {
		c.add(ConsistencyChanged, ConsistencyChanged.Severity, path, c.headPos(path+"#capture."+kh+".consistency"),
			"consistency of '%s' changed from %s to %s; ingestion streams are re-keyed and start new batch sequences",
			s, enumName(cb, "CONSISTENCY_"), enumName(ch, "CONSISTENCY_"))
	}

	notProduction := b.GetProductionStatus() != modelv1.ProductionStatus_PRODUCTION_STATUS_PRODUCTION
	headSets := make(map[string]*modelv1.Dataset, len(h.GetDatasets()))
	for _, d := range h.GetDatasets() {
		headSets[d.GetName()] = d
	}
	baseSets := make(map[string]bool, len(b.GetDatasets()))
	for _, bd := range b.GetDatasets() {
		d := bd.GetName()
		baseSets[d] = true
		hd := headSets[d]
		if hd == nil {
			if !deprecated(bd.GetDeprecation()) && !deprecated(b.GetDeprecation()) {
				c.add(DatasetRemoved, DatasetRemoved.Severity, datasetPath(s, d), c.basePos(datasetPath(s, d)),
					"dataset '%s.%s' was removed but was not deprecated in the base", s, d)
			}
			continue
		}
		if equal.Dataset(bd, hd) {
			continue
		}
		fs := c.compareDataset(s, bd, hd, compareOpts{full: true, notProduction: notProduction, oldSrc: c.in.BaseSrc})
		for _, f := range fs {
			c.out = append(c.out, f.Problem)
		}
		if c.transitive {
			c.transitiveCheck(s, hd, fs)
		}
	}
	for _, hd := range h.GetDatasets() {
		d := hd.GetName()
		if baseSets[d] {
			continue
		}
		c.add(DatasetAdded, DatasetAdded.Severity, datasetPath(s, d), c.headPos(datasetPath(s, d)),
			"dataset '%s.%s' added", s, d)
		c.nameReuse(s, hd)
	}
}

// captureKind names the capture variant as in YAML.
func captureKind(cm *modelv1.CaptureMetadata) string {
	switch cm.GetKind().(type) {
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

// consistency is the effective consistency of a capture (transformer outputs are MULTI_DATASET).
func consistency(cm *modelv1.CaptureMetadata) modelv1.Consistency {
	switch k := cm.GetKind().(type) {
	case *modelv1.CaptureMetadata_SqlSnapshot:
		return k.SqlSnapshot.GetConsistency()
	case *modelv1.CaptureMetadata_SqlWatermark:
		return k.SqlWatermark.GetConsistency()
	case *modelv1.CaptureMetadata_KafkaCdc:
		return k.KafkaCdc.GetConsistency()
	case *modelv1.CaptureMetadata_TransformerOutput:
		return modelv1.Consistency_CONSISTENCY_MULTI_DATASET
	}
	return modelv1.Consistency_CONSISTENCY_UNSPECIFIED
}

type compareOpts struct {
	// full applies every dataset and column rule; otherwise only the schema rules (keys,
	// columns, nullability, types), as for name reuse and TRANSITIVE checks.
	full bool
	// notProduction: the datastore is NOT_PRODUCTION in the base (classification changes warn).
	notProduction bool
	// oldSrc positions nodes of the old dataset (removed columns); nil cites the head dataset.
	oldSrc *srcmap.Map
}

// compareDataset applies the dataset, column and type rules to one dataset present in both
// models, in catalogue order: keys, classifications, then columns in old order, new columns,
// moves.
func (c *checker) compareDataset(s string, o, n *modelv1.Dataset, opts compareOpts) []finding {
	d := n.GetName()
	qual := s + "." + d
	dsPath := datasetPath(s, d)
	var out []finding
	add := func(r problem.Rule, sev problem.Severity, path, key string, pos problem.Position, format string, args ...any) {
		out = append(out, finding{Problem: newProblem(r, sev, path, pos, format, args...), key: key})
	}
	at := func(key string) problem.Position { return c.headPos(key) }
	classSev := problem.Error
	if opts.notProduction {
		classSev = problem.Warning
	}

	if !slices.Equal(o.GetPrimaryKey(), n.GetPrimaryKey()) {
		key := dsPath + "#primaryKey"
		add(PrimaryKeyChanged, PrimaryKeyChanged.Severity, dsPath, key, at(key),
			"primary key of '%s' changed from [%s] to [%s]", qual,
			strings.Join(o.GetPrimaryKey(), ", "), strings.Join(n.GetPrimaryKey(), ", "))
	}
	if !slices.Equal(o.GetPartitionKey(), n.GetPartitionKey()) {
		key := dsPath + "#partitionKey"
		add(PartitionKeyChanged, PartitionKeyChanged.Severity, dsPath, key, at(key),
			"partition key of '%s' changed from [%s] to [%s]", qual,
			strings.Join(o.GetPartitionKey(), ", "), strings.Join(n.GetPartitionKey(), ", "))
	}
	if opts.full {
		if a, b := ClassificationSet(o.GetClassifications()), ClassificationSet(n.GetClassifications()); a != b {
			key := dsPath + "#classifications"
			add(DatasetClassificationChanged, classSev, dsPath, key, at(key),
				"dataset-level classifications of '%s' changed from %s to %s", qual, a, b)
		}
	}

	newCols := make(map[string]*modelv1.Column, len(n.GetColumns()))
	for _, col := range n.GetColumns() {
		newCols[col.GetName()] = col
	}
	oldCols := make(map[string]int, len(o.GetColumns()))
	for i, oc := range o.GetColumns() {
		name := oc.GetName()
		oldCols[name] = i
		cp := columnPath(s, d, name)
		nc := newCols[name]
		if nc == nil {
			pos := at(dsPath)
			if opts.oldSrc != nil {
				pos = opts.oldSrc.Pos(cp)
				if !pos.IsZero() {
					pos.Side = problem.Base
				}
			}
			add(ColumnRemoved, ColumnRemoved.Severity, cp, cp, pos, "column '%s' was removed from '%s'", name, qual)
			continue
		}
		if oc.GetNullable() != nc.GetNullable() {
			key := cp + "#nullable"
			add(ColumnNullabilityChanged, ColumnNullabilityChanged.Severity, cp, key, at(key),
				"column '%s' of '%s' changed from %s to %s", name, qual, nullability(oc), nullability(nc))
		}
		if opts.full {
			if a, b := ClassificationSet(oc.GetClassifications()), ClassificationSet(nc.GetClassifications()); a != b {
				key := cp + "#classifications"
				add(ColumnClassificationChanged, classSev, cp, key, at(key),
					"classifications of column '%s' changed from %s to %s", name, a, b)
			}
		}
		if oc.GetType() == nil || nc.GetType() == nil || equal.DataType(oc.GetType(), nc.GetType()) {
			continue
		}
		key := cp + "#type"
		issues := CheckType(nc.GetType(), oc.GetType())
		for _, is := range issues {
			add(is.Rule, is.Rule.Severity, cp, key, at(key), "column '%s' of '%s': %s", name, qual, is.Message)
		}
		if len(issues) == 0 && opts.full {
			add(ColumnWidened, ColumnWidened.Severity, cp, key, at(key),
				"column '%s' of '%s' widened from %s to %s; platforms will alter the column",
				name, qual, dtype.String(oc.GetType()), dtype.String(nc.GetType()))
		}
	}
	for _, nc := range n.GetColumns() {
		name := nc.GetName()
		if _, ok := oldCols[name]; ok || nc.GetNullable() {
			continue
		}
		cp := columnPath(s, d, name)
		key := cp + "#nullable"
		add(ColumnAddedNotNull, ColumnAddedNotNull.Severity, cp, key, at(key),
			"new column '%s' of '%s' must be nullable", name, qual)
	}
	if opts.full {
		for _, name := range MovedColumns(o, n) {
			cp := columnPath(s, d, name)
			add(ColumnMoved, ColumnMoved.Severity, cp, cp, at(cp),
				"column '%s' moved; column order has no effect on platforms", name)
		}
	}
	return out
}

func nullability(c *modelv1.Column) string {
	if c.GetNullable() {
		return "nullable"
	}
	return "not null"
}

// MovedColumns returns, in new order, the columns present in both datasets whose relative order
// changed: the common columns outside a longest subsequence kept in the same order. Adding or
// removing columns moves nothing.
func MovedColumns(o, n *modelv1.Dataset) []string {
	oldIndex := make(map[string]int, len(o.GetColumns()))
	for i, c := range o.GetColumns() {
		oldIndex[c.GetName()] = i
	}
	var names []string
	var seq []int
	for _, c := range n.GetColumns() {
		if i, ok := oldIndex[c.GetName()]; ok {
			names = append(names, c.GetName())
			seq = append(seq, i)
		}
	}
	keep := longestIncreasing(seq)
	var moved []string
	for i, name := range names {
		if !keep[i] {
			moved = append(moved, name)
		}
	}
	return moved
}

// longestIncreasing marks the elements of one longest strictly increasing subsequence of seq.
func longestIncreasing(seq []int) []bool {
	tails := []int{}              // tails[k]: index in seq of the smallest tail of a run of length k+1
	prev := make([]int, len(seq)) // predecessor in the run
	for i, v := range seq {
		k, _ := slices.BinarySearchFunc(tails, v, func(t, v int) int { return seq[t] - v })
		if k > 0 {
			prev[i] = tails[k-1]
		} else {
			prev[i] = -1
		}
		if k == len(tails) {
			tails = append(tails, i)
		} else {
			tails[k] = i
		}
	}
	keep := make([]bool, len(seq))
	if len(tails) > 0 {
		for i := tails[len(tails)-1]; i >= 0; i = prev[i] {
			keep[i] = true
		}
	}
	return keep
}

// ClassificationSet renders the distinct classification types of a list in the enum's order
// (labels are descriptive and not compared), e.g. "[IP, PC1]"; "[]" for none.
func ClassificationSet(cs []*modelv1.Classification) string {
	types := make([]modelv1.ClassificationType, 0, len(cs))
	for _, c := range cs {
		types = append(types, c.GetType())
	}
	slices.Sort(types)
	types = slices.Compact(types)
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = enumName(t, "CLASSIFICATION_TYPE_")
	}
	return "[" + strings.Join(names, ", ") + "]"
}

// historyIndex finds the datastores of one history version. Canonical models keep datastores
// sorted by name, so a lookup is a binary search; a version found unsorted is indexed by a map
// instead. Both are prepared on first use only, so a long history costs nothing until consulted.
type historyIndex struct {
	checked bool
	byName  map[string]*modelv1.Datastore // nil while the version is sorted
}

// historyStore returns datastore s of history version i.
func (c *checker) historyStore(i int, s string) *modelv1.Datastore {
	ds := c.in.History[i].Model.GetDatastores()
	h := &c.history[i]
	if !h.checked {
		h.checked = true
		if !slices.IsSortedFunc(ds, func(a, b *modelv1.Datastore) int { return strings.Compare(a.GetName(), b.GetName()) }) {
			h.byName = indexStores(ds)
		}
	}
	if h.byName != nil {
		return h.byName[s]
	}
	if j, ok := slices.BinarySearchFunc(ds, s, func(d *modelv1.Datastore, s string) int {
		return strings.Compare(d.GetName(), s)
	}); ok {
		return ds[j]
	}
	return nil
}

func findDataset(ds *modelv1.Datastore, d string) *modelv1.Dataset {
	for _, x := range ds.GetDatasets() {
		if x.GetName() == d {
			return x
		}
	}
	return nil
}

// nameReuse checks a dataset absent from the base against its last definition in the history
// (and, in TRANSITIVE mode, against every earlier one until one is incompatible).
func (c *checker) nameReuse(s string, n *modelv1.Dataset) {
	d := n.GetName()
	for i, v := range c.in.History {
		o := findDataset(c.historyStore(i, s), d)
		if o == nil {
			continue
		}
		for _, f := range c.compareDataset(s, o, n, compareOpts{}) {
			if f.Severity != problem.Error {
				continue
			}
			path := datasetPath(s, d)
			c.add(DatasetNameReused, DatasetNameReused.Severity, path, c.headPos(path),
				"dataset '%s.%s' existed in version %d; its new schema is not compatible with that one: %s",
				s, d, v.Number, f.Message)
			return
		}
		if !c.transitive {
			return
		}
	}
}

// transitiveCheck checks a changed dataset against every history version in which it existed,
// newest first, reporting each (rule, node) once.
func (c *checker) transitiveCheck(s string, n *modelv1.Dataset, fromBase []finding) {
	seen := make(map[string]bool, len(fromBase))
	for _, f := range fromBase {
		seen[f.id()] = true
	}
	for i, v := range c.in.History {
		if v.Model == c.in.Base {
			continue
		}
		o := findDataset(c.historyStore(i, s), n.GetName())
		if o == nil || equal.Dataset(o, n) {
			continue
		}
		var added []string
		for _, f := range c.compareDataset(s, o, n, compareOpts{}) {
			if f.Severity != problem.Error || seen[f.id()] {
				continue
			}
			f.Message += fmt.Sprintf(" (against version %d)", v.Number)
			c.out = append(c.out, f.Problem)
			added = append(added, f.id())
		}
		for _, id := range added {
			seen[id] = true
		}
	}
}

// primaryIngestions applies DS-COMPAT-PRIMARY-INGESTION-CHANGED to datastores present in both
// models.
func (c *checker) primaryIngestions(p *equal.Pairs[*modelv1.Datastore]) {
	if len(c.in.Base.GetPrimaryIngestions())+len(c.in.Head.GetPrimaryIngestions()) == 0 {
		return
	}
	inBoth := make(map[string]bool, len(p.Base))
	for i, b := range p.Base {
		if p.Head[i] != nil {
			inBoth[b.GetName()] = true
		}
	}
	base := make(map[string][]string, len(c.in.Base.GetPrimaryIngestions()))
	for _, p := range c.in.Base.GetPrimaryIngestions() {
		base[p.GetDatastore()] = p.GetPlatforms()
	}
	head := make(map[string][]string, len(c.in.Head.GetPrimaryIngestions()))
	for _, p := range c.in.Head.GetPrimaryIngestions() {
		head[p.GetDatastore()] = p.GetPlatforms()
	}
	report := func(s string, pos problem.Position) {
		if !inBoth[s] {
			return
		}
		c.add(PrimaryIngestionChanged, PrimaryIngestionChanged.Severity, "primary["+s+"]", pos,
			"primary ingestion platforms of '%s' changed; secondaries will reseed", s)
	}
	for _, p := range c.in.Head.GetPrimaryIngestions() {
		s := p.GetDatastore()
		if b, ok := base[s]; !ok || !slices.Equal(b, p.GetPlatforms()) {
			report(s, c.headPos("primary["+s+"]"))
		}
	}
	for _, p := range c.in.Base.GetPrimaryIngestions() {
		if _, ok := head[p.GetDatastore()]; !ok {
			report(p.GetDatastore(), c.basePos("primary["+p.GetDatastore()+"]"))
		}
	}
}

type platformAt struct {
	psp string
	p   *modelv1.DataPlatform
}

func indexPlatforms(m *modelv1.Model) map[string]platformAt {
	out := make(map[string]platformAt)
	for _, psp := range m.GetPsps() {
		for _, p := range psp.GetPlatforms() {
			if _, dup := out[p.GetName()]; !dup {
				out[p.GetName()] = platformAt{psp: psp.GetName(), p: p}
			}
		}
	}
	return out
}

// platforms applies the platform rules to every data platform of the base still in the head
// (platforms are matched by name across PSPs).
func (c *checker) platforms() {
	head := indexPlatforms(c.in.Head)
	for _, psp := range c.in.Base.GetPsps() {
		for _, b := range psp.GetPlatforms() {
			d := b.GetName()
			h, ok := head[d]
			if !ok {
				continue
			}
			by, hy := b.GetYellow(), h.p.GetYellow()
			if by == nil || hy == nil {
				continue
			}
			path := "psp[" + h.psp + "]/platform[" + d + "]"
			mb, mh := by.GetMilestoning(), hy.GetMilestoning()
			if mb != modelv1.PlatformMilestoning_PLATFORM_MILESTONING_UNSPECIFIED &&
				mh != modelv1.PlatformMilestoning_PLATFORM_MILESTONING_UNSPECIFIED && mb != mh {
				c.add(PlatformMilestoningChanged, PlatformMilestoningChanged.Severity, path,
					c.headPos(path+"#yellow.milestoning"),
					"platform '%s' changed milestoning from %s to %s; create a new platform instead",
					d, enumName(mb, "PLATFORM_MILESTONING_"), enumName(mh, "PLATFORM_MILESTONING_"))
			}
			if db, ok := mergeDatabase(by.GetMergeDatabase()); ok {
				if dh, ok := mergeDatabase(hy.GetMergeDatabase()); ok && !db.same(dh) {
					c.add(PlatformDatabaseChanged, PlatformDatabaseChanged.Severity, path,
						c.headPos(path+"#yellow.mergeDatabase"),
						"platform '%s' moved to another merge database; all its streams start again from batch 1", d)
				}
			}
		}
	}
}

// database identifies a merge database: variant, host, port and database name.
type database struct {
	kind, host, name string
	port             int32
}

func (a database) same(b database) bool {
	return a.kind == b.kind && strings.EqualFold(a.host, b.host) && a.port == b.port && a.name == b.name
}

var defaultPorts = map[string]int32{"postgres": 5432, "mysql": 3306, "oracle": 1521, "sqlServer": 1433, "db2": 50000}

// mergeDatabase returns the identity of a host database container; other variants (a lint
// error for a Yellow merge database) are not compared.
func mergeDatabase(dc *modelv1.DataContainer) (database, bool) {
	var kind string
	var h *modelv1.HostDatabase
	switch k := dc.GetKind().(type) {
	case *modelv1.DataContainer_Postgres:
		kind, h = "postgres", k.Postgres
	case *modelv1.DataContainer_Mysql:
		kind, h = "mysql", k.Mysql
	case *modelv1.DataContainer_Oracle:
		kind, h = "oracle", k.Oracle
	case *modelv1.DataContainer_SqlServer:
		kind, h = "sqlServer", k.SqlServer
	case *modelv1.DataContainer_Db2:
		kind, h = "db2", k.Db2
	default:
		return database{}, false
	}
	port := h.GetPort()
	if port == 0 {
		port = defaultPorts[kind]
	}
	return database{kind: kind, host: h.GetHost(), name: h.GetDatabase(), port: port}, true
}

// statusRank orders assignment statuses; an unset status is the default PROVISIONING.
func statusRank(s modelv1.AssignmentStatus) modelv1.AssignmentStatus {
	if s == modelv1.AssignmentStatus_ASSIGNMENT_STATUS_UNSPECIFIED {
		return modelv1.AssignmentStatus_ASSIGNMENT_STATUS_PROVISIONING
	}
	return s
}

// assignments applies the assignment rules to every (dataset group, platform) of the base.
func (c *checker) assignments() {
	if slices.Equal(c.in.Base.GetAssignments(), c.in.Head.GetAssignments()) {
		return // the same objects (loaded models share the objects of unchanged files)
	}
	head := make(map[string]*modelv1.PlatformAssignment)
	for _, a := range c.in.Head.GetAssignments() {
		for _, p := range a.GetPlatforms() {
			head[a.GetWorkspace()+"."+a.GetDatasetGroup()+"\x00"+p.GetPlatform()] = p
		}
	}
	for _, a := range c.in.Base.GetAssignments() {
		wg := a.GetWorkspace() + "." + a.GetDatasetGroup()
		for _, b := range a.GetPlatforms() {
			d := b.GetPlatform()
			path := "assignment[" + wg + "]/platform[" + d + "]"
			sb := statusRank(b.GetStatus())
			h := head[wg+"\x00"+d]
			if h == nil {
				if sb != modelv1.AssignmentStatus_ASSIGNMENT_STATUS_DECOMMISSIONED {
					c.add(AssignmentRemovedActive, AssignmentRemovedActive.Severity, path, c.basePos(path),
						"assignment '%s' → '%s' removed while %s; its consumers lose their views at once",
						wg, d, enumName(sb, "ASSIGNMENT_STATUS_"))
				}
				continue
			}
			if sh := statusRank(h.GetStatus()); sh < sb {
				c.add(AssignmentStatusRegressed, AssignmentStatusRegressed.Severity, path, c.headPos(path+"#status"),
					"assignment '%s' → '%s' went back from %s to %s",
					wg, d, enumName(sb, "ASSIGNMENT_STATUS_"), enumName(sh, "ASSIGNMENT_STATUS_"))
			}
		}
	}
}

// enumName renders a protobuf enum value without its type prefix (PROVISIONED, LIVE_ONLY, …).
func enumName[E interface{ String() string }](e E, prefix string) string {
	return strings.TrimPrefix(e.String(), prefix)
}
