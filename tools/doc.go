// Package tools is the root of the tools module: repository guard rails and checks that need
// dependencies the product modules must not carry. cmd/workspace keeps go.work and the go.mod
// files in step (docs/adr/0001-modules.md); cmd/protocomments extracts the proto comments that
// model/schema turns into descriptions; schematest validates the generated JSON Schema of the
// model format against the spec's examples.
package tools
