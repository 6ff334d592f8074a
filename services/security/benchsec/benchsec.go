// Package benchsec measures the security service the way issue 6 asks (`datasurface bench
// --suite security` and BenchmarkApply): a generated model of Options.Workspaces workspaces with
// Options.ViewsPerWorkspace sinks each and one consumer each, on one Yellow platform whose merge
// database already holds — as the merge service would have made them before any grant exists —
// the platform tables, every workspace schema and every view. It times the first apply of the
// full model (group roles, default privileges, CONNECT, every view grant and membership, in one
// transaction with its verification re-diff) and then no-op reconciles (read, diff, empty plan).
//
// The caller owns the database: Run gets a superuser connection string of an empty database,
// creates the security and merge logins and the consumers (cluster-wide roles) and DropRoles
// removes every role Run or the service created.
package benchsec

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/datasurface/datasurface/model/load"
	"github.com/datasurface/datasurface/model/modeltest"
	"github.com/datasurface/datasurface/platforms/yellow/hashing"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/security"
	"github.com/datasurface/datasurface/services/security/internal/mergeside"
	"github.com/datasurface/datasurface/services/security/internal/modelsrc"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
)

// Logins Run creates (cluster-wide roles; DropRoles removes them).
const (
	SecurityLogin  = "bench_sec_login"
	MergeLogin     = "bench_merge_login"
	consumerPrefix = "bench_c"
)

// Options configure a run.
type Options struct {
	// DSN is a superuser connection string of an empty database on a server that lets every
	// local role log in without a password (the test and bench clusters).
	DSN string
	// Dir is a scratch directory for the generated model.
	Dir string
	// Workspaces (default 1,000) and ViewsPerWorkspace (default 10, at most 10).
	Workspaces, ViewsPerWorkspace int
	// NoopRuns is how many no-op reconciles are timed (default 5).
	NoopRuns int
	// Progress, when set, receives a line per step.
	Progress func(line string)
}

// Result holds the figures.
type Result struct {
	Workspaces, Views int
	// Setup is the time the merge-side objects took (not part of the figures).
	Setup time.Duration
	// First is the first apply of the full model; FirstActions its action count.
	First        time.Duration
	FirstActions int
	// Noop is the mean of NoopRuns no-op reconciles; NoopMin and NoopMax their range.
	Noop, NoopMin, NoopMax time.Duration
	NoopRuns               int
}

func (o *Options) defaults() {
	if o.Workspaces <= 0 {
		o.Workspaces = 1000
	}
	if o.ViewsPerWorkspace <= 0 {
		o.ViewsPerWorkspace = 10
	}
	if o.NoopRuns <= 0 {
		o.NoopRuns = 5
	}
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
}

// models is a two-version model source: 1 without assignments, 2 the full model.
type models []*modelsrc.Version

func (ms models) Model(_ context.Context, v int64) (*modelsrc.Version, error) {
	if v == 0 {
		v = int64(len(ms))
	}
	if v < 1 || v > int64(len(ms)) {
		return nil, fmt.Errorf("%w: %d", modelsrc.ErrVersionNotFound, v)
	}
	return ms[v-1], nil
}

