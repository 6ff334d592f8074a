package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/datasurface/datasurface/kit/pg"
	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/datasurface/datasurface/services/merge/internal/mergedb"
	"github.com/datasurface/datasurface/services/merge/internal/platform"
	"github.com/jackc/pgx/v5"
)

// SchemaViews is what reconciling one workspace schema changed.
type SchemaViews struct {
	Schema    string
	Created   []naming.Name
	Replaced  []naming.Name
	Recreated []naming.Name
	Dropped   []naming.Name
	// Pending are desired views whose merge table does not exist yet (its stream has not been
	// reconciled); the next reconcile creates them.
	Pending []naming.Name
}

// Empty reports whether nothing changed and nothing is pending.
func (s SchemaViews) Empty() bool {
	return len(s.Created)+len(s.Replaced)+len(s.Recreated)+len(s.Dropped)+len(s.Pending) == 0
}

// managedViewSchemasSQL lists the schemas holding a view whose comment names the platform; the
// caller checks the marker exactly.
const managedViewSchemasSQL = `SELECT n.nspname::text, d.description
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0
WHERE c.relkind = 'v' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND strpos(d.description, $1) > 0`

// Views reconciles the workspace views of platform p (yellow.md §12): for every workspace schema
// with desired views or with managed views of p, one transaction (serialized per platform)
// creates the schema when missing, creates, replaces or re-creates the desired views and drops
// the managed views no longer desired. Unmarked views are never touched.
func Views(ctx context.Context, db DB, p *platform.Platform, o Options, c *Cache) ([]SchemaViews, error) {
	bySchema := map[string][]platform.ViewSpec{}
	owners := map[string]string{} // schema → workspace
	for _, v := range p.Views() {
		s := naming.WorkspaceSchema(p.Name, v.Workspace)
		bySchema[s] = append(bySchema[s], v)
		owners[s] = v.Workspace
	}
	// One read: the schemas holding managed views of the platform, and the signatures of the
	// schemas the cache knows.
	fresh := map[string]bool{}
	err := readCatalog(ctx, db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, managedViewSchemasSQL, "platform="+p.Name)
		if err != nil {
			return fmt.Errorf("find managed views of platform %s: %w", p.Name, err)
		}
		for rows.Next() {
			var s, comment string
			if err := rows.Scan(&s, &comment); err != nil {
				rows.Close()
				return err
			}
			if ddl.IsManaged(comment, p.Name) && slices.Contains(strings.Fields(comment), "kind=view") {
				if _, ok := bySchema[s]; !ok {
					bySchema[s] = nil
				}
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for s, specs := range bySchema {
			u := viewsUnit(p.Name, s, specs, o)
			if !c.known(u) {
				continue
			}
			sig, err := signature(ctx, tx, u)
			if err != nil {
				return err
			}
			fresh[s] = c.fresh(u, sig)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	schemas := make([]string, 0, len(bySchema))
	for s := range bySchema {
		schemas = append(schemas, s)
	}
	slices.Sort(schemas)

	var out []SchemaViews
	for _, s := range schemas {
		if fresh[s] {
			continue
		}
		u := viewsUnit(p.Name, s, bySchema[s], o)
		res, sig, err := schemaViews(ctx, db, p, s, owners[s], bySchema[s], o, c != nil, u)
		switch {
		case err != nil:
			c.forget(u)
			return out, err
		case res.changed():
			c.forget(u)
		default:
			c.store(u, sig)
		}
		if !res.Empty() {
			out = append(out, res)
		}
	}
	return out, nil
}

func (s SchemaViews) changed() bool {
	return len(s.Created)+len(s.Replaced)+len(s.Recreated)+len(s.Dropped) > 0
}

// viewsUnit is the cache unit of one workspace schema: its desired views (names, kinds, masking,
// comments' inputs) and the merge tables they select from, whose live columns shape them.
func viewsUnit(d, schema string, specs []platform.ViewSpec, o Options) unit {
	h := sha256.New()
	fmt.Fprintf(h, "role=%s\n", o.Role)
	u := unit{key: "views:" + d + ":" + schema, schemas: []string{schema}}
	seen := map[naming.Name]bool{}
	for _, v := range specs {
		var masked []string
		for c := range v.Masked {
			if v.Masked[c] {
				masked = append(masked, c)
			}
		}
		slices.Sort(masked)
		fmt.Fprintf(h, "%s %s %s %s %s %t %s %v\n", v.Name(), v.Kind, v.Workspace, v.DSG, v.Dataset.Merge.Name, v.Decommissioning,
			strings.Join(masked, ","), v.Dataset.Merge.ModelColumnNames())
		if mt := v.Dataset.Merge.Name; !seen[mt] {
			seen[mt] = true
			u.rels = append(u.rels, mt)
		}
	}
	u.want = hex.EncodeToString(h.Sum(nil))
	return u
}

func schemaViews(ctx context.Context, db pg.Beginner, p *platform.Platform, schema, workspace string, specs []platform.ViewSpec,
	o Options, sign bool, u unit) (SchemaViews, string, error) {
	var res SchemaViews
	var sig string
	err := pg.InTx(ctx, db, func(tx pgx.Tx) error {
		res = SchemaViews{Schema: schema}
		if _, err := tx.Exec(ctx, genericPlans); err != nil {
			return err
		}
		if err := mergedb.LockPlatform(ctx, tx, p.Name, "views"); err != nil {
			return err
		}
		if len(specs) > 0 {
			comment := "datasurface:managed kind=workspace platform=" + p.Name + " workspace=" + workspace
			if err := ensureSchema(ctx, tx, p.Name, schema, comment, o); err != nil {
				return err
			}
		}
		if err := mergedb.SetOwnerRole(ctx, tx, p.Name, o.Role); err != nil {
			return err
		}
		tables := map[naming.Name]*ddl.LiveTable{}
		var desired []mergesql.View
		for _, spec := range specs {
			mt := spec.Dataset.Merge.Name
			live, seen := tables[mt]
			if !seen {
				var err error
				if live, err = ddl.ReadTable(ctx, tx, mt); err != nil {
					return err
				}
				tables[mt] = live
			}
			if live == nil {
				res.Pending = append(res.Pending, spec.Name())
				continue
			}
			v, err := view(spec, live)
			if err != nil {
				return err
			}
			desired = append(desired, v)
		}
		live, err := ddl.ReadViews(ctx, tx, schema)
		if err != nil {
			return err
		}
		plan, err := mergesql.PlanViews(p.Name, desired, live)
		if err != nil {
			return err
		}
		if err := execAll(ctx, tx, plan.Statements); err != nil {
			return fmt.Errorf("reconcile views of schema %s: %w", schema, err)
		}
		res.Created, res.Replaced, res.Recreated, res.Dropped = plan.Created, plan.Replaced, plan.Recreated, plan.Dropped
		if sign && plan.Empty() {
			sig, err = signature(ctx, tx, u)
		}
		return err
	})
	return res, sig, err
}
