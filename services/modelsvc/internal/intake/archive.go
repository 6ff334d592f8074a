package intake

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/modelsvc/internal/failure"
)

// ReadArchive reads a gzip-compressed tar archive of a model directory into a snapshot sorted by
// path. Only regular files and directories are accepted; paths may start with "./" and must
// otherwise pass CheckPath. The expanded size of all files is limited to maxBytes (TooLarge);
// everything else that is wrong with the archive is InvalidArgument with a message naming the
// entry.
func ReadArchive(data []byte, maxBytes int64) (*modelv1.Snapshot, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, failure.Invalid("body", "body is not a gzip stream: %v", err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	var (
		files []*modelv1.SnapshotFile
		seen  = map[string]bool{}
		total int64
	)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, failure.Invalid("body", "body is not a valid tar.gz archive: %v", err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		if h.Typeflag == tar.TypeDir {
			name = strings.TrimSuffix(name, "/")
			if name == "" || name == "." {
				continue
			}
		}
		if why := CheckPath(name); why != "" {
			return nil, failure.Invalid("body", "archive entry %q %s", h.Name, why)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			continue
		case tar.TypeReg: // the reader reports old-style TypeRegA entries as TypeReg
		default:
			return nil, failure.Invalid("body", "archive entry %q is a %s; only regular files and directories are allowed", h.Name, typeName(h.Typeflag))
		}
		if seen[name] {
			return nil, failure.Invalid("body", "archive entry %q appears twice", h.Name)
		}
		seen[name] = true
		if h.Size < 0 || total+h.Size > maxBytes {
			return nil, failure.New(failure.TooLarge, "archive expands to more than the limit of %d bytes", maxBytes)
		}
		content := make([]byte, h.Size)
		if _, err := io.ReadFull(tr, content); err != nil {
			return nil, failure.Invalid("body", "archive entry %q is truncated: %v", h.Name, err)
		}
		total += h.Size
		files = append(files, &modelv1.SnapshotFile{Path: name, Content: content})
	}
	if len(files) == 0 {
		return nil, failure.Invalid("body", "archive holds no files")
	}
	return Sorted(&modelv1.Snapshot{Files: files}), nil
}

func typeName(t byte) string {
	switch t {
	case tar.TypeSymlink:
		return "symbolic link"
	case tar.TypeLink:
		return "hard link"
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeFifo:
		return "named pipe"
	}
	return fmt.Sprintf("entry of type %q", t)
}
