package e2e_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/kit/natsserver"
	"github.com/datasurface/datasurface/kit/pg"
	"github.com/datasurface/datasurface/kit/pgtest"
	"github.com/datasurface/datasurface/kit/run"
	"github.com/datasurface/datasurface/kit/server"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/proto/gen/datasurface/model/v1/modelv1connect"
	"github.com/datasurface/datasurface/services/modelsvc"
	"github.com/datasurface/datasurface/services/validator"
	"github.com/jackc/pgx/v5/pgxpool"
	natsd "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
)

// Repositories of examples/acme and their credentials.
const (
	ecoRepo       = "acme/datasurface-model@eco"
	salesRepo     = "acme/datasurface-model@team-sales"
	paymentsRepo  = "acme/datasurface-model@team-payments"
	ecoToken      = "eco-token-0123456789"
	salesToken    = "sales-token-0123456789"
	paymentsToken = "payments-token-0123456789"
	salesHook     = "sales-webhook-secret"
)

// examples is the repository's examples directory.
const examples = "../../examples"

// stack is the control plane as `datasurface serve --service=modelsvc,validator` wires it: one
// NATS server (JetStream on a directory that survives restarts), one Postgres database, one
// pgx pool, one NATS connection, and modelsvc and the validator on one kit/server on
// 127.0.0.1:0, all under one kit/run.Group.
type stack struct {
	t       *testing.T
	natsDir string
	dsn     string

	// Set by start, cleared by stop.
	nats   *natsd.Server
	nc     *nats.Conn
	js     jetstream.JetStream
	pool   *pgxpool.Pool
	url    string
	client modelv1connect.ModelServiceClient
	cancel context.CancelFunc
	done   chan error
}

func newStack(t *testing.T) *stack {
	t.Helper()
	s := &stack{t: t, natsDir: t.TempDir(), dsn: pgtest.NewDatabase(t)}
	s.start()
	t.Cleanup(s.stop)
	return s
}

