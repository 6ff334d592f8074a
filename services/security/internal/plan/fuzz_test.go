package plan_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/datasurface/datasurface/model/load"
	"github.com/datasurface/datasurface/model/names"
	"github.com/datasurface/datasurface/services/security/internal/catalog"
	"github.com/datasurface/datasurface/services/security/internal/desired"
	"github.com/datasurface/datasurface/services/security/internal/plan"
	"github.com/datasurface/datasurface/services/security/internal/sqlcheck"
	"github.com/jackc/pgx/v5"
)

const modelYAML = `apiVersion: datasurface/v1
kind: Ecosystem
metadata: {name: Fuzz}
spec:
  owningRepo: fuzz/model@eco
  liveRepo: fuzz/model@main
  vendors: [{name: V, cloudVendor: PRIVATE, documentation: v, locations: [{name: L}]}]
  zones: [{name: Z, owningRepo: fuzz/model@z}]
---
apiVersion: datasurface/v1
kind: PlatformServicesProvider
metadata: {name: P}
spec:
  locations: ["V:L"]
  credentialStore: {file: {root: /nonexistent}}
  platforms:
    - name: FuzzLive
      yellow:
        milestoning: FORENSIC
        mergeDatabase: {postgres: {host: localhost, database: m, locations: ["V:L"]}}
        mergeCredential: {name: FUZZ_MERGE, type: USER_PASSWORD}
        securityCredential: {name: FUZZ_SECURITY, type: USER_PASSWORD}
---
apiVersion: datasurface/v1
kind: PlatformAssignments
metadata: {name: a}
spec:
  datasetGroups:
    - {workspace: WS, datasetGroup: g, platforms: [{platform: FuzzLive, status: PROVISIONED}]}
---
apiVersion: datasurface/v1
kind: Datastore
metadata: {name: Store, zone: Z, team: T}
spec:
  capture:
    sqlSnapshot:
      container: {postgres: {host: src, database: s, locations: ["V:L"]}}
      credential: {name: SRC, type: USER_PASSWORD}
      consistency: MULTI_DATASET
      trigger: {cron: "* * * * *"}
  datasets:
    - name: t
      primaryKey: [id]
      columns:
        - {name: id, type: Integer, nullable: false}
        - {name: secret, type: VarChar(10), classifications: [PC3]}
---
apiVersion: datasurface/v1
kind: Workspace
metadata: {name: WS, zone: Z, team: T}
spec:
  access: {consumers: [CONSUMER]}
  datasetGroups:
    - name: g
      platformRequirements: {milestoning: FORENSIC}
      sinks: [{datastore: Store, dataset: t}]
`

type creds struct{}

func (creds) MergeLogin(string) (string, error) { return "merge_login", nil }
func (creds) Transformer(string, string) (desired.TransformerSecret, error) {
	return desired.TransformerSecret{Writable: true}, nil
}

// FuzzPlanStatements sends arbitrary consumer and workspace names, and an arbitrary managed
// role name found in the catalog, through desired state and planning: every statement is exactly
// one statement (package sqlcheck), invalid names become plan errors, and a valid consumer
// appears in its GRANT exactly as pgx.Identifier quotes it.
func FuzzPlanStatements(f *testing.F) {
	for _, s := range []string{`x"; DROP TABLE t; --`, `Robert'); DROP TABLE t;--`, `a""b`, `semi;colon`, "new\nline", `ünï`, `$$`, `/*`, `\`, "nul\x00", "postgres", "fuzzlive_ws_x"} {
		f.Add(s, "WS", s)
	}
	f.Add("bi_reader", `x"; DROP TABLE t; --`, "fuzzlive_ws_old")
	f.Fuzz(func(t *testing.T, consumer, ws, liveRole string) {
		c, _ := json.Marshal(consumer)
		w, _ := json.Marshal(ws)
		doc := strings.ReplaceAll(strings.ReplaceAll(modelYAML, "CONSUMER", string(c)), "WS", string(w))
		res, err := load.Files([]load.File{{Path: "m.yaml", Content: []byte(doc)}}, load.Options{})
		if err != nil || len(res.Problems) > 0 {
			return
		}
		// JSON replaced invalid UTF-8: use the names as loaded.
		if len(res.Model.GetWorkspaces()) != 1 || len(res.Model.GetWorkspaces()[0].GetAccess().GetConsumers()) != 1 {
			return
		}
		ws = res.Model.GetWorkspaces()[0].GetName()
		consumer = res.Model.GetWorkspaces()[0].GetAccess().GetConsumers()[0]
		d, err := desired.Build(res.Model, "FuzzLive", 1, creds{})
		if err != nil {
			t.Fatal(err)
		}
		live := &catalog.Live{
			User: "sec_login", Database: "m", ServerVersion: 150000, StandardStrings: true, CanGrantConnect: true,
			Roles: map[string]catalog.Role{
				"merge_login": {Name: "merge_login", Login: true, Inherit: true},
				consumer:      {Name: consumer, Login: true, Inherit: true},
				liveRole:      {Name: liveRole, Comment: "datasurface:managed kind=workspace platform=FuzzLive workspace=Old"},
			},
			Schemas: map[string]catalog.Schema{}, Secrets: map[string]string{}, RoleBlockers: map[string][]string{}, SchemaBlockers: map[string][]string{},
		}
		p := plan.Build(d, live, plan.Options{})
		for _, a := range p.Actions {
			for _, s := range []string{a.SQL(), a.Statement} {
				if s == "" {
					continue
				}
				if err := sqlcheck.Single(s); err != nil {
					t.Fatalf("%q: %v", s, err)
				}
			}
		}
		validWS := names.IsSQLIdentifier(ws)
		validConsumer := names.IsPrincipal(consumer) && !strings.HasPrefix(strings.ToLower(consumer), "pg_") &&
			strings.ToLower(consumer) != "postgres" && strings.ToLower(consumer) != "public" && !strings.HasPrefix(strings.ToLower(consumer), "fuzzlive_")
		if !validWS && len(p.Errors) == 0 {
			t.Fatalf("workspace %q: no plan error", ws)
		}
		if validWS && !names.IsPrincipal(consumer) && len(p.Errors) == 0 {
			t.Fatalf("consumer %q: no plan error", consumer)
		}
		if validWS && validConsumer && consumer != liveRole && len(p.Errors) == 0 {
			want := "GRANT " + pgx.Identifier{strings.ToLower("fuzzlive_ws_" + ws)}.Sanitize() + " TO " + pgx.Identifier{consumer}.Sanitize()
			found := false
			for _, a := range p.Actions {
				found = found || a.SQL() == want
			}
			if len(strings.ToLower("fuzzlive_ws_"+ws)) <= 63 && !found {
				t.Fatalf("no %s in %v", want, p.Actions)
			}
		}
	})
}
