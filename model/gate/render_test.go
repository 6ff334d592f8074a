package gate

import (
	"bytes"
	"testing"

	"github.com/datasurface/datasurface/model/problem"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
)

// craftedReport has one problem of every kind of location and messages that need escaping.
func craftedReport() *Report {
	lintRule := problem.Rule{ID: "DS-LINT-045", Name: "pk-column-nullable", Severity: problem.Error}
	return &Report{
		ToolVersion: "1.4.0",
		FailOn:      problem.Error,
		Source:      "acme/model@team-sales",
		Base:        &ModelInfo{Ref: "origin/main", Digest: "sha256:3f", Version: 7},
		Head:        ModelInfo{Ref: ".", Digest: "sha256:9a"},
		Mode:        "BACKWARD",
		Phases: []Phase{
			{Name: PhaseLint, Status: Failed}, {Name: PhaseSource, Status: Skipped},
			{Name: PhaseAuthorization, Status: Skipped}, {Name: PhaseCompatibility, Status: Skipped},
		},
		Problems: []problem.Problem{
			{Rule: RuleHistoryUnavailable, Severity: problem.Info, Phase: PhaseCompatibility,
				Message: "100% sure: a|b\nsecond line\r"},
			{Rule: lintRule, Severity: problem.Error, Phase: PhaseLint,
				Message: "primary key column 'id' of dataset 'customers' must be nullable: false",
				Path:    "datastore[SalesDB]/dataset[customers]/column[id]",
				Pos:     problem.Position{Side: problem.Head, File: "teams/sales,db:1.yaml", Line: 21, Column: 11}},
			{Rule: RuleBaseModelInvalid, Severity: problem.Warning, Phase: PhaseGate,
				Message: "removed", Path: "datastore[Old]",
				Pos: problem.Position{Side: problem.Base, File: "teams/old/store.yaml", Line: 4, Column: 3}},
		},
	}
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := WriteText(&b, craftedReport()); err != nil {
		t.Fatal(err)
	}
	want := "INFO DS-GATE-004 history-unavailable: 100% sure: a|b\nsecond line\r\n" +
		"teams/sales,db:1.yaml:21:11: ERROR DS-LINT-045 pk-column-nullable: primary key column 'id' of dataset 'customers' must be nullable: false\n" +
		"base:teams/old/store.yaml:4:3: WARNING DS-GATE-002 base-model-invalid: removed\n" +
		"validate: FAIL — 1 error, 1 warning, 1 info (base sha256:3f, head sha256:9a, source acme/model@team-sales)\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}
}

func TestWriteGitHub(t *testing.T) {
	var b bytes.Buffer
	if err := WriteGitHub(&b, craftedReport()); err != nil {
		t.Fatal(err)
	}
	want := "::notice title=DS-GATE-004 history-unavailable::100%25 sure: a|b%0Asecond line%0D\n" +
		"::error file=teams/sales%2Cdb%3A1.yaml,line=21,col=11,title=DS-LINT-045 pk-column-nullable::primary key column 'id' of dataset 'customers' must be nullable: false\n" +
		"::warning title=DS-GATE-002 base-model-invalid::base:teams/old/store.yaml:4:3: removed\n" +
		"validate: FAIL — 1 error, 1 warning, 1 info (base sha256:3f, head sha256:9a, source acme/model@team-sales)\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("github (-want +got):\n%s", diff)
	}
}

