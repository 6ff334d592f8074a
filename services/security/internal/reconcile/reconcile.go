// Package reconcile runs the security plan of one platform against its merge database
// (security.md §4.2): Plan reads the catalog in a read-only transaction and diffs it; Apply takes
// the platform's transaction-level advisory lock, reads and diffs under it, executes the actions
// in order in the same transaction (as the security login or SET ROLEd to the owner role), records
// the applied secret fingerprints, re-reads and re-diffs — the result must be empty, else the
// transaction is rolled back — and commits.
package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/datasurface/datasurface/kit/pg"
	"github.com/datasurface/datasurface/services/security/internal/catalog"
	"github.com/datasurface/datasurface/services/security/internal/desired"
	"github.com/datasurface/datasurface/services/security/internal/plan"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DB is what reconciles need: a pool or a connection.
type DB interface {
	pg.Beginner
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// LockKey is the advisory lock of platform d: the first 8 bytes of SHA-256("security:" + d).
func LockKey(d string) int64 {
	sum := sha256.Sum256([]byte("security:" + d))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// Query builds the catalog query of a desired state.
func Query(d *desired.Desired) catalog.Query {
	q := catalog.Query{
		Platform: d.Platform, Owner: d.Owner, WantRoles: d.RoleNames(), WantSchemas: d.SchemaNames(),
		SecretsTable: d.SecretsTable,
	}
	seen := map[string]bool{}
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			q.Roles = append(q.Roles, n)
		}
	}
	for _, r := range d.Roles {
		add(r.Name)
	}
	for _, m := range d.Memberships {
		add(m.Role)
		add(m.Member)
	}
	return q
}

// Plan computes the plan in a read-only transaction.
func Plan(ctx context.Context, db DB, d *desired.Desired) (*plan.Plan, error) {
	if !d.Managed {
		return plan.Build(d, nil, plan.Options{}), nil
	}
	tx, err := db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	l, err := catalog.Read(ctx, tx, Query(d))
	if err != nil {
		return nil, err
	}
	return plan.Build(d, l, plan.Options{NoVerifiers: true}), nil
}

// Live reads the catalog in a read-only transaction.
func Live(ctx context.Context, db DB, d *desired.Desired) (*catalog.Live, error) {
	tx, err := db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	return catalog.Read(ctx, tx, Query(d))
}

// PlanError is returned by Apply when the plan has errors: nothing is applied.
type PlanError struct {
	Plan *plan.Plan
}

func (e *PlanError) Error() string {
	return fmt.Sprintf("plan of platform %s has %d error(s): %s", e.Plan.Platform, len(e.Plan.Errors), strings.Join(e.Plan.Errors, "; "))
}

// DigestError is returned when the plan under the lock differs from the expected digest.
type DigestError struct {
	Want, Got string
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("the plan changed since it was reviewed (digest %s, expected %s)", e.Got, e.Want)
}

// ExecError is a failed statement.
type ExecError struct {
	Action plan.Action
	Err    error
}

func (e *ExecError) Error() string {
	if strings.Contains(e.Action.SQL(), "PASSWORD") {
		// Never echo anything the server may have quoted from a statement with a verifier.
		var pe *pgconn.PgError
		code := "unknown"
		if errors.As(e.Err, &pe) {
			code = pe.Code
		}
		return fmt.Sprintf("%s %s %s: the statement failed (SQLSTATE %s; details withheld)", e.Action.Op, e.Action.ObjectType, e.Action.Object, code)
	}
	return fmt.Sprintf("%s %s %s: %v", e.Action.Op, e.Action.ObjectType, e.Action.Object, e.Err)
}

func (e *ExecError) Unwrap() error { return e.Err }

// ConvergeError is returned when the re-diff after executing the plan is not empty.
type ConvergeError struct {
	Remaining []plan.Action
}

func (e *ConvergeError) Error() string {
	var s []string
	for i, a := range e.Remaining {
		if i == 5 {
			s = append(s, fmt.Sprintf("… %d more", len(e.Remaining)-5))
			break
		}
		s = append(s, a.Statement)
	}
	return fmt.Sprintf("apply did not converge, rolled back; %d action(s) remain: %s", len(e.Remaining), strings.Join(s, "; "))
}

// Options tune Apply.
type Options struct {
	// Prepare executes only the non-destructive actions.
	Prepare bool
	// ExpectedDigest, when set, must equal the digest of the plan computed under the lock.
	ExpectedDigest string
	// BatchSize bounds the statements pipelined in one round trip (default 500).
	BatchSize int
}

