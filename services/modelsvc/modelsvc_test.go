package modelsvc_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/kit/events"
	"github.com/datasurface/datasurface/kit/modelbus"
	"github.com/datasurface/datasurface/kit/natsserver"
	"github.com/datasurface/datasurface/kit/pg"
	"github.com/datasurface/datasurface/kit/pgtest"
	"github.com/datasurface/datasurface/kit/server"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/proto/gen/datasurface/model/v1/modelv1connect"
	"github.com/datasurface/datasurface/services/modelsvc"
	"github.com/datasurface/datasurface/services/modelsvc/internal/auth"
	"github.com/datasurface/datasurface/services/modelsvc/internal/modelload"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Shutdown()
	os.Exit(code)
}

const (
	ecoRepo    = "acme/datasurface-model@eco"
	salesRepo  = "acme/datasurface-model@team-sales"
	ecoToken   = "eco-token-0123456789"
	salesToken = "sales-token-0123456789"
	hookSecret = "webhook-secret"
	acmeDir    = "../../examples/acme"
	acmeV2Dir  = "../../examples/changes/add-nullable-column"
)

// env is one NATS server and one Postgres database; services started on it share them.
type env struct {
	t    *testing.T
	nats string
	js   jetstream.JetStream
	pool *pgxpool.Pool
}

func newEnv(t *testing.T) *env {
	t.Helper()
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	ns := natsserver.StartForTest(t)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pg.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := modelbus.DeclareStream(t.Context(), js); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, nats: ns.ClientURL(), js: js, pool: pool}
}

// instance is one running modelsvc behind a kit server on 127.0.0.1.
type instance struct {
	url    string
	client modelv1connect.ModelServiceClient
	svc    *modelsvc.Service
	stop   func()
}

func defaultConfig() modelsvc.Config {
	return modelsvc.Config{
		Tokens:         map[string]string{ecoRepo: ecoToken, salesRepo: salesToken},
		WebhookSecrets: map[string]string{salesRepo: hookSecret},
		OutboxInterval: 100 * time.Millisecond,
	}
}

// start runs a service until the test ends or stop is called, and waits until it is ready.
func (e *env) start(cfg modelsvc.Config) *instance {
	t := e.t
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	svc, err := modelsvc.New(cfg, modelsvc.Deps{Pool: e.pool, JS: e.js, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New("127.0.0.1:0", log)
	svc.Register(srv)
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return svc.Run(gctx) })
	g.Go(func() error { return srv.Run(gctx) })
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := g.Wait(); err != nil {
				t.Errorf("service stopped with %v", err)
			}
		})
	}
	t.Cleanup(stop)
	actx, acancel := context.WithTimeout(ctx, 10*time.Second)
	defer acancel()
	addr, err := srv.Addr(actx)
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + addr
	waitFor(t, "the service to become ready", func() bool { return svc.Ready(ctx) == nil })
	return &instance{url: url, client: modelv1connect.NewModelServiceClient(http.DefaultClient, url), svc: svc, stop: stop}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// snapshotOf reads every regular file under dir, sorted by path.
