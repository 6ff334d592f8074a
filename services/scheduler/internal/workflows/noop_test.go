package workflows_test

import (
	"testing"

	"github.com/datasurface/datasurface/platforms/yellow/batchapi"
	"github.com/datasurface/datasurface/services/scheduler/internal/testplatform"
	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/mock"
)

// TestBatchWorkflowNoop: a secondary platform's stream whose primary has nothing new
// (yellow.md §8) gets a no-op from StartBatch; the run ends cleanly with status noop — no
// ingest, merge, FailBatch, views or transformers.
func TestBatchWorkflowNoop(t *testing.T) {
	p := testplatform.New()
	env, sf := newEnv(t, p)
	env.OnActivity(batchapi.StartBatch, mock.Anything, mock.Anything).Return(
		batchapi.StartBatchResult{Noop: true, Status: batchapi.StatusNoop, RemoteBatch: 4}, nil)
	res, err := runBatch(t, env)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != batchapi.StatusNoop || res.Batch != 0 {
		t.Errorf("result %+v, want status noop and no batch", res)
	}
	if diff := cmp.Diff([]string{"ReconcileTables"}, p.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if len(sf.paused)+len(sf.notified) != 0 || len(p.Batches("YellowLive", "Store1")) != 0 {
		t.Errorf("paused %v, notified %v, batches %v", sf.paused, sf.notified, p.Batches("YellowLive", "Store1"))
	}
}
