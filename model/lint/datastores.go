package lint

import (
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/datasurface/datasurface/model/index"
	"github.com/datasurface/datasurface/model/problem"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// objChecker carries the lookups and caches shared by the object rules of spec/model.md
// §7.5–§7.7 (datastores, workspaces, assignments) during one run: per-datastore dataset maps
// for large datastores, time zone and cron verdicts, zone classification policies, approval
// sets. Nothing in it outlives the run.
type objChecker struct {
	c *Context
	x *index.Index

	tz         map[string]bool                                    // time zone → known
	crons      map[string]error                                   // cron expression → parse verdict
	datasets   map[*modelv1.Datastore]map[string]*modelv1.Dataset // only for large datastores
	zoneCls    map[string][]clsPolicy                             // zone → classification policies
	storeKinds []string                                           // credential store kinds in use
	approvals  map[*modelv1.Datastore]map[string]bool             // "W.G.D" approved
}

// linearLimit is the size up to which lookups scan a slice instead of building a map.
const linearLimit = 16

func newObjChecker(c *Context) *objChecker {
	return &objChecker{
		c:        c,
		x:        c.Index,
		tz:       make(map[string]bool),
		datasets: make(map[*modelv1.Datastore]map[string]*modelv1.Dataset),
		zoneCls:  make(map[string][]clsPolicy),
	}
}

// dataset returns the dataset named name of store, or nil.
func (k *objChecker) dataset(store *modelv1.Datastore, name string) *modelv1.Dataset {
	dss := store.GetDatasets()
	if len(dss) <= linearLimit {
		return index.FindDataset(store, name)
	}
	m, ok := k.datasets[store]
	if !ok {
		m = make(map[string]*modelv1.Dataset, len(dss))
		for _, d := range dss {
			if _, dup := m[d.GetName()]; !dup {
				m[d.GetName()] = d
			}
		}
		k.datasets[store] = m
	}
	return m[name]
}

// columnFinder looks columns of one dataset up by name: a linear scan, or a map once the
// lookups (e.g. a long key over a wide dataset) would make scanning quadratic.
type columnFinder struct {
	ds *modelv1.Dataset
	m  map[string]*modelv1.Column
}

func newColumnFinder(ds *modelv1.Dataset, lookups int) columnFinder {
	f := columnFinder{ds: ds}
	if cols := ds.GetColumns(); lookups > 8 && len(cols) > 4*linearLimit {
		f.m = make(map[string]*modelv1.Column, len(cols))
		for _, col := range cols {
			if _, dup := f.m[col.GetName()]; !dup {
				f.m[col.GetName()] = col
			}
		}
	}
	return f
}

// find returns the column named name, or nil.
func (f columnFinder) find(name string) *modelv1.Column {
	if f.m != nil {
		return f.m[name]
	}
	return index.FindColumn(f.ds, name)
}

// checkDatastores: DS-LINT-040..077 — datastores, datasets, schemas, types, approvals, capture
// metadata, triggers, containers (those of datastores, team documents and platforms) and
// credentials.
func checkDatastores(c *Context) {
	kinds := credentialStoreKinds(c.Model)
	stores := c.Model.GetDatastores()
	inShards(c, len(stores), func(k *objChecker, lo, hi int) {
		k.storeKinds = kinds
		for _, ds := range stores[lo:hi] {
			k.checkDatastore(ds)
		}
	})
	k := newObjChecker(c)
	k.storeKinds = kinds
	k.checkTeamContainers()
	k.checkPlatforms()
}

// shardMin is the number of objects below which inShards runs on the calling goroutine.
const shardMin = 512

// inShards calls f over [0, n) split into one contiguous shard per available CPU. Each shard
// gets its own objChecker reporting into its own Context over the same (read-only) model, index
// and source map; their problems are appended to c in shard order once all have finished, so
// the result does not depend on scheduling. Small inputs run inline.
func inShards(c *Context, n int, f func(k *objChecker, lo, hi int)) {
	shards := min(runtime.GOMAXPROCS(0), n/shardMin)
	if shards <= 1 {
		f(newObjChecker(c), 0, n)
		return
	}
	subs := make([]*Context, shards)
	var wg sync.WaitGroup
	for i := range shards {
		lo, hi := i*n/shards, (i+1)*n/shards
		subs[i] = &Context{Model: c.Model, Index: c.Index, Src: c.Src}
		wg.Go(func() { f(newObjChecker(subs[i]), lo, hi) })
	}
	wg.Wait()
	for _, sub := range subs {
		c.problems = append(c.problems, sub.problems...)
	}
}

func (k *objChecker) checkDatastore(ds *modelv1.Datastore) {
	s := ds.GetName()
	path := index.DatastorePath(s)
	if len(ds.GetDatasets()) == 0 {
		k.c.Report(RuleDatastoreEmpty, path, path+"#datasets", "datastore '%s' has no datasets", s)
	}
	production := ds.GetProductionStatus() == modelv1.ProductionStatus_PRODUCTION_STATUS_PRODUCTION
	for _, d := range ds.GetDatasets() {
		k.checkDataset(s, production, d)
	}
	k.checkApprovals(ds, path)
	k.checkCapture(ds, path)
}

func (k *objChecker) checkDataset(s string, production bool, d *modelv1.Dataset) {
	dn := d.GetName()
	datasetLevel := len(d.GetClassifications()) > 0
	columnLevel := false
	for _, col := range d.GetColumns() {
		if len(col.GetClassifications()) > 0 {
			columnLevel = true
			if datasetLevel {
				cpath := index.ColumnPath(s, dn, col.GetName())
				k.c.Report(RuleClassificationConflict, cpath, cpath+"#classifications",
					"dataset '%s' has dataset-level classifications, so column '%s' must not have its own", dn, col.GetName())
			}
		}
		k.checkType(col.GetType(), typeSite{store: s, dataset: dn, column: col.GetName()})
	}
	if !datasetLevel && !columnLevel {
		dpath := index.DatasetPath(s, dn)
		if production {
			k.c.Report(RuleProductionUnclassified, dpath, dpath,
				"PRODUCTION datastore '%s': dataset '%s' has no classifications", s, dn)
		} else {
			k.c.Report(RuleDatasetUnclassified, dpath, dpath, "dataset '%s' has no classifications", dn)
		}
	}
	if len(d.GetPrimaryKey()) > 0 {
		k.checkKey(s, d, "primaryKey", "primary", d.GetPrimaryKey(), RulePKColumnUnknown, RulePKColumnNullable)
	}
	if len(d.GetPartitionKey()) > 0 {
		k.checkKey(s, d, "partitionKey", "partition", d.GetPartitionKey(), RulePartitionColumnUnknown, RulePartitionColumnNullable)
	}
}

// checkKey checks the primary or partition key of d: every column exists (044/047), is not
// nullable (045/048) and appears once (046, reported once per repeated column). Paths are built
// only for problems.
func (k *objChecker) checkKey(s string, d *modelv1.Dataset, field, kind string, key []string, unknown, nullable problem.Rule) {
	dn := d.GetName()
	label := "primary key column"
	if kind == "partition" {
		label = "partition column"
	}
	var repeated []string
	cols := newColumnFinder(d, len(key))
	for i, cn := range key {
		if slices.Contains(key[:i], cn) {
			if !slices.Contains(repeated, cn) {
				repeated = append(repeated, cn)
				dpath := index.DatasetPath(s, dn)
				k.c.Report(RuleKeyColumnRepeated, dpath, dpath+"#"+field+"["+cn+"]", "column '%s' appears twice in the %s key of '%s'", cn, kind, dn)
			}
			continue
		}
		col := cols.find(cn)
		if col == nil {
			dpath := index.DatasetPath(s, dn)
			k.c.Report(unknown, dpath, dpath+"#"+field+"["+cn+"]", "%s '%s' is not a column of dataset '%s'", label, cn, dn)
			continue
		}
		if col.GetNullable() {
			cpath := index.ColumnPath(s, dn, cn)
			k.c.Report(nullable, cpath, cpath+"#nullable", "%s '%s' of dataset '%s' must be nullable: false", label, cn, dn)
		}
	}
}

// checkApprovals: DS-LINT-056, an approval naming a workspace, dataset group or dataset that does
// not exist.
func (k *objChecker) checkApprovals(ds *modelv1.Datastore, path string) {
	for _, a := range ds.GetApprovals().GetEntries() {
		w, g, d := a.GetWorkspace(), a.GetDatasetGroup(), a.GetDataset()
		if k.x.Workspaces[w] == nil {
			k.c.Report(RuleApprovalTargetUnknown, path, approvalKey(path, a), "approval names workspace '%s', which does not exist", w)
		} else if k.x.DSG(w, g) == nil {
			k.c.Report(RuleApprovalTargetUnknown, path, approvalKey(path, a), "approval names dsg '%s', which does not exist", w+"."+g)
		}
		if k.dataset(ds, d) == nil {
			k.c.Report(RuleApprovalTargetUnknown, path, approvalKey(path, a), "approval names dataset '%s', which does not exist", d)
		}
	}
}

// approvalKey returns the source-map key of an approval: datastore[S]#approvals[W.G.D].
func approvalKey(path string, a *modelv1.Approval) string {
	return path + "#approvals[" + a.GetWorkspace() + "." + a.GetDatasetGroup() + "." + a.GetDataset() + "]"
}

// approved reports whether ds approves dataset group w.g for dataset d (spec/model.md §4.5):
// absent approvals approve everything.
func (k *objChecker) approved(ds *modelv1.Datastore, w, g, d string) bool {
	if ds.GetApprovals() == nil {
		return true
	}
	if k.approvals == nil {
		k.approvals = make(map[*modelv1.Datastore]map[string]bool)
	}
	set, ok := k.approvals[ds]
	if !ok {
		set = make(map[string]bool, len(ds.GetApprovals().GetEntries()))
		for _, a := range ds.GetApprovals().GetEntries() {
			set[a.GetWorkspace()+"\x00"+a.GetDatasetGroup()+"\x00"+a.GetDataset()] = true
		}
		k.approvals[ds] = set
	}
	return set[w+"\x00"+g+"\x00"+d]
}

// enumName strips the proto enum prefix: CLASSIFICATION_TYPE_PC1 → PC1.
func enumName(full, prefix string) string { return strings.TrimPrefix(full, prefix) }
