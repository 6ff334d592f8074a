package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/model/gate"
	"github.com/datasurface/datasurface/model/load"
	"github.com/datasurface/datasurface/model/problem"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/proto/gen/datasurface/model/v1/modelv1connect"
)

const pushSynopsis = `datasurface push (DIR | --commit <git-rev> [--repo <dir>]) [--path <model root>]
                        --source <location@branch> [--server <url>] [--token <token>]
                        [--format text|json] [--timeout 60s]

Proposes a model change to modelsvc (ProposeChange, authenticated with the source repository's
API token), waits for the validator's verdict and prints it like validate: one line per
problem, then a summary line that says whether the change was accepted and which version it
committed. The model is the directory DIR, or the tree of a git commit read from the object
database (no checkout); only model files (*.yaml, *.yml outside dot-directories) are sent.
Exit code 0: accepted; 1: rejected; 2: the push could not run (bad flags, unreadable model,
server unreachable, authentication refused, no verdict within --timeout).`

// pushEnvFlags are the flags of push with an environment fallback.
var pushEnvFlags = []string{"server", "token"}

// defaultServer is where `serve` listens by default.
const defaultServer = "http://127.0.0.1:8080"

// pushFlags are the flags of `datasurface push`.
type pushFlags struct {
	dir, commit, repo, path, source, server, token, format string
	timeout                                                time.Duration
}

func (c *cli) push(ctx context.Context, args []string) error {
	var f pushFlags
	fs := c.newFlagSet("push", pushSynopsis)
	fs.StringVar(&f.commit, "commit", "", "push the model of this git revision of --repo instead of a directory")
	fs.StringVar(&f.repo, "repo", "", "the git repository for --commit (default: the one containing the working directory)")
	fs.StringVar(&f.path, "path", ".", "the model root inside DIR or the repository")
	fs.StringVar(&f.source, "source", "", "the repository the change comes from, `location@branch`")
	fs.StringVar(&f.server, "server", defaultServer, "the modelsvc base `url`")
	fs.StringVar(&f.token, "token", "", "the source repository's API token (prefer the environment variable)")
	fs.StringVar(&f.format, "format", "text", "output format: text or json")
	fs.DurationVar(&f.timeout, "timeout", 60*time.Second, "give up when there is no verdict after this long")
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		writeEnvUsage(fs.Output(), fs, pushEnvFlags...)
	}
	// Flags may follow DIR.
	if err := parseInterspersed(fs, args); err != nil {
		return helpOK(err)
	}
	if err := applyEnv(fs, c.getenv, pushEnvFlags...); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 1:
		return usageErrorf("push: expected one directory, got %d arguments", fs.NArg())
	case fs.NArg() == 1 && f.commit != "":
		return usageErrorf("push: give a directory or --commit, not both")
	case fs.NArg() == 0 && f.commit == "":
		return usageErrorf("push: give the model directory or --commit <git-rev>")
	case f.source == "":
		return usageErrorf("push: --source is required (the repository the change comes from, location@branch)")
	case f.token == "":
		return usageErrorf("push: no API token: set %s (or pass --token)", envName("token"))
	case f.timeout <= 0:
		return usageErrorf("push: --timeout must be positive")
	}
	if fs.NArg() == 1 {
		f.dir = fs.Arg(0)
	}
	if err := oneOf("format", f.format, "text", "json"); err != nil {
		return err
	}
	base, err := serverURL(f.server)
	if err != nil {
		return err
	}

	snap, local, err := f.snapshot()
	if err != nil {
		return cannotRun(fmt.Errorf("push: %w", err))
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	client := modelv1connect.NewModelServiceClient(http.DefaultClient, base, connect.WithSendGzip())
	req := connect.NewRequest(&modelv1.ProposeChangeRequest{Snapshot: snap, Source: f.source, Commit: local.commit})
	req.Header().Set("Authorization", "Bearer "+f.token)
	resp, err := client.ProposeChange(ctx, req)
	if err != nil {
		return cannotRun(fmt.Errorf("push: propose to %s: %w", base, rpcError(ctx, err, f.timeout)))
	}
	id := resp.Msg.GetProposalId()
	if local.digest != "" && resp.Msg.GetDigest() != local.digest {
		fmt.Fprintf(c.stderr, "datasurface: push: the server's digest %s differs from the local digest %s (another loader version?)\n",
			resp.Msg.GetDigest(), local.digest)
	}
	p, err := waitForVerdict(ctx, client, id)
	if err != nil {
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return cannotRun(fmt.Errorf("push: proposal %s (%s) has no verdict after %s: is the validator running?", id, resp.Msg.GetDigest(), f.timeout))
		case ctx.Err() != nil:
			return cannotRun(fmt.Errorf("push: proposal %s (%s) was recorded; stopped waiting for its verdict: %w", id, resp.Msg.GetDigest(), ctx.Err()))
		}
		return cannotRun(fmt.Errorf("push: proposal %s: %w", id, rpcError(ctx, err, f.timeout)))
	}
	if err := writePushResult(c.stdout, f.format, local.ref, p); err != nil {
		return cannotRun(err)
	}
	if p.GetState() != modelv1.ProposalState_PROPOSAL_STATE_ACCEPTED {
		return failed
	}
	return nil
}

