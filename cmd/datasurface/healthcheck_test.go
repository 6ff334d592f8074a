package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datasurface/datasurface/kit/server"
)

// startKitServer runs a kit/server (the server every service runs) on a free loopback port with
// one readiness check that fails while ready is false, and a /slow handler that answers late.
func startKitServer(t *testing.T, ready *atomic.Bool) string {
	t.Helper()
	srv := server.New("127.0.0.1:0", nil)
	srv.ReadyWhen(func(context.Context) error {
		if !ready.Load() {
			return errors.New("modelsvc is starting")
		}
		return nil
	})
	srv.HandleHTTP("GET /slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	}))
	srv.HandleHTTP("GET /moved", http.RedirectHandler("/healthz", http.StatusFound))
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	startCtx, stop := context.WithTimeout(t.Context(), 10*time.Second)
	defer stop()
	addr, err := srv.Addr(startCtx)
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}

func TestHealthcheck(t *testing.T) {
	var ready atomic.Bool
	base := startKitServer(t, &ready)

	// An address nothing listens on: a port that was free a moment ago.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/readyz"
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		ready      bool
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "liveness", args: []string{"--url", base + "/healthz"}, wantStdout: "ok: " + base + "/healthz answered 200 OK"},
		{name: "ready", ready: true, args: []string{"--url", base + "/readyz"}, wantStdout: "ok: " + base + "/readyz answered 200 OK"},
		{name: "not ready", args: []string{"--url", base + "/readyz"}, wantCode: 1,
			wantStderr: "healthcheck " + base + "/readyz: 503 Service Unavailable: not ready: modelsvc is starting"},
		{name: "not found", args: []string{"--url", base + "/nothing"}, wantCode: 1, wantStderr: "404 Not Found"},
		{name: "redirect is not 200", args: []string{"--url", base + "/moved"}, wantCode: 1, wantStderr: "302 Found"},
		{name: "timeout", args: []string{"--url", base + "/slow", "--timeout", "200ms"}, wantCode: 1,
			wantStderr: "healthcheck " + base + "/slow: no answer within 200ms"},
		{name: "connection refused", args: []string{"--url", closed}, wantCode: 1, wantStderr: "connection refused"},
		{name: "not http", args: []string{"--url", "ftp://127.0.0.1/readyz"}, wantCode: 1, wantStderr: "is not an http(s) URL"},
		{name: "no host", args: []string{"--url", "/readyz"}, wantCode: 1, wantStderr: "is not an http(s) URL"},
		{name: "bad timeout", args: []string{"--timeout", "0s"}, wantCode: 1, wantStderr: "--timeout must be positive"},
		{name: "unknown flag", args: []string{"--frobnicate"}, wantCode: 1, wantStderr: "flag provided but not defined"},
		{name: "argument", args: []string{"x"}, wantCode: 1, wantStderr: `unexpected argument "x"`},
		{name: "help", args: []string{"-h"}, wantStderr: "Usage: datasurface healthcheck"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ready.Store(tt.ready)
			stdout, stderr, code := runCLI(t, append([]string{"healthcheck"}, tt.args...)...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr: %s", code, tt.wantCode, stderr)
			}
			if !strings.Contains(stdout, tt.wantStdout) {
				t.Errorf("stdout = %q, want it to contain %q", stdout, tt.wantStdout)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantStderr)
			}
			if tt.wantCode != 0 && stdout != "" {
				t.Errorf("stdout = %q on failure, want nothing", stdout)
			}
		})
	}
}

// TestHealthcheckDefaultURL checks the default: the readiness endpoint of serve's default port.
func TestHealthcheckDefaultURL(t *testing.T) {
	_, stderr, code := runCLI(t, "healthcheck", "-h")
	if code != 0 {
		t.Fatalf("exit code = %d", code)
	}
	if !strings.Contains(stderr, `(default "http://127.0.0.1:8080/readyz")`) {
		t.Errorf("usage does not name the default URL:\n%s", stderr)
	}
}
