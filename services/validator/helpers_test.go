package validator_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/datasurface/datasurface/kit/events"
	"github.com/datasurface/datasurface/kit/modelbus"
	"github.com/datasurface/datasurface/kit/natsserver"
	"github.com/datasurface/datasurface/model/load"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/validator"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const (
	ecoRepo      = "acme/datasurface-model@eco"
	salesRepo    = "acme/datasurface-model@team-sales"
	riskRepo     = "acme/datasurface-model@team-risk"
	examplesDir  = "../../examples"
	acmeDir      = examplesDir + "/acme"
	changesDir   = examplesDir + "/changes"
	salesDBPath  = "zones/europe/teams/sales/datastores/SalesDB.yaml"
	lastOrderCol = "        - {name: attributes, type: Variant, documentation: Free-form JSON from the checkout}\n"
)

// env is one in-process NATS server with the MODEL stream and the snapshot store; the test
// publishes proposals in place of modelsvc.
type env struct {
	t      *testing.T
	url    string
	js     jetstream.JetStream
	stream jetstream.Stream
	snaps  *modelbus.Snapshots
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, url: natsserver.StartForTest(t).ClientURL()}
	e.js = e.connect()
	var err error
	if e.stream, err = modelbus.DeclareStream(t.Context(), e.js); err != nil {
		t.Fatal(err)
	}
	if e.snaps, err = modelbus.OpenSnapshots(t.Context(), e.js); err != nil {
		t.Fatal(err)
	}
	return e
}

// connect opens a connection of its own (one per validator instance, as in production).
func (e *env) connect() jetstream.JetStream {
	e.t.Helper()
	nc, err := nats.Connect(e.url)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		e.t.Fatal(err)
	}
	return js
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// instance is one running validator.
type instance struct {
	svc  *validator.Service
	stop func() // cancels Run and waits for it
}

// start runs a validator until stop or the end of the test.
func (e *env) start(cfg validator.Config) *instance {
	t := e.t
	t.Helper()
	svc, err := validator.New(cfg, validator.Deps{JS: e.connect(), Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("validator Run: %v", err)
		}
	}
	t.Cleanup(stop)
	waitFor(t, "the validator to become ready", func() bool { return svc.Ready(ctx) == nil })
	return &instance{svc: svc, stop: stop}
}

// waitFor polls cond until it holds, failing the test after 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// snapshotOf reads the model files under dir, sorted by path.
func snapshotOf(t *testing.T, dir string) *modelv1.Snapshot {
	t.Helper()
	snap := &modelv1.Snapshot{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
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

// edited returns a copy of snap with old replaced by repl in file path.
func edited(t *testing.T, snap *modelv1.Snapshot, path, old, repl string) *modelv1.Snapshot {
	t.Helper()
	out := proto.Clone(snap).(*modelv1.Snapshot)
	for _, f := range out.Files {
		if f.Path == path {
			if !strings.Contains(string(f.Content), old) {
				t.Fatalf("%s does not contain %q", path, old)
			}
			f.Content = []byte(strings.Replace(string(f.Content), old, repl, 1))
			return out
		}
	}
	t.Fatalf("snapshot has no file %s", path)
	return nil
}

// withColumns is acme with n extra nullable columns in SalesDB.orders: a chain of compatible
// changes of team Sales.
func withColumns(t *testing.T, acme *modelv1.Snapshot, n int) *modelv1.Snapshot {
	t.Helper()
	var b strings.Builder
	b.WriteString(lastOrderCol)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "        - {name: extra_%d, type: VarChar(8)}\n", i)
	}
	return edited(t, acme, salesDBPath, lastOrderCol, b.String())
}

func digestOf(t *testing.T, snap *modelv1.Snapshot) string {
	t.Helper()
	files := make([]load.File, 0, len(snap.GetFiles()))
	for _, f := range snap.GetFiles() {
		files = append(files, load.File{Path: f.GetPath(), Content: f.GetContent()})
	}
	res, err := load.Files(files, load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res.Digest
}

// propose stores snap and publishes ds.model.proposed.<id> as modelsvc does; it returns the
// digest.
func (e *env) propose(id, source string, snap *modelv1.Snapshot) string {
	e.t.Helper()
	digest := digestOf(e.t, snap)
	if err := e.snaps.Put(e.t.Context(), digest, snap); err != nil {
		e.t.Fatal(err)
	}
	e.announce(id, id, source, digest)
	return digest
}

// announce publishes the proposed event with Nats-Msg-Id msgID.
func (e *env) announce(id, msgID, source, digest string) {
	e.t.Helper()
	ev := &eventsv1.ModelProposed{ProposalId: id, Source: source, Digest: digest, ProposedAt: timestamppb.Now()}
	if _, err := events.Publish(e.t.Context(), e.js, modelbus.SubjectProposed+id, msgID, ev); err != nil {
		e.t.Fatal(err)
	}
}

// messages returns every message on subject, in stream order.
func (e *env) messages(subject string) []*jetstream.RawStreamMsg {
	e.t.Helper()
	var out []*jetstream.RawStreamMsg
	for seq := uint64(1); ; {
		m, err := e.stream.GetMsg(e.t.Context(), seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out
		}
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, m)
		seq = m.Sequence + 1
	}
}

// committed returns every ds.model.committed event.
func (e *env) committed() []*eventsv1.ModelCommitted {
	e.t.Helper()
	var out []*eventsv1.ModelCommitted
	for _, m := range e.messages(modelbus.SubjectCommitted) {
		ev := &eventsv1.ModelCommitted{}
		if err := proto.Unmarshal(m.Data, ev); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// verdicts returns every verdict of proposal id.
func (e *env) verdicts(id string) []*eventsv1.ModelVerdict {
	e.t.Helper()
	var out []*eventsv1.ModelVerdict
	for _, m := range e.messages(modelbus.SubjectVerdict + id) {
		ev := &eventsv1.ModelVerdict{}
		if err := proto.Unmarshal(m.Data, ev); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// verdict waits for the verdict of proposal id.
func (e *env) verdict(id string) *eventsv1.ModelVerdict {
	e.t.Helper()
	var v *jetstream.RawStreamMsg
	waitFor(e.t, "the verdict of "+id, func() bool {
		m, err := e.stream.GetLastMsgForSubject(e.t.Context(), modelbus.SubjectVerdict+id)
		v = m
		return err == nil
	})
	ev := &eventsv1.ModelVerdict{}
	if err := proto.Unmarshal(v.Data, ev); err != nil {
		e.t.Fatal(err)
	}
	return ev
}

// streamMessages is the number of messages in the MODEL stream.
func (e *env) streamMessages() uint64 {
	e.t.Helper()
	info, err := e.stream.Info(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	return info.State.Msgs
}

// ruleIDs lists the distinct rule ids of a report's problems.
func ruleIDs(r *modelv1.Report) []string {
	var out []string
	for _, p := range r.GetProblems() {
		out = append(out, p.GetRuleId())
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// changeKinds lists a change set as "KIND path".
func changeKinds(cs []*modelv1.Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, strings.TrimPrefix(c.GetKind().String(), "CHANGE_KIND_")+" "+c.GetPath())
	}
	return out
}

// versionOf summarises a committed event for comparisons.
type versionOf struct {
	Version  int64
	Proposal string
	Digest   string
}

func versions(cs []*eventsv1.ModelCommitted) []versionOf {
	var out []versionOf
	for _, c := range cs {
		out = append(out, versionOf{c.GetVersion(), c.GetProposalId(), c.GetDigest()})
	}
	return out
}
