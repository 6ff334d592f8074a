// Package plan diffs the desired access state of a platform (package desired) against the live
// catalog (package catalog) into the ordered actions of security.md §4.2 step 3, each with the
// idempotent statement of §4.1: create roles → alter roles and passwords → create schemas (and
// the role secrets table) → comments → revoke from PUBLIC → default privileges → grants →
// memberships → destructive: revoke memberships → revoke privileges → remove default privileges
// → drop schemas → drop roles. Only objects the platform manages (marker comments) are touched;
// a desired name held by an unmarked object is a plan error. Every identifier is quoted with
// pgx.Identifier; the only literals (comments, SCRAM verifiers) go through ddl.Literal. Planning
// is pure: the same inputs give the same actions.
package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/datasurface/datasurface/services/security/internal/catalog"
	"github.com/datasurface/datasurface/services/security/internal/desired"
	"github.com/datasurface/datasurface/services/security/internal/scram"
	"github.com/jackc/pgx/v5"
)

// Op is what an action does (security.md §4.3).
type Op string

// Ops.
const (
	CreateRole              Op = "create_role"
	AlterRole               Op = "alter_role"
	SetPassword             Op = "set_password"
	DropRole                Op = "drop_role"
	CreateSchema            Op = "create_schema"
	DropSchema              Op = "drop_schema"
	CreateTable             Op = "create_table"
	Comment                 Op = "comment"
	GrantPriv               Op = "grant"
	RevokePriv              Op = "revoke"
	GrantMembership         Op = "grant_membership"
	RevokeMembership        Op = "revoke_membership"
	DefaultPrivileges       Op = "default_privileges"
	RevokeDefaultPrivileges Op = "revoke_default_privileges"
)

// Stages order the actions (security.md §4.2 step 3).
const (
	stageCreateRole = iota
	stageBootstrap  // the security login's membership in the owner role
	stageAlterRole
	stageCreateSchema
	stageCreateTable
	stageComment
	stageRevokePublic
	stageDefault
	stageGrant
	stageMembership
	stageRevokeMembership // destructive from here on
	stageRevoke
	stageRevokeDefault
	stageDropSchema
	stageDropRole
)

// Action is one change.
type Action struct {
	Op          Op
	ObjectType  string // role, schema, table, view, database, default_privileges
	Object      string
	Grantee     string // "PUBLIC" for PUBLIC
	Privileges  []string
	Reason      string
	Destructive bool
	// Statement is the SQL shown: passwords are PASSWORD '<redacted>'.
	Statement string
	// Workspace is the workspace a role or membership action concerns (audit).
	Workspace string
	// RoleKind is the kind of the role a membership action concerns (audit).
	RoleKind string
	// AsOwner runs the statement while SET ROLEd to the owner role (object grants, schema
	// comments, default privileges, drops of schemas); otherwise as the security login.
	AsOwner bool

	stage int
	sql   string
}

// SQL is the statement executed (it may hold a SCRAM verifier; never log it).
func (a Action) SQL() string { return a.sql }

// Fingerprint is an applied role secret to record.
type Fingerprint struct {
	Role  string
	Value string
}

// Plan is the difference for one platform.
type Plan struct {
	Platform     string
	ModelVersion int64
	Managed      bool
	Owner        string
	SecretsTable naming.Name
	Actions      []Action
	Warnings     []string
	Errors       []string
	// Digest is the SHA-256 (hex) of the actions (ops, objects, grantees, privileges and
	// redacted statements).
	Digest string
	// Record are the role secret fingerprints to upsert after the actions; Forget the roles
	// whose rows to delete.
	Record []Fingerprint
	Forget []string
	// Grants are the live memberships, privileges and default privileges on the platform's
	// managed state, each marked desired or not (ListGrants).
	Grants []Grant
}

// Grant is one live grant on managed state.
type Grant struct {
	Kind       string // privilege, membership, default_privilege
	ObjectType string
	Object     string
	Grantee    string
	Privileges []string
	Grantor    string
	Desired    bool
}

type grantKey struct {
	kind, objectType, object, grantee, grantor string
	desired                                    bool
}

func (b *builder) addGrant(g Grant) {
	k := grantKey{g.Kind, g.ObjectType, g.Object, g.Grantee, g.Grantor, g.Desired}
	if i, ok := b.grantIdx[k]; ok {
		x := &b.p.Grants[i]
		x.Privileges = append(x.Privileges, g.Privileges...)
		slices.Sort(x.Privileges)
		return
	}
	b.grantIdx[k] = len(b.p.Grants)
	b.p.Grants = append(b.p.Grants, g)
}

// Destructive counts the destructive actions.
func (p *Plan) Destructive() int {
	n := 0
	for _, a := range p.Actions {
		if a.Destructive {
			n++
		}
	}
	return n
}

// Select returns the actions to execute: all of them, or only the non-destructive ones for
// prepare.
func (p *Plan) Select(prepare bool) []Action {
	if !prepare {
		return p.Actions
	}
	var out []Action
	for _, a := range p.Actions {
		if !a.Destructive {
			out = append(out, a)
		}
	}
	return out
}

// Options tune planning.
type Options struct {
	// NoVerifiers skips computing SCRAM verifiers (dry runs and re-diffs never execute them).
	NoVerifiers bool
}

// q quotes identifiers.
func q(parts ...string) string { return pgx.Identifier(parts).Sanitize() }

