// Package proposals is modelsvc's Postgres state: the proposals table (one row per proposed
// change, its outbox flag and, once decided, its verdict) and the embedded migrations of the
// service's schema.
package proposals

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/datasurface/datasurface/kit/pg"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// States of a proposal, as stored.
const (
	StatePending  = "pending"
	StateAccepted = "accepted"
	StateRejected = "rejected"
)

// Proposal is one row.
type Proposal struct {
	ID         string
	Source     string
	Digest     string
	Commit     string
	ProposedAt time.Time
	Published  bool
	State      string
	// Verdict fields, set once decided.
	DecidedAt   time.Time
	BaseVersion int64
	Version     int64
	Report      []byte // a serialized datasurface.model.v1.Report
}

// ErrNotFound is returned by Get for an unknown id.
var ErrNotFound = errors.New("proposal not found")

// Store reads and writes proposals in one schema.
type Store struct {
	pool  *pgxpool.Pool
	table string // quoted schema.proposals
	// schema is kept for migrations.
	schema string
}

// New returns a store over pool for schema.
func New(pool *pgxpool.Pool, schema string) *Store {
	return &Store{pool: pool, schema: schema, table: pgx.Identifier{schema, "proposals"}.Sanitize()}
}

// Migrate applies the embedded migrations.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := pg.LoadMigrations(migrations, "migrations")
	if err != nil {
		return err
	}
	return pg.Migrate(ctx, s.pool, s.schema, ms)
}

// Insert stores a new pending, unpublished proposal.
func (s *Store) Insert(ctx context.Context, p Proposal) error {
	_, err := s.pool.Exec(ctx, "INSERT INTO "+s.table+
		" (id, source, digest, git_commit, proposed_at, published, state) VALUES ($1, $2, $3, $4, $5, false, 'pending')",
		p.ID, p.Source, p.Digest, p.Commit, p.ProposedAt)
	if err != nil {
		return fmt.Errorf("insert proposal %s: %w", p.ID, err)
	}
	return nil
}

// MarkPublished records that the proposal's event was acknowledged by the stream.
func (s *Store) MarkPublished(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, "UPDATE "+s.table+" SET published = true, published_at = now() WHERE id = $1 AND NOT published", id)
	if err != nil {
		return fmt.Errorf("mark proposal %s published: %w", id, err)
	}
	return nil
}

// Unpublished returns up to limit proposals whose event was never acknowledged, oldest first.
func (s *Store) Unpublished(ctx context.Context, limit int) ([]Proposal, error) {
	rows, err := s.pool.Query(ctx, "SELECT id, source, digest, git_commit, proposed_at FROM "+s.table+
		" WHERE NOT published ORDER BY proposed_at, id LIMIT $1", limit)
	if err != nil {
		return nil, fmt.Errorf("list unpublished proposals: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Proposal, error) {
		var p Proposal
		err := r.Scan(&p.ID, &p.Source, &p.Digest, &p.Commit, &p.ProposedAt)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("list unpublished proposals: %w", err)
	}
	return out, nil
}

// Verdict is a decision on a proposal.
type Verdict struct {
	Accepted    bool
	BaseVersion int64
	Version     int64
	Report      *modelv1.Report
	DecidedAt   time.Time
}

// ApplyVerdict stores the decision on proposal id. It is level-based: applying the same verdict
// twice leaves the same row. A verdict also proves the proposal was published. It reports false
// when no such proposal exists.
func (s *Store) ApplyVerdict(ctx context.Context, id string, v Verdict) (bool, error) {
	report, err := proto.Marshal(v.Report)
	if err != nil {
		return false, fmt.Errorf("marshal report of %s: %w", id, err)
	}
	state := StateRejected
	if v.Accepted {
		state = StateAccepted
	}
	tag, err := s.pool.Exec(ctx, "UPDATE "+s.table+" SET state = $2, base_version = $3, version = $4, report = $5, decided_at = $6,"+
		" published = true, published_at = coalesce(published_at, now()) WHERE id = $1",
		id, state, v.BaseVersion, v.Version, report, v.DecidedAt)
	if err != nil {
		return false, fmt.Errorf("store verdict of %s: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// Get returns proposal id, ErrNotFound when there is none.
func (s *Store) Get(ctx context.Context, id string) (Proposal, error) {
	var (
		p         Proposal
		decidedAt *time.Time
	)
	err := s.pool.QueryRow(ctx, "SELECT id, source, digest, git_commit, proposed_at, published, state, decided_at, base_version, version, report FROM "+
		s.table+" WHERE id = $1", id).
		Scan(&p.ID, &p.Source, &p.Digest, &p.Commit, &p.ProposedAt, &p.Published, &p.State, &decidedAt, &p.BaseVersion, &p.Version, &p.Report)
	if errors.Is(err, pgx.ErrNoRows) {
		return Proposal{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return Proposal{}, fmt.Errorf("read proposal %s: %w", id, err)
	}
	if decidedAt != nil {
		p.DecidedAt = *decidedAt
	}
	return p, nil
}

// ToProto renders a row as the API's Proposal.
func (p Proposal) ToProto() (*modelv1.Proposal, error) {
	out := &modelv1.Proposal{
		Id:          p.ID,
		Source:      p.Source,
		Digest:      p.Digest,
		Commit:      p.Commit,
		ProposedAt:  timestamppb.New(p.ProposedAt),
		BaseVersion: p.BaseVersion,
		Version:     p.Version,
	}
	switch p.State {
	case StateAccepted:
		out.State = modelv1.ProposalState_PROPOSAL_STATE_ACCEPTED
	case StateRejected:
		out.State = modelv1.ProposalState_PROPOSAL_STATE_REJECTED
	default:
		out.State = modelv1.ProposalState_PROPOSAL_STATE_PENDING
	}
	if len(p.Report) > 0 {
		out.Report = &modelv1.Report{}
		if err := proto.Unmarshal(p.Report, out.Report); err != nil {
			return nil, fmt.Errorf("decode report of proposal %s: %w", p.ID, err)
		}
	}
	return out, nil
}