func TestWriteStepSummary(t *testing.T) {
	var b bytes.Buffer
	if err := WriteStepSummary(&b, craftedReport()); err != nil {
		t.Fatal(err)
	}
	want := "### datasurface validate: FAIL\n\n" +
		"validate: FAIL — 1 error, 1 warning, 1 info (base sha256:3f, head sha256:9a, source acme/model@team-sales)\n\n" +
		"| Severity | Rule | Location | Message |\n|---|---|---|---|\n" +
		"| INFO | DS-GATE-004 history-unavailable |  | 100% sure: a\\|b second line  |\n" +
		"| ERROR | DS-LINT-045 pk-column-nullable | `teams/sales,db:1.yaml:21:11` | primary key column 'id' of dataset 'customers' must be nullable: false |\n" +
		"| WARNING | DS-GATE-002 base-model-invalid | `base:teams/old/store.yaml:4:3` | removed |\n\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("step summary (-want +got):\n%s", diff)
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, craftedReport()); err != nil {
		t.Fatal(err)
	}
	want := `{
  "schemaVersion": 1,
  "tool": {
    "name": "datasurface",
    "version": "1.4.0"
  },
  "result": "fail",
  "source": "acme/model@team-sales",
  "base": {
    "ref": "origin/main",
    "digest": "sha256:3f",
    "modelVersion": 7
  },
  "head": {
    "ref": ".",
    "digest": "sha256:9a"
  },
  "mode": "BACKWARD",
  "phases": [
    {
      "name": "lint",
      "status": "failed"
    },
    {
      "name": "source",
      "status": "skipped"
    },
    {
      "name": "authorization",
      "status": "skipped"
    },
    {
      "name": "compatibility",
      "status": "skipped"
    }
  ],
  "counts": {
    "error": 1,
    "warning": 1,
    "info": 1
  },
  "problems": [
    {
      "ruleId": "DS-GATE-004",
      "name": "history-unavailable",
      "severity": "INFO",
      "phase": "compatibility",
      "message": "100% sure: a|b\nsecond line\r"
    },
    {
      "ruleId": "DS-LINT-045",
      "name": "pk-column-nullable",
      "severity": "ERROR",
      "phase": "lint",
      "message": "primary key column 'id' of dataset 'customers' must be nullable: false",
      "objectPath": "datastore[SalesDB]/dataset[customers]/column[id]",
      "location": {
        "model": "head",
        "file": "teams/sales,db:1.yaml",
        "line": 21,
        "column": 11
      }
    },
    {
      "ruleId": "DS-GATE-002",
      "name": "base-model-invalid",
      "severity": "WARNING",
      "phase": "gate",
      "message": "removed",
      "objectPath": "datastore[Old]",
      "location": {
        "model": "base",
        "file": "teams/old/store.yaml",
        "line": 4,
        "column": 3
      }
    }
  ]
}
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("json (-want +got):\n%s", diff)
	}
}

func TestCountsText(t *testing.T) {
	mk := func(sevs ...problem.Severity) []problem.Problem {
		var ps []problem.Problem
		for _, s := range sevs {
			ps = append(ps, problem.Problem{Severity: s})
		}
		return ps
	}
	tests := []struct {
		name string
		ps   []problem.Problem
		want string
	}{
		{"none", nil, "0 errors, 0 warnings, 0 info"},
		{"one each", mk(problem.Error, problem.Warning, problem.Info), "1 error, 1 warning, 1 info"},
		{"several", mk(problem.Error, problem.Error, problem.Warning, problem.Warning, problem.Info, problem.Info), "2 errors, 2 warnings, 2 info"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, CountsText(tt.ps)); diff != "" {
				t.Errorf("CountsText (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReportProto(t *testing.T) {
	r := craftedReport()
	r.Phases = []Phase{{Name: PhaseLint, Status: Passed}, {Name: PhaseSource, Status: Passed},
		{Name: PhaseAuthorization, Status: Passed}, {Name: PhaseCompatibility, Status: Failed}}
	r.Problems = r.Problems[1:]
	r.Changes = []*modelv1.Change{{Kind: modelv1.ChangeKind_CHANGE_KIND_COLUMN_ADDED, Path: "datastore[S]/dataset[D]/column[C]"}}
	want := &modelv1.Report{
		Source:     "acme/model@team-sales",
		BaseDigest: "sha256:3f",
		HeadDigest: "sha256:9a",
		Mode:       "BACKWARD",
		Phases: []*modelv1.Phase{
			{Name: "lint", Status: modelv1.PhaseStatus_PHASE_STATUS_PASSED},
			{Name: "source", Status: modelv1.PhaseStatus_PHASE_STATUS_PASSED},
			{Name: "authorization", Status: modelv1.PhaseStatus_PHASE_STATUS_PASSED},
			{Name: "compatibility", Status: modelv1.PhaseStatus_PHASE_STATUS_FAILED},
		},
		Problems: []*modelv1.Problem{
			{RuleId: "DS-LINT-045", Name: "pk-column-nullable", Severity: modelv1.Severity_SEVERITY_ERROR, Phase: "lint",
				Message:    "primary key column 'id' of dataset 'customers' must be nullable: false",
				ObjectPath: "datastore[SalesDB]/dataset[customers]/column[id]",
				Location:   &modelv1.Position{Model: modelv1.Side_SIDE_HEAD, File: "teams/sales,db:1.yaml", Line: 21, Column: 11}},
			{RuleId: "DS-GATE-002", Name: "base-model-invalid", Severity: modelv1.Severity_SEVERITY_WARNING, Phase: "gate",
				Message: "removed", ObjectPath: "datastore[Old]",
				Location: &modelv1.Position{Model: modelv1.Side_SIDE_BASE, File: "teams/old/store.yaml", Line: 4, Column: 3}},
		},
		Changes: r.Changes,
	}
	if diff := cmp.Diff(want, r.Proto(), protocmp.Transform()); diff != "" {
		t.Errorf("Proto (-want +got):\n%s", diff)
	}
}