func qn(n naming.Name) string { return q(n.Schema, n.Name) }

// grantee renders a grantee for SQL.
func granteeSQL(g string) string {
	if g == catalog.Public {
		return "PUBLIC"
	}
	return q(g)
}

func granteeName(g string) string {
	if g == catalog.Public {
		return "PUBLIC"
	}
	return g
}

type builder struct {
	d    *desired.Desired
	l    *catalog.Live
	p    *Plan
	opts Options
	pg16 bool

	desiredRoles map[string]*desired.Role
	created      map[string]bool // roles created by this plan
	blocked      map[string]bool // desired roles or schemas held by unmanaged objects
	dropSchemas  map[string]bool
	held         map[string]bool
	grantIdx     map[grantKey]int
}

// Build diffs d against l.
func Build(d *desired.Desired, l *catalog.Live, opts Options) *Plan {
	p := &Plan{
		Platform: d.Platform, ModelVersion: d.ModelVersion, Managed: d.Managed, Owner: d.Owner, SecretsTable: d.SecretsTable,
		Warnings: slices.Clone(d.Warnings), Errors: slices.Clone(d.Errors),
	}
	if !d.Managed {
		p.digest()
		return p
	}
	b := &builder{
		d: d, l: l, p: p, opts: opts, pg16: l.ServerVersion >= 160000,
		desiredRoles: map[string]*desired.Role{}, created: map[string]bool{}, blocked: map[string]bool{},
		dropSchemas: map[string]bool{}, held: map[string]bool{}, grantIdx: map[grantKey]int{},
	}
	for i := range d.Roles {
		r := &d.Roles[i]
		b.desiredRoles[r.Name] = r
		if r.Hold || (r.Login && r.Secret == nil) {
			b.held[r.Name] = true
		}
	}
	if !l.StandardStrings {
		p.Errors = append(p.Errors, "standard_conforming_strings is off in the security session; no literal can be written safely")
	}
	b.roles()
	b.schemas()
	b.secretsTable()
	b.planDrops()
	b.defaults()
	b.objectGrants()
	b.memberships()
	b.drops()
	slices.SortStableFunc(p.Actions, func(a, c Action) int { return a.stage - c.stage })
	p.digest()
	return p
}

func (b *builder) add(a Action) {
	a.Destructive = a.stage >= stageRevokeMembership
	if a.Statement == "" {
		a.Statement = a.sql
	}
	b.p.Actions = append(b.p.Actions, a)
}

func (b *builder) warnf(format string, args ...any) {
	b.p.Warnings = append(b.p.Warnings, fmt.Sprintf(format, args...))
}

func (b *builder) errorf(format string, args ...any) {
	b.p.Errors = append(b.p.Errors, fmt.Sprintf(format, args...))
}

// managedRole reports whether name is a role of this platform: desired or marked.
func (b *builder) managedRole(name string) bool {
	if _, ok := b.desiredRoles[name]; ok {
		return true
	}
	return b.l.ManagedRole(name, b.d.Platform)
}

// exists reports whether role name exists after the plan's role creations.
func (b *builder) exists(name string) bool {
	if b.created[name] {
		return true
	}
	if b.blocked[name] {
		return false
	}
	_, ok := b.l.Roles[name]
	return ok
}

// ---------------------------------------------------------------------------------------------
// Roles

// attrs renders role attributes; only the given ones (ALTER ROLE by a CREATEROLE login may not
// name SUPERUSER, REPLICATION or BYPASSRLS at all unless it is a superuser).
func createAttrs(r *desired.Role) string {
	s := " NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT"
	if r.Login {
		s += fmt.Sprintf(" LOGIN CONNECTION LIMIT %d", r.ConnLimit)
	} else {
		s += " NOLOGIN"
	}
	return s
}

func alterAttrs(r *desired.Role, l catalog.Role) []string {
	var out []string
	flag := func(live, want bool, yes, no string) {
		if live != want {
			out = append(out, map[bool]string{true: yes, false: no}[want])
		}
	}
	flag(l.Super, false, "SUPERUSER", "NOSUPERUSER")
	flag(l.CreateDB, false, "CREATEDB", "NOCREATEDB")
	flag(l.CreateRole, false, "CREATEROLE", "NOCREATEROLE")
	flag(l.Replication, false, "REPLICATION", "NOREPLICATION")
	flag(l.BypassRLS, false, "BYPASSRLS", "NOBYPASSRLS")
	flag(l.Inherit, true, "INHERIT", "NOINHERIT")
	flag(l.Login, r.Login, "LOGIN", "NOLOGIN")
	if l.ConnLimit != r.ConnLimit {
		out = append(out, fmt.Sprintf("CONNECTION LIMIT %d", r.ConnLimit))
	}
	return out
}

