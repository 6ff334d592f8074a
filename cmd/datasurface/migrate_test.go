package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/datasurface/datasurface/kit/pg"
	"github.com/datasurface/datasurface/kit/pgtest"
)

// TestMigrate runs `datasurface migrate` against a fresh Postgres database: every service's
// schema is created with its tables, a second run (through the environment) changes nothing,
// and serve's modelsvc starts on the migrated database.
func TestMigrate(t *testing.T) {
	dsn := pgtest.NewDatabase(t)

	stdout, stderr, code := runCLI(t, "migrate", "--database", dsn)
	if code != 0 {
		t.Fatalf("migrate: exit code %d; stderr: %s", code, stderr)
	}
	if want := "modelsvc: schema \"modelsvc\" is up to date\n"; stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	pool, err := pg.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	applied := func() (n int, at time.Time) {
		t.Helper()
		if err := pool.QueryRow(ctx, "SELECT count(*), max(applied_at) FROM modelsvc.schema_migrations").Scan(&n, &at); err != nil {
			t.Fatal(err)
		}
		return n, at
	}
	n, at := applied()
	if n == 0 {
		t.Fatal("modelsvc.schema_migrations is empty after migrate")
	}
	var table *string
	if err := pool.QueryRow(ctx, "SELECT to_regclass('modelsvc.proposals')::text").Scan(&table); err != nil {
		t.Fatal(err)
	}
	if table == nil {
		t.Error("table modelsvc.proposals does not exist after migrate")
	}

	// Again, with the DSN from the environment: idempotent.
	var out, errb strings.Builder
	c := &cli{stdout: &out, stderr: &errb, getenv: func(k string) string {
		if k == "DATASURFACE_DATABASE" {
			return dsn
		}
		return ""
	}}
	if code := exitCode(c.run(t.Context(), []string{"migrate"}), &errb); code != 0 {
		t.Fatalf("migrate again (env): exit code %d; stderr: %s", code, errb.String())
	}
	if n2, at2 := applied(); n2 != n || !at2.Equal(at) {
		t.Errorf("second migrate changed schema_migrations: %d rows (last %s), was %d (last %s)", n2, at2, n, at)
	}
}

func TestMigrateUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{name: "no database", args: nil, wantCode: 2, wantStderr: "migrate: --database (or DATASURFACE_DATABASE) is required"},
		{name: "argument", args: []string{"--database", "postgres://x", "extra"}, wantCode: 2, wantStderr: `unexpected argument "extra"`},
		{name: "bad dsn", args: []string{"--database", "postgres://u:secretpw@127.0.0.1:1/db?connect_timeout=1"}, wantCode: 2, wantStderr: "migrate: postgres:"},
		{name: "help", args: []string{"-h"}, wantStderr: "DATASURFACE_DATABASE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, append([]string{"migrate"}, tt.args...)...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr: %s", code, tt.wantCode, stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantStderr)
			}
			if strings.Contains(stderr, "secretpw") {
				t.Errorf("stderr shows the password: %s", stderr)
			}
		})
	}
}
