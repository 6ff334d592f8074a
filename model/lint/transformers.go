package lint

import (
	"slices"
	"strings"

	"github.com/datasurface/datasurface/model/index"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// checkTransformer: DS-LINT-066 (trigger), 083 (production status), 091..096 for the
// transformer of ws (spec/model.md §4.13). DS-LINT-090 is checked with the dataset groups and
// the assignments.
func (k *objChecker) checkTransformer(ws *modelv1.Workspace) {
	tr := ws.GetTransformer()
	w, x := ws.GetName(), tr.GetName()
	path := index.TransformerPath(w)
	k.checkCron(tr.GetTrigger(), node{path, "trigger.cron", ""})

	out := tr.GetOutputDatastore()
	outKey := path + "#outputDatastore"
	store := k.x.Datastores[out]
	switch {
	case out == "":
		// required field: the loader's
	case store == nil:
		k.c.Report(RuleTransformerOutputUnknown, path, outKey, "transformer '%s' writes unknown datastore '%s'", x, out)
	default:
		if store.GetZone() != ws.GetZone() || store.GetTeam() != ws.GetTeam() {
			k.c.Report(RuleTransformerOutputOtherTeam, path, outKey, "transformer '%s' writes datastore '%s' of another team", x, out)
		}
		if store.GetCapture().GetTransformerOutput().GetWorkspace() != w {
			k.c.Report(RuleTransformerOutputCapture, path, outKey,
				"datastore '%s' written by transformer '%s' must have capture transformerOutput: {workspace: '%s'}", out, x, w)
		}
		if pw, ps := productionName(ws.GetProductionStatus()), productionName(store.GetProductionStatus()); pw != ps {
			k.c.Report(RuleProductionMismatch, path, outKey, "transformer '%s' connects a %s workspace to a %s one", x, pw, ps)
		}
	}

	queries := tr.GetCode().GetSql().GetQueries()
	if tr.GetCode().GetSql() == nil {
		return // image code (or none): nothing to check here
	}
	codeKey := path + "#code.sql"
	if store != nil {
		for _, d := range store.GetDatasets() {
			if _, ok := queries[d.GetName()]; !ok {
				k.c.Report(RuleTransformerSQLCoverage, path, codeKey,
					"transformer '%s' needs exactly one query per output dataset: missing '%s'", x, d.GetName())
			}
		}
	}
	var sinks map[string]bool
	for _, d := range sortedKeys(queries) {
		qkey := codeKey + "." + d
		if store != nil && k.dataset(store, d) == nil {
			k.c.Report(RuleTransformerSQLCoverage, path, qkey,
				"transformer '%s' needs exactly one query per output dataset: unknown '%s'", x, oneLineName(d))
		}
		placeholders, reason := checkSelectQuery(queries[d])
		if reason != "" {
			k.c.Report(RuleTransformerSQLInvalid, path, qkey, "query for '%s' must be a single SELECT statement: %s", oneLineName(d), oneLineName(reason))
		}
		if len(placeholders) > 0 && sinks == nil {
			sinks = workspaceSinks(ws)
		}
		for _, p := range placeholders {
			if !sinks[p] {
				k.c.Report(RuleTransformerInputUnknown, path, qkey, "placeholder '%s' is not a sink of workspace '%s'", oneLineName(p), w)
			}
		}
	}
}

// workspaceSinks returns the set of "G.S.D" of ws's sinks: the names placeholders may use.
func workspaceSinks(ws *modelv1.Workspace) map[string]bool {
	out := make(map[string]bool)
	for _, g := range ws.GetDatasetGroups() {
		for _, sk := range g.GetSinks() {
			out[g.GetName()+"."+sk.GetDatastore()+"."+sk.GetDataset()] = true
		}
	}
	return out
}

// ---------------------------------------------------------------------------------------------
// Transformer SQL (DS-LINT-095, 096)

type sqlTokKind uint8

const (
	sqlWord        sqlTokKind = iota // identifier or keyword (upper-cased in up)
	sqlQuoted                        // "quoted identifier"
	sqlString                        // any string literal, including dollar-quoted
	sqlNumber                        // numeric literal
	sqlParam                         // $n
	sqlPlaceholder                   // {{ … }}; text holds the trimmed inside
	sqlLParen
	sqlRParen
	sqlComma
	sqlSemicolon
	sqlOp // any other character
)

type sqlToken struct {
	kind sqlTokKind
	text string
	up   string // upper-cased text of a sqlWord
}

func (t sqlToken) is(word string) bool { return t.kind == sqlWord && t.up == word }

// sqlScan splits a PostgreSQL query into tokens, skipping white space and comments (nested
// block comments included). String literals ('…' with ” escapes; E'…' with backslash
// escapes; B'…', X'…', N'…', U&'…'; $tag$…$tag$), quoted identifiers ("…" with "" escapes) and
// placeholders ({{ … }}) are single tokens, so nothing inside them is taken for syntax. The
// error names the first unterminated construct.
func sqlScan(q string) ([]sqlToken, string) {
	var toks []sqlToken
	n := len(q)
	for i := 0; i < n; {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < n && q[i+1] == '-':
			for i < n && q[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < n && q[i+1] == '*':
			depth := 0
			for {
				if i+1 >= n {
					return nil, "unterminated comment"
				}
				if q[i] == '/' && q[i+1] == '*' {
					depth++
					i += 2
				} else if q[i] == '*' && q[i+1] == '/' {
					depth--
					i += 2
					if depth == 0 {
						break
					}
				} else {
					i++
				}
			}
		case c == '\'':
			end, ok := sqlQuoteEnd(q, i, '\'', false)
			if !ok {
				return nil, "unterminated string literal"
			}
			toks = append(toks, sqlToken{kind: sqlString, text: q[i:end]})
			i = end
		case c == '"':
			end, ok := sqlQuoteEnd(q, i, '"', false)
			if !ok {
				return nil, "unterminated quoted identifier"
			}
			toks = append(toks, sqlToken{kind: sqlQuoted, text: q[i:end]})
			i = end
		case c == '{' && i+1 < n && q[i+1] == '{':
			end := strings.Index(q[i+2:], "}}")
			if end < 0 {
				return nil, "unterminated placeholder '{{'"
			}
			toks = append(toks, sqlToken{kind: sqlPlaceholder, text: strings.TrimSpace(q[i+2 : i+2+end])})
			i += 2 + end + 2
		case c == '$':
			j := i + 1
			if j < n && q[j] >= '0' && q[j] <= '9' {
				for j < n && q[j] >= '0' && q[j] <= '9' {
					j++
				}
				toks = append(toks, sqlToken{kind: sqlParam, text: q[i:j]})
				i = j
				continue
			}
			for j < n && (sqlIdentStart(q[j]) || j > i+1 && q[j] >= '0' && q[j] <= '9') {
				j++
			}
			if j < n && q[j] == '$' {
				tag := q[i : j+1]
				end := strings.Index(q[j+1:], tag)
				if end < 0 {
					return nil, "unterminated dollar-quoted string"
				}
				end += j + 1 + len(tag)
				toks = append(toks, sqlToken{kind: sqlString, text: q[i:end]})
				i = end
				continue
			}
			toks = append(toks, sqlToken{kind: sqlOp, text: "$"})
			i++
		case sqlIdentStart(c):
			j := i + 1
			for j < n && (sqlIdentStart(q[j]) || q[j] >= '0' && q[j] <= '9' || q[j] == '$') {
				j++
			}
			word := q[i:j]
			up := strings.ToUpper(word)
			// string prefixes: E'…' (backslash escapes), B'…', X'…', N'…', U&'…' and U&"…"
			if j < n && q[j] == '\'' && (up == "E" || up == "B" || up == "X" || up == "N") {
				end, ok := sqlQuoteEnd(q, j, '\'', up == "E")
				if !ok {
					return nil, "unterminated string literal"
				}
				toks = append(toks, sqlToken{kind: sqlString, text: q[i:end]})
				i = end
				continue
			}
			if up == "U" && j+1 < n && q[j] == '&' && (q[j+1] == '\'' || q[j+1] == '"') {
				end, ok := sqlQuoteEnd(q, j+1, q[j+1], false)
				if !ok {
					if q[j+1] == '"' {
						return nil, "unterminated quoted identifier"
					}
					return nil, "unterminated string literal"
				}
				kind := sqlString
				if q[j+1] == '"' {
					kind = sqlQuoted
				}
				toks = append(toks, sqlToken{kind: kind, text: q[i:end]})
				i = end
				continue
			}
			toks = append(toks, sqlToken{kind: sqlWord, text: word, up: up})
			i = j
		case c >= '0' && c <= '9' || c == '.' && i+1 < n && q[i+1] >= '0' && q[i+1] <= '9':
			j := i + 1
			for j < n {
				d := q[j]
				if d >= '0' && d <= '9' || d == '.' || d == '_' || sqlIdentStart(d) {
					j++
				} else if (d == '+' || d == '-') && (q[j-1] == 'e' || q[j-1] == 'E') {
					j++
				} else {
					break
				}
			}
			toks = append(toks, sqlToken{kind: sqlNumber, text: q[i:j]})
			i = j
		default:
			kind := sqlOp
			switch c {
			case '(':
				kind = sqlLParen
			case ')':
				kind = sqlRParen
			case ',':
				kind = sqlComma
			case ';':
				kind = sqlSemicolon
			}
			toks = append(toks, sqlToken{kind: kind, text: q[i : i+1]})
			i++
		}
	}
	return toks, ""
}

// sqlIdentStart reports whether c may start an unquoted identifier (non-ASCII bytes included).
func sqlIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

// sqlQuoteEnd returns the index after the closing quote of the literal opened at q[open];
// doubled quotes are escapes, and with backslash also \x.
func sqlQuoteEnd(q string, open int, quote byte, backslash bool) (int, bool) {
	for i := open + 1; i < len(q); i++ {
		switch q[i] {
		case '\\':
			if backslash {
				i++
			}
		case quote:
			if i+1 < len(q) && q[i+1] == quote {
				i++
				continue
			}
			return i + 1, true
		}
	}
	return 0, false
}

// checkSelectQuery checks that q is one PostgreSQL SELECT (or WITH … SELECT) statement
// (spec/model.md §4.13): no ';' except one trailing, no data-modifying statement in a WITH
// clause, no SELECT … INTO, no FOR UPDATE/SHARE. It returns the distinct placeholders in order
// of appearance (as "G.S.D" when they have three parts, else their trimmed text) and the first
// reason the query is invalid ("" when valid).
func checkSelectQuery(q string) (placeholders []string, reason string) {
	toks, reason := sqlScan(q)
	if reason != "" {
		return nil, reason
	}
	for _, t := range toks {
		if t.kind != sqlPlaceholder {
			continue
		}
		p := t.text
		if parts := strings.Split(p, "."); len(parts) == 3 {
			for i := range parts {
				parts[i] = strings.TrimSpace(parts[i])
			}
			p = strings.Join(parts, ".")
		}
		if !slices.Contains(placeholders, p) {
			placeholders = append(placeholders, p)
		}
	}
	return placeholders, sqlSelectReason(toks)
}

// sqlDataModifying are the statements a SELECT must not contain.
var sqlDataModifying = []string{"INSERT", "UPDATE", "DELETE", "MERGE"}

func sqlSelectReason(toks []sqlToken) string {
	if len(toks) > 0 && toks[len(toks)-1].kind == sqlSemicolon {
		toks = toks[:len(toks)-1]
	}
	if len(toks) == 0 {
		return "it is empty"
	}
	for _, t := range toks {
		if t.kind == sqlSemicolon {
			return "';' is only allowed at the end"
		}
	}
	match, ok := sqlMatchParens(toks)
	if !ok {
		return "unbalanced parentheses"
	}
	start := 0
	for start < len(toks) && toks[start].kind == sqlLParen {
		start++
	}
	if start == len(toks) {
		return "it is empty"
	}
	switch first := toks[start]; {
	case first.is("SELECT"):
	case first.is("WITH"):
		main, ok := sqlWithClause(toks, start, match)
		if !ok {
			return "malformed WITH clause"
		}
		if main >= len(toks) {
			return "WITH must be followed by SELECT"
		}
		m := toks[main]
		if m.kind == sqlWord && slices.Contains(sqlDataModifying, m.up) {
			return "WITH must be followed by SELECT, found data-modifying " + m.up
		}
		if !m.is("SELECT") {
			return "WITH must be followed by SELECT, found '" + m.text + "'"
		}
	default:
		return "it starts with '" + first.text + "', not SELECT or WITH"
	}
	for i, t := range toks {
		switch {
		case t.is("WITH"):
			// every WITH clause, also nested ones: no data-modifying common table expression
			if r := sqlCTEReason(toks, i, match); r != "" {
				return r
			}
		case t.is("INTO"):
			return "SELECT … INTO is not allowed"
		case t.is("FOR") && i+1 < len(toks):
			switch next := toks[i+1]; {
			case next.is("UPDATE"), next.is("SHARE"), next.is("NO") && i+2 < len(toks) && toks[i+2].is("KEY"),
				next.is("KEY") && i+2 < len(toks) && toks[i+2].is("SHARE"):
				return "locking clause FOR " + next.up + "… is not allowed (no FOR UPDATE/SHARE)"
			}
		}
	}
	return ""
}

// sqlMatchParens returns, for every '(' and ')', the index of its partner; ok is false when the
// parentheses do not balance.
func sqlMatchParens(toks []sqlToken) ([]int, bool) {
	match := make([]int, len(toks))
	var stack []int
	for i, t := range toks {
		switch t.kind {
		case sqlLParen:
			stack = append(stack, i)
		case sqlRParen:
			if len(stack) == 0 {
				return nil, false
			}
			open := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			match[open], match[i] = i, open
		}
	}
	return match, len(stack) == 0
}

// sqlCTE is one common table expression: its name and the token range of its body.
type sqlCTE struct {
	name      string
	body, end int // body is the first token after '(', end the index of ')'
}

// sqlParseWith parses the WITH clause at toks[at] — WITH [RECURSIVE] name [(cols)] AS [[NOT]
// MATERIALIZED] (body) [SEARCH … SET col] [CYCLE … USING col] {, …} — and returns its common
// table expressions and the index of the statement that follows. ok is false when the tokens
// are not a WITH clause (e.g. WITH ORDINALITY, WITH TIME ZONE, WITH TIES).
func sqlParseWith(toks []sqlToken, at int, match []int) (ctes []sqlCTE, next int, ok bool) {
	j := at + 1
	if j < len(toks) && toks[j].is("RECURSIVE") {
		j++
	}
	for {
		if j >= len(toks) || toks[j].kind != sqlWord && toks[j].kind != sqlQuoted {
			return nil, 0, false
		}
		name := toks[j].text
		j++
		if j < len(toks) && toks[j].kind == sqlLParen {
			j = match[j] + 1
		}
		if j >= len(toks) || !toks[j].is("AS") {
			return nil, 0, false
		}
		j++
		if j < len(toks) && toks[j].is("NOT") {
			j++
		}
		if j < len(toks) && toks[j].is("MATERIALIZED") {
			j++
		}
		if j >= len(toks) || toks[j].kind != sqlLParen {
			return nil, 0, false
		}
		ctes = append(ctes, sqlCTE{name: name, body: j + 1, end: match[j]})
		j = match[j] + 1
		if j < len(toks) && toks[j].is("SEARCH") {
			for j < len(toks) && !toks[j].is("SET") {
				j++
			}
			j += 2 // SET column
		}
		if j < len(toks) && toks[j].is("CYCLE") {
			for j < len(toks) && !toks[j].is("USING") {
				j++
			}
			j += 2 // USING column
		}
		if j < len(toks) && toks[j].kind == sqlComma {
			j++
			continue
		}
		return ctes, j, true
	}
}

// sqlWithClause returns the index of the statement after the WITH clause at toks[at], skipping
// opening parentheses.
func sqlWithClause(toks []sqlToken, at int, match []int) (int, bool) {
	_, next, ok := sqlParseWith(toks, at, match)
	for ok && next < len(toks) && toks[next].kind == sqlLParen {
		next++
	}
	return next, ok
}

// sqlCTEReason returns why the WITH clause at toks[at] is not allowed: a common table
// expression whose body is INSERT, UPDATE, DELETE or MERGE (possibly parenthesised).
func sqlCTEReason(toks []sqlToken, at int, match []int) string {
	ctes, _, ok := sqlParseWith(toks, at, match)
	if !ok {
		return ""
	}
	for _, c := range ctes {
		b := c.body
		for b < c.end && toks[b].kind == sqlLParen {
			b++
		}
		if b < c.end && toks[b].kind == sqlWord && slices.Contains(sqlDataModifying, toks[b].up) {
			return "WITH query '" + c.name + "' is a data-modifying " + toks[b].up
		}
	}
	return ""
}
