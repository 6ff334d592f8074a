package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/datasurface/datasurface/model/gate"
	"github.com/datasurface/datasurface/model/load"
	"github.com/datasurface/datasurface/model/problem"
)

const (
	baseSide = problem.Base
	headSide = problem.Head
)

// envStepSummary names the file GitHub Actions collects the job summary from.
const envStepSummary = "GITHUB_STEP_SUMMARY"

const validateSynopsis = `datasurface validate --base <dir|git-ref|none> --head <dir|git-ref> --source <location@branch>
                            [--format text|json|github] [--path <model root>] [--repo <dir>]
                            [--history <git-rev-range>] [--fail-on error|warning] [--output <file>]
       datasurface validate --print-report-schema

Checks a proposed model (head) against the committed one (base): lint, change source,
authorization, compatibility (spec/governance.md §3). Exit code 0: passed; 1: a problem of
severity >= --fail-on was found; 2: the check could not run.`

// validateFlags are the flags of `datasurface validate`.
type validateFlags struct {
	base, head, source, format, path, repo, history, failOn, output string
	printSchema                                                     bool
}

func (c *cli) validate(ctx context.Context, args []string) error {
	var f validateFlags
	fs := c.newFlagSet("validate", validateSynopsis)
	fs.StringVar(&f.base, "base", "", "the committed model: a directory, else a git revision in --repo; `none` = initial check-in")
	fs.StringVar(&f.head, "head", ".", "the proposed model: a directory, else a git revision in --repo")
	fs.StringVar(&f.source, "source", "", "the repository the change comes from, `location@branch`")
	fs.StringVar(&f.format, "format", "text", "report format: text, json or github")
	fs.StringVar(&f.path, "path", ".", "the model root inside the directory or repository")
	fs.StringVar(&f.repo, "repo", "", "the git repository for revisions (default: the one containing the working directory)")
	fs.StringVar(&f.history, "history", "", "git revision range whose models are used for name-reuse and TRANSITIVE checks (e.g. origin/main~200..origin/main)")
	fs.StringVar(&f.failOn, "fail-on", "error", "lowest severity that fails the check: error or warning")
	fs.StringVar(&f.output, "output", "", "write the report to this file instead of stdout (the exit code is unchanged)")
	fs.BoolVar(&f.printSchema, "print-report-schema", false, "print the JSON Schema of the JSON report and exit")
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if f.printSchema {
		_, err := c.stdout.Write(gate.ReportSchema())
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("validate: unexpected argument %q", fs.Arg(0))
	}
	if err := oneOf("format", f.format, "text", "json", "github"); err != nil {
		return err
	}
	if err := oneOf("fail-on", f.failOn, "error", "warning"); err != nil {
		return err
	}
	switch {
	case f.base == "":
		return usageErrorf("validate: --base is required (a directory, a git revision or none)")
	case f.head == "":
		return usageErrorf("validate: --head must not be empty")
	case f.source == "":
		return usageErrorf("validate: --source is required (the repository the change comes from, location@branch)")
	}

	rep, err := c.check(ctx, f)
	if err != nil {
		return err
	}
	if err := c.writeReport(f, rep); err != nil {
		return cannotRun(err)
	}
	if rep.ExitCode() != exitOK {
		return failed
	}
	return nil
}

// check loads the models and runs the gate.
func (c *cli) check(ctx context.Context, f validateFlags) (*gate.Report, error) {
	res := &resolver{repoDir: f.repo, path: f.path}
	in := gate.Input{
		BaseRef:     f.base,
		HeadRef:     f.head,
		Source:      f.source,
		Platforms:   platformRules(),
		ToolVersion: version,
		FailOn:      problem.Error,
	}
	if f.failOn == "warning" {
		in.FailOn = problem.Warning
	}
	var err error
	if f.base != "none" {
		if in.Base, err = res.load(f.base, load.Options{Side: baseSide, Lenient: true}); err != nil {
			return nil, cannotRun(fmt.Errorf("base: %w", err))
		}
	}
	// The base is loaded first so that the head reuses its unchanged files (load.Options.Reuse).
	if in.Head, err = res.load(f.head, load.Options{Side: headSide, Reuse: in.Base}); err != nil {
		return nil, cannotRun(fmt.Errorf("head: %w", err))
	}
	if f.history != "" {
		if in.History, err = res.history(ctx, f.history); err != nil {
			return nil, cannotRun(err)
		}
		in.HistoryGiven = true
	}
	rep, err := gate.Run(ctx, in)
	if err != nil {
		var be *gate.BaseError
		if errors.As(err, &be) {
			return nil, cannotRun(fmt.Errorf("base %s: %w", f.base, err))
		}
		return nil, cannotRun(err)
	}
	return rep, nil
}

// writeReport renders the report to --output or stdout, and appends the Markdown summary to
// $GITHUB_STEP_SUMMARY for the github format.
func (c *cli) writeReport(f validateFlags, rep *gate.Report) (err error) {
	w := c.stdout
	if f.output != "" {
		file, err := os.Create(f.output)
		if err != nil {
			return fmt.Errorf("create report: %w", err)
		}
		defer func() {
			if cerr := file.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("write report: %w", cerr)
			}
		}()
		w = file
	}
	if err := render(w, f.format, rep); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if f.format == "github" {
		if p := c.getenv(envStepSummary); p != "" {
			if err := appendStepSummary(p, rep); err != nil {
				return err
			}
		}
	}
	return nil
}

func render(w io.Writer, format string, rep *gate.Report) error {
	switch format {
	case "json":
		return gate.WriteJSON(w, rep)
	case "github":
		return gate.WriteGitHub(w, rep)
	}
	return gate.WriteText(w, rep)
}

func appendStepSummary(path string, rep *gate.Report) (err error) {
	file, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", envStepSummary, err)
	}
	defer func() {
		if cerr := file.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("write %s: %w", envStepSummary, cerr)
		}
	}()
	if err := gate.WriteStepSummary(file, rep); err != nil {
		return fmt.Errorf("write %s: %w", envStepSummary, err)
	}
	return nil
}
