package reconcile

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/datasurface/datasurface/services/merge/internal/platform"
	"github.com/jackc/pgx/v5"
)

// ViewState is how a workspace view compares with the model (InspectViews).
type ViewState string

// View states.
const (
	ViewPresent   ViewState = "present"   // exists with the desired definition
	ViewPending   ViewState = "pending"   // desired and missing
	ViewStale     ViewState = "stale"     // exists with another definition
	ViewUndesired ViewState = "undesired" // managed, no longer desired
)

// ViewStatus is one view of InspectViews: Spec is nil for undesired views.
type ViewStatus struct {
	Name  naming.Name
	Spec  *platform.ViewSpec
	State ViewState
}

// InspectViews is a dry run of Views in one read-only transaction: every desired view of
// platform p (of workspace w, or all when w is "") and every managed view of p no longer
// desired, with its state. Nothing is changed.
func InspectViews(ctx context.Context, tx pgx.Tx, p *platform.Platform, w string) ([]ViewStatus, error) {
	bySchema := map[string][]platform.ViewSpec{}
	for _, v := range p.Views() {
		if w != "" && v.Workspace != w {
			continue
		}
		s := naming.WorkspaceSchema(p.Name, v.Workspace)
		bySchema[s] = append(bySchema[s], v)
	}
	if w != "" {
		s := naming.WorkspaceSchema(p.Name, w)
		if _, ok := bySchema[s]; !ok {
			bySchema[s] = nil
		}
	} else {
		rows, err := tx.Query(ctx, managedViewSchemasSQL, "platform="+p.Name)
		if err != nil {
			return nil, fmt.Errorf("find managed views of platform %s: %w", p.Name, err)
		}
		for rows.Next() {
			var s, comment string
			if err := rows.Scan(&s, &comment); err != nil {
				rows.Close()
				return nil, err
			}
			if ddl.IsManaged(comment, p.Name) && slices.Contains(strings.Fields(comment), "kind=view") {
				if _, ok := bySchema[s]; !ok {
					bySchema[s] = nil
				}
			}
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	schemas := make([]string, 0, len(bySchema))
	for s := range bySchema {
		schemas = append(schemas, s)
	}
	slices.Sort(schemas)
	var out []ViewStatus
	for _, s := range schemas {
		specs := bySchema[s]
		state := map[naming.Name]ViewState{}
		var desired []mergesql.View
		tables := map[naming.Name]*ddl.LiveTable{}
		for _, spec := range specs {
			mt := spec.Dataset.Merge.Name
			live, seen := tables[mt]
			if !seen {
				var err error
				if live, err = ddl.ReadTable(ctx, tx, mt); err != nil {
					return nil, err
				}
				tables[mt] = live
			}
			if live == nil {
				state[spec.Name()] = ViewPending
				continue
			}
			v, err := view(spec, live)
			if err != nil {
				return nil, err
			}
			desired = append(desired, v)
		}
		live, err := ddl.ReadViews(ctx, tx, s)
		if err != nil {
			return nil, err
		}
		plan, err := mergesql.PlanViews(p.Name, desired, live)
		if err != nil {
			return nil, err
		}
		for _, n := range plan.Created {
			state[n] = ViewPending
		}
		for _, n := range slices.Concat(plan.Replaced, plan.Recreated) {
			state[n] = ViewStale
		}
		for i := range specs {
			n := specs[i].Name()
			st, ok := state[n]
			if !ok {
				st = ViewPresent
			}
			out = append(out, ViewStatus{Name: n, Spec: &specs[i], State: st})
		}
		for _, n := range plan.Dropped {
			out = append(out, ViewStatus{Name: n, State: ViewUndesired})
		}
	}
	return out, nil
}
