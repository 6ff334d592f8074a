package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// PingTimeout bounds one readiness ping of a dependency.
const PingTimeout = 2 * time.Second

// NATSConnected returns a readiness check that passes while nc is connected.
func NATSConnected(nc *nats.Conn) func(context.Context) error {
	return func(context.Context) error {
		if nc == nil {
			return errors.New("nats: no connection")
		}
		if st := nc.Status(); st != nats.CONNECTED {
			return fmt.Errorf("nats: %s", st)
		}
		return nil
	}
}

// Pinger is a connection pool that can be pinged (a *pgxpool.Pool).
type Pinger interface {
	Ping(ctx context.Context) error
}

// Pinged returns a readiness check that passes while p answers a ping within PingTimeout; name
// ("postgres") prefixes the failure.
func Pinged(name string, p Pinger) func(context.Context) error {
	return func(ctx context.Context) error {
		if p == nil {
			return fmt.Errorf("%s: no connection", name)
		}
		ctx, cancel := context.WithTimeout(ctx, PingTimeout)
		defer cancel()
		if err := p.Ping(ctx); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
}