func (b *builder) roles() {
	d := b.d
	for i := range d.Roles {
		r := &d.Roles[i]
		lr, exists := b.l.Roles[r.Name]
		switch {
		case !exists:
			if b.held[r.Name] {
				continue
			}
			b.createRole(r)
		case !catalog.Managed(lr.Comment, d.Platform):
			b.errorf("role %q exists and is not managed by platform %s (comment %q); it is neither altered nor granted", r.Name, d.Platform, lr.Comment)
			b.blocked[r.Name] = true
		default:
			if b.held[r.Name] {
				continue
			}
			if attrs := alterAttrs(r, lr); len(attrs) > 0 {
				b.add(Action{
					Op: AlterRole, ObjectType: "role", Object: r.Name, Privileges: attrs, Workspace: r.Workspace,
					Reason: "attributes", stage: stageAlterRole,
					sql: "ALTER ROLE " + q(r.Name) + " WITH " + strings.Join(attrs, " "),
				})
			}
			if lr.Comment != r.Comment {
				b.comment("ROLE", "role", r.Name, q(r.Name), r.Comment, false)
			}
			if r.Login && r.Secret != nil {
				switch {
				case r.Secret.Generate:
					b.setPassword(r, "password generated on apply")
				case b.l.Secrets[r.Name] == "":
					b.setPassword(r, "no applied secret recorded")
				case b.l.Secrets[r.Name] != r.Secret.Fingerprint:
					b.setPassword(r, "secret rotated")
				}
			}
		}
	}
}

func (b *builder) verifier(r *desired.Role) (shown, sql string) {
	shown = "PASSWORD '<redacted>'"
	if b.opts.NoVerifiers || r.Secret == nil || r.Secret.Generate {
		return shown, ""
	}
	v, err := scram.Verifier(r.Secret.Password)
	if err != nil {
		b.errorf("role %q: %v", r.Name, err)
		return shown, ""
	}
	lit, err := ddl.Literal(v)
	if err != nil {
		b.errorf("role %q: %v", r.Name, err)
		return shown, ""
	}
	return shown, "PASSWORD " + lit
}

func (b *builder) createRole(r *desired.Role) {
	stmt := "CREATE ROLE " + q(r.Name) + createAttrs(r)
	a := Action{Op: CreateRole, ObjectType: "role", Object: r.Name, Workspace: r.Workspace, Reason: roleReason(r), stage: stageCreateRole, sql: stmt}
	if r.Login {
		shown, pw := b.verifier(r)
		a.Statement = stmt + " " + shown
		a.sql = stmt + " " + pw
		if pw == "" {
			a.sql = ""
		}
		if r.Secret != nil && !r.Secret.Generate {
			b.p.Record = append(b.p.Record, Fingerprint{Role: r.Name, Value: r.Secret.Fingerprint})
		}
	}
	b.add(a)
	b.created[r.Name] = true
	b.comment("ROLE", "role", r.Name, q(r.Name), r.Comment, false)
}

func (b *builder) setPassword(r *desired.Role, reason string) {
	shown, pw := b.verifier(r)
	a := Action{
		Op: SetPassword, ObjectType: "role", Object: r.Name, Workspace: r.Workspace, Reason: reason, stage: stageAlterRole,
		Statement: "ALTER ROLE " + q(r.Name) + " " + shown,
	}
	if pw != "" {
		a.sql = "ALTER ROLE " + q(r.Name) + " " + pw
	}
	b.add(a)
	if !r.Secret.Generate {
		b.p.Record = append(b.p.Record, Fingerprint{Role: r.Name, Value: r.Secret.Fingerprint})
	}
}

func roleReason(r *desired.Role) string {
	switch r.Kind {
	case desired.KindOwner:
		return "platform owner"
	case desired.KindReader:
		return "reader of the primary platform"
	case desired.KindWorkspace:
		return "workspace " + r.Workspace
	case desired.KindTransformer:
		return "transformer of " + r.Workspace
	}
	return ""
}

func (b *builder) comment(kind, objType, object, ident, text string, asOwner bool) {
	lit, err := ddl.Literal(text)
	if err != nil {
		b.errorf("comment on %s %q: %v", objType, object, err)
		return
	}
	b.add(Action{
		Op: Comment, ObjectType: objType, Object: object, Reason: "marker", stage: stageComment, AsOwner: asOwner,
		sql: "COMMENT ON " + kind + " " + ident + " IS " + lit,
	})
}

// ---------------------------------------------------------------------------------------------
// Schemas

func (b *builder) schemas() {
	d := b.d
	for i := range d.Schemas {
		s := &d.Schemas[i]
		ls, exists := b.l.Schemas[s.Name]
		switch {
		case !exists:
			b.add(Action{
				Op: CreateSchema, ObjectType: "schema", Object: s.Name, Reason: schemaReason(s), stage: stageCreateSchema,
				sql: "CREATE SCHEMA " + q(s.Name) + " AUTHORIZATION " + q(d.Owner),
			})
			b.comment("SCHEMA", "schema", s.Name, q(s.Name), s.Comment, true)
		case !catalog.Managed(ls.Comment, d.Platform):
			b.errorf("schema %q exists and is not managed by platform %s (comment %q); it is left alone", s.Name, d.Platform, ls.Comment)
			b.blocked["schema:"+s.Name] = true
		case ls.Owner != d.Owner:
			b.errorf("schema %q is owned by %q, not by the owner role %q", s.Name, ls.Owner, d.Owner)
			b.blocked["schema:"+s.Name] = true
		default:
			if ls.Comment != s.Comment {
				b.comment("SCHEMA", "schema", s.Name, q(s.Name), s.Comment, true)
			}
			for _, a := range ls.ACL {
				if a.Grantee == catalog.Public && a.Grantor == d.Owner {
					b.add(Action{
						Op: RevokePriv, ObjectType: "schema", Object: s.Name, Grantee: "PUBLIC", Privileges: []string{"ALL"},
						Reason: "nothing is granted to PUBLIC", stage: stageRevokePublic, AsOwner: true,
						sql: "REVOKE ALL ON SCHEMA " + q(s.Name) + " FROM PUBLIC",
					})
					break
				}
			}
		}
	}
}