// Run sets up the platform and measures the first apply and the no-op reconciles.
func Run(ctx context.Context, o Options) (Result, error) {
	o.defaults()
	if o.ViewsPerWorkspace > 10 {
		return Result{}, errors.New("benchsec: at most 10 views per workspace")
	}
	res := Result{Workspaces: o.Workspaces, NoopRuns: o.NoopRuns}
	full, err := generate(o)
	if err != nil {
		return res, err
	}
	admin, err := connect(ctx, o.DSN, "")
	if err != nil {
		return res, err
	}
	defer admin.Close(context.WithoutCancel(ctx))
	var db string
	if err := admin.QueryRow(ctx, "SELECT pg_catalog.current_database()::text").Scan(&db); err != nil {
		return res, fmt.Errorf("benchsec: %w", err)
	}
	// The operator's prerequisites (security.md §2) and one consumer per workspace.
	stmts := []string{
		"CREATE ROLE " + mergeside.Q(SecurityLogin) + " LOGIN CREATEROLE",
		"GRANT CREATE, CONNECT ON DATABASE " + mergeside.Q(db) + " TO " + mergeside.Q(SecurityLogin) + " WITH GRANT OPTION",
		"CREATE ROLE " + mergeside.Q(MergeLogin) + " LOGIN",
		"GRANT CREATE ON DATABASE " + mergeside.Q(db) + " TO " + mergeside.Q(MergeLogin),
	}
	for i, w := range full.GetWorkspaces() {
		c := fmt.Sprintf("%s%04d", consumerPrefix, i)
		w.Access.Consumers = []string{c}
		stmts = append(stmts, "CREATE ROLE "+mergeside.Q(c)+" LOGIN")
	}
	if _, err := admin.Exec(ctx, strings.Join(stmts, ";\n")); err != nil {
		return res, fmt.Errorf("benchsec: create logins: %w", err)
	}

	noWorkspaces := proto.Clone(full).(*modelv1.Model)
	noWorkspaces.Assignments = nil
	ms := models{{Number: 1, Digest: "sha256:bench1", Model: noWorkspaces}, {Number: 2, Digest: "sha256:bench2", Model: full}}
	secDSN, err := dsnAs(o.DSN, SecurityLogin)
	if err != nil {
		return res, err
	}
	vars := map[string]string{"YELLOWLIVE_MERGE_USER": MergeLogin, "YELLOWLIVE_MERGE_PASSWORD": "unused"}
	svc, err := security.New(security.Config{DSN: secDSN, DriftInterval: -1, Instance: "bench"}, security.Deps{
		Log: slog.New(slog.DiscardHandler), Models: ms,
		Secrets: security.CredentialStores(func(k string) (string, bool) { v, ok := vars[k]; return v, ok }),
	})
	if err != nil {
		return res, err
	}
	defer svc.Close()
	acts := svc.Activities()
	const d = modeltest.PlatformName

	// Setup, not timed: the owner role and the platform schema (an apply of a model without
	// assignments), then the merge service's tables, workspace schemas and views.
	setup := time.Now()
	if _, err := acts.ApplyGrants(ctx, security.ApplyGrantsInput{Platform: d, ModelVersion: 1}); err != nil {
		return res, fmt.Errorf("benchsec: owner role and platform schema: %w", err)
	}
	p, err := mergeside.PlatformOf(full, d)
	if err != nil {
		return res, err
	}
	res.Views = len(mergeside.Views(full, p))
	merge, err := connect(ctx, o.DSN, MergeLogin)
	if err != nil {
		return res, err
	}
	defer merge.Close(context.WithoutCancel(ctx))
	err = pgx.BeginFunc(ctx, merge, func(tx pgx.Tx) error {
		// The merge service creates missing workspace schemas as its login, owned by the owner
		// (yellow.md §12), then works SET ROLEd to the owner.
		owner := mergeside.Q(naming.OwnerRole(d))
		var schemas []string
		for _, w := range full.GetWorkspaces() {
			s := naming.WorkspaceSchema(d, w.GetName())
			schemas = append(schemas, "CREATE SCHEMA "+mergeside.Q(s)+" AUTHORIZATION "+owner,
				"COMMENT ON SCHEMA "+mergeside.Q(s)+" IS 'datasurface:managed kind=workspace platform="+d+" workspace="+w.GetName()+"'")
		}
		if _, err := tx.Exec(ctx, strings.Join(schemas, ";\n")); err != nil {
			return fmt.Errorf("workspace schemas: %w", err)
		}
		if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+owner); err != nil {
			return err
		}
		if err := mergeside.BuildTables(ctx, tx, p); err != nil {
			return err
		}
		return mergeside.ReconcileViews(ctx, tx, full, p)
	})
	if err != nil {
		return res, fmt.Errorf("benchsec: merge-side objects: %w", err)
	}
	res.Setup = time.Since(setup)
	o.Progress(fmt.Sprintf("setup: %d workspace schemas and %d views made by the owner in %s (not timed)", o.Workspaces, res.Views, res.Setup.Round(time.Millisecond)))

	start := time.Now()
	first, err := acts.ApplyGrants(ctx, security.ApplyGrantsInput{Platform: d, ModelVersion: 2})
	res.First = time.Since(start)
	if err != nil {
		return res, fmt.Errorf("benchsec: first apply: %w", err)
	}
	res.FirstActions = first.Actions
	o.Progress(fmt.Sprintf("first apply: %d actions in %s", first.Actions, res.First.Round(time.Millisecond)))
	var total time.Duration
	for i := range o.NoopRuns {
		start := time.Now()
		r, err := acts.ApplyGrants(ctx, security.ApplyGrantsInput{Platform: d, ModelVersion: 2})
		dur := time.Since(start)
		if err != nil {
			return res, fmt.Errorf("benchsec: no-op reconcile: %w", err)
		}
		if r.Actions != 0 {
			return res, fmt.Errorf("benchsec: the no-op reconcile applied %d actions", r.Actions)
		}
		total += dur
		if i == 0 || dur < res.NoopMin {
			res.NoopMin = dur
		}
		res.NoopMax = max(res.NoopMax, dur)
	}
	res.Noop = total / time.Duration(o.NoopRuns)
	o.Progress(fmt.Sprintf("no-op reconcile: mean %s over %d (min %s, max %s)", res.Noop.Round(time.Millisecond), o.NoopRuns,
		res.NoopMin.Round(time.Millisecond), res.NoopMax.Round(time.Millisecond)))
	return res, nil
}

