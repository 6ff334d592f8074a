package changes_test

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/datasurface/datasurface/model/changes"
	"github.com/datasurface/datasurface/model/compat"
	"github.com/datasurface/datasurface/model/compat/equal"
	"github.com/datasurface/datasurface/model/problem"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// The benchmark model of spec (10 zones × 20 teams, 10,000 datastores of 10 datasets of 6
// columns, 3,000 workspaces of 10 sinks, one Yellow platform, an assignment per dataset group)
// and a one-team change (a nullable column added to one dataset of each of the team's 50
// datastores, plus a new workspace), built directly as canonical protos.
const (
	benchZones      = 10
	benchTeams      = 20
	benchStores     = 10000
	benchDatasets   = 10
	benchWorkspaces = 3000
	benchSinks      = 10
)

func benchColumns() []*modelv1.Column {
	return []*modelv1.Column{
		column("id", named("BigInt"), false),
		column("name", sized("VarChar", 100), true),
		column("amount", &modelv1.DataType{Name: "Decimal", Precision: 12, Scale: 2}, true),
		column("created_at", &modelv1.DataType{Name: "Timestamp", TimeZone: "UTC"}, true),
		column("active", named("Boolean"), true),
		column("code", sized("Char", 3), true),
	}
}

func benchTeam(i int) (zone, team string) {
	t := i % (benchZones * benchTeams)
	return fmt.Sprintf("zone%02d", t/benchTeams), fmt.Sprintf("team%02d", t%benchTeams)
}

func benchModel() *modelv1.Model {
	m := &modelv1.Model{
		Ecosystem: &modelv1.Ecosystem{
			Name: "Synthetic", OwningRepo: "synth/model@eco", LiveRepo: "synth/model@main",
			Compatibility: &modelv1.Compatibility{Mode: modelv1.CompatibilityMode_COMPATIBILITY_MODE_BACKWARD},
			Vendors:       []*modelv1.Vendor{{Name: "Acme", CloudVendor: modelv1.CloudVendor_CLOUD_VENDOR_PRIVATE, Documentation: doc("own")}},
		},
		Psps: []*modelv1.PlatformServicesProvider{{
			Name: "Core", Locations: []string{"Acme:EU"},
			CredentialStore: &modelv1.CredentialStore{Kind: &modelv1.CredentialStore_Env{Env: &modelv1.EnvCredentialStore{}}},
			Platforms:       []*modelv1.DataPlatform{yellowPlatform("YellowLive")},
		}},
	}
	for z := range benchZones {
		zn := fmt.Sprintf("zone%02d", z)
		m.Ecosystem.Zones = append(m.Ecosystem.Zones, &modelv1.ZoneDeclaration{Name: zn, OwningRepo: "synth/model@" + zn})
		gz := &modelv1.GovernanceZone{Name: zn, Documentation: doc("zone " + zn)}
		for t := range benchTeams {
			tn := fmt.Sprintf("team%02d", t)
			gz.Teams = append(gz.Teams, &modelv1.TeamDeclaration{Name: tn, OwningRepo: "synth/model@" + zn + "-" + tn})
		}
		m.Zones = append(m.Zones, gz)
	}
	for i := range benchStores {
		zn, tn := benchTeam(i)
		s := &modelv1.Datastore{
			Name: fmt.Sprintf("Store%05d", i), Zone: zn, Team: tn,
			ProductionStatus: modelv1.ProductionStatus_PRODUCTION_STATUS_PRODUCTION,
			Capture:          snapshot(),
		}
		for d := range benchDatasets {
			s.Datasets = append(s.Datasets, &modelv1.Dataset{
				Name: fmt.Sprintf("ds%02d", d), Classifications: cls(ip), PrimaryKey: []string{"id"}, Columns: benchColumns(),
			})
		}
		m.Datastores = append(m.Datastores, s)
	}
	for i := range benchWorkspaces {
		zn, tn := benchTeam(i + 7)
		g := &modelv1.DatasetGroup{Name: "main",
			PlatformRequirements: &modelv1.PlatformRequirements{Milestoning: modelv1.Milestoning_MILESTONING_LIVE_ONLY}}
		for k := range benchSinks {
			n := (i*7919 + k*104729) % (benchStores * benchDatasets)
			g.Sinks = append(g.Sinks, sink(fmt.Sprintf("Store%05d", n/benchDatasets), fmt.Sprintf("ds%02d", n%benchDatasets)))
		}
		w := &modelv1.Workspace{Name: fmt.Sprintf("Work%05d", i), Zone: zn, Team: tn,
			Priority: modelv1.Priority_PRIORITY_MEDIUM, DatasetGroups: []*modelv1.DatasetGroup{g},
			Access: &modelv1.Access{ApprovedClassifications: []modelv1.ClassificationType{pub, ip}}}
		m.Workspaces = append(m.Workspaces, w)
		m.Assignments = append(m.Assignments, &modelv1.DatasetGroupAssignment{Workspace: w.Name, DatasetGroup: "main",
			Platforms: []*modelv1.PlatformAssignment{{Platform: "YellowLive", Status: modelv1.AssignmentStatus_ASSIGNMENT_STATUS_PROVISIONED}}})
	}
	return m
}

