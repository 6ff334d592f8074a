// Package testmodel builds committed models for the scheduler's tests: the spec's example
// ecosystem (one Yellow platform, YellowLive; the SalesDB stream on a 10-minute cron; the
// CustomerTotals transformer writing SalesSummary after its inputs commit) plus any number of
// generated datastores read by the SalesAnalytics workspace, as snapshots with their digests.
package testmodel

import (
	"fmt"
	"sort"
	"strings"

	"github.com/datasurface/datasurface/model/load"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// Platform is the example's Yellow platform.
const Platform = "YellowLive"

var base = map[string]string{
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
	"europe/zone.yaml": `apiVersion: datasurface/v1
kind: GovernanceZone
metadata: {name: Europe}
spec:
  documentation: EU-resident data
  teams:
    - {name: Sales, owningRepo: acme/datasurface-model@team-sales}
    - {name: Analytics, owningRepo: acme/datasurface-model@team-analytics}
  locationPolicies:
    - {name: EUOnly, allowed: ["Acme:EU"]}
  classificationPolicies:
    - {name: NoPC3, notAllowed: [PC3]}
`,
	"platforms/core.yaml": `apiVersion: datasurface/v1
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
	"platforms/assignments.yaml": `apiVersion: datasurface/v1
kind: PlatformAssignments
metadata: {name: default}
spec:
  datasetGroups:
    - workspace: SalesAnalytics
      datasetGroup: main
      platforms:
        - {platform: YellowLive, status: PROVISIONED, productionStatus: PRODUCTION}
`,
	"europe/sales/salesdb.yaml": `apiVersion: datasurface/v1
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
	"europe/analytics/customer-totals.yaml": `apiVersion: datasurface/v1
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
---
apiVersion: datasurface/v1
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
}

// Store is a generated datastore with one dataset, items(id).
type Store struct {
	Name string
	// Cron is the trigger's cron; "" gives an external trigger.
	Cron string
}

// Model is a model under construction.
type Model struct {
	Stores []Store
	// TransformerCron gives CustomerTotals a cron trigger.
	TransformerCron string
}

// Stores returns n stores named Store0001…, all on cron.
func Stores(n int, cron string) []Store {
	out := make([]Store, n)
	for i := range out {
		out[i] = Store{Name: fmt.Sprintf("Store%04d", i+1), Cron: cron}
	}
	return out
}

// Files returns the model's files.
func (m Model) Files() map[string]string {
	files := make(map[string]string, len(base)+len(m.Stores)+1)
	for k, v := range base {
		files[k] = v
	}
	if m.TransformerCron != "" {
		ct := files["europe/analytics/customer-totals.yaml"]
		files["europe/analytics/customer-totals.yaml"] = strings.Replace(ct, "    outputDatastore: SalesSummary\n",
			fmt.Sprintf("    outputDatastore: SalesSummary\n    trigger: {cron: %q}\n", m.TransformerCron), 1)
	}
	var sinks strings.Builder
	for _, s := range m.Stores {
		trigger := "{external: {}}"
		if s.Cron != "" {
			trigger = fmt.Sprintf("{cron: %q}", s.Cron)
		}
		files["europe/sales/generated/"+strings.ToLower(s.Name)+".yaml"] = fmt.Sprintf(storeYAML, s.Name, strings.ToLower(s.Name), trigger)
		fmt.Fprintf(&sinks, "        - {datastore: %s, dataset: items}\n", s.Name)
	}
	files["europe/analytics/sales-analytics.yaml"] = workspaceYAML + sinks.String()
	return files
}

// Snapshot returns the model's snapshot (files in path order) and its digest.
func (m Model) Snapshot() (*modelv1.Snapshot, string, error) {
	files := m.Files()
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	snap := &modelv1.Snapshot{}
	lf := make([]load.File, 0, len(paths))
	for _, p := range paths {
		snap.Files = append(snap.Files, &modelv1.SnapshotFile{Path: p, Content: []byte(files[p])})
		lf = append(lf, load.File{Path: p, Content: []byte(files[p])})
	}
	res, err := load.Files(lf, load.Options{})
	if err != nil {
		return nil, "", err
	}
	if res.Model == nil {
		return nil, "", fmt.Errorf("the test model does not load: %v", res.Problems)
	}
	return snap, res.Digest, nil
}

// Load returns the canonical model.
func (m Model) Load() (*modelv1.Model, string, error) {
	snap, _, err := m.Snapshot()
	if err != nil {
		return nil, "", err
	}
	lf := make([]load.File, 0, len(snap.GetFiles()))
	for _, f := range snap.GetFiles() {
		lf = append(lf, load.File{Path: f.GetPath(), Content: f.GetContent()})
	}
	res, err := load.Files(lf, load.Options{})
	if err != nil {
		return nil, "", err
	}
	return res.Model, res.Digest, nil
}

const storeYAML = `apiVersion: datasurface/v1
kind: Datastore
metadata: {name: %s, zone: Europe, team: Sales}
spec:
  capture:
    sqlSnapshot:
      container:
        postgres: {name: %s_pg, host: gen-db.acme.internal, database: gen,
                   locations: ["Acme:EU/Frankfurt"]}
      credential: {name: SALES_PG, type: USER_PASSWORD}
      consistency: MULTI_DATASET
      trigger: %s
  datasets:
    - name: items
      classifications: [IP]
      primaryKey: [id]
      columns:
        - {name: id, type: Integer, nullable: false}
`

const workspaceYAML = `apiVersion: datasurface/v1
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
`