func schemaReason(s *desired.Schema) string {
	switch s.Kind {
	case desired.SchemaPlatform:
		return "platform schema"
	case desired.SchemaWorkspace:
		return "workspace " + s.Workspace
	case desired.SchemaOutput:
		return "transformer output of " + s.Workspace
	}
	return ""
}

func (b *builder) schemaUsable(name string) bool {
	return !b.blocked["schema:"+name]
}

func (b *builder) secretsTable() {
	t := b.d.SecretsTable
	for _, r := range b.l.Relations {
		if r.QName() != t {
			continue
		}
		if !catalog.Managed(r.Comment, b.d.Platform) {
			b.errorf("table %s exists and is not managed by platform %s", t, b.d.Platform)
		}
		return
	}
	if !b.schemaUsable(t.Schema) {
		return
	}
	b.add(Action{
		Op: CreateTable, ObjectType: "table", Object: t.String(), Reason: "applied role secrets (owner only)", stage: stageCreateTable, AsOwner: true,
		sql: "CREATE TABLE IF NOT EXISTS " + qn(t) + " (role text PRIMARY KEY, fingerprint text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
	})
	b.comment("TABLE", "table", t.String(), qn(t), desired.SecretsComment(b.d.Platform), true)
}

// planDrops decides which managed schemas are dropped (before grants are diffed: objects in a
// dropped schema go with it).
func (b *builder) planDrops() {
	want := b.d.SchemaNames()
	names := make([]string, 0)
	for n, s := range b.l.Schemas {
		if !want[n] && catalog.Managed(s.Comment, b.d.Platform) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		s := b.l.Schemas[n]
		switch {
		case len(b.l.SchemaBlockers[n]) > 0:
			b.warnf("schema %q is no longer desired but holds objects the platform does not manage (%s); it is not dropped", n, strings.Join(b.l.SchemaBlockers[n], ", "))
		case s.Owner != b.d.Owner:
			b.warnf("schema %q is no longer desired but is owned by %q, not by %q; it is not dropped", n, s.Owner, b.d.Owner)
		default:
			b.dropSchemas[n] = true
		}
	}
}

// ---------------------------------------------------------------------------------------------
// Default privileges

var objTypeKeyword = map[string]string{"r": "TABLES", "S": "SEQUENCES", "f": "FUNCTIONS", "T": "TYPES", "n": "SCHEMAS"}

type defKey struct {
	schema  string
	objType string
	grantee string
}

func (b *builder) tablePrivileges() []string {
	p := []string{"DELETE", "INSERT", "REFERENCES", "SELECT", "TRIGGER", "TRUNCATE", "UPDATE"}
	if b.l.ServerVersion >= 170000 {
		p = append(p, "MAINTAIN")
		slices.Sort(p)
	}
	return p
}

func (b *builder) privs(g *desired.Grant) []string {
	if g.All {
		return b.tablePrivileges()
	}
	out := slices.Clone(g.Privileges)
	slices.Sort(out)
	return out
}

func (b *builder) defaults() {
	d := b.d
	want := map[defKey][]string{}
	var order []defKey
	for i := range d.Schemas {
		s := &d.Schemas[i]
		if s.Default == nil || !b.schemaUsable(s.Name) || !b.grantable(s.Default.Grantee) {
			continue
		}
		k := defKey{s.Name, "r", s.Default.Grantee}
		want[k] = b.privs(s.Default)
		order = append(order, k)
	}
	have := map[defKey]map[string]bool{}
	var haveOrder []defKey
	for _, a := range b.l.DefaultACLs {
		k := defKey{a.Schema, a.ObjType, a.Grantee}
		if have[k] == nil {
			have[k] = map[string]bool{}
			haveOrder = append(haveOrder, k)
		}
		have[k][a.Privilege] = true
	}
	for _, k := range order {
		var missing []string
		for _, p := range want[k] {
			if !have[k][p] {
				missing = append(missing, p)
			}
		}
		if len(missing) == 0 {
			continue
		}
		list := privList(missing, len(missing) == len(want[k]) && slices.Equal(want[k], b.tablePrivileges()))
		b.add(Action{
			Op: DefaultPrivileges, ObjectType: "schema", Object: k.schema, Grantee: k.grantee, Privileges: missing,
			Reason: "objects the owner creates in " + k.schema, stage: stageDefault, AsOwner: true,
			sql: "ALTER DEFAULT PRIVILEGES FOR ROLE " + q(d.Owner) + " IN SCHEMA " + q(k.schema) + " GRANT " + list + " ON TABLES TO " + q(k.grantee),
		})
	}
	for _, k := range haveOrder {
		obj := k.schema
		if obj == "" {
			obj = "(all schemas)"
		}
		for p := range have[k] {
			b.addGrant(Grant{Kind: "default_privilege", ObjectType: objTypeKeyword[k.objType], Object: obj, Grantee: granteeName(k.grantee),
				Privileges: []string{p}, Grantor: d.Owner, Desired: slices.Contains(want[k], p)})
		}
		if k.schema != "" && b.dropSchemas[k.schema] {
			continue // removed with the schema
		}
		var extra []string
		for p := range have[k] {
			if !slices.Contains(want[k], p) {
				extra = append(extra, p)
			}
		}
		if len(extra) == 0 {
			continue
		}
		slices.Sort(extra)
		in := ""
		if k.schema != "" {
			in = " IN SCHEMA " + q(k.schema)
		}
		reason, ok := b.revokeReason(k.grantee)
		if !ok {
			b.warnf("default privilege %s ON %s in %s for %s is not granted by the model (pruneUnmanagedGrants is false); kept", strings.Join(extra, ", "), objTypeKeyword[k.objType], obj, granteeName(k.grantee))
			continue
		}
		b.add(Action{
			Op: RevokeDefaultPrivileges, ObjectType: "schema", Object: obj, Grantee: granteeName(k.grantee), Privileges: extra,
			Reason: reason, stage: stageRevokeDefault, AsOwner: true,
			sql: "ALTER DEFAULT PRIVILEGES FOR ROLE " + q(d.Owner) + in + " REVOKE " + strings.Join(extra, ", ") + " ON " + objTypeKeyword[k.objType] + " FROM " + granteeSQL(k.grantee),
		})
	}
}

