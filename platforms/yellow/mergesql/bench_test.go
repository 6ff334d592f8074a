package mergesql_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/hashing"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/jackc/pgx/v5"
)

// benchRows is the merge table size (BENCH_ROWS overrides it for a quick run).
func benchRows(b *testing.B) int {
	if v := os.Getenv("BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	return 1_000_000
}

// wide is the benchmark dataset: about 200 bytes per row with its hashes.
func wide() layout.Dataset {
	return layout.Dataset{
		Store: "Bench", Name: "wide", PrimaryKey: []string{"id"},
		Columns: []layout.Column{
			{Name: "id", Type: "integer", NotNull: true, Model: true},
			{Name: "name", Type: "character varying(80)", Model: true},
			{Name: "email", Type: "character varying(80)", Model: true},
			{Name: "amount", Type: "numeric(12,2)", Model: true},
			{Name: "updated", Type: "timestamp without time zone", Model: true},
			{Name: "score", Type: "integer", Model: true},
		},
	}
}

type benchEnv struct {
	b      *testing.B
	conn   *pgx.Conn
	f      *fixture     // "our" platform: merged with mergesql
	limit  layout.Table // the same merge table on another platform, merged by hand
	batch  int32
	rows   int
	allSQL string
	keySQL string
}

func (e *benchEnv) exec(sql string, args ...any) int64 {
	e.b.Helper()
	tag, err := e.conn.Exec(context.Background(), sql, args...)
	if err != nil {
		e.b.Fatalf("%s: %v", sql, err)
	}
	return tag.RowsAffected()
}

// stage fills staging(B) set-based from the current live rows: pct% of the keys change (of those,
// one in ten is deleted, the rest get a new amount) and pct%/10 new keys arrive. It returns the
// number of changed rows (updated + deleted + inserted).
func (e *benchEnv) stage(pct int) int64 {
	e.b.Helper()
	e.batch++
	b := e.batch
	st := ddl.Ident(e.f.staging.Name)
	m := ddl.Ident(e.f.merge.Name)
	e.exec(`TRUNCATE ` + st) // retention keep 0: only the current batch is staged
	live := ""
	if e.f.m == layout.Forensic {
		live = ` AND m."ds_surf_batch_out" = 2147483647`
	}
	sel := fmt.Sprintf(`(abs(hashtext(m."id"::text || '/' || $1::integer::text)) %% 10000) < %d`, pct*100)
	newRows := e.rows * pct / 1000
	e.exec(`INSERT INTO `+st+` ("id", "name", "email", "amount", "updated", "score", "ds_surf_batch_id", "ds_surf_all_hash", "ds_surf_key_hash")
SELECT x.*, $1::integer, `+e.allSQL+`, `+e.keySQL+` FROM (
  SELECT m."id", m."name", m."email", CASE WHEN `+sel+` THEN m."amount" + 1 ELSE m."amount" END AS "amount", m."updated", m."score"
  FROM `+m+` m WHERE NOT (`+sel+` AND m."id" % 10 = 0)`+live+`
  UNION ALL
  SELECT i, md5(i::text) || md5((i + 1)::text), md5(i::text || 'e') || '@example.com', (i % 100000)::numeric / 100,
         timestamp '2026-01-01' + i * interval '1 second', i % 1000
  FROM generate_series((SELECT max("id") FROM `+m+`) + 1, (SELECT max("id") FROM `+m+`) + $2::integer) i
) x`, b, newRows)
	e.exec(`ANALYZE ` + st)
	var changed int64
	if err := e.conn.QueryRow(context.Background(), `SELECT
  (SELECT count(*) FROM `+m+` m WHERE `+sel+live+`) + $2::integer`, b, newRows).Scan(&changed); err != nil {
		e.b.Fatal(err)
	}
	return changed
}

// ours runs the mergesql statements of batch B in one transaction.
func (e *benchEnv) ours() mergesql.Counts {
	e.b.Helper()
	stmts, err := mergesql.Merge(e.f.target, e.f.mode(false), e.batch)
	if err != nil {
		e.b.Fatal(err)
	}
	var c mergesql.Counts
	inTx(e.b, e.conn, func(tx pgx.Tx) error {
		if os.Getenv("BENCH_EXPLAIN") != "" && e.batch > 1 {
			for _, s := range stmts {
				rows, err := tx.Query(context.Background(), "EXPLAIN (ANALYZE, COSTS OFF) "+s.SQL, s.Args...)
				if err != nil {
					return err
				}
				plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
				if err != nil {
					return err
				}
				e.b.Logf("%s:\n%s", s.Name, strings.Join(plan, "\n"))
			}
			return errors.New("explained")
		}
		c, err = mergesql.Exec(context.Background(), tx, stmts)
		return err
	})
	return c
}

// physicalLimit applies the same batch to the limit table with a hand-written minimal sequence:
// live-only, one MERGE (update changed, insert new) and one anti-join DELETE; forensic, one
// UPDATE closing every live version whose (key, all hash) is not staged and one INSERT of every
// staged row without a live version.
func (e *benchEnv) physicalLimit() {
	e.b.Helper()
	l := ddl.Ident(e.limit.Name)
	s := ddl.Ident(e.f.staging.Name)
	cols := e.limit.ModelColumnNames()
	q := func(a string, cs ...string) string {
		out := make([]string, len(cs))
		for i, c := range cs {
			out[i] = a + pgx.Identifier{c}.Sanitize()
		}
		return strings.Join(out, ", ")
	}
	var stmts []string
	if e.f.m == layout.LiveOnly {
		var set []string
		for _, c := range cols {
			set = append(set, pgx.Identifier{c}.Sanitize()+" = s."+pgx.Identifier{c}.Sanitize())
		}
		stmts = []string{
			`MERGE INTO ` + l + ` m USING (SELECT * FROM ` + s + ` WHERE "ds_surf_batch_id" = $1::integer) s ON m."ds_surf_key_hash" = s."ds_surf_key_hash"
WHEN MATCHED AND m."ds_surf_all_hash" <> s."ds_surf_all_hash" THEN UPDATE SET ` + strings.Join(set, ", ") + `, "ds_surf_all_hash" = s."ds_surf_all_hash", "ds_surf_batch_id" = $1::integer
WHEN NOT MATCHED THEN INSERT (` + q("", cols...) + `, "ds_surf_all_hash", "ds_surf_key_hash", "ds_surf_batch_id")
  VALUES (` + q("s.", cols...) + `, s."ds_surf_all_hash", s."ds_surf_key_hash", $1::integer)`,
			`DELETE FROM ` + l + ` m WHERE NOT EXISTS (SELECT 1 FROM ` + s + ` s WHERE s."ds_surf_batch_id" = $1::integer AND s."ds_surf_key_hash" = m."ds_surf_key_hash")`,
		}
	} else {
		stmts = []string{
			`UPDATE ` + l + ` m SET "ds_surf_batch_out" = $1::integer - 1 WHERE m."ds_surf_batch_out" = 2147483647
  AND NOT EXISTS (SELECT 1 FROM ` + s + ` s WHERE s."ds_surf_batch_id" = $1::integer AND s."ds_surf_key_hash" = m."ds_surf_key_hash" AND s."ds_surf_all_hash" = m."ds_surf_all_hash")`,
			`INSERT INTO ` + l + ` (` + q("", cols...) + `, "ds_surf_all_hash", "ds_surf_key_hash", "ds_surf_batch_in", "ds_surf_batch_out")
SELECT ` + q("s.", cols...) + `, s."ds_surf_all_hash", s."ds_surf_key_hash", $1::integer, 2147483647 FROM ` + s + ` s
WHERE s."ds_surf_batch_id" = $1::integer AND NOT EXISTS (SELECT 1 FROM ` + l + ` m WHERE m."ds_surf_key_hash" = s."ds_surf_key_hash" AND m."ds_surf_batch_out" = 2147483647)`,
		}
	}
	inTx(e.b, e.conn, func(tx pgx.Tx) error {
		for _, st := range stmts {
			if _, err := tx.Exec(context.Background(), st, e.batch); err != nil {
				return fmt.Errorf("%s: %w", st, err)
			}
		}
		return nil
	})
}

// same checks that both merge tables hold the same versions.
func (e *benchEnv) same() {
	e.b.Helper()
	cols := `"id", "name", "email", "amount", "updated", "score", "ds_surf_all_hash", "ds_surf_key_hash"`
	if e.f.m == layout.Forensic {
		cols += `, "ds_surf_batch_in", "ds_surf_batch_out"`
	} else {
		cols += `, "ds_surf_batch_id"`
	}
	a, l := ddl.Ident(e.f.merge.Name), ddl.Ident(e.limit.Name)
	var diff int64
	if err := e.conn.QueryRow(context.Background(), `SELECT
  (SELECT count(*) FROM (SELECT `+cols+` FROM `+a+` EXCEPT ALL SELECT `+cols+` FROM `+l+`) x) +
  (SELECT count(*) FROM (SELECT `+cols+` FROM `+l+` EXCEPT ALL SELECT `+cols+` FROM `+a+`) y)`).Scan(&diff); err != nil {
		e.b.Fatal(err)
	}
	if diff != 0 {
		e.b.Fatalf("mergesql and the physical limit disagree on %d rows", diff)
	}
}

func newBenchEnv(b *testing.B, m layout.Milestoning) *benchEnv {
	b.Helper()
	conn := connect(b)
	e := &benchEnv{b: b, conn: conn, rows: benchRows(b)}
	e.f = newFixture(b, conn, "Bench", wide(), layout.Snapshot, m)
	limitFx := newFixture(b, conn, "Limit", wide(), layout.Snapshot, m)
	e.limit = limitFx.merge
	cols := ddl.HashColumns(e.f.staging)
	var err error
	if e.allSQL, err = hashing.AllHashSQL("x", cols); err != nil {
		b.Fatal(err)
	}
	if e.keySQL, err = hashing.KeyHashSQL("x", cols, e.f.ds.PrimaryKey); err != nil {
		b.Fatal(err)
	}
	// Batch 1: the initial load, merged by mergesql and copied to the limit table.
	e.batch = 1
	start := time.Now()
	e.exec(`INSERT INTO `+ddl.Ident(e.f.staging.Name)+` ("id", "name", "email", "amount", "updated", "score", "ds_surf_batch_id", "ds_surf_all_hash", "ds_surf_key_hash")
SELECT x.*, 1, `+e.allSQL+`, `+e.keySQL+` FROM (
  SELECT i AS "id", md5(i::text) || md5((i + 1)::text) AS "name", md5(i::text || 'e') || '@example.com' AS "email",
         ((i % 100000)::numeric / 100)::numeric(12,2) AS "amount", timestamp '2026-01-01' + i * interval '1 second' AS "updated", i % 1000 AS "score"
  FROM generate_series(1, $1::integer) i) x`, e.rows)
	e.exec(`ANALYZE ` + ddl.Ident(e.f.staging.Name))
	e.ours()
	e.exec(`INSERT INTO ` + ddl.Ident(e.limit.Name) + ` SELECT * FROM ` + ddl.Ident(e.f.merge.Name))
	for _, t := range []layout.Table{e.f.merge, e.limit} {
		e.exec(`VACUUM ANALYZE ` + ddl.Ident(t.Name))
	}
	var size int64
	if err := conn.QueryRow(context.Background(), `SELECT pg_relation_size($1::regclass) / greatest(count(*), 1) FROM `+ddl.Ident(e.f.merge.Name), ddl.Ident(e.f.merge.Name)).Scan(&size); err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: loaded %d rows (%d bytes per row on disk) in %s", m, e.rows, size, time.Since(start).Round(time.Millisecond))
	return e
}

// BenchmarkMerge measures the merge of a snapshot batch changing 1% and 10% of a 1,000,000-row
// table (about 200 bytes per row) for the live-only and forensic merges, as changed rows per
// second, beside the physical limit measured in the same run on an identical table: a
// hand-written minimal set-based statement sequence applying the same staged batch. Setup
// (loading, staging each batch) is not timed. Run it with
// `go test -run '^$' -bench Merge -benchtime 1x ./platforms/yellow/mergesql`.
func BenchmarkMerge(b *testing.B) {
	for _, m := range []layout.Milestoning{layout.LiveOnly, layout.Forensic} {
		b.Run(m.String(), func(b *testing.B) {
			e := newBenchEnv(b, m)
			for _, pct := range []int{1, 10} {
				b.Run(fmt.Sprintf("%dpct", pct), func(b *testing.B) {
					e.b = b
					var changed int64
					var ours, limit time.Duration
					b.ResetTimer()
					for b.Loop() {
						b.StopTimer()
						changed += e.stage(pct)
						b.StartTimer()
						t0 := time.Now()
						c := e.ours()
						ours += time.Since(t0)
						b.StopTimer()
						if c.Inserted+c.Updated+c.Deleted == 0 {
							b.Fatal("the batch changed nothing")
						}
						t1 := time.Now()
						e.physicalLimit()
						limit += time.Since(t1)
						b.StartTimer()
					}
					b.StopTimer()
					e.same()
					b.ReportMetric(float64(changed)/ours.Seconds(), "changed-rows/s")
					b.ReportMetric(float64(changed)/limit.Seconds(), "limit-changed-rows/s")
					b.ReportMetric(limit.Seconds()/ours.Seconds(), "ratio-to-limit")
				})
			}
		})
	}
}
