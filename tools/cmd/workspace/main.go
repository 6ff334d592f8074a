// Command workspace keeps the repository's modules in step (docs/adr/0001-modules.md).
//
//	workspace [-root DIR] sync    regenerate go.work; add missing sibling require/replace lines
//	workspace [-root DIR] check   exit 1 if go.work is stale, a sibling replace is missing, a
//	                              third-party module has two versions, or a go line differs
//
// The root defaults to the nearest directory at or above the working directory that holds
// go.work.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/datasurface/datasurface/tools/internal/workspace"
)

// errProblems makes the command exit 1 after the problems were printed.
var errProblems = errors.New("workspace check failed")

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errProblems) {
			fmt.Fprintln(os.Stderr, "workspace:", err)
		}
		var usage usageError
		if errors.As(err, &usage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("workspace", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", "", "repository root (default: nearest directory with go.work)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: workspace [-root DIR] sync|check")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usageError{"want exactly one command: sync or check"}
	}
	dir := *root
	if dir == "" {
		var err error
		if dir, err = findRoot(); err != nil {
			return err
		}
	}
	switch fs.Arg(0) {
	case "sync":
		changed, err := workspace.Sync(dir)
		if err != nil {
			return err
		}
		for _, f := range changed {
			fmt.Fprintln(stdout, "wrote", f)
		}
		return nil
	case "check":
		probs, err := workspace.Check(dir)
		if err != nil {
			return err
		}
		if len(probs) == 0 {
			return nil
		}
		fmt.Fprintf(stderr, "workspace check: %d problem(s):\n", len(probs))
		for _, p := range probs {
			fmt.Fprintln(stderr, "  "+p.String())
		}
		return errProblems
	default:
		fs.Usage()
		return usageError{fmt.Sprintf("unknown command %q", fs.Arg(0))}
	}
}

// findRoot returns the nearest directory at or above the working directory holding go.work, or
// the working directory itself.
func findRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return wd, nil
		}
	}
}
