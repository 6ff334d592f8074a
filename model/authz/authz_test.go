package authz_test

import (
	"testing"

	"github.com/datasurface/datasurface/model/authz"
	"github.com/datasurface/datasurface/model/problem"
	"github.com/google/go-cmp/cmp"
)

// Frequently used edits.
var (
	addColumn = replace("teams/sales/salesdb.yaml",
		"        - {name: placed_at, type: Timestamp, nullable: false}\n",
		"        - {name: placed_at, type: Timestamp, nullable: false}\n        - {name: channel, type: VarChar(20)}\n")
	ecoDoc = replace("ecosystem.yaml", "documentation: Acme's data ecosystem",
		"documentation: Acme's data ecosystem, now with more data")
	zonePolicy  = replace("zones/europe.yaml", `allowed: ["Acme:EU"]`, `allowed: ["Acme:EU/Frankfurt"]`)
	wsPriority  = replace("teams/analytics/salesanalytics.yaml", "priority: HIGH", "priority: CRITICAL")
	declareAsia = replace("ecosystem.yaml",
		"    - {name: Europe, owningRepo: acme/datasurface-model@zone-europe}\n",
		"    - {name: Asia, owningRepo: acme/datasurface-model@zone-asia}\n    - {name: Europe, owningRepo: acme/datasurface-model@zone-europe}\n")
	declareAsiaOwnedByEco = replace("ecosystem.yaml",
		"    - {name: Europe, owningRepo: acme/datasurface-model@zone-europe}\n",
		"    - {name: Asia, owningRepo: acme/datasurface-model@eco}\n    - {name: Europe, owningRepo: acme/datasurface-model@zone-europe}\n")
	defineAsia = put("zones/asia.yaml", `apiVersion: datasurface/v1
kind: GovernanceZone
metadata: {name: Asia}
spec:
  documentation: Asian data
`)
	declareRisk = replace("zones/europe.yaml",
		"    - {name: Marketing, owningRepo: acme/datasurface-model@team-marketing}\n",
		"    - {name: Marketing, owningRepo: acme/datasurface-model@team-marketing}\n    - {name: Risk, owningRepo: acme/datasurface-model@team-risk}\n")
	riskStore = put("teams/risk/riskdb.yaml", `apiVersion: datasurface/v1
kind: Datastore
metadata: {name: RiskDB, zone: Europe, team: Risk}
spec:
  capture: {transformerOutput: {workspace: CustomerTotals}}
  datasets:
    - name: scores
      columns:
        - {name: id, type: Integer}
`)
	emptySalesTeam = put("teams/sales/team.yaml", `apiVersion: datasurface/v1
kind: Team
metadata: {name: Sales, zone: Europe}
spec: {}
`)
	handOverSales = replace("zones/europe.yaml", "{name: Sales, owningRepo: acme/datasurface-model@team-sales}",
		"{name: Sales, owningRepo: acme/datasurface-model@team-sales-eu}")
	handOverMarketing = replace("zones/europe.yaml", "{name: Marketing, owningRepo: acme/datasurface-model@team-marketing}",
		"{name: Marketing, owningRepo: acme/datasurface-model@team-growth}")
	removeSalesDB   = remove("teams/sales/salesdb.yaml")
	undeclareSales  = replace("zones/europe.yaml", "    - {name: Sales, owningRepo: acme/datasurface-model@team-sales}\n", "")
	moveSalesDB     = replace("teams/sales/salesdb.yaml", "team: Sales}", "team: Analytics}")
	handOverEurope  = replace("ecosystem.yaml", "{name: Europe, owningRepo: acme/datasurface-model@zone-europe}", "{name: Europe, owningRepo: acme/datasurface-model@zone-eu}")
	ecoOwnerChanged = replace("ecosystem.yaml", "owningRepo: acme/datasurface-model@eco", "owningRepo: acme/datasurface-model@platform")
)

