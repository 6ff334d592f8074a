// Package schematest checks the generated JSON Schema of the model format (model/schema) with a
// real JSON Schema validator: the schema compiles, the examples of spec/model.md §5 validate,
// and typical authoring mistakes do not. It lives in the tools module so the model module does
// not depend on a validator.
package schematest
