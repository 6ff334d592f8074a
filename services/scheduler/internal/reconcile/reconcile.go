// Package reconcile makes committed models real in Temporal: on every ds.model.committed it
// loads the model, computes each Yellow platform's intention graph (spec/model.md §4.18) and
// brings the Temporal schedules to it — one per ingestion stream, one per transformer with a
// cron trigger — by comparing what is desired with what exists: new streams get a schedule,
// removed ones lose it (their data is kept), changed triggers are updated, and everything
// else is left alone, so the same commit delivered twice changes nothing the second time.
// What exists is read with one ListSchedules pass: each schedule's fingerprint is its search
// attribute SpecAttribute, so a restarted scheduler over an unchanged model makes no call per
// schedule.
// It also starts one ReconcileWorkflow per Yellow platform and committed version (tables,
// views, grants), whose id makes the start idempotent.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/datasurface/datasurface/kit/events"
	"github.com/datasurface/datasurface/kit/modelbus"
	"github.com/datasurface/datasurface/platforms/yellow/batchapi"
	eventsv1 "github.com/datasurface/datasurface/proto/gen/datasurface/events/v1"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/scheduler/internal/activities"
	"github.com/datasurface/datasurface/services/scheduler/internal/ids"
	"github.com/datasurface/datasurface/services/scheduler/internal/platformevents"
	"github.com/datasurface/datasurface/services/scheduler/internal/workflows"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Memo keys.
const (
	// MemoOwner marks a schedule as the scheduler's (value MemoOwnerValue); the reconciler
	// never touches schedules without it.
	MemoOwner      = "datasurface"
	MemoOwnerValue = "scheduler"
	MemoKind       = "kind"
	MemoPlatform   = "platform"
	MemoKey        = "key"
	// MemoSpec, in the schedule action's memo, is the fingerprint of the desired schedule.
	MemoSpec = "datasurfaceSpec"
)

// NoteExternal is the note of an on-demand schedule.
const NoteExternal = "external trigger: runs only on demand (datasurface streams trigger)"

// Models loads committed models.
type Models interface {
	Model(ctx context.Context, version int64, digest string) (*modelv1.Model, error)
	Remember(version int64, digest string)
}

// Config tunes the reconciler.
type Config struct {
	// TaskQueue of the scheduler's workflows (default batchapi.TaskQueueScheduler).
	TaskQueue string
	// Concurrency bounds the schedule calls in flight (default 16).
	Concurrency int
	// CatchupWindow is how late a missed scheduled batch may still start after an outage
	// (default 10 minutes; overlap policy skip makes a burst of missed times one batch).
	CatchupWindow time.Duration
	// NoReconcileWorkflows disables starting ReconcileWorkflow on commits (tests of the
	// schedules alone); PlatformReconciled is then published when the schedules are.
	NoReconcileWorkflows bool
	// Events publishes ds.platform.* (nil: nothing is published).
	Events *platformevents.Publisher
	// Namespace is the Temporal namespace of the client (default "default"), where
	// SpecAttribute is registered.
	Namespace string
	// NoSpecAttribute: schedules do not carry SpecAttribute (a namespace where it cannot be
	// registered); a reconcile then describes every schedule it did not set itself.
	NoSpecAttribute bool
}

// Reconciler keeps the Temporal schedules equal to the committed model.
type Reconciler struct {
	cfg    Config
	client client.Client
	models Models
	log    *slog.Logger

	mu    sync.Mutex
	known map[string]known // schedule id → what this process last saw or set
	plan  atomic.Pointer[Plan]
	// attrOn: SpecAttribute is registered (schedules carry it).
	attrOn atomic.Bool
	// apply serialises Apply calls.
	apply sync.Mutex
}

type known struct {
	kind, platform, key string
	fingerprint         string // "" = not known yet
}

