package mergesql

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
)

// Status is a batch status (batch_metrics.batch_status, yellow.md §6.1); "" = no batch.
type Status string

// Batch statuses.
const (
	NoBatch   Status = ""
	Started   Status = "started"
	Ingested  Status = "ingested"
	Committed Status = "committed"
	Failed    Status = "failed"
)

// Event moves a batch between statuses.
type Event string

// Events of the state diagram of §6.1.
const (
	EventStart  Event = "start"  // open a new batch (from none or committed)
	EventResume Event = "resume" // next run of a started or failed batch (attempt+1 when failed)
	EventIngest Event = "ingest" // ingest done
	EventCommit Event = "commit" // merge and commit done
	EventFail   Event = "fail"   // error in ingest or merge
	EventReset  Event = "reset"  // datasurface batch reset / schema fingerprint changed
)

// TransitionError says an event is not allowed in a status.
type TransitionError struct {
	From  Status
	Event Event
}

func (e *TransitionError) Error() string {
	from := string(e.From)
	if from == "" {
		from = "none"
	}
	return fmt.Sprintf("batch in status %s cannot %s", from, e.Event)
}

// Next is the state diagram of §6.1:
//
//	(none|committed) --start--> started --ingest--> ingested --commit--> committed
//	started|ingested --fail--> failed --resume--> started
//	started|ingested|failed --reset--> started          committed --reset--> refused
//
// Resuming a started batch keeps it started.
func Next(from Status, ev Event) (Status, error) {
	ok := false
	var to Status
	switch ev {
	case EventStart:
		ok, to = from == NoBatch || from == Committed, Started
	case EventResume:
		ok, to = from == Started || from == Failed, Started
	case EventIngest:
		ok, to = from == Started, Ingested
	case EventCommit:
		ok, to = from == Ingested, Committed
	case EventFail:
		ok, to = from == Started || from == Ingested, Failed
	case EventReset:
		ok, to = from == Started || from == Ingested || from == Failed, Started
	}
	if !ok {
		return from, &TransitionError{From: from, Event: ev}
	}
	return to, nil
}

// Open is what step 2 of §6.3 does for the status of current_batch.
type Open int

// Open decisions.
const (
	OpenNew    Open = iota + 1 // none or committed: start B = current + 1
	OpenResume                 // started or failed: resume B (attempt+1 when failed)
	OpenMerge                  // ingested: go to merge and commit
)

// OpenFor returns the step-2 decision for the status of the current batch.
func OpenFor(s Status) (Open, error) {
	switch s {
	case NoBatch, Committed:
		return OpenNew, nil
	case Started, Failed:
		return OpenResume, nil
	case Ingested:
		return OpenMerge, nil
	}
	return 0, fmt.Errorf("unknown batch status %q", s)
}

// ---------------------------------------------------------------------------------------------
// State record (§6.2)

// State is batch_metrics.state. Only the sections of the stream's capture kind are present.
type State struct {
	V            int                  `json:"v"`
	ModelVersion int64                `json:"modelVersion"`
	Attempt      int                  `json:"attempt"`
	Datasets     []string             `json:"datasets"`
	Fingerprints map[string]string    `json:"fingerprints"`
	DataTime     string               `json:"dataTime,omitempty"`
	Rows         map[string]RowCounts `json:"rows,omitempty"`
	Watermark    *WatermarkState      `json:"watermark,omitempty"`
	Kafka        *KafkaState          `json:"kafka,omitempty"`
	Remote       *RemoteState         `json:"remote,omitempty"`
	Error        *ErrorState          `json:"error,omitempty"`
}

// StateVersion is the version of the state record written.
const StateVersion = 1

// RowCounts are the per-dataset counts of a batch.
type RowCounts struct {
	Staged   int64 `json:"staged"`
	Inserted int64 `json:"inserted"`
	Updated  int64 `json:"updated"`
	Deleted  int64 `json:"deleted"`
	Replayed int64 `json:"replayed"`
	Rejected int64 `json:"rejected"`
}

// WatermarkState is the watermark range of a batch; values are canonical text of Type.
type WatermarkState struct {
	Column string `json:"column"`
	Type   string `json:"type"`
	Low    string `json:"low,omitempty"`
	High   string `json:"high,omitempty"`
}

// KafkaState is the offset range of a CDC batch ("topic/partition" → offset).
type KafkaState struct {
	Start  map[string]int64 `json:"start"`
	End    map[string]int64 `json:"end"`
	MaxPos []int64          `json:"maxPos,omitempty"`
}

// RemoteState is a secondary's position on its primary.
type RemoteState struct {
	Platform            string `json:"platform"`
	RemoteBatch         int32  `json:"remoteBatch"`
	PreviousRemoteBatch int32  `json:"previousRemoteBatch"`
	Seed                bool   `json:"seed"`
}

// ErrorState is the error of a failed batch.
type ErrorState struct {
	Phase     string `json:"phase"`
	Message   string `json:"message"`
	Permanent bool   `json:"permanent"`
	At        string `json:"at"`
}

