// Package catalog reads the live access state of one Yellow platform from a merge database's
// catalog (security.md §4.2 step 2), with bind-parameter queries only: the session (login,
// database, server version, standard_conforming_strings, whether the login may grant CONNECT),
// the database ACL, the roles the platform manages (marker comment) and every role a desired
// state names, memberships in and of those roles, the managed schemas and the tables and views in
// them with their ACLs, the owner role's default privileges, the applied role secrets, and — for
// roles and schemas that are candidates for dropping — what would block the drop.
package catalog

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/jackc/pgx/v5"
)

// Public is the grantee name of PUBLIC in ACL items (no role can be named "").
const Public = ""

// ACL is one exploded ACL item.
type ACL struct {
	Grantee   string // Public for PUBLIC
	Grantor   string
	Privilege string
	Grantable bool
}

// Role is a role as pg_roles describes it.
type Role struct {
	OID         uint32
	Name        string
	Login       bool
	ConnLimit   int32
	Inherit     bool
	Super       bool
	CreateDB    bool
	CreateRole  bool
	Replication bool
	BypassRLS   bool
	Comment     string
}

// Member is one row of pg_auth_members. Inherit and Set are true before PostgreSQL 16.
type Member struct {
	Role    string
	Member  string
	Grantor string
	Admin   bool
	Inherit bool
	Set     bool
}

// Schema is a schema with its owner, comment and ACL (without the owner's own items).
type Schema struct {
	OID     uint32
	Name    string
	Owner   string
	Comment string
	ACL     []ACL
}

// Relation is a table, view, materialized view, foreign table or sequence in a managed schema.
type Relation struct {
	OID     uint32
	Schema  string
	Name    string
	Kind    string // pg_class.relkind
	Owner   string
	Comment string
	ACL     []ACL // without the owner's own items
}

// QName is the relation's schema-qualified name.
func (r Relation) QName() naming.Name { return naming.Name{Schema: r.Schema, Name: r.Name} }

// DefaultACL is one default privilege of the owner role.
type DefaultACL struct {
	Schema    string // "" for a global default
	ObjType   string // pg_default_acl.defaclobjtype: r, S, f, T, n
	Grantee   string // Public for PUBLIC
	Privilege string
	Grantable bool
}

// Live is the access state of one platform.
type Live struct {
	User            string
	Database        string
	DatabaseOID     uint32
	ServerVersion   int
	StandardStrings bool
	CanGrantConnect bool
	DatabaseACL     []ACL

	Roles       map[string]Role
	Members     []Member
	Schemas     map[string]Schema
	Relations   []Relation
	DefaultACLs []DefaultACL
	// Secrets are the fingerprints of the applied role secrets, by role.
	Secrets map[string]string
	// RoleBlockers lists, per managed role that is not desired, what would make DROP ROLE fail
	// and is not removed by the plan (objects it owns, privileges on unmanaged objects or in
	// other databases).
	RoleBlockers map[string][]string
	// SchemaBlockers lists, per managed schema that is not desired, the unmanaged objects in
	// it and the unmanaged views elsewhere that depend on it (DROP SCHEMA … CASCADE would take
	// them).
	SchemaBlockers map[string][]string
}

// Query says what to read for platform Platform.
type Query struct {
	Platform string
	Owner    string
	// Roles are the names of every desired role and of every role a desired membership names
	// (consumers, logins).
	Roles []string
	// WantRoles and WantSchemas are the desired role and schema names: managed roles and
	// schemas outside them are drop candidates.
	WantRoles   map[string]bool
	WantSchemas map[string]bool
	// SecretsTable is phys(D).phys(D_role_secrets).
	SecretsTable naming.Name
}

