package mergesql

import (
	"fmt"
	"strings"

	"github.com/datasurface/datasurface/platforms/yellow/hashing"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
)

// ClearStaging deletes staging(B) (yellow.md §6.3 step 3, §13): always done before B is
// (re)ingested.
func ClearStaging(staging naming.Name, b int32) Stmt {
	return Stmt{
		Name: "clear staging",
		SQL:  "DELETE FROM " + ident(staging) + " WHERE " + q(layout.BatchID) + " = " + bParam,
		Args: []any{b},
	}
}

// PruneStaging is the retention of yellow.md §13 when batch b is created: delete the staging rows
// of batches older than b - keep. keep = -1 keeps every batch: ok is false and nothing runs.
func PruneStaging(staging naming.Name, b, keep int32) (s Stmt, ok bool, err error) {
	switch {
	case keep == -1:
		return Stmt{}, false, nil
	case keep < -1:
		return Stmt{}, false, fmt.Errorf("stagingBatchesToKeep %d is below -1", keep)
	}
	return Stmt{
		Name: "prune staging",
		SQL:  "DELETE FROM " + ident(staging) + " WHERE " + q(layout.BatchID) + " < " + bParam + " - $2::integer",
		Args: []any{b, keep},
	}, true, nil
}

// TruncateCDCLoad empties the CDC load table at a batch start (§13).
func TruncateCDCLoad(load naming.Name) Stmt {
	return Stmt{Name: "truncate cdc load", SQL: "TRUNCATE " + ident(load)}
}

// Analyze refreshes a staging table's statistics (after loading more than AnalyzeThreshold rows,
// §7.1).
func Analyze(staging naming.Name) Stmt {
	return Stmt{Name: "analyze staging", SQL: "ANALYZE " + ident(staging)}
}

// AnalyzeThreshold is the loaded row count above which staging is analyzed (§7.1).
const AnalyzeThreshold = 10000

// StagingCopyColumns is the COPY column list of a snapshot or watermark ingest (§7.1): the model
// columns in model order, ds_surf_batch_id, ds_surf_all_hash, ds_surf_key_hash — the layout of
// hashing.Hasher.AppendStagingLine.
func StagingCopyColumns(staging layout.Table) []string {
	return append(staging.ModelColumnNames(), layout.BatchID, layout.AllHash, layout.KeyHash)
}

// CopyFrom is the COPY statement loading rows with the given columns into table t from STDIN in
// text format.
func CopyFrom(t naming.Name, cols []string) string {
	return "COPY " + ident(t) + " (" + list("", cols...) + ") FROM STDIN"
}

// CDCLoadCopyColumns is the COPY column list of the CDC load table (§7.3): model columns,
// ds_surf_batch_id, hashes, ds_surf_iud, ds_surf_pos and the Kafka position.
func CDCLoadCopyColumns(load layout.Table) []string {
	return load.ColumnNames()
}

// ConflateCDC moves batch b from the CDC load table into staging, last change per key winning
// (§7.3): INSERT … SELECT DISTINCT ON (ds_surf_key_hash) … ORDER BY ds_surf_key_hash,
// ds_surf_pos DESC.
func ConflateCDC(load, staging layout.Table, b int32) (Stmt, error) {
	if load.Kind != layout.KindCDCLoad || staging.Capture != layout.CDC {
		return Stmt{}, fmt.Errorf("conflate needs a CDC load table and a CDC staging table")
	}
	cols := append(staging.ModelColumnNames(), layout.BatchID, layout.AllHash, layout.KeyHash, layout.IUD, layout.Pos)
	sql := "INSERT INTO " + ident(staging.Name) + " (" + list("", cols...) + ")\n" +
		"SELECT DISTINCT ON (" + qa("l", layout.KeyHash) + ") " + list("l", cols...) + "\n" +
		"FROM " + ident(load.Name) + " l\n" +
		"WHERE " + qa("l", layout.BatchID) + " = " + bParam + "\n" +
		"ORDER BY " + qa("l", layout.KeyHash) + ", " + qa("l", layout.Pos) + " DESC"
	return Stmt{Name: "conflate cdc", SQL: sql, Args: []any{b}}, nil
}

