// Package batches reads a Yellow platform's batch bookkeeping for the scheduler's API: the
// latest batches of a stream from batch_metrics with their status, counts and state record
// (yellow.md §4, §6.2), and the stream lag (§14). It only reads; the merge service writes.
package batches

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Batch is one batch_metrics row.
type Batch struct {
	ID       int32
	Status   string
	Start    time.Time
	End      time.Time // zero while not ended
	Inserted int64
	Updated  int64
	Deleted  int64
	Total    int64
	State    mergesql.State
}

// Lag is a stream's lag (yellow.md §14).
type Lag struct {
	Batch    int32
	DataTime time.Time
	Seconds  float64
}

// Secrets resolves a USER_PASSWORD credential through a PSP's credential store (model.md
// §4.16).
type Secrets interface {
	UserPassword(ctx context.Context, store *modelv1.CredentialStore, name string) (user, password string, err error)
}

// Platform says where a platform's merge database is: the model's mergeDatabase and
// mergeCredential, resolved through its PSP's credential store.
type Platform struct {
	Name       string
	Host       *modelv1.HostDatabase
	Credential string
	Store      *modelv1.CredentialStore
}

// Reader reads batch bookkeeping, one pool per merge database.
type Reader struct {
	// DSN, when set, is the merge database of every platform (development and tests).
	DSN     string
	Secrets Secrets

	mu    sync.Mutex
	pools map[string]*pgxpool.Pool
}

// ErrNoTables is returned when the platform's bookkeeping tables do not exist yet.
var ErrNoTables = errors.New("the platform's batch tables do not exist yet")

// Recent returns the latest limit batches of stream k, newest first.
func (r *Reader) Recent(ctx context.Context, p Platform, k string, limit int) ([]Batch, error) {
	pool, err := r.pool(ctx, p)
	if err != nil {
		return nil, err
	}
	metrics := naming.BatchMetrics(p.Name)
	sql := "SELECT batch_id, batch_status, batch_start_time, batch_end_time, coalesce(records_inserted, 0),\n" +
		"       coalesce(records_updated, 0), coalesce(records_deleted, 0), coalesce(total_records, 0), state\n" +
		"FROM " + pgx.Identifier{metrics.Schema, metrics.Name}.Sanitize() + "\n" +
		"WHERE key = $1 ORDER BY batch_id DESC LIMIT $2"
	rows, err := pool.Query(ctx, sql, k, limit)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []Batch
	for rows.Next() {
		var b Batch
		var end *time.Time
		var state []byte
		if err := rows.Scan(&b.ID, &b.Status, &b.Start, &end, &b.Inserted, &b.Updated, &b.Deleted, &b.Total, &state); err != nil {
			return nil, err
		}
		if end != nil {
			b.End = end.UTC()
		}
		b.Start = b.Start.UTC()
		if b.State, err = mergesql.ParseState(state); err != nil {
			return nil, fmt.Errorf("batch %d of %s: %w", b.ID, k, err)
		}
		out = append(out, b)
	}
	return out, classify(rows.Err())
}

// Lag returns stream k's lag, nil while it has no committed batch.
func (r *Reader) Lag(ctx context.Context, p Platform, k string) (*Lag, error) {
	pool, err := r.pool(ctx, p)
	if err != nil {
		return nil, err
	}
	st := mergesql.StreamLag(naming.BatchMetrics(p.Name), []string{k})
	var l Lag
	var key string
	var dt *time.Time
	var secs *float64
	err = pool.QueryRow(ctx, st.SQL, st.Args...).Scan(&key, &l.Batch, &dt, &secs)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, classify(err)
	}
	if dt != nil {
		l.DataTime = dt.UTC()
	}
	if secs != nil {
		l.Seconds = *secs
	}
	return &l, nil
}

// Close closes the pools.
func (r *Reader) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.pools {
		p.Close()
	}
	r.pools = nil
}

func classify(err error) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "42P01" { // undefined_table
		return ErrNoTables
	}
	return err
}

func (r *Reader) pool(ctx context.Context, p Platform) (*pgxpool.Pool, error) {
	dsn := r.DSN
	if dsn == "" {
		if p.Host == nil || r.Secrets == nil {
			return nil, fmt.Errorf("platform %s: no merge database (the model's mergeDatabase must be postgres, and a credential store is needed)", p.Name)
		}
		user, password, err := r.Secrets.UserPassword(ctx, p.Store, p.Credential)
		if err != nil {
			return nil, fmt.Errorf("platform %s: merge credential %s: %w", p.Name, p.Credential, err)
		}
		dsn = DSN(p.Host, user, password)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if pool, ok := r.pools[dsn]; ok {
		return pool, nil
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("platform %s: merge database connection string cannot be parsed", p.Name)
	}
	cfg.MaxConns = 4
	cfg.ConnConfig.RuntimeParams["TimeZone"] = "UTC"
	cfg.ConnConfig.RuntimeParams["application_name"] = "datasurface-scheduler"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if r.pools == nil {
		r.pools = map[string]*pgxpool.Pool{}
	}
	r.pools[dsn] = pool
	return pool, nil
}

// DSN is the connection URL of a host database with a login.
func DSN(h *modelv1.HostDatabase, user, password string) string {
	port := int(h.GetPort())
	if port == 0 {
		port = 5432
	}
	u := url.URL{
		Scheme: "postgres",
		User:   url.UserPassword(user, password),
		Host:   net.JoinHostPort(h.GetHost(), strconv.Itoa(port)),
		Path:   "/" + h.GetDatabase(),
	}
	return u.String()
}
