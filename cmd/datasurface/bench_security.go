package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/datasurface/datasurface/kit/pgcluster"
	"github.com/datasurface/datasurface/services/security/benchsec"
	"github.com/jackc/pgx/v5"
)

// Targets of the security issue (issue 6, spec/security.md §9).
const (
	secWorkspaces      = 1000
	secViewsPerWS      = 10
	secFirstApplyLimit = 10 * time.Second
	secNoopLimit       = 1 * time.Second
	// secWorkspacesEnv overrides the number of workspaces (a quick run; the limits are for
	// 1,000).
	secWorkspacesEnv = "DATASURFACE_BENCH_SECURITY_WORKSPACES"
)

func init() {
	benchSuites["security"] = benchSuite{
		summary: "security: 1,000 workspaces × 10 views (one consumer each) on one Yellow platform whose tables, schemas and views exist — the first apply of every role, grant and membership, then no-op reconciles (own PostgreSQL; " + secWorkspacesEnv + " sets the workspaces)",
		run:     benchSecurity,
	}
}

func benchSecurity(ctx context.Context, c *cli, o benchOptions) error {
	w := c.stdout
	workspaces := secWorkspaces
	if v := os.Getenv(secWorkspacesEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return usageErrorf("bench security: %s=%q is not a number of workspaces", secWorkspacesEnv, v)
		}
		workspaces = n
	}
	loadBefore := loadAverage()
	cl, err := pgcluster.Open(ctx, filepath.Join(o.root, "pg"), pgcluster.Options{})
	if err != nil {
		return cannotRun(fmt.Errorf("bench security: PostgreSQL: %w", err))
	}
	if err := cl.Start(ctx); err != nil {
		return cannotRun(fmt.Errorf("bench security: start PostgreSQL: %w", err))
	}
	defer func() { _ = cl.Stop(context.WithoutCancel(ctx)) }()
	admin, err := pgx.Connect(ctx, cl.DSN("postgres"))
	if err != nil {
		return cannotRun(fmt.Errorf("bench security: connect to PostgreSQL: %w", err))
	}
	_, err = admin.Exec(ctx, "CREATE DATABASE ds_merge ENCODING 'UTF8'")
	_ = admin.Close(context.WithoutCancel(ctx))
	if err != nil {
		return cannotRun(fmt.Errorf("bench security: create the merge database: %w", err))
	}

	fmt.Fprintf(w, "bench security: %d workspaces × %d views, one consumer each, one Yellow platform (tables, workspace schemas and views made first, as the merge service would)\n",
		workspaces, secViewsPerWS)
	res, err := benchsec.Run(ctx, benchsec.Options{
		DSN: cl.DSN("ds_merge"), Dir: o.root, Workspaces: workspaces, ViewsPerWorkspace: secViewsPerWS, NoopRuns: 5 * o.runs,
		Progress: func(line string) { fmt.Fprintf(w, "    %s\n", line) },
	})
	if err != nil {
		return cannotRun(fmt.Errorf("bench security: %w", err))
	}
	fmt.Fprintf(w, "  first apply: %d actions (roles, schema and view grants, default privileges, memberships) for %d views, in one transaction with its re-diff\n",
		res.FirstActions, res.Views)
	ok := true
	ok = benchLine(w, "security.first_apply", res.First.Seconds(), secFirstApplyLimit.Seconds(), "s") && ok
	ok = benchLine(w, "security.noop_reconcile (mean)", res.Noop.Seconds(), secNoopLimit.Seconds(), "s") && ok
	fmt.Fprintf(w, "  (no-op: %d runs, min %s, max %s; GOMAXPROCS=%d; 1-minute load average %s before, %s after; the limits are for %d workspaces)\n",
		res.NoopRuns, res.NoopMin.Round(time.Millisecond), res.NoopMax.Round(time.Millisecond), runtime.GOMAXPROCS(0),
		loadFigure(loadBefore), loadFigure(loadAverage()), secWorkspaces)
	if !ok {
		return &exitError{Code: exitProblems}
	}
	return nil
}

// loadFigure is the number of a loadAverage text ("?" when unknown).
func loadFigure(s string) string {
	if s == "" {
		return "?"
	}
	return strings.TrimPrefix(s, "; load average ")
}
