package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datasurface/datasurface/kit/natsserver"
	"github.com/datasurface/datasurface/kit/pgtest"
	"github.com/datasurface/datasurface/services/ingest"
	"github.com/google/go-cmp/cmp"
)

// Repositories and tokens of the in-process control plane (examples/acme).
const (
	paymentsRepo  = "acme/datasurface-model@team-payments"
	ecoToken      = "eco-token-0123456789"
	salesToken    = "sales-token-0123456789"
	paymentsToken = "payments-token-0123456789"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a running serve.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serving is a `datasurface serve` running in this process.
type serving struct {
	url    string
	stderr *syncBuffer
	stop   func() int // cancels serve and returns its exit code
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// startServe runs `datasurface serve args…` (plus --listen on a free port) until the test ends
// or stop is called, and waits until /readyz answers 200. env is the environment serve sees.
func startServe(t *testing.T, env map[string]string, args ...string) *serving {
	t.Helper()
	addr := freeAddr(t)
	stderr := &syncBuffer{}
	c := &cli{stdout: &syncBuffer{}, stderr: stderr, getenv: func(k string) string { return env[k] }}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan int, 1)
	go func() {
		err := c.run(ctx, append([]string{"serve", "--listen", addr}, args...))
		done <- exitCode(err, stderr)
	}()
	var once sync.Once
	code := -1
	stop := func() int {
		once.Do(func() {
			cancel()
			select {
			case code = <-done:
			case <-time.After(20 * time.Second):
				t.Errorf("serve did not stop within 20 s; log:\n%s", stderr)
			}
		})
		return code
	}
	t.Cleanup(func() {
		if got := stop(); got != 0 {
			t.Errorf("serve exit code = %d, want 0; log:\n%s", got, stderr)
		}
	})
	s := &serving{url: "http://" + addr, stderr: stderr, stop: stop}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case code := <-done:
			t.Fatalf("serve ended with exit code %d before it was ready; log:\n%s", code, stderr)
		default:
		}
		resp, err := http.Get(s.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready within 20 s; log:\n%s", stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// controlPlane starts a NATS server and a Postgres database for this test and runs modelsvc and
// the validator on them with `datasurface serve`, configured through flags and the environment.
// Without PostgreSQL the test is skipped, or fails when CI is set.
func controlPlane(t *testing.T) *serving {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	ns := natsserver.StartForTest(t)
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens.yaml")
	writeFile(t, tokens, fmt.Sprintf("%s: %s\n%s: %s\n%s: %s\n", ecoRepo, ecoToken, salesRepo, salesToken, paymentsRepo, paymentsToken))
	secrets := filepath.Join(dir, "webhooks.json")
	writeFile(t, secrets, fmt.Sprintf(`{%q: "hook-secret"}`, salesRepo))
	env := map[string]string{
		"DATASURFACE_DATABASE":   dsn,
		"DATASURFACE_NATS":       ns.ClientURL(),
		"DATASURFACE_LOG_FORMAT": "text",
	}
	return startServe(t, env,
		"--service", "modelsvc,validator", "--tokens-file", tokens, "--webhook-secrets-file", secrets, "--log-level", "warn")
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestServeUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStderr string
	}{
		{name: "no service", args: []string{"serve"}, wantCode: 2, wantStderr: "no service given"},
		{name: "unknown service", args: []string{"serve", "--service=modelsvc", "--service=frobnicator"}, wantCode: 2,
			wantStderr: `unknown service "frobnicator" (services: modelsvc, validator, scheduler, ingest, merge, security)`},
		{name: "temporal services without --temporal", args: []string{"serve", "--service=validator,scheduler,merge", "--log-level=error"}, wantCode: 2,
			wantStderr: "--temporal (or DATASURFACE_TEMPORAL) is required by scheduler, merge"},
		{name: "service from the environment", args: []string{"serve", "--log-level=error"}, env: map[string]string{"DATASURFACE_SERVICE": "ingest, security"}, wantCode: 2,
			wantStderr: "--temporal (or DATASURFACE_TEMPORAL) is required by ingest, security"},
		{name: "nats unreachable (temporal service)", args: []string{"serve", "--service=ingest", "--log-level=error"},
			env: map[string]string{"DATASURFACE_TEMPORAL": "127.0.0.1:1", "DATASURFACE_NATS": "nats://127.0.0.1:1"}, wantCode: 2,
			wantStderr: "serve: nats nats://127.0.0.1:1:"},
		{name: "unknown service from the environment", args: []string{"serve"}, env: map[string]string{"DATASURFACE_SERVICE": "nope"}, wantCode: 2,
			wantStderr: `unknown service "nope"`},
		{name: "bad log format", args: []string{"serve", "--service=validator", "--log-format=xml"}, wantCode: 2,
			wantStderr: "--log-format must be json or text"},
		{name: "bad log level from the environment", args: []string{"serve", "--service=validator"}, env: map[string]string{"DATASURFACE_LOG_LEVEL": "loud"}, wantCode: 2,
			wantStderr: "--log-level must be debug, info, warn or error"},
		{name: "argument", args: []string{"serve", "--service=validator", "extra"}, wantCode: 2, wantStderr: `unexpected argument "extra"`},
		{name: "modelsvc without database", args: []string{"serve", "--service=modelsvc", "--log-level=error"}, wantCode: 2,
			wantStderr: "--database (or DATASURFACE_DATABASE) is required by modelsvc"},
		{name: "nats unreachable", args: []string{"serve", "--service=validator", "--nats=nats://127.0.0.1:1", "--log-level=error"}, wantCode: 2,
			wantStderr: "serve: nats nats://127.0.0.1:1:"},
		{name: "help", args: []string{"serve", "-h"}, wantStderr: "DATASURFACE_WEBHOOK_SECRETS_FILE"},
		{name: "help lists the archive and Kafka flags", args: []string{"serve", "-h"}, wantStderr: "DATASURFACE_KAFKA_SECURITY_PROTOCOL"},
		{name: "bad kafka security protocol", args: []string{"serve", "--service=ingest", "--kafka-security-protocol=SASL_SCRAM"}, wantCode: 2,
			wantStderr: `--kafka-security-protocol (or DATASURFACE_KAFKA_SECURITY_PROTOCOL) must be plaintext, ssl, sasl_plaintext, sasl_ssl, not "SASL_SCRAM"`},
		{name: "bad kafka security protocol from the environment", args: []string{"serve", "--service=ingest"},
			env: map[string]string{"DATASURFACE_KAFKA_SECURITY_PROTOCOL": "tls"}, wantCode: 2, wantStderr: `not "tls"`},
		{name: "archive endpoint without a port", args: []string{"serve", "--service=ingest", "--archive-endpoint=minio"}, wantCode: 2,
			wantStderr: `--archive-endpoint (or DATASURFACE_ARCHIVE_ENDPOINT) must be host:port, not "minio"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			c := &cli{stdout: &out, stderr: &errb, getenv: func(k string) string { return tt.env[k] }}
			code := exitCode(c.run(t.Context(), tt.args), &errb)
			if diff := cmp.Diff(tt.wantCode, code); diff != "" {
				t.Errorf("exit code (-want +got):\n%s\nstderr:\n%s", diff, errb.String())
			}
			if !strings.Contains(errb.String(), tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", errb.String(), tt.wantStderr)
			}
		})
	}
}

// TestServeSecretsFileErrors: a bad tokens or secrets file stops serve before it connects to
// anything, and the message names the file and line but never the content.
func TestServeSecretsFileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "tokens.yaml")
	writeFile(t, bad, "acme/model@eco: s3cr3t-1\nacme/model@main: [s3cr3t-2]\n")
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{name: "tokens", args: []string{"--tokens-file", bad}, wantStderr: "serve: --tokens-file: " + bad + `: line 2: the secret of "acme/model@main" must be a non-empty string`},
		{name: "webhook secrets", args: []string{"--webhook-secrets-file", bad}, wantStderr: "serve: --webhook-secrets-file: " + bad + ": line 2:"},
		{name: "missing file", args: []string{"--tokens-file", filepath.Join(dir, "nope")}, wantStderr: "no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			c := &cli{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
			args := append([]string{"serve", "--service=modelsvc", "--nats=nats://127.0.0.1:1", "--database=postgres://127.0.0.1:1/x"}, tt.args...)
			code := exitCode(c.run(t.Context(), args), &errb)
			if code != 2 || !strings.Contains(errb.String(), tt.wantStderr) {
				t.Errorf("exit code %d, stderr %q; want 2 and %q", code, errb.String(), tt.wantStderr)
			}
			if strings.Contains(errb.String(), "s3cr3t") {
				t.Errorf("stderr shows a secret: %q", errb.String())
			}
		})
	}
}

// TestServeArchiveAndKafkaConfig: the archive and Kafka flags, or their environment variables,
// reach the ingest service's configuration; the command line wins over the environment.
func TestServeArchiveAndKafkaConfig(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want ingest.Config
	}{
		{name: "defaults", want: ingest.Config{Kafka: ingest.KafkaConfig{SecurityProtocol: "plaintext"}}},
		{name: "flags",
			args: []string{"--archive-endpoint", "minio:9000", "--archive-secure", "--archive-region", "eu-central-1", "--kafka-security-protocol", "sasl_ssl"},
			want: ingest.Config{Archive: ingest.ArchiveConfig{Endpoint: "minio:9000", Secure: true, Region: "eu-central-1"}, Kafka: ingest.KafkaConfig{SecurityProtocol: "sasl_ssl"}}},
		{name: "environment",
			env: map[string]string{"DATASURFACE_ARCHIVE_ENDPOINT": "s3.example.com:443", "DATASURFACE_ARCHIVE_SECURE": "true",
				"DATASURFACE_ARCHIVE_REGION": "us-east-1", "DATASURFACE_KAFKA_SECURITY_PROTOCOL": "ssl"},
			want: ingest.Config{Archive: ingest.ArchiveConfig{Endpoint: "s3.example.com:443", Secure: true, Region: "us-east-1"}, Kafka: ingest.KafkaConfig{SecurityProtocol: "ssl"}}},
		{name: "flag over environment", args: []string{"--archive-endpoint", "127.0.0.1:9000", "--kafka-security-protocol", "sasl_plaintext"},
			env:  map[string]string{"DATASURFACE_ARCHIVE_ENDPOINT": "minio:9000", "DATASURFACE_KAFKA_SECURITY_PROTOCOL": "ssl"},
			want: ingest.Config{Archive: ingest.ArchiveConfig{Endpoint: "127.0.0.1:9000"}, Kafka: ingest.KafkaConfig{SecurityProtocol: "sasl_plaintext"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			c := &cli{stdout: &out, stderr: &errb, getenv: func(k string) string { return tt.env[k] }}
			cfg, err := c.serveConfig(append([]string{"--service=ingest"}, tt.args...))
			if err != nil {
				t.Fatalf("serveConfig: %v (stderr %q)", err, errb.String())
			}
			if diff := cmp.Diff(tt.want, ingestConfig(cfg)); diff != "" {
				t.Errorf("ingest config (-want +got):\n%s", diff)
			}
		})
	}
}
