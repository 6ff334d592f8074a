package security_test

import (
	"context"
	"testing"
	"time"

	"github.com/datasurface/datasurface/kit/pgtest"
	"github.com/datasurface/datasurface/services/security/benchsec"
)

// BenchmarkApply measures security.md §9's figure with package benchsec (the same code as
// `datasurface bench --suite security`): 1,000 workspaces × 10 views, one consumer each. Setup
// (not timed): the platform's owner role and schema, then — as the merge service would — 1,000
// workspace schemas and 10,000 views created by the owner before any grant exists. Timed: the
// first apply of the full model (1,000 group roles, default privileges, 10,000 view grants,
// CONNECT, memberships, in one transaction with its verification re-diff), then no-op
// reconciles (read, diff, empty). Targets: first apply ≤ 10 s, no-op ≤ 1 s. Run:
// go test -run '^$' -bench BenchmarkApply .
func BenchmarkApply(b *testing.B) {
	if testing.Short() {
		b.Skip("long benchmark")
	}
	dsn := pgtest.NewDatabase(b)
	b.Cleanup(func() {
		if err := benchsec.DropRoles(context.Background(), dsn); err != nil {
			b.Logf("cleanup: %v", err)
		}
	})
	// One run takes seconds, so the framework calls this once (b.N = 1); the figures are the
	// reported metrics, not ns/op.
	res, err := benchsec.Run(b.Context(), benchsec.Options{DSN: dsn, Dir: b.TempDir(), NoopRuns: 5, Progress: func(l string) { b.Log(l) }})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(res.First.Seconds(), "first_apply_s")
	b.ReportMetric(float64(res.FirstActions), "first_apply_actions")
	b.ReportMetric(res.Noop.Seconds(), "noop_apply_s")
	b.Logf("first apply: %d actions in %v (target ≤ 10 s); no-op reconcile: %v on average over %d (target ≤ 1 s)",
		res.FirstActions, res.First.Round(time.Millisecond), res.Noop.Round(time.Millisecond), res.NoopRuns)
}
