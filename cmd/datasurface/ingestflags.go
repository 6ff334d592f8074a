package main

import (
	"flag"
	"net"
	"slices"
	"strings"

	"github.com/datasurface/datasurface/services/ingest"
)

// kafkaSecurityProtocols are the values --kafka-security-protocol accepts (librdkafka's
// security.protocol).
var kafkaSecurityProtocols = []string{"plaintext", "ssl", "sasl_plaintext", "sasl_ssl"}

// ingestFlagNames are the flags of ingestFlags (for applyEnv's name filter).
var ingestFlagNames = []string{"archive-endpoint", "archive-secure", "archive-region", "kafka-security-protocol"}

// ingestFlags are the ingest service's settings that `serve` and `run-batch` share: the raw
// batch archive's object store (yellow.md §7.5) and the Kafka CDC consumer's security protocol.
type ingestFlags struct {
	// ArchiveEndpoint, ArchiveSecure and ArchiveRegion locate the raw batch archive's object
	// store ("" = no archive).
	ArchiveEndpoint string
	ArchiveSecure   bool
	ArchiveRegion   string
	// KafkaSecurityProtocol is the CDC consumer's security.protocol.
	KafkaSecurityProtocol string
}

// bind defines the flags on fs.
func (f *ingestFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&f.ArchiveEndpoint, "archive-endpoint", "", "the S3/MinIO `host:port` of the raw batch archive (ingest; empty: platforms with rawArchive fail their ingests)")
	fs.BoolVar(&f.ArchiveSecure, "archive-secure", false, "reach the archive endpoint over TLS (ingest)")
	fs.StringVar(&f.ArchiveRegion, "archive-region", "", "the archive bucket's `region` (ingest; empty: the store's default)")
	fs.StringVar(&f.KafkaSecurityProtocol, "kafka-security-protocol", "plaintext", "the Kafka CDC consumer's security.protocol (ingest): "+strings.Join(kafkaSecurityProtocols, ", "))
}

// check validates the values (after the environment fallback).
func (f ingestFlags) check() error {
	if !slices.Contains(kafkaSecurityProtocols, f.KafkaSecurityProtocol) {
		return usageErrorf("--kafka-security-protocol (or %s) must be %s, not %q",
			envName("kafka-security-protocol"), strings.Join(kafkaSecurityProtocols, ", "), f.KafkaSecurityProtocol)
	}
	if f.ArchiveEndpoint != "" {
		if host, port, err := net.SplitHostPort(f.ArchiveEndpoint); err != nil || host == "" || port == "" {
			return usageErrorf("--archive-endpoint (or %s) must be host:port, not %q", envName("archive-endpoint"), f.ArchiveEndpoint)
		}
	}
	return nil
}

// config is the ingest service's configuration from the flags.
func (f ingestFlags) config() ingest.Config {
	return ingest.Config{
		Archive: ingest.ArchiveConfig{Endpoint: f.ArchiveEndpoint, Secure: f.ArchiveSecure, Region: f.ArchiveRegion},
		Kafka:   ingest.KafkaConfig{SecurityProtocol: f.KafkaSecurityProtocol},
	}
}
