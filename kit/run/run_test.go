package run_test

import (
	"context"
	"errors"
	"testing"

	"github.com/datasurface/datasurface/kit/run"
)

func TestGroupStopsAllOnFirstError(t *testing.T) {
	boom := errors.New("boom")
	stopped := make(chan struct{})
	err := run.Group(t.Context(),
		run.Func(func(ctx context.Context) error { <-ctx.Done(); close(stopped); return nil }),
		run.Func(func(context.Context) error { return boom }),
	)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	select {
	case <-stopped:
	default:
		t.Fatal("the other component was not stopped")
	}
}

func TestGroupReturnsNilOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := run.Group(ctx, run.Func(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }))
	if err != nil {
		t.Fatalf("err = %v, want nil", err)
	}
}
