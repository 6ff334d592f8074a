// Package sqlsource owns what ingest runs on a SQL source (yellow.md §7.1, §7.2), inside the
// stream's one REPEATABLE READ, READ ONLY source transaction: finding each dataset's source
// table through the login's search_path, checking that every model column exists and can be cast
// to its physical type, the read query that casts every column to its physical type (source
// timestamptz columns read AT TIME ZONE the model's zone), the watermark interval, and the
// set-based diagnoses run in the same snapshot after a failed copy (which column does not cast,
// which keys repeat).
//
// COPY cannot take bind parameters, so the values a read query needs (time zones, watermark
// bounds) are set as transaction-local settings with set_config($1, $2, true) and read back with
// current_setting('datasurface.…') cast to their type: values never become SQL text.
package sqlsource

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/datasurface/datasurface/platforms/yellow/hashing"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/ytypes"
	"github.com/datasurface/datasurface/services/ingest/internal/failure"
	"github.com/datasurface/datasurface/services/ingest/internal/plan"
	"github.com/jackc/pgx/v5"
)

// PostgreSQL type oids read specially.
const (
	oidTimestamptz      = 1184
	oidTimestamptzArray = 1185
)

// Setting names (transaction-local, prefixed with "datasurface.").
const (
	settingLow  = "wm_low"
	settingHigh = "wm_high"
)

// Session is the source transaction of one ingest and the settings its queries read.
type Session struct {
	Tx pgx.Tx
	// settings: name → value, set by Apply.
	settings map[string]string
	zones    map[string]string // time zone → setting name
}

// NewSession wraps the source transaction.
func NewSession(tx pgx.Tx) *Session {
	return &Session{Tx: tx, settings: map[string]string{}, zones: map[string]string{}}
}

// setting records a value and returns the SQL that reads it back as text.
func (s *Session) setting(name, value string) string {
	s.settings[name] = value
	return "pg_catalog.current_setting(" + quoteLiteral("datasurface."+name) + ")"
}

// quoteLiteral quotes a constant of this package (setting names only, never data).
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// zone returns the SQL of a model time zone for AT TIME ZONE: an IANA name as text, a fixed
// offset GMT±HH[:MM] as an interval (ISO sign: GMT+05:30 is five and a half hours east of UTC).
func (s *Session) zone(tz string) string {
	name, ok := s.zones[tz]
	if !ok {
		name = "tz_" + strconv.Itoa(len(s.zones)+1)
		s.zones[tz] = name
	}
	if off, ok := gmtOffset(tz); ok {
		return s.setting(name, off) + "::interval"
	}
	return s.setting(name, tz)
}

// gmtOffset turns GMT+HH or GMT±HH:MM into an interval literal ±HH:MM.
func gmtOffset(tz string) (string, bool) {
	if len(tz) < 6 || tz[:3] != "GMT" || (tz[3] != '+' && tz[3] != '-') {
		return "", false
	}
	rest := tz[4:]
	if len(rest) == 2 {
		rest += ":00"
	}
	if len(rest) != 5 || rest[2] != ':' {
		return "", false
	}
	return tz[3:4] + rest, true
}

// Apply sets every recorded setting in the transaction (bind parameters only).
func (s *Session) Apply(ctx context.Context) error {
	names := make([]string, 0, len(s.settings))
	for n := range s.settings {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if _, err := s.Tx.Exec(ctx, "SELECT pg_catalog.set_config($1, $2, true)", "datasurface."+n, s.settings[n]); err != nil {
			return fmt.Errorf("set %s: %w", n, err)
		}
	}
	return nil
}

// Table is the validated source of one dataset.
type Table struct {
	DS *plan.Dataset
	// Name is the resolved source table (schema.table) for messages.
	Name string
	// from is `<quoted table> AS s`.
	from string
	// exprs are the read expressions per model column (without alias), in model order.
	exprs []string
	// types are the source columns' types (format_type), in model order.
	types []string
	// where is the watermark filter ("" = none).
	where string
}

// Select is the read query: every model column cast to its physical type, in model order, under
// the model column names.
func (t *Table) Select() string {
	cols := make([]string, len(t.exprs))
	for i, e := range t.exprs {
		cols[i] = e + " AS " + pgx.Identifier{t.DS.Columns[i].Name}.Sanitize()
	}
	sql := "SELECT " + strings.Join(cols, ", ") + " FROM " + t.from
	if t.where != "" {
		sql += " WHERE " + t.where
	}
	return sql
}

