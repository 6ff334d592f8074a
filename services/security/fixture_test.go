package security_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/kit/pgtest"
	"github.com/datasurface/datasurface/model/graph"
	"github.com/datasurface/datasurface/model/index"
	"github.com/datasurface/datasurface/model/load"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	securityv1 "github.com/datasurface/datasurface/proto/gen/datasurface/security/v1"
	"github.com/datasurface/datasurface/services/security"
	"github.com/datasurface/datasurface/services/security/internal/securitytest"
	"google.golang.org/protobuf/proto"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Shutdown()
	os.Exit(code)
}

const (
	platLive      = "YellowLive"
	platForensic  = "YellowForensic"
	secLogin      = "sec_login"
	mergeLive     = "merge_live"
	mergeForensic = "merge_forensic"
	dtRole        = "yellowlive_dt_customertotals"
	// knownPassword is the transformer's secret: it must never appear in a plan, log or event.
	knownPassword = "Kn0wnTransformerSecret7f3aQ9zX"
)

// consumers of examples/acme, plus a role no workspace names.
var acmeConsumers = []string{"bi_reader", "risk_analyst", "fraud_model", "payments_ops", "outsider"}

func loadAcme(t testing.TB) *security.ModelVersion {
	t.Helper()
	res, err := load.Dir("../../examples/acme", load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) > 0 {
		t.Fatalf("examples/acme does not load: %v", res.Problems)
	}
	return &security.ModelVersion{Model: res.Model, Source: res.Source, Digest: res.Digest}
}

// syncBuffer is a concurrency-safe log sink.
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

// fixture is examples/acme's two Yellow platforms on one merge database, with the logins an
// operator makes (security login, merge logins) and the consumers as LOGIN roles.
type fixture struct {
	t      *testing.T
	env    *securitytest.Env
	models *securitytest.Models
	vars   map[string]string
	svc    *security.Service
	logs   *syncBuffer
	// logins are the merge logins by platform.
	logins    map[string]string
	platforms map[string]*securitytest.Platform
}

func newFixture(t *testing.T, mv *security.ModelVersion, cfg security.Config, deps security.Deps) *fixture {
	t.Helper()
	env := securitytest.New(t)
	secDSN := env.SecurityLogin(secLogin)
	env.Logins(append([]string{mergeLive, mergeForensic}, acmeConsumers...)...)
	f := &fixture{
		t: t, env: env, models: &securitytest.Models{}, logs: &syncBuffer{},
		vars: map[string]string{
			"YELLOWLIVE_MERGE_USER": mergeLive, "YELLOWLIVE_MERGE_PASSWORD": "m1",
			"YELLOWFORENSIC_MERGE_USER": mergeForensic, "YELLOWFORENSIC_MERGE_PASSWORD": "m2",
			"YELLOWLIVE_DT_CUSTOMERTOTALS_USER": dtRole, "YELLOWLIVE_DT_CUSTOMERTOTALS_PASSWORD": knownPassword,
		},
		logins:    map[string]string{platLive: mergeLive, platForensic: mergeForensic},
		platforms: map[string]*securitytest.Platform{},
	}
	f.models.AddVersion(mv)
	cfg.DSN = secDSN
	if cfg.Instance == "" {
		cfg.Instance = "test"
	}
	if cfg.DriftInterval == 0 {
		cfg.DriftInterval = -1
	}
	if deps.JS == nil {
		deps.Models = f.models
	}
	if deps.Secrets == nil {
		deps.Secrets = security.CredentialStores(securitytest.EnvLookup(f.vars))
	}
	deps.Log = slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, err := security.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	f.svc = svc
	return f
}

// model returns a deep copy of the newest model.
func (f *fixture) model() *modelv1.Model {
	mv, err := f.models.Model(context.Background(), 0)
	if err != nil {
		f.t.Fatal(err)
	}
	return proto.Clone(mv.Model).(*modelv1.Model)
}

func (f *fixture) apply(d string) security.ApplyGrantsResult {
	f.t.Helper()
	res, err := f.svc.Activities().ApplyGrants(context.Background(), security.ApplyGrantsInput{Platform: d})
	if err != nil {
		f.t.Fatalf("apply %s: %v", d, err)
	}
	return res
}

func (f *fixture) plan(d string) *securityv1.Plan {
	f.t.Helper()
	resp, err := f.svc.Handler().Plan(context.Background(), connect.NewRequest(&securityv1.PlanRequest{Platform: d}))
	if err != nil {
		f.t.Fatalf("plan %s: %v", d, err)
	}
	return resp.Msg.GetPlan()
}

