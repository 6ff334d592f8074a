// Package lint checks a loaded model against the rules of spec/model.md §7 in the order of §8:
// names and uniqueness, references, object rules (ecosystem → vendors → zones → teams →
// datastores → workspaces → assignments), then the intention graph and the platform rules of
// every platform kind passed in Options. Lint is deterministic, pure and never mutates the model.
package lint

import (
	"fmt"

	"github.com/datasurface/datasurface/model/index"
	"github.com/datasurface/datasurface/model/problem"
	"github.com/datasurface/datasurface/model/srcmap"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// Phase is the gate phase lint problems belong to.
const Phase = "lint"

// PlatformRules lints the platforms of one kind (e.g. Yellow) once the model is otherwise free of
// errors. Implementations live with their platform (platforms/yellow) so that model never
// imports a platform.
type PlatformRules interface {
	// Rules lists the rules Check may report.
	Rules() []problem.Rule
	// Check reports problems through c.
	Check(c *Context)
}

// Options configures a run.
type Options struct {
	Platforms []PlatformRules
}

// Context is what every check sees: the model, its index and source map, and the problems so far.
type Context struct {
	Model *modelv1.Model
	Index *index.Index
	Src   *srcmap.Map

	problems []problem.Problem
}

// NewContext prepares a context over a loaded model.
func NewContext(m *modelv1.Model, src *srcmap.Map) *Context {
	return &Context{Model: m, Index: index.New(m), Src: src}
}

// Report adds a problem of rule r at the node posKey (a source-map key; see package srcmap),
// for the object at path, with the rule's severity.
func (c *Context) Report(r problem.Rule, path, posKey, format string, args ...any) {
	c.ReportSeverity(r, r.Severity, path, posKey, format, args...)
}

// ReportSeverity is Report with an explicit severity, for rules that are E or W by case.
func (c *Context) ReportSeverity(r problem.Rule, sev problem.Severity, path, posKey, format string, args ...any) {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	c.problems = append(c.problems, problem.Problem{
		Rule: r, Severity: sev, Phase: Phase, Message: msg, Path: path, Pos: c.Src.Pos(posKey),
	})
}

// Errors returns the number of ERROR problems reported so far.
func (c *Context) Errors() int {
	n := 0
	for _, p := range c.problems {
		if p.Severity == problem.Error {
			n++
		}
	}
	return n
}

// Problems returns the problems reported so far, sorted.
func (c *Context) Problems() []problem.Problem {
	out := append([]problem.Problem(nil), c.problems...)
	problem.Sort(out)
	return out
}

// Run lints m. Load problems are the loader's; Run reports DS-LINT-* and platform rules.
func Run(m *modelv1.Model, src *srcmap.Map, opts Options) []problem.Problem {
	c := NewContext(m, src)
	// §8 step 2: names and uniqueness, then references.
	checkNames(c)
	checkReferences(c)
	// §8 step 3: object rules.
	checkEcosystem(c)
	checkZones(c)
	checkDatastores(c)
	checkWorkspaces(c)
	checkAssignments(c)
	// §8 step 4: intention graph and platform rules, only on an error-free model.
	if c.Errors() == 0 {
		checkGraph(c)
		for _, p := range opts.Platforms {
			p.Check(c)
		}
	}
	return c.Problems()
}
