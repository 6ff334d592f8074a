package ingest_test

import (
	"context"
	"testing"

	"github.com/datasurface/datasurface/kit/pgtest"
	"github.com/jackc/pgx/v5"
)

// TestOwnerRole: the merge login has no privileges of its own (NOINHERIT member of the platform
// owner role, which owns every platform table); ingest works because its merge session SETs
// ROLE to the owner (yellow.md §1, security.md §2).
func TestOwnerRole(t *testing.T) {
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, pgtest.Cluster(t).DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `CREATE ROLE test_dp_owner NOLOGIN; CREATE ROLE merger LOGIN NOINHERIT IN ROLE test_dp_owner`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // after the databases are dropped (cleanups run last-in first-out)
		c, err := pgx.Connect(ctx, pgtest.Cluster(t).DSN("postgres"))
		if err == nil {
			_, _ = c.Exec(ctx, `DROP ROLE IF EXISTS merger; DROP ROLE IF EXISTS test_dp_owner`)
			_ = c.Close(ctx)
		}
	})
	e := newEnv(t)
	e.execSrc(`CREATE TABLE a (id int, name text); INSERT INTO a VALUES (1, 'x'); CREATE TABLE b (id int, name text, qty int)`)
	m := e.twoDatasets()
	e.setup(m)
	e.execMerge(`DO $$ DECLARE r record; BEGIN
		FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = 'test_dp' LOOP
			EXECUTE format('ALTER TABLE test_dp.%I OWNER TO test_dp_owner', r.tablename);
		END LOOP;
		ALTER SCHEMA test_dp OWNER TO test_dp_owner;
	END $$`)
	e.execMerge(`GRANT CONNECT ON DATABASE ` + pgx.Identifier{e.mergeDB}.Sanitize() + ` TO merger`)
	b := e.open(m, "Store1")
	e.vars["MERGE_USER"] = "merger"
	res := e.mustIngest(m, "Store1", b)
	if res.Total != 1 {
		t.Errorf("result = %+v", res)
	}
}
