package merge_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/datasurface/datasurface/services/merge"
)

const sourceDDL = `CREATE TABLE people (id integer PRIMARY KEY, name varchar(50), email varchar(100), score numeric(10,2));
CREATE TABLE visits (person_id integer NOT NULL, page varchar(50) NOT NULL);
CREATE TABLE clicks (id integer PRIMARY KEY, target varchar(50), updated_at timestamp NOT NULL)`

// step is one batch of a lifecycle: the source statements run before it, then what the merge
// table, the views and the counts must be after it.
type step struct {
	name   string
	source []string
	people []string
	visits []string
	// counts is "status inserted/updated/deleted" of the whole batch.
	counts string
	// views maps a view to its rows.
	views map[naming.Name][]string
}

func peopleRows(rows ...string) string {
	return "TRUNCATE people; INSERT INTO people VALUES " + strings.Join(rows, ", ")
}

func TestLiveSnapshotLifecycle(t *testing.T) {
	e := newEnv(t, merge.Config{})
	e.sql(sourceDDL)
	const d = "YellowLive"
	p := e.platform(d)
	shop, _ := p.Stream("Shop")
	people, visits := shop.Datasets[0].Merge, shop.Datasets[1].Merge
	peopleView := naming.LiveView(d, "Analytics", "main", "Shop", "people")
	visitsView := naming.LiveView(d, "Analytics", "main", "Shop", "visits")
	steps := []step{{
		name: "two inserts, NULLs, keyless duplicates",
		source: []string{
			peopleRows("(1, 'ann', 'ann@x', 10)", "(2, 'bob', NULL, NULL)"),
			"INSERT INTO visits VALUES (1, 'home'), (1, 'home'), (2, 'cart')",
		},
		people: []string{"1 ann ann@x 10.00 [1]", "2 bob NULL NULL [1]"},
		visits: []string{"1 home [1]", "2 cart [1]"},
		counts: "committed 4/0/0",
		views: map[naming.Name][]string{
			peopleView: {"1 ann NULL 10.00", "2 bob NULL NULL"},
			visitsView: {"1 home", "2 cart"},
		},
	}, {
		name: "update, insert, delete",
		source: []string{
			peopleRows("(1, 'ann', 'ann@x', 15)", "(3, 'cy', NULL, 30)"),
			"TRUNCATE visits; INSERT INTO visits VALUES (1, 'home'), (3, 'home')",
		},
		people: []string{"1 ann ann@x 15.00 [2]", "3 cy NULL 30.00 [2]"},
		visits: []string{"1 home [1]", "3 home [2]"},
		counts: "committed 2/1/2",
		views:  map[naming.Name][]string{peopleView: {"1 ann NULL 15.00", "3 cy NULL 30.00"}, visitsView: {"1 home", "3 home"}},
	}, {
		name:   "empty source",
		source: []string{"TRUNCATE people, visits"},
		people: []string{},
		visits: []string{},
		counts: "committed 0/0/4",
		views:  map[naming.Name][]string{peopleView: {}, visitsView: {}},
	}, {
		name:   "re-insert a deleted key",
		source: []string{peopleRows("(2, 'bob', 'bob@x', 20.5)"), "INSERT INTO visits VALUES (2, 'cart')"},
		people: []string{"2 bob bob@x 20.50 [4]"},
		visits: []string{"2 cart [4]"},
		counts: "committed 2/0/0",
		views:  map[naming.Name][]string{peopleView: {"2 bob NULL 20.50"}, visitsView: {"2 cart"}},
	}, {
		name:   "no change",
		people: []string{"2 bob bob@x 20.50 [4]"},
		visits: []string{"2 cart [4]"},
		counts: "committed 0/0/0",
		views:  map[naming.Name][]string{peopleView: {"2 bob NULL 20.50"}, visitsView: {"2 cart"}},
	}}
	for i, st := range steps {
		e.sql(st.source...)
		res := e.mustCycle(d, "Shop")
		b := int32(i + 1)
		if res.Merge.Batch != b {
			t.Fatalf("%s: batch %d, want %d", st.name, res.Merge.Batch, b)
		}
		diff(t, st.name+": people", st.people, e.dump(people))
		diff(t, st.name+": visits", st.visits, e.dump(visits))
		got := e.metrics(d, "Shop", b)
		diff(t, st.name+": metrics", st.counts, got[:strings.LastIndexByte(got, ' ')])
		for v, rows := range st.views {
			diff(t, st.name+": view "+v.Name, rows, e.view(v))
		}
	}
	diff(t, "people view columns", []string{"id integer", "name character varying(50)", "email character varying(100)", "score numeric(10,2)"}, e.viewColumns(peopleView))
}

