// Package opsbus is the contract of the operational events stream OPS (DESIGN.md §3): batch
// lifecycle events (ds.batch.>), platform and stream events of the scheduler (ds.platform.>) and
// the security service's audit events (ds.security.>). Every producer declares the stream at
// start-up with DeclareStream, so whichever service starts first creates it with the same
// configuration.
package opsbus

import (
	"context"
	"time"

	"github.com/datasurface/datasurface/kit/events"
	"github.com/nats-io/nats.go/jetstream"
)

// Stream is the name of the operational events stream.
const Stream = "OPS"

// Subject prefixes, one per producing service.
const (
	SubjectBatch    = "ds.batch."    // + <platform>.<event> (ingest, merge)
	SubjectPlatform = "ds.platform." // + <platform>.<event> (scheduler)
	SubjectSecurity = "ds.security." // + <platform>.<event> (security)
)

// Retention of the stream and its duplicate-detection window.
const (
	MaxAge          = 30 * 24 * time.Hour
	DuplicateWindow = time.Hour
)

// DeclareStream creates or updates the OPS stream: the three subject trees, file storage,
// limits-based retention (MaxAge), DuplicateWindow of duplicate detection.
func DeclareStream(ctx context.Context, js jetstream.JetStream) error {
	_, err := events.EnsureStream(ctx, js, jetstream.StreamConfig{
		Name:       Stream,
		Subjects:   []string{SubjectBatch + ">", SubjectPlatform + ">", SubjectSecurity + ">"},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		Discard:    jetstream.DiscardOld,
		MaxAge:     MaxAge,
		Duplicates: DuplicateWindow,
	})
	return err
}
