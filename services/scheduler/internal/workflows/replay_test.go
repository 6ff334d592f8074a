package workflows_test

import (
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/datasurface/datasurface/services/scheduler/internal/workflows"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
)

// TestReplay replays histories recorded on a real Temporal server (regenerate them with
// `go test ./services/scheduler -run TestPermanentErrorFailsBatchThenBackfill -args
// -record-history`): batch_history_1 is a batch whose ingest failed permanently (FailBatch),
// batch_history_2 the same batch resumed by a backfill and committed. A change to the
// workflows that is not guarded by workflow.GetVersion fails here.
func TestReplay(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*_history_*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded histories in testdata/")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			workflows.Register(r, workflows.New(workflows.Options{}))
			if err := r.ReplayWorkflowHistoryFromJSONFile(tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)), f); err != nil {
				t.Fatal(err)
			}
		})
	}
}
