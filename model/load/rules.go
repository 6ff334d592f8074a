package load

import "github.com/datasurface/datasurface/model/problem"

// The loading rules of spec/model.md §7.1; every one is an ERROR.
var (
	ruleYAMLSyntax    = problem.Rule{ID: "DS-LOAD-001", Name: "yaml-syntax", Severity: problem.Error}
	ruleDuplicateKey  = problem.Rule{ID: "DS-LOAD-002", Name: "duplicate-key", Severity: problem.Error}
	ruleYAMLFeature   = problem.Rule{ID: "DS-LOAD-003", Name: "yaml-feature-forbidden", Severity: problem.Error}
	ruleAPIVersion    = problem.Rule{ID: "DS-LOAD-004", Name: "api-version-unknown", Severity: problem.Error}
	ruleKindUnknown   = problem.Rule{ID: "DS-LOAD-005", Name: "kind-unknown", Severity: problem.Error}
	ruleFieldUnknown  = problem.Rule{ID: "DS-LOAD-006", Name: "field-unknown", Severity: problem.Error}
	ruleFieldType     = problem.Rule{ID: "DS-LOAD-007", Name: "field-type", Severity: problem.Error}
	ruleFieldRequired = problem.Rule{ID: "DS-LOAD-008", Name: "field-required", Severity: problem.Error}
	ruleEnumUnknown   = problem.Rule{ID: "DS-LOAD-009", Name: "enum-value-unknown", Severity: problem.Error}
	ruleOneOf         = problem.Rule{ID: "DS-LOAD-010", Name: "one-of-invalid", Severity: problem.Error}
	ruleEcosystems    = problem.Rule{ID: "DS-LOAD-011", Name: "ecosystem-count", Severity: problem.Error}
	ruleTypeSyntax    = problem.Rule{ID: "DS-LOAD-012", Name: "type-syntax", Severity: problem.Error}
)

// Rules lists the loading rules DS-LOAD-001 … DS-LOAD-012.
var Rules = []problem.Rule{
	ruleYAMLSyntax, ruleDuplicateKey, ruleYAMLFeature, ruleAPIVersion, ruleKindUnknown, ruleFieldUnknown,
	ruleFieldType, ruleFieldRequired, ruleEnumUnknown, ruleOneOf, ruleEcosystems, ruleTypeSyntax,
}
