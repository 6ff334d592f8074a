package mergesql_test

import (
	"context"
	"strings"
	"testing"

	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

func customers() layout.Dataset {
	return layout.Dataset{
		Store: "Store1", Name: "customers", PrimaryKey: []string{"id"},
		Columns: []layout.Column{
			{Name: "id", Type: "integer", NotNull: true, Model: true},
			{Name: "name", Type: "character varying(20)", Collation: "C", Model: true},
			{Name: "balance", Type: "numeric(10,2)", Model: true},
		},
	}
}

type viewEnv struct {
	t      *testing.T
	f      *fixture
	schema string
}

func (e *viewEnv) desired(masked map[string]bool, kinds ...mergesql.ViewKind) []mergesql.View {
	e.t.Helper()
	live, err := ddl.ReadTable(context.Background(), e.f.conn, e.f.merge.Name)
	if err != nil {
		e.t.Fatal(err)
	}
	cols := mergesql.ViewColumns(e.f.merge, live, masked)
	var out []mergesql.View
	for _, k := range kinds {
		v, err := mergesql.NewView(k, "Consumer1", "LiveDSG", e.f.merge, cols)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// reconcile plans and applies the views of the workspace schema; it returns the plan.
func (e *viewEnv) reconcile(desired []mergesql.View) mergesql.ViewPlan {
	e.t.Helper()
	ctx := context.Background()
	var p mergesql.ViewPlan
	inTx(e.t, e.f.conn, func(tx pgx.Tx) error {
		live, err := ddl.ReadViews(ctx, tx, e.schema)
		if err != nil {
			return err
		}
		if p, err = mergesql.PlanViews(e.f.d, desired, live); err != nil {
			return err
		}
		return execStrings(ctx, tx, p.Statements)
	})
	return p
}

func (e *viewEnv) query(n naming.Name) []string {
	e.t.Helper()
	rows, err := e.f.conn.Query(context.Background(), `SELECT v::text FROM `+ddl.Ident(n)+` v ORDER BY 1`)
	if err != nil {
		e.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *viewEnv) columns(n naming.Name) []ddl.LiveColumn {
	e.t.Helper()
	views, err := ddl.ReadViews(context.Background(), e.f.conn, n.Schema)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, v := range views {
		if v.Name == n {
			return v.Columns
		}
	}
	e.t.Fatalf("view %s not found", n)
	return nil
}

func names(ns ...naming.Name) []naming.Name { return ns }

// TestViews reconciles the workspace views of yellow.md §12 through a model's life: created with
// a masked column (security.md §5), unchanged, unmasked (CREATE OR REPLACE), a column added
// (CREATE OR REPLACE, appended; the full view is recreated), a column widened (dropped by the table reconcile, created
// again), the full view no longer wanted (dropped); unmanaged views are never touched.
func TestViews(t *testing.T) {
	f := newFixture(t, connect(t), "YellowLive", customers(), layout.Snapshot, layout.Forensic)
	e := &viewEnv{t: t, f: f, schema: naming.WorkspaceSchema("YellowLive", "Consumer1")}
	f.batch(r("1", "ann", "10.00"), r("2", "bob", "NULL"))
	f.batch(r("1", "ann", "15.00"), r("3", "cy", "30.00"))

	st, err := ddl.CreateSchema(e.schema, "", "datasurface:managed kind=workspace platform=YellowLive workspace=Consumer1")
	if err != nil {
		t.Fatal(err)
	}
	inTx(t, f.conn, func(tx pgx.Tx) error {
		return execStrings(context.Background(), tx, append(st, `CREATE VIEW `+ddl.Quote(e.schema)+`.hand_made AS SELECT 1 AS one`))
	})
	liveName := naming.LiveView("YellowLive", "Consumer1", "LiveDSG", "Store1", "customers")
	fullName := naming.FullView("YellowLive", "Consumer1", "LiveDSG", "Store1", "customers")
	if liveName.Name != "yellowlive_consumer1_livedsg_store1_customers_view_live" {
		t.Fatalf("live view name %s", liveName)
	}

	masked := map[string]bool{"name": true}
	p := e.reconcile(e.desired(masked, mergesql.LiveView, mergesql.FullView))
	if diff := cmp.Diff(names(liveName, fullName), p.Created); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"(1,,15.00)", "(3,,30.00)"}, e.query(liveName)); diff != "" {
		t.Errorf("masked live view (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"(1,,10.00,1,1)", "(1,,15.00,2,2147483647)", "(2,,,1,1)", "(3,,30.00,2,2147483647)"}, e.query(fullName)); diff != "" {
		t.Errorf("masked full view (-want +got):\n%s", diff)
	}
	wantCols := []ddl.LiveColumn{
		{Name: "id", Type: "integer"},
		{Name: "name", Type: "character varying(20)", Collation: "C"},
		{Name: "balance", Type: "numeric(10,2)"},
	}
	if diff := cmp.Diff(wantCols, e.columns(liveName)); diff != "" {
		t.Errorf("masked view columns keep type and collation (-want +got):\n%s", diff)
	}

	if p := e.reconcile(e.desired(masked, mergesql.LiveView, mergesql.FullView)); !p.Empty() {
		t.Errorf("second reconcile: %v", p.Statements)
	}

	p = e.reconcile(e.desired(nil, mergesql.LiveView, mergesql.FullView))
	if diff := cmp.Diff(names(liveName, fullName), p.Replaced); diff != "" {
		t.Errorf("unmasking replaced (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"(1,ann,15.00)", "(3,cy,30.00)"}, e.query(liveName)); diff != "" {
		t.Errorf("unmasked live view (-want +got):\n%s", diff)
	}

	// A column is added: the views are replaced with the column appended.
	added := customers()
	added.Columns = append(added.Columns, layout.Column{Name: "email", Type: "character varying(50)", Model: true})
	f.reconcile(added)
	p = e.reconcile(e.desired(nil, mergesql.LiveView, mergesql.FullView))
	if diff := cmp.Diff(names(liveName), p.Replaced); diff != "" {
		t.Errorf("column added: replaced (-want +got):\n%s", diff)
	}
	// The full view ends with ds_surf_batch_in/out, so a model column added before them cannot
	// be expressed by CREATE OR REPLACE: it is dropped and created in the same transaction.
	if diff := cmp.Diff(names(fullName), p.Recreated); diff != "" {
		t.Errorf("column added: recreated (-want +got):\n%s", diff)
	}
	if got := e.columns(fullName); len(got) != 6 || got[3].Name != "email" {
		t.Errorf("full view columns after adding email: %+v", got)
	}

	// A column is widened: the table reconcile drops the managed views, the view reconcile
	// creates them again.
	widened := added
	widened.Columns = append([]layout.Column(nil), added.Columns...)
	widened.Columns[1].Type = "character varying(40)"
	var dropped []naming.Name
	for _, tp := range f.reconcile(widened) {
		dropped = append(dropped, tp.DroppedViews...)
	}
	if diff := cmp.Diff(names(fullName, liveName), dropped); diff != "" {
		t.Errorf("widening dropped (-want +got):\n%s", diff)
	}
	p = e.reconcile(e.desired(map[string]bool{"balance": true}, mergesql.LiveView, mergesql.FullView))
	if diff := cmp.Diff(names(liveName, fullName), p.Created); diff != "" {
		t.Errorf("after widening: created (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"(1,ann,,)", "(3,cy,,)"}, e.query(liveName)); diff != "" {
		t.Errorf("live view after widening (-want +got):\n%s", diff)
	}

	// The full view is no longer wanted (e.g. the DSG no longer requires FORENSIC).
	p = e.reconcile(e.desired(map[string]bool{"balance": true}, mergesql.LiveView))
	if diff := cmp.Diff(names(fullName), p.Dropped); diff != "" {
		t.Errorf("dropped (-want +got):\n%s", diff)
	}
	views, err := ddl.ReadViews(context.Background(), f.conn, e.schema)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, v := range views {
		left = append(left, v.Name.Name)
	}
	if diff := cmp.Diff([]string{"hand_made", liveName.Name}, left); diff != "" {
		t.Errorf("views left (-want +got):\n%s", diff)
	}

	// A desired name held by an unmanaged view is an error.
	inTx(t, f.conn, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `COMMENT ON VIEW `+ddl.Ident(liveName)+` IS 'hand made'`)
		return err
	})
	live, err := ddl.ReadViews(context.Background(), f.conn, e.schema)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mergesql.PlanViews("YellowLive", e.desired(nil, mergesql.LiveView), live); err == nil || !strings.Contains(err.Error(), "not managed") {
		t.Errorf("unmanaged view with a desired name: %v", err)
	}
}

func TestLiveOnlyViewAndFullRefused(t *testing.T) {
	f := newFixture(t, connect(t), "YellowLive", customers(), layout.Snapshot, layout.LiveOnly)
	e := &viewEnv{t: t, f: f, schema: naming.WorkspaceSchema("YellowLive", "Consumer1")}
	f.batch(r("1", "ann", "10.00"), r("2", "bob", "NULL"))
	st, err := ddl.CreateSchema(e.schema, "", "datasurface:managed kind=workspace platform=YellowLive workspace=Consumer1")
	if err != nil {
		t.Fatal(err)
	}
	inTx(t, f.conn, func(tx pgx.Tx) error { return execStrings(context.Background(), tx, st) })
	e.reconcile(e.desired(map[string]bool{"id": true}, mergesql.LiveView))
	if diff := cmp.Diff([]string{"(,ann,10.00)", "(,bob,)"}, e.query(naming.LiveView("YellowLive", "Consumer1", "LiveDSG", "Store1", "customers"))); diff != "" {
		t.Errorf("live-only view with a masked key (-want +got):\n%s", diff)
	}
	if _, err := mergesql.NewView(mergesql.FullView, "Consumer1", "LiveDSG", f.merge, nil); err == nil {
		t.Error("full view of a live-only table: no error")
	}
}

func TestMaskedColumns(t *testing.T) {
	cl := func(ts ...modelv1.ClassificationType) []*modelv1.Classification {
		var out []*modelv1.Classification
		for _, x := range ts {
			out = append(out, &modelv1.Classification{Type: x})
		}
		return out
	}
	ds := &modelv1.Dataset{Columns: []*modelv1.Column{
		{Name: "id"},
		{Name: "name", Classifications: cl(modelv1.ClassificationType_CLASSIFICATION_TYPE_PC1)},
		{Name: "pub", Classifications: cl(modelv1.ClassificationType_CLASSIFICATION_TYPE_PUB)},
		{Name: "mixed", Classifications: cl(modelv1.ClassificationType_CLASSIFICATION_TYPE_PUB, modelv1.ClassificationType_CLASSIFICATION_TYPE_MNPI)},
	}}
	approved := []modelv1.ClassificationType{modelv1.ClassificationType_CLASSIFICATION_TYPE_PUB, modelv1.ClassificationType_CLASSIFICATION_TYPE_IP}
	if diff := cmp.Diff(map[string]bool{"name": true, "mixed": true}, mergesql.MaskedColumns(ds, approved)); diff != "" {
		t.Errorf("MaskedColumns (-want +got):\n%s", diff)
	}
}
