package intake

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
	"time"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/modelsvc/internal/failure"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
)

func TestCheckPath(t *testing.T) {
	tests := []struct {
		name string
		path string
		ok   bool
	}{
		{"simple", "eco.yaml", true},
		{"nested", "zones/europe/zone.yaml", true},
		{"dot file", ".github/workflows/ci.yml", true},
		{"empty", "", false},
		{"absolute", "/etc/passwd", false},
		{"parent", "../x.yaml", false},
		{"inner parent", "a/../../x.yaml", false},
		{"dot element", "./a.yaml", false},
		{"double slash", "a//b.yaml", false},
		{"trailing slash", "a/", false},
		{"backslash", `a\b.yaml`, false},
		{"control", "a\nb.yaml", false},
		{"only dot", ".", false},
		{"too long", strings.Repeat("a", MaxPathBytes+1), false},
		{"bad utf8", "a\xffb", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CheckPath(tt.path) == ""; got != tt.ok {
				t.Errorf("CheckPath(%q) ok = %v, want %v (%s)", tt.path, got, tt.ok, CheckPath(tt.path))
			}
		})
	}
}

func snap(files ...string) *modelv1.Snapshot {
	s := &modelv1.Snapshot{}
	for _, f := range files {
		s.Files = append(s.Files, &modelv1.SnapshotFile{Path: f, Content: []byte("x: 1\n")})
	}
	return s
}

func TestCheckSnapshot(t *testing.T) {
	tests := []struct {
		name string
		snap *modelv1.Snapshot
		max  int64
		want failure.Kind // Internal = no error
		msg  string
	}{
		{"good", snap("a.yaml", "b/c.yaml"), 100, failure.Internal, ""},
		{"nil", nil, 100, failure.InvalidArgument, "snapshot is empty"},
		{"empty", snap(), 100, failure.InvalidArgument, "snapshot is empty"},
		{"traversal", snap("a.yaml", "../b.yaml"), 100, failure.InvalidArgument, `snapshot.files[1].path "../b.yaml" leaves the model root`},
		{"absolute", snap("/a.yaml"), 100, failure.InvalidArgument, "is absolute"},
		{"duplicate", snap("a.yaml", "a.yaml"), 100, failure.InvalidArgument, "repeats snapshot.files[0]"},
		{"too large", snap("a.yaml", "b.yaml"), 9, failure.TooLarge, "larger than the limit of 9 bytes"},
		{"exactly the limit", snap("a.yaml", "b.yaml"), 10, failure.Internal, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSnapshot(tt.snap, tt.max)
			if tt.want == failure.Internal {
				if err != nil {
					t.Fatalf("CheckSnapshot: %v", err)
				}
				return
			}
			if err == nil || failure.KindOf(err) != tt.want || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("CheckSnapshot = %v (kind %v), want kind %v containing %q", err, failure.KindOf(err), tt.want, tt.msg)
			}
		})
	}
}

// entry is one tar entry for archive().
type entry struct {
	name     string
	typ      byte
	body     string
	linkname string
}

func archive(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.linkname, ModTime: time.Unix(0, 0)}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadArchive(t *testing.T) {
	got, err := ReadArchive(archive(t,
		entry{name: "./", typ: tar.TypeDir},
		entry{name: "./zones/", typ: tar.TypeDir},
		entry{name: "./zones/z.yaml", typ: tar.TypeReg, body: "z"},
		entry{name: "./eco.yaml", typ: tar.TypeReg, body: "e"},
		entry{name: "README.md", typ: tar.TypeReg, body: "r"},
	), 100)
	if err != nil {
		t.Fatal(err)
	}
	want := &modelv1.Snapshot{Files: []*modelv1.SnapshotFile{
		{Path: "README.md", Content: []byte("r")},
		{Path: "eco.yaml", Content: []byte("e")},
		{Path: "zones/z.yaml", Content: []byte("z")},
	}}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("snapshot (-want +got):\n%s", diff)
	}
}

