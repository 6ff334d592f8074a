package ddl

import (
	"context"
	"fmt"

	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/jackc/pgx/v5"
)

// Querier is what catalog reads need: a pgx.Tx, *pgx.Conn or *pgxpool.Pool.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

const tableSQL = `SELECT c.oid, c.relpersistence = 'u', coalesce(pg_catalog.obj_description(c.oid, 'pg_class'), '')
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`

const columnsSQL = `SELECT a.attrelid, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
  CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN co.collname::text ELSE '' END
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum`

const indexesSQL = `SELECT i.relname, x.indisunique, x.indisprimary,
  coalesce(pg_catalog.pg_get_expr(x.indpred, x.indrelid), ''),
  ARRAY(SELECT a.attname::text FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
        JOIN pg_catalog.pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum ORDER BY k.ord)
FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
WHERE x.indrelid = $1
ORDER BY i.relname`

const dependentsSQL = `SELECT DISTINCT vn.nspname::text, v.relname::text,
  coalesce(pg_catalog.obj_description(v.oid, 'pg_class'), ''), coalesce(a.attname::text, '')
FROM pg_catalog.pg_depend d
JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid
JOIN pg_catalog.pg_class v ON v.oid = r.ev_class
JOIN pg_catalog.pg_namespace vn ON vn.oid = v.relnamespace
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
  AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
  AND d.refobjid = $1 AND v.oid <> $1
ORDER BY 1, 2, 4`

// ReadTable describes table n from the catalog: columns in physical order with format_type
// output, nullability and non-default collations; indexes; and the views that depend on it with
// the columns they use. It returns nil when the table does not exist.
func ReadTable(ctx context.Context, q Querier, n naming.Name) (*LiveTable, error) {
	rows, err := q.Query(ctx, tableSQL, n.Schema, n.Name)
	if err != nil {
		return nil, fmt.Errorf("read table %s: %w", n, err)
	}
	var (
		oid   uint32
		found bool
		lt    = &LiveTable{Name: n}
	)
	for rows.Next() {
		if err := rows.Scan(&oid, &lt.Unlogged, &lt.Comment); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read table %s: %w", n, err)
		}
		found = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read table %s: %w", n, err)
	}
	if !found {
		return nil, nil
	}
	cols, err := readColumns(ctx, q, []uint32{oid})
	if err != nil {
		return nil, fmt.Errorf("read columns of %s: %w", n, err)
	}
	lt.Columns = cols[oid]

	rows, err = q.Query(ctx, indexesSQL, oid)
	if err != nil {
		return nil, fmt.Errorf("read indexes of %s: %w", n, err)
	}
	for rows.Next() {
		var ix LiveIndex
		if err := rows.Scan(&ix.Name, &ix.Unique, &ix.Primary, &ix.Predicate, &ix.Columns); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read indexes of %s: %w", n, err)
		}
		lt.Indexes = append(lt.Indexes, ix)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read indexes of %s: %w", n, err)
	}

	rows, err = q.Query(ctx, dependentsSQL, oid)
	if err != nil {
		return nil, fmt.Errorf("read views depending on %s: %w", n, err)
	}
	for rows.Next() {
		var v naming.Name
		var comment, col string
		if err := rows.Scan(&v.Schema, &v.Name, &comment, &col); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read views depending on %s: %w", n, err)
		}
		if k := len(lt.Dependents); k == 0 || lt.Dependents[k-1].View != v {
			lt.Dependents = append(lt.Dependents, Dependent{View: v, Comment: comment})
		}
		if col != "" {
			d := &lt.Dependents[len(lt.Dependents)-1]
			d.Columns = append(d.Columns, col)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read views depending on %s: %w", n, err)
	}
	return lt, nil
}

func readColumns(ctx context.Context, q Querier, oids []uint32) (map[uint32][]LiveColumn, error) {
	rows, err := q.Query(ctx, columnsSQL, oids)
	if err != nil {
		return nil, err
	}
	out := make(map[uint32][]LiveColumn)
	for rows.Next() {
		var oid uint32
		var c LiveColumn
		if err := rows.Scan(&oid, &c.Name, &c.Type, &c.NotNull, &c.Collation); err != nil {
			rows.Close()
			return nil, err
		}
		out[oid] = append(out[oid], c)
	}
	return out, rows.Err()
}

// LiveView is a view as the catalog describes it.
type LiveView struct {
	Name    naming.Name
	Comment string
	Columns []LiveColumn
}

const viewsSQL = `SELECT c.oid, c.relname::text, coalesce(pg_catalog.obj_description(c.oid, 'pg_class'), '')
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind = 'v'
ORDER BY c.relname`

// ReadViews describes every view of schema s (managed or not), with its columns, ordered by
// name.
func ReadViews(ctx context.Context, q Querier, s string) ([]LiveView, error) {
	rows, err := q.Query(ctx, viewsSQL, s)
	if err != nil {
		return nil, fmt.Errorf("read views of %s: %w", s, err)
	}
	var (
		views []LiveView
		oids  []uint32
	)
	for rows.Next() {
		var oid uint32
		v := LiveView{Name: naming.Name{Schema: s}}
		if err := rows.Scan(&oid, &v.Name.Name, &v.Comment); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read views of %s: %w", s, err)
		}
		views = append(views, v)
		oids = append(oids, oid)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read views of %s: %w", s, err)
	}
	if len(views) == 0 {
		return nil, nil
	}
	cols, err := readColumns(ctx, q, oids)
	if err != nil {
		return nil, fmt.Errorf("read view columns of %s: %w", s, err)
	}
	for i := range views {
		views[i].Columns = cols[oids[i]]
	}
	return views, nil
}

// ReadSchema reports whether schema s exists and its comment.
func ReadSchema(ctx context.Context, q Querier, s string) (exists bool, comment string, err error) {
	rows, err := q.Query(ctx, `SELECT coalesce(pg_catalog.obj_description(n.oid, 'pg_namespace'), '')
FROM pg_catalog.pg_namespace n WHERE n.nspname = $1`, s)
	if err != nil {
		return false, "", fmt.Errorf("read schema %s: %w", s, err)
	}
	for rows.Next() {
		if err := rows.Scan(&comment); err != nil {
			rows.Close()
			return false, "", fmt.Errorf("read schema %s: %w", s, err)
		}
		exists = true
	}
	if err := rows.Err(); err != nil {
		return false, "", fmt.Errorf("read schema %s: %w", s, err)
	}
	return exists, comment, nil
}
