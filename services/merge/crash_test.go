package merge_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/datasurface/datasurface/services/merge"
)

// The crash tests kill a real process with SIGKILL in the middle of a batch: the test binary
// re-executes itself as a child (TestCrashChild, configured by crashEnv) that runs batch 2 of a
// stream through RunCycle with the real ingest service and kills itself at a named point. The
// parent then runs the batch again, runs batch 3, and compares every merge table and the batch
// bookkeeping with an uninterrupted run of the same inputs.

// crashEnv names the environment variable that carries a child's crashSpec (JSON).
const crashEnv = "DATASURFACE_MERGE_CRASH_CHILD"

// Kill points.
const (
	// killAfterStaging: the ingest transaction committed (batch ingested), before MergeBatch.
	killAfterStaging = "after-staging"
	// killMidCopy: while the ingest's COPY into staging is streaming, after crashSpec.MinRows rows.
	killMidCopy = "mid-copy"
	// killBeforeCommit: inside MergeBatch's transaction, after every merge statement, before COMMIT.
	killBeforeCommit = "before-commit"
)

// crashSpec tells the child what to run and where to die.
type crashSpec struct {
	Point    string
	Platform string
	MergeDSN string
	SrcDSN   string
	MinRows  int64
}

// crashRows is the size of batch 2 (large enough for a kill in the middle of its COPY).
const crashRows = 40000

// crashSources are the source statements before each of the three batches: NULLs, updates,
// deletes, inserts and a re-insert of a deleted key; a keyless dataset with duplicates.
var crashSources = [][]string{
	{peopleRows("(1, 'ann', 'a', 10)", "(2, 'bob', NULL, 20)", "(3, 'cy', 'c', NULL)", "(5, 'eve', 'e', 50)"),
		"TRUNCATE visits; INSERT INTO visits VALUES (1, 'home'), (1, 'home'), (2, 'cart')"},
	{"DELETE FROM people WHERE id = 5", "UPDATE people SET score = 11 WHERE id = 1",
		fmt.Sprintf(`INSERT INTO people SELECT g, 'p' || g, CASE WHEN g %% 7 = 0 THEN NULL ELSE 'e' || g END, (g %% 1000) / 10.0
			FROM generate_series(6, %d) g`, crashRows+5),
		"TRUNCATE visits; INSERT INTO visits VALUES (1, 'home'), (4, 'cart')"},
	{"DELETE FROM people WHERE id % 10 = 3", "UPDATE people SET email = NULL, score = score + 1 WHERE id % 3 = 0",
		"INSERT INTO people VALUES (5, 'eve', 'e2', 51)", "TRUNCATE visits"},
}

// crashState is the merge tables of stream Shop and its batch bookkeeping: status, counts,
// staged total, attempt and the per-dataset row counts of the state record.
func (e *env) crashState(d string) map[string][]string {
	e.t.Helper()
	out := e.state(d)
	out["books"] = e.query(`SELECT concat_ws(' ', batch_id, batch_status, records_inserted, records_updated, records_deleted, total_records,
			state->>'attempt', state->'rows', state->'datasets', state->'fingerprints', state->'error')
		FROM ` + ddl.Ident(naming.BatchMetrics(d)) + ` WHERE key = 'Shop' ORDER BY batch_id`)
	out["counter"] = e.query(`SELECT current_batch::text FROM ` + ddl.Ident(naming.BatchCounter(d)) + ` WHERE key = 'Shop'`)
	return out
}

// TestCrashChild is the child process of the crash tests; it does nothing unless crashEnv is set.
func TestCrashChild(t *testing.T) {
	raw := os.Getenv(crashEnv)
	if raw == "" {
		t.Skip("the child process of TestCrashKilledBatchReRuns")
	}
	var spec crashSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		t.Fatal(err)
	}
	e := envAt(t, merge.Config{}, spec.MergeDSN, spec.SrcDSN)
	switch spec.Point {
	case killAfterStaging:
		ing := e.ingest
		e.ingest = func(e *env, d, stream string) merge.Ingest {
			f := ing(e, d, stream)
			return func(ctx context.Context, b int32) error {
				if err := f(ctx, b); err != nil {
					return err
				}
				killSelf()
				return nil
			}
		}
	case killMidCopy:
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			for ctx.Err() == nil {
				var n int64
				_ = e.mrg.QueryRow(ctx, `SELECT coalesce(max(tuples_processed), 0) FROM pg_catalog.pg_stat_progress_copy
					WHERE datname = current_database() AND command = 'COPY FROM'`).Scan(&n)
				if n >= spec.MinRows {
					fmt.Fprintf(os.Stderr, "killing the ingest after %d rows copied into staging\n", n)
					killSelf()
				}
				time.Sleep(time.Millisecond)
			}
		}()
	case killBeforeCommit:
		e.act.SetBeforeCommit(func(context.Context) error { killSelf(); return nil })
	default:
		t.Fatalf("unknown kill point %q", spec.Point)
	}
	res, err := e.cycle(spec.Platform, "Shop")
	t.Fatalf("the batch ended (%s, %v) before the kill point %s", res.Status, err, spec.Point)
}

