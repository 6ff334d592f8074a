package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// treeFS is a read-only fs.FS over one git tree, read from the object database only (no
// checkout). Regular and executable files are files, trees are directories; symbolic links and
// submodules are irregular entries without content (so the loader skips them). go-git's object
// storage is not safe for concurrent use and the loader reads files in parallel, so every access
// to the repository holds mu.
type treeFS struct {
	root *object.Tree
	mu   *sync.Mutex
}

func newTreeFS(root *object.Tree) treeFS { return treeFS{root: root, mu: new(sync.Mutex)} }

var (
	_ fs.FS         = treeFS{}
	_ fs.ReadFileFS = treeFS{}
)

// Open implements fs.FS.
func (f treeFS) Open(name string) (fs.File, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.open(name)
}

func (f treeFS) open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return &treeDir{info: treeInfo{name: ".", mode: fs.ModeDir | 0o555}, tree: f.root, mu: f.mu}, nil
	}
	e, err := f.root.FindEntry(name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	info := entryInfo(f.root, name, e)
	switch {
	case info.mode.IsDir():
		t, err := f.root.Tree(name)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return &treeDir{info: info, tree: t, mu: f.mu}, nil
	case info.mode.IsRegular():
		file, err := f.root.TreeEntryFile(e)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return &treeFile{info: info, file: file, mu: f.mu}, nil
	}
	return &treeFile{info: info, mu: f.mu}, nil
}

// ReadFile implements fs.ReadFileFS.
func (f treeFS) ReadFile(name string) ([]byte, error) {
	file, err := f.Open(name)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	if st, _ := file.Stat(); st.IsDir() {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("is a directory")}
	}
	return io.ReadAll(file)
}

// entryInfo describes a tree entry; dir is the tree that holds the entry's parent path.
func entryInfo(root *object.Tree, name string, e *object.TreeEntry) treeInfo {
	info := treeInfo{name: path.Base(name)}
	switch e.Mode {
	case filemode.Dir:
		info.mode = fs.ModeDir | 0o555
	case filemode.Regular, filemode.Deprecated:
		info.mode = 0o444
		info.size, _ = root.Size(name)
	case filemode.Executable:
		info.mode = 0o555
		info.size, _ = root.Size(name)
	case filemode.Symlink:
		info.mode = fs.ModeSymlink | fs.ModeIrregular | 0o444
	default: // submodules
		info.mode = fs.ModeIrregular
	}
	return info
}

// treeInfo is the fs.FileInfo and fs.DirEntry of a tree entry.
type treeInfo struct {
	name string
	mode fs.FileMode
	size int64
}

func (i treeInfo) Name() string               { return i.name }
func (i treeInfo) Size() int64                { return i.size }
func (i treeInfo) Mode() fs.FileMode          { return i.mode }
func (i treeInfo) ModTime() time.Time         { return time.Time{} }
func (i treeInfo) IsDir() bool                { return i.mode.IsDir() }
func (i treeInfo) Sys() any                   { return nil }
func (i treeInfo) Type() fs.FileMode          { return i.mode.Type() }
func (i treeInfo) Info() (fs.FileInfo, error) { return i, nil }

// treeFile is an open blob (or an irregular entry, which reads as empty).
type treeFile struct {
	info treeInfo
	file *object.File
	r    io.ReadCloser
	mu   *sync.Mutex
}

func (f *treeFile) Stat() (fs.FileInfo, error) { return f.info, nil }

func (f *treeFile) Read(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.file == nil {
		return 0, io.EOF
	}
	if f.r == nil {
		r, err := f.file.Reader()
		if err != nil {
			return 0, fmt.Errorf("read blob %s: %w", f.file.Hash, err)
		}
		f.r = r
	}
	return f.r.Read(p)
}

func (f *treeFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.r != nil {
		return f.r.Close()
	}
	return nil
}

// treeDir is an open tree.
type treeDir struct {
	info treeInfo
	tree *object.Tree
	next int
	mu   *sync.Mutex
}

func (d *treeDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *treeDir) Close() error               { return nil }

func (d *treeDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: errors.New("is a directory")}
}

// ReadDir implements fs.ReadDirFile.
func (d *treeDir) ReadDir(n int) ([]fs.DirEntry, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	entries := d.tree.Entries[d.next:]
	if n > 0 && len(entries) > n {
		entries = entries[:n]
	}
	if n > 0 && len(entries) == 0 {
		return nil, io.EOF
	}
	out := make([]fs.DirEntry, 0, len(entries))
	for i := range entries {
		e := &entries[i]
		out = append(out, entryInfo(d.tree, e.Name, e))
	}
	d.next += len(entries)
	return out, nil
}