// DedupKeyless removes exact duplicates of a keyless dataset from staging(B) before the merge
// (§7.1): rows of one key hash (= all hash) but the first.
func DedupKeyless(staging naming.Name, b int32) Stmt {
	sql := "DELETE FROM " + ident(staging) + " WHERE ctid IN (\n" +
		"  SELECT d.ctid FROM (SELECT s.ctid, row_number() OVER (PARTITION BY " + qa("s", layout.KeyHash) + ") AS n\n" +
		"                      FROM " + ident(staging) + " s WHERE " + qa("s", layout.BatchID) + " = " + bParam + ") d\n" +
		"  WHERE d.n > 1)"
	return Stmt{Name: "remove duplicates", SQL: sql, Args: []any{b}}
}

// StageTransformerOutput fills staging(B) from a transformer output table with hashes computed by
// the SQL form (§7.4).
func StageTransformerOutput(output, staging layout.Table, b int32) (Stmt, error) {
	var cols []hashing.Column
	for _, c := range staging.ModelColumns() {
		cols = append(cols, hashing.Column{Name: c.Name, Type: c.Type})
	}
	all, err := hashing.AllHashSQL("o", cols)
	if err != nil {
		return Stmt{}, err
	}
	key, err := hashing.KeyHashSQL("o", cols, staging.Key)
	if err != nil {
		return Stmt{}, err
	}
	names := staging.ModelColumnNames()
	sql := "INSERT INTO " + ident(staging.Name) + " (" + list("", names...) + ", " + list("", layout.BatchID, layout.AllHash, layout.KeyHash) + ")\n" +
		"SELECT " + list("o", names...) + ", " + bParam + ",\n  " + all + ",\n  " + key + "\n" +
		"FROM " + ident(output.Name) + " o"
	return Stmt{Name: "stage transformer output", SQL: sql, Args: []any{b}}, nil
}

// ---------------------------------------------------------------------------------------------
// Secondaries (§8): reads of the primary platform P's database, in one REPEATABLE READ, READ
// ONLY transaction. Their result columns are the secondary's staging columns in order, so the
// rows can be copied into its staging table as they are (CopyFrom with StagingColumns).

// Remote is what a secondary reads on its primary: P's forensic merge table and batch metrics
// table, and the dataset's model columns and key.
type Remote struct {
	Merge   naming.Name
	Metrics naming.Name
	Columns []string
	Key     []string
}

// RemoteOf describes primary platform p's tables for dataset ds.
func RemoteOf(p string, ds layout.Dataset) Remote {
	r := Remote{Merge: naming.MergeTable(p, ds.Store, ds.Name), Metrics: naming.BatchMetrics(p), Key: ds.PrimaryKey}
	for _, c := range ds.Columns {
		r.Columns = append(r.Columns, c.Name)
	}
	return r
}

// RemoteCommitted reads R = the latest committed batch of stream key on P (0 when none).
func RemoteCommitted(r Remote, key string) Stmt {
	return Stmt{
		Name: "remote committed batch",
		SQL: "SELECT coalesce(max(batch_id), 0) FROM " + ident(r.Metrics) +
			" WHERE key = $1 AND batch_status = 'committed'",
		Args: []any{key},
	}
}

// liveAtR is "live at R": batch_in <= R AND batch_out >= R.
func liveAtR(alias, r string) string {
	return qa(alias, layout.BatchIn) + " <= " + r + " AND " + qa(alias, layout.BatchOut) + " >= " + r
}

// RemoteLiveSeed reads the rows of a live-only secondary's seed (§8.1): every version live at
// R, as staging rows of the secondary's batch b with ds_surf_iud 'U'.
func RemoteLiveSeed(r Remote, remoteBatch, b int32) Stmt {
	sql := "SELECT " + list("m", r.Columns...) + ", $2::integer, " + list("m", layout.AllHash, layout.KeyHash) + ", 'U'::character(1)\n" +
		"FROM " + ident(r.Merge) + " m\n" +
		"WHERE " + liveAtR("m", "$1::integer")
	return Stmt{Name: "remote live seed", SQL: sql, Args: []any{remoteBatch, b}}
}

