package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// cli holds what every command writes to and reads from. Only this package reads the
// environment (getenv), and only for what a command documents.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

// command is one subcommand. To add one, add an entry to commands (or to modelCommands for
// `datasurface model …`).
type command struct {
	name    string
	summary string
	run     func(c *cli, ctx context.Context, args []string) error
}

// commands lists the top-level subcommands in the order `datasurface -h` shows them.
var commands = []command{
	{name: "dev", summary: "run everything locally with the example model, seeded sources and live progress", run: (*cli).dev},
	{name: "validate", summary: "check a proposed model change (the pull-request gate)", run: (*cli).validate},
	{name: "push", summary: "propose a model change to modelsvc and wait for the verdict", run: (*cli).push},
	{name: "model", summary: "model utilities: lint, diff, schema; read API: get, list, deps, versions", run: (*cli).model},
	{name: "serve", summary: "run services in production: modelsvc, validator, scheduler, ingest, merge, security", run: (*cli).serve},
	{name: "migrate", summary: "apply the control-plane database migrations of every service", run: (*cli).migrate},
	{name: "healthcheck", summary: "exit 0 when a serve endpoint answers 200 (container health checks)", run: (*cli).healthcheck},
	{name: "run-batch", summary: "run one batch of a Yellow stream synchronously, without Temporal", run: (*cli).runBatch},
	{name: "streams", summary: "list, inspect, trigger, pause, resume, backfill ingestion streams", run: (*cli).streams},
	{name: "batches", summary: "list and inspect the batches of a Yellow platform", run: (*cli).batches},
	{name: "lag", summary: "show the lag of a Yellow platform's streams and workspaces", run: (*cli).lag},
	{name: "security", summary: "plan, apply and explain the database access of Yellow platforms", run: (*cli).security},
	{name: "bench", summary: "measure the performance figures beside their limits", run: (*cli).bench},
	{name: "version", summary: "print the datasurface version", run: (*cli).version},
}

// modelCommands lists the subcommands of `datasurface model`.
var modelCommands = []command{
	{name: "lint", summary: "lint a model directory", run: (*cli).modelLint},
	{name: "diff", summary: "print the change set between two models", run: (*cli).modelDiff},
	{name: "schema", summary: "print the JSON Schema of the YAML model format", run: (*cli).modelSchema},
	{name: "get", summary: "print committed workspaces, datastores, datasets or teams", run: (*cli).modelGet},
	{name: "list", summary: "list the committed workspaces, datastores or teams", run: (*cli).modelList},
	{name: "deps", summary: "print the workspaces that depend on a datastore", run: (*cli).modelDeps},
	{name: "versions", summary: "list the committed model versions, or one with its change set", run: (*cli).modelVersions},
}

func (c *cli) run(ctx context.Context, args []string) error {
	return c.dispatch(ctx, "datasurface", commands, args)
}

func (c *cli) model(ctx context.Context, args []string) error {
	return c.dispatch(ctx, "datasurface model", modelCommands, args)
}

// dispatch runs the subcommand named by args[0].
func (c *cli) dispatch(ctx context.Context, prog string, cmds []command, args []string) error {
	if len(args) == 0 {
		writeCommandUsage(c.stderr, prog, cmds)
		return usageErrorf("%s: missing command", prog)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		writeCommandUsage(c.stdout, prog, cmds)
		return nil
	}
	for _, cmd := range cmds {
		if cmd.name == args[0] {
			return cmd.run(c, ctx, args[1:])
		}
	}
	writeCommandUsage(c.stderr, prog, cmds)
	return usageErrorf("%s: unknown command %q", prog, args[0])
}

func writeCommandUsage(w io.Writer, prog string, cmds []command) {
	fmt.Fprintf(w, "Usage: %s <command> [flags] [arguments]\n\nCommands:\n", prog)
	for _, cmd := range cmds {
		fmt.Fprintf(w, "  %-12s %s\n", cmd.name, cmd.summary)
	}
	fmt.Fprintf(w, "\nRun '%s <command> -h' for the flags of a command.\n", prog)
}

// newFlagSet returns a flag set whose usage text starts with synopsis and lists the flags.
// Errors and -h print to stderr.
func (c *cli) newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s\n", synopsis)
		var hasFlags bool
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintf(fs.Output(), "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parse parses args; -h prints the usage and ends the command with exit code 0 (errHelp).
func parse(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		return errHelp
	}
	// The flag package has printed the error and the usage.
	return &exitError{Code: exitCannot}
}

// errHelp ends a command after -h; run returns nil for it.
var errHelp = errors.New("help requested")

// helpOK maps errHelp to success.
func helpOK(err error) error {
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

// oneOf checks a flag value against its allowed values.
func oneOf(flagName, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return usageErrorf("--%s must be one of %s, not %q", flagName, strings.Join(allowed, ", "), v)
}