// killSelf ends this process the way the OOM killer or a node failure would.
func killSelf() {
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	time.Sleep(time.Minute)
}

// runCrashChild runs TestCrashChild with spec, checks it died of SIGKILL and returns its output.
func runCrashChild(t *testing.T, spec crashSpec) string {
	t.Helper()
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1", "-test.v")
	// The child's temporary directories (its model files) die with the parent's.
	cmd.Env = append(os.Environ(), crashEnv+"="+string(raw), "TMPDIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("child: %v, want killed by SIGKILL\n%s", err, out)
	}
	ws, ok := exit.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended %v, want killed by SIGKILL\n%s", exit, out)
	}
	return string(out)
}

// crashControl runs the three batches without interruption.
func crashControl(t *testing.T, d string) map[string][]string {
	e := newEnv(t, merge.Config{})
	e.sql(sourceDDL)
	for _, src := range crashSources {
		e.sql(src...)
		e.mustCycle(d, "Shop")
	}
	return e.crashState(d)
}

// cycleAfterCrash runs a batch that must commit; the killed session's stream lock may still be
// held for a moment while the server notices the dead connection.
func (e *env) cycleAfterCrash(d string) merge.CycleResult {
	e.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; {
		res, err := e.cycle(d, "Shop")
		if errors.Is(err, merge.ErrStreamBusy) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if err != nil || res.Status != "committed" {
			e.t.Fatalf("batch after the crash: %v (status %s)", err, res.Status)
		}
		return res
	}
}

func TestCrashKilledBatchReRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for _, d := range []string{"YellowLive", "YellowForensic"} {
		t.Run(d, func(t *testing.T) {
			want := crashControl(t, d)
			for _, tc := range []struct {
				point string
				// status is batch 2's status after the kill; staged its staging rows.
				status string
				staged string
			}{
				{killAfterStaging, "ingested", fmt.Sprint(crashRows + 3 + 2)},
				{killMidCopy, "started", "0"},
				{killBeforeCommit, "ingested", fmt.Sprint(crashRows + 3 + 2)},
			} {
				t.Run(tc.point, func(t *testing.T) {
					e := newEnv(t, merge.Config{})
					e.sql(sourceDDL)
					e.sql(crashSources[0]...)
					e.mustCycle(d, "Shop")
					before := e.crashState(d)
					e.sql(crashSources[1]...)

					t0 := time.Now()
					out := runCrashChild(t, crashSpec{Point: tc.point, Platform: d, MergeDSN: e.mergeDSN, SrcDSN: e.srcDSN, MinRows: crashRows / 4})
					t.Logf("child killed at %s after %v", tc.point, time.Since(t0).Round(time.Millisecond))
					if tc.point == killMidCopy {
						i := strings.Index(out, "killing the ingest after")
						if i < 0 {
							t.Fatalf("the child did not die in the middle of the COPY:\n%s", out)
						}
						t.Log(strings.TrimSpace(strings.SplitN(out[i:], "\n", 2)[0]))
					}

					// Nothing of batch 2 is visible; its bookkeeping is where the kill left it.
					after := e.crashState(d)
					for _, ds := range []string{"people", "visits"} {
						diff(t, "merge table after the kill: "+ds, before[ds], after[ds])
					}
					diff(t, "batch 2 after the kill", tc.status, strings.Fields(e.metrics(d, "Shop", 2))[0])
					staged := e.query(`SELECT (SELECT count(*) FROM ` + ddl.Ident(naming.StagingTable(d, "Shop", "people")) + ` WHERE ds_surf_batch_id = 2) +
						(SELECT count(*) FROM ` + ddl.Ident(naming.StagingTable(d, "Shop", "visits")) + ` WHERE ds_surf_batch_id = 2)`)
					diff(t, "staging rows of batch 2 after the kill", []string{tc.staged}, staged)

					res := e.cycleAfterCrash(d)
					if res.Start.Batch != 2 {
						t.Fatalf("re-run committed batch %d, want 2", res.Start.Batch)
					}
					e.sql(crashSources[2]...)
					e.mustCycle(d, "Shop")
					got := e.crashState(d)
					for k := range want {
						diff(t, k+" (vs an uninterrupted run)", want[k], got[k])
					}
					if d == "YellowForensic" {
						shop, _ := e.platform(d).Stream("Shop")
						e.checkForensic(shop.Datasets[0].Merge)
					}
				})
			}
		})
	}
}
