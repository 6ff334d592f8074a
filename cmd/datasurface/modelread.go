package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/proto/gen/datasurface/model/v1/modelv1connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"
)

// The read commands are clients of modelsvc's read API (spec/governance.md §4.2). Exit code 0:
// answered; 1: an object or version was not found; 2: the question could not be asked (bad
// flags, server unreachable or not ready, invalid names).

const modelGetSynopsis = `datasurface model get workspace|datastore|dataset|team NAME… [--version N]
                         [--server <url>] [--format json|yaml|text] [--timeout 30s]

Prints model objects as committed at --version (0 = the latest). NAME is a workspace or
datastore name, STORE.DATASET for a dataset, ZONE/TEAM for a team. JSON (the default) is the
protobuf JSON form of the answer, which names the model version it was read at.
Exit code 0: found; 1: an object or the version was not found; 2: could not ask.`

const modelListSynopsis = `datasurface model list workspaces|datastores|teams [--version N]
                          [--server <url>] [--format json|yaml|text] [--timeout 30s]

Lists the workspaces (full objects), datastores (names) or teams (ZONE/TEAM) of a committed
model, sorted by name; --format text prints one name per line.`

const modelDepsSynopsis = `datasurface model deps DATASTORE [--version N] [--server <url>]
                          [--format json|yaml|text] [--timeout 30s]

Prints the workspaces that depend on DATASTORE, directly or through transformers, as a tree.`

const modelVersionsSynopsis = `datasurface model versions [N] [--server <url>] [--format json|yaml|text] [--timeout 30s]

Lists the committed model versions, newest first; with N, prints version N and its change set.`

// readEnvFlags are the flags of the read commands with an environment fallback.
var readEnvFlags = []string{"server"}

// readFlags are the flags every read command has.
type readFlags struct {
	server, format string
	version        int64
	timeout        time.Duration
}

// readCommand is one run of a read command: its flags, client and output.
type readCommand struct {
	c      *cli
	name   string // "model get", for messages
	f      readFlags
	client modelv1connect.ModelServiceClient
	// notFound counts objects that were not found (exit code 1 at the end).
	notFound int
}

// newReadCommand parses the flags of a read command (interspersed with its arguments) and
// returns it with the positional arguments.
func (c *cli) newReadCommand(name, synopsis string, withVersion bool, args []string) (*readCommand, []string, error) {
	r := &readCommand{c: c, name: name}
	fs := c.newFlagSet(name, synopsis)
	fs.StringVar(&r.f.server, "server", defaultServer, "the modelsvc base `url`")
	fs.StringVar(&r.f.format, "format", "json", "output format: json, yaml or text")
	if withVersion {
		fs.Int64Var(&r.f.version, "version", 0, "the committed model version to read (0 = the latest)")
	}
	fs.DurationVar(&r.f.timeout, "timeout", 30*time.Second, "give up after this long")
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		writeEnvUsage(fs.Output(), fs, readEnvFlags...)
	}
	if err := parseInterspersed(fs, args); err != nil {
		return nil, nil, err
	}
	if err := applyEnv(fs, c.getenv, readEnvFlags...); err != nil {
		return nil, nil, err
	}
	if err := oneOf("format", r.f.format, "json", "yaml", "text"); err != nil {
		return nil, nil, err
	}
	if r.f.version < 0 {
		return nil, nil, usageErrorf("%s: --version must be 0 (latest) or a version number", name)
	}
	if r.f.timeout <= 0 {
		return nil, nil, usageErrorf("%s: --timeout must be positive", name)
	}
	base, err := serverURL(r.f.server)
	if err != nil {
		return nil, nil, err
	}
	r.f.server = base
	r.client = modelv1connect.NewModelServiceClient(http.DefaultClient, base, connect.WithHTTPGet())
	return r, fs.Args(), nil
}

// fail maps a failed call to the exit code: NotFound is reported and counted (exit code 1 at
// the end); anything else stops the command with exit code 2.
func (r *readCommand) fail(err error) error {
	switch connect.CodeOf(err) {
	case connect.CodeNotFound:
		r.notFound++
		fmt.Fprintf(r.c.stderr, "datasurface: %s: %s\n", r.name, connectMessage(err))
		return nil
	case connect.CodeUnavailable:
		return cannotRun(fmt.Errorf("%s: %s unavailable (not running, or no committed model yet): %s", r.name, r.f.server, connectMessage(err)))
	case connect.CodeDeadlineExceeded:
		return cannotRun(fmt.Errorf("%s: no answer from %s within %s", r.name, r.f.server, r.f.timeout))
	}
	return cannotRun(fmt.Errorf("%s: %w", r.name, err))
}

