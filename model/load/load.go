// Package load reads a model — a directory tree of YAML documents (spec/model.md §1, §5) — into
// its canonical form, one datasurface.model.v1.Model message, with a source map of positions and
// the DS-LOAD-* problems of §7.1.
//
// Loading is descriptor-driven: each document's spec (and the metadata fields marked so) is
// decoded into the proto message of its kind following the YAML options of options.proto —
// JSON names as keys, required fields, minimum list lengths, defaults, scalar and inline forms,
// enums without their prefix, one-ofs — with DataType parsed by package dtype. Loading is
// strict: unknown fields, duplicate keys, wrong scalar types, unknown enum values and YAML
// anchors, aliases, merge keys and tags are problems. A document with a problem is left out of
// the model; the other documents still load, so one run reports every load problem.
//
// Source-map keys follow package srcmap. Objects are recorded at the value node of their name
// (datastore[S] at metadata.name, datastore[S]/dataset[D] at the dataset's `name`), objects
// without a name at their mapping (…/sink[S.D], workspace[W]/transformer, assignment[W.G],
// assignment[W.G]/platform[D], primary[S]); fields at their value nodes (`#name` of an object is
// its object key and not recorded again); metadata fields as `#metadata.zone`; list elements
// without object paths at the element node (`zone[Z]#teams[Sales]`, `…#classifications[PC1]`);
// map entries at their value nodes. Defaults have no positions. Nothing of a document that failed
// to load is recorded.
//
// Files are parsed in parallel by a bounded pool of GOMAXPROCS goroutines and merged in
// discovery order, so results are deterministic.
package load

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/datasurface/datasurface/model/problem"
	"github.com/datasurface/datasurface/model/srcmap"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// Options control loading.
type Options struct {
	// Side is the side positions report (problem.Head by default).
	Side problem.Side
	// Lenient is for base models: unknown fields are skipped and listed in Result.UnknownFields
	// instead of being DS-LOAD-006 problems.
	Lenient bool
}

// Result is a loaded model.
type Result struct {
	// Model is the canonical form; never nil, partial when there are load problems (documents
	// with problems are left out).
	Model *modelv1.Model
	// Source maps object paths to positions.
	Source *srcmap.Map
	// Problems are the DS-LOAD-* problems (phase "lint"), sorted as problem.Sort does.
	Problems []problem.Problem
	// Digest is "sha256:<hex>" over the source snapshot (spec/model.md §1).
	Digest string
	// Files are the model files' relative paths, in discovery order.
	Files []string
	// UnknownFields lists, in lenient mode, the skipped keys as "Kind.path" (e.g.
	// "Datastore.spec.datasets.columns.colour"), sorted and unique.
	UnknownFields []string
}

// File is one file of a snapshot: its path relative to the model root ("/"-separated) and its
// content.
type File struct {
	Path    string
	Content []byte
}

// Dir loads the model under directory dir. The error is for I/O problems only (an unreadable
// directory or file); everything wrong with the model itself is a problem in the result.
func Dir(dir string, opts Options) (*Result, error) {
	r, err := FS(os.DirFS(dir), ".", opts)
	if err != nil {
		return nil, fmt.Errorf("load model directory %s: %w", dir, err)
	}
	return r, nil
}

// FS loads the model under root in fsys. Files are read concurrently, so fsys must be safe for
// concurrent use (os.DirFS, embed.FS and fstest.MapFS are).
func FS(fsys fs.FS, root string, opts Options) (*Result, error) {
	paths, err := discover(fsys, root)
	if err != nil {
		return nil, err
	}
	read := func(rel string) ([]byte, error) {
		return fs.ReadFile(fsys, path.Join(root, rel))
	}
	return run(paths, read, true, opts)
}

