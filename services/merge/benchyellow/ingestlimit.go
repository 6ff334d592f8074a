package benchyellow

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/hashing"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/jackc/pgx/v5"
)

// The ingest's physical limit (issue 4: "the physical limit measured in the same run on the
// same database — COPY (SELECT …) TO STDOUT piped into COPY … FROM STDIN") is PostgreSQL alone
// producing what the ingest produces: the staged rows (model columns cast to their physical
// types, the batch id, the all and key hashes) in a table with the staging table's exact
// columns, constraints and indexes — an empty `CREATE TABLE … (LIKE staging INCLUDING ALL)`.
// The staging table's shape (three more columns, two of them 32-byte hashes) and its unique
// index (ds_surf_batch_id, ds_surf_key_hash) are required by the spec (yellow.md §4, §7.1):
// any ingest pays for them, so a limit without them is not one an ingest could reach.
//
// Two pipes produce those rows, and the limit is the faster of the two (per batch), the
// tightest bound measured:
//
//   - hashed: `COPY (SELECT <model columns>, <batch id>, <all hash>, <key hash> FROM source)
//     TO STDOUT` on the source, the hashes in the normative SQL form (hashing.AllHashSQL,
//     hashing.KeyHashSQL; yellow.md §5), piped into the empty copy. The first batch checks that
//     every row's hashes equal the ones the ingest staged.
//   - restaged: the rows the ingest staged, read back from staging(B) with their hashes, piped
//     into the empty copy: no hashing at all, only the staging table's parse, insert and index
//     cost. PostgreSQL's SHA-256 over the SQL field encodings is slower than the ingest's Go
//     hashing, so this one is usually the faster.
//
// The raw pipe of the model columns into a plain unindexed table (public.sink) is printed too,
// for reference only: the cost of moving the source bytes, not of staging them.

// limits are one batch's limit pipes, rows/s.
type limits struct{ hashed, restaged, raw float64 }

// limit is the target's denominator: the faster staging-shaped pipe.
func (l limits) limit() float64 { return max(l.hashed, l.restaged) }

// ingestLimits measures the three pipes after the ingest of batch into staging; check verifies
// the SQL hashes against the staged ones.
func (b *bench) ingestLimits(ctx context.Context, staging naming.Name, batch int32, check bool) (limits, error) {
	var (
		l   limits
		err error
	)
	if l.hashed, err = b.hashedLimit(ctx, staging, batch, check); err != nil {
		return l, err
	}
	if l.restaged, err = b.restageLimit(ctx, staging, batch); err != nil {
		return l, err
	}
	if l.raw, err = b.rawLimit(ctx); err != nil {
		return l, err
	}
	return l, nil
}

// limitStaging is the empty copy of a staging table the limit pipe loads.
var limitStaging = naming.Name{Schema: "public", Name: "staging_limit"}

// hashedLimit pipes the source rows, hashed in SQL, into an empty copy of staging (with its
// indexes) and returns rows/s. check additionally verifies (untimed) that every row's hashes
// equal the ones the ingest staged for batch b: the two sides did the same work.
func (b *bench) hashedLimit(ctx context.Context, staging naming.Name, batch int32, check bool) (float64, error) {
	if err := b.emptyStagingCopy(ctx, staging); err != nil {
		return 0, err
	}
	query, cols, err := b.hashedSelect(ctx, staging, batch)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	n, err := pipeCopy(ctx, b.src, b.mrg, query, "COPY "+ddl.Ident(limitStaging)+" ("+strings.Join(cols, ", ")+") FROM STDIN")
	if err != nil {
		return 0, fmt.Errorf("hashed limit copy: %w", err)
	}
	rate := float64(n) / time.Since(t0).Seconds()
	if check {
		var same int64
		q := "SELECT count(*) FROM " + ddl.Ident(limitStaging) + " l JOIN " + ddl.Ident(staging) +
			` s ON s."ds_surf_batch_id" = l."ds_surf_batch_id" AND s."ds_surf_key_hash" = l."ds_surf_key_hash" AND s."ds_surf_all_hash" = l."ds_surf_all_hash"`
		if err := b.mrg.QueryRow(ctx, q).Scan(&same); err != nil {
			return 0, fmt.Errorf("compare the limit's rows with staging: %w", err)
		}
		if same != n {
			return 0, fmt.Errorf("hashed limit: %d of %d rows have the hashes the ingest staged", same, n)
		}
	}
	return rate, nil
}

