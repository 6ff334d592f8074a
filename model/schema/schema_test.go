package schema

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/schema.json from the proto definitions")

// TestGolden keeps testdata/schema.json equal to the generated schema; regenerate with
// `go test ./model/schema -update` after changing the proto definitions.
func TestGolden(t *testing.T) {
	got, err := JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "schema.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("schema differs from %s; run `go test ./model/schema -update` (-want +got):\n%s", golden, diff)
	}
	again, err := JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, again) {
		t.Error("two calls of JSON returned different bytes")
	}
}

// lookup follows a JSON pointer (RFC 6901) through decoded JSON.
func lookup(t *testing.T, doc any, pointer string) any {
	t.Helper()
	cur := doc
	for _, tok := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				t.Fatalf("%s: no key %q", pointer, tok)
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				t.Fatalf("%s: no element %q", pointer, tok)
			}
			cur = c[i]
		default:
			t.Fatalf("%s: %q is inside a scalar", pointer, tok)
		}
	}
	return cur
}

func TestSchemaShape(t *testing.T) {
	b, err := JSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		pointer string
		want    any
	}{
		{"dialect", "/$schema", "https://json-schema.org/draft/2020-12/schema"},
		{"one schema per kind", "/oneOf", []any{
			map[string]any{"$ref": "#/$defs/EcosystemDocument"},
			map[string]any{"$ref": "#/$defs/PlatformServicesProviderDocument"},
			map[string]any{"$ref": "#/$defs/PlatformAssignmentsDocument"},
			map[string]any{"$ref": "#/$defs/GovernanceZoneDocument"},
			map[string]any{"$ref": "#/$defs/TeamDocument"},
			map[string]any{"$ref": "#/$defs/DatastoreDocument"},
			map[string]any{"$ref": "#/$defs/WorkspaceDocument"},
		}},
		{"apiVersion", "/$defs/TeamDocument/properties/apiVersion/const", "datasurface/v1"},
		{"kind", "/$defs/DatastoreDocument/properties/kind/const", "Datastore"},
		{"envelope closed", "/$defs/DatastoreDocument/additionalProperties", false},
		{"metadata fields", "/$defs/DatastoreDocument/properties/metadata/required", []any{"name", "zone", "team"}},
		{"spec without metadata fields", "/$defs/Datastore/required", []any{"capture", "datasets"}},
		{"json names", "/$defs/Ecosystem/required", []any{"owningRepo", "liveRepo"}},
		{"min items", "/$defs/Datastore/properties/datasets/minItems", float64(1)},
		{"enum without prefix and UNSPECIFIED", "/$defs/Priority/enum", []any{"UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"}},
		{"enum default", "/$defs/Compatibility/properties/mode/default", "BACKWARD"},
		{"mapping default", "/$defs/Workspace/properties/container/default", map[string]any{"platformManaged": map[string]any{}}},
		{"list default", "/$defs/Access/properties/approvedClassifications/default", []any{"PUB", "IP"}},
		{"number default", "/$defs/YellowPlatform/properties/stagingBatchesToKeep/default", float64(50)},
		{"bool default", "/$defs/Column/properties/nullable/default", true},
		{"string default", "/$defs/YellowPlatform/properties/transformerTimeout/default", "30m"},
		{"scalar field", "/$defs/Documentation/anyOf/0", map[string]any{"type": "string"}},
		{"scalar enum field", "/$defs/Classification/anyOf/0", map[string]any{"$ref": "#/$defs/ClassificationType"}},
		{"inline list", "/$defs/Approvals/items", map[string]any{"$ref": "#/$defs/Approval"}},
		{"inline map", "/$defs/SqlTransformerCode/additionalProperties", map[string]any{"type": "string"}},
		{"message description", "/$defs/Credential/description", "Credential names a secret; the secret itself never appears in the model."},
		{"field description without the proto name", "/$defs/YellowPlatform/properties/transformerTimeout/description", "a Go-style duration such as `30m`."},
		{"field description with the JSON name", "/$defs/Ecosystem/properties/vendors/description", "vendors sorted by name."},
		{"enum description", "/$defs/CloudVendor/description", "CloudVendor is the hyperscaler (or PRIVATE) behind a vendor."},
		{"string map", "/$defs/SqlSnapshotCapture/properties/sourceTables/additionalProperties", map[string]any{"type": "string"}},
		{"oneof", "/$defs/Trigger/oneOf", []any{
			map[string]any{"required": []any{"cron"}},
			map[string]any{"required": []any{"external"}},
		}},
		{"custom data type shorthand", "/$defs/DataType/anyOf/0/type", "string"},
		{"custom data type enum param", "/$defs/DataType/anyOf/1/oneOf/2/properties/nonFinite/$ref", "#/$defs/FloatNonFinite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, lookup(t, doc, tt.pointer)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.pointer, diff)
			}
		})
	}
}

func TestUpperSnake(t *testing.T) {
	tests := map[string]string{
		"CloudVendor":         "CLOUD_VENDOR",
		"FloatNonFinite":      "FLOAT_NON_FINITE",
		"CdcFormat":           "CDC_FORMAT",
		"HTTPServer":          "HTTP_SERVER",
		"Priority":            "PRIORITY",
		"DeprecationsAllowed": "DEPRECATIONS_ALLOWED",
		"Version2Name":        "VERSION2_NAME",
	}
	for in, want := range tests {
		if got := UpperSnake(in); got != want {
			t.Errorf("UpperSnake(%q) = %q, want %q", in, got, want)
		}
	}
}
