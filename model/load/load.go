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
// The source map is lazy: loading registers each document with the keys of its top-level
// objects only, and a document's keys are computed — by decoding its file again — on the first
// lookup that concerns it (package srcmap). A gate run looks up a few hundred keys of a model
// that has millions.
//
// Files are parsed in parallel by a bounded pool of GOMAXPROCS goroutines and merged in
// discovery order, so results are deterministic.
//
// Loaded models are immutable and may share objects. With Options.Reuse, the head of a change
// takes every file that is byte-identical to a file of the base from the base's Result instead of
// decoding it again: the two Models then hold the very same *modelv1.Datastore,
// *modelv1.Workspace, … for everything the change did not touch (only the top-level Model
// message and its sorted lists are each model's own). Nobody may modify a loaded model — lint,
// authz, compat, changes, graph and the gate only read it — and code that needs a changed model
// must copy first (proto.Clone). Comparisons can rely on the sharing: identical pointers are
// equal objects.
package load

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"io/fs"
	"os"
	"path"
	"path/filepath"
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

	// Reuse is an earlier load (typically the base, when loading the head of a change): a file
	// whose path and content (a hash kept in the Result, then the bytes) equal those of a file
	// of Reuse that loaded without problems and without unknown fields (a lenient load may have
	// skipped some) is not decoded again — its documents, the very same message objects, and its
	// source-map documents are taken from Reuse. The two models then share those objects (see
	// the package documentation: loaded models are immutable). Loading with or without Reuse
	// gives equal results; Reuse may be used by several loads at once.
	Reuse *Result

	// eagerSource records every source-map key while loading instead of registering lazy
	// documents (tests compare the two); it disables Reuse.
	eagerSource bool
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

	// loaded[i] is what Options.Reuse needs of Files[i].
	loaded []loadedFile
}

// loadedFile is one file of a Result as a later load can reuse it.
type loadedFile struct {
	sum   uint64 // contentHash of the content
	text  string // the content (shared with the model's strings, so kept at no cost)
	docs  []doc
	src   []*srcmap.Doc // the source-map documents of docs that loaded
	clean bool          // no problems and no unknown fields: reusable
}

// contentSeed seeds contentHash for the life of the process; hashes are never stored elsewhere.
var contentSeed = maphash.MakeSeed()

// contentHash is the hash of a file's content kept for Options.Reuse: a fast 64-bit hash (a
// cryptographic one would cost more than the whole comparison it guards), always confirmed by
// comparing the bytes.
func contentHash(b []byte) uint64 { return maphash.Bytes(contentSeed, b) }

