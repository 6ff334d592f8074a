package index

// Object paths (spec/model.md §1); the source map is keyed by them.

// DatastorePath returns datastore[S].
func DatastorePath(s string) string { return "datastore[" + s + "]" }

// DatasetPath returns datastore[S]/dataset[D].
func DatasetPath(s, d string) string { return DatastorePath(s) + "/dataset[" + d + "]" }

// ColumnPath returns datastore[S]/dataset[D]/column[C].
func ColumnPath(s, d, c string) string { return DatasetPath(s, d) + "/column[" + c + "]" }

// WorkspacePath returns workspace[W].
func WorkspacePath(w string) string { return "workspace[" + w + "]" }

// DSGPath returns workspace[W]/dsg[G].
func DSGPath(w, g string) string { return WorkspacePath(w) + "/dsg[" + g + "]" }

// SinkPath returns workspace[W]/dsg[G]/sink[S.D].
func SinkPath(w, g, s, d string) string { return DSGPath(w, g) + "/sink[" + s + "." + d + "]" }

// TransformerPath returns workspace[W]/transformer.
func TransformerPath(w string) string { return WorkspacePath(w) + "/transformer" }

// ZonePath returns zone[Z].
func ZonePath(z string) string { return "zone[" + z + "]" }

// TeamPath returns zone[Z]/team[T].
func TeamPath(z, t string) string { return ZonePath(z) + "/team[" + t + "]" }

// PSPPath returns psp[P].
func PSPPath(p string) string { return "psp[" + p + "]" }

// PlatformPath returns psp[P]/platform[D].
func PlatformPath(p, d string) string { return PSPPath(p) + "/platform[" + d + "]" }

// VendorPath returns vendor[V].
func VendorPath(v string) string { return "vendor[" + v + "]" }

// AssignmentPath returns assignment[W.G].
func AssignmentPath(w, g string) string { return "assignment[" + w + "." + g + "]" }

// AssignmentPlatformPath returns assignment[W.G]/platform[D].
func AssignmentPlatformPath(w, g, d string) string {
	return AssignmentPath(w, g) + "/platform[" + d + "]"
}

// PrimaryPath returns primary[S].
func PrimaryPath(s string) string { return "primary[" + s + "]" }

// EcosystemPath is the ecosystem's object path.
const EcosystemPath = "ecosystem"
