// Package rpc is the ingest service's Connect IngestService (thin): requests validated, the
// platform and stream looked up in the latest committed model, one read of the merge database's
// bookkeeping (package status) or one source check (package sqlsource, as an ingest prepares its
// read), answers converted to proto. Errors: NotFound for an unknown platform, stream or batch,
// InvalidArgument for malformed input, FailedPrecondition for a model or credential the platform
// cannot use, Unavailable when no model is committed or the merge database cannot be reached.
package rpc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"connectrpc.com/connect"
	status "github.com/datasurface/datasurface/platforms/yellow/batchstatus"
	"github.com/datasurface/datasurface/proto/gen/datasurface/ingest/v1/ingestv1connect"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/ingest/internal/batch"
	"github.com/datasurface/datasurface/services/ingest/internal/failure"
	"github.com/datasurface/datasurface/services/ingest/internal/pgsession"
	"github.com/datasurface/datasurface/services/ingest/internal/plan"
	"github.com/jackc/pgx/v5"
)

// LatestModel gives the newest committed model.
type LatestModel interface {
	Latest(ctx context.Context) (version int64, digest string, m *modelv1.Model, err error)
}

// Handler implements IngestService.
type Handler struct {
	ingestv1connect.UnimplementedIngestServiceHandler
	// Latest is nil when the service has no model source (every RPC answers Unavailable).
	Latest LatestModel
	// Deps connect to merge databases and sources (credentials, session options).
	Deps batch.Deps
}

var _ ingestv1connect.IngestServiceHandler = (*Handler)(nil)

// Page sizes of ListBatches.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// target is a platform of the latest committed model.
type target struct {
	version int64
	model   *modelv1.Model
	p       *plan.Platform
}

// open finds platform d (and stream key, when not "") in the latest committed model.
func (h *Handler) open(ctx context.Context, d, key string) (*target, error) {
	if d == "" {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("platform is required"))
	}
	if h.Latest == nil {
		return nil, connect.NewError(connect.CodeUnavailable, errors.New("no committed model: the ingest service has no model source"))
	}
	v, _, m, err := h.Latest.Latest(ctx)
	if err != nil {
		return nil, connect.NewError(connect.CodeUnavailable, fmt.Errorf("no committed model: %w", err))
	}
	if m == nil {
		return nil, connect.NewError(connect.CodeUnavailable, errors.New("no committed model"))
	}
	p := plan.PlatformOf(m, d)
	switch {
	case p == nil:
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("platform %q not found in model version %d", d, v))
	case !p.Yellow:
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("platform %q is not a Yellow platform", d))
	}
	if key != "" && !contains(p.Streams, key) {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("stream %q not found on platform %s in model version %d", key, d, v))
	}
	return &target{version: v, model: m, p: p}, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// readMerge runs f in a read-only transaction on t's merge database.
func (h *Handler) readMerge(ctx context.Context, t *target, f func(tx pgx.Tx) error) error {
	if t.p.MergeErr != nil {
		return connect.NewError(connect.CodeFailedPrecondition, t.p.MergeErr)
	}
	conn, err := batch.Connect(ctx, h.Deps, t.p.Store, t.p.Merge, pgsession.Merge)
	if err != nil {
		return code(err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return code(err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := f(tx); err != nil && !errors.Is(err, status.ErrNoTables) {
		return code(err)
	}
	return nil
}

// code maps an ingest or database error to a Connect error.
func code(err error) error {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, err)
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, err)
	}
	if fe, ok := failure.As(err); ok {
		switch fe.Code {
		case failure.Credential, failure.Model, failure.SourceLogin:
			return connect.NewError(connect.CodeFailedPrecondition, err)
		case failure.MergeUnreachable, failure.SourceUnreachable:
			return connect.NewError(connect.CodeUnavailable, err)
		case failure.Canceled:
			return connect.NewError(connect.CodeCanceled, err)
		}
	}
	if c := failure.PgCode(err); c != "" && !strings.HasPrefix(c, "08") && !strings.HasPrefix(c, "57") && !strings.HasPrefix(c, "28") {
		// A statement failed on a reachable database.
		return connect.NewError(connect.CodeInternal, err)
	}
	return connect.NewError(connect.CodeUnavailable, fmt.Errorf("merge database unavailable: %w", err))
}

func pageToken(c status.Cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string) (*status.Cursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c status.Cursor
	if err != nil || json.Unmarshal(b, &c) != nil || c.Stream == "" {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("page_token is not a token this service issued"))
	}
	return &c, nil
}