// done ends the command: exit code 1 when something was not found.
func (r *readCommand) done() error {
	if r.notFound > 0 {
		return failed
	}
	return nil
}

// connectMessage is an error's message without the code prefix, or the error text.
func connectMessage(err error) string {
	var ce *connect.Error
	if errors.As(err, &ce) && ce.Message() != "" {
		return ce.Message()
	}
	return err.Error()
}

// write prints one answer. text renders the text format; the JSON and YAML formats are the
// protobuf JSON form of msg.
func (r *readCommand) write(msg proto.Message, text func(w io.Writer)) error {
	w := bufio.NewWriter(r.c.stdout)
	switch r.f.format {
	case "text":
		text(w)
	default:
		b, err := marshalJSON(msg)
		if err != nil {
			return cannotRun(err)
		}
		if r.f.format == "yaml" {
			if b, err = jsonToYAML(b); err != nil {
				return cannotRun(err)
			}
			_, _ = w.WriteString("---\n")
		}
		_, _ = w.Write(b) // a bufio.Writer keeps the first error; Flush below returns it
	}
	if err := w.Flush(); err != nil {
		return cannotRun(err)
	}
	return nil
}

// marshalJSON renders msg as indented protobuf JSON with stable whitespace.
func marshalJSON(msg proto.Message) ([]byte, error) {
	compact, err := protojson.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", msg.ProtoReflect().Descriptor().FullName(), err)
	}
	var b bytes.Buffer
	if err := json.Indent(&b, compact, "", "  "); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// jsonToYAML re-encodes a JSON document as block-style YAML, keeping the key order.
func jsonToYAML(b []byte) ([]byte, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		return nil, err
	}
	var clear func(*yaml.Node)
	clear = func(n *yaml.Node) {
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
			n.Style = 0
		} else {
			n.Style &^= yaml.FlowStyle
			if n.Style == yaml.DoubleQuotedStyle && !needsQuotes(n.Value) {
				n.Style = 0
			}
		}
		for _, c := range n.Content {
			clear(c)
		}
	}
	clear(&n)
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// needsQuotes reports whether a string would read back as another type or be ambiguous in
// YAML without quotes; the encoder quotes those anyway, so this only drops needless quotes.
func needsQuotes(s string) bool {
	var v any
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		return true
	}
	str, ok := v.(string)
	return !ok || str != s
}

// versionText renders a ModelVersion for the text format.
func versionText(v *modelv1.ModelVersion) string {
	if v == nil {
		return "version ?"
	}
	s := fmt.Sprintf("version %d (%s", v.GetNumber(), v.GetDigest())
	if t := v.GetCommittedAt(); t != nil {
		s += ", committed " + t.AsTime().UTC().Format(time.RFC3339)
	}
	if v.GetSource() != "" {
		s += " by " + v.GetSource()
	}
	return s + ")"
}

// writeObjectText writes the text form of one object: a header line and the object as YAML.
func writeObjectText(w io.Writer, kind, name string, v *modelv1.ModelVersion, obj proto.Message) {
	fmt.Fprintf(w, "# %s '%s' at model %s\n", kind, name, versionText(v))
	b, err := marshalJSON(obj)
	if err == nil {
		b, err = jsonToYAML(b)
	}
	if err != nil {
		fmt.Fprintf(w, "# (cannot render: %v)\n", err)
		return
	}
	_, _ = w.Write(b)
}

// ctx returns the context of one command run, bounded by --timeout.
func (r *readCommand) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, r.f.timeout)
}

func (c *cli) modelGet(ctx context.Context, args []string) error {
	r, rest, err := c.newReadCommand("model get", modelGetSynopsis, true, args)
	if err != nil {
		return helpOK(err)
	}
	if len(rest) < 2 {
		return usageErrorf("model get: expected a kind (workspace, datastore, dataset, team) and at least one name")
	}
	kind, names := rest[0], rest[1:]
	get, ok := map[string]func(ctx context.Context, name string) error{
		"workspace": r.getWorkspace,
		"datastore": r.getDatastore,
		"dataset":   r.getDataset,
		"team":      r.getTeam,
	}[kind]
	if !ok {
		return usageErrorf("model get: unknown kind %q (workspace, datastore, dataset, team)", kind)
	}
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	for _, n := range names {
		if err := get(ctx, n); err != nil {
			return err
		}
	}
	return r.done()
}

