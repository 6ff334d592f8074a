package lint

import (
	"fmt"
	"strings"
	"testing"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

func TestWorkspaceRules(t *testing.T) {
	const (
		w    = "workspace[W]"
		g    = "workspace[W]/dsg[G]"
		sink = "workspace[W]/dsg[G]/sink[S.D]"
	)
	ws := func(m *modelv1.Model) *modelv1.Workspace { return obFindWS(m, "W") }
	dataset := func(m *modelv1.Model) *modelv1.Dataset { return obFindStore(m, "S").Datasets[0] }
	obRun(t, []obCase{
		{
			name:   "080 dataset group without sinks",
			mutate: func(m *modelv1.Model) { ws(m).DatasetGroups = append(ws(m).DatasetGroups, obDSG("H")) },
			want:   []obProblem{obE(RuleDSGEmpty, "workspace[W]/dsg[H]", "workspace[W]/dsg[H]", "dataset group 'W.H' has no sinks")},
		},
		{
			name: "081 sink names an unknown dataset; an unknown datastore is DS-LINT-006's",
			mutate: func(m *modelv1.Model) {
				ws(m).DatasetGroups[0].Sinks = append(ws(m).DatasetGroups[0].Sinks, obSink("S", "Nope"), obSink("Ghost", "D"))
			},
			keys: []string{"workspace[W]/dsg[G]/sink[S.Nope]#dataset"},
			want: []obProblem{obE(RuleSinkDatasetUnknown, "workspace[W]/dsg[G]/sink[S.Nope]", "workspace[W]/dsg[G]/sink[S.Nope]#dataset",
				"sink 'S.Nope' names an unknown dataset")},
		},
		{
			name: "081 large datastore: dataset lookups through its map",
			mutate: func(m *modelv1.Model) {
				st := obFindStore(m, "S")
				for i := range 20 {
					st.Datasets = append(st.Datasets, obDataset(fmt.Sprintf("E%02d", i), obCol("id", obT("Integer"), false, obIP)))
				}
				ws(m).DatasetGroups[0].Sinks = append(ws(m).DatasetGroups[0].Sinks, obSink("S", "E19"), obSink("S", "E20"))
			},
			want: []obProblem{obE(RuleSinkDatasetUnknown, "workspace[W]/dsg[G]/sink[S.E20]", "workspace[W]/dsg[G]/sink[S.E20]",
				"sink 'S.E20' names an unknown dataset")},
		},
		{
			name: "082 approvals present without this dataset group",
			mutate: func(m *modelv1.Model) {
				obFindStore(m, "S").Approvals = &modelv1.Approvals{}
			},
			want: []obProblem{obE(RuleSinkNotApproved, sink, sink, "datastore 'S' does not approve 'W.G' for dataset 'D'")},
		},
		{
			name: "082 approved triple",
			mutate: func(m *modelv1.Model) {
				obFindStore(m, "S").Approvals = &modelv1.Approvals{Entries: []*modelv1.Approval{{Workspace: "W", DatasetGroup: "G", Dataset: "D"}}}
			},
		},
		{
			name:   "083 PRODUCTION workspace sinks a NOT_PRODUCTION datastore",
			mutate: func(m *modelv1.Model) { ws(m).ProductionStatus = modelv1.ProductionStatus_PRODUCTION_STATUS_PRODUCTION },
			want:   []obProblem{obW(RuleProductionMismatch, sink, sink, "sink 'S.D' connects a NOT_PRODUCTION datastore to a PRODUCTION one")},
		},
		{
			name: "084 deprecated dataset in use",
			mutate: func(m *modelv1.Model) {
				dataset(m).Deprecation = &modelv1.Deprecation{Status: modelv1.DeprecationStatus_DEPRECATION_STATUS_DEPRECATED}
			},
			want: []obProblem{obE(RuleDeprecatedInUse, sink, sink,
				"'W.G' uses deprecated dataset 'S.D'; acknowledge with deprecationsAllowed: ALLOWED or remove the sink")},
		},
		{
			name: "085 deprecated datastore, acknowledged",
			mutate: func(m *modelv1.Model) {
				obFindStore(m, "S").Deprecation = &modelv1.Deprecation{Status: modelv1.DeprecationStatus_DEPRECATION_STATUS_DEPRECATED}
				ws(m).DatasetGroups[0].Sinks[0].DeprecationsAllowed = modelv1.DeprecationsAllowed_DEPRECATIONS_ALLOWED_ALLOWED
			},
			want: []obProblem{obW(RuleDeprecatedAcknowledged, sink, sink, "'W.G' uses deprecated dataset 'S.D'")},
		},
		{
			name: "084 NOT_DEPRECATED is not deprecated",
			mutate: func(m *modelv1.Model) {
				dataset(m).Deprecation = &modelv1.Deprecation{Status: modelv1.DeprecationStatus_DEPRECATION_STATUS_NOT_DEPRECATED}
			},
		},
		{
			name: "086 dataset-level classification not approved",
			mutate: func(m *modelv1.Model) {
				d := dataset(m)
				for _, c := range d.Columns {
					c.Classifications = nil
				}
				d.Classifications = obCls(obPC3, obPC1, obIP)
			},
			want: []obProblem{
				obE(RuleClassificationNotApproved, sink, sink, "workspace 'W' has not approved classification PC1 of dataset 'S.D'"),
				obE(RuleClassificationNotApproved, sink, sink, "workspace 'W' has not approved classification PC3 of dataset 'S.D'"),
			},
		},
		{
			name: "087 masked columns listed once per sink, in column order",
			mutate: func(m *modelv1.Model) {
				d := dataset(m)
				d.Columns = append(d.Columns, obCol("ssn", obT("Char"), true, obPC3), obCol("email", obT("VarChar"), true, obPC1, obPUB))
			},
			want: []obProblem{obI(RuleColumnsMasked, sink, sink, "workspace 'W' group 'G' sees 'S.D' with masked columns 'ssn', 'email'")},
		},
		{
			name: "087 approving the types unmasks",
			mutate: func(m *modelv1.Model) {
				dataset(m).Columns = append(dataset(m).Columns, obCol("email", obT("VarChar"), true, obPC1))
				ws(m).Access.ApprovedClassifications = append(ws(m).Access.ApprovedClassifications, obPC1)
			},
		},
		{
			name: "088 workspace policy and zone policies bound what is seen in clear",
			mutate: func(m *modelv1.Model) {
				ws(m).ClassificationPolicy = &modelv1.AllowDenyPolicy{Name: "own", NotAllowed: []string{"IP"}}
				m.Zones[0].ClassificationPolicies = []*modelv1.AllowDenyPolicy{
					{Name: "PubOnly", Allowed: []string{"PUB"}},
					{Name: "NoPC1", NotAllowed: []string{"PC1"}},
				}
				// PC1 is masked, so it never reaches the workspace and NoPC1 is satisfied.
				dataset(m).Columns = append(dataset(m).Columns, obCol("email", obT("VarChar"), true, obPC1))
			},
			keys: []string{w + "#access.approvedClassifications[IP]"},
			want: []obProblem{
				obE(RuleClassificationPolicy, w, w+"#access.approvedClassifications[IP]",
					"classification IP visible to workspace 'W' is not allowed by policy 'PubOnly' of zone 'Z'"),
				obE(RuleClassificationPolicy, w, w+"#access.approvedClassifications[IP]",
					"classification IP visible to workspace 'W' is not allowed by workspace policy"),
				obI(RuleColumnsMasked, sink, sink, "workspace 'W' group 'G' sees 'S.D' with masked columns 'email'"),
			},
		},
		{
			name: "088 policies of another zone do not apply",
			mutate: func(m *modelv1.Model) {
				m.Zones = append(m.Zones, &modelv1.GovernanceZone{Name: "Z2", ClassificationPolicies: []*modelv1.AllowDenyPolicy{{Name: "none", Allowed: []string{"CSI"}}}})
			},
		},
		{
			name: "089 reserved, managed and invalid consumers",
			mutate: func(m *modelv1.Model) {
				long := strings.Repeat("l", 50)
				m.Psps[0].Platforms = append(m.Psps[0].Platforms, &modelv1.DataPlatform{
					Name: "L" + long, Kind: &modelv1.DataPlatform_Yellow{Yellow: &modelv1.YellowPlatform{MergeDatabase: obPG("m", 1)}}})
				m.Psps[0].Platforms = append(m.Psps[0].Platforms, &modelv1.DataPlatform{Name: "Legacy", Kind: &modelv1.DataPlatform_Legacy{}})
				hashedWS := "l" + long + "_ws" + "_0123abcd"    // 63 bytes: kept 54 + _ + 8 hex
				hashedOther := "l" + long + "_xy" + "_0123abcd" // not a managed shape
				ws(m).Access.Consumers = []string{
					"bi_reader", "postgres", "PUBLIC", "pg_monitor", "Pg_Read_All_Data",
					"y_owner", "Y_Reader", "y_ws_sales", "y_dt_w", "y_ws_", "y_other", "legacy_owner",
					hashedWS, hashedOther, "bad\nname", strings.Repeat("x", 64),
				}
			},
			want: []obProblem{
				obE(RuleConsumerInvalid, w, w, "consumer 'PUBLIC' of workspace 'W' is reserved (postgres, public, pg_*)"),
				obE(RuleConsumerInvalid, w, w, "consumer 'Pg_Read_All_Data' of workspace 'W' is reserved (postgres, public, pg_*)"),
				obE(RuleConsumerInvalid, w, w, "consumer 'Y_Reader' of workspace 'W' is a datasurface-managed role"),
				obE(RuleConsumerInvalid, w, w, "consumer 'bad\\nname' of workspace 'W' is not a valid role name (1–63 bytes, no control characters)"),
				obE(RuleConsumerInvalid, w, w, "consumer 'l"+strings.Repeat("l", 50)+"_ws_0123abcd' of workspace 'W' is a datasurface-managed role"),
				obE(RuleConsumerInvalid, w, w, "consumer 'pg_monitor' of workspace 'W' is reserved (postgres, public, pg_*)"),
				obE(RuleConsumerInvalid, w, w, "consumer 'postgres' of workspace 'W' is reserved (postgres, public, pg_*)"),
				obE(RuleConsumerInvalid, w, w, "consumer '"+strings.Repeat("x", 64)+"' of workspace 'W' is not a valid role name (1–63 bytes, no control characters)"),
				obE(RuleConsumerInvalid, w, w, "consumer 'y_dt_w' of workspace 'W' is a datasurface-managed role"),
				obE(RuleConsumerInvalid, w, w, "consumer 'y_owner' of workspace 'W' is a datasurface-managed role"),
				obE(RuleConsumerInvalid, w, w, "consumer 'y_ws_sales' of workspace 'W' is a datasurface-managed role"),
			},
		},
		{
			name: "089 consumer cited at its node",
			mutate: func(m *modelv1.Model) {
				ws(m).Access.Consumers = []string{"postgres"}
			},
			keys: []string{w + "#access.consumers[postgres]"},
			want: []obProblem{obE(RuleConsumerInvalid, w, w+"#access.consumers[postgres]", "consumer 'postgres' of workspace 'W' is reserved (postgres, public, pg_*)")},
		},
	})
}

func TestIsManagedRole(t *testing.T) {
	long := strings.Repeat("p", 60) // a platform whose prefix alone fills the kept 54 bytes
	prefixes := []string{"yellowlive_", long + "_", strings.Repeat("y", 52) + "_"}
	tests := []struct {
		name string
		role string
		want bool
	}{
		{"owner", "yellowlive_owner", true},
		{"reader", "yellowlive_reader", true},
		{"workspace role", "yellowlive_ws_salesanalytics", true},
		{"transformer role", "yellowlive_dt_customertotals", true},
		{"workspace role needs a name", "yellowlive_ws_", false},
		{"workspace name starts with a letter", "yellowlive_ws_1x", false},
		{"other suffix", "yellowlive_admin", false},
		{"platform prefix only", "yellowlive", false},
		{"other platform", "bluelive_owner", false},
		{"hashed workspace role", "yellowlive_ws_" + strings.Repeat("a", 40) + "_deadbeef", true},
		{"63-byte workspace role that only looks hashed", "yellowlive_ws_" + strings.Repeat("a", 40) + "_deadbeeg", true},
		{"hashed shape, kept part of another suffix", "yellowlive_xx_" + strings.Repeat("a", 40) + "_deadbeef", false},
		{"hashed, kept part ends inside ws_", strings.Repeat("y", 52) + "_w_0123abcd", true},
		{"hashed, kept part ends inside another suffix", strings.Repeat("y", 52) + "_x_0123abcd", false},
		{"hashed shape with other suffix", "yellowlive_zz_" + strings.Repeat("a", 40) + "_deadbeef", false},
		{"hashed name of a long platform", long[:54] + "_0123abcd", true},
		{"hashed name of a long platform, other prefix", strings.Repeat("q", 54) + "_0123abcd", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isManagedRole(tt.role, prefixes); got != tt.want {
				t.Errorf("isManagedRole(%q) = %v, want %v", tt.role, got, tt.want)
			}
		})
	}
}
