package remoteingest

import (
	"strings"
	"testing"

	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/google/go-cmp/cmp"
)

func TestInline(t *testing.T) {
	ds := layout.Dataset{Store: "S", Name: "t", PrimaryKey: []string{"id"}, Columns: []layout.Column{
		{Name: "id", Type: "integer", Model: true}, {Name: `we"ird$1`, Type: "text", Model: true},
	}}
	r := mergesql.RemoteOf("P", ds)
	for _, tc := range []struct {
		name string
		st   mergesql.Stmt
		want []string // fragments of the inlined SQL
	}{
		{"live seed", mergesql.RemoteLiveSeed(r, 7, 3), []string{"(3)::integer, m.", ">= (7)::integer"}},
		{"live incremental", mergesql.RemoteLiveIncremental(r, 12, 15, 4), []string{"> (12)::integer", "(15)::integer - 1", "(4)::integer"}},
		{"forensic seed", mergesql.RemoteForensicSeed(r, 5), []string{`<= (5)::integer`, `>= (5)::integer THEN 2147483647`}},
		{"forensic incremental", mergesql.RemoteForensicIncremental(r, 3, 5), []string{`BETWEEN (3)::integer AND (5)::integer - 1`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Inline(tc.st)
			if err != nil {
				t.Fatal(err)
			}
			if placeholderLeft(got) || strings.Contains(got, "$1::") || strings.Contains(got, "$2::") || strings.Contains(got, "$3::") {
				t.Errorf("placeholder left in %s", got)
			}
			if !strings.Contains(got, `"we""ird$1"`) {
				t.Errorf("quoted identifier changed: %s", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q not in %s", w, got)
				}
			}
		})
	}
}

func TestInlineRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		st   mergesql.Stmt
		want string
	}{
		{"text argument", mergesql.Stmt{Name: "q", SQL: "SELECT $1::integer", Args: []any{"1; DROP TABLE x"}}, "argument $1 is string, not an int32"},
		{"missing argument", mergesql.Stmt{Name: "q", SQL: "SELECT $2::integer", Args: []any{int32(1)}}, "placeholder $2::integer has no argument"},
		{"untyped placeholder", mergesql.Stmt{Name: "q", SQL: "SELECT $1", Args: []any{int32(1)}}, "a placeholder is left"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Inline(tc.st)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	got, err := Inline(mergesql.Stmt{Name: "q", SQL: `SELECT '$1', "$2", $1::integer`, Args: []any{int32(-4)}})
	if diff := cmp.Diff(`SELECT '$1', "$2", (-4)::integer`, got); diff != "" || err != nil {
		t.Errorf("literals and identifiers (%v):\n%s", err, diff)
	}
}
