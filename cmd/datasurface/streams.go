package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"connectrpc.com/connect"
	schedulerv1 "github.com/datasurface/datasurface/proto/gen/datasurface/scheduler/v1"
	"github.com/datasurface/datasurface/proto/gen/datasurface/scheduler/v1/schedulerv1connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The streams commands are clients of the scheduler's SchedulerService. Exit code 0: done;
// 1: the stream or batch was not found, or the request was refused (e.g. backfill of a batch
// that is not failed); 2: the question could not be asked.

const streamsSynopsis = `datasurface streams list|get|trigger|pause|resume|backfill …

  list                         [--platform D]
  get      STREAM              [--platform D] [--batches N]
  trigger  STREAM              [--platform D]
  pause    STREAM              [--platform D] [--reason TEXT]
  resume   STREAM              [--platform D] [--reason TEXT]
  backfill STREAM --batch B    [--platform D]

Common flags: [--server <url>] [--format text|json] [--timeout 30s]

STREAM is a stream key (DATASTORE or DATASTORE#DATASET). --platform may be left out when only
one platform has the stream. trigger runs a batch now (skipped while one is running); pause and
resume stop and restart the stream's schedule; backfill re-runs the stream's current batch B when
it is failed.`

// streamsCommands lists the subcommands of `datasurface streams`.
var streamsCommands = []command{
	{name: "list", summary: "list the streams of the reconciled model with their schedules", run: (*cli).streamsList},
	{name: "get", summary: "show a stream: schedule, latest batches, lag", run: (*cli).streamsGet},
	{name: "trigger", summary: "run a batch of a stream now", run: (*cli).streamsTrigger},
	{name: "pause", summary: "pause a stream's schedule", run: (*cli).streamsPause},
	{name: "resume", summary: "resume a stream's schedule", run: (*cli).streamsResume},
	{name: "backfill", summary: "re-run a stream's failed current batch", run: (*cli).streamsBackfill},
}

func (c *cli) streams(ctx context.Context, args []string) error {
	return c.dispatch(ctx, "datasurface streams", streamsCommands, args)
}

// streamsCommand is one run of a streams subcommand.
type streamsCommand struct {
	c                       *cli
	name                    string
	server, format, reason  string
	platform                string
	batches                 int
	batch                   int
	timeout                 time.Duration
	client                  schedulerv1connect.SchedulerServiceClient
	wantStream, wantReason  bool
	wantBatches, wantBatchN bool
}

func (c *cli) newStreamsCommand(name string, args []string, configure func(*streamsCommand)) (*streamsCommand, []string, error) {
	s := &streamsCommand{c: c, name: "streams " + name}
	configure(s)
	fs := c.newFlagSet(s.name, streamsSynopsis)
	fs.StringVar(&s.server, "server", defaultServer, "the scheduler's base `url`")
	fs.StringVar(&s.format, "format", "text", "output format: text or json")
	fs.StringVar(&s.platform, "platform", "", "the data `platform` (optional when only one has the stream)")
	fs.DurationVar(&s.timeout, "timeout", 30*time.Second, "give up after this long")
	if s.wantReason {
		fs.StringVar(&s.reason, "reason", "", "why (the schedule's note)")
	}
	if s.wantBatches {
		fs.IntVar(&s.batches, "batches", 10, "how many of the latest batches to show (1–1000)")
	}
	if s.wantBatchN {
		fs.IntVar(&s.batch, "batch", 0, "the failed batch id to re-run (required)")
	}
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		writeEnvUsage(fs.Output(), fs, "server")
	}
	if err := parseInterspersed(fs, args); err != nil {
		return nil, nil, err
	}
	if err := applyEnv(fs, c.getenv, "server"); err != nil {
		return nil, nil, err
	}
	if err := oneOf("format", s.format, "text", "json"); err != nil {
		return nil, nil, err
	}
	if s.timeout <= 0 {
		return nil, nil, usageErrorf("%s: --timeout must be positive", s.name)
	}
	if s.wantBatches && (s.batches < 1 || s.batches > 1000) {
		return nil, nil, usageErrorf("%s: --batches must be between 1 and 1000", s.name)
	}
	if s.wantBatchN && s.batch < 1 {
		return nil, nil, usageErrorf("%s: --batch B is required (a batch id ≥ 1)", s.name)
	}
	pos := fs.Args()
	switch {
	case s.wantStream && len(pos) != 1:
		return nil, nil, usageErrorf("%s: name one STREAM", s.name)
	case !s.wantStream && len(pos) != 0:
		return nil, nil, usageErrorf("%s: unexpected arguments %q", s.name, pos)
	}
	base, err := serverURL(s.server)
	if err != nil {
		return nil, nil, err
	}
	s.server = base
	s.client = schedulerv1connect.NewSchedulerServiceClient(http.DefaultClient, base, connect.WithHTTPGet())
	return s, pos, nil
}

