// Package mergesql owns the SQL statements a Yellow platform runs in its merge database apart from
// table DDL: the merges of yellow.md §9 (live-only and forensic; snapshot, upsert and IUD), the
// secondary-platform reads and mirror merges of §8, the batch bookkeeping of §6 (counter,
// metrics, states, the state record and the stream lock), staging retention (§13), lag queries
// (§14) and the workspace views of §12 with column masking (security.md §5).
//
// Every statement is built from validated model names quoted with pgx.Identifier; every value is
// a bind parameter. Statements are values (Stmt) so callers run them in their own transaction and
// tests compare them with golden files.
package mergesql

import (
	"context"
	"fmt"
	"strings"

	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Metric says which batch count a statement's row count adds to.
type Metric int

// Metrics.
const (
	None Metric = iota
	Inserted
	Updated
	Deleted
)

func (m Metric) String() string {
	switch m {
	case Inserted:
		return "inserted"
	case Updated:
		return "updated"
	case Deleted:
		return "deleted"
	}
	return "none"
}

// Stmt is one SQL statement with its bind arguments.
type Stmt struct {
	// Name says what the statement does ("insert new", "close changed", …).
	Name   string
	SQL    string
	Args   []any
	Metric Metric
}

// Counts are a merge's row counts (batch_metrics.records_*).
type Counts struct {
	Inserted int64
	Updated  int64
	Deleted  int64
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Inserted += o.Inserted
	c.Updated += o.Updated
	c.Deleted += o.Deleted
}

// Execer runs a statement: a pgx.Tx, *pgx.Conn or *pgxpool.Pool.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Exec runs stmts in order on db (normally the step-4 transaction) and sums their row counts
// into the metrics they feed.
func Exec(ctx context.Context, db Execer, stmts []Stmt) (Counts, error) {
	var c Counts
	for _, s := range stmts {
		tag, err := db.Exec(ctx, s.SQL, s.Args...)
		if err != nil {
			return c, fmt.Errorf("%s: %w", s.Name, err)
		}
		switch s.Metric {
		case Inserted:
			c.Inserted += tag.RowsAffected()
		case Updated:
			c.Updated += tag.RowsAffected()
		case Deleted:
			c.Deleted += tag.RowsAffected()
		}
	}
	return c, nil
}

// Mode is one merge of yellow.md §9 and §8.2.
type Mode int

// Merge modes.
const (
	LiveSnapshot      Mode = iota + 1 // §9.1: SQL snapshot, transformer output, live secondary seed
	LiveUpsert                        // §9.2: SQL watermark
	LiveIUD                           // §9.3: Kafka CDC, live secondary incremental
	ForensicSnapshot                  // §9.4
	ForensicUpsert                    // §9.5
	ForensicIUD                       // §9.6
	MirrorSeed                        // §8.2 forensic secondary seed
	MirrorIncremental                 // §8.2 forensic secondary incremental
)

var modeNames = map[Mode]string{
	LiveSnapshot: "live-snapshot", LiveUpsert: "live-upsert", LiveIUD: "live-iud",
	ForensicSnapshot: "forensic-snapshot", ForensicUpsert: "forensic-upsert", ForensicIUD: "forensic-iud",
	MirrorSeed: "mirror-seed", MirrorIncremental: "mirror-incremental",
}

func (m Mode) String() string {
	if n, ok := modeNames[m]; ok {
		return n
	}
	return fmt.Sprintf("mode(%d)", int(m))
}

// Modes lists every mode.
var Modes = []Mode{LiveSnapshot, LiveUpsert, LiveIUD, ForensicSnapshot, ForensicUpsert, ForensicIUD, MirrorSeed, MirrorIncremental}

// ModeFor returns the merge of a batch: capture c on a platform with milestoning m; seed is true
// for a secondary's first (or re-seeding) batch.
func ModeFor(c layout.Capture, m layout.Milestoning, seed bool) (Mode, error) {
	forensic := m == layout.Forensic
	switch c {
	case layout.Snapshot, layout.TransformerOutput:
		return pick(forensic, ForensicSnapshot, LiveSnapshot), nil
	case layout.Watermark:
		return pick(forensic, ForensicUpsert, LiveUpsert), nil
	case layout.CDC:
		return pick(forensic, ForensicIUD, LiveIUD), nil
	case layout.RemoteLive:
		if forensic {
			return 0, fmt.Errorf("capture %s needs a live-only platform", c)
		}
		return pick(seed, LiveSnapshot, LiveIUD), nil
	case layout.RemoteForensic:
		if !forensic {
			return 0, fmt.Errorf("capture %s needs a forensic platform", c)
		}
		return pick(seed, MirrorSeed, MirrorIncremental), nil
	}
	return 0, fmt.Errorf("capture %v has no merge", c)
}

func pick[T any](cond bool, a, b T) T {
	if cond {
		return a
	}
	return b
}

// Target is one dataset's merge: its merge and staging tables and model columns.
type Target struct {
	Merge       naming.Name
	Staging     naming.Name
	Columns     []string
	Milestoning layout.Milestoning
	Capture     layout.Capture
}

// TargetOf returns the target of a merge table and its staging table.
func TargetOf(merge, staging layout.Table) (Target, error) {
	if merge.Kind != layout.KindMerge || staging.Kind != layout.KindStaging {
		return Target{}, fmt.Errorf("target needs a merge and a staging table, got %s and %s", merge.Kind, staging.Kind)
	}
	if merge.Dataset != staging.Dataset {
		return Target{}, fmt.Errorf("merge table of %s with staging table of %s", merge.Dataset, staging.Dataset)
	}
	return Target{
		Merge: merge.Name, Staging: staging.Name, Columns: merge.ModelColumnNames(),
		Milestoning: merge.Milestoning, Capture: staging.Capture,
	}, nil
}

// Ident quotes a schema-qualified name.
func ident(n naming.Name) string { return pgx.Identifier{n.Schema, n.Name}.Sanitize() }

func q(s string) string { return pgx.Identifier{s}.Sanitize() }

func qa(alias, s string) string { return alias + "." + q(s) }

// list quotes cols, each prefixed by alias when it is not empty.
func list(alias string, cols ...string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		if alias == "" {
			out[i] = q(c)
		} else {
			out[i] = qa(alias, c)
		}
	}
	return strings.Join(out, ", ")
}

