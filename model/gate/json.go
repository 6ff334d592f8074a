package gate

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/datasurface/datasurface/model/problem"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// SchemaVersion is the version of the JSON report format (spec/governance.md §3.4).
const SchemaVersion = 1

//go:embed report.schema.json
var reportSchema []byte

// ReportSchema returns the JSON Schema (draft 2020-12) of the JSON report.
func ReportSchema() []byte { return append([]byte(nil), reportSchema...) }

// The JSON report, field order as in spec/governance.md §3.4.
type jsonReport struct {
	SchemaVersion int           `json:"schemaVersion"`
	Tool          jsonTool      `json:"tool"`
	Result        string        `json:"result"`
	Source        string        `json:"source"`
	Base          *jsonBase     `json:"base"`
	Head          jsonHead      `json:"head"`
	Mode          string        `json:"mode"`
	Phases        []jsonPhase   `json:"phases"`
	Counts        jsonCounts    `json:"counts"`
	Problems      []jsonProblem `json:"problems"`
	// Changes is a pointer so that "every phase passed, no changes" ([]) differs from absent.
	Changes *[]jsonChange `json:"changes,omitempty"`
}

type jsonTool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type jsonBase struct {
	Ref          string `json:"ref"`
	Digest       string `json:"digest"`
	ModelVersion *int64 `json:"modelVersion"`
}

type jsonHead struct {
	Ref    string `json:"ref"`
	Digest string `json:"digest"`
}

type jsonPhase struct {
	Name   string `json:"name"`
	Status string `json:"status"`
}

type jsonCounts struct {
	Error   int `json:"error"`
	Warning int `json:"warning"`
	Info    int `json:"info"`
}

type jsonProblem struct {
	RuleID     string        `json:"ruleId"`
	Name       string        `json:"name"`
	Severity   string        `json:"severity"`
	Phase      string        `json:"phase"`
	Message    string        `json:"message"`
	ObjectPath string        `json:"objectPath,omitempty"`
	Location   *jsonLocation `json:"location,omitempty"`
}

type jsonLocation struct {
	Model  string `json:"model"`
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
}

type jsonChange struct {
	Kind   string `json:"kind"`
	Path   string `json:"path"`
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
}

// WriteJSON writes the report in the JSON format of spec/governance.md §3.4 (schema version 1),
// indented by two spaces. `changes` is present only when every phase passed.
func WriteJSON(w io.Writer, r *Report) error {
	e, wn, i := r.Counts()
	out := jsonReport{
		SchemaVersion: SchemaVersion,
		Tool:          jsonTool{Name: "datasurface", Version: r.ToolVersion},
		Result:        "fail",
		Source:        r.Source,
		Head:          jsonHead{Ref: r.Head.Ref, Digest: r.Head.Digest},
		Mode:          r.Mode,
		Counts:        jsonCounts{Error: e, Warning: wn, Info: i},
		Phases:        []jsonPhase{},
		Problems:      []jsonProblem{},
	}
	if r.Passed {
		out.Result = "pass"
	}
	if r.Base != nil {
		out.Base = &jsonBase{Ref: r.Base.Ref, Digest: r.Base.Digest}
		if r.Base.Version != 0 {
			v := r.Base.Version
			out.Base.ModelVersion = &v
		}
	}
	for _, p := range r.Phases {
		out.Phases = append(out.Phases, jsonPhase{Name: p.Name, Status: p.Status.String()})
	}
	for _, p := range r.Problems {
		jp := jsonProblem{
			RuleID: p.Rule.ID, Name: p.Rule.Name, Severity: p.Severity.String(), Phase: p.Phase,
			Message: p.Message, ObjectPath: p.Path,
		}
		if !p.Pos.IsZero() {
			model := "head"
			if p.Pos.Side == problem.Base {
				model = "base"
			}
			jp.Location = &jsonLocation{Model: model, File: p.Pos.File, Line: p.Pos.Line, Column: p.Pos.Column}
		}
		out.Problems = append(out.Problems, jp)
	}
	if r.AllPhasesPassed() {
		changes := make([]jsonChange, 0, len(r.Changes))
		for _, c := range r.Changes {
			changes = append(changes, jsonChange{
				Kind: ChangeKindName(c.GetKind()), Path: c.GetPath(), Before: c.GetBefore(), After: c.GetAfter(),
			})
		}
		out.Changes = &changes
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	return nil
}

// ChangeKindName renders a change kind without its enum prefix (COLUMN_ADDED).
func ChangeKindName(k modelv1.ChangeKind) string {
	return strings.TrimPrefix(k.String(), "CHANGE_KIND_")
}
