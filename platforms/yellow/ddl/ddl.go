// Package ddl owns the DDL of a Yellow platform's merge database (yellow.md §4, §11): creating
// the platform schema and the tables of package layout with their keys, indexes and managed
// comments, and reconciling an existing table with its desired layout — add missing columns,
// widen types, drop NOT NULL from columns that left the model, create missing indexes, re-hash
// merge tables — never dropping anything and refusing key changes and narrowing. Planning is pure:
// it compares a live catalog description (ReadTable, catalog.go) with a layout.Table and returns
// the ordered statements.
package ddl

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/jackc/pgx/v5"
)

// ManagedPrefix starts the comment of every object datasurface manages (security.md §2).
const ManagedPrefix = "datasurface:managed"

// Ident quotes a schema-qualified name.
func Ident(n naming.Name) string { return pgx.Identifier{n.Schema, n.Name}.Sanitize() }

// Quote quotes one identifier.
func Quote(s string) string { return pgx.Identifier{s}.Sanitize() }

// Literal renders s as an SQL string literal for the few utility statements that cannot take
// bind parameters (COMMENT ON): it rejects NUL and doubles single quotes, and relies on
// standard_conforming_strings = on (yellow.md §1), so backslashes are literal.
func Literal(s string) (string, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return "", errors.New("literal contains NUL")
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'", nil
}

// IsManaged reports whether comment marks an object managed by platform d: it starts with
// `datasurface:managed` and names `platform=<d>`.
func IsManaged(comment, d string) bool {
	f := strings.Fields(comment)
	if len(f) == 0 || f[0] != ManagedPrefix {
		return false
	}
	for _, x := range f[1:] {
		if x == "platform="+d {
			return true
		}
	}
	return false
}

var integerLiteral = regexp.MustCompile(`^-?[0-9]+$`)

// columnDef renders `"c" type [COLLATE "x"] [DEFAULT n] [NOT NULL]`.
func columnDef(c layout.Column, notNull bool) (string, error) {
	if !layout.ValidType(c.Type) {
		return "", fmt.Errorf("column %q: physical type %q is not valid", c.Name, c.Type)
	}
	s := Quote(c.Name) + " " + c.Type
	if c.Collation != "" {
		s += " COLLATE " + Quote(c.Collation)
	}
	if c.Default != "" {
		if !integerLiteral.MatchString(c.Default) {
			return "", fmt.Errorf("column %q: default %q is not an integer", c.Name, c.Default)
		}
		s += " DEFAULT " + c.Default
	}
	if notNull {
		s += " NOT NULL"
	}
	return s, nil
}

func quoteList(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = Quote(c)
	}
	return strings.Join(q, ", ")
}

// liveOnlyPredicate is the predicate of the one-live-version-per-key index.
var liveOnlyPredicate = Quote(layout.BatchOut) + " = " + fmt.Sprint(layout.Live)

// CreateIndex renders CREATE [UNIQUE] INDEX for index ix of table t.
func CreateIndex(t naming.Name, ix layout.Index) string {
	s := "CREATE "
	if ix.Unique {
		s += "UNIQUE "
	}
	s += "INDEX " + Quote(ix.Name) + " ON " + Ident(t) + " (" + quoteList(ix.Columns) + ")"
	if ix.LiveOnly {
		s += " WHERE " + liveOnlyPredicate
	}
	return s
}

// CreateSchema returns the statements creating schema s, owned by owner when owner is not empty,
// with the managed comment.
func CreateSchema(s, owner, comment string) ([]string, error) {
	lit, err := Literal(comment)
	if err != nil {
		return nil, err
	}
	create := "CREATE SCHEMA IF NOT EXISTS " + Quote(s)
	if owner != "" {
		create += " AUTHORIZATION " + Quote(owner)
	}
	return []string{create, "COMMENT ON SCHEMA " + Quote(s) + " IS " + lit}, nil
}

// CreateTable returns the statements creating table t: CREATE [UNLOGGED] TABLE with its columns,
// primary key and checks, one CREATE INDEX per index, and COMMENT ON TABLE with the managed
// marker.
func CreateTable(t layout.Table) ([]string, error) {
	var defs []string
	for _, c := range t.Columns {
		d, err := columnDef(c, c.NotNull)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", t.Name, err)
		}
		defs = append(defs, d)
	}
	if pk := t.PrimaryKey; pk != nil {
		defs = append(defs, "CONSTRAINT "+Quote(pk.Name)+" PRIMARY KEY ("+quoteList(pk.Columns)+")")
	}
	for _, ck := range t.Checks {
		vals := make([]string, len(ck.Values))
		for i, v := range ck.Values {
			l, err := Literal(v)
			if err != nil {
				return nil, err
			}
			vals[i] = l
		}
		defs = append(defs, "CONSTRAINT "+Quote(ck.Name)+" CHECK ("+Quote(ck.Column)+" IN ("+strings.Join(vals, ", ")+"))")
	}
	create := "CREATE "
	if t.Unlogged {
		create += "UNLOGGED "
	}
	create += "TABLE " + Ident(t.Name) + " (\n  " + strings.Join(defs, ",\n  ") + "\n)"
	out := []string{create}
	for _, ix := range t.Indexes {
		out = append(out, CreateIndex(t.Name, ix))
	}
	c, err := commentOn("TABLE", t.Name, t.Comment())
	if err != nil {
		return nil, err
	}
	return append(out, c), nil
}

func commentOn(kind string, n naming.Name, comment string) (string, error) {
	lit, err := Literal(comment)
	if err != nil {
		return "", err
	}
	return "COMMENT ON " + kind + " " + Ident(n) + " IS " + lit, nil
}
