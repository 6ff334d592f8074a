// Package failure owns the typed errors of the ingest service: what went wrong (a Code), whether
// retrying the same step can help (Permanent), and the precise reason recorded in
// batch_metrics.state.error (yellow.md §6.3). The exported package re-exports Error so callers
// can classify errors with errors.As.
package failure

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Code says what failed.
type Code string

// Codes. Permanent ones are data or schema problems that retrying the same batch cannot fix
// (yellow.md §6.3); the others may succeed on a later attempt.
const (
	// Model: the model does not describe an ingestible stream of the platform (permanent).
	Model Code = "model"
	// Credential: a credential cannot be resolved from the PSP's store (permanent).
	Credential Code = "credential"
	// BatchState: the batch is not in a status ingest can work on (permanent for this call).
	BatchState Code = "batch-state"
	// StreamBusy: another step holds the stream lock (retryable, yellow.md §6.3).
	StreamBusy Code = "stream-busy"
	// SourceUnreachable: the source database cannot be reached (retryable).
	SourceUnreachable Code = "source-unreachable"
	// MergeUnreachable: the merge database cannot be reached (retryable).
	MergeUnreachable Code = "merge-unreachable"
	// SourceLogin: the source rejected the login (permanent until the secret is fixed).
	SourceLogin Code = "source-login"
	// SourceTableMissing: the source table does not exist or cannot be seen (permanent).
	SourceTableMissing Code = "source-table-missing"
	// ColumnMissing: a model column is not in the source table (permanent).
	ColumnMissing Code = "column-missing"
	// ColumnType: a source column cannot be cast to its physical type (permanent).
	ColumnType Code = "column-type"
	// ValueCast: a source value failed its cast while copying (permanent).
	ValueCast Code = "value-cast"
	// NullKey: a snapshot row has NULL in a primary-key column (permanent).
	NullKey Code = "null-key"
	// DuplicateKey: two snapshot rows share a key (permanent).
	DuplicateKey Code = "duplicate-key"
	// Staging: the staging table does not match the model (permanent: reconcile first).
	Staging Code = "staging"
	// CDCGap: retention deleted CDC events that were never read (permanent).
	CDCGap Code = "cdc-gap"
	// CDCTruncate: a Debezium truncate event (permanent).
	CDCTruncate Code = "cdc-truncate"
	// CDCPoison: a poison CDC event under the FAIL policy (permanent).
	CDCPoison Code = "cdc-poison"
	// Kafka: the Kafka cluster could not be read (retryable).
	Kafka Code = "kafka"
	// Archive: the raw archive could not be written (retryable).
	Archive Code = "archive"
	// Canceled: the context ended (retryable).
	Canceled Code = "canceled"
	// Internal: anything else (retryable).
	Internal Code = "internal"
)

// Error is a typed ingest error.
type Error struct {
	Code Code
	// Permanent is true when retrying the same batch cannot succeed (yellow.md §6.3).
	Permanent bool
	// Dataset is "S.T" when the error concerns one dataset, else "".
	Dataset string
	// Reason is the precise, human-readable reason (no secrets, no row values except key
	// values given as examples).
	Reason string
	// Err is the underlying error, if any.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("ingest")
	if e.Dataset != "" {
		b.WriteString(" dataset ")
		b.WriteString(e.Dataset)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	switch {
	case e.Err == nil || strings.Contains(e.Reason, e.Err.Error()):
	case PgCode(e.Err) != "" && strings.Contains(e.Reason, PgMessage(e.Err)):
		b.WriteString(" (SQLSTATE " + PgCode(e.Err) + ")")
	default:
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error with code c; permanence follows the code.
func New(c Code, dataset, reason string, err error) *Error {
	return &Error{Code: c, Permanent: permanent(c), Dataset: dataset, Reason: reason, Err: err}
}

// Newf is New with a formatted reason.
func Newf(c Code, dataset string, err error, format string, args ...any) *Error {
	return New(c, dataset, fmt.Sprintf(format, args...), err)
}

func permanent(c Code) bool {
	switch c {
	case Model, Credential, BatchState, SourceLogin, SourceTableMissing, ColumnMissing, ColumnType, ValueCast,
		NullKey, DuplicateKey, Staging, CDCGap, CDCTruncate, CDCPoison:
		return true
	}
	return false
}

// As returns err as an *Error when it is one.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// PgCode returns the SQLSTATE of err, or "".
func PgCode(err error) string {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code
	}
	return ""
}

// PgMessage returns the server's message (and detail) of err, or err's text.
func PgMessage(err error) string {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		if pg.Detail != "" {
			return pg.Message + " (" + pg.Detail + ")"
		}
		return pg.Message
	}
	return err.Error()
}

// Wrap classifies an error of a step that is not otherwise classified: typed errors pass
// through, a cancelled context becomes Canceled, and anything else becomes code c (its
// permanence follows c) with reason what.
func Wrap(err error, c Code, dataset, what string) error {
	if err == nil {
		return nil
	}
	if _, ok := As(err); ok {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return New(Canceled, dataset, what+": interrupted", err)
	}
	return New(c, dataset, what, err)
}

// Connect classifies an error of opening a connection: a refused login is permanent (code
// login), everything else — DNS, TCP, TLS, a server starting up — is retryable (code
// unreachable).
func Connect(err error, unreachable, login Code, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return New(Canceled, "", what+": interrupted", err)
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		// pgx reports connect_timeout as a deadline: the server did not answer in time.
		return New(unreachable, "", what+": no answer", err)
	}
	code := PgCode(err)
	if strings.HasPrefix(code, "28") || code == "3D000" { // invalid authorization, unknown database
		return New(login, "", what+": "+PgMessage(err), err)
	}
	return New(unreachable, "", what, err)
}