// Read reads the live state in tx.
func Read(ctx context.Context, tx pgx.Tx, q Query) (*Live, error) {
	l := &Live{
		Roles: map[string]Role{}, Schemas: map[string]Schema{}, Secrets: map[string]string{},
		RoleBlockers: map[string][]string{}, SchemaBlockers: map[string][]string{},
	}
	if err := l.readSession(ctx, tx); err != nil {
		return nil, err
	}
	if err := l.readRoles(ctx, tx, q); err != nil {
		return nil, err
	}
	if err := l.readMembers(ctx, tx, q); err != nil {
		return nil, err
	}
	if err := l.readSchemas(ctx, tx, q); err != nil {
		return nil, err
	}
	if err := l.readRelations(ctx, tx, q); err != nil {
		return nil, err
	}
	if err := l.readDefaults(ctx, tx, q); err != nil {
		return nil, err
	}
	if err := l.readSecrets(ctx, tx, q); err != nil {
		return nil, err
	}
	if err := l.readRoleBlockers(ctx, tx, q); err != nil {
		return nil, err
	}
	if err := l.readSchemaBlockers(ctx, tx, q); err != nil {
		return nil, err
	}
	return l, nil
}

// Managed reports whether comment marks an object of platform d.
func Managed(comment, d string) bool { return ddl.IsManaged(comment, d) }

// MarkerField returns the value of key=… in a marker comment ("" when absent).
func MarkerField(comment, key string) string {
	for _, f := range strings.Fields(comment) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}

// ManagedRole reports whether live role name is managed by platform d.
func (l *Live) ManagedRole(name, d string) bool {
	r, ok := l.Roles[name]
	return ok && Managed(r.Comment, d)
}

const grantee = `CASE WHEN a.grantee = 0 THEN '' ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END`

const sessionSQL = `SELECT current_user::text, current_database()::text, d.oid,
  pg_catalog.current_setting('server_version_num')::int,
  pg_catalog.current_setting('standard_conforming_strings') = 'on',
  pg_catalog.has_database_privilege(d.oid, 'CONNECT WITH GRANT OPTION')
FROM pg_catalog.pg_database d WHERE d.datname = current_database()`

const databaseACLSQL = `SELECT ` + grantee + `, pg_catalog.pg_get_userbyid(a.grantor)::text, a.privilege_type, a.is_grantable
FROM pg_catalog.pg_database d, pg_catalog.aclexplode(coalesce(d.datacl, pg_catalog.acldefault('d', d.datdba))) a
WHERE d.oid = $1 AND a.grantee <> d.datdba`

func (l *Live) readSession(ctx context.Context, tx pgx.Tx) error {
	if err := tx.QueryRow(ctx, sessionSQL).Scan(&l.User, &l.Database, &l.DatabaseOID, &l.ServerVersion, &l.StandardStrings, &l.CanGrantConnect); err != nil {
		return fmt.Errorf("read session: %w", err)
	}
	acl, err := collectACL(ctx, tx, databaseACLSQL, l.DatabaseOID)
	if err != nil {
		return fmt.Errorf("read database ACL: %w", err)
	}
	l.DatabaseACL = acl
	return nil
}

func collectACL(ctx context.Context, tx pgx.Tx, sql string, args ...any) ([]ACL, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ACL, error) {
		var a ACL
		err := r.Scan(&a.Grantee, &a.Grantor, &a.Privilege, &a.Grantable)
		return a, err
	})
}

const rolesSQL = `SELECT r.oid, r.rolname::text, r.rolcanlogin, r.rolconnlimit, r.rolinherit, r.rolsuper,
  r.rolcreatedb, r.rolcreaterole, r.rolreplication, r.rolbypassrls, coalesce(sd.description, '')
FROM pg_catalog.pg_roles r
LEFT JOIN pg_catalog.pg_shdescription sd ON sd.objoid = r.oid AND sd.classoid = 'pg_catalog.pg_authid'::pg_catalog.regclass
WHERE r.rolname = ANY($1::text[])
   OR (sd.description LIKE 'datasurface:managed %' AND strpos(sd.description, $2) > 0)`

