package modelsvc

import (
	"context"
	"fmt"

	"github.com/datasurface/datasurface/services/modelsvc/internal/proposals"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Migrate applies modelsvc's embedded control-plane migrations to the default schema
// (DefaultSchema) and returns. Run does the same at start-up; Migrate is for a deployment's
// migration step (`datasurface migrate`, the Kubernetes migration Job) so schema changes run
// once, before the new version's replicas start. It is safe to run concurrently and repeatedly.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	if err := proposals.New(pool, DefaultSchema).Migrate(ctx); err != nil {
		return fmt.Errorf("modelsvc: %w", err)
	}
	return nil
}