// grantable reports whether grants to role g can be planned: it exists or is created here.
func (b *builder) grantable(g string) bool {
	return b.exists(g) && !b.blocked[g]
}

// revokeReason decides whether a privilege or default privilege that the model does not want is
// revoked: always for roles of the platform, for other grantees (and PUBLIC) only with
// pruneUnmanagedGrants.
func (b *builder) revokeReason(g string) (string, bool) {
	if g != catalog.Public && b.managedRole(g) {
		if _, ok := b.desiredRoles[g]; ok {
			return "not granted by the model", true
		}
		return "role " + g + " is removed", true
	}
	if b.d.Prune {
		return "not granted by the model (pruneUnmanagedGrants)", true
	}
	return "", false
}

func privList(ps []string, all bool) string {
	if all {
		return "ALL"
	}
	return strings.Join(ps, ", ")
}

// ---------------------------------------------------------------------------------------------
// Object privileges

type object struct {
	typ   string // database, schema, table, view
	name  string // display
	ident string // SQL: DATABASE "x", SCHEMA "x", TABLE "s"."t"
	owner string // role that grants and revokes (the grantor of desired grants)
	// asOwner: run as the owner role (schemas and relations), else as the login (database).
	asOwner bool
}

type entry struct {
	obj  object
	want map[string][]string // grantee → sorted privileges
	have map[string]map[string]catalog.ACL
}

func newEntry(o object) *entry {
	return &entry{obj: o, want: map[string][]string{}, have: map[string]map[string]catalog.ACL{}}
}

func (e *entry) addHave(a catalog.ACL) {
	if e.have[a.Grantee] == nil {
		e.have[a.Grantee] = map[string]catalog.ACL{}
	}
	e.have[a.Grantee][a.Privilege] = a
}

func relType(kind string) string {
	if kind == "v" || kind == "m" {
		return "view"
	}
	return "table"
}

func (b *builder) objectGrants() {
	d := b.d
	var entries []*entry

	// The database: CONNECT for the workspace roles; only grants to roles of the platform are
	// managed state.
	db := newEntry(object{typ: "database", name: b.l.Database, ident: "DATABASE " + q(b.l.Database), owner: b.l.User})
	if b.l.CanGrantConnect {
		for _, r := range d.Connect {
			if b.grantable(r) {
				db.want[r] = []string{"CONNECT"}
			}
		}
	} else if len(d.Connect) > 0 {
		b.warnf("the security login %q cannot grant CONNECT on database %q (it needs CONNECT WITH GRANT OPTION); CONNECT is not managed", b.l.User, b.l.Database)
	}
	if b.l.CanGrantConnect {
		for _, a := range b.l.DatabaseACL {
			if a.Grantee != catalog.Public && b.managedRole(a.Grantee) {
				db.addHave(a)
			}
		}
	}
	entries = append(entries, db)

	// Schemas.
	schemaSpec := map[string]*desired.Schema{}
	for i := range d.Schemas {
		schemaSpec[d.Schemas[i].Name] = &d.Schemas[i]
	}
	var schemaNames []string
	for n := range b.l.Schemas {
		schemaNames = append(schemaNames, n)
	}
	for n := range schemaSpec {
		if _, ok := b.l.Schemas[n]; !ok {
			schemaNames = append(schemaNames, n)
		}
	}
	slices.Sort(schemaNames)
	for _, n := range schemaNames {
		ls, live := b.l.Schemas[n]
		spec := schemaSpec[n]
		if live && !catalog.Managed(ls.Comment, d.Platform) {
			continue
		}
		if b.dropSchemas[n] || !b.schemaUsable(n) {
			continue
		}
		if live && ls.Owner != d.Owner {
			continue // a warning or error already says why
		}
		e := newEntry(object{typ: "schema", name: n, ident: "SCHEMA " + q(n), owner: d.Owner, asOwner: true})
		if spec != nil {
			for _, g := range spec.Grants {
				if b.grantable(g.Grantee) {
					e.want[g.Grantee] = b.privs(&g)
				}
			}
		}
		for _, a := range ls.ACL {
			if a.Grantee == catalog.Public {
				continue // revoked at the PUBLIC step
			}
			e.addHave(a)
		}
		entries = append(entries, e)
	}

	// Tables and views in managed schemas.
	readerTables := map[naming.Name]bool{}
	for _, t := range d.ReaderTables {
		readerTables[t] = true
	}
	for _, r := range b.l.Relations {
		if !catalog.Managed(r.Comment, d.Platform) || b.dropSchemas[r.Schema] || !b.schemaUsable(r.Schema) {
			continue
		}
		ls := b.l.Schemas[r.Schema]
		if !catalog.Managed(ls.Comment, d.Platform) || ls.Owner != d.Owner {
			continue
		}
		if r.Owner != d.Owner {
			b.warnf("%s %s is owned by %q, not by %q; its grants are not managed", relType(r.Kind), r.QName(), r.Owner, d.Owner)
			continue
		}
		e := newEntry(object{typ: relType(r.Kind), name: r.QName().String(), ident: "TABLE " + qn(r.QName()), owner: d.Owner, asOwner: true})
		if spec := schemaSpec[r.Schema]; spec != nil && spec.RelGrant != nil && b.grantable(spec.RelGrant.Grantee) {
			kind := catalog.MarkerField(r.Comment, "kind")
			switch {
			case spec.RelKind == desired.RelView && r.Kind == "v" && kind == desired.RelView:
				e.want[spec.RelGrant.Grantee] = b.privs(spec.RelGrant)
			case spec.RelKind == desired.RelOutput && (r.Kind == "r" || r.Kind == "p") && kind == desired.RelOutput:
				e.want[spec.RelGrant.Grantee] = b.privs(spec.RelGrant)
			}
		}
		if readerTables[r.QName()] && d.Reader != "" && b.grantable(d.Reader) {
			e.want[d.Reader] = []string{"SELECT"}
		}
		for _, a := range r.ACL {
			e.addHave(a)
		}
		entries = append(entries, e)
	}
	for _, e := range entries {
		b.diffEntry(e)
	}
}

