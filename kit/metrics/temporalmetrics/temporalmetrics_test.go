package temporalmetrics_test

import (
	"context"
	"errors"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/datasurface/datasurface/kit/metrics/temporalmetrics"
)

func TestOutcome(t *testing.T) {
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		want string
	}{
		{"success", t.Context(), nil, temporalmetrics.OutcomeOK},
		{"plain error", t.Context(), errors.New("db down"), temporalmetrics.OutcomeRetryable},
		{"retryable application error", t.Context(), temporal.NewApplicationError("busy", "StreamBusy"), temporalmetrics.OutcomeRetryable},
		{"non-retryable application error", t.Context(), temporal.NewNonRetryableApplicationError("bad", "Permanent", nil), temporalmetrics.OutcomePermanent},
		{"context ended", canceled, errors.New("query canceled"), temporalmetrics.OutcomeCanceled},
		{"deadline", t.Context(), context.DeadlineExceeded, temporalmetrics.OutcomeCanceled},
	} {
		if got := temporalmetrics.Outcome(tc.ctx, tc.err); got != tc.want {
			t.Errorf("%s: Outcome = %q, want %q", tc.name, got, tc.want)
		}
	}
}
