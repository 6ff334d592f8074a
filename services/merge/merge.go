// Package merge is the merge service (DESIGN.md §1): it owns what happens in a Yellow platform's
// merge database after ingestion — the tables of every stream reconciled to the model
// (yellow.md §11), the opening of batches (§6.3 step 2) with staging retention (§13), the merge
// and commit of a batch in one transaction, the only point where a batch becomes visible (§9,
// §6.3 step 4), failed batches, the workspace views with column masking (§12, security.md §5),
// SQL DataTransformer runs (§10) and lag (§14).
//
// Its work is a set of activities, methods of Activities with one input and one result struct
// each (wire-compatible with platforms/yellow/batchapi). They are idempotent on (platform,
// stream, batch) and hold the stream's advisory lock where the spec says so. A Temporal worker
// registers them on TaskQueue, turning an *Error with Permanent set into a non-retryable
// application error of type batchapi.ErrPermanent; `datasurface run-batch` runs them in
// sequence without Temporal (RunCycle).
package merge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/merge/internal/batch"
	"github.com/datasurface/datasurface/services/merge/internal/mergedb"
	"github.com/datasurface/datasurface/services/merge/internal/platform"
	"github.com/datasurface/datasurface/services/merge/internal/reconcile"
	"github.com/datasurface/datasurface/services/merge/internal/transform"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
)

// Config configures the service.
type Config struct {
	// SetRole says when every DDL transaction (tables, views, schemas) and the transformer
	// runner `SET ROLE`s to the platform owner role phys(D_owner), so the owner owns every object
	// (yellow.md §1, security.md §2). The role and the merge login's membership are made by the
	// security service, never by this one. SetRoleAuto (the zero value) switches when the role
	// exists and the login is a member — as the ingest service does; SetRoleAlways requires the
	// role; SetRoleNever keeps the merge login (development databases without the security
	// service).
	SetRole SetRoleMode
	// TransformerAsMergeLogin runs transformer queries with the merge login instead of the
	// transformer's own login role phys(D_dt_W) (development databases without the security
	// service). Otherwise the transformer credential upper(D_DT_W) is resolved through Secrets.
	TransformerAsMergeLogin bool
	// MaxConns bounds each merge database pool (0 = pgxpool's default).
	MaxConns int32
}

// SetRoleMode says when DDL runs as the platform owner role.
type SetRoleMode int

// Modes of Config.SetRole.
const (
	SetRoleAuto   = SetRoleMode(mergedb.RoleAuto)
	SetRoleAlways = SetRoleMode(mergedb.RoleAlways)
	SetRoleNever  = SetRoleMode(mergedb.RoleNever)
)

// ParseSetRole reads "auto", "always" or "never".
func ParseSetRole(s string) (SetRoleMode, error) {
	for _, m := range []SetRoleMode{SetRoleAuto, SetRoleAlways, SetRoleNever} {
		if s == m.String() {
			return m, nil
		}
	}
	return 0, fmt.Errorf("set-role mode %q is not auto, always or never", s)
}

func (m SetRoleMode) String() string { return mergedb.RoleMode(m).String() }

// Models gives the committed model of a version (digest "sha256:…" names its snapshot; it may
// be empty for sources that know versions only). Implementations should cache: every activity
// asks for the model of its input's version. The ingest service's ModelSource has the same
// method, so one implementation serves both.
type Models interface {
	Model(ctx context.Context, version int64, digest string) (*modelv1.Model, error)
}

// Secrets resolves a USER_PASSWORD credential through a PSP's credential store (model.md
// §4.16). It must not log or wrap the secret into errors.
type Secrets interface {
	UserPassword(ctx context.Context, store *modelv1.CredentialStore, name string) (user, password string, err error)
}

// Deps are the service's dependencies.
type Deps struct {
	Log     *slog.Logger
	Models  Models
	Secrets Secrets
	// Latest gives the newest committed model for the MergeService API (nil: the API answers
	// Unavailable).
	Latest LatestModel
	// JS, when set, receives the batch lifecycle events on ds.batch.<platform>.* (stream OPS,
	// declared on first use); nil publishes nothing.
	JS jetstream.JetStream
}

// Service is the merge service.
type Service struct {
	log  *slog.Logger
	acts *Activities
}

// TaskQueue is the Temporal task queue the merge activities are registered on.
const TaskQueue = "merge"

// Activities returns the service's activities (register them on TaskQueue, or call them
// directly).
func (s *Service) Activities() *Activities { return s.acts }

// Run runs the service until ctx ends, then closes its database pools. The service has no
// background work of its own: its activities run when called.
func (s *Service) Run(ctx context.Context) error {
	s.log.InfoContext(ctx, "merge service ready")
	<-ctx.Done()
	s.acts.Close()
	return nil
}

// Close closes the service's database pools (for callers that do not Run it).
func (s *Service) Close() { s.acts.Close() }

// Activities are the merge service's activities. They are safe for concurrent use.
type Activities struct {
	cfg   Config
	log   *slog.Logger
	deps  Deps
	pools mergedb.Pools

	mu        sync.Mutex
	platforms map[platformKey]*platform.Platform
	caches    map[pgPool]*reconcile.Cache

	// beforeCommit runs inside MergeBatch's transaction just before COMMIT (tests).
	beforeCommit batch.Hook

	events *publisher
}

