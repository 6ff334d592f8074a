package merge_test

import (
	"testing"

	"github.com/datasurface/datasurface/services/merge"
)

// TestWatermarkLifecycle runs the half-open watermark intervals of yellow.md §7.2 through the
// upsert merges (§9.2, §9.5): rows at the high watermark wait for the next batch, updates arrive
// through a bumped timestamp, deletes are never seen.
func TestWatermarkLifecycle(t *testing.T) {
	steps := []struct {
		name     string
		source   []string
		live     []string
		forensic []string
		counts   string
	}{{
		name:     "first batch reads below the high watermark",
		source:   []string{"INSERT INTO clicks VALUES (1, 'a', '2026-01-01 10:00'), (2, 'b', '2026-01-01 11:00')"},
		live:     []string{"1 a 2026-01-01 10:00:00 [1]"},
		forensic: []string{"1 a 2026-01-01 10:00:00 [1,L]"},
		counts:   "committed 1/0/0 1",
	}, {
		name:     "the deferred row arrives; new rows at the new high wait",
		source:   []string{"INSERT INTO clicks VALUES (3, 'c', '2026-01-01 12:00')", "UPDATE clicks SET target = 'a2', updated_at = '2026-01-01 12:00' WHERE id = 1"},
		live:     []string{"1 a 2026-01-01 10:00:00 [1]", "2 b 2026-01-01 11:00:00 [2]"},
		forensic: []string{"1 a 2026-01-01 10:00:00 [1,L]", "2 b 2026-01-01 11:00:00 [2,L]"},
		counts:   "committed 1/0/0 1",
	}, {
		name:     "update through a bumped timestamp",
		source:   []string{"INSERT INTO clicks VALUES (4, 'd', '2026-01-01 13:00')"},
		live:     []string{"1 a2 2026-01-01 12:00:00 [3]", "2 b 2026-01-01 11:00:00 [2]", "3 c 2026-01-01 12:00:00 [3]"},
		forensic: []string{"1 a 2026-01-01 10:00:00 [1,2]", "1 a2 2026-01-01 12:00:00 [3,L]", "2 b 2026-01-01 11:00:00 [2,L]", "3 c 2026-01-01 12:00:00 [3,L]"},
		counts:   "committed 1/1/0 2",
	}, {
		name:     "deletes are never seen",
		source:   []string{"DELETE FROM clicks WHERE id = 2"},
		live:     []string{"1 a2 2026-01-01 12:00:00 [3]", "2 b 2026-01-01 11:00:00 [2]", "3 c 2026-01-01 12:00:00 [3]"},
		forensic: []string{"1 a 2026-01-01 10:00:00 [1,2]", "1 a2 2026-01-01 12:00:00 [3,L]", "2 b 2026-01-01 11:00:00 [2,L]", "3 c 2026-01-01 12:00:00 [3,L]"},
		counts:   "committed 0/0/0 0",
	}, {
		name:     "empty source",
		source:   []string{"TRUNCATE clicks"},
		live:     []string{"1 a2 2026-01-01 12:00:00 [3]", "2 b 2026-01-01 11:00:00 [2]", "3 c 2026-01-01 12:00:00 [3]"},
		forensic: []string{"1 a 2026-01-01 10:00:00 [1,2]", "1 a2 2026-01-01 12:00:00 [3,L]", "2 b 2026-01-01 11:00:00 [2,L]", "3 c 2026-01-01 12:00:00 [3,L]"},
		counts:   "committed 0/0/0 0",
	}}
	for _, d := range []string{"YellowLive", "YellowForensic"} {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, merge.Config{})
			e.sql(sourceDDL)
			clicks, _ := e.platform(d).Stream("Clicks#clicks")
			for i, st := range steps {
				e.sql(st.source...)
				res := e.mustCycle(d, "Clicks#clicks")
				if res.Merge.Mode != map[string]string{"YellowLive": "live-upsert", "YellowForensic": "forensic-upsert"}[d] {
					t.Errorf("mode %s", res.Merge.Mode)
				}
				want := st.live
				if d == "YellowForensic" {
					want = st.forensic
				}
				diff(t, st.name, want, e.dump(clicks.Datasets[0].Merge))
				diff(t, st.name+": metrics", st.counts, e.metrics(d, "Clicks#clicks", int32(i+1)))
				if d == "YellowForensic" {
					e.checkForensic(clicks.Datasets[0].Merge)
				}
			}
		})
	}
}
