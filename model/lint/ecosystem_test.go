package lint

import (
	"testing"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

func TestCheckEcosystemRepositories(t *testing.T) {
	at := map[string]string{
		"ecosystem#owningRepo":                      "eco.yaml:6:15",
		"ecosystem#liveRepo":                        "eco.yaml:7:13",
		"ecosystem#zones[Europe].owningRepo":        "eco.yaml:41:33",
		"zone[Europe]#teams[Sales].owningRepo":      "europe.yaml:7:33",
		"zone[Americas]#teams[Payments].owningRepo": "americas.yaml:7:33",
	}
	nmRun(t, []nmCase{
		{
			name:   "no liveRepo",
			mutate: func(m *modelv1.Model) { m.Ecosystem.LiveRepo = "" },
			want:   []nmProblem{nmE(RuleLiveRepoMissing, "ecosystem", "eco.yaml:1:1", "ecosystem has no liveRepo")},
		},
		{
			name:   "liveRepo equals owningRepo",
			mutate: func(m *modelv1.Model) { m.Ecosystem.LiveRepo = "acme/model@eco" },
			at:     at,
			want: []nmProblem{nmE(RuleLiveRepoIsOwner, "ecosystem", "eco.yaml:7:13",
				"liveRepo 'acme/model@eco' must differ from owningRepo")},
		},
		{
			name:   "same location, other branch is fine",
			mutate: func(m *modelv1.Model) { m.Ecosystem.LiveRepo = "acme/model@live" },
		},
		{
			name:   "URL repositories are fine",
			mutate: func(m *modelv1.Model) { m.Ecosystem.LiveRepo = "https://gitlab.acme.com/data/model@main" },
		},
		{
			name: "invalid repositories and branches everywhere",
			mutate: func(m *modelv1.Model) {
				m.Ecosystem.OwningRepo = "acme@eco"
				m.Ecosystem.LiveRepo = "acme/model@feature/x"
				m.Ecosystem.Zones[1].OwningRepo = "https:///x@main"
				nmZone(m, "Europe").Teams[1].OwningRepo = "acme/-model@.."
				nmZone(m, "Americas").Teams[0].OwningRepo = "acme/model"
			},
			at: at,
			want: []nmProblem{
				nmE(RuleRepositoryInvalid, "zone[Americas]", "americas.yaml:7:33",
					"repository 'acme/model' is invalid: it must be <location>@<branch>"),
				nmE(RuleRepositoryInvalid, "ecosystem", "eco.yaml:6:15",
					"repository 'acme@eco' is invalid: the location must be owner/name (exactly one '/') or a URL"),
				nmE(RuleBranchInvalid, "ecosystem", "eco.yaml:7:13",
					"branch 'feature/x' is invalid: character '/' is not allowed"),
				nmE(RuleRepositoryInvalid, "ecosystem", "eco.yaml:41:33",
					"repository 'https:///x@main' is invalid: the URL has no host"),
				nmE(RuleRepositoryInvalid, "zone[Europe]", "europe.yaml:7:33",
					"repository 'acme/-model@..' is invalid: owner and name must not start or end with '-'"),
				nmE(RuleBranchInvalid, "zone[Europe]", "europe.yaml:7:33",
					"branch '..' is invalid: '..' is not allowed"),
			},
		},
	}, checkEcosystem)
}

func TestCheckEcosystemVendorsAndLocations(t *testing.T) {
	nmRun(t, []nmCase{
		{
			name:   "vendor without documentation",
			mutate: func(m *modelv1.Model) { m.Ecosystem.Vendors[0].Documentation = nil },
			want:   []nmProblem{nmE(RuleVendorDocumentationMissing, "vendor[AWS]", "eco.yaml:20:7", "vendor 'AWS' has no documentation")},
		},
		{
			name: "malformed location keys",
			mutate: func(m *modelv1.Model) {
				m.Psps[0].Locations = []string{"Acme", "Acme:EU//Frankfurt", "Acme:EU:Frankfurt"}
				nmZone(m, "Europe").LocationPolicies[0].NotAllowed = []string{":EU"}
			},
			at: map[string]string{
				"psp[Core]#locations[Acme]":                             "psp.yaml:3:16",
				"psp[Core]#locations[Acme:EU//Frankfurt]":               "psp.yaml:3:22",
				"psp[Core]#locations[Acme:EU:Frankfurt]":                "psp.yaml:3:44",
				"zone[Europe]#locationPolicies[EUOnly].notAllowed[:EU]": "europe.yaml:20:22",
			},
			want: []nmProblem{
				nmE(RuleLocationKeyInvalid, "zone[Europe]", "europe.yaml:20:22", "location ':EU' is not of the form Vendor:Location[/Sub…]"),
				nmE(RuleLocationKeyInvalid, "psp[Core]", "psp.yaml:3:16", "location 'Acme' is not of the form Vendor:Location[/Sub…]"),
				nmE(RuleLocationKeyInvalid, "psp[Core]", "psp.yaml:3:22", "location 'Acme:EU//Frankfurt' is not of the form Vendor:Location[/Sub…]"),
				nmE(RuleLocationKeyInvalid, "psp[Core]", "psp.yaml:3:44", "location 'Acme:EU:Frankfurt' is not of the form Vendor:Location[/Sub…]"),
			},
		},
		{
			name: "unknown vendors and locations in every kind of container",
			mutate: func(m *modelv1.Model) {
				m.Teams[0].Containers[0].GetPostgres().Locations = []string{"acme:EU/Frankfurt"}
				nmStore1(m, "PaymentsDB").GetCapture().GetSqlSnapshot().Container = nmPG("pay", "Acme:US/Ohio")
				nmWS(m, "Totals").Container = nmPG("", "Acme:EU/Frankfurt/DC1")
				m.Psps[0].Platforms[0].GetYellow().MergeDatabase = nmPG("", "AWS:eu-west-1")
			},
			at: map[string]string{
				"zone[Europe]/team[Sales]#containers[sales_pg].postgres.locations[acme:EU/Frankfurt]":   "sales.yaml:9:13",
				"datastore[PaymentsDB]#capture.sqlSnapshot.container.postgres.locations[Acme:US/Ohio]":  "paymentsdb.yaml:9:13",
				"workspace[Totals]#container.postgres.locations[Acme:EU/Frankfurt/DC1]":                 "totals.yaml:9:13",
				"psp[Core]/platform[YellowLive]#yellow.mergeDatabase.postgres.locations[AWS:eu-west-1]": "psp.yaml:12:13",
			},
			want: []nmProblem{
				nmE(RuleLocationUnknown, "datastore[PaymentsDB]", "paymentsdb.yaml:9:13", "location 'Acme:US/Ohio': vendor 'Acme' has no location 'Ohio'"),
				nmE(RuleLocationUnknown, "psp[Core]/platform[YellowLive]", "psp.yaml:12:13", "location 'AWS:eu-west-1': vendor 'AWS' has no location 'eu-west-1'"),
				nmE(RuleLocationVendorUnknown, "zone[Europe]/team[Sales]", "sales.yaml:9:13", "location 'acme:EU/Frankfurt' names unknown vendor 'acme'"),
				nmE(RuleLocationUnknown, "workspace[Totals]", "totals.yaml:9:13", "location 'Acme:EU/Frankfurt/DC1': vendor 'Acme' has no location 'DC1'"),
			},
		},
		{
			name: "a location name is not resolved at another level",
			mutate: func(m *modelv1.Model) {
				m.Psps[0].Locations = []string{"Acme:Frankfurt"}
			},
			at: map[string]string{"psp[Core]#locations[Acme:Frankfurt]": "psp.yaml:3:16"},
			want: []nmProblem{
				nmE(RuleLocationUnknown, "psp[Core]", "psp.yaml:3:16", "location 'Acme:Frankfurt': vendor 'Acme' has no location 'Frankfurt'"),
			},
		},
		{
			name: "without an Ecosystem document only the syntax of location keys is checked",
			mutate: func(m *modelv1.Model) {
				m.Ecosystem = nil
				m.Zones = nil
				m.Teams, m.Datastores, m.Workspaces = nil, nil, nil
				m.Psps[0].Locations = []string{"Nowhere:X", "bad"}
			},
			at: map[string]string{"psp[Core]#locations[bad]": "psp.yaml:3:16"},
			want: []nmProblem{
				nmE(RuleLocationKeyInvalid, "psp[Core]", "psp.yaml:3:16", "location 'bad' is not of the form Vendor:Location[/Sub…]"),
			},
		},
	}, checkEcosystem)
}

func TestCheckEcosystemZonesAndTeams(t *testing.T) {
	nmRun(t, []nmCase{
		{
			name: "GovernanceZone document without a declaration",
			mutate: func(m *modelv1.Model) {
				m.Zones = append(m.Zones, &modelv1.GovernanceZone{Name: "Asia"})
			},
			at:   map[string]string{"zone[Asia]": "asia.yaml:4:9"},
			want: []nmProblem{nmE(RuleZoneNotDeclared, "zone[Asia]", "asia.yaml:4:9", "GovernanceZone 'Asia' is not declared in the Ecosystem")},
		},
		{
			name: "a declared zone may lack a document while nothing belongs to it",
			mutate: func(m *modelv1.Model) {
				m.Ecosystem.Zones = append(m.Ecosystem.Zones, &modelv1.ZoneDeclaration{Name: "Asia", OwningRepo: "acme/model@asia"})
			},
		},
		{
			name: "Team, Datastore and Workspace of a team not declared in its zone",
			mutate: func(m *modelv1.Model) {
				m.Teams = append(m.Teams, &modelv1.Team{Name: "Marketing", Zone: "Europe"})
				m.Datastores = append(m.Datastores, nmStore("Leads", "Europe", "Marketing", nmSnapshot(nmPG("", "Acme:EU"), "L"), nmDataset("leads", "id")))
				m.Workspaces = append(m.Workspaces, nmWorkspace("Campaigns", "Americas", "Sales", nmDSG("g", nmSink("Leads", "leads"))))
			},
			at: map[string]string{
				"zone[Europe]/team[Marketing]": "marketing.yaml:4:9",
				"datastore[Leads]#team":        "leads.yaml:5:9",
				"workspace[Campaigns]#team":    "campaigns.yaml:5:9",
			},
			want: []nmProblem{
				nmE(RuleTeamNotDeclared, "workspace[Campaigns]", "campaigns.yaml:5:9", "team 'Sales' is not declared in zone 'Americas'"),
				nmE(RuleTeamNotDeclared, "datastore[Leads]", "leads.yaml:5:9", "team 'Marketing' is not declared in zone 'Europe'"),
				nmE(RuleTeamNotDeclared, "zone[Europe]/team[Marketing]", "marketing.yaml:4:9", "team 'Marketing' is not declared in zone 'Europe'"),
			},
		},
		{
			name: "team names match exactly",
			mutate: func(m *modelv1.Model) {
				nmStore1(m, "SalesDB").Team = "sales"
			},
			at: map[string]string{"datastore[SalesDB]#team": "salesdb.yaml:5:9"},
			want: []nmProblem{
				nmE(RuleTeamNotDeclared, "datastore[SalesDB]", "salesdb.yaml:5:9", "team 'sales' is not declared in zone 'Europe'"),
			},
		},
		{
			name: "Team, Datastore and Workspace in a zone without a GovernanceZone document",
			mutate: func(m *modelv1.Model) {
				m.Ecosystem.Zones = append(m.Ecosystem.Zones, &modelv1.ZoneDeclaration{Name: "Asia", OwningRepo: "acme/model@asia"})
				m.Teams = append(m.Teams, &modelv1.Team{Name: "Ops", Zone: "Asia"})
				m.Datastores = append(m.Datastores, nmStore("OpsDB", "Asia", "Ops", nmSnapshot(nmPG("", "Acme:EU"), "L"), nmDataset("d", "id")))
				m.Workspaces = append(m.Workspaces, nmWorkspace("OpsWS", "Nowhere", "Ops", nmDSG("g", nmSink("OpsDB", "d"))))
			},
			at: map[string]string{
				"zone[Asia]/team[Ops]#zone": "ops.yaml:5:9",
				"datastore[OpsDB]#zone":     "opsdb.yaml:4:9",
				"workspace[OpsWS]#zone":     "opsws.yaml:4:9",
			},
			want: []nmProblem{
				nmE(RuleZoneUndefinedForTeam, "zone[Asia]/team[Ops]", "ops.yaml:5:9", "team 'Ops' belongs to zone 'Asia', which has no GovernanceZone document"),
				nmE(RuleZoneUndefinedForTeam, "datastore[OpsDB]", "opsdb.yaml:4:9", "datastore 'OpsDB' belongs to zone 'Asia', which has no GovernanceZone document"),
				nmE(RuleZoneUndefinedForTeam, "workspace[OpsWS]", "opsws.yaml:4:9", "workspace 'OpsWS' belongs to zone 'Nowhere', which has no GovernanceZone document"),
			},
		},
	}, checkEcosystem)
}
