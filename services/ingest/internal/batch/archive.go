package batch

import (
	"context"
	"io"

	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/ingest/internal/archive"
	"github.com/datasurface/datasurface/services/ingest/internal/failure"
	"github.com/datasurface/datasurface/services/ingest/internal/plan"
)

// Archive is the raw archive of one batch (yellow.md §7.5): one object per dataset, then a
// manifest. It is written before the batch becomes ingested; a failure fails the ingest.
type Archive interface {
	// Dataset opens the object of one dataset; closing it completes the object.
	Dataset(ctx context.Context, name string) (io.WriteCloser, error)
	// Finish writes the manifest with the batch's capture state.
	Finish(ctx context.Context, state *mergesql.State) error
	// Abort abandons what was written.
	Abort(ctx context.Context)
}

// ArchiveOpener opens the raw archive of a batch.
type ArchiveOpener interface {
	Open(ctx context.Context, ra *modelv1.RawArchive, keys archive.Keys, ref archive.Ref) (Archive, error)
}

func openArchive(ctx context.Context, d Deps, s *plan.Stream, b int32, state *mergesql.State) (Archive, error) {
	ra := s.RawArchive
	if ra == nil {
		return nil, nil
	}
	if d.Archive == nil {
		return nil, failure.New(failure.Archive, "", "the platform has a raw archive but this ingest service has no archive endpoint configured", archive.ErrNotConfigured)
	}
	key, err := d.Secrets.Resolve(ctx, s.Store, ra.GetCredential())
	if err != nil {
		return nil, failure.Newf(failure.Credential, "", err, "resolve credential %q of the raw archive", ra.GetCredential().GetName())
	}
	ext := "tsv.zst"
	if s.Capture == layoutCDC {
		ext = "jsonl.zst"
	}
	a, err := d.Archive.Open(ctx, ra, archive.Keys{AccessKey: key.APIKey, SecretKey: key.APISecret},
		archive.Ref{Platform: s.Platform, Stream: s.Key, Batch: b, Extension: ext, ModelVersion: state.ModelVersion})
	if err != nil {
		return nil, failure.Wrap(err, failure.Archive, "", "open the raw archive")
	}
	return a, nil
}

func abortArchive(ctx context.Context, a Archive) {
	if a != nil {
		a.Abort(ctx)
	}
}
