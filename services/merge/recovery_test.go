package merge_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/datasurface/datasurface/services/merge"
	"github.com/datasurface/datasurface/services/merge/internal/mergetest"
)

// sources are the source contents of three batches.
var sources = [][]string{
	{peopleRows("(1, 'ann', 'a', 10)", "(2, 'bob', NULL, 20)", "(3, 'cy', 'c', NULL)"), "TRUNCATE visits; INSERT INTO visits VALUES (1, 'home'), (2, 'cart')"},
	{peopleRows("(1, 'ann', 'a', 15)", "(3, 'cy', 'c', NULL)", "(4, 'dee', 'd', 40)"), "TRUNCATE visits; INSERT INTO visits VALUES (1, 'home'), (4, 'cart')"},
	{peopleRows("(2, 'bob', 'b', 21)", "(3, 'cy', 'c2', NULL)", "(4, 'dee', 'd', 40)"), "TRUNCATE visits"},
}

// state is everything a batch leaves in the merge database that must not depend on how it got
// there: every merge table and the batch statuses and counts.
func (e *env) state(d string) map[string][]string {
	e.t.Helper()
	out := map[string][]string{}
	shop, _ := e.platform(d).Stream("Shop")
	for _, ds := range shop.Datasets {
		out[ds.Name] = e.dump(ds.Merge)
	}
	out["metrics"] = e.query(`SELECT batch_id || ' ' || batch_status || ' ' || records_inserted || '/' || records_updated || '/' || records_deleted
		FROM ` + ddl.Ident(naming.BatchMetrics(d)) + ` WHERE key = 'Shop' ORDER BY batch_id`)
	return out
}

// control runs the three batches without interruption.
func control(t *testing.T, d string) map[string][]string {
	e := newEnv(t, merge.Config{})
	e.sql(sourceDDL)
	for _, src := range sources {
		e.sql(src...)
		e.mustCycle(d, "Shop")
	}
	return e.state(d)
}

func TestInterruptedBatchesEndLikeUninterruptedOnes(t *testing.T) {
	for _, d := range []string{"YellowLive", "YellowForensic"} {
		t.Run(d, func(t *testing.T) {
			want := control(t, d)
			for _, tc := range []struct {
				name string
				// interrupt runs batch 2 so that it does not commit; it returns the batch's status.
				interrupt func(e *env) string
			}{{
				name: "merge fails after staging",
				interrupt: func(e *env) string {
					e.act.SetBeforeCommit(func(context.Context) error { return errors.New("simulated merge failure") })
					res, err := e.cycle(d, "Shop")
					e.act.SetBeforeCommit(nil)
					if err == nil || res.Status != "failed" {
						t.Fatalf("interrupted batch: %v, status %s", err, res.Status)
					}
					return res.Status
				},
			}, {
				name: "merge transaction killed before COMMIT",
				interrupt: func(e *env) string {
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					e.act.SetBeforeCommit(func(context.Context) error { cancel(); return nil })
					defer e.act.SetBeforeCommit(nil)
					st, err := e.act.StartBatch(ctx, merge.StartBatchInput{Platform: d, Stream: "Shop", Version: e.v()})
					if err != nil {
						t.Fatal(err)
					}
					if err := e.ingest(e, d, "Shop")(ctx, st.Batch); err != nil {
						t.Fatal(err)
					}
					_, err = e.act.MergeBatch(ctx, merge.MergeBatchInput{Platform: d, Stream: "Shop", Version: e.v(), Batch: st.Batch})
					if !errors.Is(err, context.Canceled) {
						t.Fatalf("killed merge: %v, want context canceled", err)
					}
					return strings.Fields(e.metrics(d, "Shop", st.Batch))[0]
				},
			}, {
				name: "ingest fails",
				interrupt: func(e *env) string {
					ing := e.ingest
					e.ingest = func(*env, string, string) merge.Ingest {
						return func(context.Context, int32) error { return errors.New("simulated source outage") }
					}
					res, err := e.cycle(d, "Shop")
					e.ingest = ing
					if err == nil {
						t.Fatal("interrupted batch succeeded")
					}
					return res.Status
				},
			}} {
				t.Run(tc.name, func(t *testing.T) {
					e := newEnv(t, merge.Config{})
					e.sql(sourceDDL)
					e.sql(sources[0]...)
					e.mustCycle(d, "Shop")
					after1 := e.state(d)
					e.sql(sources[1]...)
					status := tc.interrupt(e)
					// Nothing of batch 2 is visible.
					for _, ds := range []string{"people", "visits"} {
						diff(t, "after the interruption: "+ds, after1[ds], e.state(d)[ds])
					}
					t.Logf("batch 2 left %s", status)
					res := e.mustCycle(d, "Shop")
					if res.Merge.Batch != 2 {
						t.Fatalf("re-run committed batch %d, want 2", res.Merge.Batch)
					}
					e.sql(sources[2]...)
					e.mustCycle(d, "Shop")
					diff(t, "tables", want, e.state(d))
				})
			}
		})
	}
}

