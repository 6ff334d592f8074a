// Package desired computes, purely from the model, the access state one Yellow platform should
// have (security.md §2–§5): the owner, reader, workspace group and transformer login roles with
// their markers, the platform, workspace and transformer output schemas with their grants and
// the owner's default privileges, the memberships of consumers, transformer logins and merge
// logins, CONNECT on the merge database, the reader's merge tables, and — for ExplainAccess —
// every view and its masked columns. Every name that will reach SQL is validated here: a model
// that bypassed lint yields errors, never statements.
package desired

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/datasurface/datasurface/model/graph"
	"github.com/datasurface/datasurface/model/index"
	"github.com/datasurface/datasurface/model/names"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/security/internal/scram"
)

// Role kinds (the kind= of a role marker).
const (
	KindOwner       = "owner"
	KindReader      = "reader"
	KindWorkspace   = "workspace"
	KindTransformer = "transformer"
)

// Schema kinds (the kind= of a schema marker; the same markers the merge service writes).
const (
	SchemaPlatform  = "platform"
	SchemaWorkspace = "workspace"
	SchemaOutput    = "transformer_output"
)

// Relation kinds in markers.
const (
	RelView         = "view"
	RelOutput       = "transformer_output"
	RelRoleSecrets  = "role_secrets"
	TransformerConn = 10 // CONNECTION LIMIT of transformer logins
)

// Membership kinds.
const (
	MemberMerge       = "merge"       // the platform's merge login in the owner role
	MemberConsumer    = "consumer"    // a consumer in a workspace role
	MemberTransformer = "transformer" // a transformer login in its workspace role
	MemberSecondary   = "secondary"   // a secondary platform's merge login in the reader role
)

// Role is a desired role.
type Role struct {
	Name      string
	Kind      string
	Workspace string
	Comment   string
	Login     bool
	// ConnLimit is -1 (none) or the CONNECTION LIMIT.
	ConnLimit int32
	// Credential names the secret of a LOGIN role.
	Credential string
	// Secret is the login's secret; nil when secrets were not resolved (explain).
	Secret *Secret
	// Hold keeps the role as it is: its secret is unavailable, so it is neither created nor
	// altered nor dropped (a plan warning says why; HoldReason is that warning, which the
	// engine also logs at ERROR level on every apply).
	Hold       bool
	HoldReason string
}

// Secret is a transformer login's secret as the store holds it.
type Secret struct {
	User     string
	Password string
	// Fingerprint is scram.Fingerprint(User, Password).
	Fingerprint string
	// Generate is set when the store has no secret and is writable: Apply generates one and
	// writes it to the store first.
	Generate bool
}

// Grant is privileges for one grantee.
type Grant struct {
	Grantee    string
	Privileges []string
	// All stands for every privilege of the object type (ALL).
	All bool
}

// Schema is a desired schema, owned by the owner role.
type Schema struct {
	Name      string
	Kind      string
	Workspace string
	Comment   string
	// Grants on the schema itself.
	Grants []Grant
	// RelKind and RelGrant: every managed relation of that marker kind in the schema grants
	// RelGrant (views of a workspace schema: SELECT to the group role; output tables of a
	// transformer schema: ALL to the transformer login).
	RelKind  string
	RelGrant *Grant
	// Default is the owner's default privilege ON TABLES in this schema (so a view created —
	// or dropped and created — by the owner is granted in its own transaction).
	Default *Grant
}

// Membership is a desired membership of Member in Role.
type Membership struct {
	Role      string
	Member    string
	Kind      string
	Workspace string
	// Platform is the secondary platform of a reader membership.
	Platform string
	Reason   string
}

// View is a workspace view the model wants (yellow.md §12).
type View struct {
	Name      naming.Name
	Kind      mergesql.ViewKind
	Workspace string
	DSG       string
	Datastore string
	Dataset   string
	Masked    []string
}

// Workspace is a workspace served by the platform.
type Workspace struct {
	Name            string
	Role            string
	Schema          string
	Transformer     bool
	TransformerRole string
	Consumers       []string
}

