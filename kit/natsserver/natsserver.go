// Package natsserver runs an in-process NATS server with JetStream on loopback, for
// `datasurface dev` and for tests.
package natsserver

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Options configures Start.
type Options struct {
	// Dir is the JetStream store directory (file storage). Required.
	Dir string
	// Port to listen on; 0 picks a free one.
	Port int
	// SyncAlways makes JetStream fsync every write (the MODEL stream's policy, DESIGN.md §3).
	SyncAlways bool
}

// Start starts a server and waits until it accepts connections.
func Start(opts Options) (*server.Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("natsserver: Dir is required")
	}
	port := opts.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	s, err := server.NewServer(&server.Options{
		ServerName: "datasurface",
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   opts.Dir,
		SyncAlways: opts.SyncAlways,
		NoSigs:     true,
		NoLog:      true,
		MaxPayload: 8 << 20,
	})
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, errors.New("nats server did not become ready within 10s")
	}
	return s, nil
}

// StartForTest starts a server on a temp dir that the test's cleanup shuts down. It fails the
// test when the server cannot start (nothing here is optional: the server is in-process).
func StartForTest(t testing.TB) *server.Server {
	t.Helper()
	dir, err := os.MkdirTemp("", "natstest-")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(Options{Dir: dir, SyncAlways: false})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
		_ = os.RemoveAll(dir)
	})
	return s
}
