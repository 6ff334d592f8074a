// Package gate owns the whole check of a proposed model change (spec/governance.md §1.5, §3):
// lint of the head, the change source, authorization and compatibility, in that order and with
// its stop rules, plus the gate's own findings (DS-GATE-001..004). The CLI (`datasurface
// validate`) and the validator service both call Run, so they give identical verdicts for
// identical inputs, and both render the Report with the writers of this package (text, JSON
// schema version 1, GitHub workflow commands) or convert it to a *modelv1.Report.
//
// Like the rest of model, the package is pure: it reads loaded models, never files, the
// network or the environment.
package gate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/datasurface/datasurface/model/authz"
	"github.com/datasurface/datasurface/model/changes"
	"github.com/datasurface/datasurface/model/compat"
	"github.com/datasurface/datasurface/model/compat/equal"
	"github.com/datasurface/datasurface/model/lint"
	"github.com/datasurface/datasurface/model/load"
	"github.com/datasurface/datasurface/model/problem"
	"github.com/datasurface/datasurface/model/srcmap"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// Phase names, in the order they run (spec/governance.md §1.5).
const (
	PhaseLint          = lint.Phase
	PhaseSource        = authz.PhaseSource
	PhaseAuthorization = authz.PhaseAuthorization
	PhaseCompatibility = compat.Phase
	// PhaseGate is the phase of the findings about the inputs themselves (DS-GATE-001..003).
	PhaseGate = "gate"
)

// The gate's own rules (spec/governance.md §3.1).
var (
	RuleInitialCheckIn     = problem.Rule{ID: "DS-GATE-001", Name: "initial-check-in", Severity: problem.Info}
	RuleBaseModelInvalid   = problem.Rule{ID: "DS-GATE-002", Name: "base-model-invalid", Severity: problem.Warning}
	RuleBaseUnknownFields  = problem.Rule{ID: "DS-GATE-003", Name: "base-unknown-fields", Severity: problem.Warning}
	RuleHistoryUnavailable = problem.Rule{ID: "DS-GATE-004", Name: "history-unavailable", Severity: problem.Info}
)

// Rules is the catalogue of the gate's own rules.
var Rules = []problem.Rule{RuleInitialCheckIn, RuleBaseModelInvalid, RuleBaseUnknownFields, RuleHistoryUnavailable}

// Rule ids of the loader that decide whether a base can be used at all.
const (
	ruleYAMLSyntax   = "DS-LOAD-001"
	ruleFieldUnknown = "DS-LOAD-006"
)

// Input is one change to check.
type Input struct {
	// Base is the committed model, loaded leniently (load.Options{Side: problem.Base, Lenient:
	// true}); nil means there is none (initial check-in).
	Base *load.Result
	// Head is the proposed model, loaded strictly (Side: problem.Head).
	Head *load.Result
	// BaseRef and HeadRef say how the models were named (a directory, a git revision); they are
	// only reported.
	BaseRef, HeadRef string
	// BaseVersion is the committed version number of the base when known (the validator
	// service); 0 = unknown.
	BaseVersion int64
	// Source is the repository the change comes from, `location@branch`.
	Source string
	// History holds earlier committed models, newest first, for name-reuse and TRANSITIVE
	// checks; HistoryGiven says whether a history was supplied at all (else DS-GATE-004).
	History      []compat.Version
	HistoryGiven bool
	// FailOn is the lowest severity that fails the change; zero means problem.Error.
	FailOn problem.Severity
	// Platforms are the platform lint rules (e.g. Yellow), applied to head and base alike.
	Platforms []lint.PlatformRules
	// ToolVersion is the datasurface version, reported as tool.version.
	ToolVersion string
}

// PhaseStatus is the outcome of one phase.
type PhaseStatus int

// Phase outcomes.
const (
	Skipped PhaseStatus = iota
	Passed
	Failed
)

// String returns passed, failed or skipped.
func (s PhaseStatus) String() string {
	switch s {
	case Passed:
		return "passed"
	case Failed:
		return "failed"
	}
	return "skipped"
}

// Phase is the outcome of one phase.
type Phase struct {
	Name   string
	Status PhaseStatus
}

// ModelInfo names one of the two models of a change.
type ModelInfo struct {
	Ref     string
	Digest  string
	Version int64 // committed version number; 0 = unknown
}

// Report is the verdict on one change.
type Report struct {
	ToolVersion string
	// Passed reports that no problem has severity ≥ FailOn.
	Passed bool
	FailOn problem.Severity
	Source string
	// Base is nil for an initial check-in.
	Base *ModelInfo
	Head ModelInfo
	// Mode is the compatibility mode that applied: BACKWARD or BACKWARD_TRANSITIVE.
	Mode   string
	Phases []Phase
	// Problems of every phase that ran and of the gate itself, sorted (spec/model.md §6).
	Problems []problem.Problem
	// Changes is the change set base → head (spec/governance.md §2.5), set only when every
	// phase passed (see AllPhasesPassed).
	Changes []*modelv1.Change
}

