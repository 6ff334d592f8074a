package server_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/datasurface/datasurface/kit/natsserver"
	"github.com/datasurface/datasurface/kit/pg"
	"github.com/datasurface/datasurface/kit/pgtest"
	"github.com/datasurface/datasurface/kit/server"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Shutdown()
	os.Exit(code)
}

// runServer runs s until the test ends and returns its base URL.
func runServer(t *testing.T, s *server.Server) string {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	addr, err := s.Addr(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestMetricsEndpointServesTheRegistry(t *testing.T) {
	base := runServer(t, server.New("127.0.0.1:0", nil))
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics = %d, want 200", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

// TestReadyzFlipsOnRealDependencies registers the NATS and Postgres checks against real
// servers: /readyz answers 503 with the failing check's reason while NATS is down and 200 once
// it is back.
func TestReadyzFlipsOnRealDependencies(t *testing.T) {
	ns := natsserver.StartForTest(t)
	url := ns.ClientURL()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	dsn := pgtest.NewDatabase(t)
	pool, err := pg.Connect(t.Context(), dsn)
	if err != nil {
		pgtest.Missing(t, "postgres", err)
	}
	t.Cleanup(pool.Close)

	s := server.New("127.0.0.1:0", nil)
	s.ReadyWhen(server.Pinged("postgres", pool))
	s.ReadyWhen(server.NATSConnected(nc))
	base := runServer(t, s)
	if code, body := get(t, base+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz with NATS and Postgres up = %d %q, want 200", code, body)
	}

	port := ns.Addr().(*net.TCPAddr).Port
	ns.Shutdown()
	ns.WaitForShutdown()
	code, body := get(t, base+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "not ready: nats: ") {
		t.Fatalf("/readyz with NATS down = %d %q, want 503 naming nats", code, body)
	}

	again, err := natsserver.Start(natsserver.Options{Dir: t.TempDir(), Port: port})
	if err != nil {
		t.Fatalf("restart NATS on port %d: %v", port, err)
	}
	t.Cleanup(again.Shutdown)
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body = get(t, base+"/readyz")
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz after NATS came back = %d %q, want 200", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPingedNamesTheFailure(t *testing.T) {
	check := server.Pinged("postgres", failingPinger{})
	err := check(t.Context())
	if err == nil || !strings.HasPrefix(err.Error(), "postgres: ") {
		t.Fatalf("Pinged = %v, want an error prefixed postgres:", err)
	}
	if err := server.NATSConnected(nil)(t.Context()); err == nil {
		t.Error("NATSConnected(nil) passed")
	}
}

type failingPinger struct{}

func (failingPinger) Ping(context.Context) error { return errors.New("connection refused") }
