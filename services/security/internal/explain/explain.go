// Package explain answers ExplainAccess (security.md §6): for a principal and a dataset (or one
// view), per Yellow platform serving it, the model's answer with every path role → membership →
// grant → view (and the view's masked columns), the reason when there is none, and the catalog's
// answer (pg_has_role, has_table_privilege) with every disagreement listed as drift.
package explain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/datasurface/datasurface/model/index"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	securityv1 "github.com/datasurface/datasurface/proto/gen/datasurface/security/v1"
	"github.com/datasurface/datasurface/services/security/internal/desired"
	"github.com/datasurface/datasurface/services/security/internal/modelsrc"
	"github.com/jackc/pgx/v5"
)

// Querier runs the catalog checks (a pool).
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Request is what to explain.
type Request struct {
	Principal string
	Datastore string
	Dataset   string
	// View is a schema-qualified view name instead of Datastore and Dataset.
	View     string
	Platform string
	SkipLive bool
}

// ErrNotFound is returned for an unknown dataset, view or platform.
var ErrNotFound = errors.New("not found")

// ErrInvalid is returned for an incomplete request.
var ErrInvalid = errors.New("invalid request")

// Connect returns the catalog of platform d (nil, err when it cannot be reached).
type Connect func(ctx context.Context, d string) (Querier, error)

// Explain answers r over model mv.
func Explain(ctx context.Context, mv *modelsrc.Version, r Request, connect Connect) (*securityv1.ExplainAccessResponse, error) {
	if r.Principal == "" {
		return nil, fmt.Errorf("%w: principal is required", ErrInvalid)
	}
	x := index.New(mv.Model)
	var platforms []string
	for d, dp := range x.Platforms {
		if dp.GetYellow() != nil && (r.Platform == "" || r.Platform == d) {
			platforms = append(platforms, d)
		}
	}
	slices.Sort(platforms)
	if r.Platform != "" && len(platforms) == 0 {
		return nil, fmt.Errorf("%w: Yellow platform %q", ErrNotFound, r.Platform)
	}
	byPlatform := map[string]*desired.Desired{}
	for _, d := range platforms {
		des, err := desired.Build(mv.Model, d, mv.Number, nil)
		if err != nil {
			return nil, err
		}
		byPlatform[d] = des
	}
	var view naming.Name
	if r.View != "" {
		s, n, ok := strings.Cut(r.View, ".")
		if !ok {
			return nil, fmt.Errorf("%w: view %q must be schema.name", ErrInvalid, r.View)
		}
		view = naming.Name{Schema: s, Name: n}
		found := false
		for _, d := range platforms {
			for _, v := range byPlatform[d].Views {
				if v.Name == view {
					r.Datastore, r.Dataset, found = v.Datastore, v.Dataset, true
					platforms = []string{d}
				}
			}
		}
		if !found {
			return nil, fmt.Errorf("%w: no platform publishes view %s", ErrNotFound, r.View)
		}
	} else {
		if r.Datastore == "" || r.Dataset == "" {
			return nil, fmt.Errorf("%w: a dataset (datastore and dataset) or a view is required", ErrInvalid)
		}
		if x.Dataset(r.Datastore, r.Dataset) == nil {
			return nil, fmt.Errorf("%w: dataset %s.%s", ErrNotFound, r.Datastore, r.Dataset)
		}
	}
	out := &securityv1.ExplainAccessResponse{Principal: r.Principal, Dataset: r.Datastore + "." + r.Dataset, ModelVersion: mv.Number}
	for _, d := range platforms {
		des := byPlatform[d]
		var views []desired.View
		for _, v := range des.Views {
			if v.Datastore == r.Datastore && v.Dataset == r.Dataset && (r.View == "" || v.Name == view) {
				views = append(views, v)
			}
		}
		if len(views) == 0 {
			if r.Platform == d {
				out.Answers = append(out.Answers, &securityv1.AccessAnswer{Platform: d, Reason: fmt.Sprintf("platform %s does not serve %s", d, out.Dataset)})
			}
			continue
		}
		a := answer(mv, x, des, r, views)
		if !r.SkipLive && connect != nil {
			a.Live = live(ctx, connect, d, r.Principal, a, views)
			if !a.Access && a.Live.GetChecked() && !a.Live.GetPrincipalExists() && des.Managed {
				a.Reason = "the principal does not exist"
			}
		}
		out.Answers = append(out.Answers, a)
	}
	return out, nil
}

