package mergesql

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/datasurface/datasurface/platforms/yellow/ytypes"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// ViewKind is live or full (yellow.md §12).
type ViewKind string

// View kinds.
const (
	LiveView ViewKind = "live"
	FullView ViewKind = "full"
)

// ViewColumn is one model column of a view, in the merge table's physical order.
type ViewColumn struct {
	Name string
	// Type and Collation are the merge table column's physical type and collation; a masked
	// column keeps them (CAST(NULL AS <type>) COLLATE <collation>), so masking never changes the
	// view's column types and CREATE OR REPLACE VIEW keeps working.
	Type      string
	Collation string
	// Masked selects NULL instead of the value (security.md §5).
	Masked bool
}

// View is one workspace view of a sink S.T of dataset group G of workspace W on platform D.
type View struct {
	Name        naming.Name
	Kind        ViewKind
	Merge       naming.Name
	Milestoning layout.Milestoning
	Columns     []ViewColumn
	Platform    string
	Workspace   string
	DSG         string
	// Dataset is "S.T".
	Dataset string
	// Decommissioning adds `decommissioning=true` to the comment while the assignment is
	// DECOMMISSIONING.
	Decommissioning bool
}

// NewView describes the view of kind k of sink merge.Dataset for (w, g) on merge's platform,
// with columns cols (ViewColumns). A full view needs a forensic merge table.
func NewView(k ViewKind, w, g string, merge layout.Table, cols []ViewColumn) (View, error) {
	store, ds, ok := strings.Cut(merge.Dataset, ".")
	if merge.Kind != layout.KindMerge || !ok {
		return View{}, fmt.Errorf("view of %s: not a merge table", merge.Name)
	}
	v := View{
		Kind: k, Merge: merge.Name, Milestoning: merge.Milestoning, Columns: cols,
		Platform: merge.Platform, Workspace: w, DSG: g, Dataset: merge.Dataset,
	}
	switch k {
	case LiveView:
		v.Name = naming.LiveView(merge.Platform, w, g, store, ds)
	case FullView:
		if merge.Milestoning != layout.Forensic {
			return View{}, fmt.Errorf("full view of %s: the merge table is not forensic", merge.Dataset)
		}
		v.Name = naming.FullView(merge.Platform, w, g, store, ds)
	default:
		return View{}, fmt.Errorf("unknown view kind %q", k)
	}
	return v, nil
}

// ViewColumns returns the model columns of merge table want in the physical column order of
// live (the merge table as the catalog describes it, so added columns come last), with live's
// types; masked names the columns masked for the workspace. With live nil (table not created
// yet) the layout's order and types are used. Model columns missing from live are left out
// (reconcile adds them first).
func ViewColumns(want layout.Table, live *ddl.LiveTable, masked map[string]bool) []ViewColumn {
	var out []ViewColumn
	if live == nil {
		for _, c := range want.ModelColumns() {
			out = append(out, ViewColumn{Name: c.Name, Type: c.Type, Collation: c.Collation, Masked: masked[c.Name]})
		}
		return out
	}
	for _, lc := range live.Columns {
		c, ok := want.Column(lc.Name)
		if !ok || !c.Model {
			continue
		}
		out = append(out, ViewColumn{Name: lc.Name, Type: lc.Type, Collation: lc.Collation, Masked: masked[lc.Name]})
	}
	return out
}

// MaskedColumns returns the columns of ds masked for a workspace that approves the
// classifications approved (security.md §5): a column is masked iff it has a classification whose
// type is not approved.
func MaskedColumns(ds *modelv1.Dataset, approved []modelv1.ClassificationType) map[string]bool {
	out := make(map[string]bool)
	for _, c := range ds.GetColumns() {
		for _, cl := range c.GetClassifications() {
			if !slices.Contains(approved, cl.GetType()) {
				out[c.GetName()] = true
				break
			}
		}
	}
	return out
}

// Definition is the view's query (§12): the model columns, each m."c" or, when masked,
// CAST(NULL AS <type>) [COLLATE "x"] AS "c"; a full view adds ds_surf_batch_in and
// ds_surf_batch_out; a live view of a forensic table keeps the live versions.
func (v View) Definition() (string, error) {
	if len(v.Columns) == 0 {
		return "", fmt.Errorf("view %s has no columns", v.Name)
	}
	sel := make([]string, 0, len(v.Columns)+2)
	for _, c := range v.Columns {
		if !c.Masked {
			sel = append(sel, qa("m", c.Name))
			continue
		}
		if !layout.ValidType(c.Type) {
			return "", fmt.Errorf("view %s column %q: physical type %q is not valid", v.Name, c.Name, c.Type)
		}
		e := "CAST(NULL AS " + c.Type + ")"
		if c.Collation != "" {
			e += " COLLATE " + q(c.Collation)
		}
		sel = append(sel, e+" AS "+q(c.Name))
	}
	where := ""
	switch {
	case v.Kind == FullView:
		sel = append(sel, qa("m", layout.BatchIn), qa("m", layout.BatchOut))
	case v.Milestoning == layout.Forensic:
		where = "\nWHERE " + qa("m", layout.BatchOut) + " = " + liveLit
	}
	return "SELECT " + strings.Join(sel, ", ") + "\nFROM " + ident(v.Merge) + " m" + where, nil
}