// liveLit is L = 2147483647 as SQL (a constant, not user input).
var liveLit = fmt.Sprint(layout.Live)

// Statement fragments; $1 is always the batch id B.
const bParam = "$1::integer"

type builder struct {
	t       Target
	m, s    string // quoted merge and staging tables
	cols    []string
	batchID string // s.ds_surf_batch_id = $1
	notD    string // AND s.ds_surf_iud <> 'D', when IUD
	keyEq   string // m.key = s.key
}

func newBuilder(t Target, iud bool) builder {
	b := builder{t: t, m: ident(t.Merge), s: ident(t.Staging), cols: t.Columns}
	b.batchID = qa("s", layout.BatchID) + " = " + bParam
	if iud {
		b.notD = " AND " + qa("s", layout.IUD) + " <> 'D'"
	}
	b.keyEq = qa("m", layout.KeyHash) + " = " + qa("s", layout.KeyHash)
	return b
}

func (b builder) stmt(name, sql string, batch int32, m Metric) Stmt {
	return Stmt{Name: name, SQL: sql, Args: []any{batch}, Metric: m}
}

// Merge returns the statements of mode for target t and batch b, in execution order (yellow.md
// §9; §8.2 for the mirror modes).
func Merge(t Target, mode Mode, b int32) ([]Stmt, error) {
	if len(t.Columns) == 0 {
		return nil, fmt.Errorf("merge %s: no model columns", t.Merge)
	}
	switch mode {
	case LiveSnapshot:
		x := newBuilder(t, false)
		return []Stmt{x.liveInsert(b), x.liveUpdate(b), x.liveDeleteMissing(b)}, nil
	case LiveUpsert:
		x := newBuilder(t, false)
		return []Stmt{x.liveInsert(b), x.liveUpdate(b)}, nil
	case LiveIUD:
		x := newBuilder(t, true)
		return []Stmt{x.liveInsert(b), x.liveUpdate(b), x.liveDeleteIUD(b)}, nil
	case ForensicSnapshot:
		x := newBuilder(t, false)
		return []Stmt{x.closeChanged(b), x.closeMissing(b), x.insertNew(b), x.insertChanged(b)}, nil
	case ForensicUpsert:
		x := newBuilder(t, false)
		return []Stmt{x.closeChanged(b), x.insertNew(b), x.insertChanged(b)}, nil
	case ForensicIUD:
		x := newBuilder(t, true)
		return []Stmt{x.closeChanged(b), x.closeDeletedIUD(b), x.insertNew(b), x.insertChanged(b)}, nil
	case MirrorSeed:
		x := newBuilder(t, false)
		return []Stmt{x.mirrorClear(), x.mirrorInsertAll(b)}, nil
	case MirrorIncremental:
		x := newBuilder(t, false)
		return []Stmt{x.mirrorClose(b), x.mirrorInsert(b)}, nil
	}
	return nil, fmt.Errorf("merge %s: unknown mode %v", t.Merge, mode)
}