// DropRoles removes every role Run made or the service created (managed by the marker), with
// the managed schemas and everything else they own or hold in the database of dsn (a superuser
// connection string), so the cluster can be reused.
func DropRoles(ctx context.Context, dsn string) error {
	conn, err := connect(ctx, dsn, "")
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `SELECT r.rolname::text FROM pg_catalog.pg_roles r
LEFT JOIN pg_catalog.pg_shdescription d ON d.objoid = r.oid AND d.classoid = 'pg_catalog.pg_authid'::pg_catalog.regclass
WHERE d.description LIKE 'datasurface:managed %' OR r.rolname IN ($1, $2) OR r.rolname LIKE $3
ORDER BY 1`, SecurityLogin, MergeLogin, consumerPrefix+"%")
	if err != nil {
		return fmt.Errorf("benchsec: list roles: %w", err)
	}
	roles, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("benchsec: list roles: %w", err)
	}
	var errs []error
	// Managed schemas first, one per statement: dropping 10,000 views in one transaction runs
	// out of lock slots.
	srows, err := conn.Query(ctx, `SELECT n.nspname::text FROM pg_catalog.pg_namespace n
WHERE pg_catalog.obj_description(n.oid, 'pg_namespace') LIKE 'datasurface:managed %' ORDER BY 1`)
	if err != nil {
		return fmt.Errorf("benchsec: list schemas: %w", err)
	}
	schemas, err := pgx.CollectRows(srows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("benchsec: list schemas: %w", err)
	}
	for _, s := range schemas {
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+mergeside.Q(s)+" CASCADE"); err != nil {
			errs = append(errs, fmt.Errorf("drop schema %s: %w", s, err))
		}
	}
	// One role at a time: DROP OWNED BY of an owner and a grantee of the same default privilege
	// in one statement trips over the shared pg_default_acl row.
	for _, r := range roles {
		if _, err := conn.Exec(ctx, "DROP OWNED BY "+mergeside.Q(r)+" CASCADE"); err != nil {
			errs = append(errs, fmt.Errorf("drop owned by %s: %w", r, err))
		}
	}
	for i := 0; i < len(roles); i += 200 {
		var qs []string
		for _, r := range roles[i:min(i+200, len(roles))] {
			qs = append(qs, mergeside.Q(r))
		}
		if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+strings.Join(qs, ", ")); err != nil {
			errs = append(errs, fmt.Errorf("drop roles: %w", err))
		}
	}
	return errors.Join(errs...)
}

// generate writes and loads the model: one datastore of 10 datasets, Workspaces workspaces of
// ViewsPerWorkspace sinks each, all assigned to the platform.
func generate(o Options) (*modelv1.Model, error) {
	dir := filepath.Join(o.Dir, "model")
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := modeltest.Generate(dir, modeltest.Config{
		Zones: 1, TeamsPerZone: 1, Datastores: 1, DatasetsPerDatastore: 10, ColumnsPerDataset: 6,
		Workspaces: o.Workspaces, SinksPerWorkspace: o.ViewsPerWorkspace, Seed: 1,
	}); err != nil {
		return nil, fmt.Errorf("benchsec: generate model: %w", err)
	}
	res, err := load.Dir(dir, load.Options{})
	if err != nil {
		return nil, fmt.Errorf("benchsec: load model: %w", err)
	}
	if len(res.Problems) > 0 {
		return nil, fmt.Errorf("benchsec: the generated model has problems: %v", res.Problems[0])
	}
	return res.Model, nil
}

// connect opens a session of user ("" = the DSN's) with the service's session settings.
func connect(ctx context.Context, dsn, user string) (*pgx.Conn, error) {
	if user != "" {
		var err error
		if dsn, err = dsnAs(dsn, user); err != nil {
			return nil, err
		}
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, errors.New("benchsec: the connection string cannot be parsed")
	}
	for k, v := range hashing.SessionSettings() {
		cfg.RuntimeParams[k] = v
	}
	cfg.RuntimeParams["search_path"] = ""
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("benchsec: connect as %q: %w", cfg.User, err)
	}
	return c, nil
}

func dsnAs(dsn, user string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", errors.New("benchsec: the connection string cannot be parsed")
	}
	u.User = url.User(user)
	return u.String(), nil
}
