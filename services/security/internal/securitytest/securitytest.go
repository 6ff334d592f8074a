// Package securitytest gives the security service's tests and benchmarks a real merge database:
// a fresh PostgreSQL database with the security and merge logins of security.md §2 (made as an
// operator would), consumer LOGIN roles, the Yellow platform tables and workspace views of a
// model built with platforms/yellow (as the merge service builds them, SET ROLEd to the owner),
// sample rows, a versioned model source and cleanup of every role the test made or the service
// created.
package securitytest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/datasurface/datasurface/kit/pgtest"
	"github.com/datasurface/datasurface/platforms/yellow/hashing"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/security/internal/mergeside"
	"github.com/datasurface/datasurface/services/security/internal/modelsrc"
	"github.com/jackc/pgx/v5"
)

// Env is one test database.
type Env struct {
	T        testing.TB
	AdminDSN string
	DB       string
	Admin    *pgx.Conn

	mu    sync.Mutex
	roles []string
	conns map[string]*pgx.Conn
}

// New creates a database and registers the cleanup of the roles made in it.
func New(t testing.TB) *Env {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{T: t, AdminDSN: dsn, DB: strings.TrimPrefix(u.Path, "/"), conns: map[string]*pgx.Conn{}}
	e.Admin = e.connect("postgres")
	// Registered after the database's cleanup, so it runs first (while the database exists).
	t.Cleanup(e.cleanup)
	return e
}

// DSNAs returns the database's connection string for user (the test cluster trusts every
// local login).
func (e *Env) DSNAs(user string) string {
	u, err := url.Parse(e.AdminDSN)
	if err != nil {
		e.T.Fatal(err)
	}
	u.User = url.User(user)
	return u.String()
}

func (e *Env) connect(user string) *pgx.Conn {
	e.T.Helper()
	cfg, err := pgx.ParseConfig(e.DSNAs(user))
	if err != nil {
		e.T.Fatal(err)
	}
	for k, v := range hashing.SessionSettings() {
		cfg.RuntimeParams[k] = v
	}
	cfg.RuntimeParams["search_path"] = ""
	c, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		e.T.Fatalf("connect as %q: %v", user, err)
	}
	return c
}

// Conn returns a (cached) session of user; closed at cleanup.
func (e *Env) Conn(user string) *pgx.Conn {
	e.T.Helper()
	e.mu.Lock()
	c, ok := e.conns[user]
	e.mu.Unlock()
	if ok && !c.IsClosed() {
		return c
	}
	c = e.connect(user)
	e.mu.Lock()
	e.conns[user] = c
	e.mu.Unlock()
	return c
}

// Exec runs statements as the superuser.
func (e *Env) Exec(stmts ...string) {
	e.T.Helper()
	for _, s := range stmts {
		if _, err := e.Admin.Exec(context.Background(), s); err != nil {
			e.T.Fatalf("%s: %v", s, err)
		}
	}
}

// Q quotes an identifier.
func Q(parts ...string) string { return pgx.Identifier(parts).Sanitize() }

// CreateRole creates a role (as the superuser) with the given options and tracks it for
// cleanup; it is dropped first when a previous test left it behind.
func (e *Env) CreateRole(name, options string) {
	e.T.Helper()
	e.mu.Lock()
	e.roles = append(e.roles, name)
	e.mu.Unlock()
	e.dropRoles([]string{name})
	e.Exec("CREATE ROLE " + Q(name) + " " + options)
}

// SecurityLogin creates the security login of security.md §2: LOGIN CREATEROLE, CREATE and
// CONNECT (with grant option) on the database. It returns its connection string.
func (e *Env) SecurityLogin(name string) string {
	e.CreateRole(name, "LOGIN CREATEROLE")
	e.Exec("GRANT CREATE, CONNECT ON DATABASE " + Q(e.DB) + " TO " + Q(name) + " WITH GRANT OPTION")
	return e.DSNAs(name)
}

