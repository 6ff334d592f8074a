package lint

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/datasurface/datasurface/model/index"
	"github.com/datasurface/datasurface/model/problem"
	"github.com/datasurface/datasurface/model/srcmap"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// Test helpers of the intention-graph rules; every helper starts with "gr".

// grProblem is the comparable view of a problem; Pos is the source-map key the position was
// recorded under (grSrc records each key with File = the key).
type grProblem struct {
	ID   string
	Sev  string
	Msg  string
	Path string
	Pos  string
}

func grSrc(keys ...string) *srcmap.Map {
	src := srcmap.New(problem.Head)
	for _, k := range keys {
		src.Set(k, k, 1, 1)
	}
	return src
}

// grLint runs checkGraph on m with the given source-map keys.
func grLint(m *modelv1.Model, keys ...string) []grProblem {
	c := NewContext(m, grSrc(keys...))
	checkGraph(c)
	var out []grProblem
	for _, p := range c.Problems() {
		out = append(out, grProblem{ID: p.Rule.ID, Sev: p.Severity.String(), Msg: p.Message, Path: p.Path, Pos: p.Pos.File})
	}
	return out
}

func grStore(name, zone string, ds ...string) *modelv1.Datastore {
	s := &modelv1.Datastore{
		Name: name, Zone: zone, Team: "T",
		Capture: &modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_SqlSnapshot{
			SqlSnapshot: &modelv1.SqlSnapshotCapture{Consistency: modelv1.Consistency_CONSISTENCY_MULTI_DATASET},
		}},
	}
	for _, d := range ds {
		s.Datasets = append(s.Datasets, &modelv1.Dataset{Name: d})
	}
	return s
}

func grOutput(name, w string, ds ...string) *modelv1.Datastore {
	s := grStore(name, "Z", ds...)
	s.Capture = &modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_TransformerOutput{
		TransformerOutput: &modelv1.TransformerOutputCapture{Workspace: w},
	}}
	return s
}

// grWorkspace has one dataset group "g" with sinks {store, dataset} pairs.
func grWorkspace(name string, sinks ...[2]string) *modelv1.Workspace {
	g := &modelv1.DatasetGroup{Name: "g"}
	for _, s := range sinks {
		g.Sinks = append(g.Sinks, &modelv1.DatasetSink{Datastore: s[0], Dataset: s[1]})
	}
	return &modelv1.Workspace{Name: name, Zone: "Z", Team: "T", DatasetGroups: []*modelv1.DatasetGroup{g}}
}

func grTransformer(w *modelv1.Workspace, out string) *modelv1.Workspace {
	w.Transformer = &modelv1.DataTransformer{Name: w.GetName() + "_tx", OutputDatastore: out}
	return w
}

func grSecured() *modelv1.Credential {
	return &modelv1.Credential{Name: "SEC", Type: modelv1.CredentialType_CREDENTIAL_TYPE_USER_PASSWORD}
}

// grPSP holds Yellow platforms with a securityCredential, so DS-LINT-102 stays quiet unless a
// case removes it.
func grPSP(names ...string) *modelv1.PlatformServicesProvider {
	p := &modelv1.PlatformServicesProvider{Name: "Core"}
	for _, n := range names {
		p.Platforms = append(p.Platforms, &modelv1.DataPlatform{Name: n, Kind: &modelv1.DataPlatform_Yellow{
			Yellow: &modelv1.YellowPlatform{SecurityCredential: grSecured()},
		}})
	}
	return p
}

func grAssign(w string, platforms ...string) *modelv1.DatasetGroupAssignment {
	a := &modelv1.DatasetGroupAssignment{Workspace: w, DatasetGroup: "g"}
	for _, p := range platforms {
		a.Platforms = append(a.Platforms, &modelv1.PlatformAssignment{Platform: p, Status: modelv1.AssignmentStatus_ASSIGNMENT_STATUS_PROVISIONED})
	}
	return a
}

