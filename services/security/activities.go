package security

import (
	"context"
	"errors"

	"github.com/datasurface/datasurface/services/security/internal/engine"
	"github.com/datasurface/datasurface/services/security/internal/plan"
	"github.com/datasurface/datasurface/services/security/internal/reconcile"
)

// Activities are the service's Temporal activities (task queue "security"): methods with one
// input and one result struct, idempotent (a second run applies an empty plan). RegisterWorker
// registers them under their batchapi names (worker.go); they can also be called directly.
type Activities struct {
	s *Service
}

// Activities returns the service's activities.
func (s *Service) Activities() *Activities { return &Activities{s: s} }

// ApplyGrantsInput names the platform and the model version to apply.
type ApplyGrantsInput struct {
	Platform     string
	ModelVersion int64
	// ExpectedDigest, when set, makes the activity fail unless the plan has this digest.
	ExpectedDigest string
}

// ApplyGrantsResult summarises what was applied.
type ApplyGrantsResult struct {
	Platform     string
	ModelVersion int64
	Managed      bool
	PlanDigest   string
	Actions      int
	Destructive  int
	// Applied lists the actions as "op object_type object [grantee]".
	Applied  []string
	Warnings []string
}

// Error is an activity error; Permanent errors cannot be fixed by retrying the same input (a
// plan error such as a name held by an unmanaged role or an unresolvable mergeCredential, a
// security or generated transformer credential the service cannot read or write, an unknown
// platform or model version).
type Error struct {
	Activity  string
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

// ApplyGrants applies everything (security.Apply of security.md §4.2): after the merge service
// reconciled the views, and after any batch that recreated views.
func (a *Activities) ApplyGrants(ctx context.Context, in ApplyGrantsInput) (ApplyGrantsResult, error) {
	return a.apply(ctx, "ApplyGrants", in, false)
}

// Prepare applies only the non-destructive actions (security.Prepare of security.md §4.2):
// roles, schemas, default privileges, grants and memberships, before the merge service
// reconciles views.
func (a *Activities) Prepare(ctx context.Context, in ApplyGrantsInput) (ApplyGrantsResult, error) {
	return a.apply(ctx, "Prepare", in, true)
}

func (a *Activities) apply(ctx context.Context, name string, in ApplyGrantsInput, prepare bool) (ApplyGrantsResult, error) {
	out := ApplyGrantsResult{Platform: in.Platform, ModelVersion: in.ModelVersion}
	if in.Platform == "" {
		return out, &Error{Activity: name, Permanent: true, Err: errors.New("platform is required")}
	}
	res, err := a.s.engine.Apply(ctx, in.Platform, in.ModelVersion, reconcile.Options{Prepare: prepare, ExpectedDigest: in.ExpectedDigest})
	if res != nil && res.Plan != nil {
		out = summarise(res.Plan)
	}
	if err != nil {
		return out, &Error{Activity: name, Permanent: permanentApply(err), Err: err}
	}
	return out, nil
}

func summarise(p *plan.Plan) ApplyGrantsResult {
	out := ApplyGrantsResult{
		Platform: p.Platform, ModelVersion: p.ModelVersion, Managed: p.Managed, PlanDigest: p.Digest,
		Actions: len(p.Actions), Destructive: p.Destructive(), Warnings: p.Warnings,
	}
	for _, a := range p.Actions {
		s := string(a.Op) + " " + a.ObjectType + " " + a.Object
		if a.Grantee != "" {
			s += " " + a.Grantee
		}
		out.Applied = append(out.Applied, s)
	}
	return out
}

// permanentApply reports whether an apply error cannot be fixed by retrying the same input: a
// plan error (which includes an unresolvable mergeCredential), a stale digest, a credential
// the service cannot resolve or store, an unknown platform or model version.
func permanentApply(err error) bool {
	var pe *reconcile.PlanError
	var de *reconcile.DigestError
	var ce *engine.CredentialError
	return errors.As(err, &pe) || errors.As(err, &de) || errors.As(err, &ce) || errors.Is(err, engine.ErrNotFound)
}