func TestMergeBatchIsIdempotent(t *testing.T) {
	e := newEnv(t, merge.Config{})
	e.sql(sourceDDL)
	e.sql(sources[0]...)
	first := e.mustCycle("YellowLive", "Shop")
	again, err := e.act.MergeBatch(context.Background(), merge.MergeBatchInput{Platform: "YellowLive", Stream: "Shop", Version: e.v(), Batch: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !again.AlreadyCommitted || again.Inserted != first.Merge.Inserted || again.Total != first.Merge.Total {
		t.Errorf("second MergeBatch = %+v, want the first's counts, already committed", again)
	}
	// A batch that is not ingested cannot be merged: a permanent error.
	e.sql(sources[1]...)
	st, err := e.act.StartBatch(context.Background(), merge.StartBatchInput{Platform: "YellowLive", Stream: "Shop", Version: e.v()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.act.MergeBatch(context.Background(), merge.MergeBatchInput{Platform: "YellowLive", Stream: "Shop", Version: e.v(), Batch: st.Batch})
	if !merge.IsPermanent(err) || !strings.Contains(err.Error(), "is started, not ingested") {
		t.Errorf("merging a started batch: %v", err)
	}
}

func TestFailingBatchThenFix(t *testing.T) {
	e := newEnv(t, merge.Config{})
	e.sql(sourceDDL)
	e.sql(sources[0]...)
	e.mustCycle("YellowLive", "Shop")
	p := e.platform("YellowLive")
	shop, _ := p.Stream("Shop")
	before := e.dump(shop.Datasets[0].Merge)

	e.sql(sources[1]...)
	e.sql("ALTER TABLE people DROP COLUMN score")
	res, err := e.cycle("YellowLive", "Shop")
	if err == nil || res.Status != "failed" || !merge.IsPermanent(err) {
		t.Fatalf("batch with a missing source column: %v (status %s, permanent %t)", err, res.Status, merge.IsPermanent(err))
	}
	got := e.query(`SELECT batch_status, state->'error'->>'phase', state->'error'->>'permanent', state->>'attempt', state->'error'->>'message'
		FROM yellowlive.yellowlive_batch_metrics WHERE key = 'Shop' AND batch_id = 2`)
	if len(got) != 1 || !strings.HasPrefix(got[0], "failed ingest true 1 ") || !strings.Contains(got[0], "score") {
		t.Fatalf("failed batch record: %v", got)
	}
	diff(t, "merge table after the failure", before, e.dump(shop.Datasets[0].Merge))
	diff(t, "staging rows of the failed batch", []string{"0"}, e.query(`SELECT count(*) FROM yellowlive.yellowlive_shop_people_staging WHERE ds_surf_batch_id = 2`))

	e.sql("ALTER TABLE people ADD COLUMN score numeric(10,2)", "UPDATE people SET score = 15 WHERE id = 1")
	res = e.mustCycle("YellowLive", "Shop")
	if res.Start.Batch != 2 || !res.Start.Resumed || res.Start.Attempt != 2 {
		t.Errorf("re-run after the fix: %+v, want batch 2 resumed, attempt 2", res.Start)
	}
	diff(t, "people after the fix", []string{"1 ann a 15.00 [2]", "3 cy c NULL [1]", "4 dee d NULL [2]"}, e.dump(shop.Datasets[0].Merge))
	diff(t, "state after the fix", []string{"committed  2"}, e.query(`SELECT batch_status || ' ' || coalesce(state->>'error', '') || ' ' || (state->>'attempt')
		FROM yellowlive.yellowlive_batch_metrics WHERE key = 'Shop' AND batch_id = 2`))
}

func TestSchemaChangeBetweenBatches(t *testing.T) {
	for _, d := range []string{"YellowLive", "YellowForensic"} {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, merge.Config{})
			e.sql(sourceDDL)
			e.sql(peopleRows("(1, 'ann', 'a', 10)", "(2, 'bob', 'b', 20)"))
			e.mustCycle(d, "Shop")

			// The producer adds a nullable column and widens another; the model follows.
			e.sql("ALTER TABLE people ADD COLUMN city varchar(30)", "ALTER TABLE people ALTER COLUMN name TYPE varchar(100)",
				"UPDATE people SET city = 'Paris' WHERE id = 1", "INSERT INTO people VALUES (3, '"+strings.Repeat("x", 80)+"', 'c', 30, NULL)")
			e.setModel(mergetest.Options{City: true, NameWidth: 100})
			res := e.mustCycle(d, "Shop")
			var changed []string
			for _, c := range res.Tables.Changes {
				changed = append(changed, describe(c))
			}
			sch := strings.ToLower(d)
			var views []string
			if d == "YellowLive" {
				views = []string{"yellowlive_analytics.yellowlive_analytics_main_shop_people_view_live", "yellowlive_peoplestats.yellowlive_peoplestats_inputs_shop_people_view_live"}
			} else {
				views = []string{"yellowforensic_audit.yellowforensic_audit_current_shop_people_view_live", "yellowforensic_audit.yellowforensic_audit_history_shop_people_view_live",
					"yellowforensic_audit.yellowforensic_audit_history_shop_people_view_full"}
			}
			diff(t, "table changes", []string{
				sch + "." + sch + "_shop_people_staging added [city] widened [name: character varying(50) → character varying(100)]",
				sch + "." + sch + "_shop_people_merge added [city] widened [name: character varying(50) → character varying(100)] rehashed views " + strings.Join(views, ","),
			}, changed)

			p := e.platform(d)
			shop, _ := p.Stream("Shop")
			// Ann changed (city), bob did not: re-hashing made his stored hash the new one.
			if d == "YellowLive" {
				diff(t, "people", []string{"1 ann a 10.00 Paris [2]", "2 bob b 20.00 NULL [1]", "3 " + strings.Repeat("x", 80) + " c 30.00 NULL [2]"}, e.dump(shop.Datasets[0].Merge))
				diff(t, "counts", "committed 1/1/0 3", e.metrics(d, "Shop", 2))
				v := naming.LiveView(d, "Analytics", "main", "Shop", "people")
				diff(t, "view columns", []string{"id integer", "name character varying(100)", "email character varying(100)", "score numeric(10,2)", "city character varying(30)"}, e.viewColumns(v))
				diff(t, "view", []string{"1 ann NULL 10.00 Paris", "2 bob NULL 20.00 NULL", "3 " + strings.Repeat("x", 80) + " NULL 30.00 NULL"}, e.view(v))
			} else {
				diff(t, "people", []string{"1 ann a 10.00 Paris [2,L]", "1 ann a 10.00 NULL [1,1]", "2 bob b 20.00 NULL [1,L]", "3 " + strings.Repeat("x", 80) + " c 30.00 NULL [2,L]"}, e.dump(shop.Datasets[0].Merge))
				e.checkForensic(shop.Datasets[0].Merge)
				v := naming.FullView(d, "Audit", "history", "Shop", "people")
				diff(t, "full view columns", []string{"id integer", "name character varying(100)", "email character varying(100)", "score numeric(10,2)", "city character varying(30)",
					"ds_surf_batch_in integer", "ds_surf_batch_out integer"}, e.viewColumns(v))
			}

			// A batch started under one schema and resumed under the next is reset.
			st, err := e.act.StartBatch(context.Background(), merge.StartBatchInput{Platform: d, Stream: "Shop", Version: e.v()})
			if err != nil || st.Batch != 3 || !st.New {
				t.Fatalf("start batch 3: %+v %v", st, err)
			}
			e.sql("ALTER TABLE people ALTER COLUMN score TYPE numeric(12,2)", "UPDATE people SET score = 1234567890.12 WHERE id = 2")
			e.setModel(mergetest.Options{City: true, NameWidth: 100, ScoreDigits: 12})
			res = e.mustCycle(d, "Shop")
			if res.Start.Batch != 3 || !res.Start.Reset {
				t.Errorf("batch under the new schema: %+v, want batch 3 reset", res.Start)
			}
			if got := e.query("SELECT score::text FROM " + ddl.Ident(shop.Datasets[0].Merge.Name) + " WHERE id = 2 AND " + liveOnly(d)); len(got) != 1 || got[0] != "1234567890.12" {
				t.Errorf("widened value: %v", got)
			}
		})
	}
}

func liveOnly(d string) string {
	if d == "YellowForensic" {
		return "ds_surf_batch_out = 2147483647"
	}
	return "true"
}

func describe(c merge.TableChange) string {
	s := c.Table
	if c.Created {
		s += " created"
	}
	if len(c.Added) > 0 {
		s += " added [" + strings.Join(c.Added, ",") + "]"
	}
	if len(c.Widened) > 0 {
		s += " widened [" + strings.Join(c.Widened, ",") + "]"
	}
	if len(c.NullableAgain) > 0 {
		s += " nullable [" + strings.Join(c.NullableAgain, ",") + "]"
	}
	if c.Rehashed {
		s += " rehashed"
	}
	if len(c.RecreatedViews) > 0 {
		s += " views " + strings.Join(c.RecreatedViews, ",")
	}
	return s
}

func TestReconcileConflictFailsTheBatch(t *testing.T) {
	e := newEnv(t, merge.Config{})
	e.sql(sourceDDL, peopleRows("(1, 'ann', 'a', 10)"))
	e.mustCycle("YellowLive", "Shop")
	// Narrowing a column is never applied (yellow.md §11): the batch fails permanently, in
	// phase reconcile, and nothing is altered.
	e.setModel(mergetest.Options{NameWidth: 20})
	res, err := e.cycle("YellowLive", "Shop")
	if !merge.IsPermanent(err) || res.Status != "failed" || !strings.Contains(err.Error(), "not a widening") {
		t.Fatalf("narrowing: %v, status %s", err, res.Status)
	}
	diff(t, "failed batch", []string{"2 failed reconcile true"}, e.query(`SELECT batch_id || ' ' || batch_status || ' ' || (state->'error'->>'phase') || ' ' || (state->'error'->>'permanent')
		FROM yellowlive.yellowlive_batch_metrics WHERE key = 'Shop' AND batch_id = 2`))
	diff(t, "column untouched", []string{"character varying(50)"}, e.query(`SELECT format_type(atttypid, atttypmod) FROM pg_attribute
		WHERE attrelid = 'yellowlive.yellowlive_shop_people_merge'::regclass AND attname = 'name'`))
	// The model goes back: batch 2 resumes and commits.
	e.setModel(mergetest.Options{})
	if res := e.mustCycle("YellowLive", "Shop"); res.Start.Batch != 2 || res.Start.Attempt != 2 {
		t.Errorf("after the fix: %+v", res.Start)
	}
}
