// Package problem defines the findings every phase of the gate reports: rules with stable ids,
// severities, positions in model files and the fixed sort order of spec/model.md §6.
package problem

import (
	"cmp"
	"fmt"
	"slices"
)

// Severity of a problem. The order is significant: Error > Warning > Info.
type Severity int

// Severities, in increasing order.
const (
	Info Severity = iota + 1
	Warning
	Error
)

// String returns ERROR, WARNING or INFO.
func (s Severity) String() string {
	switch s {
	case Info:
		return "INFO"
	case Warning:
		return "WARNING"
	case Error:
		return "ERROR"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// Rule is one rule of the catalogue: a stable id, its name and its severity. Rules whose severity
// depends on the case (E / W in the spec) carry the usual one; the problem says which applied.
type Rule struct {
	ID       string
	Name     string
	Severity Severity
}

// Side says which model a position is in.
type Side int

// Sides.
const (
	Head Side = iota
	Base
)

// Position is a node in a model file: path relative to the model root ("/"-separated), 1-based
// line and column (column in Unicode code points).
type Position struct {
	Side   Side
	File   string
	Line   int
	Column int
}

// String renders file:line:column, prefixed "base:" for the base model.
func (p Position) String() string {
	prefix := ""
	if p.Side == Base {
		prefix = "base:"
	}
	return fmt.Sprintf("%s%s:%d:%d", prefix, p.File, p.Line, p.Column)
}

// IsZero reports whether the position names no node.
func (p Position) IsZero() bool { return p.File == "" }

// Problem is one finding.
type Problem struct {
	Rule     Rule
	Severity Severity // the severity that applied (usually Rule.Severity)
	Phase    string   // lint, source, authorization, compatibility, gate
	Message  string
	Path     string   // object path, e.g. datastore[SalesDB]/dataset[orders]
	Pos      Position // zero when the problem has no node
}

// New builds a problem of rule r with the rule's own severity.
func New(r Rule, path string, pos Position, format string, args ...any) Problem {
	return Problem{Rule: r, Severity: r.Severity, Message: fmt.Sprintf(format, args...), Path: path, Pos: pos}
}

// Sort orders problems by file, line, column, rule id (spec/model.md §6); problems without a
// position come first, base positions after head positions of the same file name.
func Sort(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(
			cmp.Compare(a.Pos.Side, b.Pos.Side),
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Column, b.Pos.Column),
			cmp.Compare(a.Rule.ID, b.Rule.ID),
			cmp.Compare(a.Message, b.Message),
		)
	})
}

// Count returns the number of problems at each severity.
func Count(ps []Problem) (errors, warnings, infos int) {
	for _, p := range ps {
		switch p.Severity {
		case Error:
			errors++
		case Warning:
			warnings++
		case Info:
			infos++
		}
	}
	return errors, warnings, infos
}

// HasAtLeast reports whether any problem has severity ≥ s.
func HasAtLeast(ps []Problem, s Severity) bool {
	return slices.ContainsFunc(ps, func(p Problem) bool { return p.Severity >= s })
}