func (l *Live) readRoles(ctx context.Context, tx pgx.Tx, q Query) error {
	rows, err := tx.Query(ctx, rolesSQL, q.Roles, "platform="+q.Platform)
	if err != nil {
		return fmt.Errorf("read roles: %w", err)
	}
	roles, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Role, error) {
		var x Role
		err := r.Scan(&x.OID, &x.Name, &x.Login, &x.ConnLimit, &x.Inherit, &x.Super, &x.CreateDB,
			&x.CreateRole, &x.Replication, &x.BypassRLS, &x.Comment)
		return x, err
	})
	if err != nil {
		return fmt.Errorf("read roles: %w", err)
	}
	for _, r := range roles {
		l.Roles[r.Name] = r
	}
	return nil
}

const membersSQL15 = `SELECT r.rolname::text, m.rolname::text, coalesce(g.rolname::text, ''), am.admin_option, true, true
FROM pg_catalog.pg_auth_members am
JOIN pg_catalog.pg_roles r ON r.oid = am.roleid
JOIN pg_catalog.pg_roles m ON m.oid = am.member
LEFT JOIN pg_catalog.pg_roles g ON g.oid = am.grantor
WHERE am.roleid = ANY($1::oid[]) OR am.member = ANY($1::oid[])
ORDER BY 1, 2, 3`

const membersSQL16 = `SELECT r.rolname::text, m.rolname::text, coalesce(g.rolname::text, ''), am.admin_option, am.inherit_option, am.set_option
FROM pg_catalog.pg_auth_members am
JOIN pg_catalog.pg_roles r ON r.oid = am.roleid
JOIN pg_catalog.pg_roles m ON m.oid = am.member
LEFT JOIN pg_catalog.pg_roles g ON g.oid = am.grantor
WHERE am.roleid = ANY($1::oid[]) OR am.member = ANY($1::oid[])
ORDER BY 1, 2, 3`

func (l *Live) readMembers(ctx context.Context, tx pgx.Tx, q Query) error {
	// Memberships in and of the managed and desired roles (not of consumers and logins).
	var oids []uint32
	for _, r := range l.Roles {
		if Managed(r.Comment, q.Platform) || q.WantRoles[r.Name] {
			oids = append(oids, r.OID)
		}
	}
	if len(oids) == 0 {
		return nil
	}
	sql := membersSQL15
	if l.ServerVersion >= 160000 {
		sql = membersSQL16
	}
	rows, err := tx.Query(ctx, sql, oids)
	if err != nil {
		return fmt.Errorf("read memberships: %w", err)
	}
	l.Members, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Member, error) {
		var m Member
		err := r.Scan(&m.Role, &m.Member, &m.Grantor, &m.Admin, &m.Inherit, &m.Set)
		return m, err
	})
	if err != nil {
		return fmt.Errorf("read memberships: %w", err)
	}
	return nil
}

var schemasSQL = `SELECT n.oid, n.nspname::text, pg_catalog.pg_get_userbyid(n.nspowner)::text, coalesce(d.description, ''), ` + aclSelect + `
FROM pg_catalog.pg_namespace n
LEFT JOIN pg_catalog.pg_description d ON d.objoid = n.oid AND d.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.objsubid = 0
` + aclColumns("n.nspacl", "n.nspowner") + `
WHERE n.nspname = ANY($1::text[])
   OR (d.description LIKE 'datasurface:managed %' AND strpos(d.description, $2) > 0)`

func (l *Live) readSchemas(ctx context.Context, tx pgx.Tx, q Query) error {
	want := make([]string, 0, len(q.WantSchemas))
	for s := range q.WantSchemas {
		want = append(want, s)
	}
	slices.Sort(want)
	rows, err := tx.Query(ctx, schemasSQL, want, "platform="+q.Platform)
	if err != nil {
		return fmt.Errorf("read schemas: %w", err)
	}
	schemas, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Schema, error) {
		var (
			s                         Schema
			grantees, grantors, privs []string
			grantable                 []bool
		)
		err := r.Scan(&s.OID, &s.Name, &s.Owner, &s.Comment, &grantees, &grantors, &privs, &grantable)
		s.ACL = zipACL(grantees, grantors, privs, grantable)
		return s, err
	})
	if err != nil {
		return fmt.Errorf("read schemas: %w", err)
	}
	for _, s := range schemas {
		l.Schemas[s.Name] = s
	}
	return nil
}

