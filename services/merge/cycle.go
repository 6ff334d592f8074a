package merge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/services/merge/internal/transform"
)

// Ingest is step 3 of a batch (yellow.md §6.3), done by the ingest service: clear staging(B)
// of the stream, load it from the source and mark the batch ingested, in one transaction. An
// error wrapped in an *Error with Permanent set is recorded as permanent.
type Ingest func(ctx context.Context, batch int32) error

// CycleInput names the stream of one synchronous batch.
type CycleInput struct {
	Platform string
	Stream   string
	Version
	// Progress, when set, receives one line per step.
	Progress func(line string)
}

// CycleResult is what each step of the cycle did.
type CycleResult struct {
	Tables ReconcileTablesResult
	Start  StartBatchResult
	// Transformer is set for a transformer output stream.
	Transformer *RunTransformerResult
	Merge       MergeBatchResult
	Views       ReconcileViewsResult
	// Status is the batch's final status: "committed", "failed", "waiting" (a transformer
	// whose inputs have no committed batch yet; no batch was started) or "noop" (a secondary
	// whose primary has nothing new; no batch was started).
	Status   string
	Duration time.Duration
}

// RunCycle runs one whole batch of a stream synchronously, the steps BatchWorkflow runs as
// activities (yellow.md §6.3): ReconcileTables → StartBatch → ingest (skipped when the batch is
// already ingested) → MergeBatch → ReconcileViews. For a transformer output stream the ingest
// is RunTransformer (views first, since the transformer reads them). When a step fails after
// the batch is known, the batch is recorded failed with the step, the message and whether the
// error is permanent (a reconcile failure fails the stream's batch too: it is opened for that),
// and the step's error is returned; a later run resumes the batch. An interrupted merge (ctx
// ended) or a busy stream records nothing: the batch stays as it was.
func (a *Activities) RunCycle(ctx context.Context, in CycleInput, ingest Ingest) (CycleResult, error) {
	c := &cycle{a: a, in: in, began: time.Now()}
	err := c.run(ctx, ingest)
	c.res.Duration = time.Since(c.began)
	return c.res, err
}

// cycle is the state of one RunCycle.
type cycle struct {
	a     *Activities
	in    CycleInput
	res   CycleResult
	began time.Time
}

func (c *cycle) say(format string, args ...any) {
	if c.in.Progress != nil {
		c.in.Progress(fmt.Sprintf(format, args...))
	}
}

// failed records batch b failed in phase with cause and returns cause.
func (c *cycle) failed(ctx context.Context, phase string, b int32, cause error) error {
	c.res.Status = "failed"
	fr, err := c.a.FailBatch(ctx, FailBatchInput{
		Platform: c.in.Platform, Stream: c.in.Stream, Version: c.in.Version, Batch: b,
		Phase: phase, Message: cause.Error(), Permanent: IsPermanent(cause),
	})
	if err != nil {
		return errors.Join(cause, err)
	}
	c.res.Status = fr.Status
	c.say("batch %d %s in phase %s: %v", b, fr.Status, phase, cause)
	return cause
}

func (c *cycle) run(ctx context.Context, ingest Ingest) error {
	a, in := c.a, c.in
	_, s, _, err := a.stream(ctx, in.Version, in.Platform, in.Stream)
	if err != nil {
		return a.fail("RunCycle", err)
	}
	start := StartBatchInput{Platform: in.Platform, Stream: in.Stream, Version: in.Version}
	c.res.Tables, err = a.ReconcileTables(ctx, ReconcileTablesInput{Platform: in.Platform, Version: in.Version, Streams: []string{s.Key}})
	if err != nil {
		if errors.Is(err, ErrStreamBusy) {
			return err
		}
		// Record the failure on the stream's batch when one can be opened.
		st, serr := a.StartBatch(ctx, start)
		if serr != nil || st.Noop {
			return err
		}
		c.res.Start = st
		return c.failed(ctx, "reconcile", st.Batch, err)
	}
	c.say("reconcile tables: %d changed", len(c.res.Tables.Changes))
	for _, ch := range c.res.Tables.Changes {
		c.say("  %s", describeChange(ch))
	}

	if s.Capture == layout.TransformerOutput {
		return c.transformer(ctx)
	}
	if c.res.Start, err = a.StartBatch(ctx, start); err != nil {
		return err
	}
	if c.res.Start.Noop {
		// A secondary whose primary has nothing new: no batch, nothing to merge.
		c.res.Status = "noop"
		c.say("no batch: nothing new on the primary (its latest committed batch is %d)", c.res.Start.RemoteBatch)
		return nil
	}
	b := c.res.Start.Batch
	c.say("batch %d: %s (attempt %d%s)", b, c.res.Start.Status, c.res.Start.Attempt, startNote(c.res.Start))
	if c.res.Start.Status == "started" {
		if ingest == nil {
			return c.failed(ctx, "ingest", b, &Error{Activity: "RunCycle", Permanent: true, Err: errors.New("no ingest configured")})
		}
		t0 := time.Now()
		if err := ingest(ctx, b); err != nil {
			return c.failed(ctx, "ingest", b, err)
		}
		c.say("ingest: batch %d ingested in %s", b, time.Since(t0).Round(time.Millisecond))
	}
	return c.finish(ctx, b)
}

