package ingest

import (
	"context"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/kit/metrics"
	"github.com/datasurface/datasurface/kit/server"
	"github.com/datasurface/datasurface/proto/gen/datasurface/ingest/v1/ingestv1connect"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/ingest/internal/rpc"
)

// LatestModel gives the newest committed model (kit/modelbus.Reader implements it). The
// IngestService API answers under it.
type LatestModel interface {
	Latest(ctx context.Context) (version int64, digest string, m *modelv1.Model, err error)
}

// Handler returns the Connect IngestService implementation (for an in-process client).
func (s *Service) Handler() ingestv1connect.IngestServiceHandler {
	h := &rpc.Handler{Deps: s.acts.deps}
	if s.latest != nil {
		h.Latest = s.latest
	}
	return h
}

// Register mounts the Connect IngestService on srv.
func (s *Service) Register(srv *server.Server) {
	path, h := ingestv1connect.NewIngestServiceHandler(s.Handler(), connect.WithReadMaxBytes(1<<20), connect.WithInterceptors(metrics.ConnectInterceptor()))
	srv.Handle(ingestv1connect.IngestServiceName, path, h)
}
