// Package batchapi is the contract between the scheduler's workflows and the activities other
// services run for a Yellow batch (yellow.md §6.3, §10; DESIGN.md §2 "A batch"): the task
// queues, the activity names, and one input and one result struct per activity. Services never
// import each other, so both sides import this package: the scheduler invokes activities by
// name on their owner's task queue, and the owner registers methods of the same names.
//
// The structs are plain data, JSON-encoded by Temporal's default data converter, with the field
// names of the owners' own structs, so an owner is wire-compatible without importing this
// package. Add fields, never rename or retype them: workflows in flight replay recorded
// payloads.
//
// Errors: an activity reports an error retrying cannot fix as a Temporal application error of
// type ErrPermanent (temporal.NewNonRetryableApplicationError(msg, batchapi.ErrPermanent, err));
// the scheduler records the batch failed with that message and permanent=true. Any other error
// is retried with back-off (ErrStreamBusy included) and, once retries are exhausted, recorded
// as a non-permanent failure that the next run resumes.
//
// Wire names: the merge structs carry no JSON tags (their names are the Go field names, as in
// services/merge); the ingest structs carry services/ingest's camelCase tags. encoding/json
// matches names case-insensitively on decoding, so either side may add tags later.
package batchapi

import "time"

// Task queues: one per owning service (DESIGN.md §1).
const (
	TaskQueueScheduler = "scheduler"
	TaskQueueIngest    = "ingest"
	TaskQueueMerge     = "merge"
	TaskQueueSecurity  = "security"
)

// Activity names (the method names their owners register).
const (
	// merge
	ReconcileTables = "ReconcileTables"
	StartBatch      = "StartBatch"
	MergeBatch      = "MergeBatch"
	FailBatch       = "FailBatch"
	ReconcileViews  = "ReconcileViews"
	RunTransformer  = "RunTransformer"
	// ingest
	IngestBatch = "IngestBatch"
	// security
	ApplyGrants = "ApplyGrants"
)

// Application error types.
const (
	// ErrPermanent marks an error retrying the same input cannot fix (yellow.md §6.3:
	// source column missing or not castable, NULL or duplicate key in a snapshot, CDC gap or
	// truncate, reconcile conflict, unknown stream, batch in the wrong status, …).
	ErrPermanent = "Permanent"
	// ErrStreamBusy is the retryable error of a step that cannot take the stream's lock.
	ErrStreamBusy = "StreamBusy"
)

// Batch statuses (batch_metrics.batch_status) and transformer run statuses.
const (
	StatusStarted   = "started"
	StatusIngested  = "ingested"
	StatusCommitted = "committed"
	StatusFailed    = "failed"
	// StatusNoop is the outcome of a secondary's run with nothing new on its primary
	// (StartBatchResult.Noop); it is never a batch_metrics status.
	StatusNoop = "noop"

	RunSucceeded = "succeeded"
	RunWaiting   = "waiting"
	RunFailed    = "failed"
)

// Phases a batch can fail in (FailBatchInput.Phase).
const (
	PhaseReconcile = "reconcile"
	PhaseStart     = "start"
	PhaseIngest    = "ingest"
	PhaseMerge     = "merge"
	PhaseTransform = "transform"
)

// ReconcileTablesInput names the platform, the model version and the streams whose tables are
// reconciled (none = every stream of the platform).
type ReconcileTablesInput struct {
	Platform     string
	ModelVersion int64
	Streams      []string
}

// TableChange is what reconciling one table changed.
type TableChange struct {
	Table          string // schema.name
	Created        bool
	Added          []string
	Widened        []string // "column: from → to"
	NullableAgain  []string
	Indexes        []string
	Rehashed       bool
	RecreatedViews []string
}

// ReconcileTablesResult lists the tables that changed.
type ReconcileTablesResult struct {
	Changes []TableChange
}

// StartBatchInput names the stream whose batch is opened (yellow.md §6.3 step 2).
type StartBatchInput struct {
	Platform     string
	Stream       string
	ModelVersion int64
}

// StartBatchResult is the batch to work on next.
type StartBatchResult struct {
	Batch int32
	// Status is StatusStarted (ingest next) or StatusIngested (merge next).
	Status  string
	Attempt int
	New     bool
	Resumed bool
	// Reset: the resumed batch's schema fingerprints differed from the model's; its staging
	// was cleared.
	Reset  bool
	Pruned map[string]int64
	// Noop: a secondary platform's stream (yellow.md §8) whose primary has no committed batch
	// newer than the one it copied last; no batch was created (Batch 0, Status StatusNoop) and
	// the run ends here, neither committed nor failed.
	Noop bool
	// RemoteBatch is the primary's committed batch R a secondary's batch copies (0 otherwise).
	RemoteBatch int32
}