// CopySQL is `COPY (Select()) TO STDOUT`.
func (t *Table) CopySQL() string { return "COPY (" + t.Select() + ") TO STDOUT" }

// expr returns the read expression of the column named c.
func (t *Table) expr(c string) string {
	i := slices.IndexFunc(t.DS.Columns, func(x layout.Column) bool { return x.Name == c })
	return t.exprs[i]
}

const tableSQL = `SELECT c.oid, n.nspname::text, c.relname::text
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = pg_catalog.to_regclass($1)`

const columnsSQL = `SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), a.atttypid
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`

type sourceColumn struct {
	typ string
	oid uint32
}

// Prepare finds and checks the source table of ds and builds its read query. Missing tables and
// columns and columns whose type cannot be cast to the physical type are permanent errors that
// name every offending column.
func Prepare(ctx context.Context, s *Session, ds *plan.Dataset) (*Table, error) {
	ref := ds.Ref()
	ident := pgx.Identifier(ds.SourceTable).Sanitize()
	var (
		oid          uint32
		schema, name string
	)
	err := s.Tx.QueryRow(ctx, tableSQL, ident).Scan(&oid, &schema, &name)
	if errors.Is(err, pgx.ErrNoRows) {
		var path string
		_ = s.Tx.QueryRow(ctx, "SELECT pg_catalog.current_setting('search_path')").Scan(&path)
		return nil, failure.Newf(failure.SourceTableMissing, ref, nil,
			"source table %s does not exist or is not visible to the source login (search_path %s)", ident, path)
	}
	if err != nil {
		return nil, sourceErr(ref, "look up source table "+ident, err)
	}
	rows, err := s.Tx.Query(ctx, columnsSQL, oid)
	if err != nil {
		return nil, sourceErr(ref, "read the columns of "+ident, err)
	}
	cols := map[string]sourceColumn{}
	var names []string
	for rows.Next() {
		var n string
		var c sourceColumn
		if err := rows.Scan(&n, &c.typ, &c.oid); err != nil {
			rows.Close()
			return nil, sourceErr(ref, "read the columns of "+ident, err)
		}
		cols[n] = c
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return nil, sourceErr(ref, "read the columns of "+ident, err)
	}
	t := &Table{
		DS:   ds,
		Name: pgx.Identifier{schema, name}.Sanitize(),
		from: pgx.Identifier{schema, name}.Sanitize() + " AS s",
	}
	var missing []string
	for i, c := range ds.Columns {
		sc, ok := cols[c.Name]
		if !ok {
			m := strconvQuote(c.Name)
			if j := slices.IndexFunc(names, func(n string) bool { return strings.EqualFold(n, c.Name) }); j >= 0 {
				m += " (the source has " + strconvQuote(names[j]) + "; column names are case-sensitive)"
			}
			missing = append(missing, m)
			continue
		}
		t.types = append(t.types, sc.typ)
		t.exprs = append(t.exprs, s.readExpr(c.Name, sc, c.Type, ds.TimeZones[i]))
	}
	if len(missing) > 0 {
		what := "column"
		if len(missing) > 1 {
			what = "columns"
		}
		return nil, failure.Newf(failure.ColumnMissing, ref, nil, "source table %s has no %s %s", t.Name, what, strings.Join(missing, ", "))
	}
	if err := s.Apply(ctx); err != nil {
		return nil, sourceErr(ref, "set session values", err)
	}
	if err := t.probe(ctx, s); err != nil {
		return nil, err
	}
	return t, nil
}

func strconvQuote(s string) string { return pgx.Identifier{s}.Sanitize() }

// readExpr is the read expression of source column c (of source type sc) as physical type typ:
// the column itself when the types are the same, a cast otherwise; timestamptz (and arrays of
// it) read as wall-clock time in the model's zone tz.
func (s *Session) readExpr(c string, sc sourceColumn, typ, tz string) string {
	q := "s." + pgx.Identifier{c}.Sanitize()
	switch {
	case sc.oid == oidTimestamptz && tz != "":
		return "(" + q + " AT TIME ZONE " + s.zone(tz) + ")::" + typ
	case sc.oid == oidTimestamptzArray && tz != "":
		return "(CASE WHEN " + q + " IS NULL THEN NULL ELSE ARRAY(SELECT u.x AT TIME ZONE " + s.zone(tz) +
			" FROM pg_catalog.unnest(" + q + ") WITH ORDINALITY AS u(x, n) ORDER BY u.n) END)::" + typ
	case ytypes.Equivalent(sc.typ, typ):
		return q
	}
	return q + "::" + typ
}

