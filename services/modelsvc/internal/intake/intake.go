// Package intake owns what a proposed model snapshot must look like before modelsvc stores it:
// the path and size rules for snapshot files, reading a snapshot out of a tar.gz archive (the
// webhook body), and proposal ids.
package intake

import (
	"cmp"
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode/utf8"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/modelsvc/internal/failure"
)

// MaxPathBytes bounds the length of one snapshot path.
const MaxPathBytes = 1024

// CheckPath reports why p is not a usable snapshot path: relative, `/`-separated, clean (no
// `.`/`..` elements, no empty elements, no trailing slash), valid UTF-8 without control characters
// or backslashes. It returns "" for a good path.
func CheckPath(p string) string {
	switch {
	case p == "":
		return "is empty"
	case len(p) > MaxPathBytes:
		return fmt.Sprintf("is longer than %d bytes", MaxPathBytes)
	case !utf8.ValidString(p):
		return "is not valid UTF-8"
	case strings.HasPrefix(p, "/"):
		return "is absolute"
	case strings.ContainsRune(p, '\\'):
		return "contains a backslash; paths are '/'-separated"
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return "contains a control character"
		}
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return "leaves the model root ('..')"
		}
	}
	if path.Clean(p) != p || p == "." {
		return "is not clean (empty, '.' or trailing elements)"
	}
	return ""
}

// CheckSnapshot validates a snapshot sent by a client: at least one file, every path good
// (CheckPath) and unique, and the total content size at most maxBytes. Failures are
// InvalidArgument, or TooLarge for the size.
func CheckSnapshot(snap *modelv1.Snapshot, maxBytes int64) error {
	files := snap.GetFiles()
	if len(files) == 0 {
		return failure.Invalid("snapshot", "snapshot is empty: it must hold at least one file")
	}
	seen := make(map[string]int, len(files))
	var total int64
	for i, f := range files {
		if why := CheckPath(f.GetPath()); why != "" {
			return failure.Invalid("snapshot", "snapshot.files[%d].path %q %s", i, f.GetPath(), why)
		}
		if j, dup := seen[f.GetPath()]; dup {
			return failure.Invalid("snapshot", "snapshot.files[%d].path %q repeats snapshot.files[%d]", i, f.GetPath(), j)
		}
		seen[f.GetPath()] = i
		total += int64(len(f.GetContent()))
		if total > maxBytes {
			return failure.New(failure.TooLarge, "snapshot is larger than the limit of %d bytes", maxBytes)
		}
	}
	return nil
}

// Sorted returns the snapshot's files ordered by path (byte order), the discovery order of the
// loader (spec/model.md §1), as a new snapshot sharing the file messages.
func Sorted(snap *modelv1.Snapshot) *modelv1.Snapshot {
	files := slices.Clone(snap.GetFiles())
	slices.SortStableFunc(files, func(a, b *modelv1.SnapshotFile) int { return cmp.Compare(a.GetPath(), b.GetPath()) })
	return &modelv1.Snapshot{Files: files}
}
