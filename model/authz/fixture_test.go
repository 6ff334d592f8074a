package authz_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/datasurface/datasurface/model/load"
	"github.com/datasurface/datasurface/model/problem"
)

// Repositories of the fixture (the example of spec/model.md §5 plus an empty team Marketing).
const (
	ecoRepo       = "acme/datasurface-model@eco"
	zoneRepo      = "acme/datasurface-model@zone-europe"
	salesRepo     = "acme/datasurface-model@team-sales"
	analyticsRepo = "acme/datasurface-model@team-analytics"
	marketingRepo = "acme/datasurface-model@team-marketing"
)

// baseFiles is the spec's example model split into one file per document, with an extra team
// Marketing that is declared but not defined.
func baseFiles() map[string]string {
	return map[string]string{
		"ecosystem.yaml": `apiVersion: datasurface/v1
kind: Ecosystem
metadata: {name: Acme}
spec:
  owningRepo: acme/datasurface-model@eco
  liveRepo: acme/datasurface-model@main
  documentation: Acme's data ecosystem
  vendors:
    - name: Acme
      cloudVendor: PRIVATE
      documentation: Acme's own data centres
      locations:
        - name: EU
          children: [{name: Frankfurt}]
  zones:
    - {name: Europe, owningRepo: acme/datasurface-model@zone-europe}
`,
		"platforms.yaml": `apiVersion: datasurface/v1
kind: PlatformServicesProvider
metadata: {name: Core}
spec:
  locations: ["Acme:EU/Frankfurt"]
  credentialStore: {file: {root: /run/secrets/datasurface}}
  platforms:
    - name: YellowLive
      documentation: Live-only Yellow platform
      yellow:
        milestoning: LIVE_ONLY
        stagingBatchesToKeep: 20
        mergeDatabase:
          postgres: {host: merge-db.acme.internal, port: 5432, database: ds_merge,
                     locations: ["Acme:EU/Frankfurt"]}
        mergeCredential: {name: YELLOWLIVE_MERGE, type: USER_PASSWORD}
        securityCredential: {name: YELLOWLIVE_SECURITY, type: USER_PASSWORD}
`,
		"assignments.yaml": `apiVersion: datasurface/v1
kind: PlatformAssignments
metadata: {name: default}
spec:
  datasetGroups:
    - workspace: SalesAnalytics
      datasetGroup: main
      platforms:
        - {platform: YellowLive, status: PROVISIONED, productionStatus: PRODUCTION}
`,
		"zones/europe.yaml": `apiVersion: datasurface/v1
kind: GovernanceZone
metadata: {name: Europe}
spec:
  documentation: EU-resident data
  teams:
    - {name: Sales, owningRepo: acme/datasurface-model@team-sales}
    - {name: Analytics, owningRepo: acme/datasurface-model@team-analytics}
    - {name: Marketing, owningRepo: acme/datasurface-model@team-marketing}
  locationPolicies:
    - {name: EUOnly, allowed: ["Acme:EU"]}
  classificationPolicies:
    - {name: NoPC3, notAllowed: [PC3]}
`,
		"teams/sales/salesdb.yaml": `apiVersion: datasurface/v1
kind: Datastore
metadata: {name: SalesDB, zone: Europe, team: Sales}
spec:
  documentation: The order-entry system's database
  productionStatus: PRODUCTION
  capture:
    sqlSnapshot:
      container:
        postgres: {name: sales_pg, host: sales-db.acme.internal, database: sales,
                   locations: ["Acme:EU/Frankfurt"]}
      credential: {name: SALES_PG, type: USER_PASSWORD}
      consistency: MULTI_DATASET
      trigger: {cron: "*/10 * * * *"}
      sourceTables: {customers: public.customers, orders: public.orders}
  datasets:
    - name: customers
      primaryKey: [id]
      columns:
        - {name: id, type: Integer, nullable: false, classifications: [IP]}
        - {name: name, type: VarChar(100), nullable: false, classifications: [PC1]}
        - {name: email, type: VarChar(200), classifications: [PC1]}
        - {name: country, type: Char(2), classifications: [PUB]}
    - name: orders
      classifications: [IP]
      primaryKey: [order_id]
      columns:
        - {name: order_id, type: BigInt, nullable: false}
        - {name: customer_id, type: Integer, nullable: false}
        - {name: amount, type: "Decimal(12,2)", nullable: false}
        - {name: placed_at, type: Timestamp, nullable: false}
`,
		"teams/analytics/salessummary.yaml": `apiVersion: datasurface/v1
kind: Datastore
metadata: {name: SalesSummary, zone: Europe, team: Analytics}
spec:
  productionStatus: PRODUCTION
  capture: {transformerOutput: {workspace: CustomerTotals}}
  datasets:
    - name: customer_totals
      classifications: [IP]
      primaryKey: [customer_id]
      columns:
        - {name: customer_id, type: Integer, nullable: false}
        - {name: country, type: Char(2)}
        - {name: order_count, type: BigInt, nullable: false}
        - {name: total_amount, type: {type: Decimal, precision: 14, scale: 2}, nullable: false}
`,
		"teams/analytics/customertotals.yaml": `apiVersion: datasurface/v1
kind: Workspace
metadata: {name: CustomerTotals, zone: Europe, team: Analytics}
spec:
  productionStatus: PRODUCTION
  datasetGroups:
    - name: inputs
      sinks:
        - {datastore: SalesDB, dataset: customers}
        - {datastore: SalesDB, dataset: orders}
  transformer:
    name: customer_totals_tx
    outputDatastore: SalesSummary
    code:
      sql:
        customer_totals: |
          SELECT c.id AS customer_id, c.country,
                 count(o.order_id) AS order_count,
                 coalesce(sum(o.amount), 0) AS total_amount
          FROM {{ inputs.SalesDB.customers }} c
          LEFT JOIN {{ inputs.SalesDB.orders }} o ON o.customer_id = c.id
          GROUP BY c.id, c.country
`,
		"teams/analytics/salesanalytics.yaml": `apiVersion: datasurface/v1
kind: Workspace
metadata: {name: SalesAnalytics, zone: Europe, team: Analytics}
spec:
  productionStatus: PRODUCTION
  priority: HIGH
  access:
    consumers: [bi_reader]
    approvedClassifications: [PUB, IP]
  datasetGroups:
    - name: main
      platformRequirements: {milestoning: LIVE_ONLY, latency: MINUTES}
      sinks:
        - {datastore: SalesDB, dataset: orders}
        - {datastore: SalesSummary, dataset: customer_totals}
`,
	}
}