// Desired is the access state of one platform for one model version.
type Desired struct {
	Platform     string
	ModelVersion int64
	// Managed is false when the platform has no securityCredential (nothing is planned).
	Managed bool
	// Prune is the platform's pruneUnmanagedGrants.
	Prune          bool
	Owner          string
	Reader         string // "" when the platform needs no reader role
	PlatformSchema string
	SecretsTable   naming.Name
	Store          *modelv1.CredentialStore

	Roles       []Role
	Schemas     []Schema
	Memberships []Membership
	// Connect are the roles granted CONNECT on the merge database.
	Connect []string
	// ReaderTables get SELECT for the reader role.
	ReaderTables []naming.Name

	Views      []View
	Workspaces []Workspace
	// Decommissioned lists, by workspace, the dataset groups whose assignment to the platform
	// is DECOMMISSIONED (explain).
	Decommissioned map[string][]string

	Warnings []string
	Errors   []string
}

// Role returns the desired role name.
func (d *Desired) Role(name string) (*Role, bool) {
	for i := range d.Roles {
		if d.Roles[i].Name == name {
			return &d.Roles[i], true
		}
	}
	return nil, false
}

// RoleNames returns the names of the desired roles.
func (d *Desired) RoleNames() map[string]bool {
	out := make(map[string]bool, len(d.Roles))
	for _, r := range d.Roles {
		out[r.Name] = true
	}
	return out
}

// SchemaNames returns the names of the desired schemas.
func (d *Desired) SchemaNames() map[string]bool {
	out := make(map[string]bool, len(d.Schemas))
	for _, s := range d.Schemas {
		out[s.Name] = true
	}
	return out
}

// Workspace returns the workspace named w.
func (d *Desired) Workspace(w string) (*Workspace, bool) {
	for i := range d.Workspaces {
		if d.Workspaces[i].Name == w {
			return &d.Workspaces[i], true
		}
	}
	return nil, false
}

// TransformerSecret is a transformer credential as Credentials finds it.
type TransformerSecret struct {
	User     string
	Password string
	Found    bool
	// Writable: the store accepts generated secrets.
	Writable bool
	// ReadOnly: the store cannot take generated secrets (env); StoreKind and Where tell the
	// operator where to pre-create the credential ("env", "set N_USER and N_PASSWORD").
	ReadOnly  bool
	StoreKind string
	Where     string
}

// Credentials resolves what the desired state needs from the credential stores. Errors other
// than "not found" become plan warnings; secrets never appear in them.
type Credentials interface {
	// MergeLogin returns the user of Yellow platform p's mergeCredential.
	MergeLogin(p string) (string, error)
	// Transformer resolves transformer credential name (model.md §4.14) of platform d.
	Transformer(d, name string) (TransformerSecret, error)
}

// ErrNotFound is returned for an unknown platform.
var ErrNotFound = errors.New("not found")

// Comment markers.
func roleComment(kind, d, w string) string {
	c := "datasurface:managed kind=" + kind + " platform=" + d
	if w != "" {
		c += " workspace=" + w
	}
	return c
}

// SchemaComment is the marker of a schema of kind on platform d (workspace w or "").
func SchemaComment(kind, d, w string) string {
	if kind == SchemaPlatform {
		return layout.SchemaComment(d)
	}
	return roleComment(kind, d, w)
}

// SecretsComment is the marker of the role secrets table.
func SecretsComment(d string) string {
	return "datasurface:managed kind=" + RelRoleSecrets + " platform=" + d
}

