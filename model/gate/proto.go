package gate

import (
	"github.com/datasurface/datasurface/model/problem"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// Proto converts the report to its wire form (datasurface.model.v1.Report).
func (r *Report) Proto() *modelv1.Report {
	out := &modelv1.Report{
		Passed:     r.Passed,
		Source:     r.Source,
		HeadDigest: r.Head.Digest,
		Mode:       r.Mode,
		Changes:    r.Changes,
	}
	if r.Base != nil {
		out.BaseDigest = r.Base.Digest
	}
	for _, p := range r.Phases {
		out.Phases = append(out.Phases, &modelv1.Phase{Name: p.Name, Status: phaseStatusProto(p.Status)})
	}
	for _, p := range r.Problems {
		out.Problems = append(out.Problems, ProblemProto(p))
	}
	return out
}

// ProblemProto converts one problem to its wire form; the location is absent for a problem
// without a node.
func ProblemProto(p problem.Problem) *modelv1.Problem {
	out := &modelv1.Problem{
		RuleId:     p.Rule.ID,
		Name:       p.Rule.Name,
		Severity:   severityProto(p.Severity),
		Phase:      p.Phase,
		Message:    p.Message,
		ObjectPath: p.Path,
	}
	if !p.Pos.IsZero() {
		side := modelv1.Side_SIDE_HEAD
		if p.Pos.Side == problem.Base {
			side = modelv1.Side_SIDE_BASE
		}
		out.Location = &modelv1.Position{Model: side, File: p.Pos.File, Line: int32(p.Pos.Line), Column: int32(p.Pos.Column)}
	}
	return out
}

func severityProto(s problem.Severity) modelv1.Severity {
	switch s {
	case problem.Error:
		return modelv1.Severity_SEVERITY_ERROR
	case problem.Warning:
		return modelv1.Severity_SEVERITY_WARNING
	case problem.Info:
		return modelv1.Severity_SEVERITY_INFO
	}
	return modelv1.Severity_SEVERITY_UNSPECIFIED
}

func phaseStatusProto(s PhaseStatus) modelv1.PhaseStatus {
	switch s {
	case Passed:
		return modelv1.PhaseStatus_PHASE_STATUS_PASSED
	case Failed:
		return modelv1.PhaseStatus_PHASE_STATUS_FAILED
	}
	return modelv1.PhaseStatus_PHASE_STATUS_SKIPPED
}
