// Package mergetest holds the test model of the merge service's tests: a small ecosystem with a
// live-only and a forensic Yellow platform, a snapshot datastore (a keyed and a keyless
// dataset), a watermark datastore, a masking consumer workspace, a forensic workspace and a SQL
// transformer, written as YAML into a directory and loaded like `datasurface run-batch` loads
// it. Tests only.
package mergetest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"text/template"

	"github.com/datasurface/datasurface/model/load"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// Options vary the model between batches (yellow.md §11 schema changes).
type Options struct {
	// Host, Port, MergeDB and SourceDB place the merge and source databases.
	Host     string
	Port     int
	MergeDB  string
	SourceDB string
	// NameWidth is the width of people.name (default 50); raising it is a widening.
	NameWidth int
	// ScoreDigits is the precision of people.score (default 10); raising it is a widening.
	ScoreDigits int
	// City adds the nullable column people.city.
	City bool
	// Keep is stagingBatchesToKeep of both platforms (default 2).
	Keep int
	// Decommission sets Analytics.main DECOMMISSIONED on YellowLive.
	Decommission bool
	// BadQuery makes the transformer's query fail at run time (it divides by zero).
	BadQuery bool
	// Secondaries adds the Ledger datastore (snapshot: entries keyed, tags keyless) with
	// primary ingestion on YellowForensic, and two secondary platforms copying it from there
	// (yellow.md §8): YellowCopy (LIVE_ONLY) and YellowMirror (FORENSIC), read by workspace Books.
	Secondaries bool
}

