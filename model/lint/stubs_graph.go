package lint

// checkGraph: intention-graph rules DS-LINT-035, DS-LINT-097, DS-LINT-102.
func checkGraph(c *Context) {}
