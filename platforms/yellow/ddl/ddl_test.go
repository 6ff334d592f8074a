package ddl_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// people is the representative dataset of the golden files.
func people() layout.Dataset {
	return layout.Dataset{
		Store: "Store1", Name: "people", PrimaryKey: []string{"id"},
		Columns: []layout.Column{
			{Name: "id", Type: "integer", NotNull: true, Model: true},
			{Name: "firstName", Type: "character varying(50)", NotNull: true, Model: true},
			{Name: "lastName", Type: "character varying(50)", Collation: "C", Model: true},
			{Name: "dob", Type: "date", Model: true},
			{Name: "balance", Type: "numeric(12,2)", Model: true},
			{Name: "tags", Type: "character varying(20)[]", Model: true},
		},
	}
}

func keyless() layout.Dataset {
	ds := people()
	ds.Name = "events"
	ds.PrimaryKey = nil
	return ds
}

const platform = "Test_DP"

func TestCreateGolden(t *testing.T) {
	tests := []struct {
		name  string
		table layout.Table
	}{
		{"staging_snapshot", layout.Staging(platform, people(), layout.Snapshot)},
		{"staging_cdc", layout.Staging(platform, people(), layout.CDC)},
		{"staging_remote_live", layout.Staging(platform, people(), layout.RemoteLive)},
		{"staging_remote_forensic", layout.Staging(platform, people(), layout.RemoteForensic)},
		{"staging_keyless", layout.Staging(platform, keyless(), layout.Snapshot)},
		{"cdcload", layout.CDCLoad(platform, people())},
		{"merge_live", layout.Merge(platform, people(), layout.LiveOnly)},
		{"merge_forensic", layout.Merge(platform, people(), layout.Forensic)},
		{"merge_live_keyless", layout.Merge(platform, keyless(), layout.LiveOnly)},
		{"merge_forensic_keyless", layout.Merge(platform, keyless(), layout.Forensic)},
		{"output", layout.OutputTable(platform, "Masking", people())},
		{"batch_counter", layout.BatchCounter(platform)},
		{"batch_metrics", layout.BatchMetrics(platform)},
		{"transformer_runs", layout.TransformerRuns(platform)},
		{"cdc_rejects", layout.CDCRejects(platform)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := ddl.CreateTable(tt.table)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "create_"+tt.name+".sql", strings.Join(st, ";\n")+";\n")
		})
	}
	t.Run("schema", func(t *testing.T) {
		st, err := ddl.CreateSchema(naming.PlatformSchema(platform), naming.OwnerRole(platform), layout.SchemaComment(platform))
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "create_schema.sql", strings.Join(st, ";\n")+";\n")
	})
}

func TestCreateRejectsBadTypes(t *testing.T) {
	ds := people()
	ds.Columns[3].Type = "date); DROP TABLE x; --"
	if _, err := ddl.CreateTable(layout.Merge(platform, ds, layout.LiveOnly)); err == nil {
		t.Error("no error for an injected type")
	}
}