// managedSchemaOIDs returns the OIDs of the schemas platform d manages.
func (l *Live) managedSchemaOIDs(d string) []uint32 {
	var oids []uint32
	for _, s := range l.Schemas {
		if Managed(s.Comment, d) {
			oids = append(oids, s.OID)
		}
	}
	slices.Sort(oids)
	return oids
}

// aclColumns explodes the ACL of alias.col (without the owner's own items) into parallel arrays,
// so an object and its ACL come from one statement, hence one snapshot: a view dropped and
// created concurrently is seen either before or after, never half.
func aclColumns(col, owner string) string {
	return `LEFT JOIN LATERAL (SELECT array_agg(CASE WHEN x.grantee = 0 THEN '' ELSE pg_catalog.pg_get_userbyid(x.grantee)::text END) AS grantees,
    array_agg(pg_catalog.pg_get_userbyid(x.grantor)::text) AS grantors, array_agg(x.privilege_type::text) AS privs,
    array_agg(x.is_grantable) AS grantable
  FROM pg_catalog.aclexplode(` + col + `) x WHERE x.grantee <> ` + owner + `) a ON true`
}

const aclSelect = `coalesce(a.grantees, '{}'), coalesce(a.grantors, '{}'), coalesce(a.privs, '{}'), coalesce(a.grantable, '{}')`

var relationsSQL = `SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::text,
  pg_catalog.pg_get_userbyid(c.relowner)::text, coalesce(d.description, ''), ` + aclSelect + `
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0
` + aclColumns("c.relacl", "c.relowner") + `
WHERE c.relnamespace = ANY($1::oid[]) AND c.relkind IN ('r', 'v', 'm', 'p', 'f', 'S')
ORDER BY 2, 3`

func zipACL(grantees, grantors, privs []string, grantable []bool) []ACL {
	if len(grantees) == 0 {
		return nil
	}
	out := make([]ACL, len(grantees))
	for i := range grantees {
		out[i] = ACL{Grantee: grantees[i], Grantor: grantors[i], Privilege: privs[i], Grantable: grantable[i]}
	}
	return out
}

func (l *Live) readRelations(ctx context.Context, tx pgx.Tx, q Query) error {
	oids := l.managedSchemaOIDs(q.Platform)
	if len(oids) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, relationsSQL, oids)
	if err != nil {
		return fmt.Errorf("read relations: %w", err)
	}
	l.Relations, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Relation, error) {
		var (
			x                         Relation
			grantees, grantors, privs []string
			grantable                 []bool
		)
		err := r.Scan(&x.OID, &x.Schema, &x.Name, &x.Kind, &x.Owner, &x.Comment, &grantees, &grantors, &privs, &grantable)
		x.ACL = zipACL(grantees, grantors, privs, grantable)
		return x, err
	})
	if err != nil {
		return fmt.Errorf("read relations: %w", err)
	}
	return nil
}

const defaultsSQL = `SELECT coalesce(n.nspname::text, ''), d.defaclobjtype::text, ` + grantee + `, a.privilege_type, a.is_grantable
FROM pg_catalog.pg_default_acl d
LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace,
  pg_catalog.aclexplode(d.defaclacl) a
WHERE d.defaclrole = $1 AND a.grantee <> d.defaclrole
ORDER BY 1, 2, 3, 4`

func (l *Live) readDefaults(ctx context.Context, tx pgx.Tx, q Query) error {
	owner, ok := l.Roles[q.Owner]
	if !ok {
		return nil
	}
	rows, err := tx.Query(ctx, defaultsSQL, owner.OID)
	if err != nil {
		return fmt.Errorf("read default privileges: %w", err)
	}
	l.DefaultACLs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (DefaultACL, error) {
		var x DefaultACL
		err := r.Scan(&x.Schema, &x.ObjType, &x.Grantee, &x.Privilege, &x.Grantable)
		return x, err
	})
	if err != nil {
		return fmt.Errorf("read default privileges: %w", err)
	}
	return nil
}

