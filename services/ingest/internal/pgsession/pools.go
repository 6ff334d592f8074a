package pgsession

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PoolIdleTime is how long an idle pooled session is kept before it is closed.
const PoolIdleTime = 5 * time.Minute

// ErrPoolsClosed is returned by Acquire after Close.
var ErrPoolsClosed = errors.New("ingest session pools are closed")

// Pools keeps warm sessions across batches: one pgxpool per session kind, connection settings
// (endpoint and login) and, for merge sessions, platform owner role — so a pooled merge session
// only ever acts as that owner or as its login, never as another platform's owner. A new
// connection costs a backend start and cold catalog caches on the server, most of a small
// batch's time. A session whose transaction or COPY was interrupted is discarded by pgxpool on
// release (it is not idle). The zero value is ready to use; Close closes every pool.
type Pools struct {
	mu     sync.Mutex
	pools  map[poolKey]*pgxpool.Pool
	closed bool
}

type poolKey struct {
	conn  string
	kind  Kind
	owner string
}

// Acquire returns a pooled session for cfg (built by Config for kind k; owner is the platform
// owner role of a merge session, "" for a source session) and the function that returns it to
// the pool. Connection errors are returned as pgx reports them.
func (p *Pools) Acquire(ctx context.Context, cfg *pgx.ConnConfig, k Kind, owner string) (*pgx.Conn, func(), error) {
	pool, err := p.pool(ctx, cfg, k, owner)
	if err != nil {
		return nil, nil, err
	}
	c, err := pool.Acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	return c.Conn(), c.Release, nil
}

func (p *Pools) pool(ctx context.Context, cfg *pgx.ConnConfig, k Kind, owner string) (*pgxpool.Pool, error) {
	key := poolKey{conn: cfg.ConnString(), kind: k, owner: owner}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrPoolsClosed
	}
	if pool, ok := p.pools[key]; ok {
		return pool, nil
	}
	pc, err := pgxpool.ParseConfig("")
	if err != nil {
		return nil, err
	}
	pc.ConnConfig = cfg
	pc.MaxConnIdleTime = PoolIdleTime
	pc.MinConns = 0
	pool, err := pgxpool.NewWithConfig(context.WithoutCancel(ctx), pc)
	if err != nil {
		return nil, err
	}
	if p.pools == nil {
		p.pools = map[poolKey]*pgxpool.Pool{}
	}
	p.pools[key] = pool
	return pool, nil
}

// Close closes every pool (waiting for acquired sessions to be released); Acquire fails
// afterwards.
func (p *Pools) Close() {
	p.mu.Lock()
	pools := p.pools
	p.pools, p.closed = nil, true
	p.mu.Unlock()
	for _, pool := range pools {
		pool.Close()
	}
}
