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
	mergev1 "github.com/datasurface/datasurface/proto/gen/datasurface/merge/v1"
	"github.com/datasurface/datasurface/proto/gen/datasurface/merge/v1/mergev1connect"
	yellowv1 "github.com/datasurface/datasurface/proto/gen/datasurface/yellow/v1"
	"google.golang.org/protobuf/proto"
)

// The batches and lag commands are clients of the merge service's MergeService. Exit code 0:
// done; 1: the platform, stream or batch was not found or the request was refused; 2: the
// question could not be asked.

const batchesSynopsis = `datasurface batches list|get …

  list  --platform D [--stream STREAM] [--limit N]
  get   --platform D --stream STREAM [--batch B]

Common flags: [--server <url>] [--format text|json] [--timeout 30s]

list shows the platform's batches (one stream's, or every stream's), newest first per stream;
get shows one batch with its per-dataset counts and error (--batch 0 or none: the stream's
current batch).`

const lagSynopsis = `datasurface lag --platform D [--server <url>] [--format text|json] [--timeout 30s]

Shows the lag of every stream of the platform (now − the data time of its latest committed
batch) and of every workspace reading from it (the maximum over its streams), yellow.md §14.`

// batchesCommands lists the subcommands of `datasurface batches`.
var batchesCommands = []command{
	{name: "list", summary: "list the batches of a platform or stream", run: (*cli).batchesList},
	{name: "get", summary: "show one batch of a stream", run: (*cli).batchesGet},
}

func (c *cli) batches(ctx context.Context, args []string) error {
	return c.dispatch(ctx, "datasurface batches", batchesCommands, args)
}

// mergeCommand is one run of a batches or lag command.
type mergeCommand struct {
	c                        *cli
	name                     string
	server, format, platform string
	stream                   string
	batch, limit             int
	timeout                  time.Duration
	client                   mergev1connect.MergeServiceClient
}

func (c *cli) newMergeCommand(name, synopsis string, args []string, extra func(m *mergeCommand, fs flagSet)) (*mergeCommand, error) {
	m := &mergeCommand{c: c, name: name}
	fs := c.newFlagSet(name, synopsis)
	fs.StringVar(&m.server, "server", defaultServer, "the merge service's base `url`")
	fs.StringVar(&m.format, "format", "text", "output format: text or json")
	fs.StringVar(&m.platform, "platform", "", "the data `platform` (required)")
	fs.DurationVar(&m.timeout, "timeout", 30*time.Second, "give up after this long")
	if extra != nil {
		extra(m, fs)
	}
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		writeEnvUsage(fs.Output(), fs, "server")
	}
	if err := parseInterspersed(fs, args); err != nil {
		return nil, err
	}
	if err := applyEnv(fs, c.getenv, "server"); err != nil {
		return nil, err
	}
	if err := oneOf("format", m.format, "text", "json"); err != nil {
		return nil, err
	}
	if m.timeout <= 0 {
		return nil, usageErrorf("%s: --timeout must be positive", name)
	}
	if m.platform == "" {
		return nil, usageErrorf("%s: --platform D is required", name)
	}
	if len(fs.Args()) != 0 {
		return nil, usageErrorf("%s: unexpected arguments %q", name, fs.Args())
	}
	base, err := serverURL(m.server)
	if err != nil {
		return nil, err
	}
	m.server = base
	m.client = mergev1connect.NewMergeServiceClient(http.DefaultClient, base, connect.WithHTTPGet())
	return m, nil
}

// flagSet is the part of *flag.FlagSet the commands' extra flags use.
type flagSet interface {
	StringVar(p *string, name, value, usage string)
	IntVar(p *int, name string, value int, usage string)
}