// parseInterspersed parses flags that may come before and after the positional arguments
// (`push DIR --source …`); "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := parse(fs, args); err != nil {
			return err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if consumed := args[:len(args)-len(rest)]; len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	return fs.Parse(append([]string{"--"}, pos...))
}

// serverURL checks --server and adds http:// when no scheme is given.
func serverURL(s string) (string, error) {
	if s == "" {
		return "", usageErrorf("--server must not be empty")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
		return "", usageErrorf("--server must be an http:// or https:// URL, not %q", s)
	}
	return strings.TrimRight(s, "/"), nil
}

// pushedModel describes what was pushed, for the report.
type pushedModel struct {
	ref    string // DIR or the git revision
	commit string // the resolved git commit, when pushing one
	digest string // the loader's digest of the snapshot
}

// snapshot reads the model files of DIR or --commit in the loader's discovery order.
func (f pushFlags) snapshot() (*modelv1.Snapshot, pushedModel, error) {
	var fsys fs.FS
	m := pushedModel{ref: f.dir}
	if f.dir != "" {
		st, err := os.Stat(f.dir)
		if err != nil {
			return nil, m, err
		}
		if !st.IsDir() {
			return nil, m, fmt.Errorf("%s is not a directory", f.dir)
		}
		root := filepath.Join(f.dir, filepath.FromSlash(f.path))
		if st, err := os.Stat(root); err != nil || !st.IsDir() {
			return nil, m, fmt.Errorf("%s has no directory %s", f.dir, f.path)
		}
		fsys = os.DirFS(root)
	} else {
		m.ref = f.commit
		r := &resolver{repoDir: f.repo, path: f.path}
		c, err := r.commit(f.commit)
		if err != nil {
			return nil, m, err
		}
		t, err := r.modelTree(c, f.commit)
		if err != nil {
			return nil, m, err
		}
		m.commit = c.Hash.String()
		fsys = newTreeFS(t)
	}
	res, err := load.FS(fsys, ".", load.Options{Side: headSide})
	if err != nil {
		return nil, m, fmt.Errorf("read model %s: %w", m.ref, err)
	}
	if len(res.Files) == 0 {
		return nil, m, fmt.Errorf("%s holds no model files (*.yaml, *.yml)", m.ref)
	}
	m.digest = res.Digest
	snap := &modelv1.Snapshot{Files: make([]*modelv1.SnapshotFile, 0, len(res.Files))}
	for _, p := range res.Files {
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, m, fmt.Errorf("read %s: %w", p, err)
		}
		snap.Files = append(snap.Files, &modelv1.SnapshotFile{Path: p, Content: b})
	}
	return snap, m, nil
}

// waitForVerdict polls GetProposal until the proposal is decided or ctx ends. Unavailable
// answers (a restarting server) are retried.
func waitForVerdict(ctx context.Context, client modelv1connect.ModelServiceClient, id string) (*modelv1.Proposal, error) {
	delay := 20 * time.Millisecond
	for {
		resp, err := client.GetProposal(ctx, connect.NewRequest(&modelv1.GetProposalRequest{ProposalId: id}))
		switch {
		case err == nil:
			if p := resp.Msg.GetProposal(); p.GetState() == modelv1.ProposalState_PROPOSAL_STATE_ACCEPTED ||
				p.GetState() == modelv1.ProposalState_PROPOSAL_STATE_REJECTED {
				return p, nil
			}
		case connect.CodeOf(err) != connect.CodeUnavailable || ctx.Err() != nil:
			return nil, err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		delay = min(delay*2, time.Second)
	}
}

// rpcError says what a failed call means; Connect errors read "<code>: <message>".
func rpcError(ctx context.Context, err error, timeout time.Duration) error {
	if ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) || connect.CodeOf(err) == connect.CodeDeadlineExceeded {
		return fmt.Errorf("no answer within %s: %w", timeout, err)
	}
	return err
}

