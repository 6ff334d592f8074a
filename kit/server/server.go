// Package server is the Connect HTTP server every service runs: gRPC, gRPC-Web and Connect on
// one port (HTTP/1.1 and cleartext HTTP/2), gRPC health and reflection for every registered
// service, /healthz, /readyz and /metrics (kit/metrics' process-wide registry), and graceful
// shutdown when its context ends.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"

	"github.com/datasurface/datasurface/kit/metrics"
)

// Server is one listening address with its handlers.
type Server struct {
	addr     string
	mux      *http.ServeMux
	log      *slog.Logger
	services []string
	checks   []func(context.Context) error
	listener net.Listener
	started  chan struct{}
}

// New returns a server for addr ("127.0.0.1:0" picks a free port).
func New(addr string, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{addr: addr, mux: http.NewServeMux(), log: log, started: make(chan struct{})}
}

// Handle registers a Connect handler (as returned by a generated NewXxxHandler) for service.
func (s *Server) Handle(service, pattern string, h http.Handler) {
	s.services = append(s.services, service)
	s.mux.Handle(pattern, h)
}

// HandleHTTP registers a plain HTTP handler.
func (s *Server) HandleHTTP(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// ReadyWhen adds a readiness check; /readyz (503 with the first failing check's reason) and gRPC
// health answer not-serving until every check passes. ready.go has checks for NATS and Postgres;
// kit/server/temporalready for Temporal.
func (s *Server) ReadyWhen(check func(context.Context) error) { s.checks = append(s.checks, check) }

// Addr returns the listening address once Run has started listening.
func (s *Server) Addr(ctx context.Context) (string, error) {
	select {
	case <-s.started:
		return s.listener.Addr().String(), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

type checker struct{ s *Server }

func (c checker) Check(ctx context.Context, req *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	if c.s.readyErr(ctx) != nil {
		return &grpchealth.CheckResponse{Status: grpchealth.StatusNotServing}, nil
	}
	return &grpchealth.CheckResponse{Status: grpchealth.StatusServing}, nil
}

func (s *Server) readyErr(ctx context.Context) error {
	for _, c := range s.checks {
		if err := c(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Run listens and serves until ctx ends, then shuts down with a 10 s grace period.
func (s *Server) Run(ctx context.Context) error {
	s.mux.Handle(grpchealth.NewHandler(checker{s}))
	reflector := grpcreflect.NewStaticReflector(s.services...)
	s.mux.Handle(grpcreflect.NewHandlerV1(reflector))
	s.mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := s.readyErr(r.Context()); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	s.mux.Handle("GET /metrics", metrics.Handler())
	l, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.addr, err)
	}
	s.listener = l
	close(s.started)
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Handler:           s.mux,
		Protocols:         protocols,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.log.InfoContext(ctx, "serving", "addr", l.Addr().String(), "services", s.services)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
