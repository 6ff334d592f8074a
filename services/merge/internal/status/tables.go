package status

import (
	"context"
	"errors"
	"fmt"

	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/jackc/pgx/v5"
)

// Table is a staging, CDC load or merge table compared with its layout.
type Table struct {
	Want   layout.Table
	Exists bool
	// InStep: the table exists and reconciling it would change nothing.
	InStep bool
	// Missing are model columns the table lacks; Changed are "column: live → model" type
	// changes a reconcile would apply; Conflict is why a reconcile would refuse (yellow.md §11).
	Missing  []string
	Changed  []string
	Conflict string
	// Rows counts the table's rows; for a forensic merge table the live versions, with AllRows
	// every version.
	Rows    int64
	AllRows int64
}

// ReadTable compares the live table of want with it (ddl.PlanTable, nothing executed) and
// counts its rows exactly.
func ReadTable(ctx context.Context, tx pgx.Tx, want layout.Table) (Table, error) {
	t := Table{Want: want}
	live, err := ddl.ReadTable(ctx, tx, want.Name)
	if err != nil {
		return t, err
	}
	if live == nil {
		t.Missing = want.ModelColumnNames()
		return t, nil
	}
	t.Exists = true
	plan, err := ddl.PlanTable(want, live)
	var conflict *ddl.ConflictError
	switch {
	case errors.As(err, &conflict):
		t.Conflict = conflict.Error()
	case err != nil:
		return t, err
	default:
		t.InStep = plan.Empty()
		t.Missing = plan.Added
		for _, w := range plan.Widened {
			t.Changed = append(t.Changed, w.Column+": "+w.From+" → "+w.To)
		}
	}
	sql := "SELECT count(*) FROM " + ddl.Ident(want.Name)
	if want.Kind == layout.KindMerge && want.Milestoning == layout.Forensic {
		sql = fmt.Sprintf("SELECT count(*) FILTER (WHERE %s = %d), count(*) FROM %s", ddl.Quote(layout.BatchOut), layout.Live, ddl.Ident(want.Name))
		err = tx.QueryRow(ctx, sql).Scan(&t.Rows, &t.AllRows)
	} else {
		err = tx.QueryRow(ctx, sql).Scan(&t.Rows)
		t.AllRows = t.Rows
	}
	if err != nil {
		return t, fmt.Errorf("count rows of %s: %w", want.Name, err)
	}
	return t, nil
}
