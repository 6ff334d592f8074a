package ingest_test

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
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The CDC crash test kills a real process with SIGKILL between staging and commit: the test
// binary re-executes itself (TestCDCCrashChild, configured by cdcCrashEnv), the child ingests
// batch 2 of a Kafka CDC stream from the parent's in-process broker and kills itself either
// right after the ingest transaction committed or inside the merge transaction just before
// COMMIT. The parent produces more events, runs batch 2 again and then batches 3 and 4, and
// compares the merge table and the batch records (counts, Kafka ranges) with an uninterrupted
// run: no event is lost or applied twice, because the offsets live only in the batch state and
// move forward only when the batch commits. The stream's consumer group gets a batch's end
// offsets (for monitoring) only once that batch committed: at the start of the next ingest.

const cdcCrashEnv = "DATASURFACE_INGEST_CRASH_CHILD"

type cdcCrashSpec struct {
	Point    string // "after-staging" or "before-commit"
	SrcDSN   string
	MergeDSN string
	Brokers  []string
	Forensic bool
}

// cdcCrashEvents are the events produced before each batch: snapshot rows; an update, a delete,
// an insert with NULLs and a second update of one key; a re-insert of the deleted key and an
// update setting NULLs; nothing (an empty batch).
func cdcCrashEvents() [][]msg {
	ann := customer(1, "ann", "10.50", "1990-05-01", "2026-01-01T12:00:00Z", []any{"a"}, `{"k": 1}`, true, 1.5, []byte{1})
	ann2 := customer(1, "ann2", "11.00", "1990-05-01", "2026-02-01T12:00:00Z", nil, `{"k": 2}`, false, 2.5, nil)
	bob := customer(2, "bob", "0.00", "1970-01-01", "2026-01-01T00:00:00Z", nil, `null`, true, 0, []byte("bob"))
	cy := customer(3, "cy", "3.00", "2000-01-01", "2026-01-01T00:00:00Z", []any{"x"}, `"s"`, true, 3, nil)
	cy2 := customer(3, "cy2", "3.50", "2000-01-01", "2026-03-01T00:00:00Z", []any{"x", "y"}, `"t"`, true, 3, nil)
	cy3 := customer(3, "cy3", "3.75", "2000-01-01", "2026-03-02T00:00:00Z", nil, `"u"`, false, 4, nil)
	dee := map[string]any{"id": 4, "name": "dee"}
	bob2 := customer(2, "bob again", "1.00", "1970-01-01", "2026-04-01T00:00:00Z", nil, `{}`, true, 1, nil)
	dee2 := map[string]any{"id": 4, "name": nil, "balance": connectDecimal("4.00")}
	return [][]msg{
		{event("r", 1, nil, ann, 100), event("r", 2, nil, bob, 100), event("r", 3, nil, cy, 100)},
		{event("u", 1, ann, ann2, 210), event("d", 2, map[string]any{"id": 2}, nil, 220), tombstone(2),
			event("c", 4, nil, dee, 230), event("u", 3, cy, cy2, 310), event("u", 3, cy2, cy3, 320)},
		{event("c", 2, nil, bob2, 410), event("u", 4, dee, dee2, 420)},
		nil,
	}
}

// cdcBatch runs one batch as the merge service would: open (or resume), ingest, commit.
func (e *env) cdcBatch(m *modelv1.Model) int32 {
	e.t.Helper()
	b := e.open(m, cdcKey)
	var err error
	for deadline := time.Now().Add(30 * time.Second); ; {
		// The killed child's session may hold the stream lock until the server notices.
		if _, err = e.ingest(context.Background(), m, cdcKey, b); err == nil || !strings.Contains(err.Error(), "busy") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		e.t.Fatalf("ingest batch %d: %v", b, err)
	}
	e.commit(m, cdcKey, b)
	return b
}