// reusable returns the file of r at path p if it can be reused for content, whose contentHash
// is sum: a file that loaded cleanly from the very same bytes.
func (r *Result) reusable(p string, sum uint64, content []byte) *loadedFile {
	if r == nil || len(r.loaded) != len(r.Files) {
		return nil
	}
	i, found := slices.BinarySearch(r.Files, p)
	if !found {
		return nil
	}
	if f := &r.loaded[i]; f.clean && f.sum == sum && f.text == string(content) {
		return f
	}
	return nil
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
	fsys := os.DirFS(dir)
	paths, err := discover(fsys, ".")
	var r *Result
	if err == nil {
		// Files are read directly (readFile), not through fsys: fewer system calls per file.
		read := func(rel string, scratch *[]byte) ([]byte, bool, error) {
			b, transient, err := readFile(filepath.Join(dir, filepath.FromSlash(rel)), scratch)
			var pe *fs.PathError
			if errors.As(err, &pe) {
				pe.Path = rel // as fs.ReadFile(fsys, rel) names it
			}
			return b, transient, err
		}
		r, err = run(paths, read, true, opts)
	}
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
	read := func(rel string, _ *[]byte) ([]byte, bool, error) {
		b, err := fs.ReadFile(fsys, path.Join(root, rel))
		return b, false, err
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
	return run(paths, func(p string, _ *[]byte) ([]byte, bool, error) { return contents[p], false, nil }, false, opts)
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
	src      string      // content as the text the model's strings share
	sum      uint64      // contentHash(content)
	reused   *loadedFile // the file of Options.Reuse taken instead of decoding
	err      error
	docs     []doc
	problems []problem.Problem
	entries  []srcEntry
	keys     string
	unknown  []string
}

// reader reads the file at a model-relative path. The content may be transient — read into
// *scratch, valid until the next call with it — or not: memory the reader hands over.
type reader func(p string, scratch *[]byte) (content []byte, transient bool, err error)

// run loads the files in parallel and merges the results in order.
// owned says whether read returns memory that nobody else modifies (once copied when
// transient); the model's strings then share it.
func run(paths []string, read reader, owned bool, opts Options) (*Result, error) {
	sc := getSchema()
	n := len(paths)
	reuse := opts.Reuse
	if opts.eagerSource {
		reuse = nil
	}
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
			d := &decoder{side: opts.Side, lenient: opts.Lenient, schema: sc, owned: owned, noKeys: !opts.eagerSource}
			var scratch []byte
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if !stop.Load() {
					results[i] = loadFile(d, paths[i], read, &scratch, reuse)
				}
				close(done[i])
			}
		}()
	}
	res := &Result{
		Model:  &modelv1.Model{},
		Source: srcmap.New(opts.Side),
		Files:  paths,
		loaded: make([]loadedFile, n),
	}
	decoders := new(sync.Pool) // for resolving the lazy source map
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
		lf := &res.loaded[i]
		switch {
		case r.reused != nil:
			*lf = *r.reused
			for _, sd := range lf.src {
				res.Source.AddDoc(sd)
			}
		case opts.eagerSource:
			for _, e := range r.entries {
				res.Source.Set(r.keys[e.off:e.off+e.n], p, int(e.line), int(e.col))
			}
			*lf = loadedFile{sum: r.sum, text: r.src, docs: r.docs}
		default:
			*lf = loadedFile{
				sum: r.sum, text: r.src, docs: r.docs, src: registerSource(res.Source, sc, decoders, p, r.src, opts.Lenient, r.docs),
				clean: len(r.problems) == 0 && len(r.unknown) == 0,
			}
		}
		res.Problems = append(res.Problems, r.problems...)
		res.UnknownFields = append(res.UnknownFields, r.unknown...)
		for _, dc := range lf.docs {
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

// loadFile reads, parses and decodes one file, or takes it from reuse when it is unchanged.
func loadFile(d *decoder, p string, read reader, scratch *[]byte, reuse *Result) (r fileResult) {
	content, transient, err := read(p, scratch)
	if err != nil {
		return fileResult{err: err}
	}
	r.sum = contentHash(content)
	if f := reuse.reusable(p, r.sum, content); f != nil {
		// The very same bytes: the reused file's text serves for the digest, and the content
		// read is not kept.
		r.reused = f
		r.content = unsafe.Slice(unsafe.StringData(f.text), len(f.text))
		return r
	}
	if transient {
		content = bytes.Clone(content)
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
			r = fileResult{content: content, sum: r.sum, problems: d.problems}
			d.problems, d.entries, d.keys, d.unknown = nil, d.entries[:0], d.keys[:0], nil
			d.roots = d.roots[:0]
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
	r.src = src
	nodes, errs := d.parser.Parse(src)
	d.plain = d.parser.Plain()
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

// registerSource adds the documents of one file that loaded to the source map, each as a lazy
// document (package srcmap) whose keys are computed by decoding the file again on first use,
// and returns them.
func registerSource(m *srcmap.Map, sc *schemaCache, decoders *sync.Pool, file, src string, lenient bool, docs []doc) []*srcmap.Doc {
	var fs *fileSource
	var out []*srcmap.Doc
	for j, dc := range docs {
		if dc.failed {
			continue // nothing of a document that failed to load is recorded
		}
		if fs == nil {
			fs = &fileSource{file: file, src: src, lenient: lenient, schema: sc, decoders: decoders}
		}
		sd := srcmap.NewDoc(file, dc.roots, fs.fill(j))
		m.AddDoc(sd)
		out = append(out, sd)
	}
	return out
}

// fileSource computes the source-map entries of the documents of one file, once, by decoding
// it again with recording on. Decoding is deterministic, so the entries are those an eager
// load records.
type fileSource struct {
	file    string
	src     string
	lenient bool
	schema  *schemaCache

	once     sync.Once
	keys     string
	entries  []srcEntry
	docs     [][2]int   // entries[docs[j][0]:docs[j][1]] belong to the file's j-th document
	decoders *sync.Pool // of *decoder, shared by the files of one load
}

func (f *fileSource) resolve() {
	f.once.Do(func() {
		defer func() {
			if recover() != nil {
				// Not reachable for a file whose first decoding succeeded; keep nothing.
				f.entries, f.docs = nil, nil
			}
			f.src = ""
		}()
		// Decoders (their parser's node arena and buffers) are reused from resolution to
		// resolution: a lint run may resolve a few thousand small files.
		d, _ := f.decoders.Get().(*decoder)
		if d == nil {
			d = &decoder{schema: f.schema, owned: true}
		}
		d.file, d.lenient = f.file, f.lenient
		nodes, _ := d.parser.Parse(f.src)
		d.plain = d.parser.Plain()
		f.docs = make([][2]int, len(nodes))
		for i := range nodes {
			start := len(d.entries)
			d.document(&nodes[i])
			f.docs[i] = [2]int{start, len(d.entries)}
		}
		f.entries, f.keys = slices.Clone(d.entries), string(d.keys)
		clear(d.problems)
		d.problems, d.entries, d.keys, d.unknown, d.roots = d.problems[:0], d.entries[:0], d.keys[:0], d.unknown[:0], d.roots[:0]
		f.decoders.Put(d)
	})
}

// fill returns the srcmap fill function of the file's j-th document.
func (f *fileSource) fill(j int) func(set func(key string, line, column int)) {
	return func(set func(key string, line, column int)) {
		f.resolve()
		if j >= len(f.docs) {
			return
		}
		for _, e := range f.entries[f.docs[j][0]:f.docs[j][1]] {
			set(f.keys[e.off:e.off+e.n], int(e.line), int(e.col))
		}
	}
}
