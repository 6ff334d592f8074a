package lint

// checkNames: DS-LINT-001..007 (names and uniqueness). Owned by the names/ecosystem engineer.
func checkNames(c *Context) {}

// checkReferences: DS-LINT-006 for every reference of spec/model.md §2.3.
func checkReferences(c *Context) {}

// checkEcosystem: DS-LINT-010..020, 030..034 (ecosystem, vendors, locations, zones, teams, policies).
func checkEcosystem(c *Context) {}

// checkZones: zone documents and their policies.
func checkZones(c *Context) {}
