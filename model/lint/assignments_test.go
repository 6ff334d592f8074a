package lint

import (
	"testing"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

func TestAssignmentRules(t *testing.T) {
	const a = "assignment[W.G]"
	assign := func(m *modelv1.Model, w, g string, platforms ...string) {
		da := &modelv1.DatasetGroupAssignment{Workspace: w, DatasetGroup: g}
		for _, p := range platforms {
			da.Platforms = append(da.Platforms, &modelv1.PlatformAssignment{Platform: p})
		}
		m.Assignments = append(m.Assignments, da)
	}
	override := func(m *modelv1.Model, s, d string) {
		obYellow(m).StreamOverrides = append(obYellow(m).StreamOverrides, &modelv1.StreamOverride{Datastore: s, Dataset: d})
	}
	obRun(t, []obCase{
		{
			name: "098 unknown workspace, dataset group and platform",
			mutate: func(m *modelv1.Model) {
				assign(m, "Ghost", "G", "Y")
				assign(m, "W", "H", "Y")
				m.Assignments[0].Platforms = append(m.Assignments[0].Platforms, &modelv1.PlatformAssignment{Platform: "Nope"})
			},
			keys: []string{"assignment[Ghost.G]#workspace", "assignment[W.H]#datasetGroup", a + "/platform[Nope]#platform"},
			want: []obProblem{
				obE(RuleAssignmentUnknown, "assignment[Ghost.G]", "assignment[Ghost.G]#workspace", "assignment names unknown workspace 'Ghost'"),
				obE(RuleAssignmentUnknown, "assignment[W.H]", "assignment[W.H]#datasetGroup", "assignment names unknown dataset group 'W.H'"),
				obE(RuleAssignmentUnknown, a+"/platform[Nope]", a+"/platform[Nope]#platform", "assignment names unknown platform 'Nope'"),
			},
		},
		{
			name: "099 assigned without platformRequirements",
			mutate: func(m *modelv1.Model) {
				obFindWS(m, "W").DatasetGroups[0].PlatformRequirements = nil
				m.Assignments[0].Platforms = append(m.Assignments[0].Platforms, &modelv1.PlatformAssignment{Platform: "Y2"})
			},
			want: []obProblem{
				obE(RuleAssignmentRequirementsMiss, a+"/platform[Y2]", a+"/platform[Y2]", "dataset group 'W.G' is assigned to 'Y2' but has no platformRequirements"),
				obE(RuleAssignmentUnknown, a+"/platform[Y2]", a+"/platform[Y2]", "assignment names unknown platform 'Y2'"),
				obE(RuleAssignmentRequirementsMiss, a+"/platform[Y]", a+"/platform[Y]", "dataset group 'W.G' is assigned to 'Y' but has no platformRequirements"),
			},
		},
		{
			name: "090 transformer workspace assigned",
			mutate: func(m *modelv1.Model) {
				obTransformer(m, "X", "O", map[string]string{"A": "SELECT 1"}, obDataset("A", obCol("id", obT("Integer"), false, obIP)))
				assign(m, "X", "in", "Y")
			},
			want: []obProblem{obE(RuleTransformerWorkspaceAssign, "assignment[X.in]", "assignment[X.in]",
				"'X' has a transformer, so dataset group 'in' must not be assigned to a platform")},
		},
		{
			name: "100 primary ingestion names",
			mutate: func(m *modelv1.Model) {
				m.PrimaryIngestions = []*modelv1.PrimaryIngestion{
					{Datastore: "S", Platforms: []string{"Y", "Nope"}},
					{Datastore: "Ghost", Platforms: []string{"Y"}},
				}
			},
			keys: []string{"primary[Ghost]#datastore", "primary[S]#platforms[Nope]"},
			want: []obProblem{
				obE(RulePrimaryIngestionUnknown, "primary[Ghost]", "primary[Ghost]#datastore", "primaryIngestion names unknown datastore 'Ghost'"),
				obE(RulePrimaryIngestionUnknown, "primary[S]", "primary[S]#platforms[Nope]", "primaryIngestion names unknown platform 'Nope'"),
			},
		},
		{
			name: "101 stream overrides",
			mutate: func(m *modelv1.Model) {
				single := obStore("S1", obDataset("D", obCol("id", obT("Integer"), false, obIP)))
				obSnapshot(single).Consistency = modelv1.Consistency_CONSISTENCY_SINGLE_DATASET
				m.Datastores = append(m.Datastores, single)
				override(m, "S", "")     // fine: MULTI_DATASET stream
				override(m, "S", "D")    // dataset not allowed
				override(m, "S1", "D")   // fine
				override(m, "S1", "")    // dataset required
				override(m, "S1", "E")   // unknown dataset
				override(m, "Ghost", "") // unknown datastore
			},
			keys: []string{"psp[P]/platform[Y]#yellow.streamOverrides[S.D]", "psp[P]/platform[Y]#yellow.streamOverrides[S1]",
				"psp[P]/platform[Y]#yellow.streamOverrides[S1.E]", "psp[P]/platform[Y]#yellow.streamOverrides[Ghost]"},
			want: []obProblem{
				obE(RuleStreamOverrideInvalid, "psp[P]/platform[Y]", "psp[P]/platform[Y]#yellow.streamOverrides[Ghost]", "stream override for 'Ghost': unknown datastore"),
				obE(RuleStreamOverrideInvalid, "psp[P]/platform[Y]", "psp[P]/platform[Y]#yellow.streamOverrides[S.D]", "stream override for 'S': dataset not allowed for MULTI_DATASET"),
				obE(RuleStreamOverrideInvalid, "psp[P]/platform[Y]", "psp[P]/platform[Y]#yellow.streamOverrides[S1.E]", "stream override for 'S1': unknown dataset 'E'"),
				obE(RuleStreamOverrideInvalid, "psp[P]/platform[Y]", "psp[P]/platform[Y]#yellow.streamOverrides[S1]", "stream override for 'S1': dataset required for SINGLE_DATASET"),
			},
		},
	})
}
