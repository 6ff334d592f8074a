package benchyellow

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"text/template"

	"github.com/datasurface/datasurface/model/load"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// Platforms and streams of the bench model.
const (
	LivePlatform     = "BenchLive"
	ForensicPlatform = "BenchForensic"
	// BigStream is the large snapshot stream (source table public.big); SmallStream the 10-row
	// one (public.small), consumed by the live platform only.
	BigStream   = "Big"
	SmallStream = "Small"
)

// sourceDDL creates the source tables: about 200 bytes of COPY text per row.
const sourceDDL = `CREATE TABLE big (id bigint PRIMARY KEY, name text, amount numeric(12,2), created timestamptz, note text, flag boolean);
CREATE TABLE small (LIKE big INCLUDING ALL)`

// fill is the source row of id g.
const fill = `g, 'name-' || g, (g % 100000) / 100.0, '2026-01-01'::timestamptz + g * interval '1 second', repeat(md5(g::text), 4), g % 2 = 0`

// columns are the model columns, in order, with the source read expressions of the physical
// limit (the same casts the ingest's read query applies).
var columns = []struct{ name, read string }{
	{"id", `"id"`}, {"name", `"name"::character varying(50)`}, {"amount", `"amount"`},
	{"created", `("created" AT TIME ZONE 'UTC')`}, {"note", `"note"::character varying(200)`}, {"flag", `"flag"`},
}

const modelYAML = `apiVersion: datasurface/v1
kind: Ecosystem
metadata: {name: Bench}
spec:
  owningRepo: bench/model@eco
  liveRepo: bench/model@main
  vendors:
    - name: Acme
      cloudVendor: PRIVATE
      documentation: Bench vendor
      locations: [{name: EU}]
  zones:
    - {name: Europe, owningRepo: bench/model@zone}
---
apiVersion: datasurface/v1
kind: GovernanceZone
metadata: {name: Europe}
spec:
  teams:
    - {name: Bench, owningRepo: bench/model@team}
---
apiVersion: datasurface/v1
kind: PlatformServicesProvider
metadata: {name: Core}
spec:
  locations: ["Acme:EU"]
  credentialStore: {env: {}}
  platforms:
{{- range .Platforms}}
    - name: {{.Name}}
      yellow:
        milestoning: {{.Milestoning}}
        stagingBatchesToKeep: 1
        mergeDatabase:
          postgres: {name: merge_pg, host: "{{$.Host}}", port: {{$.Port}}, database: "{{$.MergeDB}}", locations: ["Acme:EU"]}
        mergeCredential: {name: MERGE_PG, type: USER_PASSWORD}
{{- end}}
---
apiVersion: datasurface/v1
kind: PlatformAssignments
metadata: {name: default}
spec:
  datasetGroups:
    - workspace: Reader
      datasetGroup: live
      platforms:
        - {platform: BenchLive, status: PROVISIONED}
    - workspace: Reader
      datasetGroup: history
      platforms:
        - {platform: BenchForensic, status: PROVISIONED}
{{- range .Stores}}
---
apiVersion: datasurface/v1
kind: Datastore
metadata: {name: {{.Name}}, zone: Europe, team: Bench}
spec:
  capture:
    sqlSnapshot:
      container:
        postgres: {name: source_pg, host: "{{$.Host}}", port: {{$.Port}}, database: "{{$.SourceDB}}", locations: ["Acme:EU"]}
      credential: {name: SOURCE_PG, type: USER_PASSWORD}
      consistency: MULTI_DATASET
      trigger: {cron: "*/10 * * * *"}
      sourceTables: {rows: public.{{.Table}}}
  datasets:
    - name: rows
      classifications: [PUB]
      primaryKey: [id]
      columns:
        - {name: id, type: BigInt, nullable: false}
        - {name: name, type: VarChar(50)}
        - {name: amount, type: "Decimal(12,2)"}
        - {name: created, type: Timestamp}
        - {name: note, type: VarChar(200)}
        - {name: flag, type: Boolean}
{{- end}}
---
apiVersion: datasurface/v1
kind: Workspace
metadata: {name: Reader, zone: Europe, team: Bench}
spec:
  access:
    approvedClassifications: [PUB]
  datasetGroups:
    - name: live
      platformRequirements: {milestoning: LIVE_ONLY}
      sinks:
        - {datastore: Big, dataset: rows}
        - {datastore: Small, dataset: rows}
    - name: history
      platformRequirements: {milestoning: FORENSIC}
      sinks:
        - {datastore: Big, dataset: rows}
`

var tmpl = template.Must(template.New("model").Parse(modelYAML))

// placement says where the bench databases are.
type placement struct {
	Host     string
	Port     int
	MergeDB  string
	SourceDB string
}

// loadModel writes the bench model into dir and loads it.
func loadModel(dir string, p placement) (*modelv1.Model, error) {
	data := struct {
		placement
		Platforms []struct{ Name, Milestoning string }
		Stores    []struct{ Name, Table string }
	}{placement: p,
		Platforms: []struct{ Name, Milestoning string }{{LivePlatform, "LIVE_ONLY"}, {ForensicPlatform, "FORENSIC"}},
		Stores:    []struct{ Name, Table string }{{BigStream, "big"}, {SmallStream, "small"}},
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, data); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "model.yaml"), b.Bytes(), 0o644); err != nil {
		return nil, err
	}
	res, err := load.Dir(dir, load.Options{})
	if err != nil {
		return nil, fmt.Errorf("load the bench model: %w", err)
	}
	if len(res.Problems) > 0 {
		return nil, fmt.Errorf("bench model: %v", res.Problems[0])
	}
	return res.Model, nil
}
