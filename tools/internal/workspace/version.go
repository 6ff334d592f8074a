package workspace

import (
	"go/version"

	"golang.org/x/mod/semver"
)

// goVersionLess reports whether go line a is older than go line b.
func goVersionLess(a, b string) bool {
	return version.Compare("go"+a, "go"+b) < 0
}

// compareVersions orders module versions by semantic version.
func compareVersions(a, b string) int {
	return semver.Compare(a, b)
}