// Build computes the desired state of platform d of model m (version v). creds may be nil: roles
// then carry no secrets and no login memberships are computed (explain only).
func Build(m *modelv1.Model, d string, v int64, creds Credentials) (*Desired, error) {
	x := index.New(m)
	dp := x.Platforms[d]
	if dp == nil {
		return nil, fmt.Errorf("platform %q: %w", d, ErrNotFound)
	}
	y := dp.GetYellow()
	if y == nil {
		return nil, fmt.Errorf("platform %q is not a Yellow platform", d)
	}
	out := &Desired{
		Platform: d, ModelVersion: v, Prune: y.GetPruneUnmanagedGrants(),
		Owner: naming.OwnerRole(d), PlatformSchema: naming.PlatformSchema(d),
		SecretsTable: naming.RoleSecrets(d), Store: x.PlatformPSP[d].GetCredentialStore(),
	}
	if !names.IsSQLIdentifier(d) {
		out.Errors = append(out.Errors, fmt.Sprintf("platform name %q is not a SQL identifier (DS-YELLOW-001); nothing is planned", d))
		return out, nil
	}
	out.Managed = y.GetSecurityCredential() != nil
	eco := graph.BuildIndex(x)
	p := eco.Platforms[d]
	out.views(x, p, y)
	out.workspaceList(x, p, d)
	if !out.Managed {
		out.Warnings = append(out.Warnings, fmt.Sprintf("platform '%s' has no securityCredential: workspace access is not managed (DS-LINT-102)", d))
		return out, nil
	}
	b := &builder{out: out, x: x, eco: eco, p: p, creds: creds, managedPrefixes: managedPrefixes(x)}
	b.build()
	return out, nil
}

type builder struct {
	out             *Desired
	x               *index.Index
	eco             *graph.Ecosystem
	p               *graph.Platform
	creds           Credentials
	managedPrefixes []string
}

func (b *builder) errorf(format string, args ...any) {
	b.out.Errors = append(b.out.Errors, fmt.Sprintf(format, args...))
}

func (b *builder) warnf(format string, args ...any) {
	b.out.Warnings = append(b.out.Warnings, fmt.Sprintf(format, args...))
}

func (b *builder) build() {
	o, d := b.out, b.out.Platform
	o.Roles = append(o.Roles, Role{Name: o.Owner, Kind: KindOwner, Comment: roleComment(KindOwner, d, ""), ConnLimit: -1})
	platformSchema := Schema{Name: o.PlatformSchema, Kind: SchemaPlatform, Comment: SchemaComment(SchemaPlatform, d, "")}

	if b.creds != nil {
		// The merge login must be a member of the owner role before the merge service can
		// create anything in the platform's schemas (security.md §4.1), so an unresolvable
		// merge credential fails the platform's plan instead of leaving the merge service to
		// meet "permission denied" on every retry.
		if login, err := b.creds.MergeLogin(d); err != nil {
			b.errorf("%v; the merge login must be made a member of %q before the merge service can create the platform's tables, so nothing is applied: give the security service the platform's mergeCredential (only its user is used)", err, o.Owner)
		} else if b.checkLogin("merge login", login) {
			o.Memberships = append(o.Memberships, Membership{Role: o.Owner, Member: login, Kind: MemberMerge, Reason: "merge login of " + d})
		}
	}

	// Reader role: D is the first primary ingestion platform of datastores other Yellow
	// platforms copy (yellow.md §8).
	b.reader(&platformSchema)
	o.Schemas = append(o.Schemas, platformSchema)

	for i := range o.Workspaces {
		b.workspace(&o.Workspaces[i])
	}
}