// Logins creates LOGIN roles.
func (e *Env) Logins(names ...string) {
	for _, n := range names {
		e.CreateRole(n, "LOGIN")
	}
}

func (e *Env) cleanup() {
	ctx := context.Background()
	e.mu.Lock()
	for _, c := range e.conns {
		_ = c.Close(ctx)
	}
	roles := slices.Clone(e.roles)
	e.mu.Unlock()
	rows, err := e.Admin.Query(ctx, `SELECT r.rolname::text FROM pg_catalog.pg_roles r
JOIN pg_catalog.pg_shdescription d ON d.objoid = r.oid AND d.classoid = 'pg_catalog.pg_authid'::pg_catalog.regclass
WHERE d.description LIKE 'datasurface:managed %'`)
	if err == nil {
		managed, _ := pgx.CollectRows(rows, pgx.RowTo[string])
		roles = append(roles, managed...)
	}
	_ = e.Admin.Close(ctx)
	// Drop the database first (everything the roles own or hold goes with it), then the roles
	// (they are cluster-wide and would leak into the next test).
	u, err := url.Parse(e.AdminDSN)
	if err != nil {
		e.T.Logf("cleanup: %v", err)
		return
	}
	u.Path = "/postgres"
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		e.T.Logf("cleanup: %v", err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+Q(e.DB)+" WITH (FORCE)"); err != nil {
		e.T.Logf("cleanup: drop database: %v", err)
	}
	for _, n := range roles {
		if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+Q(n)); err != nil {
			e.T.Logf("cleanup: drop role %q: %v", n, err)
		}
	}
}

