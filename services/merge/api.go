package merge

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/kit/metrics"
	"github.com/datasurface/datasurface/kit/server"
	"github.com/datasurface/datasurface/proto/gen/datasurface/merge/v1/mergev1connect"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/merge/internal/platform"
	"github.com/datasurface/datasurface/services/merge/internal/rpc"
)

// LatestModel gives the newest committed model (kit/modelbus.Reader implements it). The
// MergeService API answers under it.
type LatestModel interface {
	Latest(ctx context.Context) (version int64, digest string, m *modelv1.Model, err error)
}

// Handler returns the Connect MergeService implementation (for an in-process client).
func (s *Service) Handler() mergev1connect.MergeServiceHandler {
	return &rpc.Handler{Backend: backend{s.acts}}
}

// Register mounts the Connect MergeService on srv.
func (s *Service) Register(srv *server.Server) {
	path, h := mergev1connect.NewMergeServiceHandler(s.Handler(), connect.WithReadMaxBytes(1<<20), connect.WithInterceptors(metrics.ConnectInterceptor()))
	srv.Handle(mergev1connect.MergeServiceName, path, h)
}

// backend opens platforms of the latest committed model for the API.
type backend struct{ a *Activities }

func (b backend) Open(ctx context.Context, d string) (*rpc.Target, error) {
	if b.a.deps.Latest == nil {
		return nil, fmt.Errorf("%w: the merge service has no model source", rpc.ErrNoModel)
	}
	v, _, m, err := b.a.deps.Latest.Latest(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", rpc.ErrNoModel, err)
	}
	if m == nil {
		return nil, rpc.ErrNoModel
	}
	p, err := b.a.platformOf(m, d)
	if err != nil {
		return nil, err
	}
	pool, err := b.a.db(ctx, p)
	var me *modelError
	if errors.As(err, &me) {
		return nil, &rpc.ConfigError{Err: err}
	}
	if err != nil {
		return nil, err
	}
	return &rpc.Target{Version: v, Platform: p, DB: pool}, nil
}

// platformOf returns platform d of model m, built once per model.
func (a *Activities) platformOf(m *modelv1.Model, d string) (*platform.Platform, error) {
	k := platformKey{m, d}
	a.mu.Lock()
	p, ok := a.platforms[k]
	a.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := platform.Build(m, d)
	var nf *platform.NotFoundError
	if errors.As(err, &nf) {
		return nil, err
	}
	if err != nil {
		return nil, &rpc.ConfigError{Err: err}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.platforms) >= 16 {
		clear(a.platforms)
	}
	a.platforms[k] = p
	return p, nil
}
