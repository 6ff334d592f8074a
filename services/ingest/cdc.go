package ingest

import (
	"context"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/ingest/internal/archive"
	"github.com/datasurface/datasurface/services/ingest/internal/batch"
	"github.com/datasurface/datasurface/services/ingest/internal/cdc"
)

func newCDC(cfg KafkaConfig) *batch.CDC {
	return &batch.CDC{Open: cdc.Open, SecurityProtocol: cfg.SecurityProtocol, Timeout: cfg.Timeout}
}

// archiveOpener adapts archive.Opener to the batch package's interface.
type archiveOpener struct{ o archive.Opener }

func newArchive(cfg ArchiveConfig) batch.ArchiveOpener {
	return archiveOpener{archive.Opener{Endpoint: cfg.Endpoint, Secure: cfg.Secure, Region: cfg.Region}}
}

func (a archiveOpener) Open(ctx context.Context, ra *modelv1.RawArchive, keys archive.Keys, ref archive.Ref) (batch.Archive, error) {
	b, err := a.o.Open(ctx, ra, keys, ref)
	if err != nil {
		return nil, err
	}
	return b, nil
}
