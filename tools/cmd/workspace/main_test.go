package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		work       string // go.work content; "" = none
		args       []string
		wantErr    error
		wantUsage  bool
		wantStdout string
		wantStderr string
	}{
		{name: "check passes", work: "go 1.26.0\n\nuse (\n\t./m\n)\n", args: []string{"check"}},
		{name: "check fails", work: "go 1.26.0\n\nuse (\n\t./m\n\t./x\n)\n", args: []string{"check"}, wantErr: errProblems,
			wantStderr: "workspace check: 1 problem(s):\n  go.work: out of date (no module at ./x); run `make workspace`\n"},
		{name: "sync writes go.work", args: []string{"sync"}, wantStdout: "wrote go.work\n"},
		{name: "no command", args: nil, wantUsage: true},
		{name: "unknown command", args: []string{"fix"}, wantUsage: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.MkdirAll(filepath.Join(root, "m"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, "m", "go.mod"), []byte("module example.com/m\n\ngo 1.26.0\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if tt.work != "" {
				if err := os.WriteFile(filepath.Join(root, "go.work"), []byte(tt.work), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var stdout, stderr bytes.Buffer
			err := run(append([]string{"-root", root}, tt.args...), &stdout, &stderr)
			var usage usageError
			switch {
			case tt.wantUsage:
				if !errors.As(err, &usage) {
					t.Fatalf("run error = %v, want a usage error", err)
				}
				if !strings.Contains(stderr.String(), "usage: workspace") {
					t.Errorf("stderr = %q, want the usage text", stderr.String())
				}
				return
			case !errors.Is(err, tt.wantErr):
				t.Fatalf("run error = %v, want %v", err, tt.wantErr)
			}
			if stdout.String() != tt.wantStdout {
				t.Errorf("stdout = %q, want %q", stdout.String(), tt.wantStdout)
			}
			if stderr.String() != tt.wantStderr {
				t.Errorf("stderr = %q, want %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}
