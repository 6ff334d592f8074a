package ingest_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/platforms/yellow/ytypes"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
)

// typedColumn is one column of the every-type table: its model type, the source column's type,
// the expected read expression (written independently of the service; %s = the quoted column)
// and a generator of source values as text (nil = NULL).
type typedColumn struct {
	name   string
	model  *modelv1.DataType
	source string
	read   string // "" = %s::<physical type>
	key    bool
	gen    func(r *rand.Rand, i int) *string
}

func str(v string) *string { return &v }

func maybe(g func(r *rand.Rand) string) func(r *rand.Rand, i int) *string {
	return func(r *rand.Rand, _ int) *string {
		if r.IntN(6) == 0 {
			return nil
		}
		return str(g(r))
	}
}

var textPool = []rune("abcXYZ 09_-'\"\\\t\n\r\x01,{}()[]éßñ日本語한국어😀\u00a0")

func text(r *rand.Rand, n int) string {
	var b strings.Builder
	for range r.IntN(n + 1) {
		b.WriteRune(textPool[r.IntN(len(textPool))])
	}
	return b.String()
}

func integer(r *rand.Rand, bits int) string {
	switch r.IntN(5) {
	case 0:
		return strconv.FormatInt(-(1 << (bits - 1)), 10)
	case 1:
		return strconv.FormatInt(1<<(bits-1)-1, 10)
	case 2:
		return "0"
	}
	return strconv.FormatInt(r.Int64N(1<<(bits-2))-r.Int64N(1<<(bits-2)), 10)
}

func numeric(r *rand.Rand, p, s int) string {
	var b strings.Builder
	if r.IntN(2) == 0 {
		b.WriteByte('-')
	}
	for range 1 + r.IntN(p-s) {
		b.WriteByte(byte('0' + r.IntN(10)))
	}
	if s > 0 {
		b.WriteByte('.')
		for range 1 + r.IntN(s+2) {
			b.WriteByte(byte('0' + r.IntN(10)))
		}
	}
	return b.String()
}

func float(r *rand.Rand, bits int) string {
	switch r.IntN(8) {
	case 0:
		return "NaN"
	case 1:
		return "Infinity"
	case 2:
		return "-Infinity"
	case 3:
		return "-0"
	}
	return strconv.FormatFloat((r.Float64()-0.5)*math.Pow(10, float64(r.IntN(40)-20)), 'g', -1, bits)
}

func date(r *rand.Rand) string {
	if r.IntN(20) == 0 {
		return "infinity"
	}
	return fmt.Sprintf("%04d-%02d-%02d", 1+r.IntN(3000), 1+r.IntN(12), 1+r.IntN(28))
}

func clock(r *rand.Rand) string {
	return fmt.Sprintf("%02d:%02d:%02d.%06d", r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(1000000))
}

func stamp(r *rand.Rand) string {
	return fmt.Sprintf("%04d-%02d-%02d %s", 1900+r.IntN(200), 1+r.IntN(12), 1+r.IntN(28), clock(r))
}

var offsets = []string{"+00", "+05:30", "-08", "+14", " Europe/Paris", " America/New_York"}

func stampTZ(r *rand.Rand) string { return stamp(r) + offsets[r.IntN(len(offsets))] }

func interval(r *rand.Rand) string {
	return fmt.Sprintf("%d years %d mons -%d days %d:%02d:%02d.%d", r.IntN(50), r.IntN(12), r.IntN(40), r.IntN(100), r.IntN(60), r.IntN(60), r.IntN(1000))
}

func jsonDoc(r *rand.Rand) string {
	v := map[string]any{"s": text(r, 6), "n": r.IntN(1000) - 500, "f": r.Float64(), "b": r.IntN(2) == 0, "a": []any{nil, text(r, 3), 1.5e300}}
	b, _ := json.Marshal(v)
	return string(b)
}

func bytesHex(r *rand.Rand) string {
	b := make([]byte, r.IntN(20))
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return `\x` + hex.EncodeToString(b)
}