// reportOf converts a verdict's wire report back to the gate's report, so it renders exactly
// like `validate`.
func reportOf(p *modelv1.Proposal, headRef string) *gate.Report {
	r := p.GetReport()
	out := &gate.Report{
		ToolVersion: version,
		Passed:      r.GetPassed(),
		FailOn:      problem.Error,
		Source:      p.GetSource(),
		Head:        gate.ModelInfo{Ref: headRef, Digest: p.GetDigest()},
		Mode:        r.GetMode(),
		Changes:     r.GetChanges(),
	}
	if r.GetHeadDigest() != "" {
		out.Head.Digest = r.GetHeadDigest()
	}
	if r.GetSource() != "" {
		out.Source = r.GetSource()
	}
	if p.GetBaseVersion() != 0 || r.GetBaseDigest() != "" {
		out.Base = &gate.ModelInfo{Digest: r.GetBaseDigest(), Version: p.GetBaseVersion()}
		if p.GetBaseVersion() != 0 {
			out.Base.Ref = fmt.Sprintf("version %d", p.GetBaseVersion())
		}
	}
	for _, ph := range r.GetPhases() {
		out.Phases = append(out.Phases, gate.Phase{Name: ph.GetName(), Status: phaseStatusOf(ph.GetStatus())})
	}
	for _, pr := range r.GetProblems() {
		out.Problems = append(out.Problems, problemOf(pr))
	}
	return out
}

func problemOf(p *modelv1.Problem) problem.Problem {
	sev := severityOf(p.GetSeverity())
	out := problem.Problem{
		Rule:     problem.Rule{ID: p.GetRuleId(), Name: p.GetName(), Severity: sev},
		Severity: sev,
		Phase:    p.GetPhase(),
		Message:  p.GetMessage(),
		Path:     p.GetObjectPath(),
	}
	if loc := p.GetLocation(); loc != nil && loc.GetFile() != "" {
		out.Pos = problem.Position{Side: problem.Head, File: loc.GetFile(), Line: int(loc.GetLine()), Column: int(loc.GetColumn())}
		if loc.GetModel() == modelv1.Side_SIDE_BASE {
			out.Pos.Side = problem.Base
		}
	}
	return out
}

func severityOf(s modelv1.Severity) problem.Severity {
	switch s {
	case modelv1.Severity_SEVERITY_ERROR:
		return problem.Error
	case modelv1.Severity_SEVERITY_WARNING:
		return problem.Warning
	case modelv1.Severity_SEVERITY_INFO:
		return problem.Info
	}
	return 0
}

func phaseStatusOf(s modelv1.PhaseStatus) gate.PhaseStatus {
	switch s {
	case modelv1.PhaseStatus_PHASE_STATUS_PASSED:
		return gate.Passed
	case modelv1.PhaseStatus_PHASE_STATUS_FAILED:
		return gate.Failed
	}
	return gate.Skipped
}

// pushSummary is the last line of the text output, e.g.
// `push: ACCEPTED — 0 errors, 0 warnings, 1 info (committed version 2, base version 1, …)`.
func pushSummary(p *modelv1.Proposal, rep *gate.Report) string {
	var result, outcome string
	switch {
	case p.GetState() != modelv1.ProposalState_PROPOSAL_STATE_ACCEPTED:
		result = "REJECTED"
		outcome = "nothing committed"
		if p.GetBaseVersion() != 0 {
			outcome = fmt.Sprintf("the model stays at version %d", p.GetBaseVersion())
		}
	case p.GetVersion() != 0:
		result = "ACCEPTED"
		outcome = fmt.Sprintf("committed version %d", p.GetVersion())
		if p.GetBaseVersion() != 0 {
			outcome += fmt.Sprintf(", base version %d", p.GetBaseVersion())
		}
	default:
		result = "ACCEPTED"
		outcome = fmt.Sprintf("no change: the model stays at version %d", p.GetBaseVersion())
	}
	return fmt.Sprintf("push: %s — %s (%s, proposal %s, head %s, source %s)",
		result, gate.CountsText(rep.Problems), outcome, p.GetId(), rep.Head.Digest, rep.Source)
}

// pushJSON is the JSON output of push: the verdict and the gate's report in the JSON format of
// `validate` (spec/governance.md §3.4).
type pushJSON struct {
	ProposalID  string          `json:"proposalId"`
	State       string          `json:"state"`
	Source      string          `json:"source"`
	Digest      string          `json:"digest"`
	Commit      string          `json:"commit,omitempty"`
	BaseVersion int64           `json:"baseVersion"`
	Version     int64           `json:"version"`
	Report      json.RawMessage `json:"report"`
}

func writePushResult(w io.Writer, format, headRef string, p *modelv1.Proposal) error {
	rep := reportOf(p, headRef)
	if format == "json" {
		var b bytes.Buffer
		if err := gate.WriteJSON(&b, rep); err != nil {
			return err
		}
		out := pushJSON{
			ProposalID: p.GetId(), State: "rejected", Source: p.GetSource(), Digest: p.GetDigest(),
			Commit: p.GetCommit(), BaseVersion: p.GetBaseVersion(), Version: p.GetVersion(),
			Report: bytes.TrimSpace(b.Bytes()),
		}
		if p.GetState() == modelv1.ProposalState_PROPOSAL_STATE_ACCEPTED {
			out.State = "accepted"
		}
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	bw := bufio.NewWriter(w)
	gate.WriteProblems(bw, rep.Problems)
	fmt.Fprintln(bw, pushSummary(p, rep))
	return bw.Flush()
}