func answer(mv *modelsrc.Version, x *index.Index, des *desired.Desired, r Request, views []desired.View) *securityv1.AccessAnswer {
	a := &securityv1.AccessAnswer{Platform: des.Platform}
	if !des.Managed {
		a.Reason = "the platform is not managed (it has no securityCredential)"
		return a
	}
	type key struct{ w, g string }
	var order []key
	groups := map[key][]desired.View{}
	for _, v := range views {
		k := key{v.Workspace, v.DSG}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], v)
	}
	for _, k := range order {
		w, ok := des.Workspace(k.w)
		if !ok {
			continue
		}
		via := ""
		switch {
		case slices.Contains(w.Consumers, r.Principal):
			via = "consumer"
		case w.Transformer && w.TransformerRole == r.Principal:
			via = "transformer"
		default:
			continue
		}
		p := &securityv1.AccessPath{Role: w.Role, Workspace: w.Name, Via: via, DatasetGroup: k.g, Schema: w.Schema}
		if via == "consumer" {
			if pos := mv.Source.Pos(index.WorkspacePath(w.Name) + "#access.consumers[" + r.Principal + "]"); !pos.IsZero() {
				p.ConsumerAt = pos.String()
			}
		}
		for _, v := range groups[k] {
			p.Views = append(p.Views, &securityv1.ViewAccess{Name: v.Name.String(), Kind: string(v.Kind), MaskedColumns: v.Masked})
		}
		a.Paths = append(a.Paths, p)
	}
	a.Access = len(a.Paths) > 0
	if a.Access {
		return a
	}
	// Why not: a DECOMMISSIONED assignment of a workspace the principal consumes.
	for w, groups := range des.Decommissioned {
		ws := x.Workspaces[w]
		if ws == nil || !slices.Contains(ws.GetAccess().GetConsumers(), r.Principal) {
			continue
		}
		for _, g := range groups {
			for _, s := range x.DSG(w, g).GetSinks() {
				if s.GetDatastore() == r.Datastore && s.GetDataset() == r.Dataset {
					a.Reason = fmt.Sprintf("the assignment of %s.%s to %s is DECOMMISSIONED", w, g, des.Platform)
					return a
				}
			}
		}
	}
	a.Reason = fmt.Sprintf("not a consumer of any workspace that sinks %s.%s on %s", r.Datastore, r.Dataset, des.Platform)
	return a
}

const principalSQL = `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1)`

const memberSQL = `SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $2)
  THEN pg_catalog.pg_has_role($1::name, $2::name, 'USAGE') ELSE false END`

// selectSQL is NULL when the view does not exist.
const selectSQL = `SELECT (SELECT pg_catalog.has_table_privilege($1::name, c.oid, 'SELECT')
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $2 AND c.relname = $3)`

func live(ctx context.Context, connect Connect, d, principal string, a *securityv1.AccessAnswer, views []desired.View) *securityv1.LiveAccess {
	l := &securityv1.LiveAccess{Select: map[string]bool{}}
	q, err := connect(ctx, d)
	if err != nil {
		l.Drift = append(l.Drift, "catalog not checked: "+err.Error())
		return l
	}
	if err := q.QueryRow(ctx, principalSQL, principal).Scan(&l.PrincipalExists); err != nil {
		l.Drift = append(l.Drift, "catalog not checked: "+err.Error())
		return l
	}
	l.Checked = true
	if !l.PrincipalExists {
		if a.Access {
			l.Drift = append(l.Drift, fmt.Sprintf("principal %q does not exist", principal))
		}
		return l
	}
	l.Membership = len(a.Paths) > 0
	wanted := map[string]bool{}
	for _, p := range a.Paths {
		var m bool
		if err := q.QueryRow(ctx, memberSQL, principal, p.Role).Scan(&m); err != nil {
			l.Drift = append(l.Drift, "membership not checked: "+err.Error())
			continue
		}
		if !m {
			l.Membership = false
			l.Drift = append(l.Drift, fmt.Sprintf("%q is not a member of %q", principal, p.Role))
		}
		for _, v := range p.Views {
			wanted[v.Name] = true
		}
	}
	for _, v := range views {
		var sel *bool
		name := v.Name.String()
		if err := q.QueryRow(ctx, selectSQL, principal, v.Name.Schema, v.Name.Name).Scan(&sel); err != nil {
			l.Drift = append(l.Drift, "select not checked on "+name+": "+err.Error())
			continue
		}
		if sel == nil {
			if wanted[name] {
				l.Drift = append(l.Drift, "view "+name+" does not exist yet")
			}
			continue
		}
		l.Select[name] = *sel
		switch {
		case *sel && !wanted[name]:
			l.Drift = append(l.Drift, fmt.Sprintf("%q can read %s, which the model does not grant", principal, name))
		case !*sel && wanted[name]:
			l.Drift = append(l.Drift, fmt.Sprintf("%q cannot read %s, which the model grants", principal, name))
		}
	}
	return l
}
