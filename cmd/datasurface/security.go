package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/datasurface/datasurface/model/gate"
	"github.com/datasurface/datasurface/model/lint"
	"github.com/datasurface/datasurface/model/load"
	"github.com/datasurface/datasurface/model/problem"
	securityv1 "github.com/datasurface/datasurface/proto/gen/datasurface/security/v1"
	"github.com/datasurface/datasurface/proto/gen/datasurface/security/v1/securityv1connect"
	"github.com/datasurface/datasurface/services/security"
	"github.com/jackc/pgx/v5"
)

const securitySynopsis = `datasurface security plan    --platform D [--model DIR [--dsn DSN] | --server URL] [--version N] [--format text|json]
       datasurface security apply   --platform D [--model DIR [--dsn DSN] | --server URL] [--version N] [--digest SHA]
                                    [--prepare] [--format text|json]
       datasurface security explain --principal P (--dataset S.T | --view SCHEMA.VIEW) [--platform D]
                                    [--model DIR [--dsn DSN] | --server URL] [--version N] [--no-live] [--format text|json]

Plans, applies and explains the roles, memberships and grants of Yellow platforms
(spec/security.md). With --server the security service does the work (SecurityService); with
--model the model in DIR is linted and the command talks to the merge database itself, as the
platform's securityCredential login resolved from the environment (<NAME>_USER, <NAME>_PASSWORD;
file stores are read from disk) or as --dsn. The platform's mergeCredential must resolve the same
way (its user becomes a member of the owner role; without it nothing is applied); transformer
secrets are read from the store, or generated into it when it is a file store. Plans print one
action per line: "+" for a change, "-" for a destructive one, "!" for a warning, "x" for an error.

Exit codes: 0 done (plan: no errors); 1 the plan has errors or a credential cannot be resolved
(nothing applied); 2 cannot run.`

// securityEnvFlags have an environment fallback (DATASURFACE_SERVER, DATASURFACE_DSN).
var securityEnvFlags = []string{"server", "dsn"}

type securityFlags struct {
	platform, model, dsn, server, format, digest, principal, dataset, view string
	version                                                                int64
	prepare, noLive                                                        bool
	timeout                                                                time.Duration
}