// §9.1 statement 1.
func (x builder) liveInsert(b int32) Stmt {
	sql := "INSERT INTO " + x.m + " (" + list("", x.cols...) + ", " + list("", layout.AllHash, layout.KeyHash, layout.BatchID) + ")\n" +
		"SELECT " + list("s", x.cols...) + ", " + list("s", layout.AllHash, layout.KeyHash) + ", " + bParam + "\n" +
		"FROM " + x.s + " s\n" +
		"WHERE " + x.batchID + x.notD + "\n" +
		"  AND NOT EXISTS (SELECT 1 FROM " + x.m + " m WHERE " + x.keyEq + ")"
	return x.stmt("insert new", sql, b, Inserted)
}

// §9.1 statement 2.
func (x builder) liveUpdate(b int32) Stmt {
	sql := "UPDATE " + x.m + " m\n" +
		"SET (" + list("", x.cols...) + ", " + list("", layout.AllHash, layout.BatchID) + ") =\n" +
		"    (" + list("s", x.cols...) + ", " + qa("s", layout.AllHash) + ", " + bParam + ")\n" +
		"FROM " + x.s + " s\n" +
		"WHERE " + x.batchID + x.notD + "\n" +
		"  AND " + x.keyEq + "\n" +
		"  AND " + qa("m", layout.AllHash) + " <> " + qa("s", layout.AllHash)
	return x.stmt("update changed", sql, b, Updated)
}

// §9.1 statement 3.
func (x builder) liveDeleteMissing(b int32) Stmt {
	sql := "DELETE FROM " + x.m + " m\n" +
		"WHERE NOT EXISTS (SELECT 1 FROM " + x.s + " s WHERE " + x.batchID + " AND " + x.keyEq + ")"
	return x.stmt("delete missing", sql, b, Deleted)
}

// §9.3 delete.
func (x builder) liveDeleteIUD(b int32) Stmt {
	sql := "DELETE FROM " + x.m + " m\n" +
		"USING " + x.s + " s\n" +
		"WHERE " + x.batchID + " AND " + qa("s", layout.IUD) + " = 'D'\n" +
		"  AND " + x.keyEq
	return x.stmt("delete deleted", sql, b, Deleted)
}

func (x builder) liveM() string { return qa("m", layout.BatchOut) + " = " + liveLit }

// closeTo is `ds_surf_batch_out = $B - 1`.
func closeTo() string { return q(layout.BatchOut) + " = " + bParam + " - 1" }

// §9.4 statement 1.
func (x builder) closeChanged(b int32) Stmt {
	sql := "UPDATE " + x.m + " m\n" +
		"SET " + closeTo() + "\n" +
		"FROM " + x.s + " s\n" +
		"WHERE " + x.batchID + x.notD + "\n" +
		"  AND " + x.keyEq + "\n" +
		"  AND " + x.liveM() + "\n" +
		"  AND " + qa("m", layout.AllHash) + " <> " + qa("s", layout.AllHash)
	return x.stmt("close changed", sql, b, Updated)
}

// §9.4 statement 2.
func (x builder) closeMissing(b int32) Stmt {
	sql := "UPDATE " + x.m + " m\n" +
		"SET " + closeTo() + "\n" +
		"WHERE " + x.liveM() + "\n" +
		"  AND NOT EXISTS (SELECT 1 FROM " + x.s + " s WHERE " + x.batchID + " AND " + x.keyEq + ")"
	return x.stmt("close deleted", sql, b, Deleted)
}

