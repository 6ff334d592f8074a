package ddl

import (
	"fmt"
	"slices"
	"strings"

	"github.com/datasurface/datasurface/platforms/yellow/hashing"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/datasurface/datasurface/platforms/yellow/ytypes"
)

// LiveColumn is a column as the catalog describes it.
type LiveColumn struct {
	Name string
	// Type is format_type's output, e.g. `character varying(10)`.
	Type string
	// Collation is the column's collation when it differs from its type's default, else "".
	Collation string
	NotNull   bool
}

// LiveIndex is an index as the catalog describes it.
type LiveIndex struct {
	Name    string
	Columns []string
	Unique  bool
	Primary bool
	// Predicate is pg_get_expr of a partial index's predicate, else "".
	Predicate string
}

// Dependent is a view that depends on a table, with the table's columns it uses.
type Dependent struct {
	View    naming.Name
	Comment string
	Columns []string
}

// LiveTable is a table as the catalog describes it (ReadTable).
type LiveTable struct {
	Name       naming.Name
	Comment    string
	Unlogged   bool
	Columns    []LiveColumn
	Indexes    []LiveIndex
	Dependents []Dependent
}

// Column returns the live column named n.
func (l *LiveTable) Column(n string) (LiveColumn, bool) {
	for _, c := range l.Columns {
		if c.Name == n {
			return c, true
		}
	}
	return LiveColumn{}, false
}

// ConflictError is a reconcile error (yellow.md §11): the live table cannot be brought to the
// desired layout without a change Yellow never makes automatically. It is permanent.
type ConflictError struct {
	Table  naming.Name
	Column string // "" when the conflict is not about one column
	Reason string
}

func (e *ConflictError) Error() string {
	if e.Column != "" {
		return fmt.Sprintf("reconcile %s column %q: %s", e.Table, e.Column, e.Reason)
	}
	return fmt.Sprintf("reconcile %s: %s", e.Table, e.Reason)
}

// Widening is one column type change.
type Widening struct {
	Column string
	From   string
	To     string
}

// Plan is what reconciling one table does. Statements run in order in one transaction; after
// them the caller reconciles workspace views (yellow.md §12), which recreates DroppedViews.
type Plan struct {
	Table naming.Name
	// Statements are the DDL and re-hash statements in execution order.
	Statements []string
	// Created is set when the table did not exist.
	Created bool
	// Added lists the columns added, Widened the type changes, NullableAgain the columns whose
	// NOT NULL was dropped, Indexes the indexes created on an existing table.
	Added         []string
	Widened       []Widening
	NullableAgain []string
	Indexes       []string
	// DroppedViews are managed views dropped so column types could change.
	DroppedViews []naming.Name
	// Rehash is set when the plan re-computes hashes of a merge table (§11).
	Rehash bool
}

// Empty reports whether the table already has the desired layout.
func (p Plan) Empty() bool { return len(p.Statements) == 0 }

