package load

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/datasurface/datasurface/model/problem"
	"github.com/datasurface/datasurface/model/srcmap"
)

// allKeys returns every key of m with its position.
func allKeys(m *srcmap.Map) map[string]problem.Position {
	out := map[string]problem.Position{}
	m.Keys(func(k string, p problem.Position) { out[k] = p })
	return out
}

// compareSourceMaps checks that the lazy source map answers every lookup as the eager one:
// every recorded key, keys below them that nobody recorded, and the given probes.
func compareSourceMaps(t *testing.T, eager, lazy *srcmap.Map, probes ...string) {
	t.Helper()
	all := allKeys(eager)
	if len(all) == 0 {
		t.Fatal("the eager source map is empty")
	}
	keys := append([]string{""}, probes...)
	for k := range all {
		keys = append(keys, k, k+"#zz", k+".zz", k+"[zz]", k+"/child[zz]")
	}
	// Lookups run concurrently, so the race detector sees documents resolved in parallel.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []string
	const workers = 4
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(keys); i += workers {
				k := keys[i]
				ep, eok := eager.Exact(k)
				lp, lok := lazy.Exact(k)
				e, l := eager.Pos(k), lazy.Pos(k)
				if ep != lp || eok != lok || e != l {
					mu.Lock()
					errs = append(errs, fmt.Sprintf("%q: eager Exact %v %v Pos %v, lazy Exact %v %v Pos %v", k, ep, eok, e, lp, lok, l))
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for _, e := range errs[:min(len(errs), 20)] {
		t.Error(e)
	}
	if diff := cmp.Diff(all, allKeys(lazy)); diff != "" {
		t.Errorf("keys (-eager +lazy):\n%s", diff)
	}
}

// The lazy source map (documents resolved on first lookup) answers exactly as recording every
// key while loading, including objects declared inside other documents: vendors and
// ecosystem#… in the Ecosystem document, assignments and primary ingestions in
// PlatformAssignments documents, platforms in a PSP document, teams of a zone both in the zone
// document (zone[Z]#teams[T]) and in their Team document (zone[Z]/team[T]).
func TestLazySourceMap(t *testing.T) {
	probes := []string{
		"ecosystem#zones[Europe].owningRepo", "vendor[Acme]/location[EU]/location[Nowhere]#x",
		"psp[Core]/platform[YellowLive]#yellow.mergeDatabase.postgres.port", "psp[Core]/platform[Nope]",
		"assignment[SalesAnalytics.main]/platform[YellowLive]#status.x", "assignment[Nope.main]",
		"primary[SalesDB]#platforms[YellowLive]", "zone[Europe]#teams[Sales].owningRepo",
		"zone[Europe]/team[Sales]#containers[x]", "zone[Europe]/team[Nope]#documentation",
		"datastore[SalesDB]/dataset[orders]#partitionKey", "datastore[Nope]/dataset[x]",
		"workspace[SalesAnalytics]/dsg[main]/sink[SalesDB.orders]#deprecationsAllowed",
	}
	for _, dir := range []string{"testdata/spec-example", "../../examples/acme"} {
		t.Run(dir, func(t *testing.T) {
			for _, side := range []problem.Side{problem.Head, problem.Base} {
				opts := Options{Side: side, Lenient: side == problem.Base}
				lazy, err := Dir(dir, opts)
				if err != nil {
					t.Fatal(err)
				}
				opts.eagerSource = true
				eager, err := Dir(dir, opts)
				if err != nil {
					t.Fatal(err)
				}
				if lazy.Source.Docs() == 0 {
					t.Fatal("no lazy documents registered")
				}
				if diff := cmp.Diff(reduce(eager.Problems), reduce(lazy.Problems)); diff != "" {
					t.Errorf("problems (-eager +lazy):\n%s", diff)
				}
				compareSourceMaps(t, eager.Source, lazy.Source, probes...)
				// A map with another side shares the documents and reports its own side.
				other := problem.Base
				if side == problem.Base {
					other = problem.Head
				}
				compareSourceMaps(t, eager.Source.WithSide(other), lazy.Source.WithSide(other), probes...)
			}
		})
	}
}

// Documents that fail to load record nothing; repeated objects keep their first position; names
// with brackets and separators make keys whose parent chain skips their object.
func TestLazySourceMapEdgeCases(t *testing.T) {
	files := map[string]string{
		"a/eco.yaml": ecoDoc + "  vendors:\n    - {name: 'V]/x', cloudVendor: AWS, documentation: d, locations: [{name: 'L[#'}]}\n",
		"b/s1.yaml": `apiVersion: datasurface/v1
kind: Datastore
metadata: {name: 'S]/dataset[x', zone: 'Z#', team: 'T/']
spec:
  datasets:
    - name: 'd]#p'
      columns: [{name: 'c[', type: Integer}]
---
apiVersion: datasurface/v1
kind: Datastore
metadata: {name: S, zone: Z, team: T}
spec:
  datasets: [{name: d, columns: [{name: c, type: Integer}]}]
`,
		"b/s2.yaml": `apiVersion: datasurface/v1
kind: Datastore
metadata: {name: S, zone: Z, team: T}
spec:
  documentation: a repeated datastore
  datasets: [{name: d, columns: [{name: c, type: Integer, colour: red}]}]
---
apiVersion: datasurface/v1
kind: Datastore
metadata: {name: S, zone: Z, team: T}
spec:
  datasets: [{name: e, columns: [{name: c, type: Integer}]}]
`,
		"c/broken.yaml": "apiVersion: datasurface/v1\nkind: Team\nmetadata: {name: T, zone: Z}\nspec: {unknown: 1}\n",
		"c/zone.yaml": `apiVersion: datasurface/v1
kind: GovernanceZone
metadata: {name: Z}
spec:
  teams: [{name: T, owningRepo: a/b@c}]
---
apiVersion: datasurface/v1
kind: Team
metadata: {name: T, zone: Z}
spec: {documentation: {description: the team}}
---
apiVersion: datasurface/v1
kind: PlatformAssignments
metadata: {name: a}
spec:
  datasetGroups: [{workspace: W, datasetGroup: g, platforms: [{platform: P}]}]
  primaryIngestion: [{datastore: S, platforms: [P]}]
`,
	}
	for _, lenient := range []bool{false, true} {
		opts := Options{Lenient: lenient}
		lazy := loadFiles(t, files, opts)
		opts.eagerSource = true
		eager := loadFiles(t, files, opts)
		compareSourceMaps(t, eager.Source, lazy.Source,
			"datastore[S]/dataset[d]/column[c]#colour", "zone[Z]/team[T]#documentation.description",
			"datastore[S]/dataset[e]#x", "datastore[S]]/dataset[x]/dataset[d]#p]/column[c[]#type")
	}
}