// benchChange applies the one-team change to a copy of base.
func benchChange(base *modelv1.Model) *modelv1.Model {
	head := proto.Clone(base).(*modelv1.Model)
	const zone, team = "zone03", "team07"
	for _, s := range head.Datastores {
		if s.Zone == zone && s.Team == team {
			ds := s.Datasets[0]
			ds.Columns = append(ds.Columns, column("added_note", sized("VarChar", 200), true))
		}
	}
	head.Workspaces = append(head.Workspaces, &modelv1.Workspace{Name: "Change_zone03_team07", Zone: zone, Team: team,
		DatasetGroups: []*modelv1.DatasetGroup{{Name: "main", Sinks: []*modelv1.DatasetSink{sink("Store00067", "ds00")}}}})
	return head
}

var benchBase, benchHead *modelv1.Model

// reportCPU adds the metric cpu-ms/op (process CPU time per operation, all goroutines), which
// unlike ns/op does not grow when other processes compete for the CPU. Use: defer reportCPU(b)().
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if start > 0 && b.N > 0 {
			b.ReportMetric(float64(cpuTime()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		}
	}
}

func benchModels(tb testing.TB) (base, head *modelv1.Model) {
	tb.Helper()
	if benchBase == nil {
		benchBase = benchModel()
		benchHead = benchChange(benchBase)
	}
	return benchBase, benchHead
}

// TestBenchModelChange checks what the benchmarks measure: the change yields exactly the
// expected problems and changes.
func TestBenchModelChange(t *testing.T) {
	if testing.Short() {
		t.Skip("large model")
	}
	base, head := benchModels(t)
	start := time.Now()
	ps := compat.Check(compat.Input{Base: base, Head: head})
	cs := changes.Diff(base, head)
	t.Logf("Check + Diff of %d datastores: %v", len(base.Datastores), time.Since(start))
	if len(ps) != 0 {
		e, w, i := problem.Count(ps)
		t.Errorf("Check: %d errors, %d warnings, %d infos; want none (a nullable column is compatible)", e, w, i)
	}
	if len(cs) != 51 {
		t.Errorf("Diff: %d changes, want 51 (50 COLUMN_ADDED, 1 WORKSPACE_ADDED)", len(cs))
	}
}

func BenchmarkCheck(b *testing.B) {
	base, head := benchModels(b)
	b.ResetTimer()
	defer reportCPU(b)()
	for b.Loop() {
		compat.Check(compat.Input{Base: base, Head: head})
	}
}

func BenchmarkDiff(b *testing.B) {
	base, head := benchModels(b)
	b.ResetTimer()
	defer reportCPU(b)()
	for b.Loop() {
		changes.Diff(base, head)
	}
}

func BenchmarkCheckAndDiff(b *testing.B) {
	base, head := benchModels(b)
	b.ResetTimer()
	defer reportCPU(b)()
	for b.Loop() {
		compat.Check(compat.Input{Base: base, Head: head})
		changes.Diff(base, head)
	}
}

// BenchmarkCheckTransitive checks the one-team change in BACKWARD_TRANSITIVE mode against 100
// history versions (all the same older model, to keep memory small), plus a dataset whose name
// existed in the history.
func BenchmarkCheckTransitive(b *testing.B) {
	base, head := benchModels(b)
	old := proto.Clone(base).(*modelv1.Model)
	for _, s := range old.Datastores[:20] {
		s.Datasets = append(s.Datasets, &modelv1.Dataset{Name: "gone", Columns: benchColumns()})
	}
	history := make([]compat.Version, 100)
	for i := range history {
		history[i] = compat.Version{Number: int64(100 - i), Model: old}
	}
	head = proto.Clone(head).(*modelv1.Model)
	head.Ecosystem.Compatibility.Mode = modelv1.CompatibilityMode_COMPATIBILITY_MODE_BACKWARD_TRANSITIVE
	s0 := head.Datastores[0]
	s0.Datasets = append(s0.Datasets, &modelv1.Dataset{Name: "gone", Columns: benchColumns()[:3]})
	in := compat.Input{Base: base, Head: head, History: history}
	if ps := compat.Check(in); len(ps) != 2 {
		b.Fatalf("Check = %d problems, want DATASET-ADDED and DATASET-NAME-REUSED: %v", len(ps), ps)
	}
	b.ResetTimer()
	defer reportCPU(b)()
	for b.Loop() {
		compat.Check(in)
	}
}

// BenchmarkCheckAndDiffShared is BenchmarkCheckAndDiff with the datastores paired and compared
// once for both (compat.Input.Datastores, DiffPaired).
func BenchmarkCheckAndDiffShared(b *testing.B) {
	base, head := benchModels(b)
	b.ResetTimer()
	defer reportCPU(b)()
	for b.Loop() {
		p := equal.PairDatastores(base, head)
		compat.Check(compat.Input{Base: base, Head: head, Datastores: p})
		changes.DiffPaired(base, head, p)
	}
}