func (b *builder) reader(platformSchema *Schema) {
	o, d := b.out, b.out.Platform
	stores := map[string]bool{}
	var secondaries []string
	for _, e := range b.eco.PlatformNames() {
		if e == d || b.x.Yellow(e) == nil {
			continue
		}
		uses := false
		for _, s := range b.eco.Platforms[e].Streams {
			if s.Remote && s.PrimaryPlatform == d {
				stores[s.Datastore] = true
				uses = true
			}
		}
		if uses {
			secondaries = append(secondaries, e)
		}
	}
	if len(secondaries) == 0 {
		return
	}
	o.Reader = naming.ReaderRole(d)
	o.Roles = append(o.Roles, Role{Name: o.Reader, Kind: KindReader, Comment: roleComment(KindReader, d, ""), ConnLimit: -1})
	platformSchema.Grants = append(platformSchema.Grants, Grant{Grantee: o.Reader, Privileges: []string{"USAGE"}})
	for _, ex := range b.p.Exports {
		if stores[ex.Datastore] {
			if !names.IsSQLIdentifier(ex.Datastore) || !names.IsSQLIdentifier(ex.Dataset) {
				b.errorf("dataset '%s.%s' is not made of SQL identifiers", ex.Datastore, ex.Dataset)
				continue
			}
			o.ReaderTables = append(o.ReaderTables, naming.MergeTable(d, ex.Datastore, ex.Dataset))
		}
	}
	o.ReaderTables = append(o.ReaderTables, naming.BatchMetrics(d))
	if b.creds == nil {
		return
	}
	for _, e := range secondaries {
		login, err := b.creds.MergeLogin(e)
		if err != nil {
			b.warnf("merge login of secondary platform '%s' cannot be resolved (%v); it is not made a member of %q", e, err, o.Reader)
			continue
		}
		if b.checkLogin("merge login of secondary platform '"+e+"'", login) {
			o.Memberships = append(o.Memberships, Membership{Role: o.Reader, Member: login, Kind: MemberSecondary, Platform: e, Reason: "merge login of secondary platform " + e})
		}
	}
}

// checkLogin validates a login name from a credential store.
func (b *builder) checkLogin(what, login string) bool {
	if !names.IsPrincipal(login) {
		b.errorf("%s %q is not a valid role name", what, login)
		return false
	}
	if reserved(login) || b.managedLooking(login) {
		b.errorf("%s %q is reserved or a datasurface-managed role", what, login)
		return false
	}
	return true
}

func (b *builder) workspace(w *Workspace) {
	o, d := b.out, b.out.Platform
	ws := b.x.Workspaces[w.Name]
	if !names.IsSQLIdentifier(w.Name) {
		b.errorf("workspace name %q is not a SQL identifier (DS-LINT-001); it is not planned", w.Name)
		return
	}
	o.Roles = append(o.Roles, Role{Name: w.Role, Kind: KindWorkspace, Workspace: w.Name, Comment: roleComment(KindWorkspace, d, w.Name), ConnLimit: -1})
	o.Connect = append(o.Connect, w.Role)
	o.Schemas = append(o.Schemas, Schema{
		Name: w.Schema, Kind: SchemaWorkspace, Workspace: w.Name, Comment: SchemaComment(SchemaWorkspace, d, w.Name),
		Grants:  []Grant{{Grantee: w.Role, Privileges: []string{"USAGE"}}},
		RelKind: RelView, RelGrant: &Grant{Grantee: w.Role, Privileges: []string{"SELECT"}},
		Default: &Grant{Grantee: w.Role, Privileges: []string{"SELECT"}},
	})
	for _, c := range ws.GetAccess().GetConsumers() {
		switch {
		case !names.IsPrincipal(c):
			b.errorf("consumer %q of workspace '%s' is not a valid role name (DS-LINT-089); it is not granted", c, w.Name)
			continue
		case reserved(c):
			b.errorf("consumer %q of workspace '%s' is reserved (postgres, public, pg_*) (DS-LINT-089); it is not granted", c, w.Name)
			continue
		case b.managedLooking(c):
			b.errorf("consumer %q of workspace '%s' is a datasurface-managed role (DS-LINT-089); it is not granted", c, w.Name)
			continue
		}
		o.Memberships = append(o.Memberships, Membership{Role: w.Role, Member: c, Kind: MemberConsumer, Workspace: w.Name, Reason: "consumer of " + w.Name})
	}
	if !w.Transformer {
		return
	}
	cred := naming.TransformerCredential(d, w.Name)
	r := Role{
		Name: w.TransformerRole, Kind: KindTransformer, Workspace: w.Name, Comment: roleComment(KindTransformer, d, w.Name),
		Login: true, ConnLimit: TransformerConn, Credential: cred,
	}
	if b.creds != nil {
		b.transformerSecret(&r)
	}
	o.Roles = append(o.Roles, r)
	o.Schemas = append(o.Schemas, Schema{
		Name: naming.TransformerSchema(d, w.Name), Kind: SchemaOutput, Workspace: w.Name, Comment: SchemaComment(SchemaOutput, d, w.Name),
		Grants:  []Grant{{Grantee: r.Name, Privileges: []string{"USAGE", "CREATE"}}},
		RelKind: RelOutput, RelGrant: &Grant{Grantee: r.Name, All: true},
		Default: &Grant{Grantee: r.Name, All: true},
	})
	o.Memberships = append(o.Memberships, Membership{Role: w.Role, Member: r.Name, Kind: MemberTransformer, Workspace: w.Name, Reason: "transformer login of " + w.Name})
}