// Files loads a snapshot. The discovery rules apply: only *.yaml and *.yml files outside
// dot-directories count, in byte order of their paths. The error reports an invalid or repeated
// path.
func Files(files []File, opts Options) (*Result, error) {
	contents := make(map[string][]byte, len(files))
	var paths []string
	for _, f := range files {
		if !fs.ValidPath(f.Path) || f.Path == "." {
			return nil, fmt.Errorf("load snapshot: invalid file path %q", f.Path)
		}
		if _, dup := contents[f.Path]; dup {
			return nil, fmt.Errorf("load snapshot: file %q given twice", f.Path)
		}
		contents[f.Path] = f.Content
		if discoverable(f.Path) {
			paths = append(paths, f.Path)
		}
	}
	slices.Sort(paths)
	return run(paths, func(p string) ([]byte, error) { return contents[p], nil }, false, opts)
}

// discoverable applies the discovery rules to a relative path.
func discoverable(p string) bool {
	for part := range strings.SplitSeq(p, "/") {
		if strings.HasPrefix(part, ".") {
			return false
		}
	}
	return hasModelExt(p)
}

func hasModelExt(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}

// discover lists the model files under root: *.yaml and *.yml, skipping names that start with
// '.', in byte order of their relative paths.
func discover(fsys fs.FS, root string) ([]string, error) {
	var paths []string
	err := fs.WalkDir(fsys, root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root && strings.HasPrefix(de.Name(), ".") {
			if de.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if de.IsDir() || !hasModelExt(de.Name()) {
			return nil
		}
		if de.Type()&(fs.ModeNamedPipe|fs.ModeSocket|fs.ModeDevice|fs.ModeCharDevice|fs.ModeIrregular) != 0 {
			return nil
		}
		rel := p
		if root != "." {
			rel = strings.TrimPrefix(p, root+"/")
		}
		paths = append(paths, rel)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(paths)
	return paths, nil
}

// fileResult is what a worker produces for one file.
type fileResult struct {
	content  []byte
	err      error
	docs     []doc
	problems []problem.Problem
	entries  []srcEntry
	keys     string
	unknown  []string
}

// run loads the files in parallel and merges the results in order.
// owned says whether read returns memory that nobody else modifies; the model's strings then
// share it.
func run(paths []string, read func(string) ([]byte, error), owned bool, opts Options) (*Result, error) {
	sc := getSchema()
	n := len(paths)
	results := make([]fileResult, n)
	done := make([]chan struct{}, n)
	for i := range done {
		done[i] = make(chan struct{})
	}
	var next atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := &decoder{side: opts.Side, lenient: opts.Lenient, schema: sc, owned: owned}
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if !stop.Load() {
					results[i] = loadFile(d, paths[i], read)
				}
				close(done[i])
			}
		}()
	}
	res := &Result{
		Model:  &modelv1.Model{},
		Source: srcmap.New(opts.Side),
		Files:  paths,
	}
	h := sha256.New()
	var ecosystems int
	var secondEcosystem problem.Position
	var lenBuf [20]byte
	for i := range n {
		<-done[i]
		r := &results[i]
		if r.err != nil {
			stop.Store(true)
			wg.Wait()
			return nil, fmt.Errorf("read %s: %w", paths[i], r.err)
		}
		p := paths[i]
		h.Write([]byte(p))
		h.Write([]byte{0})
		h.Write(strconv.AppendInt(lenBuf[:0], int64(len(r.content)), 10))
		h.Write([]byte{0})
		h.Write(r.content)
		for _, e := range r.entries {
			res.Source.Set(r.keys[e.off:e.off+e.n], p, int(e.line), int(e.col))
		}
		res.Problems = append(res.Problems, r.problems...)
		res.UnknownFields = append(res.UnknownFields, r.unknown...)
		for _, dc := range r.docs {
			if dc.kind == kindEcosystem {
				ecosystems++
				if ecosystems == 2 {
					secondEcosystem = problem.Position{Side: opts.Side, File: p, Line: int(dc.line), Column: int(dc.col)}
				}
			}
			if !dc.failed {
				add(res.Model, dc)
			}
		}
		*r = fileResult{} // release the file's memory
	}
	wg.Wait()
	if ecosystems != 1 {
		res.Problems = append(res.Problems, problem.Problem{
			Rule: ruleEcosystems, Severity: ruleEcosystems.Severity, Phase: "lint",
			Message: "the model must contain exactly one Ecosystem document, found " + strconv.Itoa(ecosystems),
			Pos:     secondEcosystem,
		})
	}
	canonicalModel(res.Model)
	problem.Sort(res.Problems)
	slices.Sort(res.UnknownFields)
	res.UnknownFields = slices.Compact(res.UnknownFields)
	res.Digest = "sha256:" + hex.EncodeToString(h.Sum(nil))
	return res, nil
}

