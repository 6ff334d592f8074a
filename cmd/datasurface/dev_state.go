package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// devState is what `datasurface dev` keeps in its data directory between runs (state.json, mode
// 0600): the ports of the components the model or the user refer to, generated secrets, and
// how far the seeding and the change simulation got.
type devState struct {
	mu   sync.Mutex
	path string

	PostgresPort int `json:"postgresPort"`
	KafkaPort    int `json:"kafkaPort"`
	NATSPort     int `json:"natsPort"`
	TemporalPort int `json:"temporalPort"`
	// MinIOPort is the port of the MinIO server of the raw batch archive (only when the model
	// keeps one).
	MinIOPort int `json:"minioPort,omitempty"`
	// Passwords of the logins dev creates, by login name.
	Passwords map[string]string `json:"passwords"`
	// Tokens are the API tokens of the model's repositories.
	Tokens map[string]string `json:"tokens"`
	// Seeded is set once the source databases hold their first rows.
	Seeded bool `json:"seeded"`
	// Next is the next row number of each simulated table ("datastore.dataset").
	Next map[string]int64 `json:"next"`
	// CDC is the simulated Debezium source: the live keys of each CDC dataset and their row
	// versions, and the last LSN written.
	CDC    map[string]map[string]int64 `json:"cdc"`
	CDCLSN int64                       `json:"cdcLsn"`
}

// loadDevState reads dir/state.json, or returns a new state.
func loadDevState(dir string) (*devState, error) {
	s := &devState{path: filepath.Join(dir, "state.json")}
	b, err := os.ReadFile(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if err := json.Unmarshal(b, s); err != nil {
			return nil, fmt.Errorf("%s: %w (remove it or run with --reset)", s.path, err)
		}
	}
	if s.Passwords == nil {
		s.Passwords = map[string]string{}
	}
	if s.Tokens == nil {
		s.Tokens = map[string]string{}
	}
	if s.Next == nil {
		s.Next = map[string]int64{}
	}
	if s.CDC == nil {
		s.CDC = map[string]map[string]int64{}
	}
	return s, nil
}

// save writes the state atomically.
func (s *devState) save() error {
	s.mu.Lock()
	b, err := json.MarshalIndent(s, "", "  ")
	s.mu.Unlock()
	if err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, s.path)
}

// secret returns the value kept under key in m, generating it on first use.
func (s *devState) secret(m map[string]string, key string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := m[key]; ok {
		return v
	}
	v := randomHex(16)
	m[key] = v
	return v
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b)
}

// port returns *p when it is free to listen on, else picks a free port and stores it; sticky
// ports are ones the model refers to: for them a taken port is an error.
func (s *devState) port(p *int, what string, sticky bool) (int, error) {
	if *p != 0 {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*p)))
		if err == nil {
			_ = l.Close()
			return *p, nil
		}
		if sticky {
			return 0, fmt.Errorf("%s port %d (recorded in %s and in the pushed model) is taken: stop what uses it, or start over with --reset", what, *p, s.path)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	*p = l.Addr().(*net.TCPAddr).Port
	return *p, nil
}

// writeEnvFile writes the credentials as NAME=value lines (mode 0600), for running other
// datasurface commands against the dev stack.
func writeEnvFile(p string, env map[string]string) error {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, env[k])
	}
	return os.WriteFile(p, []byte(b.String()), 0o600)
}
