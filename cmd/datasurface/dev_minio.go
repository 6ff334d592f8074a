package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// devMinIOUser is the root user of the MinIO server dev runs for the raw batch archive; its
// password is generated once and kept in state.json (under this name in passwords).
const devMinIOUser = "dev_minio"

// errNoMinIO: no MinIO server binary was found.
var errNoMinIO = errors.New("no MinIO server: neither bin/minio of the repository, next to this executable, nor minio on PATH")

// devArchives returns the raw archives of the model's Yellow platforms: their buckets (sorted,
// without repeats) and the names of their credentials.
func (m *devModel) devArchives() (buckets, creds []string) {
	for _, p := range m.yellowPlatforms() {
		ra := p.GetYellow().GetRawArchive()
		if ra == nil {
			continue
		}
		if b := ra.GetBucket(); b != "" && !slices.Contains(buckets, b) {
			buckets = append(buckets, b)
		}
		if c := ra.GetCredential().GetName(); c != "" && !slices.Contains(creds, c) {
			creds = append(creds, c)
		}
	}
	slices.Sort(buckets)
	return buckets, creds
}

// archiveEnv adds the env credential store's variables of the archive credentials (type
// API_KEY_PAIR: <NAME>_API_KEY, <NAME>_API_SECRET) to env: MinIO's root login.
func archiveEnv(env map[string]string, creds []string, user, password string) {
	for _, c := range creds {
		env[c+"_API_KEY"] = user
		env[c+"_API_SECRET"] = password
	}
}

// findMinIOBinary finds the MinIO server (a variable for tests).
var findMinIOBinary = findMinIO

// findMinIO returns the MinIO server: bin/minio of the enclosing repository (the directory
// with go.work), the one next to this executable, or minio on PATH.
func findMinIO() (string, error) {
	executable := func(p string) bool {
		st, err := os.Stat(p)
		return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
	}
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; {
			if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
				if p := filepath.Join(dir, "bin", "minio"); executable(p) {
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
	if exe, err := os.Executable(); err == nil {
		if p := filepath.Join(filepath.Dir(exe), "minio"); executable(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p, nil
	}
	return "", errNoMinIO
}

// devMinIO is a MinIO server dev started.
type devMinIO struct {
	cmd      *exec.Cmd
	endpoint string
	out      *syncWriter
	exited   chan struct{}
	waitErr  error
	stopOnce sync.Once
}

// syncWriter keeps the last output of a child process for error messages.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.b.Len() > 64<<10 {
		w.b.Reset()
	}
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// startMinIO starts bin on 127.0.0.1:port with its data in dir and the given root login, and
// waits until it is live (at most a minute).
func startMinIO(ctx context.Context, bin, dir string, port int, user, password string) (*devMinIO, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	console, err := freeLoopbackPort()
	if err != nil {
		return nil, err
	}
	endpoint := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin, "server", "--quiet", "--address", endpoint,
		"--console-address", net.JoinHostPort("127.0.0.1", strconv.Itoa(console)), dir)
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+user, "MINIO_ROOT_PASSWORD="+password,
		"MINIO_UPDATE=off", "MINIO_BROWSER=off")
	m := &devMinIO{cmd: cmd, endpoint: endpoint, out: &syncWriter{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = m.out, m.out
	cmd.SysProcAttr = minioProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		m.waitErr = cmd.Wait()
		close(m.exited)
	}()
	hc := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(time.Minute); ; {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+endpoint+"/minio/health/live", nil)
		if err != nil {
			m.stop()
			return nil, err
		}
		resp, err := hc.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return m, nil
			}
		}
		select {
		case <-m.exited:
			werr := m.waitErr
			if werr == nil {
				werr = errors.New("exit status 0")
			}
			return nil, fmt.Errorf("%s exited before it was live (%w): %s", bin, werr, m.out.String())
		case <-ctx.Done():
			m.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			m.stop()
			return nil, fmt.Errorf("MinIO at %s was not live within a minute: %s", endpoint, m.out.String())
		}
	}
}

