// Package pgtest gives tests a real PostgreSQL server: one cluster per test binary, started from
// the system binaries on first use, and a fresh database per test. Without PostgreSQL the test
// is skipped locally and fails when the CI environment variable is set.
package pgtest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/datasurface/datasurface/kit/pgcluster"
	"github.com/jackc/pgx/v5"
)

var (
	once    sync.Once
	shared  *pgcluster.Cluster
	initErr error
	dbSeq   atomic.Int64
)

// Cluster returns the shared cluster of this test binary, starting it on first use. Call
// Shutdown from TestMain after m.Run to stop it.
func Cluster(t testing.TB) *pgcluster.Cluster {
	t.Helper()
	once.Do(func() {
		if _, err := pgcluster.FindBinaries(); err != nil {
			initErr = err
			return
		}
		dir, err := os.MkdirTemp("", "pgtest-")
		if err != nil {
			initErr = err
			return
		}
		ctx := context.Background()
		c, err := pgcluster.Open(ctx, dir, pgcluster.Options{})
		if err == nil {
			err = c.Start(ctx)
		}
		if err != nil {
			initErr = err
			_ = os.RemoveAll(dir)
			return
		}
		shared = c
	})
	if initErr != nil {
		Missing(t, "PostgreSQL", initErr)
	}
	return shared
}

// Shutdown stops the shared cluster and removes its directory; TestMain calls it.
func Shutdown() {
	if shared == nil {
		return
	}
	_ = shared.Stop(context.Background())
	_ = os.RemoveAll(shared.Dir)
}

// NewDatabase creates an empty database for this test and returns its connection string; the
// database is dropped when the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	c := Cluster(t)
	name := fmt.Sprintf("t%d_%s", dbSeq.Add(1), sanitize(t.Name()))
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		t.Fatalf("connect to test cluster: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, c.DSN("postgres"))
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	})
	return c.DSN(name)
}

// Missing skips the test because a component is missing, or fails it when CI is set.
func Missing(t testing.TB, component string, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required when CI is set: %v", component, err)
	}
	t.Skipf("%s not available: %v", component, err)
}

func sanitize(s string) string {
	s = strings.ToLower(s)
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(b) < 40; i++ {
		c := s[i]
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b = append(b, c)
		} else {
			b = append(b, '_')
		}
	}
	return string(b)
}
