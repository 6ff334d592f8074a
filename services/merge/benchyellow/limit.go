package benchyellow

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/datasurface/datasurface/kit/pg"
	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/jackc/pgx/v5"
)

// limitTable is the copy of a merge table the hand-written statements change.
var limitTable = naming.Name{Schema: "public", Name: "merge_limit"}

// copyForLimit copies merge table m, with its indexes, into limitTable (not timed).
func copyForLimit(ctx context.Context, conn *pgx.Conn, m naming.Name) error {
	for _, s := range []string{
		"DROP TABLE IF EXISTS " + ddl.Ident(limitTable),
		"CREATE TABLE " + ddl.Ident(limitTable) + " (LIKE " + ddl.Ident(m) + " INCLUDING ALL)",
		"INSERT INTO " + ddl.Ident(limitTable) + " SELECT * FROM " + ddl.Ident(m),
		"ANALYZE " + ddl.Ident(limitTable),
	} {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// handWritten applies batch b's staged snapshot to limitTable with the statements one would
// write by hand for this table — joins on the primary key, rows compared column by column —
// in one transaction, and returns the rows changed and the time taken. It is the "physical
// limit" of a merge: the same change, the same staged rows, the same indexes, none of the
// generic machinery (hashes, metrics, bookkeeping).
func handWritten(ctx context.Context, conn *pgx.Conn, staging naming.Name, forensic bool, b int32) (int64, time.Duration, error) {
	l, s := ddl.Ident(limitTable), ddl.Ident(staging)
	var names, sset, mcols, scols []string
	for _, c := range columns {
		q := ddl.Quote(c.name)
		names = append(names, q)
		scols = append(scols, "s."+q)
		mcols = append(mcols, "m."+q)
		if c.name != "id" {
			sset = append(sset, q+" = s."+q)
		}
	}
	differs := "(" + strings.Join(mcols, ", ") + ") IS DISTINCT FROM (" + strings.Join(scols, ", ") + ")"
	inBatch := `s."ds_surf_batch_id" = $1`
	var stmts []string
	if !forensic {
		stmts = []string{
			"DELETE FROM " + l + " m WHERE NOT EXISTS (SELECT 1 FROM " + s + " s WHERE " + inBatch + ` AND s."id" = m."id")`,
			"UPDATE " + l + " m SET " + strings.Join(sset, ", ") + `, "ds_surf_all_hash" = s."ds_surf_all_hash", "ds_surf_batch_id" = $1 FROM ` + s +
				" s WHERE " + inBatch + ` AND s."id" = m."id" AND ` + differs,
			"INSERT INTO " + l + " (" + strings.Join(names, ", ") + `, "ds_surf_all_hash", "ds_surf_key_hash", "ds_surf_batch_id") SELECT ` +
				strings.Join(scols, ", ") + `, s."ds_surf_all_hash", s."ds_surf_key_hash", $1 FROM ` + s + " s WHERE " + inBatch +
				" AND NOT EXISTS (SELECT 1 FROM " + l + ` m WHERE m."id" = s."id")`,
		}
	} else {
		live := `m."ds_surf_batch_out" = 2147483647`
		stmts = []string{
			"UPDATE " + l + ` m SET "ds_surf_batch_out" = $1 - 1 FROM ` + s + " s WHERE " + inBatch + ` AND s."id" = m."id" AND ` + live + " AND " + differs,
			"UPDATE " + l + ` m SET "ds_surf_batch_out" = $1 - 1 WHERE ` + live + " AND NOT EXISTS (SELECT 1 FROM " + s + " s WHERE " + inBatch + ` AND s."id" = m."id")`,
			"INSERT INTO " + l + " (" + strings.Join(names, ", ") + `, "ds_surf_all_hash", "ds_surf_key_hash", "ds_surf_batch_in", "ds_surf_batch_out") SELECT ` +
				strings.Join(scols, ", ") + `, s."ds_surf_all_hash", s."ds_surf_key_hash", $1, 2147483647 FROM ` + s + " s WHERE " + inBatch +
				" AND NOT EXISTS (SELECT 1 FROM " + l + ` m WHERE m."id" = s."id" AND ` + live + ")",
		}
	}
	var n [3]int64
	t0 := time.Now()
	err := pg.InTx(ctx, conn, func(tx pgx.Tx) error {
		for i, st := range stmts {
			tag, err := tx.Exec(ctx, st, b)
			if err != nil {
				return fmt.Errorf("%s: %w", st, err)
			}
			n[i] = tag.RowsAffected()
		}
		return nil
	})
	d := time.Since(t0)
	if forensic {
		// closed changed + closed deleted + (inserted versions - the changed keys' new versions)
		return n[0] + n[1] + n[2] - n[0], d, err
	}
	return n[0] + n[1] + n[2], d, err
}