// Version names the committed model an activity works under; every input embeds it.
type Version struct {
	ModelVersion int64
	// ModelDigest is the snapshot digest of the version ("" when the model source needs none).
	ModelDigest string
}

type platformKey struct {
	model *modelv1.Model
	name  string
}

// New checks cfg and deps and builds the service; nothing is connected until an activity runs.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.Models == nil {
		return nil, errors.New("merge: Deps.Models is required")
	}
	if deps.Secrets == nil {
		return nil, errors.New("merge: Deps.Secrets is required")
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	log := deps.Log.With("service", "merge")
	a := &Activities{cfg: cfg, deps: deps, log: log, platforms: map[platformKey]*platform.Platform{}, caches: map[pgPool]*reconcile.Cache{},
		events: &publisher{js: deps.JS, log: log}}
	a.pools.MaxConns = cfg.MaxConns
	return &Service{log: log, acts: a}, nil
}

// Close closes the merge database pools.
func (a *Activities) Close() { a.pools.Close() }

// ErrStreamBusy is the retryable error of an activity that cannot take its stream's lock
// because another step of the stream is running (yellow.md §6.3).
var ErrStreamBusy = mergedb.ErrStreamBusy

// Error is the error of an activity: its name and whether retrying the same input can succeed.
type Error struct {
	Activity string
	// Permanent is set for errors retrying cannot fix: reconcile conflicts (yellow.md §11),
	// unknown platforms, streams or workspaces, a batch in the wrong status, a failing
	// transformer query, a model the platform cannot run.
	Permanent bool
	Err       error
}

func (e *Error) Error() string { return e.Activity + ": " + e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// IsPermanent reports whether err is a permanent activity error.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Permanent
}

// modelError marks errors of the model as permanent.
type modelError struct{ err error }

func (e *modelError) Error() string { return e.err.Error() }
func (e *modelError) Unwrap() error { return e.err }

func (a *Activities) fail(activity string, err error) error {
	if err == nil {
		return nil
	}
	var (
		conflict *ddl.ConflictError
		notFound *platform.NotFoundError
		status   *batch.StatusError
		query    *transform.QueryError
		model    *modelError
		remote   *batch.RemoteError
	)
	permanent := errors.As(err, &conflict) || errors.As(err, &notFound) || errors.As(err, &status) ||
		errors.As(err, &query) || errors.As(err, &model) || errors.As(err, &remote)
	return &Error{Activity: activity, Permanent: permanent, Err: err}
}

// platform returns platform d of the model of v, built once per model.
func (a *Activities) platform(ctx context.Context, v Version, d string) (*platform.Platform, error) {
	m, err := a.deps.Models.Model(ctx, v.ModelVersion, v.ModelDigest)
	if err != nil {
		return nil, fmt.Errorf("model version %d: %w", v.ModelVersion, err)
	}
	k := platformKey{m, d}
	a.mu.Lock()
	p, ok := a.platforms[k]
	a.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err = platform.Build(m, d)
	if err != nil {
		return nil, &modelError{err}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.platforms) >= 16 {
		clear(a.platforms)
	}
	a.platforms[k] = p
	return p, nil
}

type pgPool = *pgxpool.Pool

func (a *Activities) ddl() reconcile.Options {
	return reconcile.Options{Role: mergedb.RoleMode(a.cfg.SetRole)}
}

// cache returns the reconcile cache of a merge database.
func (a *Activities) cache(pool pgPool) *reconcile.Cache {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.caches[pool]
	if !ok {
		c = &reconcile.Cache{}
		a.caches[pool] = c
	}
	return c
}

// db returns the pool of platform p's merge database.
func (a *Activities) db(ctx context.Context, p *platform.Platform) (pgPool, error) {
	host := p.Settings.GetMergeDatabase().GetPostgres()
	if host == nil {
		return nil, &modelError{fmt.Errorf("platform %s: mergeDatabase must be a postgres container", p.Name)}
	}
	cred := p.Settings.GetMergeCredential().GetName()
	user, password, err := a.deps.Secrets.UserPassword(ctx, p.Store, cred)
	if err != nil {
		return nil, &modelError{fmt.Errorf("platform %s: merge credential %s: %w", p.Name, cred, err)}
	}
	return a.pools.Get(ctx, mergedb.DSN(host, user, password))
}

// primaryDB returns the pool of the merge database of the primary platform a secondary's stream
// copies from, logged in with the secondary's merge login (yellow.md §8; the security service
// makes it a member of the primary's reader role). It is the secondary's own pool when both
// platforms share a database and a login.
func (a *Activities) primaryDB(ctx context.Context, p *platform.Platform, s *platform.Stream) (pgPool, error) {
	if err := s.Primary.Check(); err != nil {
		return nil, &modelError{fmt.Errorf("stream %s: %w", s.Key, err)}
	}
	host := s.Primary.Settings.GetMergeDatabase().GetPostgres()
	cred := p.Settings.GetMergeCredential().GetName()
	user, password, err := a.deps.Secrets.UserPassword(ctx, p.Store, cred)
	if err != nil {
		return nil, &modelError{fmt.Errorf("platform %s: merge credential %s: %w", p.Name, cred, err)}
	}
	return a.pools.Get(ctx, mergedb.DSN(host, user, password))
}
