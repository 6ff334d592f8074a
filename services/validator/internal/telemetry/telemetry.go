// Package telemetry holds the validator's metrics (docs/metrics.md), shared by the decider and
// the checker.
package telemetry

import (
	"time"

	"github.com/datasurface/datasurface/kit/metrics"
)

// Verdicts of a proposal (the verdict label).
const (
	VerdictCommitted = "committed" // accepted and committed as a new version
	VerdictUnchanged = "unchanged" // accepted; no change against the head, nothing committed
	VerdictRejected  = "rejected"  // rejected
)

// Outcomes of one gate run (the outcome label).
const (
	GatePassed = "passed"
	GateFailed = "failed" // the report has problems at the fail-on level
	GateError  = "error"  // the gate could not run (panic, context)
)

var (
	verdicts = metrics.Counter("model_verdicts_total",
		"Verdicts the validator published on proposals, by verdict (committed, unchanged, rejected).", "verdict")
	gateDuration = metrics.Histogram("gate_duration_seconds",
		"Time one run of the gate took (lint, source, authorization, compatibility), for proposals and the Validate RPC, by outcome (passed, failed, error).",
		nil, "outcome")
)

// Verdict counts one published verdict.
func Verdict(verdict string) { verdicts.WithLabelValues(verdict).Inc() }

// Gate records one gate run that started at start.
func Gate(start time.Time, outcome string) {
	gateDuration.WithLabelValues(outcome).Observe(time.Since(start).Seconds())
}
