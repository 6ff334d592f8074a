package mergesql_test

import (
	"testing"

	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/google/go-cmp/cmp"
)

func ledger() layout.Dataset {
	return layout.Dataset{
		Store: "Store1", Name: "ledger", PrimaryKey: []string{"id"},
		Columns: []layout.Column{
			{Name: "id", Type: "integer", NotNull: true, Model: true},
			{Name: "owner", Type: "character varying(10)", Model: true},
			{Name: "balance", Type: "numeric(10,2)", Model: true},
		},
	}
}

// ledgerV2 widens owner and balance (whose text changes: 10.00 → 10.000) and adds a nullable
// column.
func ledgerV2() layout.Dataset {
	ds := ledger()
	ds.Columns = []layout.Column{
		{Name: "id", Type: "integer", NotNull: true, Model: true},
		{Name: "owner", Type: "character varying(40)", Model: true},
		{Name: "balance", Type: "numeric(12,3)", Model: true},
		{Name: "email", Type: "character varying(100)", NotNull: true, Model: true},
	}
	return ds
}

// TestSchemaChangeThenMerge (yellow.md §11): tables holding data are reconciled to a model that
// adds a nullable column and widens two columns; the re-hashed merge table sees the unchanged
// source as unchanged, and the next changes merge correctly.
func TestSchemaChangeThenMerge(t *testing.T) {
	for _, m := range []layout.Milestoning{layout.LiveOnly, layout.Forensic} {
		t.Run(m.String(), func(t *testing.T) {
			f := newFixture(t, connect(t), "Test_DP", ledger(), layout.Snapshot, m)
			f.batch(r("1", "ann", "10.00"), r("2", "bob", "20.50"), r("3", "cy", "NULL"))
			_, c := f.batch(r("1", "ann", "11.00"), r("2", "bob", "20.50"), r("3", "cy", "NULL"))
			if diff := cmp.Diff(counts(0, 1, 0), c); diff != "" {
				t.Fatalf("batch 2 (-want +got):\n%s", diff)
			}

			plans := f.reconcile(ledgerV2())
			for _, p := range plans {
				switch p.Table {
				case f.merge.Name:
					if !p.Rehash || len(p.Widened) != 2 || len(p.Added) != 1 {
						t.Errorf("merge plan = %+v", p)
					}
				case f.staging.Name:
					if p.Rehash || len(p.Widened) != 2 || len(p.Added) != 1 {
						t.Errorf("staging plan = %+v", p)
					}
				default:
					if !p.Empty() {
						t.Errorf("plan of %s not empty: %v", p.Table, p.Statements)
					}
				}
			}
			if again := f.reconcile(ledgerV2()); !allEmpty(again) {
				t.Errorf("second reconcile not empty")
			}

			// The same source under the new schema: nothing changed.
			_, c = f.batch(r("1", "ann", "11.000", "NULL"), r("2", "bob", "20.500", "NULL"), r("3", "cy", "NULL", "NULL"))
			if diff := cmp.Diff(counts(0, 0, 0), c); diff != "" {
				t.Errorf("unchanged source after the schema change (-want +got):\n%s", diff)
			}
			// Real changes: the new column, a value only the wider type holds, a delete.
			_, c = f.batch(r("1", "ann", "11.000", "ann@example.com"), r("2", "bob-with-a-long-name", "20.505", "NULL"))
			if diff := cmp.Diff(counts(0, 2, 1), c); diff != "" {
				t.Errorf("batch 4 (-want +got):\n%s", diff)
			}
			want := []string{"1 ann 11.000 ann@example.com [4]", "2 bob-with-a-long-name 20.505 NULL [4]"}
			if m == layout.Forensic {
				want = []string{
					"1 ann 10.000 NULL [1,1]", "1 ann 11.000 NULL [2,3]", "1 ann 11.000 ann@example.com [4,L]",
					"2 bob 20.500 NULL [1,3]", "2 bob-with-a-long-name 20.505 NULL [4,L]",
					"3 cy NULL NULL [1,3]",
				}
			}
			if diff := cmp.Diff(want, f.table()); diff != "" {
				t.Errorf("merge table (-want +got):\n%s", diff)
			}
			f.checkInvariants()
		})
	}
}

func allEmpty[P interface{ Empty() bool }](ps []P) bool {
	for _, p := range ps {
		if !p.Empty() {
			return false
		}
	}
	return true
}