// edit is one change of a model tree.
type edit func(t *testing.T, files map[string]string)

// replace replaces the first occurrence of old in file.
func replace(file, old, new string) edit {
	return func(t *testing.T, files map[string]string) {
		t.Helper()
		s, ok := files[file]
		if !ok || !strings.Contains(s, old) {
			t.Fatalf("fixture: %q not found in %s", old, file)
		}
		files[file] = strings.Replace(s, old, new, 1)
	}
}

// put writes (or overwrites) a file.
func put(file, content string) edit {
	return func(_ *testing.T, files map[string]string) { files[file] = content }
}

// remove deletes a file.
func remove(file string) edit {
	return func(t *testing.T, files map[string]string) {
		t.Helper()
		if _, ok := files[file]; !ok {
			t.Fatalf("fixture: no file %s", file)
		}
		delete(files, file)
	}
}

// apply returns a copy of files with the edits applied.
func apply(t *testing.T, files map[string]string, edits ...edit) map[string]string {
	t.Helper()
	out := maps.Clone(files)
	for _, e := range edits {
		e(t, out)
	}
	return out
}

// loadFiles loads a model tree and fails the test on any load problem.
func loadFiles(t *testing.T, files map[string]string, side problem.Side) *load.Result {
	t.Helper()
	var in []load.File
	for _, p := range slices.Sorted(maps.Keys(files)) {
		in = append(in, load.File{Path: p, Content: []byte(files[p])})
	}
	res, err := load.Files(in, load.Options{Side: side})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	for _, p := range res.Problems {
		if p.Severity == problem.Error {
			t.Fatalf("load: %s: %s %s", p.Pos, p.Rule.ID, p.Message)
		}
	}
	return res
}

// render formats problems as "position rule-id phase: message" lines.
func render(ps []problem.Problem) []string {
	var out []string
	for _, p := range ps {
		loc := "-"
		if !p.Pos.IsZero() {
			loc = p.Pos.String()
		}
		out = append(out, loc+" "+p.Rule.ID+" "+p.Phase+" "+p.Path+": "+p.Message)
	}
	return out
}