func snapshotOf(t *testing.T, dir string) *modelv1.Snapshot {
	t.Helper()
	snap := &modelv1.Snapshot{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		snap.Files = append(snap.Files, &modelv1.SnapshotFile{Path: filepath.ToSlash(rel), Content: b})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// commit stands in for the validator: it stores dir's snapshot and publishes ds.model.committed
// for version v.
func (e *env) commit(v int64, dir string) string {
	t := e.t
	t.Helper()
	ctx := t.Context()
	snap := snapshotOf(t, dir)
	digest, err := modelload.Digest(snap)
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := modelbus.OpenSnapshots(ctx, e.js)
	if err != nil {
		t.Fatal(err)
	}
	if err := snaps.Put(ctx, digest, snap); err != nil {
		t.Fatal(err)
	}
	ev := &eventsv1.ModelCommitted{
		Version:     v,
		Digest:      digest,
		Source:      ecoRepo,
		ProposalId:  fmt.Sprintf("P%d", v),
		CommittedAt: timestamppb.New(time.Date(2026, 11, 27, 12, 0, int(v), 0, time.UTC)),
		Changes:     []*modelv1.Change{{Kind: modelv1.ChangeKind_CHANGE_KIND_COLUMN_ADDED, Path: fmt.Sprintf("datastore[SalesDB]/dataset[orders]/column[c%d]", v)}},
	}
	if _, err := events.Publish(ctx, e.js, modelbus.SubjectCommitted, fmt.Sprintf("commit-%d", v), ev); err != nil {
		t.Fatal(err)
	}
	return digest
}

// waitVersion waits until the instance answers at version v.
func (in *instance) waitVersion(t *testing.T, v int64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("version %d", v), func() bool {
		r, err := in.client.GetVersion(t.Context(), connect.NewRequest(&modelv1.GetVersionRequest{}))
		return err == nil && r.Msg.GetVersion().GetNumber() >= v
	})
}

// count returns the number of MODEL stream messages on subjects matching filter.
func (e *env) count(filter string) int {
	e.t.Helper()
	s, err := e.js.Stream(e.t.Context(), modelbus.Stream)
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := s.Info(e.t.Context(), jetstream.WithSubjectFilter(filter))
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, c := range info.State.Subjects {
		n += int(c)
	}
	return n
}

// snapshots returns the number of stored snapshots.
func (e *env) snapshots() int {
	e.t.Helper()
	os, err := e.js.ObjectStore(e.t.Context(), modelbus.SnapshotBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return 0
	}
	if err != nil {
		e.t.Fatal(err)
	}
	infos, err := os.List(e.t.Context())
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return 0
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return len(infos)
}

// rows returns the number of proposals in the database.
func (e *env) rows() int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(e.t.Context(), "SELECT count(*) FROM modelsvc.proposals").Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// lastProposed returns the newest ds.model.proposed.<id> message.
func (e *env) lastProposed(id string) (*jetstream.RawStreamMsg, *eventsv1.ModelProposed) {
	e.t.Helper()
	s, err := e.js.Stream(e.t.Context(), modelbus.Stream)
	if err != nil {
		e.t.Fatal(err)
	}
	m, err := s.GetLastMsgForSubject(e.t.Context(), modelbus.SubjectProposed+id)
	if err != nil {
		e.t.Fatalf("no proposed event for %s: %v", id, err)
	}
	ev := &eventsv1.ModelProposed{}
	if err := proto.Unmarshal(m.Data, ev); err != nil {
		e.t.Fatal(err)
	}
	return m, ev
}

func propose(source, token string, snap *modelv1.Snapshot) *connect.Request[modelv1.ProposeChangeRequest] {
	req := connect.NewRequest(&modelv1.ProposeChangeRequest{Source: source, Snapshot: snap, Commit: "0123abc"})
	if token != "" {
		req.Header().Set("Authorization", "Bearer "+token)
	}
	return req
}

func code(err error) connect.Code {
	if err == nil {
		return 0
	}
	return connect.CodeOf(err)
}

func TestProposeChange(t *testing.T) {
	e := newEnv(t)
	in := e.start(defaultConfig())
	ctx := t.Context()
	snap := snapshotOf(t, acmeDir)
	resp, err := in.client.ProposeChange(ctx, propose(ecoRepo, ecoToken, snap))
	if err != nil {
		t.Fatal(err)
	}
	id, digest := resp.Msg.GetProposalId(), resp.Msg.GetDigest()
	wantDigest, err := modelload.Digest(snap)
	if err != nil {
		t.Fatal(err)
	}
	if digest != wantDigest || !strings.HasPrefix(digest, "sha256:") {
		t.Errorf("digest = %q, want %q", digest, wantDigest)
	}

	// The event: subject, Nats-Msg-Id and payload name the proposal.
	msg, ev := e.lastProposed(id)
	if got := msg.Header.Get(jetstream.MsgIDHeader); got != id {
		t.Errorf("Nats-Msg-Id = %q, want %q", got, id)
	}
	want := &eventsv1.ModelProposed{ProposalId: id, Source: ecoRepo, Digest: digest, Commit: "0123abc"}
	if diff := cmp.Diff(want, ev, protocmp.Transform(), protocmp.IgnoreFields(&eventsv1.ModelProposed{}, "proposed_at")); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}
	if e.count(modelbus.SubjectProposed+">") != 1 {
		t.Errorf("%d proposed events, want 1", e.count(modelbus.SubjectProposed+">"))
	}

	// The snapshot is stored under its digest, every file of it (README.md included).
	snaps, err := modelbus.OpenSnapshots(ctx, e.js)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := snaps.Get(ctx, digest)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(snap, stored, protocmp.Transform()); diff != "" {
		t.Errorf("stored snapshot (-want +got):\n%s", diff)
	}

	// The proposal is pending and marked published.
	got, err := in.client.GetProposal(ctx, connect.NewRequest(&modelv1.GetProposalRequest{ProposalId: id}))
	if err != nil {
		t.Fatal(err)
	}
	wantP := &modelv1.Proposal{Id: id, Source: ecoRepo, Digest: digest, Commit: "0123abc", State: modelv1.ProposalState_PROPOSAL_STATE_PENDING,
		ProposedAt: ev.GetProposedAt()}
	if diff := cmp.Diff(wantP, got.Msg.GetProposal(), protocmp.Transform()); diff != "" {
		t.Errorf("proposal (-want +got):\n%s", diff)
	}
	var published bool
	if err := e.pool.QueryRow(ctx, "SELECT published FROM modelsvc.proposals WHERE id = $1", id).Scan(&published); err != nil || !published {
		t.Errorf("published = %v, %v", published, err)
	}

	// A verdict (delivered twice) decides it.
	report := &modelv1.Report{Passed: true, Source: ecoRepo, HeadDigest: digest, Changes: []*modelv1.Change{{Kind: modelv1.ChangeKind_CHANGE_KIND_DATASTORE_ADDED, Path: "datastore[SalesDB]"}}}
	for i := range 2 {
		if _, err := events.Publish(ctx, e.js, modelbus.SubjectVerdict+id, fmt.Sprintf("verdict-%s-%d", id, i), &eventsv1.ModelVerdict{
			ProposalId: id, Accepted: true, BaseVersion: 0, Version: 1, Report: report, DecidedAt: timestamppb.Now(),
		}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the verdict", func() bool {
		r, err := in.client.GetProposal(ctx, connect.NewRequest(&modelv1.GetProposalRequest{ProposalId: id}))
		return err == nil && r.Msg.GetProposal().GetState() == modelv1.ProposalState_PROPOSAL_STATE_ACCEPTED
	})
	got, err = in.client.GetProposal(ctx, connect.NewRequest(&modelv1.GetProposalRequest{ProposalId: id}))
	if err != nil {
		t.Fatal(err)
	}
	wantP.State, wantP.Version, wantP.Report = modelv1.ProposalState_PROPOSAL_STATE_ACCEPTED, 1, report
	if diff := cmp.Diff(wantP, got.Msg.GetProposal(), protocmp.Transform()); diff != "" {
		t.Errorf("decided proposal (-want +got):\n%s", diff)
	}

	for _, tt := range []struct {
		id   string
		code connect.Code
	}{
		{"", connect.CodeInvalidArgument},
		{"not-an-id", connect.CodeInvalidArgument},
		{"01KB0000000000000000000000", connect.CodeNotFound},
	} {
		_, err := in.client.GetProposal(ctx, connect.NewRequest(&modelv1.GetProposalRequest{ProposalId: tt.id}))
		if code(err) != tt.code {
			t.Errorf("GetProposal(%q) = %v, want %v", tt.id, err, tt.code)
		}
	}
}