// transformer runs the transformer writing the stream instead of an ingest.
func (c *cycle) transformer(ctx context.Context) error {
	a, in := c.a, c.in
	var err error
	if c.res.Views, err = a.ReconcileViews(ctx, ReconcileViewsInput{Platform: in.Platform, Version: in.Version}); err != nil {
		return err
	}
	p, err := a.platform(ctx, in.Version, in.Platform)
	if err != nil {
		return a.fail("RunCycle", err)
	}
	var workspace string
	for _, t := range p.Transformers() {
		if t.Output.Key == in.Stream {
			workspace = t.Workspace
		}
	}
	if workspace == "" {
		return &Error{Activity: "RunCycle", Permanent: true, Err: fmt.Errorf("no transformer on platform %s writes stream %s", in.Platform, in.Stream)}
	}
	tr, err := a.RunTransformer(ctx, RunTransformerInput{Platform: in.Platform, Workspace: workspace, Version: in.Version})
	c.res.Transformer = &tr
	if err != nil {
		return err
	}
	if tr.Status == transform.Waiting {
		c.res.Status = transform.Waiting
		c.say("transformer %s: waiting for a committed batch of %v", workspace, tr.Waiting)
		return nil
	}
	c.say("transformer %s: run %d wrote %v; batch %d staged (%d rows)", workspace, tr.RunID, tr.Rows, tr.Batch, tr.Staged)
	c.res.Start = StartBatchResult{Batch: tr.Batch, Status: "ingested"}
	return c.finish(ctx, tr.Batch)
}

// finish merges and commits batch b and reconciles the views.
func (c *cycle) finish(ctx context.Context, b int32) error {
	a, in := c.a, c.in
	var err error
	c.res.Merge, err = a.MergeBatch(ctx, MergeBatchInput{Platform: in.Platform, Stream: in.Stream, Version: in.Version, Batch: b})
	if err != nil {
		if errors.Is(err, ErrStreamBusy) || errors.Is(err, context.Canceled) {
			return err
		}
		return c.failed(ctx, "merge", b, err)
	}
	m := c.res.Merge
	c.say("merge: batch %d committed (%s): inserted %d, updated %d, deleted %d, total %d", b, m.Mode, m.Inserted, m.Updated, m.Deleted, m.Total)
	c.res.Status = "committed"
	c.res.Views, err = a.ReconcileViews(ctx, ReconcileViewsInput{Platform: in.Platform, Version: in.Version})
	if err != nil {
		// The batch is committed; only the views are behind. The next run reconciles them.
		return err
	}
	c.say("views: %d schemas changed", len(c.res.Views.Schemas))
	for _, s := range c.res.Views.Schemas {
		c.say("  %s: created %d, replaced %d, recreated %d, dropped %d, pending %d", s.Schema,
			len(s.Created), len(s.Replaced), len(s.Recreated), len(s.Dropped), len(s.Pending))
	}
	return nil
}

func startNote(s StartBatchResult) string {
	switch {
	case s.Reset:
		return ", reset: schema changed"
	case s.New:
		return ", new"
	case s.Resumed:
		return ", resumed"
	}
	return ""
}

func describeChange(c TableChange) string {
	if c.Created {
		return "created " + c.Table
	}
	out := "altered " + c.Table
	if len(c.Added) > 0 {
		out += fmt.Sprintf("; added %v", c.Added)
	}
	if len(c.Widened) > 0 {
		out += fmt.Sprintf("; widened %v", c.Widened)
	}
	if len(c.NullableAgain) > 0 {
		out += fmt.Sprintf("; nullable again %v", c.NullableAgain)
	}
	if len(c.Indexes) > 0 {
		out += fmt.Sprintf("; indexes %v", c.Indexes)
	}
	if c.Rehashed {
		out += "; re-hashed"
	}
	if len(c.RecreatedViews) > 0 {
		out += fmt.Sprintf("; views recreated %v", c.RecreatedViews)
	}
	return out
}
