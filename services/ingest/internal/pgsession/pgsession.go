// Package pgsession opens the PostgreSQL sessions of an ingest: merge sessions and source
// sessions with the settings of yellow.md §1 (merge sessions also with an empty search_path and
// SET ROLE to the platform owner), built from a model endpoint and a resolved login. Nothing
// here reads the environment: every connection parameter is explicit.
package pgsession

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/hashing"
	"github.com/datasurface/datasurface/services/ingest/internal/plan"
	"github.com/jackc/pgx/v5"
)

// Login is a resolved USER_PASSWORD credential.
type Login struct {
	User     string
	Password string
}

// Options are connection settings that do not come from the model.
type Options struct {
	// SSLMode is libpq's sslmode (disable, allow, prefer, require, verify-ca, verify-full).
	SSLMode string
	// ConnectTimeout bounds opening a connection.
	ConnectTimeout time.Duration
	// ApplicationName is shown in pg_stat_activity.
	ApplicationName string
}

// Kind is the role of a session.
type Kind int

// Session kinds.
const (
	Merge Kind = iota + 1
	Source
)

// quote renders a keyword/value connection string value.
func quote(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// Config returns the connection config of a session of kind k to ep as login.
func Config(ep plan.Endpoint, login Login, o Options, k Kind) (*pgx.ConnConfig, error) {
	parts := []string{
		"host=" + quote(ep.Host),
		"port=" + strconv.Itoa(ep.Port),
		"dbname=" + quote(ep.Database),
		"user=" + quote(login.User),
		"password=" + quote(login.Password),
	}
	if o.SSLMode != "" {
		parts = append(parts, "sslmode="+quote(o.SSLMode))
	}
	if o.ConnectTimeout > 0 {
		secs := int(o.ConnectTimeout.Round(time.Second) / time.Second)
		parts = append(parts, "connect_timeout="+strconv.Itoa(max(secs, 1)))
	}
	if o.ApplicationName != "" {
		parts = append(parts, "application_name="+quote(o.ApplicationName))
	}
	cfg, err := pgx.ParseConfig(strings.Join(parts, " "))
	if err != nil {
		return nil, fmt.Errorf("connection settings for %s:%d/%s: %w", ep.Host, ep.Port, ep.Database, err)
	}
	Settings(cfg, k)
	return cfg, nil
}

// Settings applies the session settings of yellow.md §1 to cfg: the hashing settings for every
// session; merge sessions also search_path = ” (source sessions keep the login's default, which
// resolves unqualified source tables).
func Settings(cfg *pgx.ConnConfig, k Kind) {
	for name, v := range hashing.SessionSettings() {
		cfg.RuntimeParams[name] = v
	}
	if k == Merge {
		cfg.RuntimeParams["search_path"] = ""
	} else {
		delete(cfg.RuntimeParams, "search_path")
	}
}

// SetOwnerRole makes a merge session act as the platform owner role (yellow.md §1,
// security.md §2) when that role exists and the login may become it; on a platform whose access
// is not managed the role does not exist and the session keeps its login role.
func SetOwnerRole(ctx context.Context, conn *pgx.Conn, owner string) error {
	var member bool
	err := conn.QueryRow(ctx, `SELECT pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER')
FROM pg_catalog.pg_roles r WHERE r.rolname = $1`, owner).Scan(&member)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && !member) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up owner role %s: %w", owner, err)
	}
	if _, err := conn.Exec(ctx, "SET ROLE "+pgx.Identifier{owner}.Sanitize()); err != nil {
		return fmt.Errorf("set role %s: %w", owner, err)
	}
	return nil
}
