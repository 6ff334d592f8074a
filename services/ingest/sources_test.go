package ingest_test

import (
	"testing"

	"github.com/datasurface/datasurface/platforms/yellow/layout"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/google/go-cmp/cmp"
)

// TestSourceTables: without sourceTables a dataset is read from the table of its name in the
// source login's default schema (its search_path); sourceTables names `table` or
// `schema.table`; SINGLE_DATASET streams ingest one dataset each; a keyless dataset keeps one
// row of each set of exact duplicates.
func TestSourceTables(t *testing.T) {
	e := newEnv(t)
	e.execSrc(`CREATE ROLE reader LOGIN; CREATE SCHEMA sales AUTHORIZATION reader; ALTER ROLE reader SET search_path = sales;
		CREATE TABLE sales.customers (id int, name text); INSERT INTO sales.customers VALUES (1, 'ann'), (2, 'bob');
		CREATE TABLE public.customers (id int, name text); INSERT INTO public.customers VALUES (9, 'not me');
		CREATE SCHEMA other; CREATE TABLE other."Orders" (id int, name text); INSERT INTO other."Orders" VALUES (5, 'order');
		CREATE TABLE sales.visits (page text, n int); INSERT INTO sales.visits VALUES ('a', 1), ('a', 1), ('b', 1), ('a', 2), (NULL, NULL), (NULL, NULL);
		GRANT USAGE ON SCHEMA other TO reader; GRANT SELECT ON ALL TABLES IN SCHEMA sales, other TO reader`)
	e.vars["SRC_USER"] = "reader"
	kv := func(n string) *modelv1.Dataset {
		return dataset(n, []string{"id"}, col("id", typ("Integer"), false), col("name", typ("VarChar"), true))
	}
	visits := dataset("visits", nil, col("page", typ("VarChar"), true), col("n", typ("Integer"), true))
	m := e.model(e.snapshotStore("Shop", modelv1.Consistency_CONSISTENCY_SINGLE_DATASET, map[string]string{
		"customers": "customers", "orders": `other.Orders`, "visits": "visits",
	}, kv("customers"), kv("orders"), visits))
	e.setup(m)
	streams := e.streams(m)
	for key, want := range map[string][]string{
		"Shop#customers": {"1@ann", "2@bob"},
		"Shop#orders":    {"5@order"},
	} {
		b := e.open(m, key)
		res := e.mustIngest(m, key, b)
		if res.Total != int64(len(want)) || len(res.Rows) != 1 {
			t.Errorf("%s: result %+v", key, res)
		}
		if diff := cmp.Diff(want, e.staged(streams[key].datasets[0], layout.Snapshot, b, "name")); diff != "" {
			t.Errorf("%s (-want +got):\n%s", key, diff)
		}
	}
	b := e.open(m, "Shop#visits")
	res := e.mustIngest(m, "Shop#visits", b)
	d := streams["Shop#visits"].datasets[0]
	if res.Rows["visits"] != 4 || e.stagedCount(d, layout.Snapshot, b) != 4 {
		t.Errorf("keyless: %+v, staged %d; want 4 distinct rows", res, e.stagedCount(d, layout.Snapshot, b))
	}
	if bad, _ := e.badHashes(d, layout.Snapshot, b); bad != 0 {
		t.Errorf("keyless: %d bad hashes", bad)
	}
	_, st := e.state("Shop#visits", b)
	if st.Rows["visits"].Staged != 4 {
		t.Errorf("keyless state rows = %+v", st.Rows)
	}
}