// IngestBatchInput names the started batch to ingest (yellow.md §6.3 step 3). Unlike the merge
// structs it carries JSON names, services/ingest's own.
type IngestBatchInput struct {
	Platform string `json:"platform"`
	Stream   string `json:"stream"`
	BatchID  int32  `json:"batchId"`
	// ModelVersion and ModelDigest name the committed model the batch runs under.
	ModelVersion int64  `json:"modelVersion"`
	ModelDigest  string `json:"modelDigest"`
}

// IngestBatchResult is what the ingest staged.
type IngestBatchResult struct {
	Platform string `json:"platform"`
	Stream   string `json:"stream"`
	BatchID  int32  `json:"batchId"`
	// Status is the batch's status after the call: "ingested", or "committed" when it was
	// already merged; AlreadyIngested when the call found nothing to do.
	Status          string `json:"status"`
	AlreadyIngested bool   `json:"alreadyIngested"`
	// Capture is snapshot, watermark or cdc.
	Capture string `json:"capture"`
	// Rows staged by dataset; Total their sum.
	Rows     map[string]int64 `json:"rows"`
	Total    int64            `json:"total"`
	Rejected map[string]int64 `json:"rejected,omitempty"`
	Replayed map[string]int64 `json:"replayed,omitempty"`
	Bytes    int64            `json:"bytes"`
	Duration time.Duration    `json:"duration"`
	// DataTime is the batch's data time (yellow.md §14).
	DataTime time.Time `json:"dataTime"`
}

// MergeBatchInput names the ingested batch to merge and commit (yellow.md §6.3 step 4).
type MergeBatchInput struct {
	Platform     string
	Stream       string
	ModelVersion int64
	Batch        int32
}

// DatasetCounts are one dataset's counts of a batch.
type DatasetCounts struct {
	Staged   int64
	Inserted int64
	Updated  int64
	Deleted  int64
}

// MergeBatchResult is the committed batch.
type MergeBatchResult struct {
	Batch            int32
	Mode             string
	Inserted         int64
	Updated          int64
	Deleted          int64
	Total            int64
	Datasets         map[string]DatasetCounts
	AlreadyCommitted bool
	Start            time.Time
	End              time.Time
}

// FailBatchInput is the error a batch failed with.
type FailBatchInput struct {
	Platform     string
	Stream       string
	ModelVersion int64
	Batch        int32
	// Phase is one of the Phase constants.
	Phase     string
	Message   string
	Permanent bool
}

// FailBatchResult is the status the batch ended in.
type FailBatchResult struct {
	Status string
}

// ReconcileViewsInput names the platform and model version whose views are reconciled.
type ReconcileViewsInput struct {
	Platform     string
	ModelVersion int64
}

// SchemaViews is what changed in one workspace schema.
type SchemaViews struct {
	Schema    string
	Created   []string
	Replaced  []string
	Recreated []string
	Dropped   []string
	Pending   []string
}

// ReconcileViewsResult lists the workspace schemas that changed.
type ReconcileViewsResult struct {
	Schemas []SchemaViews
	// Changed: a view was created, replaced, re-created or dropped (grants need an apply).
	Changed bool
}

// RunTransformerInput names the transformer workspace to run (yellow.md §10).
type RunTransformerInput struct {
	Platform     string
	Workspace    string
	ModelVersion int64
}

// RunTransformerResult is the recorded run and, when it succeeded, the output batch staged
// (left ingested: MergeBatch is next).
type RunTransformerResult struct {
	RunID int64
	// Status is RunSucceeded, RunWaiting or RunFailed.
	Status       string
	Inputs       map[string]int32
	Rows         map[string]int64
	Waiting      []string
	Error        string
	OutputStream string
	Batch        int32
	Staged       int64
}

// ApplyGrantsInput names the platform and model version whose roles and grants the security
// service applies (security.md).
type ApplyGrantsInput struct {
	Platform     string
	ModelVersion int64
}

// ApplyGrantsResult summarises what the apply changed.
type ApplyGrantsResult struct {
	// Changed: any role, membership or grant was created, altered or revoked.
	Changed bool
	// Statements is the number of statements executed.
	Statements int
}