// PlanTable compares the desired layout want with live (nil = the table does not exist) and
// returns the statements that make the table match (yellow.md §11):
//
//   - table missing: CREATE TABLE with keys, indexes and the managed comment;
//   - model column missing: ADD COLUMN (nullable);
//   - type differs and the change widens (Widens; collation unchanged): ALTER COLUMN … TYPE …
//     USING c::<new>, after dropping the managed views that depend on the column; a dependent view
//     that is not managed by the platform is a conflict;
//   - type differs otherwise: conflict, nothing is altered;
//   - a column not in the layout, or one the layout wants nullable, that is NOT NULL: DROP NOT
//     NULL (columns are never dropped, NOT NULL is never added);
//   - primary key differs, or an index of the layout's name differs: conflict; a missing index is
//     created;
//   - a table without the platform's managed comment: conflict.
//
// After altering a merge table the hashes are recomputed with the SQL form of hashing: the all
// hash of the live rows (live-only: all rows; forensic: ds_surf_batch_out = 2147483647) and, when
// a key column's type changed, the key hash of all rows. For a keyless dataset the key hash is
// the all hash, so both are recomputed for all rows.
func PlanTable(want layout.Table, live *LiveTable) (Plan, error) {
	p := Plan{Table: want.Name}
	if live == nil {
		st, err := CreateTable(want)
		if err != nil {
			return Plan{}, err
		}
		p.Statements, p.Created = st, true
		return p, nil
	}
	conflict := func(col, format string, args ...any) error {
		return &ConflictError{Table: want.Name, Column: col, Reason: fmt.Sprintf(format, args...)}
	}
	if !IsManaged(live.Comment, want.Platform) {
		return Plan{}, conflict("", "the table exists but is not managed by platform %s (comment %q)", want.Platform, live.Comment)
	}
	if err := checkPrimaryKey(want, live, conflict); err != nil {
		return Plan{}, err
	}

	var actions []string
	keyTypeChanged := false
	for _, c := range want.Columns {
		lc, ok := live.Column(c.Name)
		if !ok {
			def, err := columnDef(c, false)
			if err != nil {
				return Plan{}, err
			}
			actions = append(actions, "ADD COLUMN "+def)
			p.Added = append(p.Added, c.Name)
			continue
		}
		sameType := ytypes.Equivalent(lc.Type, c.Type)
		if !sameType || lc.Collation != c.Collation {
			switch {
			case lc.Collation != c.Collation:
				return Plan{}, conflict(c.Name, "collation %q differs from the model's %q", lc.Collation, c.Collation)
			case !Widens(lc.Type, c.Type):
				return Plan{}, conflict(c.Name, "physical type %s cannot be changed to %s (not a widening)", lc.Type, c.Type)
			}
			if !layout.ValidType(c.Type) {
				return Plan{}, conflict(c.Name, "physical type %q is not valid", c.Type)
			}
			typ := c.Type
			if c.Collation != "" {
				typ += " COLLATE " + Quote(c.Collation)
			}
			actions = append(actions, "ALTER COLUMN "+Quote(c.Name)+" TYPE "+typ+" USING "+Quote(c.Name)+"::"+c.Type)
			p.Widened = append(p.Widened, Widening{Column: c.Name, From: lc.Type, To: c.Type})
			if slices.Contains(want.Key, c.Name) {
				keyTypeChanged = true
			}
		}
		if lc.NotNull && !c.NotNull && !inPrimaryKey(live, c.Name) {
			actions = append(actions, "ALTER COLUMN "+Quote(c.Name)+" DROP NOT NULL")
			p.NullableAgain = append(p.NullableAgain, c.Name)
		}
	}
	for _, lc := range live.Columns {
		if _, ok := want.Column(lc.Name); ok || !lc.NotNull {
			continue
		}
		if inPrimaryKey(live, lc.Name) {
			return Plan{}, conflict(lc.Name, "the column left the model but is part of the primary key")
		}
		actions = append(actions, "ALTER COLUMN "+Quote(lc.Name)+" DROP NOT NULL")
		p.NullableAgain = append(p.NullableAgain, lc.Name)
	}

	// Views that block the type changes.
	if len(p.Widened) > 0 {
		altered := make(map[string]bool, len(p.Widened))
		for _, w := range p.Widened {
			altered[w.Column] = true
		}
		for _, d := range live.Dependents {
			if !slices.ContainsFunc(d.Columns, func(c string) bool { return altered[c] }) {
				continue
			}
			if !IsManaged(d.Comment, want.Platform) {
				return Plan{}, conflict("", "view %s, which is not managed by platform %s, depends on a column to alter", d.View, want.Platform)
			}
			p.DroppedViews = append(p.DroppedViews, d.View)
			p.Statements = append(p.Statements, "DROP VIEW "+Ident(d.View))
		}
	}
	if len(actions) > 0 {
		p.Statements = append(p.Statements, "ALTER TABLE "+Ident(want.Name)+"\n  "+strings.Join(actions, ",\n  "))
	}

	// Indexes.
	for _, ix := range want.Indexes {
		li, ok := liveIndex(live, ix.Name)
		if !ok {
			p.Statements = append(p.Statements, CreateIndex(want.Name, ix))
			p.Indexes = append(p.Indexes, ix.Name)
			continue
		}
		if li.Unique != ix.Unique || li.Primary || !slices.Equal(li.Columns, ix.Columns) ||
			normPredicate(li.Predicate) != normPredicate(predicateOf(ix)) {
			return Plan{}, conflict("", "index %s is (%s) unique=%t where %q, want (%s) unique=%t where %q",
				ix.Name, strings.Join(li.Columns, ", "), li.Unique, li.Predicate,
				strings.Join(ix.Columns, ", "), ix.Unique, predicateOf(ix))
		}
	}

	if want.Kind == layout.KindMerge && (len(p.Added) > 0 || len(p.Widened) > 0) {
		st, err := Rehash(want, keyTypeChanged)
		if err != nil {
			return Plan{}, err
		}
		p.Statements = append(p.Statements, st...)
		p.Rehash = true
	}
	return p, nil
}

