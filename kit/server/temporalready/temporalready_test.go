package temporalready_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/datasurface/datasurface/kit/server/temporalready"
	"github.com/datasurface/datasurface/kit/temporalserver"
)

// TestReadinessFollowsWorkerAndServer runs a worker on a real dev server: not ready before
// Start, ready while started, not ready after Stop, and Temporal unreachable once the server is
// gone.
func TestReadinessFollowsWorkerAndServer(t *testing.T) {
	ts := temporalserver.StartForTest(t)
	c, err := client.Dial(client.Options{HostPort: ts.Addr, Namespace: temporalserver.DefaultNamespace,
		Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	w := temporalready.Wrap(c, "ready-test", worker.New(c, "ready-test", worker.Options{}))
	w.RegisterActivityWithOptions(func(context.Context) error { return nil }, activity.RegisterOptions{Name: "noop"})
	if err := w.Ready(t.Context()); err == nil || !strings.Contains(err.Error(), "not started") {
		t.Errorf("Ready before Start = %v, want not started", err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	if err := w.Ready(t.Context()); err != nil {
		t.Errorf("Ready after Start = %v", err)
	}
	if err := temporalready.Reachable(c)(t.Context()); err != nil {
		t.Errorf("Reachable with the server up = %v", err)
	}

	w.Stop()
	w.Stop() // a second Stop does nothing
	if err := w.Ready(t.Context()); err == nil || !strings.Contains(err.Error(), "not started") {
		t.Errorf("Ready after Stop = %v, want not started", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := ts.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	err = temporalready.Reachable(c)(t.Context())
	if err == nil || !strings.HasPrefix(err.Error(), "temporal unreachable: ") {
		t.Errorf("Reachable with the server stopped = %v, want temporal unreachable", err)
	}
}
