package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/datasurface/datasurface/platforms/yellow/naming"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// controlDB is the database of the control plane (modelsvc) in the dev cluster.
const controlDB = "datasurface"

// devLogin is a login dev creates for a credential of the model: the services find it in the
// PSP's env credential store (<NAME>_USER, <NAME>_PASSWORD).
type devLogin struct {
	credential string // "" for consumers
	user       string
	kind       string // merge, security, source, transformer, kafka, consumer
	db         string // the database it connects to (merge and source logins)
}

// devLogins lists the logins the model needs: the merge and security logins of every Yellow
// platform, the source logins of the SQL captures, the Kafka logins, the transformer logins
// (created by the security service itself; dev only provides their secrets), and one login per
// workspace consumer named in the model (spec/security.md: consumers are existing roles).
func devLogins(m *devModel) []devLogin {
	var out []devLogin
	seen := map[string]bool{}
	add := func(l devLogin) {
		k := l.credential + "/" + l.user
		if !seen[k] {
			seen[k] = true
			out = append(out, l)
		}
	}
	login := func(cred string) string { return "dev_" + strings.ToLower(cred) }
	for _, p := range m.yellowPlatforms() {
		y := p.GetYellow()
		db := y.GetMergeDatabase().GetPostgres().GetDatabase()
		if c := y.GetMergeCredential().GetName(); c != "" {
			add(devLogin{credential: c, user: login(c), kind: "merge", db: db})
		}
		if c := y.GetSecurityCredential().GetName(); c != "" {
			add(devLogin{credential: c, user: login(c), kind: "security", db: db})
		}
		for _, w := range m.model.GetWorkspaces() {
			if w.GetTransformer() != nil {
				add(devLogin{credential: naming.TransformerCredential(p.GetName(), w.GetName()),
					user: naming.TransformerRole(p.GetName(), w.GetName()), kind: "transformer"})
			}
		}
	}
	for _, ds := range m.model.GetDatastores() {
		c := ds.GetCapture()
		switch {
		case c.GetSqlSnapshot() != nil:
			if hd := m.container(ds, c.GetSqlSnapshot().GetContainer()).GetPostgres(); hd != nil {
				add(devLogin{credential: c.GetSqlSnapshot().GetCredential().GetName(), user: login(c.GetSqlSnapshot().GetCredential().GetName()), kind: "source", db: hd.GetDatabase()})
			}
		case c.GetSqlWatermark() != nil:
			if hd := m.container(ds, c.GetSqlWatermark().GetContainer()).GetPostgres(); hd != nil {
				add(devLogin{credential: c.GetSqlWatermark().GetCredential().GetName(), user: login(c.GetSqlWatermark().GetCredential().GetName()), kind: "source", db: hd.GetDatabase()})
			}
		case c.GetKafkaCdc() != nil:
			add(devLogin{credential: c.GetKafkaCdc().GetCredential().GetName(), user: login(c.GetKafkaCdc().GetCredential().GetName()), kind: "kafka"})
		}
	}
	for _, w := range m.model.GetWorkspaces() {
		for _, c := range w.GetAccess().GetConsumers() {
			add(devLogin{user: c, kind: "consumer"})
		}
	}
	return out
}

// setupPostgres creates (when missing) the control-plane database, the merge and source
// databases and the logins, and returns the env credential store's variables. The merge and
// security logins are ordinary roles with exactly what the services need (test/e2e): CONNECT and
// CREATE on the merge database, and CREATEROLE for security.
func setupPostgres(ctx context.Context, dsn func(db string) string, m *devModel, st *devState) (map[string]string, error) {
	conn, err := pgx.Connect(ctx, dsn("postgres"))
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	dbs := []string{controlDB}
	logins := devLogins(m)
	for _, l := range logins {
		if l.db != "" && !slices.Contains(dbs, l.db) {
			dbs = append(dbs, l.db)
		}
	}
	for _, db := range dbs {
		if err := createDatabase(ctx, conn, db); err != nil {
			return nil, err
		}
	}
	env := map[string]string{}
	for _, l := range logins {
		pw := st.secret(st.Passwords, l.user)
		if l.credential != "" {
			env[l.credential+"_USER"] = l.user
			env[l.credential+"_PASSWORD"] = pw
		}
		var opts string
		switch l.kind {
		case "merge", "source", "consumer":
			opts = "LOGIN"
		case "security":
			opts = "LOGIN CREATEROLE"
		default:
			continue // transformer logins are the security service's; Kafka is not Postgres
		}
		if err := createLogin(ctx, conn, l.user, opts, pw); err != nil {
			return nil, err
		}
		if l.kind == "merge" || l.kind == "security" {
			q := "GRANT CREATE, CONNECT ON DATABASE " + pgx.Identifier{l.db}.Sanitize() + " TO " + pgx.Identifier{l.user}.Sanitize()
			if _, err := conn.Exec(ctx, q); err != nil {
				return nil, fmt.Errorf("%s: %w", q, err)
			}
		}
		if l.kind == "source" {
			q := "GRANT CONNECT ON DATABASE " + pgx.Identifier{l.db}.Sanitize() + " TO " + pgx.Identifier{l.user}.Sanitize()
			if _, err := conn.Exec(ctx, q); err != nil {
				return nil, fmt.Errorf("%s: %w", q, err)
			}
		}
	}
	return env, nil
}

func createDatabase(ctx context.Context, conn *pgx.Conn, db string) error {
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", db).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", db, err)
	}
	return nil
}

// createLogin creates role user with opts, or sets its options and password when it exists.
func createLogin(ctx context.Context, conn *pgx.Conn, user, opts, password string) error {
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)", user).Scan(&exists); err != nil {
		return err
	}
	verb := "CREATE"
	if exists {
		verb = "ALTER"
	}
	q := verb + " ROLE " + pgx.Identifier{user}.Sanitize() + " " + opts + " PASSWORD '" + strings.ReplaceAll(password, "'", "''") + "'"
	if _, err := conn.Exec(ctx, q); err != nil {
		return fmt.Errorf("%s role %s: %w", strings.ToLower(verb), user, err)
	}
	return nil
}

// consumerLogins returns every consumer the model's workspaces name, with its workspace, in
// model order.
func consumerLogins(m *devModel) []struct{ workspace, user string } {
	var out []struct{ workspace, user string }
	for _, w := range m.model.GetWorkspaces() {
		for _, c := range w.GetAccess().GetConsumers() {
			out = append(out, struct{ workspace, user string }{w.GetName(), c})
		}
	}
	return out
}

// sourceDatabase returns the database of a SQL capture's container.
func sourceDatabase(m *devModel, ds *modelv1.Datastore) (string, bool) {
	c := ds.GetCapture()
	var dc *modelv1.DataContainer
	switch {
	case c.GetSqlSnapshot() != nil:
		dc = c.GetSqlSnapshot().GetContainer()
	case c.GetSqlWatermark() != nil:
		dc = c.GetSqlWatermark().GetContainer()
	default:
		return "", false
	}
	hd := m.container(ds, dc).GetPostgres()
	if hd == nil {
		return "", false
	}
	return hd.GetDatabase(), true
}