// AllPhasesPassed reports whether no phase failed; phases that do not apply (source and
// compatibility of an initial check-in) are skipped without failing.
func (r *Report) AllPhasesPassed() bool {
	return !slices.ContainsFunc(r.Phases, func(p Phase) bool { return p.Status == Failed })
}

// ExitCode is the exit code of spec/governance.md §3.2 for a check that ran: 0 when it passed,
// 1 when it found a problem of severity ≥ FailOn.
func (r *Report) ExitCode() int {
	if r.Passed {
		return 0
	}
	return 1
}

// Counts returns the number of problems at each severity.
func (r *Report) Counts() (errors, warnings, infos int) { return problem.Count(r.Problems) }

// BaseError says the base model cannot be used, so the check cannot run (exit code 2): it is
// not YAML, or it has no Ecosystem document.
type BaseError struct {
	Reason string
}

func (e *BaseError) Error() string { return "base model unusable: " + e.Reason }

// Run checks one change. It returns an error only when the check cannot run: a missing head,
// an unusable base (*BaseError) or a cancelled context. Every finding about the models is a
// problem in the report.
func Run(ctx context.Context, in Input) (*Report, error) {
	if in.Head == nil {
		return nil, errors.New("gate: no head model")
	}
	if err := usableBase(in.Base); err != nil {
		return nil, err
	}
	failOn := in.FailOn
	if failOn == 0 {
		failOn = problem.Error
	}
	r := &Report{
		ToolVersion: in.ToolVersion,
		FailOn:      failOn,
		Source:      in.Source,
		Head:        ModelInfo{Ref: in.HeadRef, Digest: in.Head.Digest},
	}
	var base *modelv1.Model
	if in.Base != nil {
		base = in.Base.Model
		r.Base = &ModelInfo{Ref: in.BaseRef, Digest: in.Base.Digest, Version: in.BaseVersion}
	}
	head := in.Head.Model
	r.Mode = modeName(compat.Mode(base, head))

	// The gate's findings about its inputs. The base is linted while the head is (below).
	var baseDone chan findings
	if in.Base == nil {
		r.add(problem.Problem{Rule: RuleInitialCheckIn, Severity: RuleInitialCheckIn.Severity, Phase: PhaseGate,
			Message: "no base model: checking an initial check-in"})
	} else {
		baseDone = make(chan findings, 1)
		go func() {
			defer func() {
				if v := recover(); v != nil {
					baseDone <- findings{panicked: v}
				}
			}()
			baseDone <- findings{problems: baseFindings(in.Base, in.Platforms)}
		}()
	}

	// 1. lint head: load problems and lint. Any ERROR stops here.
	lintProblems := slices.Clone(in.Head.Problems)
	for i := range lintProblems {
		lintProblems[i].Phase = PhaseLint
	}
	if head != nil {
		lintProblems = append(lintProblems, lint.Run(head, in.Head.Source, lint.Options{Platforms: in.Platforms})...)
	}
	if baseDone != nil {
		f := <-baseDone
		if f.panicked != nil {
			panic(f.panicked) // on the caller's goroutine, where it can be recovered
		}
		r.addAll(f.problems)
	}
	if !r.phase(PhaseLint, lintProblems, true) {
		return r.finish(base, head, nil), nil
	}
	if head == nil {
		return nil, errors.New("gate: the head was not loaded")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// 2. change source known; 3. authorization.
	authProblems := authz.Check(base, head, srcOf(in.Base), in.Head.Source, in.Source)
	var sourceProblems []problem.Problem
	authProblems = slices.DeleteFunc(authProblems, func(p problem.Problem) bool {
		if p.Phase == PhaseSource {
			sourceProblems = append(sourceProblems, p)
			return true
		}
		return false
	})
	if !r.phase(PhaseSource, sourceProblems, base != nil) {
		return r.finish(base, head, nil), nil
	}
	if !r.phase(PhaseAuthorization, authProblems, true) {
		return r.finish(base, head, nil), nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// 4. compatibility (not checked for an initial check-in).
	var datastores *equal.Pairs[*modelv1.Datastore]
	if base != nil {
		// The datastores are paired and compared once, for compat and the change set.
		datastores = equal.PairDatastores(base, head)
		compatProblems := compat.Check(compat.Input{
			Base: base, Head: head, BaseSrc: in.Base.Source, HeadSrc: in.Head.Source, History: in.History,
			Datastores: datastores,
		})
		if !in.HistoryGiven {
			compatProblems = append(compatProblems, problem.Problem{
				Rule: RuleHistoryUnavailable, Severity: RuleHistoryUnavailable.Severity, Phase: PhaseCompatibility,
				Message: "no --history given: name-reuse and TRANSITIVE checks were skipped",
			})
		}
		r.phase(PhaseCompatibility, compatProblems, true)
	} else {
		r.phase(PhaseCompatibility, nil, false)
	}
	return r.finish(base, head, datastores), nil
}

// usableBase returns a *BaseError when the base cannot be checked against at all.
func usableBase(b *load.Result) error {
	if b == nil {
		return nil
	}
	for _, p := range b.Problems {
		if p.Rule.ID == ruleYAMLSyntax {
			where := ""
			if !p.Pos.IsZero() {
				where = p.Pos.String() + ": "
			}
			return &BaseError{Reason: where + p.Message}
		}
	}
	if b.Model.GetEcosystem() == nil {
		return &BaseError{Reason: "it has no Ecosystem document"}
	}
	return nil
}

// findings are the problems of baseFindings, or the value it panicked with.
type findings struct {
	problems []problem.Problem
	panicked any
}

// baseFindings lints the base leniently: its errors become one DS-GATE-002, its unknown fields
// one DS-GATE-003.
func baseFindings(b *load.Result, platforms []lint.PlatformRules) []problem.Problem {
	var out []problem.Problem
	n := 0
	for _, p := range b.Problems {
		if p.Severity == problem.Error && p.Rule.ID != ruleFieldUnknown {
			n++
		}
	}
	// Only the number of errors is reported, so lint runs without a source map: positions
	// would cost a lookup per problem and are never shown.
	for _, p := range lint.Run(b.Model, nil, lint.Options{Platforms: platforms}) {
		if p.Severity == problem.Error {
			n++
		}
	}
	if n > 0 {
		out = append(out, problem.Problem{
			Rule: RuleBaseModelInvalid, Severity: RuleBaseModelInvalid.Severity, Phase: PhaseGate,
			Message: fmt.Sprintf("the base model has %d lint errors under this version of datasurface; they do not fail this change", n),
		})
	}
	fields := slices.Clone(b.UnknownFields)
	for _, p := range b.Problems {
		if p.Rule.ID == ruleFieldUnknown && len(b.UnknownFields) == 0 {
			fields = append(fields, p.Message)
		}
	}
	if len(fields) > 0 {
		slices.Sort(fields)
		out = append(out, problem.Problem{
			Rule: RuleBaseUnknownFields, Severity: RuleBaseUnknownFields.Severity, Phase: PhaseGate,
			Message: "the base model uses fields this version does not know: " + strings.Join(slices.Compact(fields), ", "),
		})
	}
	return out
}

// phase records a phase that ran (run) or was skipped because it does not apply, and reports
// whether the next phase may run (no ERROR).
func (r *Report) phase(name string, ps []problem.Problem, run bool) bool {
	if !run {
		r.Phases = append(r.Phases, Phase{Name: name, Status: Skipped})
		return true
	}
	r.addAll(ps)
	st := Passed
	if problem.HasAtLeast(ps, problem.Error) {
		st = Failed
	}
	r.Phases = append(r.Phases, Phase{Name: name, Status: st})
	return st == Passed
}

func (r *Report) add(p problem.Problem)       { r.Problems = append(r.Problems, p) }
func (r *Report) addAll(ps []problem.Problem) { r.Problems = append(r.Problems, ps...) }

// finish marks the phases that did not run, sorts the problems, decides the result and
// computes the change set when every phase passed. datastores are the datastores of base and
// head as the compatibility phase paired them (nil: not paired yet).
func (r *Report) finish(base, head *modelv1.Model, datastores *equal.Pairs[*modelv1.Datastore]) *Report {
	for _, name := range []string{PhaseLint, PhaseSource, PhaseAuthorization, PhaseCompatibility} {
		if !slices.ContainsFunc(r.Phases, func(p Phase) bool { return p.Name == name }) {
			r.Phases = append(r.Phases, Phase{Name: name, Status: Skipped})
		}
	}
	problem.Sort(r.Problems)
	r.Passed = !problem.HasAtLeast(r.Problems, r.FailOn)
	if r.AllPhasesPassed() {
		if base == nil {
			base = &modelv1.Model{}
		}
		r.Changes = changes.DiffPaired(base, head, datastores)
		if r.Changes == nil {
			r.Changes = []*modelv1.Change{}
		}
	}
	return r
}

func srcOf(r *load.Result) *srcmap.Map {
	if r == nil {
		return nil
	}
	return r.Source
}

// modeName renders a compatibility mode without its enum prefix.
func modeName(m modelv1.CompatibilityMode) string {
	return strings.TrimPrefix(m.String(), "COMPATIBILITY_MODE_")
}