// probe plans the read query without reading rows: a column whose type cannot be cast fails
// here. On failure every column is planned alone to name each offender.
func (t *Table) probe(ctx context.Context, s *Session) error {
	ref := t.DS.Ref()
	all := "SELECT " + strings.Join(t.exprs, ", ") + " FROM " + t.from + " LIMIT 0"
	err := savepoint(ctx, s.Tx, "probe", func() error { _, err := s.Tx.Exec(ctx, all); return err })
	if err == nil {
		return nil
	}
	if !isPlanError(err) {
		return sourceErr(ref, "check the source columns", err)
	}
	var bad []string
	for i, e := range t.exprs {
		one := "SELECT " + e + " FROM " + t.from + " LIMIT 0"
		err := savepoint(ctx, s.Tx, "probe", func() error { _, err := s.Tx.Exec(ctx, one); return err })
		if err == nil {
			continue
		}
		if !isPlanError(err) {
			return sourceErr(ref, "check the source columns", err)
		}
		c := t.DS.Columns[i]
		bad = append(bad, fmt.Sprintf("%s of type %s cannot be read as %s (%s)", strconvQuote(c.Name), t.types[i], c.Type, failure.PgMessage(err)))
	}
	if len(bad) == 0 {
		return failure.Newf(failure.ColumnType, ref, err, "source table %s cannot be read: %s", t.Name, failure.PgMessage(err))
	}
	return failure.Newf(failure.ColumnType, ref, nil, "source table %s: column %s", t.Name, strings.Join(bad, "; column "))
}

// isPlanError reports whether err is a planning error about types: cannot coerce, undefined
// function or operator, datatype mismatch, invalid text representation of a constant.
func isPlanError(err error) bool {
	switch failure.PgCode(err) {
	case "42846", "42883", "42804", "42P18", "42725":
		return true
	}
	return false
}