// transformerSecret resolves the secret of transformer login r. A secret that is unavailable —
// unreadable, naming another user, or absent from a store the service cannot write (env) —
// holds the role (neither created nor altered nor dropped) with a warning that tells the
// operator what to do; the rest of the platform is still applied, so consumer grants and
// revocations never wait for one transformer's secret.
func (b *builder) transformerSecret(r *Role) {
	s, err := b.creds.Transformer(b.out.Platform, r.Credential)
	hold := func(format string, args ...any) {
		r.Hold = true
		r.HoldReason = fmt.Sprintf(format, args...)
		b.out.Warnings = append(b.out.Warnings, r.HoldReason)
	}
	switch {
	case err != nil:
		hold("transformer credential %s cannot be resolved (%v); role %q is left as it is", r.Credential, err, r.Name)
	case s.Found && s.User != r.Name:
		hold("transformer credential %s has user %q, but it must be %q; role %q is left as it is", r.Credential, s.User, r.Name, r.Name)
	case s.Found:
		r.Secret = &Secret{User: s.User, Password: s.Password, Fingerprint: scram.Fingerprint(s.User, s.Password)}
	case s.Writable:
		r.Secret = &Secret{User: r.Name, Generate: true}
	case s.ReadOnly:
		hold("transformer credential %s is missing from the read-only %s credential store, which the security service cannot write a generated password to: pre-create it (%s) with user %q and a random password of at least 32 characters; role %q is left as it is until then",
			r.Credential, s.StoreKind, s.Where, r.Name, r.Name)
	default:
		hold("transformer credential %s is missing from the credential store; role %q is left as it is", r.Credential, r.Name)
	}
}

// workspaceList collects the workspaces of the graph: assigned roots (not DECOMMISSIONED) and
// pulled-in transformer workspaces.
func (o *Desired) workspaceList(x *index.Index, p *graph.Platform, d string) {
	seen := map[string]int{}
	for _, r := range p.Roots {
		if _, ok := seen[r.Workspace]; ok {
			continue
		}
		seen[r.Workspace] = len(o.Workspaces)
		ws := x.Workspaces[r.Workspace]
		o.Workspaces = append(o.Workspaces, Workspace{
			Name: r.Workspace, Role: naming.WorkspaceRole(d, r.Workspace), Schema: naming.WorkspaceSchema(d, r.Workspace),
			Consumers: slices.Clone(ws.GetAccess().GetConsumers()),
		})
	}
	for _, t := range p.Transformers {
		i, ok := seen[t.Workspace]
		if !ok {
			continue
		}
		o.Workspaces[i].Transformer = true
		o.Workspaces[i].TransformerRole = naming.TransformerRole(d, t.Workspace)
	}
	// DECOMMISSIONED assignments, for explain.
	for _, a := range x.Model.GetAssignments() {
		for _, pa := range a.GetPlatforms() {
			if pa.GetPlatform() != d || pa.GetStatus() != modelv1.AssignmentStatus_ASSIGNMENT_STATUS_DECOMMISSIONED {
				continue
			}
			if o.Decommissioned == nil {
				o.Decommissioned = map[string][]string{}
			}
			o.Decommissioned[a.GetWorkspace()] = append(o.Decommissioned[a.GetWorkspace()], a.GetDatasetGroup())
		}
	}
	slices.SortFunc(o.Workspaces, func(a, b Workspace) int { return strings.Compare(a.Name, b.Name) })
}

