// Package rpc is the merge service's Connect MergeService (thin): requests validated, one read of
// the platform's merge database through package status under the latest committed model, answers
// converted to proto, domain errors mapped to Connect codes — NotFound for an unknown platform,
// stream, workspace or batch, InvalidArgument for malformed input, FailedPrecondition for a model
// or credential the platform cannot use, Unavailable when no model is committed yet or the merge
// database cannot be reached.
package rpc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/platforms/yellow/batchstatus"
	"github.com/datasurface/datasurface/proto/gen/datasurface/merge/v1/mergev1connect"
	"github.com/datasurface/datasurface/services/merge/internal/platform"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Target is one platform of the latest committed model and a pool of its merge database.
type Target struct {
	Version  int64
	Platform *platform.Platform
	DB       *pgxpool.Pool
}

// Backend opens platforms of the latest committed model. Its errors: *platform.NotFoundError
// (unknown platform), ErrNoModel, *ConfigError (the platform's model or credentials cannot be
// used); anything else means the merge database is unreachable.
type Backend interface {
	Open(ctx context.Context, d string) (*Target, error)
}

// ErrNoModel: no model is committed yet (or none can be read).
var ErrNoModel = errors.New("no committed model")

// ConfigError says the platform cannot be served as the model configures it.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Handler implements MergeService.
type Handler struct {
	mergev1connect.UnimplementedMergeServiceHandler
	Backend Backend
}

var _ mergev1connect.MergeServiceHandler = (*Handler)(nil)

// Page sizes of ListBatches.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

func (h *Handler) open(ctx context.Context, d string) (*Target, error) {
	if d == "" {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("platform is required"))
	}
	t, err := h.Backend.Open(ctx, d)
	if err != nil {
		return nil, code(err)
	}
	return t, nil
}

// code maps a domain or database error to a Connect error.
func code(err error) error {
	var (
		ce       *connect.Error
		notFound *platform.NotFoundError
		cfg      *ConfigError
		pgErr    *pgconn.PgError
	)
	switch {
	case errors.As(err, &ce):
		return ce
	case errors.As(err, &notFound):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, ErrNoModel):
		return connect.NewError(connect.CodeUnavailable, err)
	case errors.As(err, &cfg):
		return connect.NewError(connect.CodeFailedPrecondition, err)
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, err)
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, err)
	case errors.As(err, &pgErr) && !unavailable(pgErr.Code):
		// A statement failed on a reachable database.
		return connect.NewError(connect.CodeInternal, err)
	}
	// Connecting failed (refused, DNS, TLS, login) or the server went away.
	return connect.NewError(connect.CodeUnavailable, fmt.Errorf("merge database unavailable: %w", err))
}

// unavailable reports whether a SQLSTATE says the server cannot serve now: connection
// exceptions (08), operator intervention such as a shutdown (57), login refused (28).
func unavailable(code string) bool {
	return strings.HasPrefix(code, "08") || strings.HasPrefix(code, "57") || strings.HasPrefix(code, "28")
}

// readTx runs f in a read-only transaction of t's merge database.
func readTx(ctx context.Context, t *Target, f func(tx pgx.Tx) error) error {
	tx, err := t.DB.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	return f(tx)
}

// stream checks that key is a stream of t's platform.
func stream(t *Target, key string) error {
	if _, err := t.Platform.Stream(key); err != nil {
		return connect.NewError(connect.CodeNotFound, err)
	}
	return nil
}

// pageToken encodes a cursor; decodeToken reads one.
func pageToken(c batchstatus.Cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string) (*batchstatus.Cursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("page_token is not a token this service issued"))
	}
	var c batchstatus.Cursor
	if err := json.Unmarshal(b, &c); err != nil || c.Stream == "" {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("page_token is not a token this service issued"))
	}
	return &c, nil
}