// start starts NATS on the stack's directory, connects, and runs new service instances until
// stop; it returns once /readyz answers 200.
func (s *stack) start() {
	t := s.t
	t.Helper()
	began := time.Now()
	ns, err := natsserver.Start(natsserver.Options{Dir: s.natsDir, SyncAlways: true})
	if err != nil {
		t.Fatal(err)
	}
	s.nats = ns
	if s.nc, err = nats.Connect(ns.ClientURL()); err != nil {
		t.Fatal(err)
	}
	if s.js, err = jetstream.New(s.nc); err != nil {
		t.Fatal(err)
	}
	if s.pool, err = pg.Connect(t.Context(), s.dsn); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	msvc, err := modelsvc.New(modelsvc.Config{
		Tokens:         map[string]string{ecoRepo: ecoToken, salesRepo: salesToken, paymentsRepo: paymentsToken},
		WebhookSecrets: map[string]string{salesRepo: salesHook},
	}, modelsvc.Deps{Pool: s.pool, JS: s.js, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	val, err := validator.New(validator.Config{ToolVersion: "e2e"}, validator.Deps{JS: s.js, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New("127.0.0.1:0", log)
	msvc.Register(srv)
	val.Register(srv)
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	s.cancel = cancel
	s.done = make(chan error, 1)
	go func() { s.done <- run.Group(ctx, msvc, val, srv) }()
	actx, acancel := context.WithTimeout(ctx, 10*time.Second)
	defer acancel()
	addr, err := srv.Addr(actx)
	if err != nil {
		t.Fatalf("server did not listen: %v", err)
	}
	s.url = "http://" + addr
	s.client = modelv1connect.NewModelServiceClient(http.DefaultClient, s.url)
	waitFor(t, 20*time.Second, "the services to become ready", func() bool {
		resp, err := http.Get(s.url + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	t.Logf("control plane ready in %s", time.Since(began).Round(time.Millisecond))
}

// stop stops the services, then the connections and the NATS server; the data stays.
func (s *stack) stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Errorf("services stopped with %v", err)
		}
	case <-time.After(20 * time.Second):
		s.t.Errorf("services did not stop within 20 s")
	}
	s.cancel = nil
	s.nc.Close()
	s.pool.Close()
	s.nats.Shutdown()
	s.nats.WaitForShutdown()
}

// restart stops everything and starts new instances on the same NATS directory and database.
func (s *stack) restart() {
	s.t.Helper()
	s.stop()
	s.start()
}

type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// snapshotOf reads the model files of dir (*.yaml and *.yml outside dot-directories), sorted by
// path, as `datasurface push` sends them.
func snapshotOf(t *testing.T, dir string) *modelv1.Snapshot {
	t.Helper()
	snap := &modelv1.Snapshot{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		snap.Files = append(snap.Files, &modelv1.SnapshotFile{Path: filepath.ToSlash(rel), Content: b})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(snap.Files, func(a, b *modelv1.SnapshotFile) int { return strings.Compare(a.GetPath(), b.GetPath()) })
	return snap
}

// propose sends dir as a proposal of source with token.
func (s *stack) propose(token, source, dir string) (*modelv1.ProposeChangeResponse, error) {
	s.t.Helper()
	req := connect.NewRequest(&modelv1.ProposeChangeRequest{Snapshot: snapshotOf(s.t, dir), Source: source})
	req.Header().Set("Authorization", "Bearer "+token)
	resp, err := s.client.ProposeChange(s.t.Context(), req)
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

// verdict waits for the proposal's verdict.
func (s *stack) verdict(id string) *modelv1.Proposal {
	s.t.Helper()
	var p *modelv1.Proposal
	waitFor(s.t, 20*time.Second, "the verdict of proposal "+id, func() bool {
		resp, err := s.client.GetProposal(s.t.Context(), connect.NewRequest(&modelv1.GetProposalRequest{ProposalId: id}))
		if err != nil {
			s.t.Fatalf("GetProposal %s: %v", id, err)
		}
		p = resp.Msg.GetProposal()
		return p.GetState() != modelv1.ProposalState_PROPOSAL_STATE_PENDING
	})
	return p
}

// push proposes dir and waits for the verdict.
func (s *stack) push(token, source, dir string) *modelv1.Proposal {
	s.t.Helper()
	resp, err := s.propose(token, source, dir)
	if err != nil {
		s.t.Fatalf("ProposeChange %s as %s: %v", dir, source, err)
	}
	return s.verdict(resp.GetProposalId())
}

// webhook posts dir as a signed tar.gz to POST /webhook/propose and returns the status and
// the proposal id of a 202 answer.
func (s *stack) webhook(source, secret, dir string) (int, string) {
	t := s.t
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range snapshotOf(t, dir).GetFiles() {
		if err := tw.WriteHeader(&tar.Header{Name: f.GetPath(), Mode: 0o644, Size: int64(len(f.GetContent())), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.GetContent()); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(buf.Bytes())
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.url+"/webhook/propose?source="+url.QueryEscape(source), &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/gzip")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return resp.StatusCode, ""
	}
	var ans struct {
		ProposalID string `json:"proposalId"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		t.Fatalf("webhook answer %s: %v", body, err)
	}
	return resp.StatusCode, ans.ProposalID
}

// streamState is what a rejected request must not change: the MODEL stream's last sequence
// and the number of proposals recorded.
type streamState struct {
	LastSeq   uint64
	Proposals int
}

func (s *stack) state() streamState {
	t := s.t
	t.Helper()
	st, err := s.js.Stream(t.Context(), "MODEL")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.pool.QueryRow(t.Context(), "SELECT count(*) FROM modelsvc.proposals").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return streamState{LastSeq: info.State.LastSeq, Proposals: n}
}

// committed returns the versions of every ds.model.committed message, in stream order.
func (s *stack) committed() []int64 {
	t := s.t
	t.Helper()
	cons, err := s.js.OrderedConsumer(t.Context(), "MODEL", jetstream.OrderedConsumerConfig{FilterSubjects: []string{"ds.model.committed"}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.js.Stream(t.Context(), "MODEL")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(t.Context(), jetstream.WithSubjectFilter("ds.model.committed"))
	if err != nil {
		t.Fatal(err)
	}
	want := int(info.State.Subjects["ds.model.committed"])
	var out []int64
	for range want {
		msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var ev eventsv1.ModelCommitted
		if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, ev.GetVersion())
	}
	return out
}

// widened writes a copy of the add-nullable-column scenario with SalesDB.orders.status widened
// from VarChar(20) to VarChar(40): a team-sales change on top of version 2.
func widened(t *testing.T) string {
	t.Helper()
	src := filepath.Join(examples, "changes", "add-nullable-column")
	dst := t.TempDir()
	const file = "zones/europe/teams/sales/datastores/SalesDB.yaml"
	const old, new = "{name: status, type: VarChar(20), nullable: false}", "{name: status, type: VarChar(40), nullable: false}"
	edited := false
	for _, f := range snapshotOf(t, src).GetFiles() {
		content := f.GetContent()
		if f.GetPath() == file {
			if !bytes.Contains(content, []byte(old)) {
				t.Fatalf("fixture: %q not in %s", old, file)
			}
			content = bytes.Replace(content, []byte(old), []byte(new), 1)
			edited = true
		}
		p := filepath.Join(dst, filepath.FromSlash(f.GetPath()))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !edited {
		t.Fatalf("fixture: %s not found", file)
	}
	return dst
}

// concurrently runs the functions at the same time and waits for them.
func concurrently(fs ...func()) {
	var wg sync.WaitGroup
	for _, f := range fs {
		wg.Go(f)
	}
	wg.Wait()
}

// describe renders a proposal's outcome for failure messages.
func describe(p *modelv1.Proposal) string {
	var rules []string
	for _, pr := range p.GetReport().GetProblems() {
		if pr.GetSeverity() == modelv1.Severity_SEVERITY_ERROR {
			rules = append(rules, pr.GetRuleId()+": "+pr.GetMessage())
		}
	}
	return fmt.Sprintf("state %s, base version %d, version %d, errors %q", p.GetState(), p.GetBaseVersion(), p.GetVersion(), rules)
}