// fail maps a failed call to the exit code, as the streams commands do.
func (m *mergeCommand) fail(err error) error {
	switch connect.CodeOf(err) {
	case connect.CodeNotFound, connect.CodeFailedPrecondition, connect.CodeInvalidArgument:
		fmt.Fprintf(m.c.stderr, "datasurface: %s: %s\n", m.name, connectMessage(err))
		return failed
	case connect.CodeUnavailable:
		return cannotRun(fmt.Errorf("%s: %s unavailable: %s", m.name, m.server, connectMessage(err)))
	case connect.CodeDeadlineExceeded:
		return cannotRun(fmt.Errorf("%s: no answer from %s within %s", m.name, m.server, m.timeout))
	}
	return cannotRun(fmt.Errorf("%s: %w", m.name, err))
}

func (m *mergeCommand) printJSON(msg proto.Message) error {
	b, err := marshalJSON(msg)
	if err != nil {
		return cannotRun(err)
	}
	_, err = m.c.stdout.Write(b)
	return err
}

func (c *cli) batchesList(ctx context.Context, args []string) error {
	m, err := c.newMergeCommand("batches list", batchesSynopsis, args, func(m *mergeCommand, fs flagSet) {
		fs.StringVar(&m.stream, "stream", "", "only this stream key (DATASTORE or DATASTORE#DATASET)")
		fs.IntVar(&m.limit, "limit", 50, "show at most this many batches (1–10000)")
	})
	if err != nil {
		return helpOK(err)
	}
	if m.limit < 1 || m.limit > 10000 {
		return usageErrorf("batches list: --limit must be between 1 and 10000")
	}
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	all := &mergev1.ListBatchesResponse{}
	token := ""
	for len(all.Batches) < m.limit {
		res, err := m.client.ListBatches(ctx, connect.NewRequest(&mergev1.ListBatchesRequest{
			Platform: m.platform, Stream: m.stream, PageSize: int32(min(m.limit-len(all.Batches), 1000)), PageToken: token,
		}))
		if err != nil {
			return m.fail(err)
		}
		all.ModelVersion = res.Msg.GetModelVersion()
		all.Batches = append(all.Batches, res.Msg.GetBatches()...)
		all.NextPageToken = res.Msg.GetNextPageToken()
		if token = res.Msg.GetNextPageToken(); token == "" {
			break
		}
	}
	if m.format == "json" {
		return m.printJSON(all)
	}
	if len(all.Batches) == 0 {
		fmt.Fprintf(c.stdout, "no batches (model version %d)\n", all.GetModelVersion())
		return nil
	}
	w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "STREAM\tBATCH\tSTATUS\tATTEMPT\tSTARTED\tENDED\tINSERTED\tUPDATED\tDELETED\tTOTAL\tERROR\n")
	for _, b := range all.Batches {
		fmt.Fprintf(w, "%s\t%d\t%s\t%d\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", b.GetStream(), b.GetId(), batchStatusText(b.GetStatus()), b.GetAttempt(),
			tsText(b.GetStartTime()), tsText(b.GetEndTime()), b.GetInserted(), b.GetUpdated(), b.GetDeleted(), b.GetTotal(), batchErrorText(b.GetError()))
	}
	if all.GetNextPageToken() != "" {
		fmt.Fprintf(w, "(more: raise --limit)\n")
	}
	fmt.Fprintf(w, "(model version %d)\n", all.GetModelVersion())
	return w.Flush()
}

func (c *cli) batchesGet(ctx context.Context, args []string) error {
	m, err := c.newMergeCommand("batches get", batchesSynopsis, args, func(m *mergeCommand, fs flagSet) {
		fs.StringVar(&m.stream, "stream", "", "the stream key (required)")
		fs.IntVar(&m.batch, "batch", 0, "the batch id (0 = the stream's current batch)")
	})
	if err != nil {
		return helpOK(err)
	}
	if m.stream == "" {
		return usageErrorf("batches get: --stream STREAM is required")
	}
	if m.batch < 0 {
		return usageErrorf("batches get: --batch must be ≥ 0")
	}
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	res, err := m.client.GetBatch(ctx, connect.NewRequest(&mergev1.GetBatchRequest{Platform: m.platform, Stream: m.stream, Batch: int32(m.batch)}))
	if err != nil {
		return m.fail(err)
	}
	if m.format == "json" {
		return m.printJSON(res.Msg)
	}
	writeBatch(c.stdout, res.Msg.GetBatch(), res.Msg.GetModelVersion())
	return nil
}

