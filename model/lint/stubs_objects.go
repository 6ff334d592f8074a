package lint

// checkDatastores: DS-LINT-040..077.
func checkDatastores(c *Context) {}

// checkWorkspaces: DS-LINT-080..097 (except 097, the graph's).
func checkWorkspaces(c *Context) {}

// checkAssignments: DS-LINT-098..102.
func checkAssignments(c *Context) {}
