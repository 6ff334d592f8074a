package server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"connectrpc.com/grpchealth"
	"github.com/datasurface/datasurface/kit/server"
)

func TestHealthReadinessAndShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	s := server.New("127.0.0.1:0", nil)
	var loaded atomic.Bool
	s.ReadyWhen(func(context.Context) error {
		if !loaded.Load() {
			return errors.New("model not loaded")
		}
		return nil
	})
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx) }()
	addr, err := s.Addr(ctx)
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) int {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	if got := get("/healthz"); got != http.StatusOK {
		t.Errorf("/healthz = %d, want 200", got)
	}
	if got := get("/readyz"); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz before ready = %d, want 503", got)
	}
	if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if want := "not ready: model not loaded\n"; string(body) != want {
			t.Errorf("/readyz body = %q, want %q", body, want)
		}
	}
	health := func() grpchealth.Status {
		resp, err := grpchealth.NewClient(http.DefaultClient, "http://"+addr).Check(ctx, &grpchealth.CheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Status
	}
	if got := health(); got != grpchealth.StatusNotServing {
		t.Errorf("gRPC health before ready = %v, want not serving", got)
	}
	loaded.Store(true)
	if got := get("/readyz"); got != http.StatusOK {
		t.Errorf("/readyz when ready = %d, want 200", got)
	}
	if got := health(); got != grpchealth.StatusServing {
		t.Errorf("gRPC health when ready = %v, want serving", got)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run: %v", err)
	}
}