// hashedSelect is the limit's source query for the staging table: the model columns as the
// ingest reads them, then the batch id and the SQL all and key hashes over those values. The
// columns' physical types are read from the staging table. It returns the query and the quoted
// staging columns it fills, in order.
func (b *bench) hashedSelect(ctx context.Context, staging naming.Name, batch int32) (string, []string, error) {
	rows, err := b.mrg.Query(ctx, `SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod)
FROM pg_catalog.pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, ddl.Ident(staging))
	if err != nil {
		return "", nil, err
	}
	types, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var x [2]string
		return x, r.Scan(&x[0], &x[1])
	})
	if err != nil {
		return "", nil, fmt.Errorf("staging columns: %w", err)
	}
	typeOf := map[string]string{}
	for _, x := range types {
		typeOf[x[0]] = x[1]
	}
	var (
		hcols     []hashing.Column
		sel, outs []string
	)
	for _, c := range columns {
		t, ok := typeOf[c.name]
		if !ok {
			return "", nil, fmt.Errorf("staging table %s has no column %q", ddl.Ident(staging), c.name)
		}
		hcols = append(hcols, hashing.Column{Name: c.name, Type: t})
		sel = append(sel, c.read+" AS "+ddl.Quote(c.name))
		outs = append(outs, "q."+ddl.Quote(c.name))
	}
	all, err := hashing.AllHashSQL("q", hcols)
	if err != nil {
		return "", nil, err
	}
	key, err := hashing.KeyHashSQL("q", hcols, []string{"id"})
	if err != nil {
		return "", nil, err
	}
	outs = append(outs, strconv.Itoa(int(batch))+"::integer", all, key)
	return "SELECT " + strings.Join(outs, ", ") + " FROM (SELECT " + strings.Join(sel, ", ") + " FROM public.big) q", stagingColumns(), nil
}

// emptyStagingCopy (re)creates limitStaging as an empty copy of staging with its indexes.
func (b *bench) emptyStagingCopy(ctx context.Context, staging naming.Name) error {
	for _, s := range []string{
		"DROP TABLE IF EXISTS " + ddl.Ident(limitStaging),
		"CREATE TABLE " + ddl.Ident(limitStaging) + " (LIKE " + ddl.Ident(staging) + " INCLUDING ALL)",
	} {
		if _, err := b.mrg.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// restageLimit pipes the rows staged for batch, hashes included, from staging into an empty
// copy of staging (with its indexes) and returns rows/s.
func (b *bench) restageLimit(ctx context.Context, staging naming.Name, batch int32) (float64, error) {
	if err := b.emptyStagingCopy(ctx, staging); err != nil {
		return 0, err
	}
	cols := stagingColumns()
	query := "SELECT " + strings.Join(cols, ", ") + " FROM " + ddl.Ident(staging) + ` WHERE "ds_surf_batch_id" = ` + strconv.Itoa(int(batch))
	t0 := time.Now()
	n, err := pipeCopy(ctx, b.mrg2, b.mrg, query, "COPY "+ddl.Ident(limitStaging)+" ("+strings.Join(cols, ", ")+") FROM STDIN")
	if err != nil {
		return 0, fmt.Errorf("restaged limit copy: %w", err)
	}
	return float64(n) / time.Since(t0).Seconds(), nil
}

// stagingColumns are the quoted staging columns the ingest fills, in its COPY order.
func stagingColumns() []string {
	var cols []string
	for _, c := range columns {
		cols = append(cols, ddl.Quote(c.name))
	}
	return append(cols, `"ds_surf_batch_id"`, `"ds_surf_all_hash"`, `"ds_surf_key_hash"`)
}

// rawLimit pipes the model columns as the ingest reads them into the plain unindexed sink
// table and returns rows/s: for reference only (no hashes, no staging columns, no index).
func (b *bench) rawLimit(ctx context.Context) (float64, error) {
	if _, err := b.mrg.Exec(ctx, "TRUNCATE public.sink"); err != nil {
		return 0, err
	}
	var sel []string
	for _, c := range columns {
		sel = append(sel, c.read+" AS "+ddl.Quote(c.name))
	}
	t0 := time.Now()
	n, err := pipeCopy(ctx, b.src, b.mrg, "SELECT "+strings.Join(sel, ", ")+" FROM public.big", "COPY public.sink FROM STDIN")
	if err != nil {
		return 0, fmt.Errorf("raw copy: %w", err)
	}
	return float64(n) / time.Since(t0).Seconds(), nil
}