func (b *builder) diffEntry(e *entry) {
	var grantees []string
	for g := range e.want {
		grantees = append(grantees, g)
	}
	for g := range e.have {
		if _, ok := e.want[g]; !ok {
			grantees = append(grantees, g)
		}
	}
	slices.Sort(grantees)
	for _, g := range grantees {
		want := e.want[g]
		have := e.have[g]
		var hp []string
		for p := range have {
			hp = append(hp, p)
		}
		slices.Sort(hp)
		for _, p := range hp {
			b.addGrant(Grant{Kind: "privilege", ObjectType: e.obj.typ, Object: e.obj.name, Grantee: granteeName(g),
				Privileges: []string{p}, Grantor: have[p].Grantor, Desired: slices.Contains(want, p)})
		}
		// Only items granted by the object's owner (the login for the database) are ours to
		// revoke; others are reported.
		var missing, extra, grantOpt []string
		ownHave := map[string]catalog.ACL{}
		for p, a := range have {
			if a.Grantor == e.obj.owner {
				ownHave[p] = a
			} else if !slices.Contains(want, p) {
				b.warnf("%s on %s %s is granted to %s by %q, not by %q; it is not revoked", p, e.obj.typ, e.obj.name, granteeName(g), a.Grantor, e.obj.owner)
			}
		}
		for _, p := range want {
			a, ok := ownHave[p]
			if !ok {
				if _, other := have[p]; !other {
					missing = append(missing, p)
				}
				continue
			}
			if a.Grantable {
				grantOpt = append(grantOpt, p)
			}
		}
		cascade := false
		for p, a := range ownHave {
			if !slices.Contains(want, p) {
				extra = append(extra, p)
				cascade = cascade || a.Grantable
			}
		}
		slices.Sort(extra)
		slices.Sort(grantOpt)
		if len(missing) > 0 {
			all := e.obj.typ != "database" && e.obj.typ != "schema" && slices.Equal(missing, b.tablePrivileges())
			b.add(Action{
				Op: GrantPriv, ObjectType: e.obj.typ, Object: e.obj.name, Grantee: g, Privileges: missing,
				Reason: grantReason(b.d, e.obj, g), stage: stageGrant, AsOwner: e.obj.asOwner,
				sql: "GRANT " + privList(missing, all) + " ON " + e.obj.ident + " TO " + granteeSQL(g),
			})
		}
		if len(extra) == 0 && len(grantOpt) == 0 {
			continue
		}
		reason, ok := b.revokeReason(g)
		if !ok {
			b.warnf("%s on %s %s granted to %s is not granted by the model (pruneUnmanagedGrants is false); kept", strings.Join(append(extra, grantOpt...), ", "), e.obj.typ, e.obj.name, granteeName(g))
			continue
		}
		if len(extra) > 0 {
			suffix := ""
			if cascade {
				suffix = " CASCADE"
			}
			b.add(Action{
				Op: RevokePriv, ObjectType: e.obj.typ, Object: e.obj.name, Grantee: granteeName(g), Privileges: extra,
				Reason: reason, stage: stageRevoke, AsOwner: e.obj.asOwner,
				sql: "REVOKE " + strings.Join(extra, ", ") + " ON " + e.obj.ident + " FROM " + granteeSQL(g) + suffix,
			})
		}
		if len(grantOpt) > 0 {
			b.add(Action{
				Op: RevokePriv, ObjectType: e.obj.typ, Object: e.obj.name, Grantee: granteeName(g), Privileges: prefixAll("GRANT OPTION FOR ", grantOpt),
				Reason: "granted without grant option", stage: stageRevoke, AsOwner: e.obj.asOwner,
				sql: "REVOKE GRANT OPTION FOR " + strings.Join(grantOpt, ", ") + " ON " + e.obj.ident + " FROM " + granteeSQL(g) + " CASCADE",
			})
		}
	}
}

