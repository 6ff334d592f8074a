package security_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/datasurface/datasurface/model/load"
	"github.com/datasurface/datasurface/model/modeltest"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/security"
	"github.com/datasurface/datasurface/services/security/internal/securitytest"
	"google.golang.org/protobuf/proto"
)

// BenchmarkApply measures security.md §9's figure: 1,000 workspaces × 10 views, one consumer
// each. Setup (not timed): the platform's owner role and schema from a model without
// assignments, then — as the merge service would — 1,000 workspace schemas and 10,000 views
// created by the owner before any grant exists. Timed: the first apply of the full model (1,000
// group roles, default privileges, 10,000 view grants, CONNECT, memberships, in one transaction
// with its verification re-diff), then no-op reconciles (read, diff, empty). Targets: first
// apply ≤ 10 s, no-op ≤ 1 s. Run: go test -run '^$' -bench BenchmarkApply .
func BenchmarkApply(b *testing.B) {
	if testing.Short() {
		b.Skip("long benchmark")
	}
	const workspaces = 1000
	ctx := context.Background()
	dir := b.TempDir()
	if err := modeltest.Generate(dir, modeltest.Config{
		Zones: 1, TeamsPerZone: 1, Datastores: 1, DatasetsPerDatastore: 10, ColumnsPerDataset: 6,
		Workspaces: workspaces, SinksPerWorkspace: 10, Seed: 1,
	}); err != nil {
		b.Fatal(err)
	}
	res, err := load.Dir(dir, load.Options{})
	if err != nil || len(res.Problems) > 0 {
		b.Fatalf("load: %v %v", err, res.Problems)
	}
	full := res.Model
	var consumers []string
	for i, w := range full.GetWorkspaces() {
		c := fmt.Sprintf("bench_c%04d", i)
		w.Access.Consumers = []string{c}
		consumers = append(consumers, c)
	}
	env := securitytest.New(b)
	secDSN := env.SecurityLogin("sec_login")
	env.Logins("merge_live")
	// The merge service creates missing workspace schemas as its login (yellow.md §12).
	env.Exec("GRANT CREATE ON DATABASE " + securitytest.Q(env.DB) + " TO merge_live")
	var stmts []string
	for _, c := range consumers {
		stmts = append(stmts, "CREATE ROLE "+securitytest.Q(c)+" LOGIN")
	}
	env.Exec(strings.Join(stmts, ";\n"))
	b.Cleanup(func() {
		for i := 0; i < len(consumers); i += 200 {
			env.Exec("DROP ROLE IF EXISTS " + strings.Join(quoteAll(consumers[i:min(i+200, len(consumers))]), ", "))
		}
	})

	models := &securitytest.Models{}
	noWorkspaces := proto.Clone(full).(*modelv1.Model)
	noWorkspaces.Assignments = nil
	models.Add(noWorkspaces)
	v := models.Add(full)
	svc, err := security.New(security.Config{DSN: secDSN, DriftInterval: -1}, security.Deps{
		Models: models, Secrets: security.CredentialStores(securitytest.EnvLookup(map[string]string{"YELLOWLIVE_MERGE_USER": "merge_live", "YELLOWLIVE_MERGE_PASSWORD": "x"})),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	acts := svc.Activities()
	const d = modeltest.PlatformName
	if _, err := acts.ApplyGrants(ctx, security.ApplyGrantsInput{Platform: d, ModelVersion: 1}); err != nil {
		b.Fatal(err)
	}
	p, err := securitytest.PlatformOf(full, d)
	if err != nil {
		b.Fatal(err)
	}
	env.BuildTables(p, "merge_live")
	var schemas []string
	for _, w := range full.GetWorkspaces() {
		s := naming.WorkspaceSchema(d, w.GetName())
		schemas = append(schemas, "CREATE SCHEMA "+securitytest.Q(s)+" AUTHORIZATION "+securitytest.Q(naming.OwnerRole(d)),
			"COMMENT ON SCHEMA "+securitytest.Q(s)+" IS 'datasurface:managed kind=workspace platform="+d+" workspace="+w.GetName()+"'")
	}
	if _, err := env.Conn("merge_live").Exec(ctx, strings.Join(schemas, ";\n")); err != nil {
		b.Fatal(err)
	}
	setup := time.Now()
	env.ReconcileViews(full, p, "merge_live")
	b.Logf("setup: %d workspace schemas, %d views created in %v", len(schemas)/2, len(securitytest.Views(full, p)), time.Since(setup))

	start := time.Now()
	first, err := acts.ApplyGrants(ctx, security.ApplyGrantsInput{Platform: d, ModelVersion: v})
	firstDur := time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	var noop time.Duration
	n := 0
	for b.Loop() {
		start := time.Now()
		r, err := acts.ApplyGrants(ctx, security.ApplyGrantsInput{Platform: d, ModelVersion: v})
		noop += time.Since(start)
		n++
		if err != nil {
			b.Fatal(err)
		}
		if r.Actions != 0 {
			b.Fatalf("no-op reconcile applied %d actions", r.Actions)
		}
	}
	b.ReportMetric(firstDur.Seconds(), "first_apply_s")
	b.ReportMetric(float64(first.Actions), "first_apply_actions")
	b.ReportMetric(noop.Seconds()/float64(n), "noop_apply_s")
	b.Logf("first apply: %d actions in %v (target ≤ 10 s); no-op reconcile: %v on average over %d (target ≤ 1 s)",
		first.Actions, firstDur, noop/time.Duration(n), n)
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = securitytest.Q(s)
	}
	return out
}
