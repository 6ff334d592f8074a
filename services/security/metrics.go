package security

import (
	"github.com/datasurface/datasurface/kit/metrics"
)

// Metrics of the security worker (docs/metrics.md). The activity calls themselves are counted
// by kit/metrics/temporalmetrics (service "security").
var (
	grantApplies = metrics.Counter("grant_applies_total",
		"Successful ApplyGrants runs, by platform and whether they changed anything (changed: true, false).",
		"platform", "changed")
	grantActions = metrics.Counter("grant_actions_total",
		"Role and grant actions applied by ApplyGrants, by platform and kind (all, destructive).",
		"platform", "kind")
)

// observeApply records an ApplyGrants result (Prepare, which applies nothing, is not recorded).
func observeApply(platform string, res ApplyGrantsResult, err error) {
	if err != nil {
		return
	}
	changed := "false"
	if res.Actions > 0 {
		changed = "true"
	}
	grantApplies.WithLabelValues(platform, changed).Inc()
	grantActions.WithLabelValues(platform, "all").Add(float64(len(res.Applied)))
	grantActions.WithLabelValues(platform, "destructive").Add(float64(res.Destructive))
}