// add puts a loaded document into the model.
func add(m *modelv1.Model, dc doc) {
	switch x := dc.msg.(type) {
	case *modelv1.Ecosystem:
		if m.Ecosystem == nil {
			m.Ecosystem = x
		}
	case *modelv1.PlatformServicesProvider:
		m.Psps = append(m.Psps, x)
	case *modelv1.PlatformAssignments:
		m.Assignments = append(m.Assignments, x.DatasetGroups...)
		m.PrimaryIngestions = append(m.PrimaryIngestions, x.PrimaryIngestion...)
	case *modelv1.GovernanceZone:
		m.Zones = append(m.Zones, x)
	case *modelv1.Team:
		m.Teams = append(m.Teams, x)
	case *modelv1.Datastore:
		m.Datastores = append(m.Datastores, x)
	case *modelv1.Workspace:
		m.Workspaces = append(m.Workspaces, x)
	}
}

// errInternal marks a recovered panic; loading never panics, but a bug must still be visible.
var errInternal = errors.New("internal error")

// loadFile reads, parses and decodes one file.
func loadFile(d *decoder, p string, read func(string) ([]byte, error)) (r fileResult) {
	content, err := read(p)
	if err != nil {
		return fileResult{err: err}
	}
	r.content = content
	d.file = p
	defer func() {
		if v := recover(); v != nil {
			// A bug, not a property of the input: report it on the file rather than crash the
			// gate, and keep nothing of the file.
			d.problems = append(d.problems[:0], problem.Problem{
				Rule: ruleYAMLSyntax, Severity: ruleYAMLSyntax.Severity, Phase: "lint",
				Message: fmt.Sprintf("%v while loading this file: %v", errInternal, v),
				Pos:     problem.Position{Side: d.side, File: p, Line: 1, Column: 1},
			})
			r = fileResult{content: content, problems: d.problems}
			d.problems, d.entries, d.keys, d.unknown = nil, d.entries[:0], d.keys[:0], nil
		}
	}()
	src := ""
	if d.owned {
		// The model's strings are substrings of the file's text: share the bytes read (never
		// modified) instead of copying them.
		src = unsafe.String(unsafe.SliceData(content), len(content))
	} else {
		src = string(content)
	}
	nodes, errs := d.parser.Parse(src)
	for _, e := range errs {
		d.problems = append(d.problems, problem.Problem{
			Rule: ruleYAMLSyntax, Severity: ruleYAMLSyntax.Severity, Phase: "lint",
			Message: "YAML syntax error: " + e.Msg,
			Pos:     problem.Position{Side: d.side, File: p, Line: e.Line, Column: 1},
		})
	}
	r.docs = make([]doc, 0, len(nodes))
	for i := range nodes {
		dc := d.document(&nodes[i])
		if !dc.failed && dc.msg != nil {
			canonicalDocument(dc.msg)
		}
		r.docs = append(r.docs, dc)
	}
	r.problems, r.unknown = d.problems, d.unknown
	r.entries = slices.Clone(d.entries)
	r.keys = string(d.keys)
	d.problems, d.entries, d.keys, d.unknown = nil, d.entries[:0], d.keys[:0], nil
	return r
}
