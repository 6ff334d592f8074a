// Package ingest is the ingest service (DESIGN.md §1): it moves source data into a Yellow
// platform's staging tables — SQL snapshot, SQL watermark and Kafka/Debezium CDC (yellow.md §7) —
// and writes the optional raw batch archive. Its one operation, Activities.IngestBatch, is step 3
// of a batch run (yellow.md §6.3): idempotent on (platform, stream, batch), it clears the
// batch's staging rows, streams every dataset's rows into staging with their hashes in one
// merge-database transaction, records the capture state and sets the batch `ingested`. The same
// method serves `datasurface run-batch` synchronously and the Temporal task queue `ingest`.
//
// Everything else lives under internal/: batch (one ingest, start to `ingested`), plan (the
// stream resolved from the model), sqlsource and sqlingest (SQL sources), stagecopy (the
// memory-flat COPY pipeline), cdc and cdcingest (Debezium over Kafka), archive (MinIO/S3),
// books (bookkeeping), pgsession (sessions), secret (credential stores), failure (typed errors).
package ingest

import (
	"context"
	"errors"
	"log/slog"
	"time"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/ingest/internal/secret"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of Config.
const (
	DefaultSSLMode         = "prefer"
	DefaultConnectTimeout  = 10 * time.Second
	DefaultApplicationName = "datasurface-ingest"
	// TaskQueue is the Temporal task queue the ingest activities are registered on.
	TaskQueue = "ingest"
)

// Config configures the service. Everything about sources, the merge database and credentials
// comes from the model; Config holds only what the model does not say.
type Config struct {
	// SSLMode is libpq's sslmode for every PostgreSQL session (default "prefer").
	SSLMode string
	// ConnectTimeout bounds opening a PostgreSQL session (default 10 s).
	ConnectTimeout time.Duration
	// ApplicationName is shown in pg_stat_activity (default "datasurface-ingest").
	ApplicationName string
	// Kafka configures Kafka CDC consumption.
	Kafka KafkaConfig
	// Archive configures the raw batch archive (yellow.md §7.5).
	Archive ArchiveConfig
}

// KafkaConfig configures the CDC consumer.
type KafkaConfig struct {
	// SecurityProtocol is librdkafka's security.protocol (default "plaintext"; with
	// "sasl_plaintext" or "sasl_ssl" the stream's credential is the SASL/PLAIN login).
	SecurityProtocol string
	// Timeout bounds every Kafka request and waiting for a batch's last event (default 30 s).
	Timeout time.Duration
}

// ArchiveConfig configures the raw archive's object store (the model names only the bucket,
// prefix and credential).
type ArchiveConfig struct {
	// Endpoint is host:port of the S3/MinIO endpoint; "" = archives are not available and a
	// platform with rawArchive fails its ingests.
	Endpoint string
	// Secure uses TLS.
	Secure bool
	// Region is the bucket's region ("" = the store's default).
	Region string
}

// ModelSource resolves the model a batch runs under. A Temporal activity input carries only the
// model version and digest; cmd wires this to the model service's snapshots.
type ModelSource interface {
	Model(ctx context.Context, version int64, digest string) (*modelv1.Model, error)
}

// Secret is a resolved credential; SecretResolver resolves model credentials through a PSP's
// credential store (model.md §4.16); Credentials implements the env and file stores.
type (
	Secret         = secret.Secret
	SecretResolver = secret.Resolver
	Credentials    = secret.Credentials
)

// ErrSecretNotFound is returned (wrapped) when a credential store has no value for a credential.
var ErrSecretNotFound = secret.ErrNotFound

// Deps are the service's dependencies.
type Deps struct {
	Log *slog.Logger
	// Secrets resolves the merge, source, Kafka and archive credentials (required).
	Secrets SecretResolver
	// Models resolves IngestBatchInput.ModelVersion/ModelDigest when the input carries no
	// in-memory model (optional for synchronous use).
	Models ModelSource
	// Latest gives the newest committed model for the IngestService API (nil: the API answers
	// Unavailable).
	Latest LatestModel
	// JS, when set, receives ds.batch.<platform>.ingested (stream OPS, declared on first use);
	// nil publishes nothing.
	JS jetstream.JetStream
}

// Service is the ingest service.
type Service struct {
	log    *slog.Logger
	acts   *Activities
	latest LatestModel
}

// New checks cfg and builds the service; nothing is connected until an activity runs.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.Secrets == nil {
		return nil, errors.New("ingest: Deps.Secrets is required")
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.SSLMode == "" {
		cfg.SSLMode = DefaultSSLMode
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.ApplicationName == "" {
		cfg.ApplicationName = DefaultApplicationName
	}
	if cfg.Kafka.SecurityProtocol == "" {
		cfg.Kafka.SecurityProtocol = "plaintext"
	}
	if cfg.Kafka.Timeout <= 0 {
		cfg.Kafka.Timeout = 30 * time.Second
	}
	log := deps.Log.With("service", "ingest")
	return &Service{log: log, acts: newActivities(cfg, deps, log), latest: deps.Latest}, nil
}

// Activities returns the service's activities (register them on TaskQueue, or call them
// directly).
func (s *Service) Activities() *Activities { return s.acts }

// Run runs the service until ctx ends. The service has no background work of its own: its
// activities run when called (synchronously, or by a Temporal worker on TaskQueue).
func (s *Service) Run(ctx context.Context) error {
	s.log.InfoContext(ctx, "ingest service ready")
	<-ctx.Done()
	s.Close()
	return nil
}

// Close closes the service's pooled database sessions (for callers that do not Run it).
func (s *Service) Close() { s.acts.deps.Pools.Close() }
