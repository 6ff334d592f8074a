// Package engine is the security service's domain: for a platform and a model version it
// resolves credentials, builds the desired state, connects to the merge database as the
// security login and plans, applies (generating missing transformer secrets into writable
// stores first), explains access and lists grants; applies of one platform are serialized in the
// process (and across processes by the advisory lock), and every apply publishes its audit
// events. Connect handlers, Temporal activities and the event consumer all call it.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/datasurface/datasurface/model/index"
	"github.com/datasurface/datasurface/platforms/yellow/hashing"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	securityv1 "github.com/datasurface/datasurface/proto/gen/datasurface/security/v1"
	"github.com/datasurface/datasurface/services/security/internal/audit"
	"github.com/datasurface/datasurface/services/security/internal/desired"
	"github.com/datasurface/datasurface/services/security/internal/explain"
	"github.com/datasurface/datasurface/services/security/internal/modelsrc"
	"github.com/datasurface/datasurface/services/security/internal/plan"
	"github.com/datasurface/datasurface/services/security/internal/reconcile"
	"github.com/datasurface/datasurface/services/security/internal/scram"
	"github.com/datasurface/datasurface/services/security/internal/secretstore"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Secrets resolves and writes USER_PASSWORD credentials in a PSP's credential store. Absent
// secrets are errors wrapping secretstore.ErrNotFound.
type Secrets interface {
	UserPassword(ctx context.Context, store *modelv1.CredentialStore, name string) (user, password string, err error)
	PutUserPassword(ctx context.Context, store *modelv1.CredentialStore, name, user, password string) error
}

// ErrNotFound wraps unknown platforms, versions, datasets and views.
var ErrNotFound = errors.New("not found")

// ErrInvalid wraps invalid requests.
var ErrInvalid = errors.New("invalid request")

// Engine plans and applies.
type Engine struct {
	Models  modelsrc.Source
	Secrets Secrets
	// DSN, when set, is the connection string (as the security login) of every platform's
	// merge database, instead of the model's mergeDatabase and securityCredential.
	DSN      string
	MaxConns int32
	Audit    *audit.Publisher
	Log      *slog.Logger
	Now      func() time.Time
	// OnFailed, when set, is called for every failed apply (metrics).
	OnFailed func(platform string, err error)

	mu    sync.Mutex
	pools map[string]*pgxpool.Pool
	locks map[string]*sync.Mutex
}

// Close closes the database pools.
func (e *Engine) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, p := range e.pools {
		p.Close()
		delete(e.pools, k)
	}
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) platformLock(d string) *sync.Mutex {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.locks == nil {
		e.locks = map[string]*sync.Mutex{}
	}
	if e.locks[d] == nil {
		e.locks[d] = &sync.Mutex{}
	}
	return e.locks[d]
}

