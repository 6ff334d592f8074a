package hashing_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/datasurface/datasurface/kit/pgtest"
	"github.com/datasurface/datasurface/platforms/yellow/hashing"
	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Shutdown()
	os.Exit(code)
}

// connect opens a session with the settings of yellow.md §1.
func connect(t *testing.T) *pgx.Conn {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	cfg, err := pgx.ParseConfig(dsn)
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
	t.Cleanup(func() { _ = conn.Close(t.Context()) })
	return conn
}

// propColumn is one column of the property test: the source column's type, how the source query
// reads it (%s = the quoted source column) and the physical type it is cast to, and a generator
// of source values as SQL text (nil = NULL).
type propColumn struct {
	name     string
	source   string // source column type
	read     string // source read expression; "" = the column itself
	physical string
	key      bool
	gen      func(r *rand.Rand) *string
}

func s(v string) *string { return &v }

func nullable(p float64, g func(r *rand.Rand) *string) func(r *rand.Rand) *string {
	return func(r *rand.Rand) *string {
		if r.Float64() < p {
			return nil
		}
		return g(r)
	}
}

var runePool = []rune("abcXYZ 09_-'\"\\\t\n\r\x01\x7f,{}()[]éßñ日本語한국어😀🇨🇭\u00a0\u200b")

func randText(r *rand.Rand, maxRunes int) string {
	n := r.IntN(maxRunes + 1)
	var b strings.Builder
	for range n {
		b.WriteRune(runePool[r.IntN(len(runePool))])
	}
	return b.String()
}

func randInt(r *rand.Rand, bits int) string {
	if bits == 64 {
		switch r.IntN(6) {
		case 0:
			return strconv.FormatInt(math.MinInt64, 10)
		case 1:
			return strconv.FormatInt(math.MaxInt64, 10)
		}
		return strconv.FormatInt(int64(r.Uint64()), 10)
	}
	switch r.IntN(6) {
	case 0:
		return strconv.FormatInt(-(1 << (bits - 1)), 10)
	case 1:
		return strconv.FormatInt(1<<(bits-1)-1, 10)
	case 2:
		return "0"
	}
	return strconv.FormatInt(r.Int64N(1<<(bits-1))-r.Int64N(1<<(bits-1)), 10)
}

func randNumeric(r *rand.Rand, p, sc int) string {
	var b strings.Builder
	if r.IntN(2) == 0 {
		b.WriteByte('-')
	}
	for range 1 + r.IntN(p-sc) {
		b.WriteByte(byte('0' + r.IntN(10)))
	}
	if sc > 0 && r.IntN(3) > 0 {
		b.WriteByte('.')
		for range 1 + r.IntN(sc) {
			b.WriteByte(byte('0' + r.IntN(10)))
		}
	}
	return b.String()
}

func randFloat(r *rand.Rand, bits int) string {
	switch r.IntN(10) {
	case 0:
		return "NaN"
	case 1:
		return "Infinity"
	case 2:
		return "-Infinity"
	case 3:
		return "-0"
	case 4:
		if bits == 32 {
			return strconv.FormatFloat(float64(math.SmallestNonzeroFloat32), 'g', -1, 32)
		}
		return strconv.FormatFloat(math.SmallestNonzeroFloat64, 'g', -1, 64)
	}
	f := (r.Float64() - 0.5) * math.Pow(10, float64(r.IntN(60)-30))
	return strconv.FormatFloat(f, 'g', -1, bits)
}

func randDate(r *rand.Rand) string {
	switch r.IntN(12) {
	case 0:
		return "infinity"
	case 1:
		return "0044-03-15 BC"
	}
	return fmt.Sprintf("%04d-%02d-%02d", 1+r.IntN(9998), 1+r.IntN(12), 1+r.IntN(28))
}

func randTime(r *rand.Rand) string {
	return fmt.Sprintf("%02d:%02d:%02d.%06d", r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(1000000))
}

func randTimestamp(r *rand.Rand) string {
	if r.IntN(15) == 0 {
		return "-infinity"
	}
	d := randDate(r)
	if d == "infinity" {
		return d
	}
	return d + " " + randTime(r)
}

