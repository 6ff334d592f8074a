package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datasurface/datasurface/kit/pgcluster"
	"github.com/datasurface/datasurface/kit/pgtest"
	"github.com/datasurface/datasurface/kit/temporalserver"
)

var (
	psqlLine      = regexp.MustCompile(`psql "([^"]+)" -c '([^']+)'`)
	committedLine = regexp.MustCompile(`batch\s+(\S+ \S+) #(\d+) committed: (\d+) rows`)
)

// devSession is one `datasurface dev` running in this process.
type devSession struct {
	out    *syncBuffer
	cancel context.CancelFunc
	done   chan int
}

func startDev(t *testing.T, args ...string) *devSession {
	t.Helper()
	s := &devSession{out: &syncBuffer{}, done: make(chan int, 1)}
	c := &cli{stdout: s.out, stderr: s.out, getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	s.cancel = cancel
	go func() {
		err := c.run(ctx, append([]string{"dev"}, args...))
		s.done <- exitCode(err, s.out)
	}()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop cancels dev (as Ctrl-C does) and checks that it stops cleanly.
func (s *devSession) stop(t *testing.T) {
	t.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case code := <-s.done:
		if code != 0 {
			t.Errorf("dev exit code %d, want 0; output:\n%s", code, s.out)
		}
	case <-time.After(60 * time.Second):
		t.Errorf("dev did not stop within 60 s; output:\n%s", s.out)
	}
}

// waitFor waits until cond holds for the output, or fails.
func (s *devSession) waitFor(t *testing.T, what string, timeout time.Duration, cond func(out string) bool) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out := s.out.String()
		if cond(out) {
			return out
		}
		select {
		case code := <-s.done:
			s.cancel = nil
			t.Fatalf("dev ended (exit code %d) before %s; output:\n%s", code, what, out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s; output:\n%s", what, timeout, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// queryAsConsumer runs the printed psql query with pgx, as the printed login, and returns the
// number of rows.
func queryAsConsumer(t *testing.T, dsn, sql string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn+"?sslmode=disable")
	if err != nil {
		t.Fatalf("connect as the printed consumer: %v", err)
	}
	defer conn.Close(context.Background())
	var user string
	var super bool
	if err := conn.QueryRow(ctx, "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&user, &super); err != nil {
		t.Fatal(err)
	}
	if super {
		t.Errorf("the printed login %s is a superuser; want an ordinary consumer login", user)
	}
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		t.Fatalf("%s as %s: %v", sql, user, err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// lastCommitted returns the highest committed batch id printed per stream.
func lastCommitted(out string) map[string]int {
	m := map[string]int{}
	for _, sm := range committedLine.FindAllStringSubmatch(out, -1) {
		id, _ := strconv.Atoi(sm[2])
		m[sm[1]] = max(m[sm[1]], id)
	}
	return m
}

// TestDev runs `datasurface dev` twice on one data directory, everything real: the first run
// starts every component, pushes the embedded example, seeds the sources and prints a psql line
// whose query, run as the printed consumer login, returns rows; its progress shows the verdict,
// batches and grants; Ctrl-C stops it cleanly. The second run resumes: no re-seed, the push is a
// no-op, the data is still readable and later batches commit.
func TestDev(t *testing.T) {
	if _, err := pgcluster.FindBinaries(); err != nil {
		pgtest.Missing(t, "PostgreSQL", err)
	}
	if _, err := temporalserver.FindBinary(); err != nil {
		pgtest.Missing(t, "Temporal", err)
	}
	dir := t.TempDir()
	args := []string{"--dir", dir, "--listen", freeAddr(t)}

	began := time.Now()
	s := startDev(t, args...)
	out := s.waitFor(t, "psql line", 2*time.Minute, psqlLine.MatchString)
	t.Logf("cold start to psql-able data: %s", time.Since(began).Round(100*time.Millisecond))
	m := psqlLine.FindStringSubmatch(out)
	if n := queryAsConsumer(t, m[1], m[2]); n == 0 {
		t.Fatalf("%s returned no rows as the printed consumer", m[2])
	}
	out = s.waitFor(t, "verdict, batch and grants lines", time.Minute, func(out string) bool {
		return regexp.MustCompile(`verdict\s+proposal \S+ ACCEPTED`).MatchString(out) &&
			committedLine.MatchString(out) &&
			regexp.MustCompile(`grants\s+\S+: \d+ actions applied`).MatchString(out)
	})
	for _, want := range []string{"seed ", "rows in", "push: ACCEPTED", "committed version 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("first run output lacks %q:\n%s", want, out)
		}
	}
	before := lastCommitted(out)
	s.stop(t)
	first := s.out.String()
	if !strings.Contains(first, "stopping") {
		t.Errorf("first run did not say it stops:\n%s", first)
	}

	// The second run resumes.
	began = time.Now()
	s2 := startDev(t, args...)
	out = s2.waitFor(t, "psql line after resuming", 2*time.Minute, psqlLine.MatchString)
	t.Logf("resume to psql-able data: %s", time.Since(began).Round(100*time.Millisecond))
	if !strings.Contains(out, "sources already seeded") || regexp.MustCompile(`seed\s+\d+ rows`).MatchString(out) {
		t.Errorf("second run re-seeded or did not say it resumes:\n%s", out)
	}
	m = psqlLine.FindStringSubmatch(out)
	if n := queryAsConsumer(t, m[1], m[2]); n == 0 {
		t.Errorf("after resuming, %s returned no rows", m[2])
	}
	s2.waitFor(t, "the unchanged push to be a no-op and a later batch to commit", 90*time.Second, func(out string) bool {
		if !strings.Contains(out, "no change: the model stays at version 1") {
			return false
		}
		for stream, id := range lastCommitted(out) {
			if id > before[stream] && before[stream] > 0 {
				return true
			}
		}
		return false
	})
	t.Logf("resume to a later committed batch: %s", time.Since(began).Round(100*time.Millisecond))
}

// TestDevLocalizesModel: the embedded example is rewritten in memory so that every database
// address and Kafka bootstrap list points at dev's components, and dev derives the logins of
// every credential and consumer the model names.
func TestDevLocalizesModel(t *testing.T) {
	files, err := readModelFiles("")
	if err != nil {
		t.Fatal(err)
	}
	m, err := localizeModel(files, 5999, "127.0.0.1:9999")
	if err != nil {
		t.Fatal(err)
	}
	if m.hosts == 0 || m.brokers == 0 {
		t.Fatalf("rewrote %d database addresses and %d bootstrap lists, want some of each", m.hosts, m.brokers)
	}
	var hosts []string
	for _, p := range m.yellowPlatforms() {
		pg := p.GetYellow().GetMergeDatabase().GetPostgres()
		hosts = append(hosts, pg.GetHost()+":"+strconv.Itoa(int(pg.GetPort())))
	}
	for _, team := range m.model.GetTeams() {
		for _, c := range team.GetContainers() {
			if pg := c.GetPostgres(); pg != nil {
				hosts = append(hosts, pg.GetHost()+":"+strconv.Itoa(int(pg.GetPort())))
			}
		}
	}
	for _, ds := range m.model.GetDatastores() {
		if k := ds.GetCapture().GetKafkaCdc(); k != nil {
			if got := k.GetContainer().GetKafka().GetBootstrapServers(); len(got) != 1 || got[0] != "127.0.0.1:9999" {
				t.Errorf("%s bootstrap servers %q, want [127.0.0.1:9999]", ds.GetName(), got)
			}
		}
		if db, ok := sourceDatabase(m, ds); ok && db == "" {
			t.Errorf("%s: source database without a name", ds.GetName())
		}
	}
	for _, h := range hosts {
		if h != "127.0.0.1:5999" {
			t.Errorf("database address %s, want 127.0.0.1:5999", h)
		}
	}
	kinds := map[string][]string{}
	for _, l := range devLogins(m) {
		kinds[l.kind] = append(kinds[l.kind], l.user)
	}
	for _, k := range []string{"merge", "security", "source", "kafka", "transformer", "consumer"} {
		if len(kinds[k]) == 0 {
			t.Errorf("no %s login derived from the example; got %v", k, kinds)
		}
	}
	if len(m.repositories()) < 2 || m.repositories()[0] != m.model.GetEcosystem().GetOwningRepo() {
		t.Errorf("repositories %q: want the ecosystem's owner first, then the zones' and teams'", m.repositories())
	}
}

// TestConnectDecimal encodes decimals as Kafka Connect does (big-endian two's complement of the
// unscaled value, base64).
func TestConnectDecimal(t *testing.T) {
	for _, tc := range []struct {
		in    string
		scale int
		want  []byte
	}{
		{"1.5", 2, []byte{0, 150}},
		{"0", 2, []byte{0}},
		{"-1.00", 2, []byte{0x9c}},
		{"1.28", 2, []byte{0, 128}},
	} {
		got, err := base64.StdEncoding.DecodeString(connectDecimal(tc.in, tc.scale))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, tc.want) {
			t.Errorf("connectDecimal(%q, %d) = %v, want %v", tc.in, tc.scale, got, tc.want)
		}
	}
}
