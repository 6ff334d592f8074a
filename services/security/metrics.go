package security

import (
	"strconv"

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
	grantFailures = metrics.Counter("grant_apply_failures_total",
		"Failed applies of a platform's access (activities, RPCs, commit and views consumers, drift checks), by platform and whether retrying the same input can fix them (permanent: true for plan errors such as an unresolvable merge credential, credentials that cannot be resolved or stored, stale digests).",
		"platform", "permanent")
)

// observeFailure records a failed apply of platform (the engine's OnFailed hook).
func observeFailure(platform string, err error) {
	grantFailures.WithLabelValues(platform, strconv.FormatBool(permanentApply(err))).Inc()
}

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
