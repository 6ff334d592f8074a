package merge_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/datasurface/datasurface/services/merge"
	"github.com/datasurface/datasurface/services/merge/internal/mergetest"
)

func TestTransformerRuns(t *testing.T) {
	e := newEnv(t, merge.Config{TransformerAsMergeLogin: true})
	e.sql(sourceDDL)
	const d = "YellowLive"

	// No committed input batch yet: the run waits and no output batch starts.
	res, err := e.cycle(d, "Stats")
	if err != nil || res.Status != "waiting" {
		t.Fatalf("transformer before its inputs: %v, status %s", err, res.Status)
	}
	diff(t, "waiting run", []string{"1 waiting NULL"}, e.query(`SELECT run_id || ' ' || status || ' ' || coalesce(error, 'NULL') FROM yellowlive.yellowlive_transformer_runs`))

	e.sql(peopleRows("(1, 'ann', 'a', 10)", "(2, 'bob', 'b', 20)"), "INSERT INTO visits VALUES (1, 'home'), (1, 'cart'), (2, 'home')")
	e.mustCycle(d, "Shop")
	res = e.mustCycle(d, "Stats")
	if res.Transformer == nil || res.Transformer.Status != "succeeded" || res.Transformer.Inputs["Shop"] != 1 || res.Transformer.Rows["totals"] != 2 {
		t.Fatalf("transformer run: %+v", res.Transformer)
	}
	stats, _ := e.platform(d).Stream("Stats")
	totals := stats.Datasets[0].Merge
	// The keyless visits (1, home) twice at the source are one row on the platform.
	diff(t, "totals after run 2", []string{"1 2 [1]", "2 1 [1]"}, e.dump(totals))
	view := naming.LiveView(d, "Analytics", "main", "Stats", "totals")
	diff(t, "totals view", []string{"1 2", "2 1"}, e.view(view))

	e.sql(peopleRows("(1, 'ann', 'a', 10)", "(3, 'cy', 'c', 30)"), "TRUNCATE visits; INSERT INTO visits VALUES (3, 'home')")
	e.mustCycle(d, "Shop")
	res = e.mustCycle(d, "Stats")
	if res.Merge.Inserted != 1 || res.Merge.Updated != 1 || res.Merge.Deleted != 1 {
		t.Errorf("output batch 2 counts: %+v", res.Merge)
	}
	diff(t, "totals after run 3", []string{"1 0 [2]", "3 1 [2]"}, e.dump(totals))
	diff(t, "runs", []string{`1 waiting {}`, `2 succeeded {"Shop": 1}`, `3 succeeded {"Shop": 2}`},
		e.query(`SELECT run_id || ' ' || status || ' ' || inputs::text FROM yellowlive.yellowlive_transformer_runs ORDER BY run_id`))
	// The output batch's data time is the oldest input's.
	diff(t, "data time", e.query(`SELECT state->>'dataTime' FROM yellowlive.yellowlive_batch_metrics WHERE key = 'Shop' AND batch_id = 2`),
		e.query(`SELECT state->>'dataTime' FROM yellowlive.yellowlive_batch_metrics WHERE key = 'Stats' AND batch_id = 2`))
}

