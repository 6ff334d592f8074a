// Command datasurface is the command-line tool of datasurface: the pull-request gate
// (`datasurface validate`, spec/governance.md §3) and model utilities (`model lint`, `model diff`,
// `model schema`).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	tuneGC(os.Args[1:], os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// Garbage collection of one-shot commands (everything but `serve`): a gate run builds two large
// models that stay live until the process exits and makes little garbage, so collecting before
// the heap is large only costs time — on the benchmark model a collection at the default
// GOGC=100, or even at GOGC=400, marks a quarter of a gigabyte and slows the gate by about a
// tenth. One-shot commands therefore collect only when the heap nears a soft memory limit
// (1.5 GiB, below the gate's 2 GiB budget): percent-based collection is off. GOGC and
// GOMEMLIMIT, when set, win.
const (
	oneShotGCPercent   = -1      // off: collect by the memory limit only
	oneShotMemoryLimit = 3 << 29 // 1.5 GiB
)

func tuneGC(args []string, getenv func(string) string) {
	if len(args) > 0 && args[0] == "serve" {
		return // long-running: the runtime's defaults
	}
	if getenv("GOGC") == "" {
		debug.SetGCPercent(oneShotGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(oneShotMemoryLimit)
	}
}

// run executes one command line (without the program name). The error carries the exit code
// (*exitError); nil means exit code 0.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := &cli{stdout: stdout, stderr: stderr, getenv: os.Getenv}
	return c.run(ctx, args)
}

// exitError ends the program with Code, printing Err (when set) to stderr.
type exitError struct {
	Code int
	Err  error
}

func (e *exitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *exitError) Unwrap() error { return e.Err }

// Exit codes (spec/governance.md §3.2).
const (
	exitOK       = 0
	exitProblems = 1 // the check ran and found problems
	exitCannot   = 2 // the check could not run
)

// usageErrorf is a bad command line: exit code 2.
func usageErrorf(format string, args ...any) error {
	return &exitError{Code: exitCannot, Err: fmt.Errorf(format, args...)}
}

// cannotRun wraps an error that stopped a command from running: exit code 2.
func cannotRun(err error) error {
	return &exitError{Code: exitCannot, Err: err}
}

// failed is the silent exit code 1 of a check that found problems (they are in the report).
var failed = &exitError{Code: exitProblems}

// exitCode maps run's error to the process exit code, printing its message to stderr.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if !errors.As(err, &ee) {
		fmt.Fprintf(stderr, "datasurface: %v\n", err)
		return exitCannot
	}
	if ee.Err != nil {
		fmt.Fprintf(stderr, "datasurface: %v\n", ee.Err)
	}
	return ee.Code
}