func arrayOf(r *rand.Rand, g func(r *rand.Rand) string) string {
	parts := make([]string, r.IntN(4))
	for i := range parts {
		if r.IntN(6) == 0 {
			parts[i] = "NULL"
			continue
		}
		parts[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(g(r)) + `"`
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func allTypes() []typedColumn {
	paris := timestamp("Europe/Paris")
	return []typedColumn{
		{name: "id", model: typ("BigInt"), source: "bigint", key: true, gen: func(_ *rand.Rand, i int) *string { return str(strconv.Itoa(i)) }},
		{name: "K2", model: sized("VarChar", 40), source: "character varying(40)", key: true, gen: func(r *rand.Rand, _ int) *string { return str(text(r, 8)) }},
		{name: "b", model: typ("Boolean"), source: "boolean", gen: maybe(func(r *rand.Rand) string { return []string{"t", "f"}[r.IntN(2)] })},
		{name: "ti", model: typ("TinyInt"), source: "smallint", gen: maybe(func(r *rand.Rand) string { return integer(r, 8) })},
		{name: "si", model: typ("SmallInt"), source: "smallint", gen: maybe(func(r *rand.Rand) string { return integer(r, 16) })},
		{name: "i", model: typ("Integer"), source: "integer", gen: maybe(func(r *rand.Rand) string { return integer(r, 32) })},
		{name: "bi_from_int", model: typ("BigInt"), source: "integer", gen: maybe(func(r *rand.Rand) string { return integer(r, 32) })},
		{name: "dec", model: decimal(12, 2), source: "numeric", gen: maybe(func(r *rand.Rand) string { return numeric(r, 10, 2) })},
		{name: "r", model: typ("IEEE32"), source: "real", gen: maybe(func(r *rand.Rand) string { return float(r, 32) })},
		{name: "dbl", model: typ("IEEE64"), source: "double precision", gen: maybe(func(r *rand.Rand) string { return float(r, 64) })},
		{name: "r_from_dbl", model: typ("IEEE32"), source: "double precision", gen: maybe(func(r *rand.Rand) string { return float(r, 32) })},
		{name: "d", model: typ("Date"), source: "date", gen: maybe(date)},
		{name: "iv", model: typ("Interval"), source: "interval", gen: maybe(interval)},
		{name: "ts", model: timestamp(""), source: "timestamp without time zone", gen: maybe(stamp)},
		{name: "ts_paris", model: paris, source: "timestamp with time zone", read: "(%s AT TIME ZONE 'Europe/Paris')", gen: maybe(stampTZ)},
		{name: "ts_gmt", model: timestamp("GMT+05:30"), source: "timestamp with time zone", read: "(%s AT TIME ZONE INTERVAL '+05:30')", gen: maybe(stampTZ)},
		{name: "ts_utc", model: timestamp(""), source: "timestamp with time zone", read: "(%s AT TIME ZONE 'UTC')", gen: maybe(stampTZ)},
		{name: "ch", model: sized("Char", 5), source: "character(5)", gen: maybe(func(r *rand.Rand) string { return text(r, 5) })},
		{name: "ch_text", model: sized("Char", 5), source: "text", gen: maybe(func(r *rand.Rand) string { return text(r, 5) + "  " })},
		{name: "vc", model: sized("VarChar", 20), source: "character varying(20)", gen: maybe(func(r *rand.Rand) string { return text(r, 20) })},
		{name: "vc_trunc", model: sized("VarChar", 3), source: "text", gen: maybe(func(r *rand.Rand) string { return text(r, 8) })},
		{name: "txt", model: typ("VarChar"), source: "text", gen: maybe(func(r *rand.Rand) string { return text(r, 40) })},
		{name: "nvc_c", model: &modelv1.DataType{Name: "NVarChar", Collation: "C"}, source: `text COLLATE "C"`, gen: maybe(func(r *rand.Rand) string { return text(r, 10) })},
		{name: "variant", model: typ("Variant"), source: "jsonb", gen: maybe(jsonDoc)},
		{name: "variant_text", model: typ("Variant"), source: "text", gen: maybe(jsonDoc)},
		{name: "map", model: &modelv1.DataType{Name: "Map", KeyType: typ("VarChar"), ValueType: typ("Integer")}, source: "jsonb", gen: maybe(jsonDoc)},
		{name: "struct", model: &modelv1.DataType{Name: "Struct", Fields: []*modelv1.StructField{{Name: "a", Type: typ("Integer"), Nullable: true}}}, source: "json", gen: maybe(jsonDoc)},
		{name: "bin", model: typ("Binary"), source: "bytea", gen: maybe(bytesHex)},
		{name: "ia", model: array(typ("Integer")), source: "integer[]", gen: maybe(func(r *rand.Rand) string { return arrayOf(r, func(r *rand.Rand) string { return integer(r, 32) }) })},
		{name: "vec", model: &modelv1.DataType{Name: "Array", ElementType: typ("IEEE32"), MaxSize: proto.Int64(3)}, source: "real[]", gen: maybe(func(r *rand.Rand) string { return arrayOf(r, func(r *rand.Rand) string { return float(r, 32) }) })},
		{name: "tsa", model: array(paris), source: "timestamp with time zone[]",
			read: "(CASE WHEN %[1]s IS NULL THEN NULL ELSE ARRAY(SELECT x AT TIME ZONE 'Europe/Paris' FROM unnest(%[1]s) WITH ORDINALITY AS u(x, n) ORDER BY n) END)",
			gen:  maybe(func(r *rand.Rand) string { return arrayOf(r, stampTZ) })},
		{name: "vca", model: array(sized("VarChar", 10)), source: "text[]", gen: maybe(func(r *rand.Rand) string { return arrayOf(r, func(r *rand.Rand) string { return text(r, 12) }) })},
		{name: "deca", model: array(decimal(10, 3)), source: "numeric[]", gen: maybe(func(r *rand.Rand) string { return arrayOf(r, func(r *rand.Rand) string { return numeric(r, 7, 3) }) })},
		{name: "ba", model: array(typ("Boolean")), source: "boolean[]", gen: maybe(func(r *rand.Rand) string { return arrayOf(r, func(r *rand.Rand) string { return "t" }) })},
		{name: "da", model: array(typ("Date")), source: "date[]", gen: maybe(func(r *rand.Rand) string { return arrayOf(r, date) })},
		{name: "iva", model: array(typ("Interval")), source: "interval[]", gen: maybe(func(r *rand.Rand) string { return arrayOf(r, interval) })},
		{name: "bya", model: array(typ("Binary")), source: "bytea[]", gen: maybe(func(r *rand.Rand) string { return arrayOf(r, bytesHex) })},
		{name: "dbla", model: array(typ("IEEE64")), source: "double precision[]", gen: maybe(func(r *rand.Rand) string { return arrayOf(r, func(r *rand.Rand) string { return float(r, 64) }) })},
		{name: "cha", model: array(sized("Char", 3)), source: "character(3)[]", gen: maybe(func(r *rand.Rand) string { return arrayOf(r, func(r *rand.Rand) string { return text(r, 3) }) })},
		{name: "jsa", model: array(typ("Variant")), source: "jsonb[]", gen: maybe(func(r *rand.Rand) string { return arrayOf(r, jsonDoc) })},
	}
}

// createAllTypes creates table name in the source with rows random rows plus special rows and
// returns the model dataset and the expected read query.
func (e *env) createAllTypes(name string, rows int) (*modelv1.Dataset, string) {
	e.t.Helper()
	cols := allTypes()
	var defs, names, params, reads []string
	ds := &modelv1.Dataset{Name: name}
	for i, c := range cols {
		q := pgx.Identifier{c.name}.Sanitize()
		defs = append(defs, q+" "+c.source)
		names = append(names, q)
		params = append(params, fmt.Sprintf("$%d::text::%s", i+1, strings.Split(c.source, " COLLATE")[0]))
		phys, err := ytypes.Map(c.model, ytypes.Options{})
		if err != nil {
			e.t.Fatal(err)
		}
		r := q + "::" + phys.Type
		if c.read != "" {
			r = fmt.Sprintf(c.read, q) + "::" + phys.Type
		}
		reads = append(reads, r+" AS "+q)
		ds.Columns = append(ds.Columns, col(c.name, c.model, !c.key))
		if c.key {
			ds.PrimaryKey = append(ds.PrimaryKey, c.name)
		}
	}
	ds.PrimaryKey = []string{"K2", "id"} // key order differs from column order
	e.execSrc("CREATE TABLE " + pgx.Identifier{name}.Sanitize() + " (" + strings.Join(defs, ", ") + ")")
	insert := "INSERT INTO " + pgx.Identifier{name}.Sanitize() + " (" + strings.Join(names, ", ") + ") VALUES (" + strings.Join(params, ", ") + ")"
	r := rand.New(rand.NewPCG(20260102, 7))
	batch := &pgx.Batch{}
	for i := range rows {
		args := make([]any, len(cols))
		for j, c := range cols {
			if v := c.gen(r, i); v != nil {
				args[j] = *v
			}
		}
		batch.Queue(insert, args...)
	}
	// Special rows: every nullable column NULL; empty strings; blanks; NaN and infinities.
	batch.Queue(`INSERT INTO ` + pgx.Identifier{name}.Sanitize() + ` ("id", "K2") VALUES (-1, '')`)
	batch.Queue(`INSERT INTO ` + pgx.Identifier{name}.Sanitize() + ` ("id", "K2", "ch", "vc", "txt", "ch_text", "r", "dbl", "vca") VALUES (-2, ' ', '', '', '', '     ', 'NaN', '-Infinity', '{"",NULL," "}')`)
	if err := e.src.SendBatch(context.Background(), batch).Close(); err != nil {
		e.t.Fatal(err)
	}
	return ds, "SELECT " + strings.Join(reads, ", ") + " FROM " + pgx.Identifier{name}.Sanitize()
}

// TestSnapshotEveryType ingests a snapshot of a table with every storable type: the staging
// rows' hashes equal the SQL form computed in the merge database, and the staged (key hash,
// all hash) pairs equal the SQL form computed on the source over an independently written read
// query (so values survived the copy unchanged).
func TestSnapshotEveryType(t *testing.T) {
	e := newEnv(t)
	const rows = 400
	ds, query := e.createAllTypes("alltypes", rows)
	m := e.model(e.snapshotStore("Store1", modelv1.Consistency_CONSISTENCY_MULTI_DATASET, nil, ds))
	e.setup(m)
	b := e.open(m, "Store1")
	res := e.mustIngest(m, "Store1", b)

	if res.Status != "ingested" || res.AlreadyIngested || res.Capture != "snapshot" || res.Total != rows+2 || res.Rows["alltypes"] != rows+2 || res.Bytes == 0 {
		t.Errorf("result = %+v", res)
	}
	if res.DataTime.IsZero() || time.Since(res.DataTime) > time.Minute {
		t.Errorf("data time = %v", res.DataTime)
	}
	d := e.streams(m)["Store1"].datasets[0]
	if bad, total := e.badHashes(d, layout.Snapshot, b); bad != 0 || total != rows+2 {
		t.Errorf("%d of %d staging rows have hashes that differ from the SQL form", bad, total)
	}
	if got, want := e.hashDigest(d, layout.Snapshot, b), e.sourceDigest(d, query); got != want {
		t.Errorf("staged hashes differ from the source's SQL form: digest %s, want %s", got, want)
	}
	status, st := e.state("Store1", b)
	if status != mergesql.Ingested {
		t.Errorf("status = %s", status)
	}
	if st.Rows["alltypes"].Staged != rows+2 || st.DataTime == "" || st.Fingerprints["alltypes"] != mergesql.Fingerprint(d) || st.Watermark != nil {
		t.Errorf("state = %+v", st)
	}
	var total int64
	if err := e.merge.QueryRow(context.Background(), `SELECT total_records FROM `+pgx.Identifier{books.Metrics.Schema, books.Metrics.Name}.Sanitize()+` WHERE key = $1 AND batch_id = $2`, "Store1", b).Scan(&total); err != nil || total != rows+2 {
		t.Errorf("total_records = %d, %v", total, err)
	}
}

// TestSnapshotIdempotent: ingesting an ingested batch again changes nothing; re-running it from
// started (the same batch again) gives identical staging; other batches' rows are untouched.
func TestSnapshotIdempotent(t *testing.T) {
	e := newEnv(t)
	ds, _ := e.createAllTypes("alltypes", 200)
	m := e.model(e.snapshotStore("Store1", modelv1.Consistency_CONSISTENCY_MULTI_DATASET, nil, ds))
	e.setup(m)
	d := e.streams(m)["Store1"].datasets[0]

	b1 := e.open(m, "Store1")
	e.mustIngest(m, "Store1", b1)
	e.commit(m, "Store1", b1)
	batch1 := e.stagingRows(d, layout.Snapshot, b1)

	b2 := e.open(m, "Store1")
	first := e.mustIngest(m, "Store1", b2)
	want := e.stagingRows(d, layout.Snapshot, b2)
	if len(want) != 202 {
		t.Fatalf("staged %d rows", len(want))
	}

	again := e.mustIngest(m, "Store1", b2)
	if !again.AlreadyIngested || again.Status != "ingested" || again.Total != first.Total || again.Rows["alltypes"] != 202 {
		t.Errorf("second call on an ingested batch = %+v", again)
	}
	e.restart("Store1", b2)
	rerun := e.mustIngest(m, "Store1", b2)
	if rerun.AlreadyIngested || rerun.Total != first.Total {
		t.Errorf("re-run = %+v", rerun)
	}
	if diff := cmp.Diff(want, e.stagingRows(d, layout.Snapshot, b2)); diff != "" {
		t.Errorf("staging after a re-run (-first +re-run):\n%s", diff)
	}
	if diff := cmp.Diff(batch1, e.stagingRows(d, layout.Snapshot, b1)); diff != "" {
		t.Errorf("batch 1 staging changed (-before +after):\n%s", diff)
	}
	e.commit(m, "Store1", b2)
	committed := e.mustIngest(m, "Store1", b2)
	if !committed.AlreadyIngested || committed.Status != "committed" {
		t.Errorf("ingest of a committed batch = %+v", committed)
	}
}
