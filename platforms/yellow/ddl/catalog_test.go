package ddl_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/datasurface/datasurface/kit/pg"
	"github.com/datasurface/datasurface/kit/pgtest"
	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/hashing"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Shutdown()
	os.Exit(code)
}

func connect(t *testing.T) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hashing.SessionSettings() {
		cfg.RuntimeParams[k] = v
	}
	cfg.RuntimeParams["search_path"] = ""
	conn, err := pgx.ConnectConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func run(t *testing.T, conn *pgx.Conn, stmts []string) {
	t.Helper()
	err := pg.InTx(t.Context(), conn, func(tx pgx.Tx) error {
		for _, s := range stmts {
			if _, err := tx.Exec(t.Context(), s); err != nil {
				return errors.Join(errors.New(s), err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func reconcile(t *testing.T, conn *pgx.Conn, want layout.Table) ddl.Plan {
	t.Helper()
	live, err := ddl.ReadTable(t.Context(), conn, want.Name)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ddl.PlanTable(want, live)
	if err != nil {
		t.Fatal(err)
	}
	run(t, conn, p.Statements)
	return p
}

func createSchema(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	st, err := ddl.CreateSchema(naming.PlatformSchema(platform), "", layout.SchemaComment(platform))
	if err != nil {
		t.Fatal(err)
	}
	run(t, conn, st)
}

// TestCreateThenNoChange creates every table kind on PostgreSQL and checks that the catalog read
// back matches the layout: a second reconcile is empty.
func TestCreateThenNoChange(t *testing.T) {
	conn := connect(t)
	createSchema(t, conn)
	tables := layout.Bookkeeping(platform)
	tables = append(tables, layout.DatasetTables(platform, people(), layout.CDC, layout.LiveOnly)...)
	ev := keyless()
	tables = append(tables, layout.DatasetTables(platform, ev, layout.RemoteForensic, layout.Forensic)...)
	fx := people()
	fx.Name = "people_f"
	tables = append(tables, layout.DatasetTables(platform, fx, layout.Snapshot, layout.Forensic)...)
	for _, tb := range tables {
		t.Run(tb.Name.Name, func(t *testing.T) {
			if p := reconcile(t, conn, tb); !p.Created {
				t.Fatalf("first reconcile did not create the table: %+v", p)
			}
			live, err := ddl.ReadTable(t.Context(), conn, tb.Name)
			if err != nil {
				t.Fatal(err)
			}
			if live.Unlogged != tb.Unlogged {
				t.Errorf("unlogged = %t, want %t", live.Unlogged, tb.Unlogged)
			}
			p, err := ddl.PlanTable(tb, live)
			if err != nil {
				t.Fatal(err)
			}
			if !p.Empty() {
				t.Errorf("second plan is not empty:\n%v", p.Statements)
			}
		})
	}
	exists, comment, err := ddl.ReadSchema(t.Context(), conn, naming.PlatformSchema(platform))
	if err != nil || !exists || comment != layout.SchemaComment(platform) {
		t.Errorf("ReadSchema = %t, %q, %v", exists, comment, err)
	}
	missing, err := ddl.ReadTable(t.Context(), conn, naming.Name{Schema: "test_dp", Name: "nope"})
	if err != nil || missing != nil {
		t.Errorf("ReadTable of a missing table = %v, %v", missing, err)
	}
}

// TestSchemaChangeOnData adds a nullable column and widens columns of merge tables that hold
// rows, with a managed view on an altered column and an unmanaged view on another one: the
// managed view is dropped, the unmanaged one kept, the hashes equal a fresh SQL computation and a
// second reconcile is empty.
func TestSchemaChangeOnData(t *testing.T) {
	for _, m := range []layout.Milestoning{layout.LiveOnly, layout.Forensic} {
		t.Run(m.String(), func(t *testing.T) {
			conn := connect(t)
			ctx := t.Context()
			createSchema(t, conn)
			old := people()
			old.Columns[1].Type = "character varying(20)" // firstName
			old.Columns[4].Type = "numeric(10,2)"         // balance
			oldT := layout.Merge(platform, old, m)
			reconcile(t, conn, oldT)

			// Rows with hashes from the SQL form (forensic: one closed version too).
			all, _ := hashing.AllHashSQL("", ddl.HashColumns(oldT))
			key, _ := hashing.KeyHashSQL("", ddl.HashColumns(oldT), oldT.Key)
			tbl := ddl.Ident(oldT.Name)
			ins := `INSERT INTO ` + tbl + ` ("id", "firstName", "lastName", "dob", "balance", "tags", ` + batchCols(m) + `) VALUES
				(1, 'ann', 'a', '2000-01-02', 10.5, '{x,y}', ` + batchVals(m, 1) + `),
				(2, 'bob', NULL, NULL, NULL, NULL, ` + batchVals(m, 2) + `)`
			stmts := []string{ins}
			if m == layout.Forensic {
				stmts = append(stmts, `INSERT INTO `+tbl+` ("id", "firstName", "lastName", "balance", "ds_surf_all_hash", "ds_surf_key_hash", "ds_surf_batch_in", "ds_surf_batch_out")
					VALUES (1, 'ann', 'old', 1, '\x03', '\x03', 0, 0)`)
			}
			stmts = append(stmts, `UPDATE `+tbl+` SET "ds_surf_all_hash" = `+all+`, "ds_surf_key_hash" = `+key)
			run(t, conn, stmts)

			viewSchema := naming.WorkspaceSchema(platform, "W")
			managed := naming.LiveView(platform, "W", "G", "Store1", "people")
			run(t, conn, []string{
				`CREATE SCHEMA ` + ddl.Quote(viewSchema),
				`CREATE VIEW ` + ddl.Ident(managed) + ` AS SELECT m."id", m."firstName" FROM ` + tbl + ` m`,
				`COMMENT ON VIEW ` + ddl.Ident(managed) + ` IS 'datasurface:managed kind=view platform=Test_DP workspace=W dsg=G dataset=Store1.people def=x'`,
				`CREATE VIEW ` + ddl.Quote(viewSchema) + `.hand_made AS SELECT m."id", m."dob" FROM ` + tbl + ` m`,
			})

			want := people()
			want.Columns = append(want.Columns, layout.Column{Name: "email", Type: "character varying(100)", NotNull: true, Model: true})
			wantT := layout.Merge(platform, want, m)
			p := reconcile(t, conn, wantT)
			if diff := cmp.Diff([]string{"email"}, p.Added); diff != "" {
				t.Errorf("added (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]naming.Name{managed}, p.DroppedViews); diff != "" {
				t.Errorf("dropped views (-want +got):\n%s", diff)
			}
			if len(p.Widened) != 2 || !p.Rehash {
				t.Errorf("plan = %+v, want two widenings and a rehash", p)
			}

			live, err := ddl.ReadTable(ctx, conn, wantT.Name)
			if err != nil {
				t.Fatal(err)
			}
			second, err := ddl.PlanTable(wantT, live)
			if err != nil || !second.Empty() {
				t.Fatalf("second plan = %v, %v; want empty", second.Statements, err)
			}
			if !slices.ContainsFunc(live.Dependents, func(d ddl.Dependent) bool { return d.View.Name == "hand_made" }) {
				t.Errorf("the unmanaged view on an unaltered column is gone: %+v", live.Dependents)
			}
			col, _ := live.Column("email")
			if col.NotNull || col.Type != "character varying(100)" {
				t.Errorf("email column = %+v", col)
			}

			// Hashes: live rows equal a fresh computation with the new types; closed versions
			// keep their old all hash.
			newAll, _ := hashing.AllHashSQL("", ddl.HashColumns(wantT))
			newKey, _ := hashing.KeyHashSQL("", ddl.HashColumns(wantT), wantT.Key)
			var stale int
			q := `SELECT count(*) FROM ` + tbl + ` WHERE ("ds_surf_all_hash" <> ` + newAll + ` OR "ds_surf_key_hash" <> ` + newKey + `)`
			if m == layout.Forensic {
				q += ` AND "ds_surf_batch_out" = 2147483647`
			}
			if err := conn.QueryRow(ctx, q).Scan(&stale); err != nil {
				t.Fatal(err)
			}
			if stale != 0 {
				t.Errorf("%d live rows have stale hashes", stale)
			}
			var bal string
			if err := conn.QueryRow(ctx, `SELECT "balance"::text FROM `+tbl+` WHERE "id" = 1 ORDER BY 1 DESC LIMIT 1`).Scan(&bal); err != nil || bal != "10.50" {
				t.Errorf("balance after widening = %q, %v", bal, err)
			}
		})
	}
}

func batchCols(m layout.Milestoning) string {
	if m == layout.Forensic {
		return `"ds_surf_all_hash", "ds_surf_key_hash", "ds_surf_batch_in"`
	}
	return `"ds_surf_batch_id", "ds_surf_all_hash", "ds_surf_key_hash"`
}

func batchVals(m layout.Milestoning, n int) string {
	h := fmt.Sprintf(`'\x%02x'`, n)
	if m == layout.Forensic {
		return h + ", " + h + ", 1"
	}
	return "1, " + h + ", " + h
}

// TestUnmanagedViewBlocksWidening: a hand-made view on a column to widen fails the reconcile and
// nothing is altered.
func TestUnmanagedViewBlocksWidening(t *testing.T) {
	conn := connect(t)
	createSchema(t, conn)
	old := people()
	old.Columns[1].Type = "character varying(20)"
	oldT := layout.Merge(platform, old, layout.LiveOnly)
	reconcile(t, conn, oldT)
	run(t, conn, []string{`CREATE VIEW "test_dp".hand_made AS SELECT "firstName" FROM ` + ddl.Ident(oldT.Name)})
	live, err := ddl.ReadTable(t.Context(), conn, oldT.Name)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ddl.PlanTable(layout.Merge(platform, people(), layout.LiveOnly), live)
	var ce *ddl.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("error = %v, want a conflict", err)
	}
	t.Log(err)
}