func (r *readCommand) getWorkspace(ctx context.Context, name string) error {
	resp, err := r.client.GetWorkspace(ctx, connect.NewRequest(&modelv1.GetWorkspaceRequest{Version: r.f.version, Name: name}))
	if err != nil {
		return r.fail(err)
	}
	return r.write(resp.Msg, func(w io.Writer) {
		writeObjectText(w, "Workspace", name, resp.Msg.GetVersion(), resp.Msg.GetWorkspace())
	})
}

func (r *readCommand) getDatastore(ctx context.Context, name string) error {
	resp, err := r.client.GetDatastore(ctx, connect.NewRequest(&modelv1.GetDatastoreRequest{Version: r.f.version, Name: name}))
	if err != nil {
		return r.fail(err)
	}
	return r.write(resp.Msg, func(w io.Writer) {
		writeObjectText(w, "Datastore", name, resp.Msg.GetVersion(), resp.Msg.GetDatastore())
	})
}

func (r *readCommand) getDataset(ctx context.Context, name string) error {
	store, dataset, ok := strings.Cut(name, ".")
	if !ok || store == "" || dataset == "" {
		return usageErrorf("model get dataset: %q is not STORE.DATASET", name)
	}
	resp, err := r.client.GetDataset(ctx, connect.NewRequest(&modelv1.GetDatasetRequest{Version: r.f.version, Datastore: store, Dataset: dataset}))
	if err != nil {
		return r.fail(err)
	}
	return r.write(resp.Msg, func(w io.Writer) {
		writeObjectText(w, "Dataset", name, resp.Msg.GetVersion(), resp.Msg.GetDataset())
	})
}

func (r *readCommand) getTeam(ctx context.Context, name string) error {
	zone, team, ok := strings.Cut(name, "/")
	if !ok || zone == "" || team == "" {
		return usageErrorf("model get team: %q is not ZONE/TEAM", name)
	}
	resp, err := r.client.GetTeam(ctx, connect.NewRequest(&modelv1.GetTeamRequest{Version: r.f.version, Zone: zone, Team: team}))
	if err != nil {
		return r.fail(err)
	}
	return r.write(resp.Msg, func(w io.Writer) {
		writeObjectText(w, "Team", name, resp.Msg.GetVersion(), resp.Msg.GetTeam())
	})
}

func (c *cli) modelList(ctx context.Context, args []string) error {
	r, rest, err := c.newReadCommand("model list", modelListSynopsis, true, args)
	if err != nil {
		return helpOK(err)
	}
	if len(rest) != 1 {
		return usageErrorf("model list: expected one of workspaces, datastores, teams")
	}
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	switch rest[0] {
	case "workspaces":
		err = r.listWorkspaces(ctx)
	case "datastores":
		err = r.listDatastores(ctx)
	case "teams":
		err = r.listTeams(ctx)
	default:
		return usageErrorf("model list: unknown kind %q (workspaces, datastores, teams)", rest[0])
	}
	if err != nil {
		return err
	}
	return r.done()
}

// The list commands read every page; the page token pins the version of the first page.

func (r *readCommand) listWorkspaces(ctx context.Context) error {
	all := &modelv1.ListWorkspacesResponse{}
	for token := ""; ; {
		resp, err := r.client.ListWorkspaces(ctx, connect.NewRequest(&modelv1.ListWorkspacesRequest{Version: r.f.version, PageToken: token}))
		if err != nil {
			return r.fail(err)
		}
		all.Version = resp.Msg.GetVersion()
		all.Workspaces = append(all.Workspaces, resp.Msg.GetWorkspaces()...)
		if token = resp.Msg.GetNextPageToken(); token == "" {
			break
		}
	}
	return r.write(all, func(w io.Writer) {
		for _, ws := range all.GetWorkspaces() {
			fmt.Fprintln(w, ws.GetName())
		}
	})
}

func (r *readCommand) listDatastores(ctx context.Context) error {
	all := &modelv1.ListDatastoresResponse{}
	for token := ""; ; {
		resp, err := r.client.ListDatastores(ctx, connect.NewRequest(&modelv1.ListDatastoresRequest{Version: r.f.version, PageToken: token}))
		if err != nil {
			return r.fail(err)
		}
		all.Version = resp.Msg.GetVersion()
		all.Names = append(all.Names, resp.Msg.GetNames()...)
		if token = resp.Msg.GetNextPageToken(); token == "" {
			break
		}
	}
	return r.write(all, func(w io.Writer) {
		for _, n := range all.GetNames() {
			fmt.Fprintln(w, n)
		}
	})
}