func TestPruneStagingAndLag(t *testing.T) {
	e := newEnv(t, merge.Config{})
	e.setModel(mergetest.Options{Keep: 3})
	e.sql(sourceDDL)
	for i := range 4 {
		e.sql(peopleRows("(1, 'ann', 'a', " + string(rune('1'+i)) + ")"))
		e.mustCycle("YellowLive", "Shop")
	}
	staged := func() []string {
		return e.query(`SELECT DISTINCT ds_surf_batch_id::text FROM yellowlive.yellowlive_shop_people_staging ORDER BY 1`)
	}
	// Batch 4 was created with keep 3: nothing below 1 to prune.
	diff(t, "staged batches with keep 3", []string{"1", "2", "3", "4"}, staged())
	e.setModel(mergetest.Options{Keep: 1})
	res, err := e.act.PruneStaging(context.Background(), merge.PruneStagingInput{Platform: "YellowLive", Version: e.v(), Streams: []string{"Shop"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Streams) != 1 || res.Streams[0].CurrentBatch != 4 || res.Streams[0].Rows["people"] != 2 {
		t.Errorf("prune: %+v", res.Streams)
	}
	diff(t, "staged batches with keep 1", []string{"3", "4"}, staged())
	e.mustCycle("YellowLive", "Shop")
	diff(t, "staged batches after batch 5", []string{"4", "5"}, staged())

	lag, err := e.act.Lag(context.Background(), merge.LagInput{Platform: "YellowLive", Version: e.v(), Workspace: "Analytics"})
	if err != nil {
		t.Fatal(err)
	}
	if len(lag.Streams) != 1 || lag.Streams[0].Stream != "Shop" || lag.Streams[0].Batch != 5 {
		t.Fatalf("lag: %+v", lag)
	}
	l := lag.Streams[0]
	if l.DataTime.IsZero() || l.Seconds < 0 || l.Seconds > 60 || time.Since(l.DataTime) > time.Minute || lag.WorkspaceSeconds != l.Seconds {
		t.Errorf("lag of Shop: %+v, workspace %v", l, lag.WorkspaceSeconds)
	}
	diff(t, "streams without a batch", []string{"Clicks#clicks", "Stats"}, lag.NoBatch)
}

func TestDecommissionDropsViewsAndKeepsUnmanagedOnes(t *testing.T) {
	e := newEnv(t, merge.Config{})
	e.sql(sourceDDL)
	e.mustCycle("YellowLive", "Shop")
	live := naming.LiveView("YellowLive", "Analytics", "main", "Shop", "people")
	if !e.exists(live) {
		t.Fatal("view missing")
	}
	if _, err := e.mrg.Exec(context.Background(), `CREATE VIEW yellowlive_analytics.mine AS SELECT 1 AS one`); err != nil {
		t.Fatal(err)
	}
	e.setModel(mergetest.Options{Decommission: true})
	res, err := e.act.ReconcileViews(context.Background(), merge.ReconcileViewsInput{Platform: "YellowLive", Version: e.v()})
	if err != nil {
		t.Fatal(err)
	}
	var dropped []string
	for _, s := range res.Schemas {
		dropped = append(dropped, s.Dropped...)
	}
	diff(t, "dropped", []string{
		"yellowlive_analytics.yellowlive_analytics_main_shop_people_view_live",
		"yellowlive_analytics.yellowlive_analytics_main_shop_visits_view_live",
		"yellowlive_peoplestats.yellowlive_peoplestats_inputs_shop_people_view_live",
		"yellowlive_peoplestats.yellowlive_peoplestats_inputs_shop_visits_view_live",
	}, dropped)
	if e.exists(live) || !e.exists(naming.Name{Schema: "yellowlive_analytics", Name: "mine"}) {
		t.Error("the managed view survived or the unmanaged one was dropped")
	}
	// Views are pending until the stream's tables exist: Clicks and Stats never ran.
	e.setModel(mergetest.Options{})
	res, err = e.act.ReconcileViews(context.Background(), merge.ReconcileViewsInput{Platform: "YellowLive", Version: e.v()})
	if err != nil {
		t.Fatal(err)
	}
	var created, pending []string
	for _, s := range res.Schemas {
		created = append(created, s.Created...)
		pending = append(pending, s.Pending...)
	}
	if len(created) != 4 || len(pending) != 2 {
		t.Errorf("re-assigned: created %v, pending %v", created, pending)
	}
}

func TestOwnerRoleOwnsEverythingWhenItExists(t *testing.T) {
	e := newEnv(t, merge.Config{TransformerAsMergeLogin: true})
	e.sql(sourceDDL, peopleRows("(1, 'ann', 'a', 10)"))
	if _, err := e.mrg.Exec(context.Background(), `DO $$ BEGIN
		IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'yellowlive_owner') THEN CREATE ROLE yellowlive_owner NOLOGIN; END IF;
	END $$; GRANT CREATE ON DATABASE `+ddl.Quote(e.opts.MergeDB)+` TO yellowlive_owner`); err != nil {
		t.Fatal(err)
	}
	// The role is cluster-wide: drop it with what it owns, so other tests (and ingest, which
	// switches to an existing owner role) do not see it.
	t.Cleanup(func() {
		_, _ = e.mrg.Exec(context.Background(), `DROP OWNED BY yellowlive_owner; DROP ROLE yellowlive_owner`)
	})
	e.mustCycle("YellowLive", "Shop")
	e.mustCycle("YellowLive", "Stats")
	owners := e.query(`SELECT DISTINCT pg_catalog.pg_get_userbyid(c.relowner)::text FROM pg_catalog.pg_class c
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname LIKE 'yellowlive%' AND c.relkind IN ('r', 'v')`)
	diff(t, "owners of tables and views", []string{"yellowlive_owner"}, owners)
	schemas := e.query(`SELECT nspname || ' ' || pg_catalog.pg_get_userbyid(nspowner) FROM pg_catalog.pg_namespace WHERE nspname LIKE 'yellowlive%' ORDER BY 1`)
	for _, s := range schemas {
		if !strings.HasSuffix(s, " yellowlive_owner") {
			t.Errorf("schema not owned by the owner role: %s", s)
		}
	}
}

func TestFailingTransformerQueryChangesNothing(t *testing.T) {
	e := newEnv(t, merge.Config{TransformerAsMergeLogin: true})
	e.sql(sourceDDL, peopleRows("(1, 'ann', 'a', 10)"), "INSERT INTO visits VALUES (1, 'home')")
	e.mustCycle("YellowLive", "Shop")
	e.mustCycle("YellowLive", "Stats")
	e.setModel(mergetest.Options{BadQuery: true})
	e.sql(peopleRows("(1, 'ann', 'a', 10)", "(2, 'bob', 'b', 20)"))
	e.mustCycle("YellowLive", "Shop")
	res, err := e.cycle("YellowLive", "Stats")
	if !merge.IsPermanent(err) || res.Transformer == nil || res.Transformer.Status != "failed" || !strings.Contains(res.Transformer.Error, "division by zero") {
		t.Fatalf("failing query: %v, %+v", err, res.Transformer)
	}
	diff(t, "output table keeps the previous run's rows", []string{"1 1"},
		e.query(`SELECT concat_ws(' ', person_id, visits) FROM yellowlive_dt_peoplestats.yellowlive_dt_stats_totals`))
	diff(t, "no output batch started", []string{"1 committed"},
		e.query(`SELECT batch_id || ' ' || batch_status FROM yellowlive.yellowlive_batch_metrics WHERE key = 'Stats'`))
	diff(t, "runs", []string{"1 succeeded", "2 failed"},
		e.query(`SELECT run_id || ' ' || status FROM yellowlive.yellowlive_transformer_runs ORDER BY run_id`))
}

func TestReconcileRepairsDrift(t *testing.T) {
	e := newEnv(t, merge.Config{})
	e.sql(sourceDDL, peopleRows("(1, 'ann', 'a', 10)"))
	e.mustCycle("YellowLive", "Shop")
	e.mustCycle("YellowLive", "Shop") // the reconciles are cached now
	if _, err := e.mrg.Exec(context.Background(), `DROP INDEX yellowlive.yellowlive_shop_people_merge_key`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.mrg.Exec(context.Background(), `DROP VIEW yellowlive_analytics.yellowlive_analytics_main_shop_people_view_live`); err != nil {
		t.Fatal(err)
	}
	res := e.mustCycle("YellowLive", "Shop")
	var changed []string
	for _, c := range res.Tables.Changes {
		changed = append(changed, c.Table+" "+strings.Join(c.Indexes, ","))
	}
	diff(t, "tables repaired", []string{"yellowlive.yellowlive_shop_people_merge yellowlive_shop_people_merge_key"}, changed)
	var created []string
	for _, s := range res.Views.Schemas {
		created = append(created, s.Created...)
	}
	diff(t, "views repaired", []string{"yellowlive_analytics.yellowlive_analytics_main_shop_people_view_live"}, created)
}
