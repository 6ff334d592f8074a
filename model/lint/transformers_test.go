package lint

import (
	"testing"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/google/go-cmp/cmp"
)

func TestCheckSelectQuery(t *testing.T) {
	tests := []struct {
		name         string
		query        string
		placeholders []string
		reason       string
	}{
		{"simple select", "SELECT 1", nil, ""},
		{"trailing semicolon", "select a from t;", nil, ""},
		{"trailing semicolon and comment", "SELECT 1; -- done", nil, ""},
		{"placeholders", "SELECT c.id FROM {{ inputs.SalesDB.customers }} c JOIN {{inputs.SalesDB.orders}} o ON o.c = c.id",
			[]string{"inputs.SalesDB.customers", "inputs.SalesDB.orders"}, ""},
		{"placeholder repeated once", "SELECT * FROM {{ g.s.d }} a, {{ g . s . d }} b", []string{"g.s.d"}, ""},
		{"malformed placeholder kept as written", "SELECT * FROM {{ g.s }}", []string{"g.s"}, ""},
		{"placeholder inside a string is text", "SELECT '{{ g.s.d }}'", nil, ""},
		{"with select", "WITH a AS (SELECT 1 AS x), b(y) AS MATERIALIZED (SELECT x FROM a) SELECT * FROM b", nil, ""},
		{"with recursive search cycle", "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM t) SEARCH DEPTH FIRST BY n SET ord CYCLE n SET is_cycle USING path SELECT * FROM t", nil, ""},
		{"with not materialized", "WITH a AS NOT MATERIALIZED (SELECT 1) SELECT * FROM a", nil, ""},
		{"parenthesised union", "(SELECT 1) UNION (SELECT 2)", nil, ""},
		{"with ordinality is not a CTE", "SELECT * FROM unnest(ARRAY[1,2]) WITH ORDINALITY AS t(x, n)", nil, ""},
		{"timestamp with time zone", "SELECT CAST(x AS timestamp with time zone) FROM {{ g.s.d }}", []string{"g.s.d"}, ""},
		{"keywords in strings and identifiers", `SELECT 'DELETE; INSERT INTO x', "into", $$ FOR UPDATE; $$, $tag$ ; $tag$ FROM t`, nil, ""},
		{"escape string with quote", `SELECT E'it\'s; fine'`, nil, ""},
		{"doubled quotes", `SELECT 'it''s;', "a""b;" FROM t`, nil, ""},
		{"unicode strings", `SELECT U&'d\0061t\+000061', U&"d;a" FROM t`, nil, ""},
		{"nested block comment", "SELECT /* a /* ; */ ; */ 1", nil, ""},
		{"update as column name", "SELECT update, delete FROM t", nil, ""},
		{"substring for", "SELECT substring(x FROM 1 FOR 3) FROM t", nil, ""},
		{"positional parameter", "SELECT $1", nil, ""},
		{"empty", "  -- nothing\n", nil, "it is empty"},
		{"only semicolon", ";", nil, "it is empty"},
		{"two statements", "SELECT 1; SELECT 2", nil, "';' is only allowed at the end"},
		{"two trailing semicolons", "SELECT 1;;", nil, "';' is only allowed at the end"},
		{"injection after semicolon", "SELECT 1; DROP TABLE t", nil, "';' is only allowed at the end"},
		{"not a select", "DELETE FROM t", nil, "it starts with 'DELETE', not SELECT or WITH"},
		{"values", "VALUES (1)", nil, "it starts with 'VALUES', not SELECT or WITH"},
		{"data-modifying cte", "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", nil, "WITH query 'd' is a data-modifying DELETE"},
		{"data-modifying cte later", "WITH a AS (SELECT 1), \"u\" AS ((update t set x = 1 returning x)) SELECT * FROM a", nil, "WITH query '\"u\"' is a data-modifying UPDATE"},
		{"nested data-modifying cte", "SELECT * FROM (WITH m AS (MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE) SELECT 1) x", nil, "WITH query 'm' is a data-modifying MERGE"},
		{"with insert main", "WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a", nil, "WITH must be followed by SELECT, found data-modifying INSERT"},
		{"with values main", "WITH a AS (SELECT 1) VALUES (1)", nil, "WITH must be followed by SELECT, found 'VALUES'"},
		{"with nothing after", "WITH a AS (SELECT 1)", nil, "WITH must be followed by SELECT"},
		{"malformed with", "WITH SELECT 1", nil, "malformed WITH clause"},
		{"select into", "SELECT * INTO newtable FROM t", nil, "SELECT … INTO is not allowed"},
		{"for update", "SELECT * FROM t FOR UPDATE", nil, "locking clause FOR UPDATE… is not allowed (no FOR UPDATE/SHARE)"},
		{"for no key update", "SELECT * FROM t for no key update", nil, "locking clause FOR NO… is not allowed (no FOR UPDATE/SHARE)"},
		{"for key share", "SELECT * FROM t FOR KEY SHARE", nil, "locking clause FOR KEY… is not allowed (no FOR UPDATE/SHARE)"},
		{"for share", "SELECT * FROM t FOR SHARE OF t", nil, "locking clause FOR SHARE… is not allowed (no FOR UPDATE/SHARE)"},
		{"unbalanced", "SELECT (1", nil, "unbalanced parentheses"},
		{"unbalanced close", "SELECT 1)", nil, "unbalanced parentheses"},
		{"unterminated string", "SELECT 'abc", nil, "unterminated string literal"},
		{"unterminated escape string", `SELECT E'abc\'`, nil, "unterminated string literal"},
		{"unterminated identifier", `SELECT "abc`, nil, "unterminated quoted identifier"},
		{"unterminated comment", "SELECT 1 /* /* */", nil, "unterminated comment"},
		{"unterminated dollar quote", "SELECT $x$ abc $y$", nil, "unterminated dollar-quoted string"},
		{"unterminated placeholder", "SELECT * FROM {{ g.s.d", nil, "unterminated placeholder '{{'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, reason := checkSelectQuery(tt.query)
			if diff := cmp.Diff(tt.reason, reason); diff != "" {
				t.Errorf("reason (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.placeholders, ps); diff != "" {
				t.Errorf("placeholders (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzCheckSelectQuery(f *testing.F) {
	for _, s := range []string{"SELECT 1", "WITH a AS (SELECT 1) SELECT * FROM a", "SELECT '{{ x }}' FROM {{ g.s.d }}", "$a$ $a", "E'\\'", "/* /* */"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		checkSelectQuery(q) // must not panic
	})
}

func TestTransformerRules(t *testing.T) {
	const (
		x   = "workspace[X]/transformer"
		out = x + "#outputDatastore"
		sql = x + "#code.sql"
	)
	outDataset := func(name string) *modelv1.Dataset {
		return obDataset(name, obCol("id", obT("Integer"), false, obIP))
	}
	obRun(t, []obCase{
		{
			name: "clean transformer workspace",
			mutate: func(m *modelv1.Model) {
				obTransformer(m, "X", "O", map[string]string{"A": "SELECT id FROM {{ in.S.D }}"}, outDataset("A"))
			},
		},
		{
			name: "090 transformer dataset group declares platformRequirements",
			mutate: func(m *modelv1.Model) {
				ws := obTransformer(m, "X", "O", map[string]string{"A": "SELECT 1"}, outDataset("A"))
				ws.DatasetGroups[0].PlatformRequirements = &modelv1.PlatformRequirements{Milestoning: modelv1.Milestoning_MILESTONING_FORENSIC}
			},
			keys: []string{"workspace[X]/dsg[in]#platformRequirements"},
			want: []obProblem{obE(RuleTransformerWorkspaceAssign, "workspace[X]/dsg[in]", "workspace[X]/dsg[in]#platformRequirements",
				"'X' has a transformer, so dataset group 'in' must not declare platformRequirements")},
		},
		{
			name: "091 unknown output datastore",
			mutate: func(m *modelv1.Model) {
				obTransformer(m, "X", "Nowhere", map[string]string{"A": "SELECT 1"})
			},
			keys: []string{out},
			want: []obProblem{obE(RuleTransformerOutputUnknown, x, out, "transformer 'X_tx' writes unknown datastore 'Nowhere'")},
		},
		{
			name: "092 output of another team",
			mutate: func(m *modelv1.Model) {
				obTransformer(m, "X", "O", map[string]string{"A": "SELECT 1"}, outDataset("A"))
				obFindStore(m, "O").Team = "U"
			},
			want: []obProblem{
				// the datastore side reports the mirror image (074)
				obE(RuleTransformerOutputWS, "datastore[O]", "datastore[O]", "datastore 'O' is the output of workspace 'X', which does not exist in team 'Z/U'"),
				obE(RuleTransformerOutputOtherTeam, x, x, "transformer 'X_tx' writes datastore 'O' of another team"),
			},
		},
		{
			name: "093 output datastore not captured as this transformer's output",
			mutate: func(m *modelv1.Model) {
				obTransformer(m, "X", "S", map[string]string{"D": "SELECT 1"})
			},
			keys: []string{out},
			want: []obProblem{obE(RuleTransformerOutputCapture, x, out,
				"datastore 'S' written by transformer 'X_tx' must have capture transformerOutput: {workspace: 'X'}")},
		},
		{
			name: "083 transformer connects a PRODUCTION workspace to a NOT_PRODUCTION datastore",
			mutate: func(m *modelv1.Model) {
				ws := obTransformer(m, "X", "O", map[string]string{"A": "SELECT 1"}, outDataset("A"))
				ws.ProductionStatus = modelv1.ProductionStatus_PRODUCTION_STATUS_PRODUCTION
			},
			want: []obProblem{
				obW(RuleProductionMismatch, x, x, "transformer 'X_tx' connects a PRODUCTION workspace to a NOT_PRODUCTION one"),
				obW(RuleProductionMismatch, "workspace[X]/dsg[in]/sink[S.D]", "workspace[X]/dsg[in]/sink[S.D]",
					"sink 'S.D' connects a NOT_PRODUCTION datastore to a PRODUCTION one"),
			},
		},
		{
			name: "094 missing and unknown queries",
			mutate: func(m *modelv1.Model) {
				obTransformer(m, "X", "O", map[string]string{"A": "SELECT 1", "Z": "SELECT 1"}, outDataset("A"), outDataset("B"))
			},
			keys: []string{sql, sql + ".Z"},
			want: []obProblem{
				obE(RuleTransformerSQLCoverage, x, sql, "transformer 'X_tx' needs exactly one query per output dataset: missing 'B'"),
				obE(RuleTransformerSQLCoverage, x, sql+".Z", "transformer 'X_tx' needs exactly one query per output dataset: unknown 'Z'"),
			},
		},
		{
			name: "095 096 invalid query and unknown placeholders",
			mutate: func(m *modelv1.Model) {
				obTransformer(m, "X", "O", map[string]string{
					"A": "SELECT * FROM {{ in.S.D }}; DELETE FROM x",
					"B": "SELECT * FROM {{ in.S.E }} JOIN {{ out.S.D }} USING (id) JOIN {{ S.D }} USING (id)",
				}, outDataset("A"), outDataset("B"))
			},
			keys: []string{sql + ".A", sql + ".B"},
			want: []obProblem{
				obE(RuleTransformerSQLInvalid, x, sql+".A", "query for 'A' must be a single SELECT statement: ';' is only allowed at the end"),
				obE(RuleTransformerInputUnknown, x, sql+".B", "placeholder 'S.D' is not a sink of workspace 'X'"),
				obE(RuleTransformerInputUnknown, x, sql+".B", "placeholder 'in.S.E' is not a sink of workspace 'X'"),
				obE(RuleTransformerInputUnknown, x, sql+".B", "placeholder 'out.S.D' is not a sink of workspace 'X'"),
			},
		},
		{
			name: "066 transformer cron",
			mutate: func(m *modelv1.Model) {
				ws := obTransformer(m, "X", "O", map[string]string{"A": "SELECT 1"}, outDataset("A"))
				ws.Transformer.Trigger = obCron("0 0 * * MON")
			},
			keys: []string{x + "#trigger.cron"},
			want: []obProblem{obE(RuleCronInvalid, x, x+"#trigger.cron",
				"'0 0 * * MON' is not a valid cron expression: day-of-week field 'MON': names such as 'MON' are not supported; use numbers")},
		},
		{
			name: "image code is not checked here",
			mutate: func(m *modelv1.Model) {
				ws := obTransformer(m, "X", "O", nil, outDataset("A"))
				ws.Transformer.Code = &modelv1.TransformerCode{Kind: &modelv1.TransformerCode_Image{Image: &modelv1.ImageTransformerCode{Image: "i"}}}
			},
		},
	})
}
