// Package temporalserver runs a real Temporal server for `datasurface dev` and for tests: the
// Temporal CLI's dev server (`temporal server start-dev`, SQLite, every service in one process)
// as a subprocess on loopback, on a free port, headless, with its database in a directory the
// caller owns. The CLI binary is installed into the repository's bin/ by
// tools/install-temporal.sh (`make test` runs it); nothing here builds or downloads it. See
// docs/adr/0004-temporal-for-dev-and-tests.md.
package temporalserver

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Version is the Temporal CLI release the repository pins (its dev server embeds a Temporal
// server release of its own; `temporal --version` prints both).
const Version = "1.5.1"

// DefaultNamespace is the namespace the dev server always creates.
const DefaultNamespace = "default"

// Options configures Start.
type Options struct {
	// Binary is the temporal CLI to run; "" looks it up with FindBinary from the working
	// directory.
	Binary string
	// Dir holds the server log (server.log) and, with Persist, the SQLite database
	// (temporal.db). Required.
	Dir string
	// Persist keeps the server's state (workflows, schedules) in Dir/temporal.db across
	// restarts (`datasurface dev`), in WAL mode without an fsync per commit; otherwise it lives
	// in memory (tests).
	Persist bool
	// Port of the frontend gRPC service on 127.0.0.1; 0 picks a free one.
	Port int
	// UI starts the web UI on Port+1000 (default: headless).
	UI bool
	// Namespaces to create besides "default".
	Namespaces []string
	// Args are extra arguments of `temporal server start-dev` (e.g. --dynamic-config-value).
	Args []string
	// ReadyTimeout bounds the wait for the server and its namespaces (default 60 s).
	ReadyTimeout time.Duration
}

// Server is a running dev server.
type Server struct {
	// Addr is the frontend's host:port, what client.Options.HostPort takes.
	Addr string
	// Binary is the CLI that runs it.
	Binary string
	// LogFile receives the server's output.
	LogFile string

	cmd  *exec.Cmd
	done chan struct{}
	werr error
	once sync.Once
}

// ErrNotInstalled is returned by FindBinary when no temporal CLI is found.
var ErrNotInstalled = errors.New("the temporal CLI is not installed: run tools/install-temporal.sh (make test does)")

// FindBinary returns bin/temporal of the nearest enclosing directory of the working directory
// that has a go.work file, or else the temporal on PATH.
func FindBinary() (string, error) {
	wd, err := os.Getwd()
	if err == nil {
		for dir := wd; ; {
			if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
				p := filepath.Join(dir, "bin", "temporal")
				if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
					return p, nil
				}
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	if p, err := exec.LookPath("temporal"); err == nil {
		return p, nil
	}
	return "", ErrNotInstalled
}

// BinaryVersion returns the CLI version of a temporal binary ("1.5.1"): the module version
// recorded in a binary built with `go install` (which prints 0.0.0-DEV for --version), else what
// `temporal --version` prints (release binaries).
func BinaryVersion(ctx context.Context, binary string) (string, error) {
	if bi, err := buildinfo.ReadFile(binary); err == nil && strings.HasPrefix(bi.Main.Version, "v") {
		return strings.TrimPrefix(bi.Main.Version, "v"), nil
	}
	out, err := exec.CommandContext(ctx, binary, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", binary, err)
	}
	// "temporal version 1.5.1 (Server 1.29.1, UI 2.42.1)"
	f := strings.Fields(string(out))
	for i, w := range f {
		if w == "version" && i+1 < len(f) {
			return f[i+1], nil
		}
	}
	return "", fmt.Errorf("%s --version printed %q", binary, strings.TrimSpace(string(out)))
}

// Start starts a dev server and waits until its frontend serves every namespace. Stop it with
// Stop; it also dies with the calling process (Linux).
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("temporalserver: Dir is required")
	}
	bin := opts.Binary
	if bin == "" {
		var err error
		if bin, err = FindBinary(); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("temporalserver: %w", err)
	}
	port := opts.Port
	if port == 0 {
		var err error
		if port, err = freePort(); err != nil {
			return nil, fmt.Errorf("temporalserver: free port: %w", err)
		}
	}
	args := []string{"server", "start-dev",
		"--ip", "127.0.0.1", "--port", strconv.Itoa(port),
		"--log-level", "warn",
	}
	if opts.Persist {
		// WAL without an fsync per commit: SQLite's default rollback journal syncs every
		// transaction and makes a persisted server several times slower (1,000 schedules: 25-37 s
		// instead of 9-16 s, services/scheduler/benchsched). A crash of the process loses nothing;
		// one of the machine may lose the last transactions, which is fine for development.
		args = append(args, "--db-filename", filepath.Join(opts.Dir, "temporal.db"),
			"--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal")
	}
	if !opts.UI {
		args = append(args, "--headless")
	}
	for _, n := range opts.Namespaces {
		args = append(args, "--namespace", n)
	}
	args = append(args, opts.Args...)
	logFile := filepath.Join(opts.Dir, "server.log")
	logf, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("temporalserver: %w", err)
	}
	// Not CommandContext: the server outlives the start-up context and ends with Stop.
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("temporalserver: start %s: %w", bin, err)
	}
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Binary: bin, LogFile: logFile, cmd: cmd, done: make(chan struct{})}
	go func() {
		s.werr = cmd.Wait()
		_ = logf.Close()
		close(s.done)
	}()
	timeout := opts.ReadyTimeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := s.waitReady(rctx, append([]string{DefaultNamespace}, opts.Namespaces...)); err != nil {
		_ = s.Stop(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("temporalserver: %w; server log %s: %s", err, logFile, tailFile(logFile, 2000))
	}
	return s, nil
}

// waitReady waits until the frontend accepts connections and describes every namespace.
func (s *Server) waitReady(ctx context.Context, namespaces []string) error {
	for {
		select {
		case <-s.done:
			if s.werr == nil {
				return errors.New("the dev server exited")
			}
			return fmt.Errorf("the dev server exited: %w", s.werr)
		default:
		}
		if conn, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond); err == nil {
			_ = conn.Close()
			break
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return fmt.Errorf("no answer on %s: %w", s.Addr, err)
		}
	}
	for _, ns := range namespaces {
		for {
			out, err := exec.CommandContext(ctx, s.Binary, "operator", "namespace", "describe",
				"--namespace", ns, "--address", s.Addr, "--output", "json").CombinedOutput()
			if err == nil {
				break
			}
			if serr := sleep(ctx, 100*time.Millisecond); serr != nil {
				return fmt.Errorf("namespace %s not served on %s: %s", ns, s.Addr, bytes.TrimSpace(out))
			}
		}
	}
	return nil
}

// Stop interrupts the server and waits for it to exit (killing it after 10 s or when ctx ends).
func (s *Server) Stop(ctx context.Context) error {
	s.once.Do(func() { _ = s.cmd.Process.Signal(os.Interrupt) })
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-s.done:
		return nil
	case <-t.C:
	case <-ctx.Done():
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	return nil
}

// Exited is closed when the server process has ended.
func (s *Server) Exited() <-chan struct{} { return s.done }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func tailFile(p string, n int) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