func writeBatch(out io.Writer, b *yellowv1.Batch, version int64) {
	fmt.Fprintf(out, "batch      %s/%s #%d (model version %d)\n", b.GetPlatform(), b.GetStream(), b.GetId(), version)
	fmt.Fprintf(out, "status     %s (attempt %d, run under model version %d)\n", batchStatusText(b.GetStatus()), b.GetAttempt(), b.GetModelVersion())
	fmt.Fprintf(out, "started    %s\n", tsText(b.GetStartTime()))
	fmt.Fprintf(out, "ended      %s\n", tsText(b.GetEndTime()))
	fmt.Fprintf(out, "data time  %s\n", tsText(b.GetDataTime()))
	fmt.Fprintf(out, "rows       %d staged, %d inserted, %d updated, %d deleted\n", b.GetTotal(), b.GetInserted(), b.GetUpdated(), b.GetDeleted())
	if b.GetWatermarkLow() != "" || b.GetWatermarkHigh() != "" {
		fmt.Fprintf(out, "watermark  [%s, %s)\n", b.GetWatermarkLow(), b.GetWatermarkHigh())
	}
	if e := b.GetError(); e != nil {
		fmt.Fprintf(out, "error      %s\n", batchErrorText(e))
	}
	if len(b.GetDatasets()) == 0 {
		return
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "\nDATASET\tSTAGED\tINSERTED\tUPDATED\tDELETED\tREJECTED\tREPLAYED\n")
	for _, d := range b.GetDatasets() {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%d\n", d.GetDataset(), d.GetStaged(), d.GetInserted(), d.GetUpdated(), d.GetDeleted(), d.GetRejected(), d.GetReplayed())
	}
	_ = w.Flush()
}

func batchStatusText(s yellowv1.BatchStatus) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "BATCH_STATUS_"))
}

func batchErrorText(e *yellowv1.BatchError) string {
	if e == nil {
		return ""
	}
	s := e.GetPhase() + ": " + e.GetMessage()
	if e.GetPermanent() {
		s += " (permanent)"
	}
	return s
}

func (c *cli) lag(ctx context.Context, args []string) error {
	m, err := c.newMergeCommand("lag", lagSynopsis, args, nil)
	if err != nil {
		return helpOK(err)
	}
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	res, err := m.client.GetLag(ctx, connect.NewRequest(&mergev1.GetLagRequest{Platform: m.platform}))
	if err != nil {
		return m.fail(err)
	}
	if m.format == "json" {
		return m.printJSON(res.Msg)
	}
	w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "STREAM\tBATCH\tDATA TIME\tLAG\n")
	for _, s := range res.Msg.GetStreams() {
		if !s.GetCommitted() {
			fmt.Fprintf(w, "%s\t-\t-\tnothing committed\n", s.GetStream())
			continue
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", s.GetStream(), s.GetBatch(), tsText(s.GetDataTime()), lagText(s.GetSeconds()))
	}
	if len(res.Msg.GetWorkspaces()) > 0 {
		fmt.Fprintf(w, "\nWORKSPACE\tLAG\tSTREAMS\n")
		for _, ws := range res.Msg.GetWorkspaces() {
			l := "nothing committed"
			if ws.GetCommitted() {
				l = lagText(ws.GetSeconds())
			}
			fmt.Fprintf(w, "%s\t%s\t%s\n", ws.GetWorkspace(), l, strings.Join(ws.GetStreams(), ", "))
		}
	}
	fmt.Fprintf(w, "(model version %d, at %s)\n", res.Msg.GetModelVersion(), tsText(res.Msg.GetAt()))
	return w.Flush()
}

func lagText(secs float64) string {
	return time.Duration(secs * float64(time.Second)).Round(time.Second).String()
}
