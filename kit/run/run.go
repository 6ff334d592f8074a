// Package run owns the lifecycle of long-running components: each implements Run(ctx) error and
// stops when ctx is cancelled; Group runs several and stops them all when one fails.
package run

import (
	"context"
	"errors"
	"sync"
)

// Component is anything long-running.
type Component interface {
	Run(ctx context.Context) error
}

// Func adapts a function to Component.
type Func func(ctx context.Context) error

// Run calls f.
func (f Func) Run(ctx context.Context) error { return f(ctx) }

// Group runs every component until ctx ends or one of them returns; the first non-nil error
// cancels the others. Group waits for all of them and returns the first error (nil when they
// all stopped cleanly after ctx was cancelled).
func Group(ctx context.Context, cs ...Component) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for _, c := range cs {
		wg.Go(func() {
			err := c.Run(ctx)
			if err != nil && !errors.Is(err, context.Canceled) {
				once.Do(func() { first = err })
			}
			cancel()
		})
	}
	wg.Wait()
	return first
}