// savepoint runs f inside SAVEPOINT name, rolling back to it when f fails, so the transaction
// (and its snapshot) stays usable.
func savepoint(ctx context.Context, tx pgx.Tx, name string, f func() error) error {
	sp := pgx.Identifier{name}.Sanitize()
	if _, err := tx.Exec(ctx, "SAVEPOINT "+sp); err != nil {
		return err
	}
	if err := f(); err != nil {
		if _, rerr := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT "+sp); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	_, err := tx.Exec(ctx, "RELEASE SAVEPOINT "+sp)
	return err
}

// Savepoint is savepoint for the copy of a dataset.
func Savepoint(ctx context.Context, s *Session, f func() error) error {
	return savepoint(ctx, s.Tx, "copy", f)
}

// sourceErr classifies an unexpected source error: data and plan errors are permanent,
// everything else retryable.
func sourceErr(ref, what string, err error) error {
	if err == nil {
		return nil
	}
	code := failure.PgCode(err)
	switch {
	case strings.HasPrefix(code, "22"):
		return failure.New(failure.ValueCast, ref, what+": "+failure.PgMessage(err), err)
	case code == "42501":
		return failure.New(failure.SourceTableMissing, ref, what+": the source login may not read it: "+failure.PgMessage(err), err)
	case strings.HasPrefix(code, "42"):
		return failure.New(failure.ColumnType, ref, what+": "+failure.PgMessage(err), err)
	}
	return failure.Wrap(err, failure.SourceUnreachable, ref, what)
}

// SourceErr is sourceErr for callers.
func SourceErr(ref, what string, err error) error { return sourceErr(ref, what, err) }

// ---------------------------------------------------------------------------------------------
// Watermark (yellow.md §7.2)

// Interval is a watermark interval [Low, High) as canonical text of the watermark's physical
// type; Low "" = unbounded (first batch); High "" = nothing to read (every dataset empty on the
// first batch).
type Interval struct {
	Low, High string
}

// High reads the new high watermark in the snapshot: the maximum watermark over every dataset,
// never below low (an empty stream carries low forward).
func High(ctx context.Context, s *Session, tables []*Table, w *plan.Watermark, low string) (string, error) {
	parts := []string{"$1::" + w.Type}
	for _, t := range tables {
		parts = append(parts, "(SELECT max("+t.expr(w.Column)+") FROM "+t.from+")")
	}
	var lowArg any
	if low != "" {
		lowArg = low
	}
	var high *string
	if err := s.Tx.QueryRow(ctx, "SELECT GREATEST("+strings.Join(parts, ", ")+")::text", lowArg).Scan(&high); err != nil {
		return "", sourceErr("", "read the high watermark", err)
	}
	if high == nil {
		return "", nil
	}
	return *high, nil
}

// Restrict limits every table to the interval: `low <= wm < high` (no lower bound when low is
// empty; no rows when high is empty). The bounds are set by Apply.
func Restrict(s *Session, tables []*Table, w *plan.Watermark, iv Interval) {
	for _, t := range tables {
		if iv.High == "" {
			t.where = "false"
			continue
		}
		e := t.expr(w.Column)
		t.where = e + " < " + s.setting(settingHigh, iv.High) + "::" + w.Type
		if iv.Low != "" {
			t.where = e + " >= " + s.setting(settingLow, iv.Low) + "::" + w.Type + " AND " + t.where
		}
	}
}

// ---------------------------------------------------------------------------------------------
// Diagnoses in the same snapshot

// CastFailure names the column whose values fail their cast, after a copy failed with a data
// exception (cause). Each column is read alone (a full scan each, stopping at the first
// failure); the error is permanent either way.
func CastFailure(ctx context.Context, s *Session, t *Table, cause error) error {
	ref := t.DS.Ref()
	for i, e := range t.exprs {
		q := "SELECT count(" + e + ") FROM " + t.from
		if t.where != "" {
			q += " WHERE " + t.where
		}
		err := savepoint(ctx, s.Tx, "diagnose", func() error { _, err := s.Tx.Exec(ctx, q); return err })
		if err == nil {
			continue
		}
		if !strings.HasPrefix(failure.PgCode(err), "22") {
			break
		}
		c := t.DS.Columns[i]
		return failure.Newf(failure.ValueCast, ref, cause, "source table %s column %s: a value of type %s cannot be cast to %s: %s",
			t.Name, strconvQuote(c.Name), t.types[i], c.Type, failure.PgMessage(err))
	}
	return failure.Newf(failure.ValueCast, ref, cause, "source table %s: a value cannot be cast to its physical type: %s", t.Name, failure.PgMessage(cause))
}

// Duplicates counts the keys that occur more than once in the read query's result (by key
// hash, exactly as the staging table's unique index sees them) and returns the permanent error
// with the count and the smallest offending key and its hash; cause is the copy's error.
func Duplicates(ctx context.Context, s *Session, t *Table, cause error) error {
	ref := t.DS.Ref()
	cols := make([]hashing.Column, len(t.DS.Columns))
	for i, c := range t.DS.Columns {
		cols[i] = hashing.Column{Name: c.Name, Type: c.Type}
	}
	keySQL, err := hashing.KeyHashSQL("q", cols, t.DS.PrimaryKey)
	if err != nil {
		return failure.New(failure.Internal, ref, "key hash", err)
	}
	keyVals := make([]string, len(t.DS.PrimaryKey))
	for i, k := range t.DS.PrimaryKey {
		keyVals[i] = "q." + pgx.Identifier{k}.Sanitize()
	}
	q := "SELECT count(*), coalesce(sum(d.n), 0)::bigint, (array_agg(d.h ORDER BY d.k))[1], min(d.k)\n" +
		"FROM (SELECT " + keySQL + " AS h, count(*) AS n, min(pg_catalog.json_build_array(" + strings.Join(keyVals, ", ") + ")::text) AS k\n" +
		"      FROM (" + t.Select() + ") q GROUP BY 1 HAVING count(*) > 1) d"
	var (
		keys, rows int64
		hash       []byte
		example    *string
	)
	err = savepoint(ctx, s.Tx, "diagnose", func() error {
		return s.Tx.QueryRow(ctx, q).Scan(&keys, &rows, &hash, &example)
	})
	if err != nil || keys == 0 || example == nil {
		return failure.Newf(failure.DuplicateKey, ref, cause, "duplicate primary key in source table %s: %s", t.Name, failure.PgMessage(cause))
	}
	return failure.Newf(failure.DuplicateKey, ref, cause,
		"duplicate primary key in source table %s: %d keys occur more than once (%d rows); e.g. key (%s) = %s, key hash %x",
		t.Name, keys, rows, strings.Join(t.DS.PrimaryKey, ", "), *example, hash)
}