func TestGraphCycle(t *testing.T) {
	tests := []struct {
		name  string
		model *modelv1.Model
		keys  []string
		want  []grProblem
	}{
		{
			name: "no cycle",
			model: &modelv1.Model{
				Datastores: []*modelv1.Datastore{grStore("S", "Z", "a"), grOutput("O", "T1", "o")},
				Workspaces: []*modelv1.Workspace{
					grTransformer(grWorkspace("T1", [2]string{"S", "a"}), "O"),
					grWorkspace("W", [2]string{"O", "o"}),
				},
			},
		},
		{
			name: "a transformer reads its own output",
			model: &modelv1.Model{
				Datastores: []*modelv1.Datastore{grStore("S", "Z", "a"), grOutput("O", "Loop", "o")},
				Workspaces: []*modelv1.Workspace{grTransformer(grWorkspace("Loop", [2]string{"S", "a"}, [2]string{"O", "o"}), "O")},
			},
			keys: []string{"workspace[Loop]", "workspace[Loop]/dsg[g]/sink[O.o]"},
			want: []grProblem{{
				ID: "DS-LINT-097", Sev: "ERROR", Path: "workspace[Loop]", Pos: "workspace[Loop]/dsg[g]/sink[O.o]",
				Msg: "workspace 'Loop' consumes its own transformer output through 'Loop' → 'Loop'",
			}},
		},
		{
			name: "two transformers feed each other",
			model: &modelv1.Model{
				Datastores: []*modelv1.Datastore{grOutput("OA", "A", "a"), grOutput("OB", "B", "b")},
				Workspaces: []*modelv1.Workspace{
					grTransformer(grWorkspace("A", [2]string{"OB", "b"}), "OA"),
					grTransformer(grWorkspace("B", [2]string{"OA", "a"}), "OB"),
				},
			},
			keys: []string{"workspace[A]", "workspace[B]", "workspace[A]/dsg[g]/sink[OB.b]"},
			want: []grProblem{
				{
					ID: "DS-LINT-097", Sev: "ERROR", Path: "workspace[A]", Pos: "workspace[A]/dsg[g]/sink[OB.b]",
					Msg: "workspace 'A' consumes its own transformer output through 'A' → 'B' → 'A'",
				},
				{
					// no node for B's sink: the position falls back to the workspace
					ID: "DS-LINT-097", Sev: "ERROR", Path: "workspace[B]", Pos: "workspace[B]",
					Msg: "workspace 'B' consumes its own transformer output through 'B' → 'A' → 'B'",
				},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, grLint(tc.model, tc.keys...)); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}

func TestGraphPlatformPolicy(t *testing.T) {
	// S is read by W on Live and Forensic, and copied by Live when Forensic is its primary.
	base := func(policies ...*modelv1.AllowDenyPolicy) *modelv1.Model {
		return &modelv1.Model{
			Zones:      []*modelv1.GovernanceZone{{Name: "Z", PlatformPolicies: policies}},
			Datastores: []*modelv1.Datastore{grStore("S", "Z", "a", "b"), grStore("Free", "Other", "a")},
			Workspaces: []*modelv1.Workspace{grWorkspace("W", [2]string{"S", "a"}, [2]string{"S", "b"}, [2]string{"Free", "a"})},
			Psps:       []*modelv1.PlatformServicesProvider{grPSP("Forensic", "Live", "Idle")},
			Assignments: []*modelv1.DatasetGroupAssignment{
				grAssign("W", "Forensic", "Live"),
			},
		}
	}
	keys := []string{"datastore[S]", "datastore[Free]"}
	tests := []struct {
		name  string
		model *modelv1.Model
		want  []grProblem
	}{
		{name: "no policy", model: base()},
		{
			name:  "allowed list",
			model: base(&modelv1.AllowDenyPolicy{Name: "ForensicOnly", Allowed: []string{"Forensic"}}),
			want: []grProblem{{
				ID: "DS-LINT-035", Sev: "ERROR", Path: "datastore[S]", Pos: "datastore[S]",
				Msg: "platform 'Live' may not ingest datastore 'S': not allowed by platform policy 'ForensicOnly' of zone 'Z'",
			}},
		},
		{
			name: "not-allowed list and a second policy",
			model: base(
				&modelv1.AllowDenyPolicy{Name: "NoForensic", NotAllowed: []string{"Forensic"}},
				&modelv1.AllowDenyPolicy{Name: "NoLive", NotAllowed: []string{"Live", "Idle"}},
			),
			want: []grProblem{
				{
					ID: "DS-LINT-035", Sev: "ERROR", Path: "datastore[S]", Pos: "datastore[S]",
					Msg: "platform 'Forensic' may not ingest datastore 'S': not allowed by platform policy 'NoForensic' of zone 'Z'",
				},
				{
					ID: "DS-LINT-035", Sev: "ERROR", Path: "datastore[S]", Pos: "datastore[S]",
					Msg: "platform 'Live' may not ingest datastore 'S': not allowed by platform policy 'NoLive' of zone 'Z'",
				},
			},
		},
		{
			name: "a copying (remote) platform ingests too",
			model: func() *modelv1.Model {
				m := base(&modelv1.AllowDenyPolicy{Name: "ForensicOnly", Allowed: []string{"Forensic"}})
				m.PrimaryIngestions = []*modelv1.PrimaryIngestion{{Datastore: "S", Platforms: []string{"Forensic"}}}
				return m
			}(),
			want: []grProblem{{
				ID: "DS-LINT-035", Sev: "ERROR", Path: "datastore[S]", Pos: "datastore[S]",
				Msg: "platform 'Live' may not ingest datastore 'S': not allowed by platform policy 'ForensicOnly' of zone 'Z'",
			}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, grLint(tc.model, keys...)); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}

func TestGraphPlatformUnmanagedAccess(t *testing.T) {
	psp := grPSP("Managed", "Open", "OpenNoNode")
	psp.Platforms[1].GetYellow().SecurityCredential = nil
	psp.Platforms[2].GetYellow().SecurityCredential = nil
	psp.Platforms = append(psp.Platforms, &modelv1.DataPlatform{Name: "Old", Kind: &modelv1.DataPlatform_Legacy{Legacy: &modelv1.LegacyPlatform{}}})
	m := &modelv1.Model{Psps: []*modelv1.PlatformServicesProvider{psp}}
	got := grLint(m, index.PlatformPath("Core", "Open")+"#yellow", index.PlatformPath("Core", "OpenNoNode"))
	want := []grProblem{
		// sorted by position; the second has no node for its yellow mapping
		{
			ID: "DS-LINT-102", Sev: "WARNING", Path: "psp[Core]/platform[OpenNoNode]", Pos: "psp[Core]/platform[OpenNoNode]",
			Msg: "platform 'OpenNoNode' has no securityCredential: workspace access is not managed",
		},
		{
			ID: "DS-LINT-102", Sev: "WARNING", Path: "psp[Core]/platform[Open]", Pos: "psp[Core]/platform[Open]#yellow",
			Msg: "platform 'Open' has no securityCredential: workspace access is not managed",
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
}