func TestReadArchiveRejects(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		max  int64
		kind failure.Kind
		msg  string
	}{
		{"not gzip", []byte("PK\x03\x04 a zip file"), 100, failure.InvalidArgument, "not a gzip stream"},
		{"not tar", gz(t, "just some text that is not a tar header, long enough to fail........"), 100, failure.InvalidArgument, "not a valid tar.gz archive"},
		{"empty", archive(t), 100, failure.InvalidArgument, "holds no files"},
		{"only dirs", archive(t, entry{name: "a/", typ: tar.TypeDir}), 100, failure.InvalidArgument, "holds no files"},
		{"traversal", archive(t, entry{name: "../evil.yaml", typ: tar.TypeReg, body: "x"}), 100, failure.InvalidArgument, `"../evil.yaml" leaves the model root`},
		{"nested traversal", archive(t, entry{name: "a/../../evil.yaml", typ: tar.TypeReg, body: "x"}), 100, failure.InvalidArgument, "leaves the model root"},
		{"absolute", archive(t, entry{name: "/etc/passwd", typ: tar.TypeReg, body: "x"}), 100, failure.InvalidArgument, "is absolute"},
		{"symlink", archive(t, entry{name: "link.yaml", typ: tar.TypeSymlink, linkname: "/etc/passwd"}), 100, failure.InvalidArgument, "is a symbolic link"},
		{"hard link", archive(t, entry{name: "link.yaml", typ: tar.TypeLink, linkname: "a.yaml"}), 100, failure.InvalidArgument, "is a hard link"},
		{"char device", archive(t, entry{name: "dev", typ: tar.TypeChar}), 100, failure.InvalidArgument, "is a character device"},
		{"block device", archive(t, entry{name: "dev", typ: tar.TypeBlock}), 100, failure.InvalidArgument, "is a block device"},
		{"fifo", archive(t, entry{name: "pipe", typ: tar.TypeFifo}), 100, failure.InvalidArgument, "is a named pipe"},
		{"duplicate", archive(t, entry{name: "a.yaml", typ: tar.TypeReg, body: "1"}, entry{name: "./a.yaml", typ: tar.TypeReg, body: "2"}), 100, failure.InvalidArgument, "appears twice"},
		{"too large", archive(t, entry{name: "a.yaml", typ: tar.TypeReg, body: "123456"}, entry{name: "b.yaml", typ: tar.TypeReg, body: "123456"}), 10, failure.TooLarge, "expands to more than the limit of 10 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadArchive(tt.data, tt.max)
			if err == nil || failure.KindOf(err) != tt.kind || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("ReadArchive = %v (kind %v), want kind %v containing %q", err, failure.KindOf(err), tt.kind, tt.msg)
			}
		})
	}
}

func gz(t testing.TB, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func FuzzReadArchive(f *testing.F) {
	f.Add(archive(f, entry{name: "a.yaml", typ: tar.TypeReg, body: "x: 1"}))
	f.Add(archive(f, entry{name: "../a.yaml", typ: tar.TypeReg, body: "x"}))
	f.Add(archive(f, entry{name: "l", typ: tar.TypeSymlink, linkname: "x"}))
	f.Add([]byte("not gzip"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ReadArchive(data, 1<<16)
		if err != nil {
			if failure.As(err) == nil {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if err := CheckSnapshot(s, 1<<16); err != nil {
			t.Fatalf("an accepted archive fails CheckSnapshot: %v", err)
		}
	})
}

func TestNewID(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	a, b := NewID(now), NewID(now.Add(time.Millisecond))
	if !IsID(a) || !IsID(b) {
		t.Fatalf("IsID(%q)=%v IsID(%q)=%v", a, IsID(a), b, IsID(b))
	}
	if a >= b {
		t.Errorf("ids do not sort by time: %q >= %q", a, b)
	}
	if first, second := NewID(now), NewID(now); first == second {
		t.Error("two ids of the same millisecond are equal")
	}
	for _, bad := range []string{"", "abc", strings.Repeat("Z", IDLength), strings.Repeat("0", IDLength-1) + "U", strings.Repeat("0", IDLength-1) + "a"} {
		if IsID(bad) {
			t.Errorf("IsID(%q) = true", bad)
		}
	}
}
