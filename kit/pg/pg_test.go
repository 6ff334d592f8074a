package pg_test

import (
	"errors"
	"os"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/datasurface/datasurface/kit/pg"
	"github.com/datasurface/datasurface/kit/pgtest"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Shutdown()
	os.Exit(code)
}

var migrations = fstest.MapFS{
	"migrations/0001_create.sql": {Data: []byte("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);")},
	"migrations/0002_seed.sql":   {Data: []byte("INSERT INTO items VALUES (1, 'one');")},
	"migrations/README.md":       {Data: []byte("not a migration")},
}

func TestMigrateAppliesOnceEvenConcurrently(t *testing.T) {
	ctx := t.Context()
	pool, err := pg.Connect(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ms, err := pg.LoadMigrations(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = pg.Migrate(ctx, pool, "svc", ms) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	var names []string
	rows, _ := pool.Query(ctx, "SELECT name FROM svc.items ORDER BY id")
	names, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"one"}, names); diff != "" {
		t.Fatalf("items (-want +got):\n%s", diff)
	}
	var versions []int
	rows, _ = pool.Query(ctx, "SELECT version FROM svc.schema_migrations ORDER BY version")
	versions, err = pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{1, 2}, versions); diff != "" {
		t.Fatalf("versions (-want +got):\n%s", diff)
	}
}

func TestLoadMigrationsRejectsBadNames(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"no number":    {"m/create.sql": {Data: []byte("x")}},
		"same version": {"m/0001_a.sql": {Data: []byte("x")}, "m/01_b.sql": {Data: []byte("y")}},
		"zero version": {"m/0000_a.sql": {Data: []byte("x")}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := pg.LoadMigrations(fsys, "m"); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestInTxRollsBackOnError(t *testing.T) {
	ctx := t.Context()
	pool, err := pg.Connect(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, "CREATE TABLE t (id int)"); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err = pg.InTx(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO t VALUES (1)"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("rows after rollback = %d, want 0", n)
	}
}