func TestProposeChangeRefused(t *testing.T) {
	e := newEnv(t)
	cfg := defaultConfig()
	cfg.MaxSnapshotBytes = 4096
	in := e.start(cfg)
	files := func(paths ...string) *modelv1.Snapshot {
		s := &modelv1.Snapshot{}
		for _, p := range paths {
			s.Files = append(s.Files, &modelv1.SnapshotFile{Path: p, Content: []byte("apiVersion: datasurface/v1\n")})
		}
		return s
	}
	good := files("eco.yaml")
	big := &modelv1.Snapshot{Files: []*modelv1.SnapshotFile{{Path: "a.yaml", Content: bytes.Repeat([]byte("x"), 3000)}, {Path: "b.yaml", Content: bytes.Repeat([]byte("x"), 3000)}}}
	huge := &modelv1.Snapshot{Files: []*modelv1.SnapshotFile{{Path: "a.yaml", Content: bytes.Repeat([]byte("x"), 2<<20)}}}
	tests := []struct {
		name string
		req  *connect.Request[modelv1.ProposeChangeRequest]
		code connect.Code
		msg  string
	}{
		{"no token", propose(ecoRepo, "", good), connect.CodeUnauthenticated, "missing API token"},
		{"unknown token", propose(ecoRepo, "guess", good), connect.CodeUnauthenticated, "unknown API token"},
		{"another repository's token", propose(ecoRepo, salesToken, good), connect.CodePermissionDenied, "may not propose changes for 'acme/datasurface-model@eco'"},
		{"no source", propose("", ecoToken, good), connect.CodeInvalidArgument, "source is required"},
		{"no snapshot", propose(ecoRepo, ecoToken, nil), connect.CodeInvalidArgument, "snapshot is empty"},
		{"path traversal", propose(ecoRepo, ecoToken, files("eco.yaml", "../../etc/passwd")), connect.CodeInvalidArgument, "leaves the model root"},
		{"absolute path", propose(ecoRepo, ecoToken, files("/etc/passwd")), connect.CodeInvalidArgument, "is absolute"},
		{"unclean path", propose(ecoRepo, ecoToken, files("./eco.yaml")), connect.CodeInvalidArgument, "is not clean"},
		{"duplicate path", propose(ecoRepo, ecoToken, files("eco.yaml", "eco.yaml")), connect.CodeInvalidArgument, "repeats"},
		{"over the snapshot limit", propose(ecoRepo, ecoToken, big), connect.CodeResourceExhausted, "larger than the limit of 4096 bytes"},
		{"over the message limit", propose(ecoRepo, ecoToken, huge), connect.CodeResourceExhausted, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := in.client.ProposeChange(t.Context(), tt.req)
			if code(err) != tt.code || !strings.Contains(fmt.Sprint(err), tt.msg) {
				t.Errorf("ProposeChange = %v, want %v containing %q", err, tt.code, tt.msg)
			}
		})
	}
	badCommit := propose(ecoRepo, ecoToken, good)
	badCommit.Msg.Commit = "abc def"
	if _, err := in.client.ProposeChange(t.Context(), badCommit); code(err) != connect.CodeInvalidArgument {
		t.Errorf("bad commit: %v", err)
	}
	if n, s, r := e.count(modelbus.SubjectProposed+">"), e.snapshots(), e.rows(); n != 0 || s != 0 || r != 0 {
		t.Errorf("after refused proposals: %d events, %d snapshots, %d rows; want none", n, s, r)
	}
}