func prefixAll(p string, ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = p + s
	}
	return out
}

func grantReason(d *desired.Desired, o object, g string) string {
	r, ok := d.Role(g)
	if !ok {
		return ""
	}
	switch r.Kind {
	case desired.KindWorkspace:
		if o.typ == "view" {
			return "view of " + r.Workspace
		}
		return "workspace " + r.Workspace
	case desired.KindTransformer:
		return "transformer output of " + r.Workspace
	case desired.KindReader:
		return "read by secondary platforms"
	}
	return ""
}

// ---------------------------------------------------------------------------------------------
// Memberships

type memberKey struct{ role, member string }

func (b *builder) memberships() {
	d, l := b.d, b.l
	// PostgreSQL 16 keeps one row per grantor: the options that apply are the union.
	live := map[memberKey]catalog.Member{}
	for _, m := range l.Members {
		k := memberKey{m.Role, m.Member}
		if x, ok := live[k]; ok {
			m.Admin, m.Inherit, m.Set = m.Admin || x.Admin, m.Inherit || x.Inherit, m.Set || x.Set
		}
		live[k] = m
	}
	want := map[memberKey]bool{}

	// The security login's own membership in the owner role: it SET ROLEs to the owner for every
	// object statement (security.md §2).
	boot := memberKey{d.Owner, l.User}
	want[boot] = true
	// On PostgreSQL 16 the creator of a role already holds it WITH ADMIN, INHERIT FALSE, SET
	// FALSE; SET is what the login needs.
	if lm, ok := live[boot]; (!ok || !lm.Set) && !b.blocked[d.Owner] {
		with := ""
		if b.pg16 {
			with = " WITH SET TRUE, INHERIT FALSE"
		}
		b.add(Action{
			Op: GrantMembership, ObjectType: "role", Object: d.Owner, Grantee: l.User, RoleKind: desired.KindOwner,
			Reason: "the security login acts as the owner", stage: stageBootstrap,
			sql: "GRANT " + q(d.Owner) + " TO " + q(l.User) + with,
		})
	}

	for _, m := range d.Memberships {
		k := memberKey{m.Role, m.Member}
		if want[k] {
			continue
		}
		want[k] = true
		if !b.grantable(m.Role) {
			continue
		}
		lr, exists := l.Roles[m.Member]
		if !exists && !b.created[m.Member] {
			switch m.Kind {
			case desired.MemberConsumer:
				b.warnf("consumer %q of %s does not exist; membership skipped", m.Member, m.Workspace)
			case desired.MemberMerge:
				// An operator prerequisite (security.md §2): without it the merge service can
				// neither log in nor, once it exists, work until the next reconcile.
				b.errorf("merge login %q of platform %s does not exist: create it first (an operator prerequisite, security.md §2); it must be made a member of %q, so nothing is applied", m.Member, d.Platform, m.Role)
			case desired.MemberSecondary:
				b.warnf("merge login %q of secondary platform %s does not exist on this cluster; reader membership skipped", m.Member, m.Platform)
			}
			continue
		}
		if m.Kind == desired.MemberConsumer {
			if b.managedRole(m.Member) {
				b.errorf("consumer %q of %s is a role managed by platform %s; it is not granted", m.Member, m.Workspace, d.Platform)
				continue
			}
			if lr.Super || lr.BypassRLS {
				b.warnf("consumer %q of %s is a superuser or has BYPASSRLS: it sees everything anyway", m.Member, m.Workspace)
			}
		}
		rk := b.roleKind(m.Role)
		lm, has := live[k]
		if has {
			if lm.Admin {
				b.add(Action{
					Op: RevokeMembership, ObjectType: "role", Object: m.Role, Grantee: m.Member, Privileges: []string{"ADMIN OPTION"},
					Workspace: m.Workspace, RoleKind: rk, Reason: "memberships are granted without ADMIN", stage: stageRevokeMembership,
					sql: "REVOKE ADMIN OPTION FOR " + q(m.Role) + " FROM " + q(m.Member),
				})
			}
			if b.pg16 {
				inh, set := membershipOptions(m.Kind)
				if lm.Inherit != inh || lm.Set != set {
					b.add(Action{
						Op: GrantMembership, ObjectType: "role", Object: m.Role, Grantee: m.Member, Workspace: m.Workspace, RoleKind: rk,
						Reason: "membership options", stage: stageMembership,
						sql: "GRANT " + q(m.Role) + " TO " + q(m.Member) + membershipWith(m.Kind),
					})
				}
			}
			continue
		}
		with := ""
		if b.pg16 {
			with = membershipWith(m.Kind)
		}
		b.add(Action{
			Op: GrantMembership, ObjectType: "role", Object: m.Role, Grantee: m.Member, Workspace: m.Workspace, RoleKind: rk,
			Reason: m.Reason, stage: stageMembership,
			sql: "GRANT " + q(m.Role) + " TO " + q(m.Member) + with,
		})
	}

	// Memberships in the platform's roles that the model does not want.
	for _, m := range l.Members {
		k := memberKey{m.Role, m.Member}
		if b.managedRole(m.Role) || b.managedRole(m.Member) {
			var opts []string
			if m.Admin {
				opts = append(opts, "ADMIN OPTION")
			}
			b.addGrant(Grant{Kind: "membership", ObjectType: "role", Object: m.Role, Grantee: m.Member, Privileges: opts,
				Grantor: m.Grantor, Desired: want[k] || m.Member == l.User})
		}
		switch {
		case want[k]:
		case m.Member == l.User:
			// The security login's own memberships (PostgreSQL 16 gives the creator ADMIN on the
			// roles it creates).
		case b.managedRole(m.Role):
			if b.blocked[m.Role] {
				continue
			}
			b.add(Action{
				Op: RevokeMembership, ObjectType: "role", Object: m.Role, Grantee: m.Member, Workspace: b.roleWorkspace(m.Role),
				RoleKind: b.roleKind(m.Role), Reason: b.membershipRevokeReason(m), stage: stageRevokeMembership,
				sql: "REVOKE " + q(m.Role) + " FROM " + q(m.Member) + b.grantedBy(m),
			})
		case b.managedRole(m.Member):
			b.warnf("role %q of platform %s is a member of %q, which the platform does not manage; not revoked", m.Member, d.Platform, m.Role)
		}
	}
}

