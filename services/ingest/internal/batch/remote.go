package batch

import (
	"context"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/services/ingest/internal/books"
	"github.com/datasurface/datasurface/services/ingest/internal/failure"
	"github.com/datasurface/datasurface/services/ingest/internal/pgsession"
	"github.com/datasurface/datasurface/services/ingest/internal/plan"
	"github.com/datasurface/datasurface/services/ingest/internal/remoteingest"
	"github.com/jackc/pgx/v5"
)

// ingestRemote is a secondary's ingest (yellow.md §8): the primary's merge database is read
// with the secondary's merge login (never as the secondary's owner role: the login is the
// member of the primary's reader role) at the primary batch recorded in state.remote.
func ingestRemote(ctx context.Context, d Deps, s *plan.Stream, b int32, merge *pgx.Conn, cur books.Batch) (Outcome, error) {
	if cur.State.Remote == nil {
		return Outcome{}, failure.Newf(failure.BatchState, "", nil,
			"batch %d of secondary stream %s records no primary batch (state.remote): it must be opened by the merge service's StartBatch (yellow.md §8)", b, s.Key)
	}
	primary, release, err := session(ctx, d, s.Store, s.Primary.Merge, pgsession.Merge, "")
	if err != nil {
		return Outcome{}, err
	}
	defer release()
	out := Outcome{Capture: s.Capture}
	err = commit(ctx, merge, s, b, func(tx pgx.Tx, state *mergesql.State) (int64, error) {
		if state.Remote == nil {
			return 0, failure.Newf(failure.BatchState, "", nil, "batch %d of stream %s lost its state.remote during the ingest", b, s.Key)
		}
		loaded, err := remoteingest.Load(ctx, primary, tx, s, b, *state.Remote)
		if err != nil {
			return 0, err
		}
		out.Rows, out.Total, out.Bytes = loaded.Rows, loaded.Total, loaded.Bytes
		state.DataTime = loaded.DataTime
		if t, err := time.Parse(time.RFC3339Nano, loaded.DataTime); err == nil {
			out.DataTime = t.UTC()
		}
		setStaged(state, loaded.Rows)
		return loaded.Total, nil
	})
	if err != nil {
		return Outcome{}, err
	}
	return out, nil
}