func TestForensicSnapshotLifecycle(t *testing.T) {
	e := newEnv(t, merge.Config{})
	e.sql(sourceDDL)
	const d = "YellowForensic"
	p := e.platform(d)
	shop, _ := p.Stream("Shop")
	people, visits := shop.Datasets[0].Merge, shop.Datasets[1].Merge
	full := naming.FullView(d, "Audit", "history", "Shop", "people")
	live := naming.LiveView(d, "Audit", "history", "Shop", "people")
	current := naming.LiveView(d, "Audit", "current", "Shop", "people")
	steps := []step{{
		name:   "batch 1",
		source: []string{peopleRows("(1, 'ann', 'a', 10)", "(2, 'bob', 'b', 20)", "(3, 'cy', 'c', 30)"), "INSERT INTO visits VALUES (1, 'home')"},
		people: []string{"1 ann a 10.00 [1,L]", "2 bob b 20.00 [1,L]", "3 cy c 30.00 [1,L]"},
		visits: []string{"1 home [1,L]"},
		counts: "committed 4/0/0",
		views: map[naming.Name][]string{
			live: {"1 ann a 10.00", "2 bob b 20.00", "3 cy c 30.00"},
			full: {"1 ann a 10.00 1 2147483647", "2 bob b 20.00 1 2147483647", "3 cy c 30.00 1 2147483647"},
		},
	}, {
		name:   "1 changed, 3 deleted, 4 new",
		source: []string{peopleRows("(1, 'ann', 'a', 15)", "(2, 'bob', 'b', 20)", "(4, 'dee', 'd', 40)"), "INSERT INTO visits VALUES (4, 'cart')"},
		people: []string{"1 ann a 10.00 [1,1]", "1 ann a 15.00 [2,L]", "2 bob b 20.00 [1,L]", "3 cy c 30.00 [1,1]", "4 dee d 40.00 [2,L]"},
		visits: []string{"1 home [1,L]", "4 cart [2,L]"},
		counts: "committed 2/1/1",
		views:  map[naming.Name][]string{live: {"1 ann a 15.00", "2 bob b 20.00", "4 dee d 40.00"}},
	}, {
		name:   "2 deleted, 3 back with a new value",
		source: []string{peopleRows("(1, 'ann', 'a', 15)", "(3, 'cy', 'c', 35)", "(4, 'dee', 'd', 40)")},
		people: []string{"1 ann a 10.00 [1,1]", "1 ann a 15.00 [2,L]", "2 bob b 20.00 [1,2]", "3 cy c 30.00 [1,1]", "3 cy c 35.00 [3,L]", "4 dee d 40.00 [2,L]"},
		visits: []string{"1 home [1,L]", "4 cart [2,L]"},
		counts: "committed 1/0/1",
		views: map[naming.Name][]string{
			live:    {"1 ann a 15.00", "3 cy c 35.00", "4 dee d 40.00"},
			current: {"1 ann a 15.00", "3 cy c 35.00", "4 dee d 40.00"},
			full:    {"1 ann a 10.00 1 1", "1 ann a 15.00 2 2147483647", "2 bob b 20.00 1 2", "3 cy c 30.00 1 1", "3 cy c 35.00 3 2147483647", "4 dee d 40.00 2 2147483647"},
		},
	}, {
		name:   "empty source",
		source: []string{"TRUNCATE people, visits"},
		people: []string{"1 ann a 10.00 [1,1]", "1 ann a 15.00 [2,3]", "2 bob b 20.00 [1,2]", "3 cy c 30.00 [1,1]", "3 cy c 35.00 [3,3]", "4 dee d 40.00 [2,3]"},
		visits: []string{"1 home [1,3]", "4 cart [2,3]"},
		counts: "committed 0/0/5",
		views:  map[naming.Name][]string{live: {}, current: {}},
	}, {
		name:   "re-insert with NULLs",
		source: []string{peopleRows("(1, NULL, NULL, NULL)")},
		people: []string{"1 ann a 10.00 [1,1]", "1 ann a 15.00 [2,3]", "1 NULL NULL NULL [5,L]", "2 bob b 20.00 [1,2]", "3 cy c 30.00 [1,1]", "3 cy c 35.00 [3,3]", "4 dee d 40.00 [2,3]"},
		visits: []string{"1 home [1,3]", "4 cart [2,3]"},
		counts: "committed 1/0/0",
		views:  map[naming.Name][]string{live: {"1 NULL NULL NULL"}},
	}, {
		name:   "no change",
		people: []string{"1 ann a 10.00 [1,1]", "1 ann a 15.00 [2,3]", "1 NULL NULL NULL [5,L]", "2 bob b 20.00 [1,2]", "3 cy c 30.00 [1,1]", "3 cy c 35.00 [3,3]", "4 dee d 40.00 [2,3]"},
		visits: []string{"1 home [1,3]", "4 cart [2,3]"},
		counts: "committed 0/0/0",
		views: map[naming.Name][]string{
			live: {"1 NULL NULL NULL"},
			full: {"1 NULL NULL NULL 5 2147483647", "1 ann a 10.00 1 1", "1 ann a 15.00 2 3", "2 bob b 20.00 1 2", "3 cy c 30.00 1 1", "3 cy c 35.00 3 3", "4 dee d 40.00 2 3"},
		},
	}}
	for i, st := range steps {
		e.sql(st.source...)
		e.mustCycle(d, "Shop")
		b := int32(i + 1)
		diff(t, st.name+": people", st.people, e.dump(people))
		diff(t, st.name+": visits", st.visits, e.dump(visits))
		e.checkForensic(people)
		e.checkForensic(visits)
		got := e.metrics(d, "Shop", b)
		diff(t, st.name+": metrics", st.counts, got[:strings.LastIndexByte(got, ' ')])
		for v, rows := range st.views {
			diff(t, st.name+": view "+v.Name, rows, e.view(v))
		}
	}
	// As of batch 2 the table is the batch-2 source (yellow.md §15).
	diff(t, "people as of batch 2", []string{"1 ann a 15.00", "2 bob b 20.00", "4 dee d 40.00"},
		e.query(`SELECT concat_ws(' ', id, name, email, score) FROM yellowforensic.yellowforensic_shop_people_merge
			WHERE ds_surf_batch_in <= 2 AND ds_surf_batch_out >= 2 ORDER BY id`))
	diff(t, "full view columns", []string{"id integer", "name character varying(50)", "email character varying(100)", "score numeric(10,2)",
		"ds_surf_batch_in integer", "ds_surf_batch_out integer"}, e.viewColumns(full))
	if e.exists(naming.FullView(d, "Audit", "current", "Shop", "people")) {
		t.Error("a LIVE_WITH_FORENSIC_HISTORY group got a full view")
	}
}

