package events

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// InboxTableSQL creates the inbox table in the current schema; services include it in their
// migrations.
const InboxTableSQL = `CREATE TABLE IF NOT EXISTS inbox (
	consumer text NOT NULL,
	event_id text NOT NULL,
	handled_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (consumer, event_id)
);`

// Claim records that consumer handles eventID inside tx and reports whether this is the first
// time. Call it in the same transaction as the effect: a redelivered event then finds its row and
// the effect is skipped.
func Claim(ctx context.Context, tx pgx.Tx, schema, consumer, eventID string) (bool, error) {
	tag, err := tx.Exec(ctx, "INSERT INTO "+pgx.Identifier{schema, "inbox"}.Sanitize()+
		" (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", consumer, eventID)
	if err != nil {
		return false, fmt.Errorf("claim event %s for %s: %w", eventID, consumer, err)
	}
	return tag.RowsAffected() == 1, nil
}
