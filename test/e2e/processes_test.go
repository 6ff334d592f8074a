package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/datasurface/datasurface/kit/natsserver"
	"github.com/datasurface/datasurface/kit/pgtest"
	"github.com/datasurface/datasurface/kit/temporalserver"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	schedulerv1 "github.com/datasurface/datasurface/proto/gen/datasurface/scheduler/v1"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Repositories of the processes test: the model's owner (ecosystem, zone Z, team T) and team
// U's repository, which owns no part of team T.
const (
	procOwnerRepo  = "acme/datasurface-model@eco"
	procOwnerToken = "eco-token-processes-0123456789"
	procTeamURepo  = "acme/datasurface-model@team-u"
	procTeamUToken = "team-u-token-processes-0123456789"
)

// processesOverlay is copied over the batch model template: zone Z declares team U, owned by
// procTeamURepo.
const processesOverlay = "testdata/processes"

// serveServices are the six services, each run as its own `datasurface serve` process.
var serveServices = []string{"modelsvc", "validator", "scheduler", "ingest", "merge", "security"}

// TestProcesses is the deployment of DESIGN.md §5 on loopback: every service is its own
// `datasurface serve --service=<name>` OS process of the real binary, sharing only a Postgres
// cluster, an in-process NATS JetStream server on a TCP port and the Temporal dev server; the
// test drives them with the real CLI (push, streams, model versions) and reads the consumer's
// view with pgx. It shows: push → committed → the stream's schedule → a triggered batch
// ingested and merged → the workspace view and its grants → the consumer reads the producer's
// rows; a compatible schema change (a new nullable column) reaching the consumer's view; a
// change from a repository that does not own the region rejected with nothing downstream
// moving; and a clean SIGTERM shutdown (exit 0) of every process. Without PostgreSQL or the
// Temporal CLI it is skipped locally and fails when CI is set. Not parallel: six processes.
func TestProcesses(t *testing.T) {
	began := time.Now()
	since := func() time.Duration { return time.Since(began).Round(time.Millisecond) }
	step := func(name string, f func(t *testing.T)) {
		t.Helper()
		if !t.Run(name, f) {
			t.FailNow() // the steps build on each other
		}
	}

	// Infrastructure: Postgres (control plane, merge and source databases, the roles of the
	// batch model), NATS JetStream on a loopback port, the Temporal dev server.
	cpDSN, srcDSN, mergeDSN := pgtest.NewDatabase(t), pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	execSQL(t, srcDSN,
		"CREATE TABLE public.items (id bigint PRIMARY KEY, label varchar(40) NOT NULL)",
		"INSERT INTO public.items VALUES (1, 'one'), (2, 'two'), (3, 'three')")
	src, merged := mustParse(t, srcDSN), mustParse(t, mergeDSN)
	mergeDB := strings.TrimPrefix(merged.Path, "/")
	execSQL(t, mergeDSN,
		createRole("e2e_reader", "NOLOGIN"),
		createRole("e2e_merge", "LOGIN"),
		createRole("e2e_security", "LOGIN CREATEROLE"),
		"GRANT CREATE, CONNECT ON DATABASE "+pgx.Identifier{mergeDB}.Sanitize()+" TO e2e_merge, e2e_security")
	ts := temporalserver.StartForTest(t)
	ns, err := natsserver.Start(natsserver.Options{Dir: t.TempDir(), SyncAlways: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	tc, err := client.Dial(client.Options{HostPort: ts.Addr, Namespace: temporalserver.DefaultNamespace,
		Logger: tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn})))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	bin := buildDatasurface(t)
	t.Logf("infrastructure and binary ready at %s", since())

	// The model: the batch template with zone Z declaring team U; v2 adds Shop.items.note
	// (owner's change), v3 adds Shop.items.extra (team U's change of team T's datastore).
	vars := map[string]string{
		"{{PORT}}":    merged.Port(),
		"{{MERGEDB}}": mergeDB,
		"{{SRCDB}}":   strings.TrimPrefix(src.Path, "/"),
	}
	const shop = "zones/z/teams/t/datastores/Shop.yaml"
	const labelCol = "        - {name: label, type: VarChar(40), nullable: false}\n"
	v1 := copyModel(t, vars, batchModel, processesOverlay)
	v2 := editedModel(t, v1, shop, labelCol, labelCol+"        - {name: note, type: VarChar(40), nullable: true}\n")
	v3 := editedModel(t, v2, shop, labelCol, labelCol+"        - {name: extra, type: VarChar(40), nullable: true}\n")

	tmp := t.TempDir()
	tokens := filepath.Join(tmp, "tokens.yaml")
	if err := os.WriteFile(tokens, fmt.Appendf(nil, "%s: %s\n%s: %s\n", procOwnerRepo, procOwnerToken, procTeamURepo, procTeamUToken), 0o600); err != nil {
		t.Fatal(err)
	}
	// The PSP's env credential store: each process gets only the credentials its service
	// uses (the test cluster trusts local logins, so passwords are not checked). The merge and
	// security logins are ordinary roles; the source login is the cluster's superuser.
	creds := map[string][]string{
		"E2E_MERGE":    {"e2e_merge", "unused"},
		"E2E_SECURITY": {"e2e_security", "unused"},
		"E2E_SRC":      {src.User.Username(), "unused"},
	}
	needs := map[string][]string{
		"scheduler": {"E2E_MERGE"},            // GetStream reads batch_metrics
		"ingest":    {"E2E_SRC", "E2E_MERGE"}, // source → staging in the merge database
		"merge":     {"E2E_MERGE"},
		"security":  {"E2E_SECURITY", "E2E_MERGE"}, // the merge login becomes a member of the platform's owner role
	}
	serviceEnv := func(name string) []string {
		extra := map[string]string{}
		for _, c := range needs[name] {
			extra[c+"_USER"], extra[c+"_PASSWORD"] = creds[c][0], creds[c][1]
		}
		return childEnv(extra)
	}
	env := childEnv(nil)
	ds := &dsCLI{bin: bin, env: env}

	procs := map[string]*serveProc{}
	t.Cleanup(func() { // failure paths; the last step stops them and checks the exit
		for _, p := range procs {
			p.kill()
		}
	})
	t.Cleanup(func() {
		if t.Failed() {
			for _, name := range serveServices {
				if p := procs[name]; p != nil {
					t.Logf("log of %s (%s), last lines:\n%s", name, p.logPath, tailLines(p.logPath, 40))
				}
			}
		}
	})
	step("six serve processes start and become ready", func(t *testing.T) {
		for _, name := range serveServices {
			args := []string{"serve", "--service=" + name, "--listen", freeAddr(t), "--nats", ns.ClientURL(),
				"--temporal", ts.Addr, "--log-format", "text", "--log-level", "info"}
			if name == "modelsvc" {
				args = append(args, "--database", cpDSN, "--tokens-file", tokens)
			}
			procs[name] = startServe(t, bin, name, args, serviceEnv(name), tmp)
		}
		// Every service is ready before the first push: readiness is about the service's own
		// connections and start-up, not about a model being committed.
		for _, name := range serveServices {
			procs[name].waitHTTP(t, "/readyz", 30*time.Second)
		}
		t.Logf("six processes up at %s", since())
	})
	modelsvcURL, schedURL := procs["modelsvc"].url, procs["scheduler"].url

	var stream string
	step("the owner's push commits version 1 and the scheduler creates the stream's schedule", func(t *testing.T) {
		res := ds.push(t, modelsvcURL, procOwnerRepo, procOwnerToken, v1)
		if res.State != "accepted" || res.Version != 1 || res.BaseVersion != 0 {
			t.Fatalf("push: %+v", res)
		}
		st := waitStreams(t, ds, schedURL, 1)
		stream = st.GetKey()
		if !st.GetSchedule().GetExists() || st.GetSchedule().GetId() == "" {
			t.Fatalf("stream %s: schedule %v, want it to exist", stream, st.GetSchedule())
		}
		procs["scheduler"].waitHTTP(t, "/readyz", 10*time.Second)
		t.Logf("version 1 committed, stream %s scheduled (%s) at %s", stream, st.GetSchedule().GetId(), since())
	})

	reader := newConsumerReader(mergeDSN)
	step("a triggered batch commits and the consumer reads the producer's rows", func(t *testing.T) {
		runBatch(t, ds, tc, schedURL, stream, 1)
		want := []string{"1 one", "2 two", "3 three"}
		view, cols, rows := reader.read(t)
		if diff := cmp.Diff([]string{"id", "label"}, cols); diff != "" {
			t.Errorf("columns of %s (-want +got):\n%s", view, diff)
		}
		if diff := cmp.Diff(want, rows); diff != "" {
			t.Errorf("rows of %s as e2e_reader (-want +got):\n%s", view, diff)
		}
		t.Logf("batch 1 read through %s at %s", view, since())
	})

	step("a new nullable column flows through to the consumer's view", func(t *testing.T) {
		execSQL(t, srcDSN,
			"ALTER TABLE public.items ADD COLUMN note varchar(40)",
			"UPDATE public.items SET note = 'first' WHERE id = 1",
			"UPDATE public.items SET note = 'third' WHERE id = 3",
			"INSERT INTO public.items VALUES (4, 'four', 'fourth')")
		res := ds.push(t, modelsvcURL, procOwnerRepo, procOwnerToken, v2)
		if res.State != "accepted" || res.Version != 2 || res.BaseVersion != 1 {
			t.Fatalf("push: %+v", res)
		}
		waitStreams(t, ds, schedURL, 2)
		runBatch(t, ds, tc, schedURL, stream, 2)
		want := []string{"1 one first", "2 two NULL", "3 three third", "4 four fourth"}
		view, cols, rows := reader.read(t)
		if diff := cmp.Diff([]string{"id", "label", "note"}, cols); diff != "" {
			t.Fatalf("columns of %s (-want +got):\n%s", view, diff)
		}
		if diff := cmp.Diff(want, rows); diff != "" {
			t.Errorf("rows of %s as e2e_reader (-want +got):\n%s", view, diff)
		}
		t.Logf("version 2 and batch 2 read through %s at %s", view, since())
	})

	step("a change from a repository that does not own the region is rejected and nothing moves", func(t *testing.T) {
		before := observe(t, ds, tc, reader, modelsvcURL, schedURL, stream)
		res := ds.push(t, modelsvcURL, procTeamURepo, procTeamUToken, v3)
		if res.State != "rejected" || res.Version != 0 || res.BaseVersion != 2 {
			t.Fatalf("push: %+v", res)
		}
		if !slices.ContainsFunc(res.Report.Problems, func(p pushProblem) bool {
			return p.RuleID == "DS-AUTH-002" && strings.Contains(p.Message, procTeamURepo)
		}) {
			t.Errorf("no DS-AUTH-002 naming %s in %+v", procTeamURepo, res.Report.Problems)
		}
		// Give every consumer of the MODEL stream time to act on anything it might have
		// received, then look again.
		time.Sleep(3 * time.Second)
		after := observe(t, ds, tc, reader, modelsvcURL, schedURL, stream)
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("downstream state moved after the rejected push (-before +after):\n%s", diff)
		}
		t.Logf("rejected, nothing moved (%+v) at %s", after, since())
	})

	step("SIGTERM stops every process with exit code 0", func(t *testing.T) {
		sent := time.Now()
		for _, name := range serveServices {
			if err := procs[name].cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Errorf("SIGTERM %s: %v", name, err)
			}
		}
		for _, name := range serveServices {
			p := procs[name]
			select {
			case <-p.done:
				if code := p.cmd.ProcessState.ExitCode(); code != 0 {
					t.Errorf("%s exited with %d (%v)", name, code, p.waitErr)
				} else {
					t.Logf("%s exited 0 %s after SIGTERM", name, p.exited.Sub(sent).Round(time.Millisecond))
				}
			case <-time.After(time.Until(sent.Add(10 * time.Second))):
				t.Errorf("%s still running 10 s after SIGTERM", name)
			}
		}
	})
	t.Logf("total %s", since())
}