// views lists the workspace views of the platform (yellow.md §12) with their masked columns.
func (o *Desired) views(x *index.Index, p *graph.Platform, y *modelv1.YellowPlatform) {
	forensic := y.GetMilestoning() == modelv1.PlatformMilestoning_PLATFORM_MILESTONING_FORENSIC
	for _, r := range p.Roots {
		w := x.Workspaces[r.Workspace]
		g := x.DSG(r.Workspace, r.DatasetGroup)
		if w == nil || g == nil {
			continue
		}
		approved := w.GetAccess().GetApprovedClassifications()
		full := forensic && !r.Transformer &&
			g.GetPlatformRequirements().GetMilestoning() == modelv1.Milestoning_MILESTONING_FORENSIC
		for _, s := range g.GetSinks() {
			if _, ok := p.Export(s.GetDatastore(), s.GetDataset()); !ok {
				continue
			}
			if !allIdentifiers(r.Workspace, r.DatasetGroup, s.GetDatastore(), s.GetDataset()) {
				continue
			}
			masked := mergesql.MaskedColumns(x.Dataset(s.GetDatastore(), s.GetDataset()), approved)
			var cols []string
			for c := range masked {
				cols = append(cols, c)
			}
			slices.Sort(cols)
			v := View{
				Name: naming.LiveView(o.Platform, r.Workspace, r.DatasetGroup, s.GetDatastore(), s.GetDataset()),
				Kind: mergesql.LiveView, Workspace: r.Workspace, DSG: r.DatasetGroup,
				Datastore: s.GetDatastore(), Dataset: s.GetDataset(), Masked: cols,
			}
			o.Views = append(o.Views, v)
			if full {
				v.Kind = mergesql.FullView
				v.Name = naming.FullView(o.Platform, r.Workspace, r.DatasetGroup, s.GetDatastore(), s.GetDataset())
				o.Views = append(o.Views, v)
			}
		}
	}
}

func allIdentifiers(ns ...string) bool {
	for _, n := range ns {
		if !names.IsSQLIdentifier(n) {
			return false
		}
	}
	return true
}

// reserved reports a reserved principal: postgres, public or pg_* (case-insensitively).
func reserved(p string) bool {
	l := strings.ToLower(p)
	return l == "postgres" || l == "public" || strings.HasPrefix(l, "pg_")
}

// managedPrefixes returns lower(D)+"_" of every Yellow platform of the model.
func managedPrefixes(x *index.Index) []string {
	var out []string
	for _, psp := range x.Model.GetPsps() {
		for _, dp := range psp.GetPlatforms() {
			if dp.GetYellow() != nil {
				out = append(out, strings.ToLower(dp.GetName())+"_")
			}
		}
	}
	return out
}

// managedLooking reports whether p is, or could be, a role datasurface manages on any Yellow
// platform of the model: <d>_owner, <d>_reader, <d>_ws_…, <d>_dt_… (case-insensitively), or a
// hashed long form of one (53 kept bytes of such a name, "_", 8 hex digits).
func (b *builder) managedLooking(p string) bool {
	l := strings.ToLower(p)
	hashed := len(l) == naming.MaxIdentifier && l[54] == '_' && isHex(l[55:])
	for _, pre := range b.managedPrefixes {
		if rest, ok := strings.CutPrefix(l, pre); ok {
			if rest == "owner" || rest == "reader" || strings.HasPrefix(rest, "ws_") || strings.HasPrefix(rest, "dt_") {
				return true
			}
		}
		if hashed && (strings.HasPrefix(l[:54], pre) || strings.HasPrefix(pre, l[:54])) {
			return true
		}
	}
	return false
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