// §9.6 statement 2.
func (x builder) closeDeletedIUD(b int32) Stmt {
	sql := "UPDATE " + x.m + " m\n" +
		"SET " + closeTo() + "\n" +
		"FROM " + x.s + " s\n" +
		"WHERE " + x.batchID + " AND " + qa("s", layout.IUD) + " = 'D'\n" +
		"  AND " + x.keyEq + "\n" +
		"  AND " + x.liveM()
	return x.stmt("close deleted", sql, b, Deleted)
}

func (x builder) forensicInsert() string {
	return "INSERT INTO " + x.m + " (" + list("", x.cols...) + ", " + list("", layout.AllHash, layout.KeyHash, layout.BatchIn, layout.BatchOut) + ")\n" +
		"SELECT " + list("s", x.cols...) + ", " + list("s", layout.AllHash, layout.KeyHash) + ", " + bParam + ", " + liveLit + "\n" +
		"FROM " + x.s + " s\n" +
		"WHERE " + x.batchID + x.notD + "\n"
}

// §9.4 statement 3.
func (x builder) insertNew(b int32) Stmt {
	sql := x.forensicInsert() +
		"  AND NOT EXISTS (SELECT 1 FROM " + x.m + " m WHERE " + x.keyEq + " AND " + qa("m", layout.BatchOut) + " IN (" + liveLit + ", " + bParam + " - 1))"
	return x.stmt("insert new", sql, b, Inserted)
}

// §9.4 statement 4; its count equals "close changed", so it feeds no metric.
func (x builder) insertChanged(b int32) Stmt {
	sql := x.forensicInsert() +
		"  AND EXISTS (SELECT 1 FROM " + x.m + " m WHERE " + x.keyEq + " AND " + qa("m", layout.BatchOut) + " = " + bParam + " - 1)\n" +
		"  AND NOT EXISTS (SELECT 1 FROM " + x.m + " m WHERE " + x.keyEq + " AND " + qa("m", layout.BatchIn) + " = " + bParam + ")"
	return x.stmt("insert changed versions", sql, b, None)
}

// §8.2 seed: the mirror rebuild, the only statement that deletes forensic history.
func (x builder) mirrorClear() Stmt {
	return Stmt{Name: "clear mirror", SQL: "DELETE FROM " + x.m, Metric: None}
}

func (x builder) mirrorInsertSQL() string {
	return "INSERT INTO " + x.m + " (" + list("", x.cols...) + ", " + list("", layout.AllHash, layout.KeyHash, layout.BatchIn, layout.BatchOut) + ")\n" +
		"SELECT " + list("s", x.cols...) + ", " + list("s", layout.AllHash, layout.KeyHash, layout.RemoteBatchIn, layout.RemoteBatchOut) + "\n" +
		"FROM " + x.s + " s\n" +
		"WHERE " + x.batchID
}

func (x builder) mirrorInsertAll(b int32) Stmt {
	return x.stmt("copy versions", x.mirrorInsertSQL(), b, Inserted)
}

// §8.2 incremental statement 1.
func (x builder) mirrorClose(b int32) Stmt {
	sql := "UPDATE " + x.m + " m\n" +
		"SET " + q(layout.BatchOut) + " = " + qa("s", layout.RemoteBatchOut) + "\n" +
		"FROM " + x.s + " s\n" +
		"WHERE " + x.batchID + "\n" +
		"  AND " + x.keyEq + "\n" +
		"  AND " + qa("m", layout.BatchIn) + " = " + qa("s", layout.RemoteBatchIn) + "\n" +
		"  AND " + qa("m", layout.BatchOut) + " <> " + qa("s", layout.RemoteBatchOut)
	return x.stmt("close versions", sql, b, Updated)
}

// §8.2 incremental statement 2.
func (x builder) mirrorInsert(b int32) Stmt {
	sql := x.mirrorInsertSQL() + "\n" +
		"  AND NOT EXISTS (SELECT 1 FROM " + x.m + " m WHERE " + x.keyEq + " AND " + qa("m", layout.BatchIn) + " = " + qa("s", layout.RemoteBatchIn) + ")"
	return x.stmt("insert versions", sql, b, Inserted)
}