// fail maps a failed call to the exit code: NotFound and FailedPrecondition are reported with
// exit code 1; anything else stops the command with exit code 2.
func (s *streamsCommand) fail(err error) error {
	switch connect.CodeOf(err) {
	case connect.CodeNotFound, connect.CodeFailedPrecondition, connect.CodeInvalidArgument:
		fmt.Fprintf(s.c.stderr, "datasurface: %s: %s\n", s.name, connectMessage(err))
		return failed
	case connect.CodeUnavailable:
		return cannotRun(fmt.Errorf("%s: %s unavailable: %s", s.name, s.server, connectMessage(err)))
	case connect.CodeDeadlineExceeded:
		return cannotRun(fmt.Errorf("%s: no answer from %s within %s", s.name, s.server, s.timeout))
	}
	return cannotRun(fmt.Errorf("%s: %w", s.name, err))
}

// resolvePlatform finds the one platform with stream key when --platform is not given.
func (s *streamsCommand) resolvePlatform(ctx context.Context, key string) error {
	if s.platform != "" {
		return nil
	}
	res, err := s.client.ListStreams(ctx, connect.NewRequest(&schedulerv1.ListStreamsRequest{}))
	if err != nil {
		return s.fail(err)
	}
	var found []string
	for _, st := range res.Msg.GetStreams() {
		if st.GetKey() == key {
			found = append(found, st.GetPlatform())
		}
	}
	switch len(found) {
	case 0:
		fmt.Fprintf(s.c.stderr, "datasurface: %s: stream %q not found in model version %d\n", s.name, key, res.Msg.GetModelVersion())
		return failed
	case 1:
		s.platform = found[0]
		return nil
	}
	return usageErrorf("%s: stream %q is on platforms %s: choose one with --platform", s.name, key, strings.Join(found, ", "))
}

func (s *streamsCommand) printJSON(m proto.Message) error {
	b, err := marshalJSON(m)
	if err != nil {
		return cannotRun(err)
	}
	_, err = s.c.stdout.Write(b)
	return err
}

func (c *cli) streamsList(ctx context.Context, args []string) error {
	s, _, err := c.newStreamsCommand("list", args, func(*streamsCommand) {})
	if err != nil {
		return helpOK(err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	res, err := s.client.ListStreams(ctx, connect.NewRequest(&schedulerv1.ListStreamsRequest{Platform: s.platform}))
	if err != nil {
		return s.fail(err)
	}
	if s.format == "json" {
		return s.printJSON(res.Msg)
	}
	w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "PLATFORM\tSTREAM\tCAPTURE\tTRIGGER\tSCHEDULE\tNEXT RUN\n")
	for _, st := range res.Msg.GetStreams() {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", st.GetPlatform(), st.GetKey(), st.GetCapture(), triggerText(st),
			scheduleState(st.GetSchedule(), st.GetTrigger()), firstTime(st.GetSchedule().GetNextRuns()))
	}
	fmt.Fprintf(w, "(model version %d)\n", res.Msg.GetModelVersion())
	return w.Flush()
}

