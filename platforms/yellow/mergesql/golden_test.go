package mergesql_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
)

func render(stmts ...mergesql.Stmt) string {
	var b strings.Builder
	for _, s := range stmts {
		fmt.Fprintf(&b, "-- %s", s.Name)
		if s.Metric != mergesql.None {
			fmt.Fprintf(&b, " → %s", s.Metric)
		}
		if len(s.Args) > 0 {
			fmt.Fprintf(&b, " %v", s.Args)
		}
		b.WriteString("\n" + s.SQL + ";\n\n")
	}
	return b.String()
}

// TestMergeGolden renders the statements of every merge mode for the representative people
// dataset and a keyless one.
func TestMergeGolden(t *testing.T) {
	captureOf := map[mergesql.Mode]layout.Capture{
		mergesql.LiveSnapshot: layout.Snapshot, mergesql.LiveUpsert: layout.Watermark, mergesql.LiveIUD: layout.CDC,
		mergesql.ForensicSnapshot: layout.Snapshot, mergesql.ForensicUpsert: layout.Watermark, mergesql.ForensicIUD: layout.CDC,
		mergesql.MirrorSeed: layout.RemoteForensic, mergesql.MirrorIncremental: layout.RemoteForensic,
	}
	for _, mode := range mergesql.Modes {
		t.Run(mode.String(), func(t *testing.T) {
			m := layout.LiveOnly
			if strings.HasPrefix(mode.String(), "forensic") || strings.HasPrefix(mode.String(), "mirror") {
				m = layout.Forensic
			}
			target, err := mergesql.TargetOf(layout.Merge("Test_DP", people(), m), layout.Staging("Test_DP", people(), captureOf[mode]))
			if err != nil {
				t.Fatal(err)
			}
			stmts, err := mergesql.Merge(target, mode, 7)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "merge_"+mode.String()+".sql", render(stmts...))
		})
	}
}

func TestModeFor(t *testing.T) {
	tests := []struct {
		c    layout.Capture
		m    layout.Milestoning
		seed bool
		want mergesql.Mode
	}{
		{layout.Snapshot, layout.LiveOnly, false, mergesql.LiveSnapshot},
		{layout.TransformerOutput, layout.Forensic, false, mergesql.ForensicSnapshot},
		{layout.Watermark, layout.LiveOnly, false, mergesql.LiveUpsert},
		{layout.Watermark, layout.Forensic, false, mergesql.ForensicUpsert},
		{layout.CDC, layout.LiveOnly, false, mergesql.LiveIUD},
		{layout.CDC, layout.Forensic, false, mergesql.ForensicIUD},
		{layout.RemoteLive, layout.LiveOnly, true, mergesql.LiveSnapshot},
		{layout.RemoteLive, layout.LiveOnly, false, mergesql.LiveIUD},
		{layout.RemoteForensic, layout.Forensic, true, mergesql.MirrorSeed},
		{layout.RemoteForensic, layout.Forensic, false, mergesql.MirrorIncremental},
	}
	for _, tt := range tests {
		got, err := mergesql.ModeFor(tt.c, tt.m, tt.seed)
		if err != nil || got != tt.want {
			t.Errorf("ModeFor(%v, %v, %t) = %v, %v; want %v", tt.c, tt.m, tt.seed, got, err, tt.want)
		}
	}
	if _, err := mergesql.ModeFor(layout.RemoteLive, layout.Forensic, false); err == nil {
		t.Error("remote-live on a forensic platform: no error")
	}
}

// TestOtherStatementsGolden renders the staging, secondary, bookkeeping, lag and view
// statements.
func TestOtherStatementsGolden(t *testing.T) {
	ds := people()
	staging := layout.Staging("Test_DP", ds, layout.Snapshot)
	cdcStaging := layout.Staging("Test_DP", ds, layout.CDC)
	load := layout.CDCLoad("Test_DP", ds)
	out := layout.OutputTable("Test_DP", "Masking", ds)
	conflate, err := mergesql.ConflateCDC(load, cdcStaging, 7)
	if err != nil {
		t.Fatal(err)
	}
	stageOut, err := mergesql.StageTransformerOutput(out, staging, 7)
	if err != nil {
		t.Fatal(err)
	}
	prune, _, err := mergesql.PruneStaging(staging.Name, 7, 50)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("-- COPY of a snapshot ingest\n" + mergesql.CopyFrom(staging.Name, mergesql.StagingCopyColumns(staging)) + ";\n\n")
	b.WriteString(render(mergesql.ClearStaging(staging.Name, 7), prune, mergesql.TruncateCDCLoad(load.Name), mergesql.Analyze(staging.Name),
		conflate, mergesql.DedupKeyless(staging.Name, 7), stageOut))
	golden(t, "staging.sql", b.String())

	rem := mergesql.RemoteOf("YellowForensic", ds)
	golden(t, "remote.sql", render(
		mergesql.RemoteCommitted(rem, "Store1"),
		mergesql.RemoteLiveSeed(rem, 5, 2),
		mergesql.RemoteLiveIncremental(rem, 3, 5, 2),
		mergesql.RemoteForensicSeed(rem, 5),
		mergesql.RemoteForensicIncremental(rem, 3, 5),
	))

	bk := mergesql.BooksOf("Test_DP")
	state := []byte(`{"v":1}`)
	golden(t, "bookkeeping.sql", render(
		mergesql.TryLockStream("Test_DP", "Store1#people"), mergesql.UnlockStream("Test_DP", "Store1#people"),
		bk.EnsureCounter("Store1#people"), bk.LockCounter("Store1#people"), bk.SetCounter("Store1#people", 7),
		bk.BatchState("Store1#people", 7, true), bk.StartBatch("Store1#people", 7, state), bk.RestartBatch("Store1#people", 7, state),
		bk.MarkIngested("Store1#people", 7, 100, state), bk.MarkCommitted("Store1#people", 7, mergesql.Counts{Inserted: 1, Updated: 2, Deleted: 3}, state),
		bk.MarkFailed("Store1#people", 7, state), bk.LastCommitted("Store1#people"), bk.ConsecutiveFailures("Store1#people"),
		bk.NextRunID("W"), bk.StartRun("W", 1), bk.EndRun("W", 1, "succeeded", []byte(`{}`), []byte(`{}`), ""),
		bk.Reject("Store1#people", 7, "t", 0, 1, "bad", nil),
		mergesql.StreamLag(bk.Metrics, []string{"Store1#people"}), mergesql.WorkspaceLag(bk.Metrics, nil),
		mergesql.CountRows(naming.LiveView("Test_DP", "W", "G", "Store1", "people")),
	))

	var views strings.Builder
	for _, m := range []layout.Milestoning{layout.LiveOnly, layout.Forensic} {
		merge := layout.Merge("Test_DP", ds, m)
		cols := mergesql.ViewColumns(merge, nil, map[string]bool{"lastName": true, "dob": true})
		kinds := []mergesql.ViewKind{mergesql.LiveView}
		if m == layout.Forensic {
			kinds = append(kinds, mergesql.FullView)
		}
		for _, k := range kinds {
			v, err := mergesql.NewView(k, "W", "G", merge, cols)
			if err != nil {
				t.Fatal(err)
			}
			v.Decommissioning = k == mergesql.FullView
			st, err := mergesql.CreateView(v, true)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&views, "-- %s %s view\n%s;\n\n", m, k, strings.Join(st, ";\n"))
		}
	}
	golden(t, "views.sql", views.String())
}