var zones = []string{"+00", "+05:30", "-08", "+14", "-03:30", " Europe/Paris", " America/New_York", " Asia/Kathmandu"}

func randTimestampTZ(r *rand.Rand) string {
	return fmt.Sprintf("%04d-%02d-%02d %s%s", 1900+r.IntN(200), 1+r.IntN(12), 1+r.IntN(28), randTime(r), zones[r.IntN(len(zones))])
}

func randInterval(r *rand.Rand) string {
	switch r.IntN(4) {
	case 0:
		return fmt.Sprintf("P%dY%dM%dDT%dH%dM%d.%dS", r.IntN(100), r.IntN(12), r.IntN(40), r.IntN(30), r.IntN(60), r.IntN(60), r.IntN(1000))
	case 1:
		return fmt.Sprintf("-%d days %d:%02d:%02d", r.IntN(1000), r.IntN(100), r.IntN(60), r.IntN(60))
	case 2:
		return "0"
	}
	return fmt.Sprintf("%d mons -%d days %d microseconds", r.IntN(50), r.IntN(50), r.IntN(1000000))
}

func randJSON(r *rand.Rand, depth int) string {
	switch k := r.IntN(7); {
	case depth > 2 || k == 0:
		return jsonString(randText(r, 6))
	case k == 1:
		return strconv.FormatFloat((r.Float64()-0.5)*math.Pow(10, float64(r.IntN(20)-5)), 'g', -1, 64)
	case k == 2:
		return []string{"true", "false", "null", "1e300", "-0.0"}[r.IntN(5)]
	case k < 5:
		var parts []string
		for i := range r.IntN(4) {
			parts = append(parts, jsonString(fmt.Sprintf("k%d%s", i, randText(r, 2)))+": "+randJSON(r, depth+1))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	default:
		var parts []string
		for range r.IntN(4) {
			parts = append(parts, randJSON(r, depth+1))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
}

func jsonString(v string) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func randBytes(r *rand.Rand) string {
	b := make([]byte, r.IntN(20))
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return `\x` + hex.EncodeToString(b)
}

// arrayLit renders an array literal of generated elements (some NULL), every element quoted.
func arrayLit(r *rand.Rand, elem func(r *rand.Rand) string) string {
	n := r.IntN(5)
	parts := make([]string, n)
	for i := range parts {
		if r.IntN(6) == 0 {
			parts[i] = "NULL"
			continue
		}
		e := elem(r)
		parts[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(e) + `"`
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func propColumns() []propColumn {
	return []propColumn{
		{name: "k_text", source: "character varying(40)", physical: "character varying(40)", key: true,
			gen: func(r *rand.Rand) *string { return s(randText(r, 10)) }},
		{name: "K_int", source: "bigint", physical: "integer", key: true, read: "(%s %% 2000000000)",
			gen: func(r *rand.Rand) *string { return s(randInt(r, 63)) }},
		{name: "bool", source: "boolean", physical: "boolean", gen: nullable(0.2, func(r *rand.Rand) *string {
			return s([]string{"true", "false", "t", "no"}[r.IntN(4)])
		})},
		{name: "small", source: "smallint", physical: "smallint", gen: nullable(0.2, func(r *rand.Rand) *string { return s(randInt(r, 16)) })},
		{name: "int", source: "integer", physical: "integer", gen: nullable(0.2, func(r *rand.Rand) *string { return s(randInt(r, 32)) })},
		{name: "big", source: "bigint", physical: "bigint", gen: nullable(0.2, func(r *rand.Rand) *string { return s(randInt(r, 64)) })},
		{name: "dec", source: "numeric", physical: "numeric(12,2)", gen: nullable(0.2, func(r *rand.Rand) *string { return s(randNumeric(r, 10, 4)) })},
		{name: "dec0", source: "numeric(38,10)", physical: "numeric(38,10)", gen: nullable(0.2, func(r *rand.Rand) *string { return s(randNumeric(r, 38, 10)) })},
		{name: "real", source: "real", physical: "real", gen: nullable(0.2, func(r *rand.Rand) *string { return s(randFloat(r, 32)) })},
		{name: "double", source: "double precision", physical: "double precision", gen: nullable(0.2, func(r *rand.Rand) *string { return s(randFloat(r, 64)) })},
		{name: "real_from_double", source: "double precision", physical: "real", gen: nullable(0.2, func(r *rand.Rand) *string { return s(randFloat(r, 32)) })},
		{name: "date", source: "date", physical: "date", gen: nullable(0.2, func(r *rand.Rand) *string { return s(randDate(r)) })},
		{name: "interval", source: "interval", physical: "interval", gen: nullable(0.2, func(r *rand.Rand) *string { return s(randInterval(r)) })},
		{name: "ts", source: "timestamp without time zone", physical: "timestamp without time zone", gen: nullable(0.2, func(r *rand.Rand) *string { return s(randTimestamp(r)) })},
		{name: "ts_paris", source: "timestamp with time zone", physical: "timestamp without time zone", read: "(%s AT TIME ZONE 'Europe/Paris')",
			gen: nullable(0.2, func(r *rand.Rand) *string { return s(randTimestampTZ(r)) })},
		{name: "ts_kolkata", source: "timestamp with time zone", physical: "timestamp without time zone", read: "(%s AT TIME ZONE 'Asia/Kolkata')",
			gen: nullable(0.2, func(r *rand.Rand) *string { return s(randTimestampTZ(r)) })},
		{name: "date_from_ts", source: "timestamp without time zone", physical: "date", gen: nullable(0.2, func(r *rand.Rand) *string { return s(randTimestamp(r)) })},
		{name: "char5", source: "character(5)", physical: "character(5)", gen: nullable(0.2, func(r *rand.Rand) *string { return s(randText(r, 5)) })},
		{name: "char5_from_text", source: "text", physical: "character(5)", gen: nullable(0.2, func(r *rand.Rand) *string { return s(randText(r, 5) + strings.Repeat(" ", r.IntN(3))) })},
		{name: "vc", source: "character varying(20)", physical: "character varying(20)", gen: nullable(0.2, func(r *rand.Rand) *string { return s(randText(r, 20)) })},
		{name: "vc_trunc", source: "text", physical: "character varying(3)", gen: nullable(0.2, func(r *rand.Rand) *string { return s(randText(r, 8)) })},
		{name: "text", source: "text", physical: "character varying", gen: nullable(0.2, func(r *rand.Rand) *string { return s(randText(r, 30)) })},
		{name: "vc_c", source: `character varying COLLATE "C"`, physical: "character varying", gen: nullable(0.2, func(r *rand.Rand) *string { return s(randText(r, 10)) })},
		{name: "jsonb", source: "jsonb", physical: "jsonb", gen: nullable(0.2, func(r *rand.Rand) *string { return s(randJSON(r, 0)) })},
		{name: "json_from_text", source: "text", physical: "jsonb", gen: nullable(0.2, func(r *rand.Rand) *string { return s(randJSON(r, 0)) })},
		{name: "bytea", source: "bytea", physical: "bytea", gen: nullable(0.2, func(r *rand.Rand) *string { return s(randBytes(r)) })},
		{name: "int_arr", source: "integer[]", physical: "integer[]", gen: nullable(0.2, func(r *rand.Rand) *string {
			return s(arrayLit(r, func(r *rand.Rand) string { return randInt(r, 32) }))
		})},
		{name: "real_arr", source: "real[]", physical: "real[]", gen: nullable(0.2, func(r *rand.Rand) *string {
			return s(arrayLit(r, func(r *rand.Rand) string { return randFloat(r, 32) }))
		})},
		{name: "bool_arr", source: "boolean[]", physical: "boolean[]", gen: nullable(0.2, func(r *rand.Rand) *string {
			return s(arrayLit(r, func(r *rand.Rand) string { return []string{"t", "f"}[r.IntN(2)] }))
		})},
		{name: "vc_arr", source: "text[]", physical: "character varying(10)[]", gen: nullable(0.2, func(r *rand.Rand) *string {
			return s(arrayLit(r, func(r *rand.Rand) string { return randText(r, 10) }))
		})},
		{name: "char_arr", source: "character(3)[]", physical: "character(3)[]", gen: nullable(0.2, func(r *rand.Rand) *string {
			return s(arrayLit(r, func(r *rand.Rand) string { return randText(r, 3) }))
		})},
		{name: "dec_arr", source: "numeric[]", physical: "numeric(10,3)[]", gen: nullable(0.2, func(r *rand.Rand) *string {
			return s(arrayLit(r, func(r *rand.Rand) string { return randNumeric(r, 7, 3) }))
		})},
		{name: "ts_arr", source: "timestamp without time zone[]", physical: "timestamp without time zone[]", gen: nullable(0.2, func(r *rand.Rand) *string {
			return s(arrayLit(r, randTimestamp))
		})},
		{name: "date_arr", source: "date[]", physical: "date[]", gen: nullable(0.2, func(r *rand.Rand) *string {
			return s(arrayLit(r, randDate))
		})},
		{name: "interval_arr", source: "interval[]", physical: "interval[]", gen: nullable(0.2, func(r *rand.Rand) *string {
			return s(arrayLit(r, randInterval))
		})},
		{name: "jsonb_arr", source: "jsonb[]", physical: "jsonb[]", gen: nullable(0.2, func(r *rand.Rand) *string {
			return s(arrayLit(r, func(r *rand.Rand) string { return randJSON(r, 1) }))
		})},
		{name: "bytea_arr", source: "bytea[]", physical: "bytea[]", gen: nullable(0.2, func(r *rand.Rand) *string {
			return s(arrayLit(r, randBytes))
		})},
		{name: "double_arr", source: "double precision[]", physical: "double precision[]", gen: nullable(0.2, func(r *rand.Rand) *string {
			return s(arrayLit(r, func(r *rand.Rand) string { return randFloat(r, 64) }))
		})},
	}
}

// TestHashesAgreeWithSQL is the property test of yellow.md §5: random rows of every storable
// type, hashed in Go from the COPY text output of a source query that casts every column to its
// physical type, and in SQL with the normative form, must give identical bytes.
func TestHashesAgreeWithSQL(t *testing.T) {
	conn := connect(t)
	ctx := t.Context()
	cols := propColumns()
	seed := uint64(20260102)
	if v := os.Getenv("HASH_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	t.Logf("seed %d (set HASH_SEED to repeat)", seed)

	var defs, insCols, params []string
	for i, c := range cols {
		defs = append(defs, pgx.Identifier{c.name}.Sanitize()+" "+c.source)
		insCols = append(insCols, pgx.Identifier{c.name}.Sanitize())
		base := strings.Split(c.source, " COLLATE")[0]
		params = append(params, fmt.Sprintf("$%d::text::%s", i+1, base))
	}
	mustExec(t, conn, `CREATE SCHEMA h`)
	mustExec(t, conn, `CREATE TABLE h.src (row_id serial PRIMARY KEY, `+strings.Join(defs, ", ")+`)`)
	insert := `INSERT INTO h.src (` + strings.Join(insCols, ", ") + `) VALUES (` + strings.Join(params, ", ") + `)`

	const rows = 400
	batch := &pgx.Batch{}
	for i := range rows {
		args := make([]any, len(cols))
		for j, c := range cols {
			v := c.gen(r)
			if c.key && j == 0 {
				v = s(fmt.Sprintf("%d%s", i, *v)) // keys unique, not needed for hashing but realistic
			}
			if v == nil {
				args[j] = nil
			} else {
				args[j] = *v
			}
		}
		batch.Queue(insert, args...)
	}
	// Special rows: every nullable column NULL; empty strings; blanks only.
	batch.Queue(`INSERT INTO h.src ("k_text", "K_int") VALUES ('', 0)`)
	batch.Queue(`INSERT INTO h.src ("k_text", "K_int", "char5", "vc", "text", "char5_from_text") VALUES (' ', -1, '', '', '', '     ')`)
	if err := conn.SendBatch(ctx, batch).Close(); err != nil {
		t.Fatal(err)
	}

	var reads []string
	var hashCols []hashing.Column
	var key []string
	for _, c := range cols {
		qc := pgx.Identifier{c.name}.Sanitize()
		expr := qc
		if c.read != "" {
			expr = fmt.Sprintf(c.read, qc)
		}
		reads = append(reads, expr+"::"+c.physical+" AS "+qc)
		hashCols = append(hashCols, hashing.Column{Name: c.name, Type: c.physical})
		if c.key {
			key = append(key, c.name)
		}
	}
	// Key order deliberately not the column order.
	key = []string{key[1], key[0]}
	source := `SELECT ` + strings.Join(reads, ", ") + ` FROM h.src ORDER BY row_id`

	// Go: hashes from the COPY text output.
	var out bytes.Buffer
	if _, err := conn.PgConn().CopyTo(ctx, &out, `COPY (`+source+`) TO STDOUT`); err != nil {
		t.Fatalf("%s: %v", source, err)
	}
	for _, k := range [][]string{key, nil} {
		h, err := hashing.New(hashCols, k)
		if err != nil {
			t.Fatal(err)
		}
		allSQL, err := hashing.AllHashSQL("s", hashCols)
		if err != nil {
			t.Fatal(err)
		}
		keySQL, err := hashing.KeyHashSQL("s", hashCols, k)
		if err != nil {
			t.Fatal(err)
		}
		// SQL: the normative form over the same values (the source query as a subquery).
		sqlRows, err := conn.Query(ctx, `SELECT `+allSQL+`, `+keySQL+` FROM (`+source+`) s`)
		if err != nil {
			t.Fatal(err)
		}
		var sqlHashes [][2][]byte
		for sqlRows.Next() {
			var a, b []byte
			if err := sqlRows.Scan(&a, &b); err != nil {
				t.Fatal(err)
			}
			sqlHashes = append(sqlHashes, [2][]byte{a, b})
		}
		if err := sqlRows.Err(); err != nil {
			t.Fatal(err)
		}

		lines := bytes.Split(bytes.TrimSuffix(out.Bytes(), []byte("\n")), []byte("\n"))
		if len(lines) != len(sqlHashes) || len(lines) != rows+2 {
			t.Fatalf("COPY gave %d lines, SQL %d rows, want %d", len(lines), len(sqlHashes), rows+2)
		}
		bad := 0
		for i, line := range lines {
			all, kh, err := h.HashLine(line)
			if err != nil {
				t.Fatalf("line %d: %v", i, err)
			}
			if !bytes.Equal(all[:], sqlHashes[i][0]) || !bytes.Equal(kh[:], sqlHashes[i][1]) {
				bad++
				if bad <= 3 {
					t.Errorf("row %d (key %v): Go and SQL hashes differ; %s", i+1, k, explain(t, conn, source, cols, hashCols, i, line))
				}
			}
		}
		if bad > 0 {
			t.Errorf("%d of %d rows differ (key %v)", bad, len(lines), k)
		}
	}
}

// explain names the columns whose field encodings differ in row i.
func explain(t *testing.T, conn *pgx.Conn, source string, cols []propColumn, hashCols []hashing.Column, i int, line []byte) string {
	t.Helper()
	var exprs []string
	for _, c := range hashCols {
		exprs = append(exprs, `sha256(`+hashing.FieldSQL(hashing.ColumnRef("s", c.Name), c.Type)+`)`)
	}
	vals := make([]any, len(exprs))
	ptrs := make([]any, len(exprs))
	got := make([][]byte, len(exprs))
	for j := range vals {
		ptrs[j] = &got[j]
	}
	q := `SELECT ` + strings.Join(exprs, ", ") + ` FROM (` + source + `) s OFFSET ` + strconv.Itoa(i) + ` LIMIT 1`
	if err := conn.QueryRow(t.Context(), q).Scan(ptrs...); err != nil {
		return err.Error()
	}
	fields := bytes.Split(line, []byte("\t"))
	var diffs []string
	for j, c := range hashCols {
		one, _ := hashing.New([]hashing.Column{c}, nil)
		all, _, err := one.HashLine(fields[j])
		if err != nil {
			return err.Error()
		}
		if !bytes.Equal(all[:], got[j]) {
			diffs = append(diffs, fmt.Sprintf("%s (%s) COPY text %q", cols[j].name, c.Type, fields[j]))
		}
	}
	return "differing columns: " + strings.Join(diffs, "; ")
}

func mustExec(t *testing.T, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := conn.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