// readSecrets reads the role secrets table as the owner role (it is owner-only), when the table
// exists, is managed and the login may act as the owner.
func (l *Live) readSecrets(ctx context.Context, tx pgx.Tx, q Query) error {
	found := false
	for _, r := range l.Relations {
		if r.QName() == q.SecretsTable && r.Kind == "r" && Managed(r.Comment, q.Platform) {
			found = true
			break
		}
	}
	if !found {
		return nil
	}
	var member bool
	if err := tx.QueryRow(ctx, `SELECT pg_catalog.pg_has_role(current_user, $1::text, 'MEMBER')`, q.Owner).Scan(&member); err != nil {
		return fmt.Errorf("read role secrets: %w", err)
	}
	if !member {
		return nil
	}
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+pgx.Identifier{q.Owner}.Sanitize()); err != nil {
		return fmt.Errorf("read role secrets: %w", err)
	}
	rows, err := tx.Query(ctx, "SELECT role, fingerprint FROM "+pgx.Identifier{q.SecretsTable.Schema, q.SecretsTable.Name}.Sanitize())
	if err != nil {
		return fmt.Errorf("read role secrets: %w", err)
	}
	var role, fp string
	if _, err := pgx.ForEachRow(rows, []any{&role, &fp}, func() error {
		l.Secrets[role] = fp
		return nil
	}); err != nil {
		return fmt.Errorf("read role secrets: %w", err)
	}
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE NONE"); err != nil {
		return fmt.Errorf("read role secrets: %w", err)
	}
	return nil
}

const shdependSQL = `SELECT r.rolname::text, d.dbid, d.classid::pg_catalog.regclass::text, d.objid, d.deptype::text,
  CASE WHEN d.dbid = 0 OR d.dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
    THEN coalesce(pg_catalog.pg_describe_object(d.classid, d.objid, 0), '') ELSE '' END
FROM pg_catalog.pg_shdepend d JOIN pg_catalog.pg_roles r ON r.oid = d.refobjid
WHERE d.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass AND d.refobjid = ANY($1::oid[])
ORDER BY 1, 2, 3, 4`

const defaultACLOIDsSQL = `SELECT d.oid FROM pg_catalog.pg_default_acl d WHERE d.defaclrole = $1`

