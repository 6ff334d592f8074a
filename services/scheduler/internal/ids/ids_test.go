package ids_test

import (
	"testing"

	"github.com/datasurface/datasurface/services/scheduler/internal/ids"
	"github.com/google/go-cmp/cmp"
)

func TestIDs(t *testing.T) {
	tests := []struct {
		name, id            string
		kind, platform, key string
		ok                  bool
	}{
		{name: "batch", id: ids.BatchSchedule("YellowLive", "Store1#people"), kind: "batch", platform: "YellowLive", key: "Store1#people", ok: true},
		{name: "transformer", id: ids.TransformerSchedule("YellowLive", "Masking"), kind: "transformer", platform: "YellowLive", key: "Masking", ok: true},
		{name: "reconcile", id: ids.ReconcileWorkflow("YellowLive", 42), kind: "reconcile", platform: "YellowLive", key: "v42", ok: true},
		{name: "not ours", id: "payroll-nightly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, p, key, ok := ids.Parse(tt.id)
			if diff := cmp.Diff([]any{tt.kind, tt.platform, tt.key, tt.ok}, []any{k, p, key, ok}); diff != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tt.id, diff)
			}
		})
	}
}
