package schematest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/datasurface/datasurface/model/schema"
)

const schemaURL = "https://datasurface.invalid/model-v1.schema.json"

func compile(t *testing.T, locations ...string) []*jsonschema.Schema {
	t.Helper()
	b, err := schema.JSON()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(schemaURL, doc); err != nil {
		t.Fatal(err)
	}
	var out []*jsonschema.Schema
	for _, loc := range locations {
		s, err := c.Compile(schemaURL + loc)
		if err != nil {
			t.Fatalf("compile %s: %v", loc, err)
		}
		out = append(out, s)
	}
	return out
}

// documents splits a YAML stream into its documents as JSON values (what an editor validates).
func documents(t *testing.T, src string) []any {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(src))
	var out []any
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if v == nil {
			continue // an empty document
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, inst)
	}
}

func kindOf(doc any) string {
	m, _ := doc.(map[string]any)
	k, _ := m["kind"].(string)
	return k
}

func TestSpecExampleValidates(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "spec-example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := compile(t, "")[0]
	docs := documents(t, string(src))
	var kinds []string
	for i, doc := range docs {
		kinds = append(kinds, kindOf(doc))
		if err := s.Validate(doc); err != nil {
			t.Errorf("document %d (%s): %v", i+1, kindOf(doc), err)
		}
	}
	want := "Datastore Datastore Ecosystem GovernanceZone PlatformAssignments PlatformServicesProvider Workspace Workspace"
	sort.Strings(kinds)
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("kinds = %s, want %s", got, want)
	}
}

func TestValidDocuments(t *testing.T) {
	tests := []struct {
		name string
		yaml string
	}{
		{"team with containers", `
apiVersion: datasurface/v1
kind: Team
metadata: {name: Sales, zone: Europe}
spec:
  documentation: {description: The sales team, markdown: "# Sales", tags: {cost: "42"}}
  containers:
    - postgres: {name: shared_pg, host: pg.internal, database: sales, locations: ["Acme:EU"]}
    - kafka: {name: cdc, bootstrapServers: ["kafka:9092"], locations: ["Acme:EU"]}
`},
		{"data type forms", `
apiVersion: datasurface/v1
kind: Datastore
metadata: {name: Types, zone: Europe, team: Sales}
spec:
  capture: {transformerOutput: {workspace: W}}
  approvals: [{workspace: W, datasetGroup: g, dataset: t}]
  datasets:
    - name: t
      classifications: [{type: PC1, label: name}, PUB]
      columns:
        - {name: a, type: Vector(768)}
        - {name: b, type: {type: Array, elementType: IEEE32, maxSize: 10}}
        - {name: c, type: {type: Map, keyType: VarChar(10), valueType: {type: Decimal, precision: 5}}}
        - {name: d, type: {type: Struct, fields: [{name: x, type: Integer, nullable: false}]}}
        - {name: e, type: {type: Geography, geometryType: POINT}}
        - {name: f, type: {type: CustomFloat, maxExponent: 15, minExponent: -14, precision: 11, sizeInBits: 16, nonFinite: IEEE754}}
        - {name: g, type: {type: MicroScalingFloat, batchSize: 32, scaleType: FP8_E8M0, elementType: FP4_E2M1}}
        - {name: h, type: {type: Timestamp, timeZone: Europe/Berlin}}
        - {name: i, type: "Decimal(12, 2)"}
`},
		{"workspace with image transformer", `
apiVersion: datasurface/v1
kind: Workspace
metadata: {name: W, zone: Europe, team: Sales}
spec:
  container: {ref: shared_pg}
  datasetGroups:
    - name: g
      platformRequirements: {milestoning: FORENSIC}
      sinks: [{datastore: S, dataset: t, deprecationsAllowed: ALLOWED}]
  transformer:
    name: tx
    outputDatastore: Out
    trigger: {external: {}}
    code: {image: {image: "acme/tx:1", args: [run], env: {MODE: fast}}}
`},
		{"psp with env store and legacy platform", `
apiVersion: datasurface/v1
kind: PlatformServicesProvider
metadata: {name: Old}
spec:
  locations: ["Acme:EU"]
  credentialStore: {env: {}}
  platforms: [{name: Legacy, legacy: {}}]
`},
	}
	s := compile(t, "")[0]
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, doc := range documents(t, tt.yaml) {
				if err := s.Validate(doc); err != nil {
					t.Errorf("want valid, got %v", err)
				}
			}
		})
	}
}

