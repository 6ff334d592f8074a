// Package mergeside builds the merge-side objects of a Yellow platform the way the merge service
// does — platform tables with a sample row each and the workspace views of a model — for the
// security service's tests and its benchmark (package benchsec). It is test support: the merge
// service owns the real thing.
package mergeside

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/datasurface/datasurface/model/graph"
	"github.com/datasurface/datasurface/model/index"
	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/datasurface/datasurface/platforms/yellow/ytypes"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/jackc/pgx/v5"
)

// Q quotes an identifier.
func Q(parts ...string) string { return pgx.Identifier(parts).Sanitize() }

func execAll(ctx context.Context, tx pgx.Tx, stmts []string) error {
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// Platform describes the merge-side objects of one platform of a model.
type Platform struct {
	Name        string
	Milestoning layout.Milestoning
	// Tables are every table created: bookkeeping, staging, CDC load, merge, transformer output.
	Tables []layout.Table
	// Merge maps "S.T" to its merge table.
	Merge map[string]layout.Table
	// Outputs maps a transformer workspace to its output tables.
	Outputs map[string][]layout.Table
}

// PlatformOf derives the tables of platform d of m.
func PlatformOf(m *modelv1.Model, d string) (*Platform, error) {
	x := index.New(m)
	y := x.Yellow(d)
	if y == nil {
		return nil, fmt.Errorf("%s is not a Yellow platform", d)
	}
	ms, err := layout.MilestoningOf(y.GetMilestoning())
	if err != nil {
		return nil, err
	}
	p := &Platform{Name: d, Milestoning: ms, Merge: map[string]layout.Table{}, Outputs: map[string][]layout.Table{}}
	p.Tables = append(p.Tables, layout.Bookkeeping(d)...)
	g := graph.BuildPlatform(x, d)
	opts := ytypes.Options{PostGIS: y.GetPostgis()}
	datasets := map[string]layout.Dataset{}
	for _, s := range g.Streams {
		c, err := layout.CaptureFor(s.Kind, s.Remote, ms)
		if err != nil {
			return nil, err
		}
		store := x.Datastores[s.Datastore]
		for _, name := range s.Datasets {
			ld, err := layout.FromModel(s.Datastore, index.FindDataset(store, name), opts)
			if err != nil {
				return nil, err
			}
			datasets[ld.Ref()] = ld
			ts := layout.DatasetTables(d, ld, c, ms)
			p.Tables = append(p.Tables, ts...)
			p.Merge[ld.Ref()] = ts[len(ts)-1]
		}
	}
	for _, t := range g.Transformers {
		for ref, ld := range datasets {
			if strings.HasPrefix(ref, t.OutputDatastore+".") {
				ot := layout.OutputTable(d, t.Workspace, ld)
				p.Outputs[t.Workspace] = append(p.Outputs[t.Workspace], ot)
				p.Tables = append(p.Tables, ot)
			}
		}
		slices.SortFunc(p.Outputs[t.Workspace], func(a, b layout.Table) int { return strings.Compare(a.Name.Name, b.Name.Name) })
	}
	return p, nil
}

// BuildTables creates every table of p in tx (the schemas exist: the security service made
// them), with one sample row each; tx is a session of the merge login SET ROLEd to the owner.
func BuildTables(ctx context.Context, tx pgx.Tx, p *Platform) error {
	for _, t := range p.Tables {
		live, err := ddl.ReadTable(ctx, tx, t.Name)
		if err != nil {
			return err
		}
		pl, err := ddl.PlanTable(t, live)
		if err != nil {
			return err
		}
		if err := execAll(ctx, tx, pl.Statements); err != nil {
			return err
		}
		if live == nil && t.Kind != layout.KindBatchCounter && t.Kind != layout.KindBatchMetrics &&
			t.Kind != layout.KindTransformerRuns && t.Kind != layout.KindCDCRejects {
			if err := insertSample(ctx, tx, t); err != nil {
				return err
			}
		}
	}
	return nil
}

func insertSample(ctx context.Context, tx pgx.Tx, t layout.Table) error {
	var cols, vals []string
	for _, c := range t.Columns {
		v := SampleValue(c.Type)
		if v == "" || c.Default != "" {
			continue
		}
		cols = append(cols, Q(c.Name))
		vals = append(vals, "CAST("+v+" AS "+c.Type+")")
	}
	_, err := tx.Exec(ctx, "INSERT INTO "+ddl.Ident(t.Name)+" ("+strings.Join(cols, ", ")+") VALUES ("+strings.Join(vals, ", ")+")")
	if err != nil {
		return fmt.Errorf("sample row of %s: %w", t.Name, err)
	}
	return nil
}

// SampleValue is a non-NULL literal for physical type typ ("" when unknown).
func SampleValue(typ string) string {
	switch {
	case strings.HasSuffix(typ, "[]"):
		return "'{}'"
	case strings.HasPrefix(typ, "character"), typ == "text", typ == "name":
		return "'x'"
	case typ == "smallint", typ == "integer", typ == "bigint", strings.HasPrefix(typ, "numeric"),
		typ == "real", typ == "double precision":
		return "'1'"
	case typ == "boolean":
		return "'true'"
	case typ == "date":
		return "'2020-01-02'"
	case strings.HasPrefix(typ, "timestamp"):
		return "'2020-01-02 03:04:05'"
	case strings.HasPrefix(typ, "time"):
		return "'03:04:05'"
	case strings.HasPrefix(typ, "interval"):
		return "'1 day'"
	case typ == "jsonb", typ == "json":
		return "'{}'"
	case typ == "bytea":
		return `'\x00'`
	case typ == "uuid":
		return "'00000000-0000-0000-0000-000000000001'"
	}
	return ""
}

// ViewSpec is one desired view.
type ViewSpec struct {
	Kind      mergesql.ViewKind
	Workspace string
	DSG       string
	Merge     layout.Table
	Masked    map[string]bool
}

// Views lists the views the model wants on platform d (yellow.md §12), as the merge service
// derives them.
func Views(m *modelv1.Model, p *Platform) []ViewSpec {
	x := index.New(m)
	g := graph.BuildPlatform(x, p.Name)
	var out []ViewSpec
	for _, r := range g.Roots {
		w := x.Workspaces[r.Workspace]
		dsg := x.DSG(r.Workspace, r.DatasetGroup)
		full := p.Milestoning == layout.Forensic && !r.Transformer &&
			dsg.GetPlatformRequirements().GetMilestoning() == modelv1.Milestoning_MILESTONING_FORENSIC
		for _, s := range dsg.GetSinks() {
			mt, ok := p.Merge[s.GetDatastore()+"."+s.GetDataset()]
			if !ok {
				continue
			}
			masked := mergesql.MaskedColumns(x.Dataset(s.GetDatastore(), s.GetDataset()), w.GetAccess().GetApprovedClassifications())
			out = append(out, ViewSpec{Kind: mergesql.LiveView, Workspace: r.Workspace, DSG: r.DatasetGroup, Merge: mt, Masked: masked})
			if full {
				out = append(out, ViewSpec{Kind: mergesql.FullView, Workspace: r.Workspace, DSG: r.DatasetGroup, Merge: mt, Masked: masked})
			}
		}
	}
	return out
}

// ReconcileViews brings the views of every workspace schema of p to the model m in tx (create,
// replace, drop managed views no longer wanted), as the merge service does; tx is a session of
// the merge login SET ROLEd to the owner. A wanted schema that does not exist is an error.
func ReconcileViews(ctx context.Context, tx pgx.Tx, m *modelv1.Model, p *Platform) error {
	specs := Views(m, p)
	bySchema := map[string][]ViewSpec{}
	for _, v := range specs {
		s := naming.WorkspaceSchema(p.Name, v.Workspace)
		bySchema[s] = append(bySchema[s], v)
	}
	rows, err := tx.Query(ctx, `SELECT n.nspname::text FROM pg_catalog.pg_namespace n
WHERE strpos(coalesce(pg_catalog.obj_description(n.oid, 'pg_namespace'), ''), $1) > 0
  AND pg_catalog.obj_description(n.oid, 'pg_namespace') LIKE 'datasurface:managed kind=workspace %'`, "platform="+p.Name)
	if err != nil {
		return err
	}
	schemas, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for s := range bySchema {
		if !slices.Contains(schemas, s) {
			return fmt.Errorf("workspace schema %s does not exist", s)
		}
	}
	tables := map[naming.Name]*ddl.LiveTable{}
	for _, s := range schemas {
		var desired []mergesql.View
		for _, spec := range bySchema[s] {
			live, ok := tables[spec.Merge.Name]
			if !ok {
				if live, err = ddl.ReadTable(ctx, tx, spec.Merge.Name); err != nil {
					return err
				}
				tables[spec.Merge.Name] = live
			}
			v, err := mergesql.NewView(spec.Kind, spec.Workspace, spec.DSG, spec.Merge, mergesql.ViewColumns(spec.Merge, live, spec.Masked))
			if err != nil {
				return err
			}
			desired = append(desired, v)
		}
		live, err := ddl.ReadViews(ctx, tx, s)
		if err != nil {
			return err
		}
		vp, err := mergesql.PlanViews(p.Name, desired, live)
		if err != nil {
			return err
		}
		if len(vp.Statements) > 0 {
			// One round trip per schema (the merge service's statements are trusted here).
			if _, err := tx.Exec(ctx, strings.Join(vp.Statements, ";\n")); err != nil {
				return fmt.Errorf("views of %s: %w", s, err)
			}
		}
	}
	return nil
}
