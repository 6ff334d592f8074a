package workflows

import (
	"context"

	"github.com/datasurface/datasurface/services/scheduler/internal/ids"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// Starter starts the input-triggered TransformerWorkflow of a workspace, or signals it when it
// is running (SignalWithStart on the business-key id, so at most one is in flight).
type Starter struct {
	Client    client.Client
	TaskQueue string
}

// SignalTransformer asks transformer workspace w on platform d for a run.
func (s Starter) SignalTransformer(ctx context.Context, d, w, reason string) error {
	id := ids.TransformerWorkflow(d, w)
	_, err := s.Client.SignalWithStartWorkflow(ctx, id, SignalRun, reason, client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             s.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}, Transformer, TransformerInput{Platform: d, Workspace: w})
	return err
}
