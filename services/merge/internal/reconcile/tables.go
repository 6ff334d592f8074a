// Package reconcile brings a Yellow merge database to what a model version wants: the platform
// schema, bookkeeping tables, the tables of every stream and transformer output (yellow.md §4,
// §10, §11) and the workspace views (§12). It plans with platforms/yellow/ddl and mergesql and
// executes each plan in one transaction, as the platform owner role when asked to.
package reconcile

import (
	"context"
	"fmt"
	"slices"

	"github.com/datasurface/datasurface/kit/pg"
	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/datasurface/datasurface/services/merge/internal/mergedb"
	"github.com/datasurface/datasurface/services/merge/internal/platform"
	"github.com/jackc/pgx/v5"
)

// TableChange is what reconciling one table changed (tables already as desired are not
// reported).
type TableChange struct {
	Table         naming.Name
	Created       bool
	Added         []string
	Widened       []ddl.Widening
	NullableAgain []string
	Indexes       []string
	Rehashed      bool
	// RecreatedViews are managed views dropped for a widening and created again in the same
	// transaction.
	RecreatedViews []naming.Name
}

// Options are how DDL runs.
type Options struct {
	// Role says when DDL transactions switch to the platform owner role (security.md §2).
	Role mergedb.RoleMode
}

// DB is a pool or a connection.
type DB interface {
	pg.Beginner
	ddl.Querier
}

// Platform creates the platform schema when it is missing and reconciles the bookkeeping tables,
// in one transaction serialized per platform.
func Platform(ctx context.Context, db DB, p *platform.Platform, o Options, c *Cache) ([]TableChange, error) {
	u, err := tablesUnit("platform:"+p.Name, layout.Bookkeeping(p.Name), o)
	if err != nil {
		return nil, err
	}
	return run(ctx, db, c, u, func(tx pgx.Tx) ([]TableChange, error) {
		if err := mergedb.LockPlatform(ctx, tx, p.Name, "tables"); err != nil {
			return nil, err
		}
		if err := ensureSchema(ctx, tx, p.Name, naming.PlatformSchema(p.Name), layout.SchemaComment(p.Name), o); err != nil {
			return nil, err
		}
		if err := mergedb.SetOwnerRole(ctx, tx, p.Name, o.Role); err != nil {
			return nil, err
		}
		return tables(ctx, tx, p, layout.Bookkeeping(p.Name))
	})
}

// Stream reconciles the tables of stream s (staging, CDC load, merge of every dataset) in one
// transaction on conn, which holds the stream's lock. Managed views dropped to widen a column
// are created again in the same transaction.
func Stream(ctx context.Context, conn *pgx.Conn, p *platform.Platform, s *platform.Stream, o Options, c *Cache) ([]TableChange, error) {
	var want []layout.Table
	for _, ds := range s.Datasets {
		want = append(want, ds.Tables()...)
	}
	u, err := tablesUnit("stream:"+p.Name+":"+s.Key, want, o)
	if err != nil {
		return nil, err
	}
	return run(ctx, conn, c, u, func(tx pgx.Tx) ([]TableChange, error) {
		if err := mergedb.SetOwnerRole(ctx, tx, p.Name, o.Role); err != nil {
			return nil, err
		}
		return tables(ctx, tx, p, want)
	})
}

// Outputs creates transformer t's output schema when missing and reconciles its output tables,
// in one transaction on conn.
func Outputs(ctx context.Context, conn *pgx.Conn, p *platform.Platform, t *platform.Transformer, o Options, c *Cache) ([]TableChange, error) {
	u, err := tablesUnit("outputs:"+p.Name+":"+t.Workspace, t.Outputs, o)
	if err != nil {
		return nil, err
	}
	return run(ctx, conn, c, u, func(tx pgx.Tx) ([]TableChange, error) {
		comment := "datasurface:managed kind=transformer_output platform=" + p.Name + " workspace=" + t.Workspace
		if err := ensureSchema(ctx, tx, p.Name, t.Schema, comment, o); err != nil {
			return nil, err
		}
		if err := mergedb.SetOwnerRole(ctx, tx, p.Name, o.Role); err != nil {
			return nil, err
		}
		return tables(ctx, tx, p, t.Outputs)
	})
}

