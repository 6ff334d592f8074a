package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/datasurface/datasurface/kit/pg"
	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/jackc/pgx/v5"
)

// Cache lets a reconcile skip a unit of work whose outcome is known. A unit is the platform's
// bookkeeping tables, one stream's tables, or one workspace schema's views. When reconciling a
// unit found nothing to change, the cache keeps what was desired and a signature of the catalog
// state read in the same transaction; while both are unchanged, the next reconcile of the unit
// costs one catalog query. Every change to a relation of the unit — dropped or re-created, a
// column added, retyped or made nullable, an index, a comment, a view replaced — changes the
// signature, so the cache never hides a difference. The zero value is ready; a nil *Cache
// disables it.
type Cache struct {
	mu sync.Mutex
	m  map[string]entry
}

type entry struct{ want, sig string }

func (c *Cache) fresh(u unit, sig string) bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[u.key]
	return ok && e.want == u.want && e.sig == sig
}

func (c *Cache) store(u unit, sig string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]entry{}
	}
	c.m[u.key] = entry{want: u.want, sig: sig}
}

func (c *Cache) forget(u unit) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, u.key)
}

// unit is one cacheable piece of reconcile work: its key, a digest of what is desired, and the
// relations and workspace schemas whose catalog state it depends on.
type unit struct {
	key     string
	want    string
	rels    []naming.Name
	schemas []string
}

// tablesUnit is the unit of reconciling tables want; the desired digest covers every statement
// that would create them (columns, types, nullability, keys, indexes, comments).
func tablesUnit(key string, want []layout.Table, o Options) (unit, error) {
	h := sha256.New()
	fmt.Fprintf(h, "role=%s\n", o.Role)
	u := unit{key: key}
	for _, t := range want {
		st, err := ddl.CreateTable(t)
		if err != nil {
			return unit{}, err
		}
		h.Write([]byte(strings.Join(st, ";\n") + "\n"))
		u.rels = append(u.rels, t.Name)
	}
	u.want = hex.EncodeToString(h.Sum(nil))
	return u, nil
}

// relationsSQL digests, per relation ($1 schemas, $2 names), its oid, kind, persistence,
// comment, columns (name, type, typmod, nullability, collation), indexes and view rule; a
// missing relation reads '-'.
const relationsSQL = `SELECT coalesce((SELECT md5(concat_ws('|', c.oid, c.relkind, c.relpersistence,
    (SELECT d.description FROM pg_catalog.pg_description d
       WHERE d.objoid = c.oid AND d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0),
    (SELECT string_agg(a.attname || ' ' || a.atttypid || ' ' || a.atttypmod || ' ' || a.attnotnull || ' ' || a.attcollation, ',' ORDER BY a.attnum)
       FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
    (SELECT string_agg(i.indexrelid || ' ' || i.indkey::text || ' ' || i.indisunique || ' ' || i.indisprimary || ' ' ||
            coalesce(pg_catalog.pg_get_expr(i.indpred, i.indrelid), ''), ',' ORDER BY i.indexrelid)
       FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid)))
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace
  WHERE ns.nspname = r.s AND c.relname = r.n), '-')
FROM unnest($1::text[], $2::text[]) AS r(s, n)`

// schemasSQL digests, per workspace schema ($1), the schema itself and every view in it (oid,
// name, comment, rule, columns); a missing schema reads '-'.
const schemasSQL = `SELECT coalesce((SELECT md5(concat_ws('|', ns.oid, pg_catalog.obj_description(ns.oid, 'pg_namespace'),
    (SELECT string_agg(c.oid || ' ' || c.relname || ' ' || coalesce(d.description, '') || ' ' ||
            (SELECT string_agg(w.oid || ' ' || w.xmin::text, ',') FROM pg_catalog.pg_rewrite w WHERE w.ev_class = c.oid) || ' ' ||
            (SELECT string_agg(a.attname || ' ' || a.atttypid || ' ' || a.atttypmod || ' ' || a.attcollation, ',' ORDER BY a.attnum)
               FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), ';' ORDER BY c.relname)
       FROM pg_catalog.pg_class c
       LEFT JOIN pg_catalog.pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0
       WHERE c.relnamespace = ns.oid AND c.relkind = 'v')))
  FROM pg_catalog.pg_namespace ns WHERE ns.nspname = s.s), '-')
FROM unnest($1::text[]) AS s(s)`

// signature reads the catalog signature of u's relations and schemas.
func signature(ctx context.Context, q ddl.Querier, u unit) (string, error) {
	h := sha256.New()
	read := func(sql string, args ...any) error {
		rows, err := q.Query(ctx, sql, args...)
		if err != nil {
			return fmt.Errorf("read catalog signature: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				return err
			}
			h.Write([]byte(s + "\n"))
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read catalog signature: %w", err)
		}
		return nil
	}
	if len(u.rels) > 0 {
		schemas := make([]string, len(u.rels))
		names := make([]string, len(u.rels))
		for i, n := range u.rels {
			schemas[i], names[i] = n.Schema, n.Name
		}
		if err := read(relationsSQL, schemas, names); err != nil {
			return "", err
		}
	}
	if len(u.schemas) > 0 {
		if err := read(schemasSQL, u.schemas); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// genericPlans makes a transaction's catalog reads use generic plans: they run with the same
// shapes again and again, and planning them costs more than running them.
const genericPlans = "SET LOCAL plan_cache_mode = force_generic_plan"

// readCatalog runs f in a read-only transaction with generic plans.
func readCatalog(ctx context.Context, db pg.Beginner, f func(tx pgx.Tx) error) error {
	return pg.InTx(ctx, readOnly{db}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, genericPlans); err != nil {
			return err
		}
		return f(tx)
	})
}

type readOnly struct{ db pg.Beginner }

func (r readOnly) Begin(ctx context.Context) (pgx.Tx, error) {
	if b, ok := r.db.(interface {
		BeginTx(context.Context, pgx.TxOptions) (pgx.Tx, error)
	}); ok {
		return b.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	}
	return r.db.Begin(ctx)
}

// known reports whether the cache holds an entry for u.
func (c *Cache) known(u unit) bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[u.key]
	return ok
}

// check reports whether u needs no work: the cache holds its desired digest and the catalog
// still has the signature recorded then.
func (c *Cache) check(ctx context.Context, db DB, u unit) (bool, error) {
	if !c.known(u) {
		return false, nil
	}
	var sig string
	err := readCatalog(ctx, db, func(tx pgx.Tx) error {
		var err error
		sig, err = signature(ctx, tx, u)
		return err
	})
	if err != nil {
		return false, err
	}
	return c.fresh(u, sig), nil
}