func TestStreamBusy(t *testing.T) {
	e := newEnv(t, merge.Config{})
	e.sql(sourceDDL)
	e.mustCycle("YellowLive", "Shop")
	holder := connect(t, e.mergeDSN, true)
	var got bool
	if err := holder.QueryRow(context.Background(), "SELECT pg_try_advisory_lock($1::bigint)", mergesql.StreamLockKey("YellowLive", "Shop")).Scan(&got); err != nil || !got {
		t.Fatalf("hold the lock: %v %v", got, err)
	}
	_, err := e.act.StartBatch(context.Background(), merge.StartBatchInput{Platform: "YellowLive", Stream: "Shop", Version: e.v()})
	if !errors.Is(err, merge.ErrStreamBusy) || merge.IsPermanent(err) {
		t.Fatalf("StartBatch while the stream is locked: %v (permanent %t), want retryable stream busy", err, merge.IsPermanent(err))
	}
	if _, err := holder.Exec(context.Background(), "SELECT pg_advisory_unlock_all()"); err != nil {
		t.Fatal(err)
	}
	if res := e.mustCycle("YellowLive", "Shop"); res.Merge.Batch != 2 {
		t.Fatalf("batch after the lock was released: %d", res.Merge.Batch)
	}
}

func TestUnknownStreamIsPermanent(t *testing.T) {
	e := newEnv(t, merge.Config{})
	_, err := e.act.StartBatch(context.Background(), merge.StartBatchInput{Platform: "YellowLive", Stream: "Nope", Version: e.v()})
	if !merge.IsPermanent(err) {
		t.Fatalf("unknown stream: %v, want a permanent error", err)
	}
}