// readRoleBlockers records, for every managed role of the platform that is not desired (a drop
// candidate), the dependencies that the plan does not remove: objects it owns anywhere,
// privileges in other databases, and privileges on objects here that the platform does not
// manage.
func (l *Live) readRoleBlockers(ctx context.Context, tx pgx.Tx, q Query) error {
	var oids []uint32
	for _, r := range l.Roles {
		if Managed(r.Comment, q.Platform) && !q.WantRoles[r.Name] {
			oids = append(oids, r.OID)
		}
	}
	if len(oids) == 0 {
		return nil
	}
	managedRel := map[uint32]bool{}
	for _, r := range l.Relations {
		if Managed(r.Comment, q.Platform) {
			managedRel[r.OID] = true
		}
	}
	managedNsp := map[uint32]bool{}
	for _, oid := range l.managedSchemaOIDs(q.Platform) {
		managedNsp[oid] = true
	}
	managedDefACL := map[uint32]bool{}
	if owner, ok := l.Roles[q.Owner]; ok {
		rows, err := tx.Query(ctx, defaultACLOIDsSQL, owner.OID)
		if err != nil {
			return fmt.Errorf("read default privileges: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uint32])
		if err != nil {
			return fmt.Errorf("read default privileges: %w", err)
		}
		for _, id := range ids {
			managedDefACL[id] = true
		}
	}
	rows, err := tx.Query(ctx, shdependSQL, oids)
	if err != nil {
		return fmt.Errorf("read role dependencies: %w", err)
	}
	var (
		role, class, deptype, desc string
		dbid, objid                uint32
	)
	_, err = pgx.ForEachRow(rows, []any{&role, &dbid, &class, &objid, &deptype, &desc}, func() error {
		var what string
		switch {
		case deptype == "o" && desc != "":
			what = "owns " + desc
		case deptype == "o":
			what = fmt.Sprintf("owns %s %d in database %d", class, objid, dbid)
		case dbid != 0 && dbid != l.DatabaseOID:
			what = fmt.Sprintf("has privileges or policies in another database (%s %d in database %d)", class, objid, dbid)
		case deptype != "a":
			what = fmt.Sprintf("is referenced by %s %d (dependency %s)", class, objid, deptype)
		case class == "pg_database" && objid == l.DatabaseOID:
		case class == "pg_class" && managedRel[objid]:
		case class == "pg_namespace" && managedNsp[objid]:
		case class == "pg_default_acl" && managedDefACL[objid]:
		case desc != "":
			what = "has privileges on an object the platform does not manage (" + desc + ")"
		default:
			what = fmt.Sprintf("has privileges on an object the platform does not manage (%s %d)", class, objid)
		}
		if what != "" {
			l.RoleBlockers[role] = append(l.RoleBlockers[role], what)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read role dependencies: %w", err)
	}
	return nil
}

const schemaObjectsSQL = `SELECT n.nspname::text, 'function ' || p.proname::text
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE p.pronamespace = ANY($1::oid[])
UNION ALL
SELECT n.nspname::text, 'type ' || t.typname::text
FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE t.typnamespace = ANY($1::oid[]) AND t.typrelid = 0 AND t.typcategory <> 'A'
UNION ALL
SELECT DISTINCT sn.nspname::text, 'dependent view ' || vn.nspname::text || '.' || v.relname::text
FROM pg_catalog.pg_depend d
JOIN pg_catalog.pg_rewrite rw ON rw.oid = d.objid
JOIN pg_catalog.pg_class v ON v.oid = rw.ev_class
JOIN pg_catalog.pg_namespace vn ON vn.oid = v.relnamespace
JOIN pg_catalog.pg_class t ON t.oid = d.refobjid
JOIN pg_catalog.pg_namespace sn ON sn.oid = t.relnamespace
WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
  AND t.relnamespace = ANY($1::oid[]) AND v.relnamespace <> t.relnamespace
ORDER BY 1, 2`

// readSchemaBlockers records, for every managed schema that is not desired, the unmanaged
// objects that DROP SCHEMA … CASCADE would take with it.
func (l *Live) readSchemaBlockers(ctx context.Context, tx pgx.Tx, q Query) error {
	var oids []uint32
	cand := map[string]bool{}
	for _, s := range l.Schemas {
		if Managed(s.Comment, q.Platform) && !q.WantSchemas[s.Name] {
			oids = append(oids, s.OID)
			cand[s.Name] = true
		}
	}
	if len(oids) == 0 {
		return nil
	}
	for _, r := range l.Relations {
		if cand[r.Schema] && !Managed(r.Comment, q.Platform) {
			l.SchemaBlockers[r.Schema] = append(l.SchemaBlockers[r.Schema], relKindName(r.Kind)+" "+r.Name)
		}
	}
	rows, err := tx.Query(ctx, schemaObjectsSQL, oids)
	if err != nil {
		return fmt.Errorf("read schema contents: %w", err)
	}
	var s, what string
	_, err = pgx.ForEachRow(rows, []any{&s, &what}, func() error {
		// A dependent managed view of this platform elsewhere is dropped by the merge service;
		// any other dependent blocks.
		if v, ok := strings.CutPrefix(what, "dependent view "); ok {
			for _, r := range l.Relations {
				if r.Schema+"."+r.Name == v && Managed(r.Comment, q.Platform) {
					return nil
				}
			}
		}
		l.SchemaBlockers[s] = append(l.SchemaBlockers[s], what)
		return nil
	})
	if err != nil {
		return fmt.Errorf("read schema contents: %w", err)
	}
	return nil
}

func relKindName(k string) string {
	switch k {
	case "r", "p":
		return "table"
	case "v":
		return "view"
	case "m":
		return "materialized view"
	case "f":
		return "foreign table"
	case "S":
		return "sequence"
	}
	return "relation"
}
