package main

import (
	"testing"
	"testing/fstest"
)

// TestTreeFS checks the git tree file system against the fs.FS contract.
func TestTreeFS(t *testing.T) {
	setup(t)
	r := &resolver{repoDir: "repo", path: "."}
	tree, err := r.tree("feature-good")
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(newTreeFS(tree), "README.md", "model/ecosystem.yaml", "model/teams/sales/salesdb.yaml"); err != nil {
		t.Fatal(err)
	}
}