// Marshal renders s as the jsonb value bound to batch_metrics.state.
func (s State) Marshal() ([]byte, error) { return json.Marshal(s) }

// ParseState reads batch_metrics.state.
func ParseState(b []byte) (State, error) {
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return State{}, fmt.Errorf("parse batch state: %w", err)
	}
	return s, nil
}

// Fingerprint is the schema fingerprint of a dataset (§6.2): "sha256:" + hex SHA-256 of one line
// per model column in column order, `name TAB physical type TAB NULL|NOT NULL LF`, then
// `pk TAB <comma-joined primary key> LF`.
func Fingerprint(ds layout.Dataset) string {
	var b strings.Builder
	for _, c := range ds.Columns {
		n := "NULL"
		if c.NotNull {
			n = "NOT NULL"
		}
		b.WriteString(c.Name + "\t" + c.Type + "\t" + n + "\n")
	}
	b.WriteString("pk\t" + strings.Join(ds.PrimaryKey, ",") + "\n")
	sum := sha256.Sum256([]byte(b.String()))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// StreamLockKey is the session advisory lock of stream k on platform d (§6.3): the first 8 bytes
// of SHA-256("yellow:" + D + ":" + K) as a big-endian int64.
func StreamLockKey(d, k string) int64 {
	sum := sha256.Sum256([]byte("yellow:" + d + ":" + k))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// TryLockStream tries the stream's session advisory lock; the statement returns one boolean.
func TryLockStream(d, k string) Stmt {
	return Stmt{Name: "lock stream", SQL: "SELECT pg_catalog.pg_try_advisory_lock($1::bigint)", Args: []any{StreamLockKey(d, k)}}
}

// UnlockStream releases the stream's session advisory lock; the statement returns one boolean.
func UnlockStream(d, k string) Stmt {
	return Stmt{Name: "unlock stream", SQL: "SELECT pg_catalog.pg_advisory_unlock($1::bigint)", Args: []any{StreamLockKey(d, k)}}
}

// ---------------------------------------------------------------------------------------------
// Bookkeeping statements (§6.3)

// Books are a platform's bookkeeping tables.
type Books struct {
	Counter naming.Name
	Metrics naming.Name
	Runs    naming.Name
	Rejects naming.Name
}

// BooksOf returns platform d's bookkeeping tables.
func BooksOf(d string) Books {
	return Books{Counter: naming.BatchCounter(d), Metrics: naming.BatchMetrics(d), Runs: naming.TransformerRuns(d), Rejects: naming.CDCRejects(d)}
}

// EnsureCounter inserts the counter row (K, 0) unless it exists.
func (b Books) EnsureCounter(key string) Stmt {
	return Stmt{Name: "ensure counter", SQL: "INSERT INTO " + ident(b.Counter) + " (key, current_batch) VALUES ($1, 0) ON CONFLICT (key) DO NOTHING", Args: []any{key}}
}

// LockCounter reads current_batch of K FOR UPDATE (one row: current_batch).
func (b Books) LockCounter(key string) Stmt {
	return Stmt{Name: "lock counter", SQL: "SELECT current_batch FROM " + ident(b.Counter) + " WHERE key = $1 FOR UPDATE", Args: []any{key}}
}

// SetCounter sets current_batch of K.
func (b Books) SetCounter(key string, batch int32) Stmt {
	return Stmt{Name: "set counter", SQL: "UPDATE " + ident(b.Counter) + " SET current_batch = $2 WHERE key = $1", Args: []any{key, batch}}
}

// BatchState reads (batch_status, state) of batch B of K; forUpdate locks the row (step 4).
func (b Books) BatchState(key string, batch int32, forUpdate bool) Stmt {
	sql := "SELECT batch_status, state FROM " + ident(b.Metrics) + " WHERE key = $1 AND batch_id = $2"
	if forUpdate {
		sql += " FOR UPDATE"
	}
	return Stmt{Name: "batch state", SQL: sql, Args: []any{key, batch}}
}

// StartBatch inserts the metrics row of a new batch: started, start time now, state.
func (b Books) StartBatch(key string, batch int32, state []byte) Stmt {
	return Stmt{
		Name: "start batch",
		SQL: "INSERT INTO " + ident(b.Metrics) + " (key, batch_id, batch_status, batch_start_time, state)\n" +
			"VALUES ($1, $2, 'started', now(), $3::jsonb)",
		Args: []any{key, batch, string(state)},
	}
}

// RestartBatch sets a started, ingested or failed batch back to started with a new state and
// cleared counts: resuming (state with attempt+1), a fingerprint reset and `batch reset`. A
// committed batch is never changed (0 rows affected).
func (b Books) RestartBatch(key string, batch int32, state []byte) Stmt {
	return Stmt{
		Name: "restart batch",
		SQL: "UPDATE " + ident(b.Metrics) + "\n" +
			"SET batch_status = 'started', batch_end_time = NULL, records_inserted = NULL, records_updated = NULL,\n" +
			"    records_deleted = NULL, total_records = NULL, state = $3::jsonb\n" +
			"WHERE key = $1 AND batch_id = $2 AND batch_status IN ('started', 'ingested', 'failed')",
		Args: []any{key, batch, string(state)},
	}
}

// MarkIngested ends step 3: status ingested, total staged rows and state (capture progress).
func (b Books) MarkIngested(key string, batch int32, total int64, state []byte) Stmt {
	return Stmt{
		Name: "mark ingested",
		SQL: "UPDATE " + ident(b.Metrics) + " SET batch_status = 'ingested', total_records = $3, state = $4::jsonb\n" +
			"WHERE key = $1 AND batch_id = $2 AND batch_status = 'started'",
		Args: []any{key, batch, total, string(state)},
	}
}

// MarkCommitted ends step 4: status committed, end time and counts; only an ingested batch
// (0 rows affected otherwise).
func (b Books) MarkCommitted(key string, batch int32, c Counts, state []byte) Stmt {
	return Stmt{
		Name: "mark committed",
		SQL: "UPDATE " + ident(b.Metrics) + "\n" +
			"SET batch_status = 'committed', batch_end_time = now(), records_inserted = $3, records_updated = $4,\n" +
			"    records_deleted = $5, state = $6::jsonb\n" +
			"WHERE key = $1 AND batch_id = $2 AND batch_status = 'ingested'",
		Args: []any{key, batch, c.Inserted, c.Updated, c.Deleted, string(state)},
	}
}

// MarkFailed records a failed step 3 or 4 (state carries the error), in its own transaction.
func (b Books) MarkFailed(key string, batch int32, state []byte) Stmt {
	return Stmt{
		Name: "mark failed",
		SQL: "UPDATE " + ident(b.Metrics) + " SET batch_status = 'failed', batch_end_time = now(), state = $3::jsonb\n" +
			"WHERE key = $1 AND batch_id = $2 AND batch_status IN ('started', 'ingested')",
		Args: []any{key, batch, string(state)},
	}
}

// LastCommitted reads the latest committed batch of K (batch_id, state); no row when none.
func (b Books) LastCommitted(key string) Stmt {
	return Stmt{
		Name: "last committed",
		SQL: "SELECT batch_id, state FROM " + ident(b.Metrics) + " WHERE key = $1 AND batch_status = 'committed'\n" +
			"ORDER BY batch_id DESC LIMIT 1",
		Args: []any{key},
	}
}

// ConsecutiveFailures counts the failed attempts of K's current batch: the scheduler pauses a
// stream after 5 (§6.3). It reads state.attempt of the current batch when it is failed, else 0.
func (b Books) ConsecutiveFailures(key string) Stmt {
	return Stmt{
		Name: "consecutive failures",
		SQL: "SELECT coalesce((SELECT CASE WHEN m.batch_status = 'failed' THEN (m.state->>'attempt')::integer ELSE 0 END\n" +
			"  FROM " + ident(b.Metrics) + " m JOIN " + ident(b.Counter) + " c ON c.key = m.key AND c.current_batch = m.batch_id\n" +
			"  WHERE m.key = $1), 0)",
		Args: []any{key},
	}
}

// StartRun records a transformer run as running.
func (b Books) StartRun(workspace string, run int64) Stmt {
	return Stmt{
		Name: "start run",
		SQL:  "INSERT INTO " + ident(b.Runs) + " (workspace, run_id, status, started_at) VALUES ($1, $2, 'running', now())",
		Args: []any{workspace, run},
	}
}

// EndRun records a transformer run's outcome (succeeded, failed or waiting), the input batches it
// read, the rows it wrote and its error ("" = none).
func (b Books) EndRun(workspace string, run int64, status string, inputs, rows []byte, errText string) Stmt {
	var e any
	if errText != "" {
		e = errText
	}
	return Stmt{
		Name: "end run",
		SQL: "UPDATE " + ident(b.Runs) + " SET status = $3, ended_at = now(), inputs = $4::jsonb, rows = $5::jsonb, error = $6\n" +
			"WHERE workspace = $1 AND run_id = $2",
		Args: []any{workspace, run, status, nullJSON(inputs), nullJSON(rows), e},
	}
}

// NextRunID reads the next run id of a transformer workspace.
func (b Books) NextRunID(workspace string) Stmt {
	return Stmt{Name: "next run id", SQL: "SELECT coalesce(max(run_id), 0) + 1 FROM " + ident(b.Runs) + " WHERE workspace = $1", Args: []any{workspace}}
}

// Reject quarantines a poison CDC event (§7.3); a replayed reject of the same position is
// ignored.
func (b Books) Reject(key string, batch int32, topic string, partition int32, offset int64, reason string, payload []byte) Stmt {
	return Stmt{
		Name: "reject event",
		SQL: "INSERT INTO " + ident(b.Rejects) + " (key, batch_id, topic, kafka_partition, kafka_offset, reason, payload, rejected_at)\n" +
			"VALUES ($1, $2, $3, $4, $5, $6, $7, now()) ON CONFLICT (key, topic, kafka_partition, kafka_offset) DO NOTHING",
		Args: []any{key, batch, topic, partition, offset, reason, payload},
	}
}

func nullJSON(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}