// grantedBy names the grantor of a membership row on PostgreSQL 16, where each grantor's
// grant is revoked separately.
func (b *builder) grantedBy(m catalog.Member) string {
	if !b.pg16 || m.Grantor == "" || m.Grantor == b.l.User {
		return ""
	}
	return " GRANTED BY " + q(m.Grantor)
}

func membershipOptions(kind string) (inherit, set bool) {
	switch kind {
	case desired.MemberMerge:
		return true, true
	}
	return true, false
}

func membershipWith(kind string) string {
	inh, set := membershipOptions(kind)
	return fmt.Sprintf(" WITH INHERIT %s, SET %s, ADMIN FALSE", strings.ToUpper(fmt.Sprint(inh)), strings.ToUpper(fmt.Sprint(set)))
}

func (b *builder) roleKind(role string) string {
	if r, ok := b.desiredRoles[role]; ok {
		return r.Kind
	}
	return catalog.MarkerField(b.l.Roles[role].Comment, "kind")
}

func (b *builder) roleWorkspace(role string) string {
	if r, ok := b.desiredRoles[role]; ok {
		return r.Workspace
	}
	return catalog.MarkerField(b.l.Roles[role].Comment, "workspace")
}

func (b *builder) membershipRevokeReason(m catalog.Member) string {
	if _, ok := b.desiredRoles[m.Role]; !ok {
		return "role " + m.Role + " is removed"
	}
	switch b.roleKind(m.Role) {
	case desired.KindWorkspace:
		return "no longer a consumer"
	case desired.KindOwner:
		return "not the platform's merge login"
	case desired.KindReader:
		return "not the merge login of a secondary platform"
	}
	return "not granted by the model"
}

// ---------------------------------------------------------------------------------------------
// Drops

func (b *builder) drops() {
	d := b.d
	var schemas []string
	for n := range b.dropSchemas {
		schemas = append(schemas, n)
	}
	slices.Sort(schemas)
	for _, n := range schemas {
		b.add(Action{
			Op: DropSchema, ObjectType: "schema", Object: n, Workspace: catalog.MarkerField(b.l.Schemas[n].Comment, "workspace"),
			Reason: "no longer desired", stage: stageDropSchema, AsOwner: true,
			sql: "DROP SCHEMA " + q(n) + " CASCADE",
		})
	}
	var roles []string
	for n, r := range b.l.Roles {
		if _, want := b.desiredRoles[n]; !want && catalog.Managed(r.Comment, d.Platform) {
			roles = append(roles, n)
		}
	}
	slices.Sort(roles)
	for _, n := range roles {
		if kind := catalog.MarkerField(b.l.Roles[n].Comment, "kind"); kind == desired.KindOwner {
			b.errorf("role %q is marked as the owner of platform %s but is not its owner role %q; it is not dropped", n, d.Platform, d.Owner)
			continue
		}
		if bl := b.l.RoleBlockers[n]; len(bl) > 0 {
			b.errorf("role %q is no longer desired but cannot be dropped: it %s", n, strings.Join(bl, "; "))
			continue
		}
		b.add(Action{
			Op: DropRole, ObjectType: "role", Object: n, Workspace: catalog.MarkerField(b.l.Roles[n].Comment, "workspace"),
			RoleKind: catalog.MarkerField(b.l.Roles[n].Comment, "kind"), Reason: "no longer desired", stage: stageDropRole,
			sql: "DROP ROLE " + q(n),
		})
		if b.l.Secrets[n] != "" {
			b.p.Forget = append(b.p.Forget, n)
		}
	}
}

// digest hashes the action list.
func (p *Plan) digest() {
	h := sha256.New()
	for _, a := range p.Actions {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s\x00%s\n", a.Op, a.ObjectType, a.Object, a.Grantee, strings.Join(a.Privileges, ","), a.Statement)
	}
	p.Digest = hex.EncodeToString(h.Sum(nil))
}