// tarGz packs dir (and extra entries) as a webhook body.
func tarGz(t *testing.T, dir string, extra ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if dir != "" {
		if err := tw.AddFS(os.DirFS(dir)); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range extra {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			if _, err := tw.Write(bytes.Repeat([]byte("x"), int(h.Size))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func (in *instance) webhook(t *testing.T, source string, body []byte, sig string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, in.url+"/webhook/propose?source="+source, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if sig != "" {
		req.Header.Set("X-Hub-Signature-256", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestWebhook(t *testing.T) {
	e := newEnv(t)
	cfg := defaultConfig()
	cfg.MaxSnapshotBytes = 64 << 10
	in := e.start(cfg)
	acme := tarGz(t, acmeDir)
	sign := func(b []byte) string { return auth.Sign(hookSecret, b) }
	oversize := tarGz(t, "", &tar.Header{Name: "big.yaml", Typeflag: tar.TypeReg, Size: 70 << 10, Mode: 0o644})
	oversizeCompressed := bytes.Repeat([]byte{0x1f}, 65<<10)
	tests := []struct {
		name   string
		source string
		body   []byte
		sig    string
		status int
		msg    string
	}{
		{"unknown source", ecoRepo, acme, sign(acme), 401, "unknown source or bad signature"},
		{"no source", "", acme, sign(acme), 401, "unknown source or bad signature"},
		{"no signature", salesRepo, acme, "", 401, "missing X-Hub-Signature-256"},
		{"wrong secret", salesRepo, acme, auth.Sign("guess", acme), 401, "bad signature"},
		{"signature of another body", salesRepo, acme, sign([]byte("other")), 401, "bad signature"},
		{"body over the limit", salesRepo, oversizeCompressed, sign(oversizeCompressed), 413, "larger than the limit"},
		{"archive expands over the limit", salesRepo, oversize, sign(oversize), 413, "expands to more than the limit"},
		{"not gzip", salesRepo, []byte("PK zip"), sign([]byte("PK zip")), 400, "not a gzip stream"},
		{"symlink", salesRepo, signed(t, &tar.Header{Name: "eco.yaml", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}), "", 400, "is a symbolic link"},
		{"device", salesRepo, signed(t, &tar.Header{Name: "dev", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}), "", 400, "is a character device"},
		{"path traversal", salesRepo, signed(t, &tar.Header{Name: "../../evil.yaml", Typeflag: tar.TypeReg, Size: 3, Mode: 0o644}), "", 400, "leaves the model root"},
		{"absolute path", salesRepo, signed(t, &tar.Header{Name: "/etc/cron.d/x", Typeflag: tar.TypeReg, Size: 3, Mode: 0o644}), "", 400, "is absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig := tt.sig
			if sig == "" && tt.status == 400 {
				sig = sign(tt.body)
			}
			status, body := in.webhook(t, tt.source, tt.body, sig)
			if status != tt.status || !strings.Contains(body, tt.msg) {
				t.Errorf("webhook = %d %s, want %d containing %q", status, body, tt.status, tt.msg)
			}
		})
	}
	if n, s, r := e.count(modelbus.SubjectProposed+">"), e.snapshots(), e.rows(); n != 0 || s != 0 || r != 0 {
		t.Fatalf("after refused webhooks: %d events, %d snapshots, %d rows; want none", n, s, r)
	}

	status, body := in.webhook(t, salesRepo, acme, sign(acme))
	if status != http.StatusAccepted {
		t.Fatalf("webhook = %d %s", status, body)
	}
	var ans struct {
		ProposalID string `json:"proposalId"`
		Digest     string `json:"digest"`
	}
	if err := json.Unmarshal([]byte(body), &ans); err != nil {
		t.Fatal(err)
	}
	wantDigest, err := modelload.Digest(snapshotOf(t, acmeDir))
	if err != nil {
		t.Fatal(err)
	}
	if ans.Digest != wantDigest {
		t.Errorf("digest = %q, want %q", ans.Digest, wantDigest)
	}
	_, ev := e.lastProposed(ans.ProposalID)
	if ev.GetSource() != salesRepo || ev.GetDigest() != wantDigest {
		t.Errorf("event = %v", ev)
	}
	if n, s, r := e.count(modelbus.SubjectProposed+">"), e.snapshots(), e.rows(); n != 1 || s != 1 || r != 1 {
		t.Errorf("after one webhook: %d events, %d snapshots, %d rows; want one each", n, s, r)
	}

	resp, err := http.Get(in.url + "/webhook/propose?source=" + salesRepo)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /webhook/propose = %d, want 405", resp.StatusCode)
	}
}

// signed returns a tar.gz holding one entry (the caller signs it).
func signed(t *testing.T, h *tar.Header) []byte { return tarGz(t, "", h) }

func TestOutboxRepublishes(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	// A first run creates the schema; then a proposal is left as a crash between insert and
	// publish would leave it.
	first := e.start(defaultConfig())
	first.stop()
	snap := snapshotOf(t, acmeDir)
	digest, err := modelload.Digest(snap)
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := modelbus.OpenSnapshots(ctx, e.js)
	if err != nil {
		t.Fatal(err)
	}
	if err := snaps.Put(ctx, digest, snap); err != nil {
		t.Fatal(err)
	}
	const id = "01KB2ZQ0000000000000000000"
	if _, err := e.pool.Exec(ctx, "INSERT INTO modelsvc.proposals (id, source, digest, git_commit, proposed_at, published) VALUES ($1, $2, $3, '', now(), false)",
		id, salesRepo, digest); err != nil {
		t.Fatal(err)
	}
	if n := e.count(modelbus.SubjectProposed + ">"); n != 0 {
		t.Fatalf("%d proposed events before restart", n)
	}
	e.start(defaultConfig())
	waitFor(t, "the outbox to publish", func() bool { return e.count(modelbus.SubjectProposed+">") == 1 })
	msg, ev := e.lastProposed(id)
	if msg.Header.Get(jetstream.MsgIDHeader) != id || ev.GetProposalId() != id || ev.GetDigest() != digest || ev.GetSource() != salesRepo {
		t.Errorf("republished event %v (id header %q)", ev, msg.Header.Get(jetstream.MsgIDHeader))
	}
	waitFor(t, "the row to be marked published", func() bool {
		var published bool
		err := e.pool.QueryRow(ctx, "SELECT published FROM modelsvc.proposals WHERE id = $1", id).Scan(&published)
		return err == nil && published
	})
}