func (r *readCommand) listTeams(ctx context.Context) error {
	all := &modelv1.ListTeamsResponse{}
	for token := ""; ; {
		resp, err := r.client.ListTeams(ctx, connect.NewRequest(&modelv1.ListTeamsRequest{Version: r.f.version, PageToken: token}))
		if err != nil {
			return r.fail(err)
		}
		all.Version = resp.Msg.GetVersion()
		all.Teams = append(all.Teams, resp.Msg.GetTeams()...)
		if token = resp.Msg.GetNextPageToken(); token == "" {
			break
		}
	}
	return r.write(all, func(w io.Writer) {
		for _, t := range all.GetTeams() {
			fmt.Fprintf(w, "%s/%s\n", t.GetZone(), t.GetTeam())
		}
	})
}

func (c *cli) modelDeps(ctx context.Context, args []string) error {
	r, rest, err := c.newReadCommand("model deps", modelDepsSynopsis, true, args)
	if err != nil {
		return helpOK(err)
	}
	if len(rest) != 1 {
		return usageErrorf("model deps: expected one datastore name")
	}
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	resp, err := r.client.GetDependencies(ctx, connect.NewRequest(&modelv1.GetDependenciesRequest{Version: r.f.version, Datastore: rest[0]}))
	if err != nil {
		if err := r.fail(err); err != nil {
			return err
		}
		return r.done()
	}
	err = r.write(resp.Msg, func(w io.Writer) {
		fmt.Fprintf(w, "# workspaces depending on datastore '%s' at model %s\n", rest[0], versionText(resp.Msg.GetVersion()))
		writeDeps(w, resp.Msg.GetDependencies(), 0)
	})
	if err != nil {
		return err
	}
	return r.done()
}

// plural renders a count with its noun: "1 change", "2 changes".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// writeDeps writes a dependency tree, two spaces per level.
func writeDeps(w io.Writer, deps []*modelv1.DependentWorkspace, depth int) {
	for _, d := range deps {
		fmt.Fprintf(w, "%s%s\n", strings.Repeat("  ", depth), d.GetWorkspace())
		writeDeps(w, d.GetDependencies(), depth+1)
	}
}

func (c *cli) modelVersions(ctx context.Context, args []string) error {
	r, rest, err := c.newReadCommand("model versions", modelVersionsSynopsis, false, args)
	if err != nil {
		return helpOK(err)
	}
	if len(rest) > 1 {
		return usageErrorf("model versions: expected at most one version number")
	}
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	if len(rest) == 1 {
		n, perr := strconv.ParseInt(rest[0], 10, 64)
		if perr != nil || n <= 0 {
			return usageErrorf("model versions: %q is not a version number", rest[0])
		}
		err = r.getVersion(ctx, n)
	} else {
		err = r.listVersions(ctx)
	}
	if err != nil {
		return err
	}
	return r.done()
}

func (r *readCommand) listVersions(ctx context.Context) error {
	all := &modelv1.ListVersionsResponse{}
	for token := ""; ; {
		resp, err := r.client.ListVersions(ctx, connect.NewRequest(&modelv1.ListVersionsRequest{PageToken: token}))
		if err != nil {
			return r.fail(err)
		}
		all.Versions = append(all.Versions, resp.Msg.GetVersions()...)
		if token = resp.Msg.GetNextPageToken(); token == "" {
			break
		}
	}
	return r.write(all, func(w io.Writer) {
		for _, v := range all.GetVersions() {
			committed := ""
			if t := v.GetCommittedAt(); t != nil {
				committed = t.AsTime().UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", v.GetNumber(), committed, v.GetDigest(), v.GetSource())
		}
	})
}

func (r *readCommand) getVersion(ctx context.Context, n int64) error {
	resp, err := r.client.GetVersion(ctx, connect.NewRequest(&modelv1.GetVersionRequest{Version: n}))
	if err != nil {
		return r.fail(err)
	}
	return r.write(resp.Msg, func(w io.Writer) {
		fmt.Fprintf(w, "# model %s: %s\n", versionText(resp.Msg.GetVersion()), plural(len(resp.Msg.GetChanges()), "change"))
		for _, ch := range resp.Msg.GetChanges() {
			fmt.Fprintln(w, formatChange(ch.GetKind(), ch.GetPath(), ch.GetBefore(), ch.GetAfter()))
		}
	})
}
