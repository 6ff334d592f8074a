package main

import (
	"context"
	"fmt"

	"github.com/datasurface/datasurface/kit/pg"
	"github.com/datasurface/datasurface/services/modelsvc"
	"github.com/jackc/pgx/v5/pgxpool"
)

const migrateSynopsis = `datasurface migrate --database <dsn>

Applies the embedded control-plane migrations of every service to the control-plane Postgres
database and exits (DESIGN.md §4: one schema per service that needs one). Run it before
starting a new version (the Kubernetes migration Job does); it is idempotent and safe to run
concurrently (each schema migrates under an advisory lock). The merge databases of Yellow
platforms are not touched: the merge service reconciles them from the model.`

// migration is the control-plane migration of one service.
type migration struct {
	service string
	schema  string
	migrate func(context.Context, *pgxpool.Pool) error
}

// migrations lists every service with a control-plane schema, in the order of the services
// table. validator, scheduler, ingest, merge and security keep no control-plane tables (their
// state is in NATS, Temporal or the platforms' merge databases).
var migrations = []migration{
	{service: "modelsvc", schema: modelsvc.DefaultSchema, migrate: modelsvc.Migrate},
}

func (c *cli) migrate(ctx context.Context, args []string) error {
	fs := c.newFlagSet("migrate", migrateSynopsis)
	dsn := fs.String("database", "", "the connection string (`dsn`) of the control-plane Postgres database")
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		writeEnvUsage(fs.Output(), fs)
	}
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("migrate: unexpected argument %q", fs.Arg(0))
	}
	if err := applyEnv(fs, c.getenv); err != nil {
		return err
	}
	if *dsn == "" {
		return usageErrorf("migrate: --database (or %s) is required", envName("database"))
	}
	pool, err := pg.Connect(ctx, *dsn)
	if err != nil {
		return cannotRun(fmt.Errorf("migrate: postgres: %w", err))
	}
	defer pool.Close()
	for _, m := range migrations {
		if err := m.migrate(ctx, pool); err != nil {
			return cannotRun(fmt.Errorf("migrate: %w", err))
		}
		if _, err := fmt.Fprintf(c.stdout, "%s: schema %q is up to date\n", m.service, m.schema); err != nil {
			return err
		}
	}
	return nil
}
