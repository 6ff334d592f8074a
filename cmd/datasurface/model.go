package main

import (
	"bufio"
	"context"
	"fmt"

	"github.com/datasurface/datasurface/model/changes"
	"github.com/datasurface/datasurface/model/gate"
	"github.com/datasurface/datasurface/model/lint"
	"github.com/datasurface/datasurface/model/load"
	"github.com/datasurface/datasurface/model/problem"
	"github.com/datasurface/datasurface/model/schema"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

const modelLintSynopsis = `datasurface model lint DIR

Loads the model under DIR and lints it, platform rules included (spec/model.md §7). Prints one
line per problem and a summary line. Exit code 0: no errors; 1: errors found; 2: DIR unreadable.`

func (c *cli) modelLint(_ context.Context, args []string) error {
	fs := c.newFlagSet("model lint", modelLintSynopsis)
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usageErrorf("model lint: expected one directory, got %d arguments", fs.NArg())
	}
	dir := fs.Arg(0)
	res, err := load.Dir(dir, load.Options{Side: headSide})
	if err != nil {
		return cannotRun(fmt.Errorf("model lint: %w", err))
	}
	ps := append([]problem.Problem(nil), res.Problems...)
	if res.Model != nil {
		ps = append(ps, lint.Run(res.Model, res.Source, lint.Options{Platforms: platformRules()})...)
	}
	problem.Sort(ps)
	passed := !problem.HasAtLeast(ps, problem.Error)
	w := bufio.NewWriter(c.stdout)
	gate.WriteProblems(w, ps)
	fmt.Fprintf(w, "lint: %s — %s (model %s, %d files)\n", gate.ResultText(passed), gate.CountsText(ps), res.Digest, len(res.Files))
	if err := w.Flush(); err != nil {
		return cannotRun(err)
	}
	if !passed {
		return failed
	}
	return nil
}

const modelDiffSynopsis = `datasurface model diff [--path <model root>] [--repo <dir>] BASE HEAD

Prints the change set from BASE to HEAD (spec/governance.md §2.5), one line per change:
KIND path [before → after]. BASE and HEAD are directories or git revisions of --repo.`

func (c *cli) modelDiff(_ context.Context, args []string) error {
	fs := c.newFlagSet("model diff", modelDiffSynopsis)
	res := &resolver{}
	fs.StringVar(&res.path, "path", ".", "the model root inside the directories or the repository")
	fs.StringVar(&res.repoDir, "repo", "", "the git repository for revisions (default: the one containing the working directory)")
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return usageErrorf("model diff: expected BASE and HEAD, got %d arguments", fs.NArg())
	}
	base, err := loadForDiff(res, "base", fs.Arg(0))
	if err != nil {
		return err
	}
	head, err := loadForDiff(res, "head", fs.Arg(1))
	if err != nil {
		return err
	}
	w := bufio.NewWriter(c.stdout)
	for _, ch := range changes.Diff(base.Model, head.Model) {
		fmt.Fprintln(w, formatChange(ch.GetKind(), ch.GetPath(), ch.GetBefore(), ch.GetAfter()))
	}
	if err := w.Flush(); err != nil {
		return cannotRun(err)
	}
	return nil
}

// formatChange renders one change as `KIND path [before → after]`; a missing side is left out
// ("→ after" for an addition, "before →" for a removal).
func formatChange(kind modelv1.ChangeKind, path, before, after string) string {
	line := gate.ChangeKindName(kind) + " " + path
	switch {
	case before != "" && after != "":
		line += " " + before + " → " + after
	case after != "":
		line += " → " + after
	case before != "":
		line += " " + before + " →"
	}
	return line
}

// loadForDiff loads one side of a diff leniently; a model that cannot be parsed or has no
// Ecosystem cannot be compared (exit code 2).
func loadForDiff(r *resolver, side, ref string) (*load.Result, error) {
	res, err := r.load(ref, load.Options{Side: baseSide, Lenient: true})
	if err != nil {
		return nil, cannotRun(fmt.Errorf("model diff: %s: %w", side, err))
	}
	if !usable(res) {
		return nil, cannotRun(fmt.Errorf("model diff: %s %s cannot be loaded (YAML syntax errors or no Ecosystem document)", side, ref))
	}
	return res, nil
}

const modelSchemaSynopsis = `datasurface model schema

Prints the JSON Schema (draft 2020-12) of one YAML model document, for editor completion.`

func (c *cli) modelSchema(_ context.Context, args []string) error {
	fs := c.newFlagSet("model schema", modelSchemaSynopsis)
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("model schema: unexpected argument %q", fs.Arg(0))
	}
	b, err := schema.JSON()
	if err != nil {
		return cannotRun(fmt.Errorf("model schema: %w", err))
	}
	if _, err := c.stdout.Write(b); err != nil {
		return cannotRun(err)
	}
	return nil
}

const versionSynopsis = `datasurface version

Prints the datasurface version.`

// version is the datasurface version (the repository's VERSION file; a test keeps them equal).
// Release builds may set it with -ldflags "-X main.version=…".
var version = "0.1.0"

func (c *cli) version(_ context.Context, args []string) error {
	fs := c.newFlagSet("version", versionSynopsis)
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("version: unexpected argument %q", fs.Arg(0))
	}
	_, err := fmt.Fprintf(c.stdout, "datasurface %s\n", version)
	return err
}
