// Package mergedb owns the merge service's sessions on Yellow merge databases (yellow.md §1,
// §6.3; security.md §2): one pool per database with the Yellow session settings, the stream's
// session advisory lock, platform-wide DDL locks and switching to the platform owner role.
package mergedb

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync"

	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/hashing"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrStreamBusy is the retryable error of a step that cannot get its stream's lock (yellow.md
// §6.3): another step of the same stream is running.
var ErrStreamBusy = errors.New("stream busy")

// SessionParams are the run-time parameters of every merge session (yellow.md §1).
func SessionParams() map[string]string {
	p := hashing.SessionSettings()
	p["search_path"] = ""
	return p
}

// DSN renders the connection string of a postgres container for user and password.
func DSN(h *modelv1.HostDatabase, user, password string) string {
	port := h.GetPort()
	if port == 0 {
		port = 5432
	}
	u := url.URL{
		Scheme: "postgres",
		User:   url.UserPassword(user, password),
		Host:   net.JoinHostPort(h.GetHost(), strconv.Itoa(int(port))),
		Path:   "/" + h.GetDatabase(),
	}
	return u.String()
}

// Pools keeps one pool per merge database connection string; the zero value is ready.
type Pools struct {
	// MaxConns bounds each pool (0 = pgxpool's default).
	MaxConns int32

	mu    sync.Mutex
	pools map[string]*pgxpool.Pool
}

// Get returns the pool of dsn, opening it on first use.
func (p *Pools) Get(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pool, ok := p.pools[dsn]; ok {
		return pool, nil
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx redacts passwords on a best-effort basis only: say nothing of the string.
		return nil, errors.New("the merge database connection string cannot be parsed")
	}
	for k, v := range SessionParams() {
		cfg.ConnConfig.RuntimeParams[k] = v
	}
	if p.MaxConns > 0 {
		cfg.MaxConns = p.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open merge database pool: %w", err)
	}
	if p.pools == nil {
		p.pools = make(map[string]*pgxpool.Pool)
	}
	p.pools[dsn] = pool
	return pool, nil
}

// Close closes every pool.
func (p *Pools) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, pool := range p.pools {
		pool.Close()
		delete(p.pools, k)
	}
}

// WithStreamLock runs f on one connection of pool while holding the session advisory lock of
// stream k of platform d (yellow.md §6.3). It fails fast with ErrStreamBusy when the lock is
// held elsewhere. A connection whose unlock fails is closed, which releases the lock.
func WithStreamLock(ctx context.Context, pool *pgxpool.Pool, d, k string, f func(conn *pgx.Conn) error) error {
	c, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("connect to merge database: %w", err)
	}
	lock := mergesql.TryLockStream(d, k)
	var got bool
	if err := c.QueryRow(ctx, lock.SQL, lock.Args...).Scan(&got); err != nil {
		c.Release()
		return fmt.Errorf("lock stream %s: %w", k, err)
	}
	if !got {
		c.Release()
		return fmt.Errorf("stream %s of platform %s: %w", k, d, ErrStreamBusy)
	}
	defer func() {
		// Unlock even when ctx has ended; a connection that cannot unlock is closed.
		uctx := context.WithoutCancel(ctx)
		unlock := mergesql.UnlockStream(d, k)
		var ok bool
		if c.Conn().IsClosed() {
			c.Release()
			return
		}
		// A transaction left open (its COMMIT or ROLLBACK was interrupted) dies with its
		// connection, which also releases the lock.
		if c.Conn().PgConn().TxStatus() != 'I' {
			conn := c.Hijack()
			_ = conn.Close(uctx)
			return
		}
		if err := c.QueryRow(uctx, unlock.SQL, unlock.Args...).Scan(&ok); err != nil || !ok {
			conn := c.Hijack()
			_ = conn.Close(uctx)
			return
		}
		c.Release()
	}()
	return f(c.Conn())
}

// LockPlatform takes a transaction-level advisory lock serializing one kind of platform-wide
// work (what: "tables", "views", …) on platform d. Keys are derived like the stream locks but
// from a prefix no stream key can produce.
func LockPlatform(ctx context.Context, tx pgx.Tx, d, what string) error {
	sum := sha256.Sum256([]byte("yellow-platform:" + d + ":" + what))
	if _, err := tx.Exec(ctx, "SELECT pg_catalog.pg_advisory_xact_lock($1::bigint)", int64(binary.BigEndian.Uint64(sum[:8]))); err != nil {
		return fmt.Errorf("lock %s of platform %s: %w", what, d, err)
	}
	return nil
}

// RoleMode says when DDL runs as the platform owner role phys(D_owner) (security.md §2).
type RoleMode int

// Role modes.
const (
	// RoleAuto switches when the role exists and the login is a member of it (as ingest does);
	// otherwise the login itself owns what it creates.
	RoleAuto RoleMode = iota
	// RoleAlways always switches; a missing role is an error.
	RoleAlways
	// RoleNever never switches (development databases without the security service).
	RoleNever
)

func (m RoleMode) String() string {
	switch m {
	case RoleAlways:
		return "always"
	case RoleNever:
		return "never"
	}
	return "auto"
}

// Owner returns the role that owns what the transaction creates for platform d under mode m:
// phys(D_owner), or "" for the login.
func Owner(ctx context.Context, tx pgx.Tx, d string, m RoleMode) (string, error) {
	owner := naming.OwnerRole(d)
	switch m {
	case RoleNever:
		return "", nil
	case RoleAlways:
		return owner, nil
	}
	var member bool
	err := tx.QueryRow(ctx, `SELECT pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER') FROM pg_catalog.pg_roles r WHERE r.rolname = $1`, owner).Scan(&member)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("look up owner role %s: %w", owner, err)
	case !member:
		return "", nil
	}
	return owner, nil
}

// SetOwnerRole switches the transaction to platform d's owner role (SET LOCAL ROLE) as mode m
// says, so every object it creates is owned by that role (yellow.md §1, security.md §2).
func SetOwnerRole(ctx context.Context, tx pgx.Tx, d string, m RoleMode) error {
	owner, err := Owner(ctx, tx, d, m)
	if err != nil || owner == "" {
		return err
	}
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+ddl.Quote(owner)); err != nil {
		return fmt.Errorf("set role %s: %w", owner, err)
	}
	return nil
}
