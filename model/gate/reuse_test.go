package gate_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/datasurface/datasurface/model/gate"
	"github.com/datasurface/datasurface/model/lint"
	"github.com/datasurface/datasurface/model/load"
	"github.com/datasurface/datasurface/model/problem"
)

// A head that reuses the base's unchanged files (load.Options.Reuse) shares their objects with
// the base; the gate's report must be exactly the report of a head loaded on its own.
func TestRunWithReuse(t *testing.T) {
	tests := []struct {
		name       string
		base, head []edit
		source     string
	}{
		{name: "no change", source: analyticsRepo},
		{name: "compatible change", head: []edit{addNullableColumn}, source: salesRepo},
		{name: "breaking change", head: []edit{removeColumn}, source: salesRepo},
		{name: "unauthorized change", head: []edit{removeColumn}, source: analyticsRepo},
		{name: "ecosystem change by a team", head: []edit{ecoDoc}, source: salesRepo},
		{name: "ecosystem change by its owner", head: []edit{ecoDoc}, source: ecoRepo},
		{name: "warning", head: []edit{singleDataset}, source: salesRepo},
		{name: "lint error", head: []edit{unknownField}, source: salesRepo},
		{name: "YAML error", head: []edit{yamlError}, source: salesRepo},
		{name: "base with lint errors", base: []edit{badEnum},
			head: []edit{replace("teams/sales/salesdb.yaml", "productionStatus: LIVE", "productionStatus: PRODUCTION")}, source: salesRepo},
		{name: "base with unknown fields", base: []edit{unknownField},
			head: []edit{replace("teams/sales/salesdb.yaml", "  owner: sales\n", "")}, source: salesRepo},
		{name: "base with unknown fields kept in the head", base: []edit{unknownField}, source: salesRepo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			baseTree := apply(t, readTree(t, "base"), tt.base...)
			headTree := apply(t, baseTree, tt.head...)
			base := loadTree(t, baseTree, load.Options{Side: problem.Base, Lenient: true})
			run := func(head *load.Result) string {
				rep, err := gate.Run(t.Context(), gate.Input{Base: base, Head: head, Source: tt.source, ToolVersion: "0.0.0-test"})
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				var b bytes.Buffer
				if err := gate.WriteJSON(&b, rep); err != nil {
					t.Fatal(err)
				}
				return b.String()
			}
			fresh := run(loadTree(t, headTree, load.Options{Side: problem.Head}))
			reused := run(loadTree(t, headTree, load.Options{Side: problem.Head, Reuse: base}))
			if diff := cmp.Diff(fresh, reused); diff != "" {
				t.Errorf("report (-fresh head +head reusing the base):\n%s", diff)
			}
		})
	}
}

// panicky is platform rules that panic on a model whose ecosystem documentation says so.
type panicky struct{}

func (panicky) Rules() []problem.Rule { return nil }

func (panicky) Check(c *lint.Context) {
	if strings.Contains(c.Model.GetEcosystem().GetDocumentation().GetDescription(), "PANIC") {
		panic("panicky platform rules")
	}
}

// The base is linted on a goroutine of its own; a panic there reaches the caller of Run, where
// the validator service recovers it, instead of crashing the process.
func TestRunBaseLintPanic(t *testing.T) {
	files := readTree(t, "base")
	if !strings.Contains(files["ecosystem.yaml"], "documentation: Acme's data ecosystem") {
		t.Fatal("fixture: the ecosystem documentation changed")
	}
	baseTree := apply(t, files, replace("ecosystem.yaml", "documentation: Acme's data ecosystem", "documentation: PANIC"))
	in := gate.Input{
		Base:      loadTree(t, baseTree, load.Options{Side: problem.Base, Lenient: true}),
		Head:      loadTree(t, files, load.Options{Side: problem.Head}),
		Source:    ecoRepo,
		Platforms: []lint.PlatformRules{panicky{}},
	}
	defer func() {
		if r := recover(); r != "panicky platform rules" {
			t.Errorf("recovered %v, want the platform rules' panic", r)
		}
	}()
	_, _ = gate.Run(t.Context(), in)
	t.Error("Run returned")
}