// New returns a reconciler over a Temporal client.
func New(cfg Config, c client.Client, models Models, log *slog.Logger) *Reconciler {
	if cfg.TaskQueue == "" {
		cfg.TaskQueue = batchapi.TaskQueueScheduler
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 16
	}
	if cfg.CatchupWindow <= 0 {
		cfg.CatchupWindow = 10 * time.Minute
	}
	if cfg.Namespace == "" {
		cfg.Namespace = client.DefaultNamespace
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reconciler{cfg: cfg, client: c, models: models, log: log, known: map[string]known{}}
}

// Plan returns the plan of the last model applied (nil before the first).
func (r *Reconciler) Plan() *Plan { return r.plan.Load() }

// Summary is what one Apply did, by schedule id (sorted).
type Summary struct {
	Version   int64
	Created   []string
	Updated   []string
	Deleted   []string
	Unchanged int
	// Described counts the schedules read one by one because the listing did not show them
	// with the desired fingerprint (new to the listing, changed, or without SpecAttribute).
	Described int
	// Changes are the created, updated and deleted schedules, sorted by id.
	Changes []Change
	// Reconciles are the ReconcileWorkflow ids started (already started ones are left out).
	Reconciles []string
	Duration   time.Duration
}

// Change is what Apply did to one schedule.
type Change struct {
	ID       string
	Kind     string // ids.KindBatch or ids.KindTransformer
	Platform string
	Key      string // stream key or transformer workspace
	Op       string // OpCreated, OpUpdated or OpDeleted
	Cron     string
	// Paused: the schedule is paused after the change (on demand, or paused by a user).
	Paused bool
}

// Change operations.
const (
	OpCreated = "created"
	OpUpdated = "updated"
	OpDeleted = "deleted"
)

// Handle is the events.Handler of ds.model.committed: it applies the committed version unless
// a newer one is already applied. Errors are retried by the consumer.
func (r *Reconciler) Handle(ctx context.Context, e events.Event) error {
	ev := &eventsv1.ModelCommitted{}
	if err := e.Decode(ev); err != nil {
		return err
	}
	r.models.Remember(ev.GetVersion(), ev.GetDigest())
	if p := r.plan.Load(); p != nil && ev.GetVersion() < p.Version {
		r.log.InfoContext(ctx, "older model version skipped", "version", ev.GetVersion(), "applied", p.Version)
		return nil
	}
	s, err := r.Apply(ctx, ev.GetVersion(), ev.GetDigest())
	if err != nil {
		return fmt.Errorf("apply model version %d: %w", ev.GetVersion(), err)
	}
	r.log.InfoContext(ctx, "schedules reconciled", "version", s.Version, "created", len(s.Created), "updated", len(s.Updated),
		"deleted", len(s.Deleted), "unchanged", s.Unchanged, "described", s.Described, "reconciles", len(s.Reconciles), "duration", s.Duration)
	return nil
}

// Consumer returns the durable consumer of ds.model.committed that runs Handle.
func (r *Reconciler) Consumer(js events.Consumer) *events.Consumer {
	c := js
	c.Stream = modelbus.Stream
	c.Filter = modelbus.SubjectCommitted
	c.Handler = r.Handle
	if c.Log == nil {
		c.Log = r.log
	}
	return &c
}

// Apply brings the schedules to committed model version v (snapshot digest d) and starts the
// platforms' ReconcileWorkflows.
func (r *Reconciler) Apply(ctx context.Context, v int64, d string) (Summary, error) {
	r.apply.Lock()
	defer r.apply.Unlock()
	began := time.Now()
	m, err := r.models.Model(ctx, v, d)
	if err != nil {
		return Summary{}, err
	}
	plan := NewPlan(m, v, d)
	s, err := r.applyPlan(ctx, plan, began)
	s.Version = v
	s.Duration = time.Since(began)
	return s, err
}

func (r *Reconciler) applyPlan(ctx context.Context, plan *Plan, began time.Time) (Summary, error) {
	var s Summary
	attr := r.specAttribute(ctx)
	existing, err := r.existing(ctx, attr)
	if err != nil {
		return s, err
	}
	var mu sync.Mutex
	record := func(c Change) {
		mu.Lock()
		s.Changes = append(s.Changes, c)
		mu.Unlock()
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.cfg.Concurrency)
	desired := make(map[string]bool, len(plan.Schedules))
	for _, want := range plan.Schedules {
		desired[want.ID] = true
		have, exists := existing[want.ID]
		if exists && have.fingerprint == want.Fingerprint {
			s.Unchanged++
			continue
		}
		g.Go(func() error {
			res, err := r.ensure(gctx, want, exists, attr)
			if err != nil {
				return fmt.Errorf("schedule %s: %w", want.ID, err)
			}
			if res.described {
				mu.Lock()
				s.Described++
				mu.Unlock()
			}
			c := Change{ID: want.ID, Kind: want.Kind, Platform: want.Platform, Key: want.Key, Cron: want.Cron, Paused: res.paused}
			switch {
			case res.created:
				c.Op = OpCreated
				record(c)
			case res.changed:
				c.Op = OpUpdated
				record(c)
			default:
				mu.Lock()
				s.Unchanged++
				mu.Unlock()
			}
			return nil
		})
	}
	for id, have := range existing {
		if desired[id] {
			continue
		}
		g.Go(func() error {
			err := r.client.ScheduleClient().GetHandle(gctx, id).Delete(gctx)
			if err != nil && !ids.IsNotFound(err) {
				return fmt.Errorf("delete schedule %s: %w", id, err)
			}
			r.forget(id)
			if err == nil {
				record(Change{ID: id, Kind: have.kind, Platform: have.platform, Key: have.key, Op: OpDeleted})
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return s, err
	}
	// The schedules are the plan's: SchedulerService answers from it before the events below
	// announce them.
	r.plan.Store(plan)
	slices.SortFunc(s.Changes, func(a, b Change) int { return strings.Compare(a.ID, b.ID) })
	for _, c := range s.Changes {
		switch c.Op {
		case OpCreated:
			s.Created = append(s.Created, c.ID)
		case OpUpdated:
			s.Updated = append(s.Updated, c.ID)
		case OpDeleted:
			s.Deleted = append(s.Deleted, c.ID)
		}
	}
	if err := r.publishChanges(ctx, plan.Version, s.Changes); err != nil {
		return s, err
	}
	for _, d := range plan.Platforms {
		in := workflows.ReconcileInput{Platform: d, ModelVersion: plan.Version, ModelDigest: plan.Digest,
			Schedules: platformChanges(plan, d, s.Changes), Began: began}
		if r.cfg.NoReconcileWorkflows {
			ev := activities.ReconciledEvent(activities.PublishReconciledInput{
				Platform: d, ModelVersion: plan.Version, ModelDigest: plan.Digest, Schedules: in.Schedules, Began: began,
			}, time.Now())
			if err := r.cfg.Events.Reconciled(ctx, ev); err != nil {
				return s, err
			}
			continue
		}
		started, err := r.startReconcile(ctx, in)
		if err != nil {
			return s, err
		}
		if started != "" {
			s.Reconciles = append(s.Reconciles, started)
		}
	}
	return s, nil
}

// publishChanges publishes a StreamScheduleChanged or StreamRemoved per change: the schedules
// exist (or are gone) in Temporal when this runs.
func (r *Reconciler) publishChanges(ctx context.Context, v int64, changes []Change) error {
	if r.cfg.Events == nil {
		return nil
	}
	now := timestamppb.Now()
	for _, c := range changes {
		kind := eventsv1.ScheduleKind_SCHEDULE_KIND_BATCH
		if c.Kind == ids.KindTransformer {
			kind = eventsv1.ScheduleKind_SCHEDULE_KIND_TRANSFORMER
		}
		var err error
		switch c.Op {
		case OpDeleted:
			err = r.cfg.Events.StreamRemoved(ctx, &eventsv1.StreamRemoved{
				Platform: c.Platform, Stream: c.Key, Kind: kind, ScheduleId: c.ID, ModelVersion: v, DataKept: true, RemovedAt: now,
			})
		default:
			change := eventsv1.ScheduleChange_SCHEDULE_CHANGE_CREATED
			if c.Op == OpUpdated {
				change = eventsv1.ScheduleChange_SCHEDULE_CHANGE_UPDATED
			}
			err = r.cfg.Events.ScheduleChanged(ctx, &eventsv1.StreamScheduleChanged{
				Platform: c.Platform, Stream: c.Key, Kind: kind, Change: change, ScheduleId: c.ID, ModelVersion: v,
				Cron: c.Cron, Paused: c.Paused, ChangedAt: now,
			})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// platformChanges is what the schedules of platform d went through, for its reconcile event.
func platformChanges(plan *Plan, d string, changes []Change) activities.ScheduleChanges {
	var out activities.ScheduleChanges
	transformers := map[string]bool{}
	for _, st := range plan.Streams {
		if st.Platform != d {
			continue
		}
		out.Streams++
		if st.Transformer != "" {
			transformers[st.Transformer] = true
		}
	}
	out.Transformers = len(transformers)
	for _, c := range changes {
		if c.Platform != d {
			continue
		}
		if c.Kind == ids.KindTransformer {
			switch c.Op {
			case OpCreated:
				out.TransformersCreated = append(out.TransformersCreated, c.Key)
			case OpUpdated:
				out.TransformersUpdated = append(out.TransformersUpdated, c.Key)
			case OpDeleted:
				out.TransformersDeleted = append(out.TransformersDeleted, c.Key)
			}
			continue
		}
		switch c.Op {
		case OpCreated:
			out.Created = append(out.Created, c.Key)
		case OpUpdated:
			out.Updated = append(out.Updated, c.Key)
		case OpDeleted:
			out.Deleted = append(out.Deleted, c.Key)
		}
		if c.Op != OpDeleted && c.Paused {
			out.Paused = append(out.Paused, c.Key)
		}
	}
	return out
}

// existing returns the scheduler's schedules: those listed with its memo (with attr, with the
// fingerprint of their SpecAttribute, "" when they have none), and those this process created
// or saw (the list is eventually consistent).
func (r *Reconciler) existing(ctx context.Context, attr bool) (map[string]known, error) {
	it, err := r.client.ScheduleClient().List(ctx, client.ScheduleListOptions{PageSize: 1000})
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	out := map[string]known{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("list schedules: %w", err)
		}
		memo := decodeMemo(e.Memo)
		if memo[MemoOwner] != MemoOwnerValue {
			continue
		}
		k := known{kind: memo[MemoKind], platform: memo[MemoPlatform], key: memo[MemoKey]}
		if attr {
			k.fingerprint = attributeFingerprint(e.SearchAttributes)
		}
		out[e.ID] = k
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, k := range r.known {
		out[id] = k
	}
	return out, nil
}

func (r *Reconciler) remember(id string, k known) {
	r.mu.Lock()
	r.known[id] = k
	r.mu.Unlock()
}

func (r *Reconciler) forget(id string) {
	r.mu.Lock()
	delete(r.known, id)
	r.mu.Unlock()
}

// ensured is what ensure did.
type ensured struct {
	changed, created bool
	// paused: the schedule is paused afterwards.
	paused bool
	// described: the schedule was read (the listing did not show its desired fingerprint).
	described bool
}

// ensure makes schedule want exist as desired: created when missing; otherwise read, and
// updated when its action's fingerprint differs. An update also sets SpecAttribute, in the same
// request, when attr or when the schedule carries it already (so a schedule that carries it
// always carries its current fingerprint); a schedule whose action is as desired but whose
// SpecAttribute is missing or stale (an older scheduler's) gets it without counting as a change.
// The server refusing the attribute (registered but not yet known to the frontend) makes a
// create go without it; an update fails (the consumer retries the commit), since leaving the
// attribute behind would leave it stale.
func (r *Reconciler) ensure(ctx context.Context, want Schedule, exists, attr bool) (ensured, error) {
	sc := r.client.ScheduleClient()
	if !exists {
		o := r.options(want, attr)
		_, err := sc.Create(ctx, o)
		if err != nil && attr && attributeRejected(err) {
			r.attrOn.Store(false)
			attr = false
			_, err = sc.Create(ctx, withoutAttribute(o))
		}
		if err == nil {
			r.remember(want.ID, known{want.Kind, want.Platform, want.Key, want.Fingerprint})
			return ensured{changed: true, created: true, paused: want.Cron == ""}, nil
		}
		var already *serviceerror.WorkflowExecutionAlreadyStarted
		if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) && !errors.As(err, &already) {
			return ensured{}, err
		}
	}
	var res ensured
	err := sc.GetHandle(ctx, want.ID).Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		res = ensured{described: true}
		d := in.Description
		have := attributeFingerprint(d.SearchAttributes)
		setAttr := attr || have != ""
		actionSet := actionFingerprint(d.Schedule.Action) == want.Fingerprint
		if actionSet && (!setAttr || have == want.Fingerprint) {
			return nil, temporal.ErrSkipScheduleUpdate
		}
		s := d.Schedule
		o := r.options(want, false)
		wasOnDemand := onDemand(s.Spec)
		spec := o.Spec
		s.Spec = &spec
		s.Action = o.Action
		s.Policy = &client.SchedulePolicies{Overlap: o.Overlap, CatchupWindow: o.CatchupWindow}
		if s.State == nil {
			s.State = &client.ScheduleState{}
		}
		switch {
		case want.Cron == "" && !wasOnDemand:
			s.State.Paused, s.State.Note = true, NoteExternal
		case want.Cron != "" && wasOnDemand && s.State.Note == NoteExternal:
			s.State.Paused, s.State.Note = false, "trigger changed to cron "+want.Cron
		}
		res.changed, res.paused = !actionSet, s.State.Paused
		u := &client.ScheduleUpdate{Schedule: &s}
		if setAttr {
			sa := specAttributes(d.TypedSearchAttributes, want.Fingerprint)
			u.TypedSearchAttributes = &sa
		}
		return u, nil
	}})
	if err != nil {
		if attributeRejected(err) {
			r.attrOn.Store(false)
		}
		return ensured{}, err
	}
	r.remember(want.ID, known{want.Kind, want.Platform, want.Key, want.Fingerprint})
	return res, nil
}

// options are the schedule options of want; with attr the schedule carries SpecAttribute.
func (r *Reconciler) options(want Schedule, attr bool) client.ScheduleOptions {
	var spec client.ScheduleSpec
	if want.Cron != "" {
		spec = client.ScheduleSpec{CronExpressions: []string{want.Cron}, TimeZoneName: "UTC"}
	}
	var wt string
	var args any
	if want.Kind == ids.KindTransformer {
		wt, args = workflows.Transformer, workflows.TransformerInput{Platform: want.Platform, Workspace: want.Key}
	} else {
		wt, args = workflows.Batch, workflows.BatchInput{Platform: want.Platform, Stream: want.Key}
	}
	o := client.ScheduleOptions{
		ID:   want.ID,
		Spec: spec,
		Action: &client.ScheduleWorkflowAction{
			ID:        want.ID,
			Workflow:  wt,
			Args:      []any{args},
			TaskQueue: r.cfg.TaskQueue,
			Memo:      map[string]any{MemoSpec: want.Fingerprint},
		},
		Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow: r.cfg.CatchupWindow,
		Memo: map[string]any{
			MemoOwner: MemoOwnerValue, MemoKind: want.Kind, MemoPlatform: want.Platform, MemoKey: want.Key,
		},
	}
	if want.Cron == "" {
		o.Paused, o.Note = true, NoteExternal
	}
	if attr {
		o.TypedSearchAttributes = temporal.NewSearchAttributes(specKey.ValueSet(want.Fingerprint))
	}
	return o
}

func onDemand(s *client.ScheduleSpec) bool {
	return s == nil || len(s.Calendars)+len(s.Intervals)+len(s.CronExpressions) == 0
}

// actionFingerprint reads MemoSpec from a described schedule's action.
func actionFingerprint(a client.ScheduleAction) string {
	wa, ok := a.(*client.ScheduleWorkflowAction)
	if !ok {
		return ""
	}
	return decodeValue(wa.Memo[MemoSpec])
}

func decodeMemo(m *commonpb.Memo) map[string]string {
	out := map[string]string{}
	for k, p := range m.GetFields() {
		out[k] = decodeValue(p)
	}
	return out
}

func decodeValue(v any) string {
	switch p := v.(type) {
	case string:
		return p
	case *commonpb.Payload:
		var s string
		if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err == nil {
			return s
		}
	}
	return ""
}

// startReconcile starts the platform's ReconcileWorkflow for the version unless it was started
// before; it returns the workflow id when it started one.
func (r *Reconciler) startReconcile(ctx context.Context, in workflows.ReconcileInput) (string, error) {
	id := ids.ReconcileWorkflow(in.Platform, in.ModelVersion)
	_, err := r.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                r.cfg.TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}, workflows.Reconcile, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("start %s: %w", id, err)
	}
	return id, nil
}