// Apply plans and applies d in one transaction and returns the applied plan.
func Apply(ctx context.Context, db DB, d *desired.Desired, o Options) (*plan.Plan, error) {
	if !d.Managed {
		return plan.Build(d, nil, plan.Options{}), nil
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	var applied *plan.Plan
	err := pg.InTx(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_catalog.pg_advisory_xact_lock($1::bigint)", LockKey(d.Platform)); err != nil {
			return fmt.Errorf("lock platform %s: %w", d.Platform, err)
		}
		q := Query(d)
		l, err := catalog.Read(ctx, tx, q)
		if err != nil {
			return err
		}
		p := plan.Build(d, l, plan.Options{})
		applied = p
		if len(p.Errors) > 0 {
			return &PlanError{Plan: p}
		}
		if o.ExpectedDigest != "" && o.ExpectedDigest != p.Digest {
			return &DigestError{Want: o.ExpectedDigest, Got: p.Digest}
		}
		acts := p.Select(o.Prepare)
		if err := execute(ctx, tx, p.Owner, acts, o.BatchSize); err != nil {
			return err
		}
		if err := record(ctx, tx, p, acts); err != nil {
			return err
		}
		if len(acts) == 0 {
			return nil
		}
		l2, err := catalog.Read(ctx, tx, q)
		if err != nil {
			return fmt.Errorf("re-read after apply: %w", err)
		}
		p2 := plan.Build(d, l2, plan.Options{NoVerifiers: true})
		if rest := p2.Select(o.Prepare); len(rest) > 0 {
			return &ConvergeError{Remaining: rest}
		}
		return nil
	})
	if err != nil {
		return applied, err
	}
	if o.Prepare {
		cp := *applied
		cp.Actions = applied.Select(true)
		return &cp, nil
	}
	return applied, nil
}

type stmt struct {
	sql    string
	action int // index into the actions, -1 for role switches
}

// execute pipelines the statements of acts, switching to the owner role for the actions that
// need it, and reports the first failing action.
func execute(ctx context.Context, tx pgx.Tx, owner string, acts []plan.Action, batchSize int) error {
	var stmts []stmt
	asOwner := false
	for i, a := range acts {
		if a.SQL() == "" {
			return &ExecError{Action: a, Err: errors.New("the action has no executable statement (a secret was not available)")}
		}
		if a.AsOwner != asOwner {
			if a.AsOwner {
				stmts = append(stmts, stmt{"SET LOCAL ROLE " + pgx.Identifier{owner}.Sanitize(), -1})
			} else {
				stmts = append(stmts, stmt{"SET LOCAL ROLE NONE", -1})
			}
			asOwner = a.AsOwner
		}
		stmts = append(stmts, stmt{a.SQL(), i})
	}
	if asOwner {
		stmts = append(stmts, stmt{"SET LOCAL ROLE NONE", -1})
	}
	pc := tx.Conn().PgConn()
	for start := 0; start < len(stmts); start += batchSize {
		end := min(start+batchSize, len(stmts))
		b := &pgconn.Batch{}
		for _, s := range stmts[start:end] {
			// Extended protocol (Parse/Bind/Execute of the unnamed statement): the server parses
			// exactly one statement per query.
			b.ExecParams(s.sql, nil, nil, nil, nil)
		}
		results, err := pc.ExecBatch(ctx, b).ReadAll()
		if err == nil {
			continue
		}
		i := len(results)
		for j, r := range results {
			if r.Err != nil {
				i = j
				break
			}
		}
		if i >= end-start {
			return fmt.Errorf("execute statements: %w", err)
		}
		if s := stmts[start+i]; s.action >= 0 {
			return &ExecError{Action: acts[s.action], Err: err}
		}
		return fmt.Errorf("switch role: %w", err)
	}
	return nil
}

// record upserts the fingerprints of the secrets applied by acts and deletes those of dropped
// roles, as the owner role (the table is owner-only).
func record(ctx context.Context, tx pgx.Tx, p *plan.Plan, acts []plan.Action) error {
	touched := map[string]bool{}
	for _, a := range acts {
		if a.Op == plan.CreateRole || a.Op == plan.SetPassword || a.Op == plan.DropRole {
			touched[a.Object] = true
		}
	}
	var ups []plan.Fingerprint
	for _, f := range p.Record {
		if touched[f.Role] {
			ups = append(ups, f)
		}
	}
	var dels []string
	for _, r := range p.Forget {
		if touched[r] {
			dels = append(dels, r)
		}
	}
	if len(ups) == 0 && len(dels) == 0 {
		return nil
	}
	t := pgx.Identifier{p.SecretsTable.Schema, p.SecretsTable.Name}.Sanitize()
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+pgx.Identifier{p.Owner}.Sanitize()); err != nil {
		return fmt.Errorf("record applied secrets: %w", err)
	}
	for _, f := range ups {
		if _, err := tx.Exec(ctx, "INSERT INTO "+t+" (role, fingerprint, applied_at) VALUES ($1, $2, now()) "+
			"ON CONFLICT (role) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, applied_at = EXCLUDED.applied_at", f.Role, f.Value); err != nil {
			return fmt.Errorf("record applied secret of %s: %w", f.Role, err)
		}
	}
	if len(dels) > 0 {
		if _, err := tx.Exec(ctx, "DELETE FROM "+t+" WHERE role = ANY($1::text[])", dels); err != nil {
			return fmt.Errorf("forget applied secrets: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE NONE"); err != nil {
		return fmt.Errorf("record applied secrets: %w", err)
	}
	return nil
}