func TestLiteral(t *testing.T) {
	tests := []struct {
		name, in, want string
		err            bool
	}{
		{"plain", "datasurface:managed kind=x", "'datasurface:managed kind=x'", false},
		{"quote", "it's", "'it''s'", false},
		{"backslash", `a\b`, `'a\b'`, false},
		{"nul", "a\x00b", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ddl.Literal(tt.in)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("Literal(%q) = %q, %v; want %q, error %t", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestIsManaged(t *testing.T) {
	tests := []struct {
		comment string
		want    bool
	}{
		{"datasurface:managed kind=merge platform=Test_DP dataset=S.T", true},
		{"datasurface:managed kind=merge platform=Test_DP2", false},
		{"datasurface:managed platform=Test_DP", true},
		{"managed platform=Test_DP", false},
		{"", false},
		{"xdatasurface:managed platform=Test_DP", false},
	}
	for _, tt := range tests {
		if got := ddl.IsManaged(tt.comment, platform); got != tt.want {
			t.Errorf("IsManaged(%q) = %t, want %t", tt.comment, got, tt.want)
		}
	}
}

func TestWidens(t *testing.T) {
	tests := []struct {
		from, to string
		want     bool
	}{
		{"smallint", "integer", true},
		{"integer", "bigint", true},
		{"int4", "integer", true},
		{"bigint", "integer", false},
		{"numeric(10,2)", "numeric(12,2)", true},
		{"numeric(10,2)", "numeric(11,3)", true},
		{"numeric(10,2)", "numeric(10,3)", false},
		{"numeric(10,2)", "numeric(12,1)", false},
		{"numeric(10,2)", "decimal(10,2)", true},
		{"real", "double precision", true},
		{"double precision", "real", false},
		{"date", "timestamp without time zone", true},
		{"timestamp without time zone", "timestamp with time zone", false},
		{"character varying(50)", "character varying(200)", true},
		{"character varying(200)", "character varying(50)", false},
		{"character varying(50)", "character varying", true},
		{"character varying", "character varying(50)", false},
		{"character(10)", "character varying(10)", true},
		{"character varying(10)", "character(12)", true},
		{"character(10)", "character(5)", false},
		{"integer[]", "bigint[]", true},
		{"integer[]", "bigint", false},
		{"character varying(5)[]", "character varying(9)[]", true},
		{"geography(Point,4326)", "geography(Geometry,4326)", true},
		{"geography(Point,4326)", "geography(Geometry,3857)", false},
		{"geography(Point,4326)", "geography(Polygon,4326)", false},
		{"jsonb", "bytea", false},
		{"integer", "character varying", false},
	}
	for _, tt := range tests {
		t.Run(tt.from+"->"+tt.to, func(t *testing.T) {
			if got := ddl.Widens(tt.from, tt.to); got != tt.want {
				t.Errorf("Widens(%q, %q) = %t, want %t", tt.from, tt.to, got, tt.want)
			}
		})
	}
}

// liveOf describes what CreateTable makes of t, as ReadTable would report it.
func liveOf(t layout.Table) *ddl.LiveTable {
	lt := &ddl.LiveTable{Name: t.Name, Comment: t.Comment(), Unlogged: t.Unlogged}
	pk := map[string]bool{}
	if t.PrimaryKey != nil {
		for _, c := range t.PrimaryKey.Columns {
			pk[c] = true
		}
		lt.Indexes = append(lt.Indexes, ddl.LiveIndex{Name: t.PrimaryKey.Name, Columns: t.PrimaryKey.Columns, Unique: true, Primary: true})
	}
	for _, c := range t.Columns {
		lt.Columns = append(lt.Columns, ddl.LiveColumn{Name: c.Name, Type: c.Type, Collation: c.Collation, NotNull: c.NotNull || pk[c.Name]})
	}
	for _, ix := range t.Indexes {
		li := ddl.LiveIndex{Name: ix.Name, Columns: ix.Columns, Unique: ix.Unique}
		if ix.LiveOnly {
			li.Predicate = "(ds_surf_batch_out = 2147483647)"
		}
		lt.Indexes = append(lt.Indexes, li)
	}
	return lt
}

func TestPlanTable(t *testing.T) {
	live := layout.Merge(platform, people(), layout.LiveOnly)
	forensic := layout.Merge(platform, people(), layout.Forensic)
	viewName := naming.LiveView(platform, "W", "G", "Store1", "people")
	managedView := "datasurface:managed kind=view platform=Test_DP workspace=W dsg=G dataset=Store1.people def=x"

	withColumns := func(t layout.Table, f func([]layout.Column) []layout.Column) layout.Table {
		t.Columns = f(append([]layout.Column(nil), t.Columns...))
		return t
	}
	tests := []struct {
		name     string
		want     layout.Table
		live     *ddl.LiveTable
		conflict string // substring of the conflict; "" = no error
	}{
		{name: "missing table", want: live, live: nil},
		{name: "up to date live", want: live, live: liveOf(live)},
		{name: "up to date forensic", want: forensic, live: liveOf(forensic)},
		{name: "up to date bookkeeping", want: layout.BatchMetrics(platform), live: liveOf(layout.BatchMetrics(platform))},
		{name: "synonym spellings are equal", want: live, live: func() *ddl.LiveTable {
			l := liveOf(live)
			l.Columns[1].Type = "VARCHAR(50)"
			l.Columns[4].Type = "decimal(12, 2)"
			return l
		}()},
		{name: "add nullable column", want: withColumns(forensic, func(c []layout.Column) []layout.Column {
			return append(c, layout.Column{Name: "email", Type: "character varying(100)", NotNull: true, Model: true})
		}), live: liveOf(forensic)},
		{name: "widen with managed view", want: live, live: func() *ddl.LiveTable {
			l := liveOf(live)
			l.Columns[1].Type = "character varying(20)"
			l.Columns[4].Type = "numeric(10,2)"
			l.Dependents = []ddl.Dependent{{View: viewName, Comment: managedView, Columns: []string{"id", "firstName", "balance"}}}
			return l
		}()},
		{name: "widen key column", want: forensic, live: func() *ddl.LiveTable {
			l := liveOf(forensic)
			l.Columns[0].Type = "smallint"
			return l
		}()},
		{name: "view on other columns is kept", want: live, live: func() *ddl.LiveTable {
			l := liveOf(live)
			l.Columns[1].Type = "character varying(20)"
			l.Dependents = []ddl.Dependent{{View: naming.Name{Schema: "x", Name: "hand_made"}, Comment: "", Columns: []string{"id"}}}
			return l
		}()},
		{name: "unmanaged view blocks widening", want: live, conflict: "not managed by platform", live: func() *ddl.LiveTable {
			l := liveOf(live)
			l.Columns[1].Type = "character varying(20)"
			l.Dependents = []ddl.Dependent{{View: naming.Name{Schema: "x", Name: "hand_made"}, Columns: []string{"firstName"}}}
			return l
		}()},
		{name: "narrowing", want: live, conflict: "not a widening", live: func() *ddl.LiveTable {
			l := liveOf(live)
			l.Columns[1].Type = "character varying(80)"
			return l
		}()},
		{name: "type change", want: live, conflict: "not a widening", live: func() *ddl.LiveTable {
			l := liveOf(live)
			l.Columns[3].Type = "text"
			return l
		}()},
		{name: "collation change", want: live, conflict: "collation", live: func() *ddl.LiveTable {
			l := liveOf(live)
			l.Columns[2].Collation = ""
			return l
		}()},
		{name: "column left the model", want: live, live: func() *ddl.LiveTable {
			l := liveOf(live)
			l.Columns = append(l.Columns, ddl.LiveColumn{Name: "legacy", Type: "text", NotNull: true}, ddl.LiveColumn{Name: "old_nullable", Type: "text"})
			return l
		}()},
		{name: "model column became nullable", want: withColumns(live, func(c []layout.Column) []layout.Column {
			c[1].NotNull = false
			return c
		}), live: liveOf(live)},
		{name: "primary key differs", want: live, conflict: "primary key", live: func() *ddl.LiveTable {
			l := liveOf(live)
			l.Indexes[0].Columns = []string{"id", "firstName"}
			return l
		}()},
		{name: "primary key missing", want: live, conflict: "primary key", live: func() *ddl.LiveTable {
			l := liveOf(live)
			l.Indexes = l.Indexes[1:]
			return l
		}()},
		{name: "missing index is created", want: forensic, live: func() *ddl.LiveTable {
			l := liveOf(forensic)
			l.Indexes = l.Indexes[:len(l.Indexes)-1]
			return l
		}()},
		{name: "unique index differs", want: forensic, conflict: "index", live: func() *ddl.LiveTable {
			l := liveOf(forensic)
			l.Indexes[2].Predicate = ""
			return l
		}()},
		{name: "unmanaged table", want: live, conflict: "not managed", live: func() *ddl.LiveTable {
			l := liveOf(live)
			l.Comment = ""
			return l
		}()},
	}
	var out strings.Builder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ddl.PlanTable(tt.want, tt.live)
			if tt.conflict != "" {
				var ce *ddl.ConflictError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.conflict) {
					t.Fatalf("error = %v, want a conflict containing %q", err, tt.conflict)
				}
				out.WriteString("-- " + tt.name + "\n-- error: " + err.Error() + "\n\n")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			out.WriteString("-- " + tt.name + "\n")
			for _, s := range p.Statements {
				out.WriteString(s + ";\n")
			}
			out.WriteString("\n")
		})
	}
	golden(t, "plan_table.sql", out.String())
}
