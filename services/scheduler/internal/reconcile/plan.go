package reconcile

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/datasurface/datasurface/model/graph"
	"github.com/datasurface/datasurface/model/index"
	"github.com/datasurface/datasurface/platforms/yellow/batchapi"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/scheduler/internal/ids"
	"github.com/datasurface/datasurface/services/scheduler/internal/workflows"
)

// Trigger kinds of a stream.
const (
	TriggerCron        = "cron"
	TriggerExternal    = "external"
	TriggerAfterInputs = "afterInputs"
)

// Stream is one ingestion stream of a Yellow platform as the scheduler runs it.
type Stream struct {
	Platform  string
	Key       string
	Datastore string
	Datasets  []string
	// Capture is the effective capture kind (index.Kind* or graph.KindRemote).
	Capture string
	// Trigger is TriggerCron (Cron set), TriggerExternal or TriggerAfterInputs.
	Trigger string
	Cron    string
	// Transformer is the workspace writing a transformerOutput stream.
	Transformer string
	// ScheduleID is the schedule that starts its batches ("" for TriggerAfterInputs).
	ScheduleID string
}

// Schedule is one desired Temporal schedule.
type Schedule struct {
	ID string
	// Kind is ids.KindBatch (Key = stream key) or ids.KindTransformer (Key = workspace).
	Kind     string
	Platform string
	Key      string
	// Cron is "" for an on-demand schedule (external trigger): paused, without times.
	Cron string
	// Fingerprint identifies everything of the schedule the reconciler sets, so equal
	// fingerprints mean nothing to update.
	Fingerprint string
}

// Plan is what one committed model asks of the scheduler.
type Plan struct {
	Version int64
	Digest  string
	// Platforms are the Yellow platforms, sorted.
	Platforms []string
	// Streams sorted by (platform, key); Schedules by id.
	Streams   []Stream
	Schedules []Schedule
	// Databases are the merge databases of the platforms, by platform.
	Databases map[string]MergeDatabase
}

// MergeDatabase is where a platform's batch bookkeeping lives: the model's mergeDatabase
// (nil when it is not a postgres container) and mergeCredential, resolved through the
// credential store of the platform's provider.
type MergeDatabase struct {
	Host       *modelv1.HostDatabase
	Credential string
	Store      *modelv1.CredentialStore
}

// Stream returns stream k of platform d.
func (p *Plan) Stream(d, k string) (Stream, bool) {
	i, ok := slices.BinarySearchFunc(p.Streams, [2]string{d, k}, func(s Stream, t [2]string) int {
		return cmp.Or(strings.Compare(s.Platform, t[0]), strings.Compare(s.Key, t[1]))
	})
	if !ok {
		return Stream{}, false
	}
	return p.Streams[i], true
}

// NewPlan computes the streams and schedules of every Yellow platform of m (spec/model.md
// §4.18): one schedule per ingestion stream that reads a source or a primary platform (cron
// from the datastore's trigger; an external trigger, or none, gives an on-demand schedule) and
// one per transformer with a cron trigger. Transformer outputs without a cron run after their
// inputs commit and have no schedule.
func NewPlan(m *modelv1.Model, version int64, digest string) *Plan {
	x := index.New(m)
	eco := graph.BuildWith(x, graph.Options{Outline: true})
	p := &Plan{Version: version, Digest: digest, Databases: map[string]MergeDatabase{}}
	for _, name := range eco.PlatformNames() {
		y := x.Platforms[name].GetYellow()
		if y == nil {
			continue
		}
		p.Platforms = append(p.Platforms, name)
		p.Databases[name] = MergeDatabase{
			Host:       y.GetMergeDatabase().GetPostgres(),
			Credential: y.GetMergeCredential().GetName(),
			Store:      x.PlatformPSP[name].GetCredentialStore(),
		}
		g := eco.Platforms[name]
		for _, s := range g.Streams {
			st := Stream{Platform: name, Key: s.Key, Datastore: s.Datastore, Datasets: s.Datasets, Capture: s.Kind}
			if s.Kind == index.KindTransformerOutput {
				w := x.Outputs[s.Datastore]
				st.Transformer = w.GetName()
				if cron := w.GetTransformer().GetTrigger().GetCron(); cron != "" {
					st.Trigger, st.Cron = TriggerCron, cron
					st.ScheduleID = ids.TransformerSchedule(name, st.Transformer)
				} else {
					st.Trigger = TriggerAfterInputs
				}
				p.Streams = append(p.Streams, st)
				continue
			}
			st.Trigger = TriggerExternal
			if cron := index.CaptureOf(x.Datastores[s.Datastore]).Trigger.GetCron(); cron != "" {
				st.Trigger, st.Cron = TriggerCron, cron
			}
			st.ScheduleID = ids.BatchSchedule(name, s.Key)
			p.Streams = append(p.Streams, st)
			p.Schedules = append(p.Schedules, newSchedule(ids.KindBatch, name, s.Key, st.Cron))
		}
		for _, t := range g.Transformers {
			if cron := x.Workspaces[t.Workspace].GetTransformer().GetTrigger().GetCron(); cron != "" {
				p.Schedules = append(p.Schedules, newSchedule(ids.KindTransformer, name, t.Workspace, cron))
			}
		}
	}
	slices.SortFunc(p.Streams, func(a, b Stream) int {
		return cmp.Or(strings.Compare(a.Platform, b.Platform), strings.Compare(a.Key, b.Key))
	})
	slices.SortFunc(p.Schedules, func(a, b Schedule) int { return strings.Compare(a.ID, b.ID) })
	return p
}

// specVersion changes when the reconciler starts setting schedules differently, so every
// schedule is updated once.
const specVersion = "v1"

func newSchedule(kind, platform, key, cron string) Schedule {
	s := Schedule{Kind: kind, Platform: platform, Key: key, Cron: cron}
	wt := workflows.Batch
	if kind == ids.KindTransformer {
		s.ID = ids.TransformerSchedule(platform, key)
		wt = workflows.Transformer
	} else {
		s.ID = ids.BatchSchedule(platform, key)
	}
	h := sha256.Sum256([]byte(strings.Join([]string{specVersion, s.ID, wt, batchapi.TaskQueueScheduler, cron}, "\x00")))
	s.Fingerprint = hex.EncodeToString(h[:12])
	return s
}