func TestCheck(t *testing.T) {
	// salesAndAnalytics makes one repository own both teams.
	salesAndAnalytics := replace("zones/europe.yaml", "{name: Analytics, owningRepo: acme/datasurface-model@team-analytics}",
		"{name: Analytics, owningRepo: acme/datasurface-model@team-sales}")
	// emptyAsia declares zone Asia (owner zone-asia) with an empty GovernanceZone document.
	asiaDeclared := []edit{declareAsia, put("zones/asia.yaml", "apiVersion: datasurface/v1\nkind: GovernanceZone\nmetadata: {name: Asia}\nspec: {}\n")}
	// salesEmptied is Sales after the two-step protocol's first step.
	salesEmptied := []edit{removeSalesDB}

	tests := []struct {
		name   string
		base   []edit // applied to the fixture to make the base
		head   []edit // applied to the base to make the head
		source string
		want   []string
	}{
		// §1.1 canonical comparison.
		{name: "identical models", source: salesRepo},
		{
			name: "formatting, comments, file names and document order are not changes",
			head: []edit{
				remove("teams/sales/salesdb.yaml"), remove("teams/analytics/salessummary.yaml"),
				put("all/in-one.yaml", "# comment\n"+baseFiles()["teams/analytics/salessummary.yaml"]+"---\n"+
					baseFiles()["teams/sales/salesdb.yaml"]),
				replace("ecosystem.yaml", "metadata: {name: Acme}", "metadata:\n  name: Acme   # the root"),
			},
			source: marketingRepo,
		},
		// §1.2 owners may change their regions.
		{name: "ecosystem owner changes the ecosystem", head: []edit{ecoDoc}, source: ecoRepo},
		{name: "ecosystem owner changes a platform", head: []edit{replace("platforms.yaml", "stagingBatchesToKeep: 20", "stagingBatchesToKeep: 30")}, source: ecoRepo},
		{name: "ecosystem owner changes an assignment", head: []edit{replace("assignments.yaml", "status: PROVISIONED", "status: DECOMMISSIONING")}, source: ecoRepo},
		{name: "zone owner changes a zone policy", head: []edit{zonePolicy}, source: zoneRepo},
		{name: "team owner changes its datastore", head: []edit{addColumn}, source: salesRepo},
		{name: "team owner changes its workspace", head: []edit{wsPriority}, source: analyticsRepo},
		{name: "ecosystem owner hands the ecosystem over", head: []edit{ecoOwnerChanged}, source: ecoRepo},
		// Owners of other regions may not.
		{
			name: "team cannot change the ecosystem", head: []edit{ecoDoc}, source: salesRepo,
			want: []string{"ecosystem.yaml:7:18 DS-AUTH-002 authorization ecosystem: ecosystem is owned by 'acme/datasurface-model@eco', not 'acme/datasurface-model@team-sales': ecosystem 'Acme' modified"},
		},
		{
			name: "zone owner cannot change a platform", head: []edit{replace("platforms.yaml", "stagingBatchesToKeep: 20", "stagingBatchesToKeep: 30")}, source: zoneRepo,
			want: []string{"platforms.yaml:12:31 DS-AUTH-002 authorization psp[Core]/platform[YellowLive]: ecosystem is owned by 'acme/datasurface-model@eco', not 'acme/datasurface-model@zone-europe': data platform 'YellowLive' modified"},
		},
		{
			name: "team cannot change its assignment", head: []edit{replace("assignments.yaml", "status: PROVISIONED", "status: DECOMMISSIONING")}, source: analyticsRepo,
			want: []string{"assignments.yaml:9:42 DS-AUTH-002 authorization assignment[SalesAnalytics.main]/platform[YellowLive]: ecosystem is owned by 'acme/datasurface-model@eco', not 'acme/datasurface-model@team-analytics': assignment 'SalesAnalytics.main' → 'YellowLive' modified"},
		},
		{
			name: "zone owner cannot change the ecosystem owner", head: []edit{ecoOwnerChanged}, source: zoneRepo,
			want: []string{"ecosystem.yaml:5:15 DS-AUTH-002 authorization ecosystem: ecosystem is owned by 'acme/datasurface-model@eco', not 'acme/datasurface-model@zone-europe': ecosystem 'Acme' modified"},
		},
		{
			name: "team cannot change its zone", head: []edit{zonePolicy}, source: salesRepo,
			want: []string{"zones/europe.yaml:11:31 DS-AUTH-002 authorization zone[Europe]: zone 'Europe' is owned by 'acme/datasurface-model@zone-europe', not 'acme/datasurface-model@team-sales': GovernanceZone 'Europe' modified"},
		},
		{
			name: "another team cannot change a datastore", head: []edit{addColumn}, source: analyticsRepo,
			want: []string{"teams/sales/salesdb.yaml:32:18 DS-AUTH-002 authorization datastore[SalesDB]/dataset[orders]/column[channel]: team 'Europe/Sales' is owned by 'acme/datasurface-model@team-sales', not 'acme/datasurface-model@team-analytics': column 'SalesDB.orders.channel' added"},
		},
		{
			name: "ecosystem owner cannot change a team", head: []edit{wsPriority}, source: ecoRepo,
			want: []string{"teams/analytics/salesanalytics.yaml:6:13 DS-AUTH-002 authorization workspace[SalesAnalytics]: team 'Europe/Analytics' is owned by 'acme/datasurface-model@team-analytics', not 'acme/datasurface-model@eco': workspace 'SalesAnalytics' modified"},
		},
		// Declarations.
		{name: "ecosystem owner declares a zone", head: []edit{declareAsia}, source: ecoRepo},
		{
			name: "zone owner cannot declare a sibling zone", head: []edit{declareAsia}, source: zoneRepo,
			want: []string{"ecosystem.yaml:16:7 DS-AUTH-003 authorization zone[Asia]: only 'acme/datasurface-model@eco' may add the declaration of zone 'Asia'"},
		},
		{name: "zone owner declares a team", head: []edit{declareRisk}, source: zoneRepo},
		{
			name: "team cannot declare a sibling team", head: []edit{declareRisk}, source: salesRepo,
			want: []string{"zones/europe.yaml:10:7 DS-AUTH-003 authorization zone[Europe]/team[Risk]: only 'acme/datasurface-model@zone-europe' may add the declaration of team 'Europe/Risk'"},
		},
		{
			name: "team cannot remove its own declaration", head: []edit{undeclareSales}, source: salesRepo,
			want: []string{"base:zones/europe.yaml:7:7 DS-AUTH-003 authorization zone[Europe]/team[Sales]: only 'acme/datasurface-model@zone-europe' may remove the declaration of team 'Europe/Sales'"},
		},
		// §1.2 declared in this very change.
		{name: "declaring and defining a zone needs one repository owning both", head: []edit{declareAsiaOwnedByEco, defineAsia}, source: ecoRepo},
		{
			name: "a zone declared in this change is owned by its new declaration", head: []edit{declareAsia, defineAsia}, source: ecoRepo,
			want: []string{"zones/asia.yaml:3:18 DS-AUTH-002 authorization zone[Asia]: zone 'Asia' is owned by 'acme/datasurface-model@zone-asia', not 'acme/datasurface-model@eco': GovernanceZone 'Asia' added"},
		},
		{
			name: "a team declared in this change is owned by its new declaration", head: []edit{declareRisk, riskStore}, source: zoneRepo,
			want: []string{"teams/risk/riskdb.yaml:3:18 DS-AUTH-002 authorization datastore[RiskDB]: team 'Europe/Risk' is owned by 'acme/datasurface-model@team-risk', not 'acme/datasurface-model@zone-europe': datastore 'RiskDB' added"},
		},
		{
			name: "the owner of a team declared in this change is not yet a known source", head: []edit{declareRisk, riskStore}, source: "acme/datasurface-model@team-risk",
			want: []string{"- DS-AUTH-001 source : 'acme/datasurface-model@team-risk' owns no part of the model; known sources: 5 repositories"},
		},
		// Hand-over.
		{name: "the current owner hands a team over", head: []edit{handOverSales}, source: salesRepo},
		{name: "the current owner hands a zone over", head: []edit{handOverEurope}, source: zoneRepo},
		{
			name: "a parent cannot hand over a defined team", head: []edit{handOverSales}, source: zoneRepo,
			want: []string{"zones/europe.yaml:7:33 DS-AUTH-004 authorization zone[Europe]/team[Sales]: only 'acme/datasurface-model@team-sales' may hand over team 'Europe/Sales'"},
		},
		{
			name: "the ecosystem owner cannot hand over a defined zone", head: []edit{handOverEurope}, source: ecoRepo,
			want: []string{"ecosystem.yaml:16:34 DS-AUTH-004 authorization zone[Europe]: only 'acme/datasurface-model@zone-europe' may hand over zone 'Europe'"},
		},
		{name: "a parent re-assigns an empty team", head: []edit{handOverMarketing}, source: zoneRepo},
		{name: "a parent re-assigns an empty zone", base: asiaDeclared, head: []edit{replace("ecosystem.yaml", "@zone-asia}", "@zone-asia-2}")}, source: ecoRepo},
		{
			name: "a sibling cannot re-assign an empty team", head: []edit{handOverMarketing}, source: salesRepo,
			want: []string{"zones/europe.yaml:9:37 DS-AUTH-004 authorization zone[Europe]/team[Marketing]: only 'acme/datasurface-model@team-marketing' may hand over team 'Europe/Marketing'"},
		},
		{
			name: "a parent cannot re-assign a team it defines in the same change", head: []edit{handOverMarketing, put("teams/marketing/team.yaml", "apiVersion: datasurface/v1\nkind: Team\nmetadata: {name: Marketing, zone: Europe}\nspec:\n  documentation: Campaigns\n")}, source: zoneRepo,
			want: []string{
				"teams/marketing/team.yaml:3:18 DS-AUTH-002 authorization zone[Europe]/team[Marketing]: team 'Europe/Marketing' is owned by 'acme/datasurface-model@team-marketing', not 'acme/datasurface-model@zone-europe': Team 'Europe/Marketing' added",
				"zones/europe.yaml:9:37 DS-AUTH-004 authorization zone[Europe]/team[Marketing]: only 'acme/datasurface-model@team-marketing' may hand over team 'Europe/Marketing'",
			},
		},
		// Deleting: a parent cannot delete a defined child; the two-step protocol works.
		{
			name: "a parent cannot delete a defined team's datastore", head: []edit{removeSalesDB}, source: zoneRepo,
			want: []string{"base:teams/sales/salesdb.yaml:3:18 DS-AUTH-002 authorization datastore[SalesDB]: team 'Europe/Sales' is owned by 'acme/datasurface-model@team-sales', not 'acme/datasurface-model@zone-europe': datastore 'SalesDB' removed"},
		},
		{
			name: "a parent cannot undeclare a defined team with its content", head: []edit{undeclareSales, removeSalesDB}, source: zoneRepo,
			want: []string{"base:teams/sales/salesdb.yaml:3:18 DS-AUTH-002 authorization datastore[SalesDB]: team 'Europe/Sales' is owned by 'acme/datasurface-model@team-sales', not 'acme/datasurface-model@zone-europe': datastore 'SalesDB' removed"},
		},
		{name: "deleting, step 1: the team empties its region", head: []edit{removeSalesDB}, source: salesRepo},
		{name: "deleting, step 2: the parent removes the declaration", base: salesEmptied, head: []edit{undeclareSales}, source: zoneRepo},
		{name: "the ecosystem owner removes an empty zone's declaration", base: asiaDeclared, head: []edit{
			replace("ecosystem.yaml", "    - {name: Asia, owningRepo: acme/datasurface-model@zone-asia}\n", ""), remove("zones/asia.yaml"),
		}, source: ecoRepo},
		// Moving a datastore changes two team regions.
		{
			name: "moving a datastore needs the old team", head: []edit{moveSalesDB}, source: analyticsRepo,
			want: []string{"base:teams/sales/salesdb.yaml:3:18 DS-AUTH-002 authorization datastore[SalesDB]: team 'Europe/Sales' is owned by 'acme/datasurface-model@team-sales', not 'acme/datasurface-model@team-analytics': datastore 'SalesDB' removed"},
		},
		{
			name: "moving a datastore needs the new team", head: []edit{moveSalesDB}, source: salesRepo,
			want: []string{"teams/sales/salesdb.yaml:3:18 DS-AUTH-002 authorization datastore[SalesDB]: team 'Europe/Analytics' is owned by 'acme/datasurface-model@team-analytics', not 'acme/datasurface-model@team-sales': datastore 'SalesDB' added"},
		},
		{name: "moving a datastore between two teams of one repository", base: []edit{salesAndAnalytics}, head: []edit{moveSalesDB}, source: salesRepo},
		// §5.1 declared but empty is undefined.
		{name: "an empty team definition is not a change", head: []edit{emptySalesTeam}, source: ecoRepo},
		{name: "removing an empty team definition is not a change", base: []edit{emptySalesTeam}, head: []edit{remove("teams/sales/team.yaml")}, source: zoneRepo},
		{name: "an empty zone definition is not a change", base: []edit{declareAsia}, head: []edit{put("zones/asia.yaml", "apiVersion: datasurface/v1\nkind: GovernanceZone\nmetadata: {name: Asia}\nspec: {}\n")}, source: salesRepo},
		{name: "a zone owner declaring a team is not blamed for its empty definition", head: []edit{declareRisk, put("teams/risk/team.yaml", "apiVersion: datasurface/v1\nkind: Team\nmetadata: {name: Risk, zone: Europe}\nspec: {}\n")}, source: zoneRepo},
		// One problem per region.
		{
			name: "three regions give three problems", head: []edit{ecoDoc, zonePolicy, wsPriority}, source: salesRepo,
			want: []string{
				"ecosystem.yaml:7:18 DS-AUTH-002 authorization ecosystem: ecosystem is owned by 'acme/datasurface-model@eco', not 'acme/datasurface-model@team-sales': ecosystem 'Acme' modified",
				"teams/analytics/salesanalytics.yaml:6:13 DS-AUTH-002 authorization workspace[SalesAnalytics]: team 'Europe/Analytics' is owned by 'acme/datasurface-model@team-analytics', not 'acme/datasurface-model@team-sales': workspace 'SalesAnalytics' modified",
				"zones/europe.yaml:11:31 DS-AUTH-002 authorization zone[Europe]: zone 'Europe' is owned by 'acme/datasurface-model@zone-europe', not 'acme/datasurface-model@team-sales': GovernanceZone 'Europe' modified",
			},
		},
		// §1.3 known sources.
		{
			name: "unknown source", head: []edit{addColumn}, source: "someone/fork@main",
			want: []string{"- DS-AUTH-001 source : 'someone/fork@main' owns no part of the model; known sources: 5 repositories"},
		},
		{
			name: "an invalid source string is an unknown source", source: "not a repository",
			want: []string{"- DS-AUTH-001 source : 'not a repository' owns no part of the model; known sources: 5 repositories"},
		},
		{
			name: "repositories compare byte for byte", source: "Acme/datasurface-model@eco",
			want: []string{"- DS-AUTH-001 source : 'Acme/datasurface-model@eco' owns no part of the model; known sources: 5 repositories"},
		},
		{name: "the owner of an empty team is a known source", source: marketingRepo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			baseTree := apply(t, baseFiles(), tt.base...)
			base := loadFiles(t, baseTree, problem.Base)
			head := loadFiles(t, apply(t, baseTree, tt.head...), problem.Head)
			got := render(authz.Check(base.Model, head.Model, base.Source, head.Source, tt.source))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Check (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckInitial(t *testing.T) {
	tests := []struct {
		name   string
		source string
		want   []string
	}{
		{name: "the owning repository submits the whole model", source: ecoRepo},
		{
			name: "a team cannot submit the first model", source: salesRepo,
			want: []string{"ecosystem.yaml:5:15 DS-AUTH-005 authorization ecosystem: the first model must be submitted by its owning repository 'acme/datasurface-model@eco', not 'acme/datasurface-model@team-sales'"},
		},
		{
			name: "an invalid source cannot submit the first model", source: "",
			want: []string{"ecosystem.yaml:5:15 DS-AUTH-005 authorization ecosystem: the first model must be submitted by its owning repository 'acme/datasurface-model@eco', not ''"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head := loadFiles(t, baseFiles(), problem.Head)
			got := render(authz.Check(nil, head.Model, nil, head.Source, tt.source))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Check (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKnownSources(t *testing.T) {
	m := loadFiles(t, baseFiles(), problem.Base).Model
	want := []string{ecoRepo, analyticsRepo, marketingRepo, salesRepo, zoneRepo}
	if diff := cmp.Diff(want, authz.KnownSources(m)); diff != "" {
		t.Errorf("KnownSources (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string(nil), authz.KnownSources(nil)); diff != "" {
		t.Errorf("KnownSources(nil) (-want +got):\n%s", diff)
	}
}

func TestRegions(t *testing.T) {
	files := apply(t, baseFiles(), emptySalesTeam)
	m := loadFiles(t, files, problem.Base).Model
	want := []authz.Region{
		{Kind: authz.EcosystemRegion, Owner: ecoRepo, Declared: true, Defined: true},
		{Kind: authz.ZoneRegion, Zone: "Europe", Owner: zoneRepo, Declared: true, Defined: true},
		{Kind: authz.TeamRegion, Zone: "Europe", Team: "Analytics", Owner: analyticsRepo, Declared: true, Defined: true},
		{Kind: authz.TeamRegion, Zone: "Europe", Team: "Marketing", Owner: marketingRepo, Declared: true},
		{Kind: authz.TeamRegion, Zone: "Europe", Team: "Sales", Owner: salesRepo, Declared: true, Defined: true},
	}
	if diff := cmp.Diff(want, authz.Regions(m)); diff != "" {
		t.Errorf("Regions (-want +got):\n%s", diff)
	}
	var paths, names []string
	for _, r := range want {
		paths = append(paths, r.Path())
		names = append(names, r.String())
	}
	if diff := cmp.Diff([]string{"ecosystem", "zone[Europe]", "zone[Europe]/team[Analytics]", "zone[Europe]/team[Marketing]", "zone[Europe]/team[Sales]"}, paths); diff != "" {
		t.Errorf("Path (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ecosystem", "zone 'Europe'", "team 'Europe/Analytics'", "team 'Europe/Marketing'", "team 'Europe/Sales'"}, names); diff != "" {
		t.Errorf("String (-want +got):\n%s", diff)
	}
}

func TestValidRepository(t *testing.T) {
	tests := []struct {
		ref  string
		want bool
	}{
		{"acme/datasurface-model@eco", true},
		{"acme/model@release-1.2", true},
		{"https://gitlab.example.com/group/repo@main", true},
		{"ssh://u@host:/path/repo@main", true},
		{"acme/model@feature/x", false},
		{"acme/model", false},
		{"acme/model@", false},
		{"acme@main", false},
		{"a/b/c@main", false},
		{"/b@main", false},
		{"-acme/b@main", false},
		{"acme/b-@main", false},
		{"acme/b..c@main", false},
		{"acme/b c@main", false},
		{"acme/b@-x", false},
		{"acme/b@x.", false},
		{"acme/b@x..y", false},
		{"https:///path@main", false},
		{"not a repository", false},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			if got := authz.ValidRepository(tt.ref) == nil; got != tt.want {
				t.Errorf("ValidRepository(%q) = %v, want valid=%v", tt.ref, authz.ValidRepository(tt.ref), tt.want)
			}
		})
	}
}
