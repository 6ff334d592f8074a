// Package temporalready gives readiness checks (for kit/server's ReadyWhen) to services that use
// Temporal: the frontend answers its health check, and a worker has started polling.
package temporalready

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
)

// CheckTimeout bounds one health check of the Temporal frontend.
const CheckTimeout = 2 * time.Second

// Reachable returns a check that passes while the Temporal frontend of c answers its gRPC health
// check.
func Reachable(c client.Client) func(context.Context) error {
	return func(ctx context.Context) error {
		if c == nil {
			return errors.New("no Temporal client")
		}
		ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
		defer cancel()
		if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			return fmt.Errorf("temporal unreachable: %w", err)
		}
		return nil
	}
}

// Worker is a Temporal worker that knows whether it runs: Ready passes once Start (or Run) has
// started it and while the frontend is reachable.
type Worker struct {
	worker.Worker
	name    string
	client  client.Client
	started atomic.Bool
}

// Wrap returns w (polling task queue name) with a readiness check.
func Wrap(c client.Client, name string, w worker.Worker) *Worker {
	return &Worker{Worker: w, name: name, client: c}
}

// Start starts the worker.
func (w *Worker) Start() error {
	if err := w.Worker.Start(); err != nil {
		return err
	}
	w.started.Store(true)
	return nil
}

// Run starts the worker and blocks until interruptCh delivers or closes, then stops it.
func (w *Worker) Run(interruptCh <-chan any) error {
	if err := w.Start(); err != nil {
		return err
	}
	<-interruptCh
	w.Stop()
	return nil
}

// Stop stops a started worker; stopping it again, or a worker never started, does nothing.
func (w *Worker) Stop() {
	if w.started.CompareAndSwap(true, false) {
		w.Worker.Stop()
	}
}

// Ready reports why the worker is not ready yet: not started, or Temporal unreachable.
func (w *Worker) Ready(ctx context.Context) error {
	if !w.started.Load() {
		return fmt.Errorf("temporal worker %s not started", w.name)
	}
	return Reachable(w.client)(ctx)
}