func (c *cli) streamsGet(ctx context.Context, args []string) error {
	s, pos, err := c.newStreamsCommand("get", args, func(s *streamsCommand) { s.wantStream, s.wantBatches = true, true })
	if err != nil {
		return helpOK(err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.resolvePlatform(ctx, pos[0]); err != nil {
		return err
	}
	res, err := s.client.GetStream(ctx, connect.NewRequest(&schedulerv1.GetStreamRequest{
		Platform: s.platform, Stream: pos[0], BatchLimit: int32(s.batches),
	}))
	if err != nil {
		return s.fail(err)
	}
	if s.format == "json" {
		return s.printJSON(res.Msg)
	}
	writeStream(c.stdout, res.Msg)
	return nil
}

func writeStream(out io.Writer, r *schedulerv1.GetStreamResponse) {
	st, sc := r.GetStream(), r.GetStream().GetSchedule()
	fmt.Fprintf(out, "stream     %s/%s (model version %d)\n", st.GetPlatform(), st.GetKey(), r.GetModelVersion())
	fmt.Fprintf(out, "datasets   %s\n", strings.Join(st.GetDatasets(), ", "))
	fmt.Fprintf(out, "capture    %s\n", st.GetCapture())
	fmt.Fprintf(out, "trigger    %s\n", triggerText(st))
	fmt.Fprintf(out, "schedule   %s %s", sc.GetId(), scheduleState(sc, st.GetTrigger()))
	if sc.GetNote() != "" {
		fmt.Fprintf(out, " (%s)", sc.GetNote())
	}
	fmt.Fprintln(out)
	if n := firstTime(sc.GetNextRuns()); n != "-" {
		fmt.Fprintf(out, "next run   %s\n", n)
	}
	for _, id := range sc.GetRunning() {
		fmt.Fprintf(out, "running    %s\n", id)
	}
	if l := r.GetLag(); l != nil {
		fmt.Fprintf(out, "lag        %s (batch %d, data time %s)\n", (time.Duration(l.GetSeconds() * float64(time.Second))).Round(time.Second),
			l.GetBatch(), tsText(l.GetDataTime()))
	}
	if r.GetBatchesError() != "" {
		fmt.Fprintf(out, "batches    unavailable: %s\n", r.GetBatchesError())
		return
	}
	if len(r.GetBatches()) == 0 {
		fmt.Fprintf(out, "batches    none yet\n")
		return
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "\nBATCH\tSTATUS\tATTEMPT\tSTARTED\tENDED\tINSERTED\tUPDATED\tDELETED\tTOTAL\tERROR\n")
	for _, b := range r.GetBatches() {
		errText := ""
		if e := b.GetError(); e != nil {
			errText = e.GetPhase() + ": " + e.GetMessage()
			if e.GetPermanent() {
				errText += " (permanent)"
			}
		}
		fmt.Fprintf(w, "%d\t%s\t%d\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", b.GetId(), strings.ToLower(strings.TrimPrefix(b.GetStatus().String(), "BATCH_STATUS_")),
			b.GetAttempt(), tsText(b.GetStartTime()), tsText(b.GetEndTime()), b.GetInserted(), b.GetUpdated(), b.GetDeleted(), b.GetTotal(), errText)
	}
	_ = w.Flush()
}

func (c *cli) streamsTrigger(ctx context.Context, args []string) error {
	s, pos, err := c.newStreamsCommand("trigger", args, func(s *streamsCommand) { s.wantStream = true })
	if err != nil {
		return helpOK(err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.resolvePlatform(ctx, pos[0]); err != nil {
		return err
	}
	res, err := s.client.Trigger(ctx, connect.NewRequest(&schedulerv1.TriggerRequest{Platform: s.platform, Stream: pos[0]}))
	if err != nil {
		return s.fail(err)
	}
	if s.format == "json" {
		return s.printJSON(res.Msg)
	}
	target := res.Msg.GetScheduleId()
	if target == "" {
		target = res.Msg.GetWorkflowId()
	}
	fmt.Fprintf(c.stdout, "triggered %s/%s (%s)\n", s.platform, pos[0], target)
	return nil
}

func (c *cli) streamsPause(ctx context.Context, args []string) error {
	return c.streamsPauseResume(ctx, "pause", args)
}

func (c *cli) streamsResume(ctx context.Context, args []string) error {
	return c.streamsPauseResume(ctx, "resume", args)
}

func (c *cli) streamsPauseResume(ctx context.Context, verb string, args []string) error {
	s, pos, err := c.newStreamsCommand(verb, args, func(s *streamsCommand) { s.wantStream, s.wantReason = true, true })
	if err != nil {
		return helpOK(err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.resolvePlatform(ctx, pos[0]); err != nil {
		return err
	}
	var sc *schedulerv1.Schedule
	var msg proto.Message
	if verb == "pause" {
		res, err := s.client.Pause(ctx, connect.NewRequest(&schedulerv1.PauseRequest{Platform: s.platform, Stream: pos[0], Reason: s.reason}))
		if err != nil {
			return s.fail(err)
		}
		sc, msg = res.Msg.GetSchedule(), res.Msg
	} else {
		res, err := s.client.Resume(ctx, connect.NewRequest(&schedulerv1.ResumeRequest{Platform: s.platform, Stream: pos[0], Reason: s.reason}))
		if err != nil {
			return s.fail(err)
		}
		sc, msg = res.Msg.GetSchedule(), res.Msg
	}
	if s.format == "json" {
		return s.printJSON(msg)
	}
	state := "running"
	if sc.GetPaused() {
		state = "paused"
	}
	fmt.Fprintf(c.stdout, "%s/%s: schedule %s %s\n", s.platform, pos[0], sc.GetId(), state)
	return nil
}

func (c *cli) streamsBackfill(ctx context.Context, args []string) error {
	s, pos, err := c.newStreamsCommand("backfill", args, func(s *streamsCommand) { s.wantStream, s.wantBatchN = true, true })
	if err != nil {
		return helpOK(err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.resolvePlatform(ctx, pos[0]); err != nil {
		return err
	}
	res, err := s.client.Backfill(ctx, connect.NewRequest(&schedulerv1.BackfillRequest{Platform: s.platform, Stream: pos[0], Batch: int32(s.batch)}))
	if err != nil {
		return s.fail(err)
	}
	if s.format == "json" {
		return s.printJSON(res.Msg)
	}
	b := res.Msg.GetBatch()
	fmt.Fprintf(c.stdout, "re-running batch %d of %s/%s (failed attempt %d: %s)\n", b.GetId(), s.platform, pos[0], b.GetAttempt(), b.GetError().GetMessage())
	return nil
}

func triggerText(s *schedulerv1.Stream) string {
	switch s.GetTrigger() {
	case schedulerv1.TriggerKind_TRIGGER_KIND_CRON:
		return "cron " + s.GetCron()
	case schedulerv1.TriggerKind_TRIGGER_KIND_EXTERNAL:
		return "external"
	case schedulerv1.TriggerKind_TRIGGER_KIND_AFTER_INPUTS:
		return "after inputs (" + s.GetTransformer() + ")"
	}
	return "-"
}

func scheduleState(sc *schedulerv1.Schedule, k schedulerv1.TriggerKind) string {
	switch {
	case k == schedulerv1.TriggerKind_TRIGGER_KIND_AFTER_INPUTS && !sc.GetExists():
		return "none"
	case !sc.GetExists():
		return "missing"
	case k == schedulerv1.TriggerKind_TRIGGER_KIND_EXTERNAL:
		return "on demand"
	case sc.GetPaused():
		return "paused"
	}
	return "active"
}

func firstTime(ts []*timestamppb.Timestamp) string {
	if len(ts) == 0 {
		return "-"
	}
	return tsText(ts[0])
}

func tsText(t *timestamppb.Timestamp) string {
	if t == nil {
		return "-"
	}
	return t.AsTime().UTC().Format(time.RFC3339)
}