// Model returns model version v (0 = newest).
func (e *Engine) Model(ctx context.Context, v int64) (*modelsrc.Version, error) {
	mv, err := e.Models.Model(ctx, v)
	if errors.Is(err, modelsrc.ErrVersionNotFound) {
		return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return mv, err
}

// ManagedPlatforms returns the Yellow platforms of mv that have a securityCredential, sorted.
func ManagedPlatforms(mv *modelsrc.Version) []string {
	var out []string
	for _, psp := range mv.Model.GetPsps() {
		for _, dp := range psp.GetPlatforms() {
			if y := dp.GetYellow(); y != nil && y.GetSecurityCredential() != nil {
				out = append(out, dp.GetName())
			}
		}
	}
	slices.Sort(out)
	return out
}

// creds resolves credentials through the stores of the model's PSPs.
type creds struct {
	ctx context.Context
	s   Secrets
	x   *index.Index
}

func (c creds) MergeLogin(p string) (string, error) {
	y := c.x.Yellow(p)
	if y == nil || y.GetMergeCredential() == nil {
		return "", fmt.Errorf("platform '%s' has no mergeCredential", p)
	}
	name := y.GetMergeCredential().GetName()
	u, _, err := c.s.UserPassword(c.ctx, c.x.PlatformPSP[p].GetCredentialStore(), name)
	if err != nil {
		return "", &CredentialError{Platform: p, Role: "mergeCredential", Credential: name, Err: err}
	}
	return u, nil
}

// CredentialError is a credential of a platform the security service cannot resolve (or, for a
// generated transformer secret, cannot store). It never holds a secret.
type CredentialError struct {
	Platform string
	// Role says what the credential is for: "mergeCredential", "securityCredential" or
	// "transformer login <role>".
	Role       string
	Credential string
	// Stored is set when the credential could not be written (a generated secret).
	Stored bool
	Err    error
}

func (e *CredentialError) Error() string {
	verb := "resolved"
	if e.Stored {
		verb = "stored"
	}
	return fmt.Sprintf("platform '%s': %s %s cannot be %s: %v", e.Platform, e.Role, e.Credential, verb, e.Err)
}

func (e *CredentialError) Unwrap() error { return e.Err }

func (c creds) Transformer(d, name string) (desired.TransformerSecret, error) {
	store := c.x.PlatformPSP[d].GetCredentialStore()
	u, p, err := c.s.UserPassword(c.ctx, store, name)
	if errors.Is(err, secretstore.ErrNotFound) {
		kind, where := secretstore.Where(store, name)
		w := secretstore.Writable(store)
		return desired.TransformerSecret{Writable: w, ReadOnly: !w, StoreKind: kind, Where: where}, nil
	}
	if err != nil {
		return desired.TransformerSecret{}, err
	}
	return desired.TransformerSecret{User: u, Password: p, Found: true}, nil
}

// CheckCredentials resolves the credentials every apply of platform d of mv needs first — the
// securityCredential (unless Engine.DSN replaces it) and the mergeCredential — without
// connecting anywhere, and returns a *CredentialError for each that cannot be resolved.
func (e *Engine) CheckCredentials(ctx context.Context, mv *modelsrc.Version, d string) []error {
	if e.Secrets == nil {
		return []error{errors.New("no credential store access configured")}
	}
	x := index.New(mv.Model)
	y := x.Yellow(d)
	if y == nil {
		return []error{fmt.Errorf("platform %q: %w", d, ErrNotFound)}
	}
	var errs []error
	if sc := y.GetSecurityCredential(); sc != nil && e.DSN == "" {
		if _, _, err := e.Secrets.UserPassword(ctx, x.PlatformPSP[d].GetCredentialStore(), sc.GetName()); err != nil {
			errs = append(errs, &CredentialError{Platform: d, Role: "securityCredential", Credential: sc.GetName(), Err: err})
		}
	}
	if _, err := (creds{ctx: ctx, s: e.Secrets, x: x}).MergeLogin(d); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// Desired builds the desired state of platform d of mv.
func (e *Engine) Desired(ctx context.Context, mv *modelsrc.Version, d string) (*desired.Desired, error) {
	var c desired.Credentials
	if e.Secrets != nil {
		c = creds{ctx: ctx, s: e.Secrets, x: index.New(mv.Model)}
	}
	des, err := desired.Build(mv.Model, d, mv.Number, c)
	if errors.Is(err, desired.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return des, err
}

// DB returns the pool of platform d's merge database as the security login.
func (e *Engine) DB(ctx context.Context, mv *modelsrc.Version, d string) (*pgxpool.Pool, error) {
	dsn := e.DSN
	if dsn == "" {
		x := index.New(mv.Model)
		y := x.Yellow(d)
		h := y.GetMergeDatabase().GetPostgres()
		if h == nil {
			return nil, fmt.Errorf("platform %s: mergeDatabase must be a postgres container", d)
		}
		if y.GetSecurityCredential() == nil {
			return nil, fmt.Errorf("platform %s has no securityCredential", d)
		}
		if e.Secrets == nil {
			return nil, errors.New("no credential store access configured")
		}
		user, password, err := e.Secrets.UserPassword(ctx, x.PlatformPSP[d].GetCredentialStore(), y.GetSecurityCredential().GetName())
		if err != nil {
			return nil, &CredentialError{Platform: d, Role: "securityCredential", Credential: y.GetSecurityCredential().GetName(), Err: err}
		}
		port := h.GetPort()
		if port == 0 {
			port = 5432
		}
		u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Host: net.JoinHostPort(h.GetHost(), strconv.Itoa(int(port))), Path: "/" + h.GetDatabase()}
		dsn = u.String()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if p, ok := e.pools[dsn]; ok {
		return p, nil
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, errors.New("the merge database connection string cannot be parsed")
	}
	for k, v := range hashing.SessionSettings() {
		cfg.ConnConfig.RuntimeParams[k] = v
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = ""
	cfg.ConnConfig.RuntimeParams["application_name"] = "datasurface-security"
	if e.MaxConns > 0 {
		cfg.MaxConns = e.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open merge database pool of %s: %w", d, err)
	}
	if e.pools == nil {
		e.pools = map[string]*pgxpool.Pool{}
	}
	e.pools[dsn] = pool
	return pool, nil
}

// Plan computes the plan of platform d for model version v (dry run).
func (e *Engine) Plan(ctx context.Context, d string, v int64) (*plan.Plan, error) {
	mv, err := e.Model(ctx, v)
	if err != nil {
		return nil, err
	}
	des, err := e.Desired(ctx, mv, d)
	if err != nil {
		return nil, err
	}
	if !des.Managed {
		return reconcile.Plan(ctx, nil, des)
	}
	db, err := e.DB(ctx, mv, d)
	if err != nil {
		return nil, err
	}
	return reconcile.Plan(ctx, db, des)
}

// ApplyResult is one apply.
type ApplyResult struct {
	Plan  *plan.Plan
	Start time.Time
	End   time.Time
	// Held are the reasons of the transformer logins left as they are because their secret is
	// unavailable (also among the plan's warnings).
	Held []string
}

// Apply applies the plan of platform d for model version v and publishes the audit events.
func (e *Engine) Apply(ctx context.Context, d string, v int64, o reconcile.Options) (*ApplyResult, error) {
	mv, err := e.Model(ctx, v)
	if err != nil {
		return nil, err
	}
	lock := e.platformLock(d)
	lock.Lock()
	defer lock.Unlock()
	start := e.now()
	id := audit.NewID()
	res, err := e.apply(ctx, mv, d, o)
	if err != nil {
		e.failed(ctx, id, d, mv.Number, err)
		return res, err
	}
	res.Start, res.End = start, e.now()
	if !res.Plan.Managed {
		return res, nil
	}
	if err := e.Audit.Applied(ctx, id, res.Plan, res.Plan.Actions, res.Start, res.End); err != nil {
		// The state is committed; the audit record is logged in full so nothing is lost.
		e.Log.ErrorContext(ctx, "audit events not published", "platform", d, "model_version", mv.Number, "plan_digest", res.Plan.Digest, "actions", actionSummaries(res.Plan.Actions), "err", err)
		return res, fmt.Errorf("platform %s: applied, but the audit events were not published: %w", d, err)
	}
	if len(res.Plan.Actions) > 0 {
		e.Log.InfoContext(ctx, "access applied", "platform", d, "model_version", mv.Number, "actions", len(res.Plan.Actions), "destructive", res.Plan.Destructive(), "plan_digest", res.Plan.Digest)
	}
	// A transformer login held for want of its secret cannot log in: an operator must act, so
	// it is logged as an error on every apply (the rest of the platform was applied).
	for _, h := range res.Held {
		e.Log.ErrorContext(ctx, "transformer login not applied", "platform", d, "model_version", mv.Number, "reason", h)
	}
	return res, nil
}

func (e *Engine) apply(ctx context.Context, mv *modelsrc.Version, d string, o reconcile.Options) (*ApplyResult, error) {
	des, err := e.Desired(ctx, mv, d)
	if err != nil {
		return nil, err
	}
	if !des.Managed {
		p, err := reconcile.Plan(ctx, nil, des)
		return &ApplyResult{Plan: p}, err
	}
	if err := e.generate(ctx, des); err != nil {
		return nil, err
	}
	db, err := e.DB(ctx, mv, d)
	if err != nil {
		return nil, err
	}
	p, err := reconcile.Apply(ctx, db, des, o)
	res := &ApplyResult{Plan: p}
	for _, r := range des.Roles {
		if r.Hold {
			res.Held = append(res.Held, r.HoldReason)
		}
	}
	return res, err
}

// generate writes a new secret for every transformer login whose credential is missing from a
// writable store, then reads it back (security.md §3: the store first, then the role).
func (e *Engine) generate(ctx context.Context, des *desired.Desired) error {
	for i := range des.Roles {
		r := &des.Roles[i]
		if r.Secret == nil || !r.Secret.Generate {
			continue
		}
		pw, err := scram.GeneratePassword(32)
		if err != nil {
			return err
		}
		if err := e.Secrets.PutUserPassword(ctx, des.Store, r.Credential, r.Name, pw); err != nil {
			return &CredentialError{Platform: des.Platform, Role: "transformer login " + strconv.Quote(r.Name), Credential: r.Credential, Stored: true,
				Err: fmt.Errorf("the generated password cannot be written to the credential store (%w); make the store writable by the security service or pre-create the credential with user %q", err, r.Name)}
		}
		u, p, err := e.Secrets.UserPassword(ctx, des.Store, r.Credential)
		if err != nil {
			return &CredentialError{Platform: des.Platform, Role: "transformer login " + strconv.Quote(r.Name), Credential: r.Credential, Stored: true,
				Err: fmt.Errorf("the generated password was written but cannot be read back: %w", err)}
		}
		r.Secret = &desired.Secret{User: u, Password: p, Fingerprint: scram.Fingerprint(u, p)}
		e.Log.InfoContext(ctx, "transformer secret generated", "platform", des.Platform, "credential", r.Credential, "role", r.Name)
	}
	return nil
}

func (e *Engine) failed(ctx context.Context, id, d string, v int64, err error) {
	var ex *reconcile.ExecError
	var act *plan.Action
	if errors.As(err, &ex) {
		act = &ex.Action
	}
	e.Log.ErrorContext(ctx, "apply failed", "platform", d, "model_version", v, "err", err)
	if e.OnFailed != nil {
		e.OnFailed(d, err)
	}
	if perr := e.Audit.Failed(ctx, id, d, v, err, act, e.now()); perr != nil {
		e.Log.ErrorContext(ctx, "audit event apply.failed not published", "platform", d, "err", perr)
	}
}

// Drift publishes drift.detected for p.
func (e *Engine) Drift(ctx context.Context, p *plan.Plan) error {
	return e.Audit.Drift(ctx, audit.NewID(), p, e.now())
}

func actionSummaries(acts []plan.Action) []string {
	out := make([]string, len(acts))
	for i, a := range acts {
		out[i] = string(a.Op) + " " + a.ObjectType + " " + a.Object + " " + a.Grantee
	}
	return out
}

// Explain answers ExplainAccess over model version v.
func (e *Engine) Explain(ctx context.Context, r explain.Request, v int64) (*securityv1.ExplainAccessResponse, error) {
	mv, err := e.Model(ctx, v)
	if err != nil {
		return nil, err
	}
	out, err := explain.Explain(ctx, mv, r, func(ctx context.Context, d string) (explain.Querier, error) {
		return e.DB(ctx, mv, d)
	})
	switch {
	case errors.Is(err, explain.ErrNotFound):
		return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, explain.ErrInvalid):
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return out, err
}

// Grants lists the live grants of platform d, marked desired by model version v; role filters
// by grantee or member.
func (e *Engine) Grants(ctx context.Context, d, role string, v int64) (*plan.Plan, error) {
	p, err := e.Plan(ctx, d, v)
	if err != nil || role == "" {
		return p, err
	}
	var keep []plan.Grant
	for _, g := range p.Grants {
		if g.Grantee == role || g.Object == role {
			keep = append(keep, g)
		}
	}
	p.Grants = keep
	return p, nil
}

// PlanProto converts a plan.
func PlanProto(p *plan.Plan) *securityv1.Plan {
	out := &securityv1.Plan{
		Platform: p.Platform, ModelVersion: p.ModelVersion, Managed: p.Managed, Warnings: p.Warnings, Errors: p.Errors, Digest: p.Digest,
	}
	for _, a := range p.Actions {
		out.Actions = append(out.Actions, &securityv1.Action{
			Op: OpProto(a.Op), ObjectType: a.ObjectType, Object: a.Object, Grantee: a.Grantee, Privileges: a.Privileges,
			Reason: a.Reason, Destructive: a.Destructive, Statement: a.Statement,
		})
	}
	return out
}

var ops = map[plan.Op]securityv1.ActionOp{
	plan.CreateRole:              securityv1.ActionOp_ACTION_OP_CREATE_ROLE,
	plan.AlterRole:               securityv1.ActionOp_ACTION_OP_ALTER_ROLE,
	plan.SetPassword:             securityv1.ActionOp_ACTION_OP_SET_PASSWORD,
	plan.DropRole:                securityv1.ActionOp_ACTION_OP_DROP_ROLE,
	plan.CreateSchema:            securityv1.ActionOp_ACTION_OP_CREATE_SCHEMA,
	plan.DropSchema:              securityv1.ActionOp_ACTION_OP_DROP_SCHEMA,
	plan.Comment:                 securityv1.ActionOp_ACTION_OP_COMMENT,
	plan.GrantPriv:               securityv1.ActionOp_ACTION_OP_GRANT,
	plan.RevokePriv:              securityv1.ActionOp_ACTION_OP_REVOKE,
	plan.GrantMembership:         securityv1.ActionOp_ACTION_OP_GRANT_MEMBERSHIP,
	plan.RevokeMembership:        securityv1.ActionOp_ACTION_OP_REVOKE_MEMBERSHIP,
	plan.DefaultPrivileges:       securityv1.ActionOp_ACTION_OP_DEFAULT_PRIVILEGES,
	plan.RevokeDefaultPrivileges: securityv1.ActionOp_ACTION_OP_REVOKE_DEFAULT_PRIVILEGES,
	plan.CreateTable:             securityv1.ActionOp_ACTION_OP_CREATE_TABLE,
}

// OpProto maps an op to its enum.
func OpProto(o plan.Op) securityv1.ActionOp { return ops[o] }

// GrantsProto converts the grants of a plan.
func GrantsProto(p *plan.Plan) *securityv1.ListGrantsResponse {
	out := &securityv1.ListGrantsResponse{Platform: p.Platform, ModelVersion: p.ModelVersion}
	for _, g := range p.Grants {
		out.Grants = append(out.Grants, &securityv1.Grant{
			Kind: g.Kind, ObjectType: g.ObjectType, Object: g.Object, Grantee: g.Grantee, Privileges: g.Privileges,
			Grantor: g.Grantor, Desired: g.Desired,
		})
	}
	return out
}