func checkPrimaryKey(want layout.Table, live *LiveTable, conflict func(string, string, ...any) error) error {
	var lpk *LiveIndex
	for i := range live.Indexes {
		if live.Indexes[i].Primary {
			lpk = &live.Indexes[i]
		}
	}
	switch {
	case want.PrimaryKey == nil && lpk == nil:
		return nil
	case want.PrimaryKey == nil:
		return conflict("", "primary key (%s) exists but the model has none; keys are never altered", strings.Join(lpk.Columns, ", "))
	case lpk == nil:
		return conflict("", "the model's primary key (%s) is missing; keys are never altered", strings.Join(want.PrimaryKey.Columns, ", "))
	case !slices.Equal(lpk.Columns, want.PrimaryKey.Columns):
		return conflict("", "primary key (%s) differs from the model's (%s); keys are never altered",
			strings.Join(lpk.Columns, ", "), strings.Join(want.PrimaryKey.Columns, ", "))
	}
	return nil
}

func inPrimaryKey(live *LiveTable, col string) bool {
	for _, ix := range live.Indexes {
		if ix.Primary && slices.Contains(ix.Columns, col) {
			return true
		}
	}
	return false
}

func liveIndex(live *LiveTable, name string) (LiveIndex, bool) {
	for _, ix := range live.Indexes {
		if ix.Name == name {
			return ix, true
		}
	}
	return LiveIndex{}, false
}

func predicateOf(ix layout.Index) string {
	if ix.LiveOnly {
		return liveOnlyPredicate
	}
	return ""
}

// normPredicate makes pg_get_expr's rendering `(ds_surf_batch_out = 2147483647)` comparable with
// the generated one: parentheses, quotes and blanks removed, lower case.
func normPredicate(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '(', ')', '"', ' ', '\t', '\n':
			return -1
		}
		return r
	}, strings.ToLower(s))
}

// HashColumns returns the model columns of t as hashing columns.
func HashColumns(t layout.Table) []hashing.Column {
	var out []hashing.Column
	for _, c := range t.ModelColumns() {
		out = append(out, hashing.Column{Name: c.Name, Type: c.Type})
	}
	return out
}

// Rehash returns the statements recomputing the hashes of merge table t with the SQL form
// (yellow.md §11): the all hash of the live rows, and the key hash of all rows when keys is set.
// A keyless table's key hash is its all hash: both are recomputed for all rows.
func Rehash(t layout.Table, keys bool) ([]string, error) {
	cols := HashColumns(t)
	all, err := hashing.AllHashSQL("", cols)
	if err != nil {
		return nil, err
	}
	tbl := Ident(t.Name)
	if len(t.Key) == 0 {
		return []string{"UPDATE " + tbl + " SET " + Quote(layout.AllHash) + " = " + all + ", " + Quote(layout.KeyHash) + " = " + all}, nil
	}
	var out []string
	if keys {
		key, err := hashing.KeyHashSQL("", cols, t.Key)
		if err != nil {
			return nil, err
		}
		out = append(out, "UPDATE "+tbl+" SET "+Quote(layout.KeyHash)+" = "+key)
	}
	st := "UPDATE " + tbl + " SET " + Quote(layout.AllHash) + " = " + all
	if t.Milestoning == layout.Forensic {
		st += " WHERE " + liveOnlyPredicate
	}
	return append(out, st), nil
}