// RemoteLiveIncremental reads the rows of a live-only secondary's incremental batch b (§8.1):
// the keys changed between L (exclusive) and R — versions with L < batch_in <= R or
// L <= batch_out <= R - 1 — each as its version live at R with 'U', or, when none is live at
// R, its latest version's key columns (other columns NULL) with 'D'.
func RemoteLiveIncremental(r Remote, last, remoteBatch, b int32) Stmt {
	key := r.Key
	if len(key) == 0 {
		key = r.Columns
	}
	isKey := make(map[string]bool, len(key))
	for _, k := range key {
		isKey[k] = true
	}
	sel := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		if isKey[c] {
			sel[i] = qa("v", c)
		} else {
			sel[i] = "CASE WHEN v.ds_surf_live THEN " + qa("v", c) + " END AS " + q(c)
		}
	}
	m := ident(r.Merge)
	sql := "WITH changed AS (\n" +
		"  SELECT DISTINCT " + qa("c", layout.KeyHash) + " FROM " + m + " c\n" +
		"  WHERE (" + qa("c", layout.BatchIn) + " > $1::integer AND " + qa("c", layout.BatchIn) + " <= $2::integer)\n" +
		"     OR (" + qa("c", layout.BatchOut) + " BETWEEN $1::integer AND $2::integer - 1)\n" +
		"), v AS (\n" +
		"  SELECT DISTINCT ON (" + qa("m", layout.KeyHash) + ") " + list("m", r.Columns...) + ", " + list("m", layout.AllHash, layout.KeyHash) + ",\n" +
		"         " + qa("m", layout.BatchOut) + " >= $2::integer AS ds_surf_live\n" +
		"  FROM " + m + " m JOIN changed ON " + qa("changed", layout.KeyHash) + " = " + qa("m", layout.KeyHash) + "\n" +
		"  WHERE " + qa("m", layout.BatchIn) + " <= $2::integer\n" +
		"  ORDER BY " + qa("m", layout.KeyHash) + ", " + qa("m", layout.BatchIn) + " DESC\n" +
		")\n" +
		"SELECT " + strings.Join(sel, ", ") + ", $3::integer, " + list("v", layout.AllHash, layout.KeyHash) + ",\n" +
		"       CASE WHEN v.ds_surf_live THEN 'U' ELSE 'D' END::character(1)\n" +
		"FROM v"
	return Stmt{Name: "remote live incremental", SQL: sql, Args: []any{last, remoteBatch, b}}
}

// cappedOut is the remote batch_out as of R: a version closed after R (batch_out >= R) was live
// at R, so it is read as L. The rows then equal P's table as of R even when the read's snapshot
// already holds later primary batches (R was read in an earlier transaction).
func cappedOut(alias, r string) string {
	return "CASE WHEN " + qa(alias, layout.BatchOut) + " >= " + r + " THEN " + liveLit + " ELSE " + qa(alias, layout.BatchOut) + " END"
}

// RemoteForensicSeed reads a forensic secondary's seed (§8.2): every version with
// batch_in <= R, as staging rows of batch R with their remote batch_in and their batch_out as
// of R (cappedOut).
func RemoteForensicSeed(r Remote, remoteBatch int32) Stmt {
	sql := "SELECT " + list("m", r.Columns...) + ", $1::integer, " + list("m", layout.AllHash, layout.KeyHash, layout.BatchIn) + ", " + cappedOut("m", "$1::integer") + "\n" +
		"FROM " + ident(r.Merge) + " m\n" +
		"WHERE " + qa("m", layout.BatchIn) + " <= $1::integer"
	return Stmt{Name: "remote forensic seed", SQL: sql, Args: []any{remoteBatch}}
}

// RemoteForensicIncremental reads a forensic secondary's incremental batch R (§8.2): versions
// with L < batch_in <= R or L <= batch_out <= R - 1, batch_out as of R (cappedOut).
func RemoteForensicIncremental(r Remote, last, remoteBatch int32) Stmt {
	sql := "SELECT " + list("m", r.Columns...) + ", $2::integer, " + list("m", layout.AllHash, layout.KeyHash, layout.BatchIn) + ", " + cappedOut("m", "$2::integer") + "\n" +
		"FROM " + ident(r.Merge) + " m\n" +
		"WHERE (" + qa("m", layout.BatchIn) + " > $1::integer AND " + qa("m", layout.BatchIn) + " <= $2::integer)\n" +
		"   OR (" + qa("m", layout.BatchOut) + " BETWEEN $1::integer AND $2::integer - 1)"
	return Stmt{Name: "remote forensic incremental", SQL: sql, Args: []any{last, remoteBatch}}
}