// build makes the merge-side objects of platform d for the newest model: tables (with sample
// rows) and the workspace views, as the merge login SET ROLEd to the owner.
func (f *fixture) build(d string) {
	f.t.Helper()
	p, err := securitytest.PlatformOf(f.model(), d)
	if err != nil {
		f.t.Fatal(err)
	}
	f.platforms[d] = p
	f.env.BuildTables(p, f.logins[d])
	f.env.ReconcileViews(f.model(), p, f.logins[d])
}

// converge runs the model-commit sequence of security.md §4.2 for every platform: security
// (roles, schemas, default privileges), the merge service's tables and views, security again;
// then a plan must be empty.
func (f *fixture) converge(platforms ...string) {
	f.t.Helper()
	for _, d := range platforms {
		f.apply(d)
	}
	for _, d := range platforms {
		f.build(d)
	}
	for _, d := range platforms {
		f.apply(d)
	}
	for _, d := range platforms {
		f.requireEmpty(d)
	}
}

func (f *fixture) requireEmpty(d string) {
	f.t.Helper()
	p := f.plan(d)
	if len(p.GetActions()) > 0 || len(p.GetErrors()) > 0 {
		var s []string
		for _, a := range p.GetActions() {
			s = append(s, a.GetStatement())
		}
		f.t.Fatalf("plan of %s is not empty: %d actions %v, errors %v", d, len(s), s, p.GetErrors())
	}
}

// expectations computes, from the model alone (security.md §2), what each principal may read.
type expectations struct {
	x *index.Index
	// views: schema → principals that may read its views.
	views map[string][]string
	// outputs: transformer output schema → its transformer login.
	outputs map[string]string
	// platforms by schema prefix, with their merge logins.
	loginSchemas map[string]string
	// readerTables: qualified names the reader role reads, and who is a member.
	readerTables  map[string]bool
	readerMembers []string
}

func expect(m *modelv1.Model, logins map[string]string) *expectations {
	x := index.New(m)
	e := &expectations{x: x, views: map[string][]string{}, outputs: map[string]string{}, loginSchemas: map[string]string{}, readerTables: map[string]bool{}}
	eco := graph.BuildIndex(x)
	for _, d := range eco.PlatformNames() {
		p := eco.Platforms[d]
		if x.Yellow(d) == nil {
			continue
		}
		e.loginSchemas[naming.PlatformSchema(d)] = logins[d]
		for _, r := range p.Roots {
			s := naming.WorkspaceSchema(d, r.Workspace)
			for _, c := range x.Workspaces[r.Workspace].GetAccess().GetConsumers() {
				if !slices.Contains(e.views[s], c) {
					e.views[s] = append(e.views[s], c)
				}
			}
		}
		for _, tr := range p.Transformers {
			role := naming.TransformerRole(d, tr.Workspace)
			s := naming.WorkspaceSchema(d, tr.Workspace)
			e.views[s] = append(e.views[s], role)
			e.outputs[naming.TransformerSchema(d, tr.Workspace)] = role
		}
		for _, s := range p.Streams {
			if s.Remote {
				e.readerMembers = append(e.readerMembers, logins[d])
				for _, ex := range eco.Platforms[s.PrimaryPlatform].Exports {
					if ex.Datastore == s.Datastore {
						e.readerTables[naming.MergeTable(s.PrimaryPlatform, ex.Datastore, ex.Dataset).String()] = true
					}
				}
				e.readerTables[naming.BatchMetrics(s.PrimaryPlatform).String()] = true
			}
		}
	}
	return e
}

// allowed says whether principal may SELECT from r according to the model.
func (e *expectations) allowed(principal string, r securitytest.Relation) bool {
	if r.Kind == "v" && slices.Contains(e.views[r.Schema], principal) {
		return true
	}
	if r.Kind != "v" && e.outputs[r.Schema] == principal {
		return true
	}
	// A merge login acts as its platform's owner (it owns every object of the platform).
	for prefix, login := range e.loginSchemas {
		if login == principal && (r.Schema == prefix || strings.HasPrefix(r.Schema, prefix+"_")) {
			return true
		}
	}
	return e.readerTables[r.QName()] && slices.Contains(e.readerMembers, principal)
}

// writeAllowed says whether principal may write r according to the model: a transformer its
// own output tables, a merge login (its platform's owner) its platform's tables.
func (e *expectations) writeAllowed(principal string, r securitytest.Relation) bool {
	if r.Kind != "v" && e.outputs[r.Schema] == principal {
		return true
	}
	for prefix, login := range e.loginSchemas {
		if login == principal && (r.Schema == prefix || strings.HasPrefix(r.Schema, prefix+"_")) {
			return true
		}
	}
	return false
}