func TestInvalidDocuments(t *testing.T) {
	const team = "apiVersion: datasurface/v1\nkind: Team\nmetadata: {name: Sales, zone: Europe}\n"
	const vendor = "apiVersion: datasurface/v1\nkind: Ecosystem\nmetadata: {name: Acme}\nspec:\n  owningRepo: a/b@x\n  liveRepo: a/b@y\n  vendors:\n    - {name: V, documentation: d, "
	tests := []struct {
		name string
		yaml string
	}{
		{"unknown spec field", team + "spec: {owner: sales}\n"},
		{"unknown top-level key", team + "spec: {}\nstatus: {}\n"},
		{"unknown metadata field", "apiVersion: datasurface/v1\nkind: Team\nmetadata: {name: Sales, zone: Europe, team: x}\nspec: {}\n"},
		{"metadata field missing", "apiVersion: datasurface/v1\nkind: Team\nmetadata: {name: Sales}\nspec: {}\n"},
		{"spec missing", team},
		{"wrong apiVersion", "apiVersion: datasurface/v2\nkind: Team\nmetadata: {name: Sales, zone: Europe}\nspec: {}\n"},
		{"unknown kind", "apiVersion: datasurface/v1\nkind: Widget\nmetadata: {name: x}\nspec: {}\n"},
		{"bad enum value", vendor + "cloudVendor: AMAZON}\n"},
		{"prefixed enum value", vendor + "cloudVendor: CLOUD_VENDOR_AWS}\n"},
		{"UNSPECIFIED enum value", vendor + "cloudVendor: UNSPECIFIED}\n"},
		{"required field missing", vendor + "locations: []}\n"},
		{"wrong scalar type", team + "spec: {documentation: 42}\n"},
		{"two oneof variants", team + "spec:\n  containers: [{postgres: {host: h, database: d}, ref: x}]\n"},
		{"no oneof variant", team + "spec:\n  containers: [{}]\n"},
		{"min items", "apiVersion: datasurface/v1\nkind: PlatformServicesProvider\nmetadata: {name: P}\nspec: {locations: [], credentialStore: {env: {}}, platforms: [{name: L, legacy: {}}]}\n"},
		{"bad data type shorthand", "apiVersion: datasurface/v1\nkind: Datastore\nmetadata: {name: S, zone: Z, team: T}\nspec:\n  capture: {transformerOutput: {workspace: W}}\n  datasets: [{name: t, columns: [{name: c, type: Varchar(10)}]}]\n"},
		{"data type parameter of another type", "apiVersion: datasurface/v1\nkind: Datastore\nmetadata: {name: S, zone: Z, team: T}\nspec:\n  capture: {transformerOutput: {workspace: W}}\n  datasets: [{name: t, columns: [{name: c, type: {type: Integer, maxSize: 3}}]}]\n"},
		{"decimal without precision", "apiVersion: datasurface/v1\nkind: Datastore\nmetadata: {name: S, zone: Z, team: T}\nspec:\n  capture: {transformerOutput: {workspace: W}}\n  datasets: [{name: t, columns: [{name: c, type: {type: Decimal, scale: 2}}]}]\n"},
	}
	s := compile(t, "")[0]
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs := documents(t, tt.yaml)
			if len(docs) != 1 {
				t.Fatalf("%d documents, want 1", len(docs))
			}
			if err := s.Validate(docs[0]); err == nil {
				t.Error("want a validation error, got none")
			}
		})
	}
}

// TestDefaultsValidate checks every `default` in the schema against the schema it annotates, so
// a (field).default in the proto that the YAML format would reject is caught here.
func TestDefaultsValidate(t *testing.T) {
	b, err := schema.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	defaults := map[string]any{}
	var walk func(pointer string, v any)
	walk = func(pointer string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				if k == "default" {
					defaults[pointer] = child
					continue
				}
				walk(pointer+"/"+strings.NewReplacer("~", "~0", "/", "~1").Replace(k), child)
			}
		case []any:
			for i, child := range v {
				walk(pointer+"/"+itoa(i), child)
			}
		}
	}
	walk("", doc)
	if len(defaults) < 10 {
		t.Fatalf("found %d defaults, want at least 10", len(defaults))
	}
	var locations []string
	for p := range defaults {
		locations = append(locations, "#"+p)
	}
	sort.Strings(locations)
	for i, s := range compile(t, locations...) {
		p := strings.TrimPrefix(locations[i], "#")
		b, _ := json.Marshal(defaults[p])
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(inst); err != nil {
			t.Errorf("default %s at %s does not validate: %v", b, p, err)
		}
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
