package gate_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/datasurface/datasurface/model/gate"
	"github.com/google/go-cmp/cmp"
)

func errAs[T error](err error, target *T) bool { return errors.As(err, target) }

// validateSchema checks doc against the embedded report schema with a small validator that
// covers the keywords the schema uses: type, const, enum, properties, required,
// additionalProperties, items, minItems, maxItems, oneOf, $ref, pattern, minimum.
func validateSchema(t *testing.T, doc any) []string {
	t.Helper()
	var schema map[string]any
	if err := json.Unmarshal(gate.ReportSchema(), &schema); err != nil {
		t.Fatalf("report schema is not JSON: %v", err)
	}
	v := &validator{root: schema}
	v.check("$", schema, doc)
	return v.errs
}

type validator struct {
	root map[string]any
	errs []string
}

func (v *validator) errorf(at, format string, args ...any) {
	v.errs = append(v.errs, at+": "+fmt.Sprintf(format, args...))
}

func jsonType(x any) string {
	switch n := x.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if n == float64(int64(n)) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

func (v *validator) check(at string, s map[string]any, x any) {
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/$defs/")
		def, ok := v.root["$defs"].(map[string]any)[name].(map[string]any)
		if !ok {
			v.errorf(at, "unknown $ref %s", ref)
			return
		}
		v.check(at, def, x)
	}
	if typ, ok := s["type"]; ok {
		var types []string
		switch tt := typ.(type) {
		case string:
			types = []string{tt}
		case []any:
			for _, e := range tt {
				types = append(types, e.(string))
			}
		}
		got := jsonType(x)
		if !slices.Contains(types, got) && !(got == "integer" && slices.Contains(types, "number")) {
			v.errorf(at, "type %s, want %v", got, types)
			return
		}
	}
	if c, ok := s["const"]; ok && !reflect.DeepEqual(c, x) {
		v.errorf(at, "value %v, want %v", x, c)
	}
	if e, ok := s["enum"].([]any); ok && !slices.ContainsFunc(e, func(a any) bool { return reflect.DeepEqual(a, x) }) {
		v.errorf(at, "value %v not in %v", x, e)
	}
	if p, ok := s["pattern"].(string); ok {
		if str, isStr := x.(string); isStr && !regexp.MustCompile(p).MatchString(str) {
			v.errorf(at, "%q does not match %s", str, p)
		}
	}
	if m, ok := s["minimum"].(float64); ok {
		if n, isNum := x.(float64); isNum && n < m {
			v.errorf(at, "%v < minimum %v", n, m)
		}
	}
	if one, ok := s["oneOf"].([]any); ok {
		matches := 0
		for _, alt := range one {
			sub := &validator{root: v.root}
			sub.check(at, alt.(map[string]any), x)
			if len(sub.errs) == 0 {
				matches++
			}
		}
		if matches != 1 {
			v.errorf(at, "matches %d alternatives of oneOf, want 1", matches)
		}
	}
	switch val := x.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for _, r := range asSlice(s["required"]) {
			if _, ok := val[r.(string)]; !ok {
				v.errorf(at, "missing required %q", r)
			}
		}
		for k, e := range val {
			ps, ok := props[k].(map[string]any)
			if !ok {
				if ap, isBool := s["additionalProperties"].(bool); isBool && !ap {
					v.errorf(at, "unexpected property %q", k)
				}
				continue
			}
			v.check(at+"."+k, ps, e)
		}
	case []any:
		if n, ok := s["minItems"].(float64); ok && float64(len(val)) < n {
			v.errorf(at, "%d items < minItems %v", len(val), n)
		}
		if n, ok := s["maxItems"].(float64); ok && float64(len(val)) > n {
			v.errorf(at, "%d items > maxItems %v", len(val), n)
		}
		if items, ok := s["items"].(map[string]any); ok {
			for i, e := range val {
				v.check(fmt.Sprintf("%s[%d]", at, i), items, e)
			}
		}
	}
}

func asSlice(x any) []any {
	s, _ := x.([]any)
	return s
}

func TestReportSchemaIsValidJSON(t *testing.T) {
	var s map[string]any
	if err := json.Unmarshal(gate.ReportSchema(), &s); err != nil {
		t.Fatalf("report schema: %v", err)
	}
	if diff := cmp.Diff(any("https://json-schema.org/draft/2020-12/schema"), s["$schema"]); diff != "" {
		t.Errorf("$schema (-want +got):\n%s", diff)
	}
}