// stop ends the server: SIGTERM, then SIGKILL after 10 s.
func (m *devMinIO) stop() {
	m.stopOnce.Do(func() {
		_ = m.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-m.exited:
		case <-time.After(10 * time.Second):
			_ = m.cmd.Process.Kill()
			<-m.exited
		}
	})
}

// makeBuckets creates the buckets that do not exist yet.
func makeBuckets(ctx context.Context, endpoint, user, password string, buckets []string) error {
	cl, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(user, password, "")})
	if err != nil {
		return err
	}
	for _, b := range buckets {
		ok, err := cl.BucketExists(ctx, b)
		if err != nil {
			return fmt.Errorf("bucket %s: %w", b, err)
		}
		if ok {
			continue
		}
		if err := cl.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
			return fmt.Errorf("create bucket %s: %w", b, err)
		}
	}
	return nil
}

// freeLoopbackPort returns a loopback port that was free a moment ago.
func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// devArchive is the raw batch archive of a dev run: the model's buckets and credentials, and
// the MinIO server starting in the background (res is nil when none runs).
type devArchive struct {
	buckets, creds []string
	user, password string
	res            chan minioResult
	received       bool
	server         *devMinIO
}

type minioResult struct {
	s   *devMinIO
	err error
}

// startArchive starts MinIO in the background when the model keeps a raw batch archive. Without
// a MinIO binary it warns (with how to install one) and carries on: those ingests then fail.
func (r *devRun) startArchive(ctx context.Context, m *devModel) (*devArchive, error) {
	a := &devArchive{}
	a.buckets, a.creds = m.devArchives()
	if len(a.buckets) == 0 {
		r.p.event("archive", "the model keeps no raw batch archive: no MinIO needed")
		return a, nil
	}
	bin, err := findMinIOBinary()
	if err != nil {
		r.p.line("warning", "the model keeps a raw batch archive (bucket(s) %s) but there is %v; its platforms' ingests fail until MinIO is installed: run tools/install-minio.sh (or `make test`, which builds bin/minio)",
			strings.Join(a.buckets, ", "), err)
		return a, nil
	}
	port, err := r.st.port(&r.st.MinIOPort, "MinIO", false)
	if err != nil {
		return nil, err
	}
	a.user, a.password = devMinIOUser, r.st.secret(r.st.Passwords, devMinIOUser)
	if err := r.st.save(); err != nil {
		return nil, err
	}
	a.res = make(chan minioResult, 1)
	go func() {
		s, err := startMinIO(ctx, bin, filepath.Join(r.dir, "minio"), port, a.user, a.password)
		a.res <- minioResult{s, err}
	}()
	r.defer_(a.stop)
	return a, nil
}

// wait returns the started server (once it is live), or why it did not start.
func (a *devArchive) wait() (*devMinIO, error) {
	if a.res == nil {
		return nil, nil
	}
	if !a.received {
		res := <-a.res
		a.received, a.server = true, res.s
		if res.err != nil {
			return nil, fmt.Errorf("minio: %w", res.err)
		}
	}
	return a.server, nil
}

// await waits for MinIO, creates the archive buckets, adds the archive credentials (MinIO's
// root login) to env and returns the endpoint for ingest ("" when no MinIO runs).
func (a *devArchive) await(ctx context.Context, r *devRun, env map[string]string) (string, error) {
	s, err := a.wait()
	if err != nil || s == nil {
		return "", err
	}
	bctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := makeBuckets(bctx, s.endpoint, a.user, a.password, a.buckets); err != nil {
		return "", fmt.Errorf("minio: %w", err)
	}
	archiveEnv(env, a.creds, a.user, a.password)
	r.p.line("archive", "MinIO at %s, bucket(s) %s (data in %s)", s.endpoint, strings.Join(a.buckets, ", "), filepath.Join(r.dir, "minio"))
	return s.endpoint, nil
}

// stop stops MinIO (after the services).
func (a *devArchive) stop() {
	if s, _ := a.wait(); s != nil {
		s.stop()
	}
}