// cdcCrashState is the merge table and every batch's record: status, counts, staged total,
// per-dataset counts and the Kafka range.
func (e *env) cdcCrashState(m *modelv1.Model) map[string][]string {
	e.t.Helper()
	d := e.streams(m)[cdcKey].datasets[0]
	mt := layout.Merge(platform, d, e.ms)
	var sel []string
	for _, c := range mt.ModelColumnNames() {
		sel = append(sel, "coalesce(m."+ddl.Quote(c)+"::text, 'NULL')")
	}
	tail, order := `m."ds_surf_batch_id"::text`, `m."id"`
	if e.ms == layout.Forensic {
		tail, order = `m."ds_surf_batch_in" || ',' || m."ds_surf_batch_out"`, `m."id", m."ds_surf_batch_in"`
	}
	q := func(sql string) []string {
		rows, err := e.merge.Query(context.Background(), sql)
		if err != nil {
			e.t.Fatalf("%s: %v", sql, err)
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			e.t.Fatal(err)
		}
		return out
	}
	return map[string][]string{
		"merge": q("SELECT concat_ws(' ', " + strings.Join(sel, ", ") + ", " + tail + ") FROM " + ddl.Ident(mt.Name) + " m ORDER BY " + order),
		"books": q(`SELECT concat_ws(' ', batch_id, batch_status, records_inserted, records_updated, records_deleted, total_records,
				state->>'attempt', state->'rows', state->'kafka') FROM ` + ddl.Ident(books.Metrics) + ` WHERE key = '` + cdcKey + `' ORDER BY batch_id`),
	}
}

// TestCDCCrashChild is the child process of TestCDCCrashKilledBatch.
func TestCDCCrashChild(t *testing.T) {
	raw := os.Getenv(cdcCrashEnv)
	if raw == "" {
		t.Skip("the child process of TestCDCCrashKilledBatch")
	}
	var spec cdcCrashSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		t.Fatal(err)
	}
	e := envAt(t, spec.SrcDSN, spec.MergeDSN)
	if spec.Forensic {
		e.ms = layout.Forensic
	}
	m := e.cdcModelAt(spec.Brokers, modelv1.CdcRejectPolicy_CDC_REJECT_POLICY_UNSPECIFIED)
	b := e.open(m, cdcKey)
	e.mustIngest(m, cdcKey, b)
	if spec.Point == "after-staging" {
		killSelf()
	}
	e.beforeCommit = killSelf
	e.commit(m, cdcKey, b)
	t.Fatalf("batch %d committed: the child was not killed at %s", b, spec.Point)
}

func killSelf() {
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	time.Sleep(time.Minute)
}

// groupOffsetIsEndOf checks that the stream's consumer group holds the end offset of batch b
// (b = 0: no offset committed).
func (e *env) groupOffsetIsEndOf(k *kafkaEnv, b int32, when string) {
	e.t.Helper()
	want := int64(-1)
	if b > 0 {
		st, state := e.state(cdcKey, b)
		if st != mergesql.Committed || state.Kafka == nil {
			e.t.Fatalf("%s: batch %d is %s with Kafka state %+v, want committed", when, b, st, state.Kafka)
		}
		want = state.Kafka.End[topic+"/0"]
	}
	if got := k.committedGroupOffset("datasurface." + platform + "." + cdcKey); got != want && b == 0 {
		e.t.Errorf("%s: consumer group offset %d, want none", when, got)
	} else if got != want {
		e.t.Errorf("%s: consumer group offset %d, want %d (the end of committed batch %d)", when, got, want, b)
	}
}

// committedGroupOffset reads the offset of partition 0 committed to the stream's consumer
// group, -1 when none.
func (k *kafkaEnv) committedGroupOffset(group string) int64 {
	k.t.Helper()
	return k.committedGroupOffsets(group, 1)[0]
}

// committedGroupOffsets reads the offsets of partitions 0…n-1 of the topic committed to the
// consumer group, -1 for a partition without one.
func (k *kafkaEnv) committedGroupOffsets(group string, n int32) map[int32]int64 {
	k.t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic = topic
	out := map[int32]int64{}
	for p := range n {
		rt.Partitions = append(rt.Partitions, p)
		out[p] = -1
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), k.client)
	if err != nil {
		k.t.Fatal(err)
	}
	for _, tp := range resp.Topics {
		for _, p := range tp.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				k.t.Fatalf("offset of %s/%d in group %s: %v", tp.Topic, p.Partition, group, err)
			}
			out[p.Partition] = p.Offset
		}
	}
	return out
}

func TestCDCCrashKilledBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for _, ms := range []layout.Milestoning{layout.LiveOnly, layout.Forensic} {
		t.Run(ms.String(), func(t *testing.T) {
			// The uninterrupted run.
			k := newKafka(t, 1, topic)
			e := newEnv(t)
			e.ms = ms
			m := e.cdcModel(k, modelv1.CdcRejectPolicy_CDC_REJECT_POLICY_UNSPECIFIED)
			e.setup(m)
			for _, evs := range cdcCrashEvents() {
				k.produce(topic, 0, evs...)
				b := e.cdcBatch(m)
				// The ingest of batch b committed the end of batch b-1 (none before batch 1).
				e.groupOffsetIsEndOf(k, b-1, fmt.Sprintf("uninterrupted run, batch %d committed", b))
			}
			want := e.cdcCrashState(m)
			t.Logf("uninterrupted run:\n%s\n%s", strings.Join(want["merge"], "\n"), strings.Join(want["books"], "\n"))

			for _, point := range []string{"after-staging", "before-commit"} {
				t.Run(point, func(t *testing.T) {
					k := newKafka(t, 1, topic)
					e := newEnv(t)
					e.ms = ms
					m := e.cdcModel(k, modelv1.CdcRejectPolicy_CDC_REJECT_POLICY_UNSPECIFIED)
					e.setup(m)
					evs := cdcCrashEvents()
					k.produce(topic, 0, evs[0]...)
					e.cdcBatch(m)
					before := e.cdcCrashState(m)
					k.produce(topic, 0, evs[1]...)

					spec, err := json.Marshal(cdcCrashSpec{Point: point, SrcDSN: e.src.Config().ConnString(), MergeDSN: e.merge.Config().ConnString(),
						Brokers: k.cluster.ListenAddrs(), Forensic: ms == layout.Forensic})
					if err != nil {
						t.Fatal(err)
					}
					cmd := exec.Command(os.Args[0], "-test.run=^TestCDCCrashChild$", "-test.count=1", "-test.v")
					cmd.Env = append(os.Environ(), cdcCrashEnv+"="+string(spec), "TMPDIR="+t.TempDir())
					out, err := cmd.CombinedOutput()
					var exit *exec.ExitError
					if !errors.As(err, &exit) {
						t.Fatalf("child: %v, want killed by SIGKILL\n%s", err, out)
					}
					if ws, ok := exit.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
						t.Fatalf("child ended %v, want killed by SIGKILL\n%s", exit, out)
					}

					// Batch 2 is staged and ingested with its Kafka range, nothing of it merged,
					// nothing committed to Kafka.
					after := e.cdcCrashState(m)
					if d := cmp.Diff(before["merge"], after["merge"]); d != "" {
						t.Errorf("merge table after the kill (-want +got):\n%s", d)
					}
					st, state := e.state(cdcKey, 2)
					if st != "ingested" || state.Kafka == nil || state.Kafka.Start[topic+"/0"] != 3 || state.Kafka.End[topic+"/0"] != 9 {
						t.Errorf("batch 2 after the kill: %s %+v", st, state.Kafka)
					}
					// Nothing of the uncommitted batch 2 reached the consumer group: it holds the
					// end of batch 1 (3), which the child's ingest committed, not batch 2's (9).
					if off := k.committedGroupOffset("datasurface." + platform + "." + cdcKey); off != state.Kafka.Start[topic+"/0"] {
						t.Errorf("offset %d committed to Kafka, want %d (the end of committed batch 1)", off, state.Kafka.Start[topic+"/0"])
					}

					// Events produced meanwhile belong to the next batch, not to the re-run.
					k.produce(topic, 0, evs[2]...)
					if b := e.cdcBatch(m); b != 2 {
						t.Fatalf("re-run committed batch %d, want 2", b)
					}
					e.groupOffsetIsEndOf(k, 1, "batch 2 re-run and committed")
					e.cdcBatch(m)
					e.groupOffsetIsEndOf(k, 2, "batch 3 committed")
					k.produce(topic, 0, evs[3]...)
					e.cdcBatch(m)
					e.groupOffsetIsEndOf(k, 3, "batch 4 committed")
					got := e.cdcCrashState(m)
					for _, key := range []string{"merge", "books"} {
						if d := cmp.Diff(want[key], got[key]); d != "" {
							t.Errorf("%s vs an uninterrupted run (-want +got):\n%s", key, d)
						}
					}
				})
			}
		})
	}
}