// run reconciles unit u with f in one transaction unless the cache knows it is as desired; a
// transaction that changed nothing records the unit's signature.
func run(ctx context.Context, db DB, c *Cache, u unit, f func(tx pgx.Tx) ([]TableChange, error)) ([]TableChange, error) {
	if fresh, err := c.check(ctx, db, u); err != nil || fresh {
		return nil, err
	}
	var (
		out []TableChange
		sig string
	)
	err := pg.InTx(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, genericPlans); err != nil {
			return err
		}
		var err error
		if out, err = f(tx); err != nil {
			return err
		}
		if len(out) == 0 && c != nil {
			sig, err = signature(ctx, tx, u)
		}
		return err
	})
	switch {
	case err != nil:
		c.forget(u)
		return nil, err
	case len(out) == 0:
		c.store(u, sig)
	default:
		c.forget(u)
	}
	return out, nil
}

// ensureSchema creates schema s with its managed comment when it does not exist, owned by the
// platform owner when roles are used. It runs as the login (the owner role may lack CREATE on
// the database). A schema that exists with a comment of another owner is an error; one without a
// comment (made by an operator or the security service) is used as it is.
func ensureSchema(ctx context.Context, tx pgx.Tx, d, s, comment string, o Options) error {
	exists, have, err := ddl.ReadSchema(ctx, tx, s)
	if err != nil {
		return err
	}
	if exists {
		if have != "" && !ddl.IsManaged(have, d) {
			return &ddl.ConflictError{Table: naming.Name{Schema: s}, Reason: fmt.Sprintf("schema %s exists and is not managed by platform %s (comment %q)", s, d, have)}
		}
		return nil
	}
	owner, err := mergedb.Owner(ctx, tx, d, o.Role)
	if err != nil {
		return err
	}
	st, err := ddl.CreateSchema(s, owner, comment)
	if err != nil {
		return err
	}
	return execAll(ctx, tx, st)
}

// tables reconciles each table of want in order in tx.
func tables(ctx context.Context, tx pgx.Tx, p *platform.Platform, want []layout.Table) ([]TableChange, error) {
	var out []TableChange
	for _, t := range want {
		live, err := ddl.ReadTable(ctx, tx, t.Name)
		if err != nil {
			return nil, err
		}
		plan, err := ddl.PlanTable(t, live)
		if err != nil {
			return nil, err
		}
		if plan.Empty() {
			continue
		}
		if err := execAll(ctx, tx, plan.Statements); err != nil {
			return nil, fmt.Errorf("reconcile %s: %w", t.Name, err)
		}
		ch := TableChange{
			Table: t.Name, Created: plan.Created, Added: plan.Added, Widened: plan.Widened,
			NullableAgain: plan.NullableAgain, Indexes: plan.Indexes, Rehashed: plan.Rehash,
		}
		if len(plan.DroppedViews) > 0 {
			if ch.RecreatedViews, err = recreateViews(ctx, tx, p, t, plan.DroppedViews); err != nil {
				return nil, err
			}
		}
		out = append(out, ch)
	}
	return out, nil
}

// recreateViews creates again, on the altered merge table, the desired views among dropped
// (yellow.md §11). Views no longer desired stay dropped.
func recreateViews(ctx context.Context, tx pgx.Tx, p *platform.Platform, merge layout.Table, dropped []naming.Name) ([]naming.Name, error) {
	live, err := ddl.ReadTable(ctx, tx, merge.Name)
	if err != nil {
		return nil, err
	}
	var out []naming.Name
	for _, spec := range p.Views() {
		if spec.Dataset.Merge.Name != merge.Name || !slices.Contains(dropped, spec.Name()) {
			continue
		}
		v, err := view(spec, live)
		if err != nil {
			return nil, err
		}
		st, err := mergesql.CreateView(v, false)
		if err != nil {
			return nil, err
		}
		if err := execAll(ctx, tx, st); err != nil {
			return nil, fmt.Errorf("recreate view %s: %w", v.Name, err)
		}
		out = append(out, v.Name)
	}
	return out, nil
}

// view describes spec's view over the live merge table.
func view(spec platform.ViewSpec, live *ddl.LiveTable) (mergesql.View, error) {
	cols := mergesql.ViewColumns(spec.Dataset.Merge, live, spec.Masked)
	v, err := mergesql.NewView(spec.Kind, spec.Workspace, spec.DSG, spec.Dataset.Merge, cols)
	if err != nil {
		return mergesql.View{}, err
	}
	v.Decommissioning = spec.Decommissioning
	return v, nil
}

func execAll(ctx context.Context, tx pgx.Tx, stmts []string) error {
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return err
		}
	}
	return nil
}