// buildDatasurface builds the datasurface binary of this checkout into a temporary directory.
func buildDatasurface(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		pgtest.Missing(t, "the go command", err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "datasurface")
	cmd := exec.CommandContext(t.Context(), goBin, "build", "-o", out, "./cmd/datasurface")
	cmd.Dir = root
	began := time.Now()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/datasurface: %v\n%s", err, b)
	}
	t.Logf("built %s in %s", out, time.Since(began).Round(time.Millisecond))
	return out
}

// childEnv is the test's environment without DATASURFACE_* variables (the flags must be what
// configures the processes), plus extra.
func childEnv(extra map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DATASURFACE_") {
			env = append(env, kv)
		}
	}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// copyModel copies the template directories, later ones over earlier ones, to a new
// directory with the placeholders replaced.
func copyModel(t *testing.T, vars map[string]string, templates ...string) string {
	t.Helper()
	dst := t.TempDir()
	for _, tpl := range templates {
		err := filepath.WalkDir(tpl, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			content := string(b)
			for k, v := range vars {
				content = strings.ReplaceAll(content, k, v)
			}
			rel, err := filepath.Rel(tpl, p)
			if err != nil {
				return err
			}
			out := filepath.Join(dst, rel)
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				return err
			}
			return os.WriteFile(out, []byte(content), 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// editedModel copies the model dir and replaces old by new once in its file rel.
func editedModel(t *testing.T, dir, rel, old, new string) string {
	t.Helper()
	dst := copyModel(t, nil, dir)
	p := filepath.Join(dst, filepath.FromSlash(rel))
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("fixture: %q not in %s", old, rel)
	}
	if err := os.WriteFile(p, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// serveProc is one `datasurface serve` child process.
type serveProc struct {
	name, url, logPath string
	cmd                *exec.Cmd
	done               chan struct{} // closed when the process has exited
	waitErr            error
	exited             time.Time
	logFile            *os.File
}

// startServe starts bin with args, its output going to <dir>/<name>.log.
func startServe(t *testing.T, bin, name string, args, env []string, dir string) *serveProc {
	t.Helper()
	p := &serveProc{name: name, logPath: filepath.Join(dir, name+".log"), done: make(chan struct{})}
	f, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	p.logFile = f
	for i, a := range args {
		if a == "--listen" {
			p.url = "http://" + args[i+1]
		}
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		p.exited = time.Now()
		f.Close()
		close(p.done)
	}()
	return p
}

// waitHTTP polls GET path until it answers 200, failing early when the process exits.
func (p *serveProc) waitHTTP(t *testing.T, path string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		resp, err := http.Get(p.url + path)
		if err == nil {
			b := new(bytes.Buffer)
			_, _ = b.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(b.String()))
		} else {
			last = err.Error()
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited (%v) before %s answered 200; last answer %s", p.name, p.waitErr, path, last)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s%s not 200 within %s; last answer %s", p.name, p.url, path, timeout, last)
		}
	}
}

// kill ends the process if it still runs.
func (p *serveProc) kill() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// tailLines returns the last n lines of the file at path.
func tailLines(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// dsCLI runs one-shot commands of the binary.
type dsCLI struct {
	bin string
	env []string
}

// run runs the command and returns its stdout, stderr and exit code; it fails the test only
// when the command could not be run or did not end within 90 s.
func (c *dsCLI) run(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = append(slices.Clone(c.env), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), errOut.String(), 0
	case errors.As(err, &ee) && ctx.Err() == nil:
		return out.String(), errOut.String(), ee.ExitCode()
	}
	t.Fatalf("datasurface %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out.String(), errOut.String())
	return "", "", 0
}

// pushResult is the JSON output of `datasurface push --format json`.
type pushResult struct {
	State       string `json:"state"`
	Version     int64  `json:"version"`
	BaseVersion int64  `json:"baseVersion"`
	Report      struct {
		Problems []pushProblem `json:"problems"`
	} `json:"report"`
}

type pushProblem struct {
	RuleID   string `json:"ruleId"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
}

// push runs `datasurface push DIR` with the repository's token in DATASURFACE_TOKEN; exit
// code 0 must mean accepted and 1 rejected.
func (c *dsCLI) push(t *testing.T, server, source, token, dir string) pushResult {
	t.Helper()
	out, stderr, code := c.run(t, []string{"DATASURFACE_TOKEN=" + token}, "push", dir, "--source", source, "--server", server, "--format", "json")
	if code != 0 && code != 1 {
		t.Fatalf("push %s as %s: exit code %d\n%s", dir, source, code, stderr)
	}
	var res pushResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("push output %q: %v", out, err)
	}
	if (code == 0) != (res.State == "accepted") {
		t.Errorf("push exited %d with state %q", code, res.State)
	}
	return res
}

// protoJSON runs a command with --format json and decodes its output into m; a non-zero exit
// code is an error with the command's stderr.
func (c *dsCLI) protoJSON(t *testing.T, m proto.Message, args ...string) error {
	t.Helper()
	out, stderr, code := c.run(t, nil, append(args, "--format", "json")...)
	if code != 0 {
		return fmt.Errorf("datasurface %s: exit code %d: %s", strings.Join(args, " "), code, strings.TrimSpace(stderr))
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal([]byte(out), m); err != nil {
		t.Fatalf("datasurface %s: output %q: %v", strings.Join(args, " "), out, err)
	}
	return nil
}

// mustProtoJSON is protoJSON failing the test on an error.
func (c *dsCLI) mustProtoJSON(t *testing.T, m proto.Message, args ...string) {
	t.Helper()
	if err := c.protoJSON(t, m, args...); err != nil {
		t.Fatal(err)
	}
}

// waitStreams polls `streams list` until the scheduler has reconciled model version v, and
// returns the stream of datastore Shop on platform Live.
func waitStreams(t *testing.T, c *dsCLI, server string, v int64) *schedulerv1.Stream {
	t.Helper()
	var found *schedulerv1.Stream
	var last any
	deadline := time.Now().Add(30 * time.Second)
	for {
		// Unavailable until the scheduler has reconciled a committed model.
		resp := &schedulerv1.ListStreamsResponse{}
		if err := c.protoJSON(t, resp, "streams", "list", "--server", server); err != nil {
			last = err
		} else {
			last = resp
			if resp.GetModelVersion() == v {
				for _, st := range resp.GetStreams() {
					if st.GetPlatform() == "Live" && st.GetDatastore() == "Shop" {
						found = st
					}
				}
				if found != nil {
					return found
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scheduler did not list the stream of Shop at model version %d within 30 s; last answer %v", v, last)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// runBatch triggers the stream with `streams trigger`, waits with `streams get` until batch
// id is committed, and then for the batch's workflow to complete (views and grants come after
// the commit).
func runBatch(t *testing.T, c *dsCLI, tc client.Client, server, stream string, id int32) {
	t.Helper()
	get := func() *schedulerv1.GetStreamResponse {
		resp := &schedulerv1.GetStreamResponse{}
		c.mustProtoJSON(t, resp, "streams", "get", stream, "--platform", "Live", "--server", server)
		return resp
	}
	runs := len(get().GetStream().GetSchedule().GetRecentRuns())
	trig := &schedulerv1.TriggerResponse{}
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := c.protoJSON(t, trig, "streams", "trigger", stream, "--platform", "Live", "--server", server)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("trigger refused for 20 s: %v", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	var last *schedulerv1.GetStreamResponse
	deadline = time.Now().Add(60 * time.Second)
	for {
		last = get()
		i := slices.IndexFunc(last.GetBatches(), func(b *schedulerv1.Batch) bool { return b.GetId() == id })
		if i >= 0 {
			b := last.GetBatches()[i]
			if b.GetStatus() == schedulerv1.BatchStatus_BATCH_STATUS_COMMITTED {
				t.Logf("batch %d committed: %v", id, b)
				break
			}
			if b.GetStatus() == schedulerv1.BatchStatus_BATCH_STATUS_FAILED && b.GetError().GetPermanent() {
				t.Fatalf("batch %d failed permanently: %v", id, b)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("batch %d of %s not committed within 60 s; last streams get %v", id, stream, last)
		}
		time.Sleep(250 * time.Millisecond)
	}
	recent := last.GetStream().GetSchedule().GetRecentRuns()
	if len(recent) != runs+1 {
		t.Fatalf("schedule %s: %d recent runs after the trigger, want %d: %v", trig.GetScheduleId(), len(recent), runs+1, recent)
	}
	wid := recent[len(recent)-1].GetWorkflowId()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := tc.GetWorkflow(ctx, wid, "").Get(ctx, nil); err != nil {
		t.Fatalf("batch workflow %s: %v", wid, err)
	}
}

// consumerReader reads the workspace's live view of Shop.items as the consumer e2e_reader, on
// a new connection for every read (as a consumer would; a kept connection's statement cache
// would also see the view's new result type as an error).
type consumerReader struct{ dsn string }

func newConsumerReader(dsn string) *consumerReader { return &consumerReader{dsn: dsn} }

// connect opens a connection to the merge database as the test cluster's superuser.
func (r *consumerReader) connect(t *testing.T) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), r.dsn)
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// read finds the view (as the superuser), then reads its columns and rows ("id label [note]",
// ordered by id, NULL for a null) as e2e_reader.
func (r *consumerReader) read(t *testing.T) (view string, cols, rows []string) {
	t.Helper()
	conn := r.connect(t)
	defer conn.Close(context.Background())
	view = findRelation(t, conn, "VIEW", "%items%")
	if _, err := conn.Exec(t.Context(), "SET ROLE e2e_reader"); err != nil {
		t.Fatal(err)
	}
	res, err := conn.Query(t.Context(), "SELECT * FROM "+view+" ORDER BY id")
	if err != nil {
		t.Fatalf("read %s as e2e_reader: %v", view, err)
	}
	for _, f := range res.FieldDescriptions() {
		cols = append(cols, f.Name)
	}
	for res.Next() {
		vals, err := res.Values()
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, v := range vals {
			if v == nil {
				parts = append(parts, "NULL")
			} else {
				parts = append(parts, fmt.Sprint(v))
			}
		}
		rows = append(rows, strings.Join(parts, " "))
	}
	if err := res.Err(); err != nil {
		t.Fatalf("read %s as e2e_reader: %v", view, err)
	}
	return view, cols, rows
}

// downstream is what a rejected change must leave as it is.
type downstream struct {
	Versions     []int64  // committed model versions (model versions)
	SchedulerAt  int64    // the model version the scheduler reconciled (streams list)
	Schedules    []string // Temporal schedule ids
	Batches      []string // the stream's batches, "id status"
	RecentRuns   int      // runs of the stream's schedule
	View         string
	ViewColumns  []string
	ViewRows     []string
	TableColumns []string // columns of the merge table
}

func observe(t *testing.T, c *dsCLI, tc client.Client, r *consumerReader, modelsvcURL, schedURL, stream string) downstream {
	t.Helper()
	var d downstream
	versions := &modelv1.ListVersionsResponse{}
	c.mustProtoJSON(t, versions, "model", "versions", "--server", modelsvcURL)
	for _, v := range versions.GetVersions() {
		d.Versions = append(d.Versions, v.GetNumber())
	}
	list := &schedulerv1.ListStreamsResponse{}
	c.mustProtoJSON(t, list, "streams", "list", "--server", schedURL)
	d.SchedulerAt = list.GetModelVersion()
	get := &schedulerv1.GetStreamResponse{}
	c.mustProtoJSON(t, get, "streams", "get", stream, "--platform", "Live", "--server", schedURL)
	for _, b := range get.GetBatches() {
		d.Batches = append(d.Batches, fmt.Sprintf("%d %s", b.GetId(), b.GetStatus()))
	}
	d.RecentRuns = len(get.GetStream().GetSchedule().GetRecentRuns())
	it, err := tc.ScheduleClient().List(t.Context(), client.ScheduleListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for it.HasNext() {
		s, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		d.Schedules = append(d.Schedules, s.ID)
	}
	slices.Sort(d.Schedules)
	d.View, d.ViewColumns, d.ViewRows = r.read(t)
	conn := r.connect(t)
	defer conn.Close(context.Background())
	table := findRelation(t, conn, "BASE TABLE", "%items%merge%")
	rows, err := conn.Query(t.Context(), `SELECT attname::text FROM pg_attribute
		WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, table)
	if err != nil {
		t.Fatal(err)
	}
	d.TableColumns, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(d.TableColumns) == 0 {
		t.Fatalf("merge table %s has no columns", table)
	}
	return d
}