// Comment is the view's managed marker (§12): `datasurface:managed kind=view platform=D
// workspace=W dsg=G dataset=S.T def=<sha256 of the definition>` (+ `decommissioning=true`).
func (v View) Comment() (string, error) {
	def, err := v.Definition()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(def))
	c := "datasurface:managed kind=view platform=" + v.Platform + " workspace=" + v.Workspace +
		" dsg=" + v.DSG + " dataset=" + v.Dataset + " def=" + hex.EncodeToString(sum[:])
	if v.Decommissioning {
		c += " decommissioning=true"
	}
	return c, nil
}

// viewColumns is the view's result columns (names and types), for the replaceability check.
func (v View) resultColumns() []ddl.LiveColumn {
	out := make([]ddl.LiveColumn, 0, len(v.Columns)+2)
	for _, c := range v.Columns {
		out = append(out, ddl.LiveColumn{Name: c.Name, Type: c.Type, Collation: c.Collation})
	}
	if v.Kind == FullView {
		out = append(out, ddl.LiveColumn{Name: layout.BatchIn, Type: "integer"}, ddl.LiveColumn{Name: layout.BatchOut, Type: "integer"})
	}
	return out
}

// CreateView returns CREATE [OR REPLACE] VIEW and COMMENT ON VIEW. The view runs with its
// owner's rights (security_invoker is never set), which is what makes masking hold.
func CreateView(v View, replace bool) ([]string, error) {
	def, err := v.Definition()
	if err != nil {
		return nil, err
	}
	comment, err := v.Comment()
	if err != nil {
		return nil, err
	}
	lit, err := ddl.Literal(comment)
	if err != nil {
		return nil, err
	}
	create := "CREATE VIEW "
	if replace {
		create = "CREATE OR REPLACE VIEW "
	}
	return []string{create + ident(v.Name) + " AS\n" + def, "COMMENT ON VIEW " + ident(v.Name) + " IS " + lit}, nil
}

// DropView drops a view.
func DropView(n naming.Name) string { return "DROP VIEW " + ident(n) }

// ViewPlan is the reconcile of one workspace schema's views.
type ViewPlan struct {
	Statements []string
	Created    []naming.Name
	Replaced   []naming.Name
	// Recreated views were dropped and created because CREATE OR REPLACE cannot express the
	// change (a column removed, renamed, moved or retyped).
	Recreated []naming.Name
	Dropped   []naming.Name
}

// Empty reports whether the schema's views are as desired.
func (p ViewPlan) Empty() bool { return len(p.Statements) == 0 }

// PlanViews reconciles the views of one workspace schema of platform d (§12): desired are the
// views wanted there, live every view the schema holds (ddl.ReadViews). Missing views are
// created; managed views whose comment differs are replaced (CREATE OR REPLACE when the live
// columns are a prefix of the desired ones with equal types, else DROP and CREATE); managed views
// of d no longer desired are dropped. A desired name held by a view that d does not manage is an
// error; other unmarked views are never touched. Run the statements in one transaction.
func PlanViews(d string, desired []View, live []ddl.LiveView) (ViewPlan, error) {
	var p ViewPlan
	byName := make(map[naming.Name]ddl.LiveView, len(live))
	for _, lv := range live {
		byName[lv.Name] = lv
	}
	want := make(map[naming.Name]bool, len(desired))
	for _, v := range desired {
		if want[v.Name] {
			return ViewPlan{}, fmt.Errorf("view %s is desired twice", v.Name)
		}
		want[v.Name] = true
		comment, err := v.Comment()
		if err != nil {
			return ViewPlan{}, err
		}
		lv, exists := byName[v.Name]
		switch {
		case !exists:
			st, err := CreateView(v, false)
			if err != nil {
				return ViewPlan{}, err
			}
			p.Statements = append(p.Statements, st...)
			p.Created = append(p.Created, v.Name)
		case !ddl.IsManaged(lv.Comment, d):
			return ViewPlan{}, fmt.Errorf("view %s exists and is not managed by platform %s", v.Name, d)
		case lv.Comment == comment:
			// up to date
		case replaceable(lv.Columns, v.resultColumns()):
			st, err := CreateView(v, true)
			if err != nil {
				return ViewPlan{}, err
			}
			p.Statements = append(p.Statements, st...)
			p.Replaced = append(p.Replaced, v.Name)
		default:
			st, err := CreateView(v, false)
			if err != nil {
				return ViewPlan{}, err
			}
			p.Statements = append(p.Statements, DropView(v.Name))
			p.Statements = append(p.Statements, st...)
			p.Recreated = append(p.Recreated, v.Name)
		}
	}
	for _, lv := range live {
		if want[lv.Name] || !ddl.IsManaged(lv.Comment, d) || !isViewComment(lv.Comment) {
			continue
		}
		p.Statements = append(p.Statements, DropView(lv.Name))
		p.Dropped = append(p.Dropped, lv.Name)
	}
	return p, nil
}

func isViewComment(c string) bool {
	return slices.Contains(strings.Fields(c), "kind=view")
}

// replaceable reports whether CREATE OR REPLACE VIEW can turn a view with columns old into one
// with columns new: old must be a prefix of new with equal names, types and collations.
func replaceable(old, new []ddl.LiveColumn) bool {
	if len(old) > len(new) {
		return false
	}
	for i, o := range old {
		n := new[i]
		if o.Name != n.Name || !ytypes.Equivalent(o.Type, n.Type) || o.Collation != n.Collation {
			return false
		}
	}
	return true
}