const modelYAML = `apiVersion: datasurface/v1
kind: Ecosystem
metadata: {name: Test}
spec:
  owningRepo: test/model@eco
  liveRepo: test/model@main
  vendors:
    - name: Acme
      cloudVendor: PRIVATE
      documentation: Test vendor
      locations: [{name: EU}]
  zones:
    - {name: Europe, owningRepo: test/model@zone}
---
apiVersion: datasurface/v1
kind: GovernanceZone
metadata: {name: Europe}
spec:
  teams:
    - {name: Shop, owningRepo: test/model@shop}
---
apiVersion: datasurface/v1
kind: PlatformServicesProvider
metadata: {name: Core}
spec:
  locations: ["Acme:EU"]
  credentialStore: {env: {}}
  platforms:
    - name: YellowLive
      yellow:
        milestoning: LIVE_ONLY
        stagingBatchesToKeep: {{.Keep}}
        mergeDatabase:
          postgres: {name: merge_pg, host: "{{.Host}}", port: {{.Port}}, database: "{{.MergeDB}}", locations: ["Acme:EU"]}
        mergeCredential: {name: MERGE_PG, type: USER_PASSWORD}
        transformerTimeout: 1m
    - name: YellowForensic
      yellow:
        milestoning: FORENSIC
        stagingBatchesToKeep: {{.Keep}}
        mergeDatabase:
          postgres: {name: merge_pg, host: "{{.Host}}", port: {{.Port}}, database: "{{.MergeDB}}", locations: ["Acme:EU"]}
        mergeCredential: {name: MERGE_PG, type: USER_PASSWORD}
{{- if .Secondaries}}
    - name: YellowCopy
      yellow:
        milestoning: LIVE_ONLY
        stagingBatchesToKeep: {{.Keep}}
        mergeDatabase:
          postgres: {name: merge_pg, host: "{{.Host}}", port: {{.Port}}, database: "{{.MergeDB}}", locations: ["Acme:EU"]}
        mergeCredential: {name: MERGE_PG, type: USER_PASSWORD}
    - name: YellowMirror
      yellow:
        milestoning: FORENSIC
        stagingBatchesToKeep: {{.Keep}}
        mergeDatabase:
          postgres: {name: merge_pg, host: "{{.Host}}", port: {{.Port}}, database: "{{.MergeDB}}", locations: ["Acme:EU"]}
        mergeCredential: {name: MERGE_PG, type: USER_PASSWORD}
{{- end}}
---
apiVersion: datasurface/v1
kind: PlatformAssignments
metadata: {name: default}
spec:
  datasetGroups:
    - workspace: Analytics
      datasetGroup: main
      platforms:
        - {platform: YellowLive, status: {{if .Decommission}}DECOMMISSIONED{{else}}PROVISIONED{{end}}}
    - workspace: Audit
      datasetGroup: history
      platforms:
        - {platform: YellowForensic, status: PROVISIONED}
    - workspace: Audit
      datasetGroup: current
      platforms:
        - {platform: YellowForensic, status: PROVISIONED}
{{- if .Secondaries}}
    - workspace: Books
      datasetGroup: history
      platforms:
        - {platform: YellowForensic, status: PROVISIONED}
        - {platform: YellowMirror, status: PROVISIONED}
    - workspace: Books
      datasetGroup: current
      platforms:
        - {platform: YellowCopy, status: PROVISIONED}
  primaryIngestion:
    - datastore: Ledger
      platforms: [YellowForensic]
{{- end}}
---
apiVersion: datasurface/v1
kind: Datastore
metadata: {name: Shop, zone: Europe, team: Shop}
spec:
  capture:
    sqlSnapshot:
      container:
        postgres: {name: shop_pg, host: "{{.Host}}", port: {{.Port}}, database: "{{.SourceDB}}", locations: ["Acme:EU"]}
      credential: {name: SHOP_PG, type: USER_PASSWORD}
      consistency: MULTI_DATASET
      trigger: {cron: "*/10 * * * *"}
      sourceTables: {people: public.people, visits: public.visits}
  datasets:
    - name: people
      primaryKey: [id]
      columns:
        - {name: id, type: Integer, nullable: false, classifications: [IP]}
        - {name: name, type: VarChar({{.NameWidth}}), classifications: [PUB]}
        - {name: email, type: VarChar(100), classifications: [PC1]}
        - {name: score, type: "Decimal({{.ScoreDigits}},2)", classifications: [IP]}
{{- if .City}}
        - {name: city, type: VarChar(30), classifications: [PUB]}
{{- end}}
    - name: visits
      classifications: [IP]
      columns:
        - {name: person_id, type: Integer, nullable: false}
        - {name: page, type: VarChar(50), nullable: false}
---
apiVersion: datasurface/v1
kind: Datastore
metadata: {name: Clicks, zone: Europe, team: Shop}
spec:
  capture:
    sqlWatermark:
      container:
        postgres: {name: shop_pg, host: "{{.Host}}", port: {{.Port}}, database: "{{.SourceDB}}", locations: ["Acme:EU"]}
      credential: {name: SHOP_PG, type: USER_PASSWORD}
      consistency: SINGLE_DATASET
      trigger: {cron: "*/10 * * * *"}
      watermarkColumn: updated_at
      sourceTables: {clicks: public.clicks}
  datasets:
    - name: clicks
      classifications: [IP]
      primaryKey: [id]
      columns:
        - {name: id, type: Integer, nullable: false}
        - {name: target, type: VarChar(50)}
        - {name: updated_at, type: Timestamp, nullable: false}
---
apiVersion: datasurface/v1
kind: Datastore
metadata: {name: Stats, zone: Europe, team: Shop}
spec:
  capture: {transformerOutput: {workspace: PeopleStats}}
  datasets:
    - name: totals
      classifications: [IP]
      primaryKey: [person_id]
      columns:
        - {name: person_id, type: Integer, nullable: false}
        - {name: visits, type: BigInt, nullable: false}
{{- if .Secondaries}}
---
apiVersion: datasurface/v1
kind: Datastore
metadata: {name: Ledger, zone: Europe, team: Shop}
spec:
  capture:
    sqlSnapshot:
      container:
        postgres: {name: shop_pg, host: "{{.Host}}", port: {{.Port}}, database: "{{.SourceDB}}", locations: ["Acme:EU"]}
      credential: {name: SHOP_PG, type: USER_PASSWORD}
      consistency: MULTI_DATASET
      trigger: {cron: "*/10 * * * *"}
      sourceTables: {entries: public.entries, tags: public.tags}
  datasets:
    - name: entries
      classifications: [IP]
      primaryKey: [id]
      columns:
        - {name: id, type: Integer, nullable: false}
        - {name: owner, type: VarChar(20)}
        - {name: amount, type: "Decimal(10,2)"}
        - {name: at, type: Timestamp}
        - {name: raw, type: Binary}
        - {name: ok, type: Boolean}
    - name: tags
      classifications: [IP]
      columns:
        - {name: entry_id, type: Integer, nullable: false}
        - {name: tag, type: VarChar(20)}
---
apiVersion: datasurface/v1
kind: Workspace
metadata: {name: Books, zone: Europe, team: Shop}
spec:
  access:
    approvedClassifications: [PUB, IP]
  datasetGroups:
    - name: history
      platformRequirements: {milestoning: FORENSIC}
      sinks:
        - {datastore: Ledger, dataset: entries}
        - {datastore: Ledger, dataset: tags}
    - name: current
      platformRequirements: {milestoning: LIVE_ONLY}
      sinks:
        - {datastore: Ledger, dataset: entries}
        - {datastore: Ledger, dataset: tags}
{{- end}}
---
apiVersion: datasurface/v1
kind: Workspace
metadata: {name: Analytics, zone: Europe, team: Shop}
spec:
  access:
    approvedClassifications: [PUB, IP]
  datasetGroups:
    - name: main
      platformRequirements: {milestoning: LIVE_ONLY}
      sinks:
        - {datastore: Clicks, dataset: clicks}
        - {datastore: Shop, dataset: people}
        - {datastore: Shop, dataset: visits}
        - {datastore: Stats, dataset: totals}
---
apiVersion: datasurface/v1
kind: Workspace
metadata: {name: Audit, zone: Europe, team: Shop}
spec:
  access:
    approvedClassifications: [PUB, IP, PC1]
  datasetGroups:
    - name: current
      platformRequirements: {milestoning: LIVE_WITH_FORENSIC_HISTORY}
      sinks:
        - {datastore: Shop, dataset: people}
    - name: history
      platformRequirements: {milestoning: FORENSIC}
      sinks:
        - {datastore: Clicks, dataset: clicks}
        - {datastore: Shop, dataset: people}
        - {datastore: Shop, dataset: visits}
---
apiVersion: datasurface/v1
kind: Workspace
metadata: {name: PeopleStats, zone: Europe, team: Shop}
spec:
  access:
    approvedClassifications: [PUB, IP]
  datasetGroups:
    - name: inputs
      sinks:
        - {datastore: Shop, dataset: people}
        - {datastore: Shop, dataset: visits}
  transformer:
    name: people_stats
    outputDatastore: Stats
    code:
      sql:
        totals: |
          SELECT p.id AS person_id, count(v.page){{if .BadQuery}} / 0{{end}} AS visits
          FROM {{"{{"}} inputs.Shop.people {{"}}"}} p
          LEFT JOIN {{"{{"}}inputs.Shop.visits{{"}}"}} v ON v.person_id = p.id
          GROUP BY p.id;
`

var tmpl = template.Must(template.New("model").Parse(modelYAML))

// Write writes the model for o into dir (model.yaml) and returns dir.
func Write(t testing.TB, dir string, o Options) string {
	t.Helper()
	if o.NameWidth == 0 {
		o.NameWidth = 50
	}
	if o.ScoreDigits == 0 {
		o.ScoreDigits = 10
	}
	if o.Keep == 0 {
		o.Keep = 2
	}
	if o.Host == "" {
		o.Host, o.Port, o.MergeDB, o.SourceDB = "127.0.0.1", 5432, "merge", "source"
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, o); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "model.yaml"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Load writes the model for o into a new directory and loads it; load problems fail the test.
func Load(t testing.TB, o Options) *modelv1.Model { return LoadResult(t, o).Model }

// LoadResult is Load returning the whole load result (for lint).
func LoadResult(t testing.TB, o Options) *load.Result {
	t.Helper()
	dir := Write(t, t.TempDir(), o)
	res, err := load.Dir(dir, load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) > 0 {
		for _, p := range res.Problems {
			t.Errorf("load: %v", p)
		}
		t.FailNow()
	}
	return res
}