func (c *cli) security(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "plan" && args[0] != "apply" && args[0] != "explain") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintln(c.stdout, "Usage: "+securitySynopsis)
			return nil
		}
		fmt.Fprintln(c.stderr, "Usage: "+securitySynopsis)
		return usageErrorf("security: the subcommand must be plan, apply or explain")
	}
	sub := args[0]
	var f securityFlags
	fs := c.newFlagSet("security "+sub, securitySynopsis)
	fs.StringVar(&f.platform, "platform", "", "the Yellow `platform`")
	fs.StringVar(&f.model, "model", "", "plan from the model in `DIR` (local mode) instead of asking the service")
	fs.StringVar(&f.dsn, "dsn", "", "local mode: connection string of the merge database as the security login (default: resolved from the model)")
	fs.StringVar(&f.server, "server", "", "the security service base `url` (server mode)")
	fs.Int64Var(&f.version, "version", 0, "server mode: the committed model version (0 = the latest)")
	fs.StringVar(&f.format, "format", "text", "output format: text or json")
	fs.DurationVar(&f.timeout, "timeout", 5*time.Minute, "give up after this long")
	switch sub {
	case "apply":
		fs.StringVar(&f.digest, "digest", "", "apply only if the plan has this digest (from a reviewed plan)")
		fs.BoolVar(&f.prepare, "prepare", false, "apply only the non-destructive actions")
	case "explain":
		fs.StringVar(&f.principal, "principal", "", "the database role to explain")
		fs.StringVar(&f.dataset, "dataset", "", "the dataset `S.T`")
		fs.StringVar(&f.view, "view", "", "one view, `schema.name`")
		fs.BoolVar(&f.noLive, "no-live", false, "answer from the model only (no catalog check)")
	}
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		writeEnvUsage(fs.Output(), fs, securityEnvFlags...)
	}
	if err := parse(fs, args[1:]); err != nil {
		return helpOK(err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("security %s: unexpected arguments %v", sub, fs.Args())
	}
	if err := applyEnv(fs, c.getenv, securityEnvFlags...); err != nil {
		return err
	}
	if err := oneOf("format", f.format, "text", "json"); err != nil {
		return err
	}
	if (f.model == "") == (f.server == "") {
		return usageErrorf("security %s: give exactly one of --model and --server", sub)
	}
	if sub != "explain" && f.platform == "" {
		return usageErrorf("security %s: --platform is required", sub)
	}
	if sub == "explain" && (f.principal == "" || (f.dataset == "") == (f.view == "")) {
		return usageErrorf("security explain: --principal and exactly one of --dataset and --view are required")
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	h, closeFn, err := c.securityHandler(f)
	if err != nil {
		return err
	}
	defer closeFn()
	switch sub {
	case "plan":
		resp, err := h.Plan(ctx, connect.NewRequest(&securityv1.PlanRequest{Platform: f.platform, ModelVersion: f.version}))
		if err != nil {
			return securityFailed("plan", err)
		}
		return c.writePlan("plan", resp.Msg.GetPlan(), f.format)
	case "apply":
		resp, err := h.Apply(ctx, connect.NewRequest(&securityv1.ApplyRequest{
			Platform: f.platform, ModelVersion: f.version, ExpectedDigest: f.digest, Prepare: f.prepare,
		}))
		if err != nil {
			return securityFailed("apply", err)
		}
		return c.writePlan("applied", resp.Msg.GetApplied(), f.format)
	default:
		req := &securityv1.ExplainAccessRequest{Principal: f.principal, View: f.view, Platform: f.platform, ModelVersion: f.version, SkipLive: f.noLive}
		if f.dataset != "" {
			s, t, ok := strings.Cut(f.dataset, ".")
			if !ok {
				return usageErrorf("security explain: --dataset must be S.T")
			}
			req.Datastore, req.Dataset = s, t
		}
		resp, err := h.ExplainAccess(ctx, connect.NewRequest(req))
		if err != nil {
			return securityFailed("explain", err)
		}
		return c.writeExplain(resp.Msg, f.format)
	}
}

// securityPlanner is what the three subcommands call: the Connect client or, in local mode, the
// service's handler in this process.
type securityPlanner interface {
	Plan(context.Context, *connect.Request[securityv1.PlanRequest]) (*connect.Response[securityv1.PlanResponse], error)
	Apply(context.Context, *connect.Request[securityv1.ApplyRequest]) (*connect.Response[securityv1.ApplyResponse], error)
	ExplainAccess(context.Context, *connect.Request[securityv1.ExplainAccessRequest]) (*connect.Response[securityv1.ExplainAccessResponse], error)
}

func (c *cli) securityHandler(f securityFlags) (securityPlanner, func(), error) {
	if f.server != "" {
		base, err := serverURL(f.server)
		if err != nil {
			return nil, nil, err
		}
		return securityv1connect.NewSecurityServiceClient(http.DefaultClient, base), func() {}, nil
	}
	res, err := load.Dir(f.model, load.Options{})
	if err != nil {
		return nil, nil, cannotRun(fmt.Errorf("security: %w", err))
	}
	ps := append([]problem.Problem(nil), res.Problems...)
	if res.Model != nil {
		ps = append(ps, lint.Run(res.Model, res.Source, lint.Options{Platforms: platformRules()})...)
	}
	if problem.HasAtLeast(ps, problem.Error) {
		problem.Sort(ps)
		w := bufio.NewWriter(c.stderr)
		gate.WriteProblems(w, ps)
		_ = w.Flush()
		return nil, nil, cannotRun(fmt.Errorf("security: the model in %s has errors", f.model))
	}
	// Errors are returned and printed once; the service's own log lines would repeat them.
	svc, err := security.New(security.Config{DSN: f.dsn, DriftInterval: -1, Instance: "cli"}, security.Deps{
		Log:     slog.New(slog.DiscardHandler),
		Models:  security.StaticModel(&security.ModelVersion{Model: res.Model, Source: res.Source, Digest: res.Digest}),
		Secrets: security.CredentialStores(func(k string) (string, bool) { v := c.getenv(k); return v, v != "" }),
	})
	if err != nil {
		return nil, nil, cannotRun(err)
	}
	return svc.Handler(), svc.Close, nil
}

func securityFailed(what string, err error) error {
	if connect.CodeOf(err) == connect.CodeFailedPrecondition {
		return &exitError{Code: exitProblems, Err: fmt.Errorf("security %s: %s", what, connectMessage(err))}
	}
	return cannotRun(fmt.Errorf("security %s: %s", what, connectMessage(err)))
}

// planJSON is the JSON shape of security.md §4.3.
type planJSON struct {
	Platform     string       `json:"platform"`
	ModelVersion int64        `json:"modelVersion"`
	Managed      bool         `json:"managed"`
	Digest       string       `json:"digest"`
	Actions      []actionJSON `json:"actions"`
	Warnings     []string     `json:"warnings"`
	Errors       []string     `json:"errors"`
}

type actionJSON struct {
	Op          string   `json:"op"`
	ObjectType  string   `json:"objectType"`
	Object      string   `json:"object"`
	Grantee     string   `json:"grantee,omitempty"`
	Privileges  []string `json:"privileges,omitempty"`
	Reason      string   `json:"reason,omitempty"`
	Destructive bool     `json:"destructive"`
	Statement   string   `json:"statement"`
}

func opName(o securityv1.ActionOp) string {
	return strings.ToLower(strings.TrimPrefix(o.String(), "ACTION_OP_"))
}

func (c *cli) writePlan(verb string, p *securityv1.Plan, format string) error {
	if format == "json" {
		out := planJSON{
			Platform: p.GetPlatform(), ModelVersion: p.GetModelVersion(), Managed: p.GetManaged(), Digest: p.GetDigest(),
			Actions: []actionJSON{}, Warnings: append([]string{}, p.GetWarnings()...), Errors: append([]string{}, p.GetErrors()...),
		}
		for _, a := range p.GetActions() {
			out.Actions = append(out.Actions, actionJSON{
				Op: opName(a.GetOp()), ObjectType: a.GetObjectType(), Object: a.GetObject(), Grantee: a.GetGrantee(),
				Privileges: a.GetPrivileges(), Reason: a.GetReason(), Destructive: a.GetDestructive(), Statement: a.GetStatement(),
			})
		}
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		writePlanText(c.stdout, verb, p)
	}
	if len(p.GetErrors()) > 0 {
		return failed
	}
	return nil
}

func quoteName(s string) string {
	if s == "PUBLIC" {
		return s
	}
	return pgx.Identifier{s}.Sanitize()
}

// actionText is one action in words: create role "x", grant select on view "s.v" to "r", …
func actionText(a *securityv1.Action) string {
	privs := strings.ToLower(strings.Join(a.GetPrivileges(), ", "))
	if strings.Contains(a.GetStatement(), "GRANT ALL ON") {
		privs = "all"
	}
	obj, g := quoteName(a.GetObject()), quoteName(a.GetGrantee())
	switch a.GetOp() {
	case securityv1.ActionOp_ACTION_OP_CREATE_ROLE:
		return "create role " + obj
	case securityv1.ActionOp_ACTION_OP_ALTER_ROLE:
		return "alter role " + obj + " " + privs
	case securityv1.ActionOp_ACTION_OP_SET_PASSWORD:
		return "set password of role " + obj
	case securityv1.ActionOp_ACTION_OP_DROP_ROLE:
		return "drop role " + obj
	case securityv1.ActionOp_ACTION_OP_CREATE_SCHEMA:
		return "create schema " + obj
	case securityv1.ActionOp_ACTION_OP_DROP_SCHEMA:
		return "drop schema " + obj + " cascade"
	case securityv1.ActionOp_ACTION_OP_CREATE_TABLE:
		return "create table " + a.GetObject()
	case securityv1.ActionOp_ACTION_OP_COMMENT:
		return "mark " + a.GetObjectType() + " " + obj
	case securityv1.ActionOp_ACTION_OP_GRANT:
		return "grant " + privs + " on " + a.GetObjectType() + " " + obj + " to " + g
	case securityv1.ActionOp_ACTION_OP_REVOKE:
		return "revoke " + privs + " on " + a.GetObjectType() + " " + obj + " from " + g
	case securityv1.ActionOp_ACTION_OP_GRANT_MEMBERSHIP:
		return "grant " + obj + " to " + g
	case securityv1.ActionOp_ACTION_OP_REVOKE_MEMBERSHIP:
		if privs != "" {
			return "revoke " + privs + " for " + obj + " from " + g
		}
		return "revoke " + obj + " from " + g
	case securityv1.ActionOp_ACTION_OP_DEFAULT_PRIVILEGES:
		return "grant " + privs + " on future tables in schema " + obj + " to " + g
	case securityv1.ActionOp_ACTION_OP_REVOKE_DEFAULT_PRIVILEGES:
		return "revoke " + privs + " on future objects in schema " + obj + " from " + g
	}
	return a.GetStatement()
}

// writePlanText prints the text form of security.md §4.3.
func writePlanText(w io.Writer, verb string, p *securityv1.Plan) {
	destructive := 0
	for _, a := range p.GetActions() {
		if a.GetDestructive() {
			destructive++
		}
	}
	model := "local"
	if p.GetModelVersion() != 0 {
		model = fmt.Sprint(p.GetModelVersion())
	}
	fmt.Fprintf(w, "%s platform=%s model=%s: %s, %d destructive, %s", verb, p.GetPlatform(), model,
		plural(len(p.GetActions()), "change"), destructive, plural(len(p.GetWarnings()), "warning"))
	if n := len(p.GetErrors()); n > 0 {
		fmt.Fprintf(w, ", %s", plural(n, "error"))
	}
	if p.GetDigest() != "" && len(p.GetActions()) > 0 {
		fmt.Fprintf(w, " (digest %s)", p.GetDigest())
	}
	fmt.Fprintln(w)
	for _, a := range p.GetActions() {
		mark := "+"
		if a.GetDestructive() {
			mark = "-"
		}
		line := fmt.Sprintf("  %s %-66s %s", mark, actionText(a), a.GetReason())
		if a.GetDestructive() {
			line += "  [destructive]"
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
	for _, s := range p.GetWarnings() {
		fmt.Fprintf(w, "  ! %s\n", s)
	}
	for _, s := range p.GetErrors() {
		fmt.Fprintf(w, "  x %s\n", s)
	}
}

// explainJSON is the JSON shape of security.md §6.
type explainJSON struct {
	Principal    string       `json:"principal"`
	Dataset      string       `json:"dataset"`
	ModelVersion int64        `json:"modelVersion"`
	Answers      []answerJSON `json:"answers"`
}

type answerJSON struct {
	Platform string     `json:"platform"`
	Access   bool       `json:"access"`
	Reason   string     `json:"reason,omitempty"`
	Paths    []pathJSON `json:"paths"`
	Live     *liveJSON  `json:"live,omitempty"`
}

type pathJSON struct {
	Role         string     `json:"role"`
	Workspace    string     `json:"workspace"`
	Via          string     `json:"via"`
	ConsumerAt   string     `json:"consumerAt,omitempty"`
	DatasetGroup string     `json:"datasetGroup"`
	Views        []viewJSON `json:"views"`
}

type viewJSON struct {
	Name          string   `json:"name"`
	Kind          string   `json:"kind"`
	MaskedColumns []string `json:"maskedColumns"`
}

type liveJSON struct {
	PrincipalExists bool            `json:"principalExists"`
	Membership      bool            `json:"membership"`
	Select          map[string]bool `json:"select"`
	Drift           []string        `json:"drift"`
}

func (c *cli) writeExplain(r *securityv1.ExplainAccessResponse, format string) error {
	if format == "json" {
		out := explainJSON{Principal: r.GetPrincipal(), Dataset: r.GetDataset(), ModelVersion: r.GetModelVersion(), Answers: []answerJSON{}}
		for _, a := range r.GetAnswers() {
			aj := answerJSON{Platform: a.GetPlatform(), Access: a.GetAccess(), Reason: a.GetReason(), Paths: []pathJSON{}}
			for _, p := range a.GetPaths() {
				pj := pathJSON{Role: p.GetRole(), Workspace: p.GetWorkspace(), Via: p.GetVia(), ConsumerAt: p.GetConsumerAt(), DatasetGroup: p.GetDatasetGroup()}
				for _, v := range p.GetViews() {
					pj.Views = append(pj.Views, viewJSON{Name: v.GetName(), Kind: v.GetKind(), MaskedColumns: append([]string{}, v.GetMaskedColumns()...)})
				}
				aj.Paths = append(aj.Paths, pj)
			}
			if l := a.GetLive(); l.GetChecked() {
				aj.Live = &liveJSON{PrincipalExists: l.GetPrincipalExists(), Membership: l.GetMembership(), Select: l.GetSelect(), Drift: append([]string{}, l.GetDrift()...)}
			}
			out.Answers = append(out.Answers, aj)
		}
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	w := c.stdout
	fmt.Fprintf(w, "principal %s, dataset %s, model %d\n", quoteName(r.GetPrincipal()), r.GetDataset(), r.GetModelVersion())
	if len(r.GetAnswers()) == 0 {
		fmt.Fprintln(w, "  no platform serves the dataset")
	}
	for _, a := range r.GetAnswers() {
		yes := map[bool]string{true: "yes", false: "no"}
		fmt.Fprintf(w, "%s: access %s", a.GetPlatform(), yes[a.GetAccess()])
		if a.GetReason() != "" {
			fmt.Fprintf(w, " (%s)", a.GetReason())
		}
		fmt.Fprintln(w)
		for _, p := range a.GetPaths() {
			at := ""
			if p.GetConsumerAt() != "" {
				at = " at " + p.GetConsumerAt()
			}
			fmt.Fprintf(w, "  %s → member of %s (%s of %s%s)\n", quoteName(r.GetPrincipal()), quoteName(p.GetRole()), p.GetVia(), p.GetWorkspace(), at)
			fmt.Fprintf(w, "    → usage on schema %s, select on views of dataset group %s:\n", quoteName(p.GetSchema()), p.GetDatasetGroup())
			for _, v := range p.GetViews() {
				masked := "none"
				if len(v.GetMaskedColumns()) > 0 {
					masked = strings.Join(v.GetMaskedColumns(), ", ")
				}
				fmt.Fprintf(w, "      → %s (%s; masked: %s)\n", v.GetName(), v.GetKind(), masked)
			}
		}
		if l := a.GetLive(); l.GetChecked() {
			fmt.Fprintf(w, "  live: principal exists %s, membership %s", yes[l.GetPrincipalExists()], yes[l.GetMembership()])
			for _, p := range a.GetPaths() {
				for _, v := range p.GetViews() {
					fmt.Fprintf(w, ", select %s %s", v.GetName(), yes[l.GetSelect()[v.GetName()]])
				}
			}
			fmt.Fprintln(w)
			for _, d := range l.GetDrift() {
				fmt.Fprintf(w, "  ! drift: %s\n", d)
			}
		} else if len(a.GetLive().GetDrift()) > 0 {
			fmt.Fprintf(w, "  ! %s\n", strings.Join(a.GetLive().GetDrift(), "; "))
		}
	}
	return nil
}