// dropRoles drops roles and everything they own or hold in this database.
func (e *Env) dropRoles(names []string) {
	ctx := context.Background()
	var existing []string
	for _, n := range names {
		var ok bool
		if err := e.Admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1)`, n).Scan(&ok); err == nil && ok && !slices.Contains(existing, n) {
			existing = append(existing, n)
		}
	}
	if len(existing) == 0 {
		return
	}
	// One role at a time: DROP OWNED BY of an owner and a grantee of the same default
	// privilege in one statement trips over the shared pg_default_acl row.
	for _, n := range existing {
		if _, err := e.Admin.Exec(ctx, "DROP OWNED BY "+Q(n)+" CASCADE"); err != nil {
			e.T.Logf("cleanup: drop owned by %q: %v", n, err)
		}
	}
	for _, n := range existing {
		if _, err := e.Admin.Exec(ctx, "DROP ROLE "+Q(n)); err != nil {
			e.T.Logf("cleanup: drop role %q: %v", n, err)
		}
	}
}

// InOwnerTx runs f in a transaction of login SET ROLEd to owner (how the merge service makes
// platform objects, yellow.md §1).
func (e *Env) InOwnerTx(login, owner string, f func(ctx context.Context, tx pgx.Tx) error) {
	e.T.Helper()
	ctx := context.Background()
	conn := e.Conn(login)
	tx, err := conn.Begin(ctx)
	if err != nil {
		e.T.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+Q(owner)); err != nil {
		e.T.Fatalf("set role %s as %s: %v", owner, login, err)
	}
	if err := f(ctx, tx); err != nil {
		e.T.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		e.T.Fatal(err)
	}
}

// Platform describes the merge-side objects of one platform of a model (package mergeside).
type Platform = mergeside.Platform

// ViewSpec is one desired view (package mergeside).
type ViewSpec = mergeside.ViewSpec

// PlatformOf derives the tables of platform d of m.
func PlatformOf(m *modelv1.Model, d string) (*Platform, error) { return mergeside.PlatformOf(m, d) }

// Views lists the views the model wants on platform p (yellow.md §12), as the merge service
// derives them.
func Views(m *modelv1.Model, p *Platform) []ViewSpec { return mergeside.Views(m, p) }

// SampleValue is a non-NULL literal for physical type typ ("" when unknown).
func SampleValue(typ string) string { return mergeside.SampleValue(typ) }

// BuildTables creates every table of p (the schemas exist: the security service made them) as
// login SET ROLEd to the owner, with one sample row each.
func (e *Env) BuildTables(p *Platform, login string) {
	e.InOwnerTx(login, naming.OwnerRole(p.Name), func(ctx context.Context, tx pgx.Tx) error {
		return mergeside.BuildTables(ctx, tx, p)
	})
}

// ReconcileViews brings the views of every workspace schema of p to the model (create, replace,
// drop managed views no longer wanted) as login SET ROLEd to the owner.
func (e *Env) ReconcileViews(m *modelv1.Model, p *Platform, login string) {
	e.InOwnerTx(login, naming.OwnerRole(p.Name), func(ctx context.Context, tx pgx.Tx) error {
		return mergeside.ReconcileViews(ctx, tx, m, p)
	})
}

// Relation is a table or view of the database.
type Relation struct {
	Schema, Name, Kind, Comment string
}

// QName is "schema.name".
func (r Relation) QName() string { return r.Schema + "." + r.Name }

// Relations lists every table and view outside the system schemas.
func (e *Env) Relations() []Relation {
	e.T.Helper()
	rows, err := e.Admin.Query(context.Background(), `SELECT n.nspname::text, c.relname::text, c.relkind::text,
  coalesce(pg_catalog.obj_description(c.oid, 'pg_class'), '')
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'v', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
ORDER BY 1, 2`)
	if err != nil {
		e.T.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Relation, error) {
		var x Relation
		return x, r.Scan(&x.Schema, &x.Name, &x.Kind, &x.Comment)
	})
	if err != nil {
		e.T.Fatal(err)
	}
	return out
}

// CanSelect connects as user and tries SELECT * FROM the relation.
func (e *Env) CanSelect(user string, r Relation) (bool, error) {
	ctx := context.Background()
	_, err := e.Conn(user).Exec(ctx, "SELECT * FROM "+Q(r.Schema, r.Name)+" LIMIT 1")
	if err == nil {
		return true, nil
	}
	if strings.Contains(err.Error(), "permission denied") {
		return false, nil
	}
	return false, err
}

// Row reads the first row of a relation as user, column name → text value (nil for NULL).
func (e *Env) Row(user string, schema, name string) (map[string]*string, error) {
	ctx := context.Background()
	rows, err := e.Conn(user).Query(ctx, "SELECT * FROM "+Q(schema, name)+" LIMIT 1", pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, errors.New("no rows")
	}
	vals := rows.RawValues()
	out := map[string]*string{}
	for i, f := range rows.FieldDescriptions() {
		if vals[i] == nil {
			out[f.Name] = nil
		} else {
			s := string(vals[i])
			out[f.Name] = &s
		}
	}
	return out, rows.Err()
}

// Models is a versioned model source for tests: Add appends a version.
type Models struct {
	mu       sync.Mutex
	versions []*modelsrc.Version
}

// Add appends m as the next version and returns its number.
func (ms *Models) Add(m *modelv1.Model) int64 {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	v := int64(len(ms.versions) + 1)
	ms.versions = append(ms.versions, &modelsrc.Version{Number: v, Digest: fmt.Sprintf("sha256:test%d", v), Model: m})
	return v
}

// AddVersion appends a version with a source map.
func (ms *Models) AddVersion(mv *modelsrc.Version) int64 {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	mv.Number = int64(len(ms.versions) + 1)
	ms.versions = append(ms.versions, mv)
	return mv.Number
}

// Model implements modelsrc.Source.
func (ms *Models) Model(_ context.Context, v int64) (*modelsrc.Version, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if v == 0 {
		v = int64(len(ms.versions))
	}
	if v < 1 || v > int64(len(ms.versions)) {
		return nil, fmt.Errorf("%w: %d", modelsrc.ErrVersionNotFound, v)
	}
	return ms.versions[v-1], nil
}

// Env returns a LookupEnv over vars.
func EnvLookup(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}
