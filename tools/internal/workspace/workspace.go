// Package workspace owns the guard rails of the repository's multi-module layout: go.work is
// generated from the go.mod files, every go.mod that needs a sibling module requires it and
// replaces it with a relative path (so each module also builds with GOWORK=off), every
// third-party module has one version across all modules, and every go.mod has the go line of
// go.work. See docs/adr/0001-modules.md.
package workspace

import (
	"cmp"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/modfile"
)

// SiblingVersion is the version under which one module of the repository requires another; the
// replace line makes the version meaningless, so it is always this placeholder.
const SiblingVersion = "v0.0.0"

// Module is one go.mod of the repository.
type Module struct {
	// Dir is the module directory relative to the root, slash-separated, "." for the root.
	Dir string
	// Path is the module path.
	Path string
	file *modfile.File
	data []byte
}

// Workspace is the set of modules under a root directory and its go.work file.
type Workspace struct {
	Root    string
	Modules []*Module // sorted by Dir
	work    *modfile.WorkFile
	data    []byte // current go.work; nil when absent
	byPath  map[string]*Module
}

// Problem is one violated guard rail.
type Problem struct {
	// File is the offending file relative to the root (slash-separated).
	File    string
	Message string
}

func (p Problem) String() string { return p.File + ": " + p.Message }

// Load reads every go.mod under root (skipping hidden, "_"-prefixed, testdata and vendor
// directories) and root/go.work when it exists.
func Load(root string) (*Workspace, error) {
	w := &Workspace{Root: root, byPath: map[string]*Module{}}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && skipDir(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Name() != "go.mod" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f, err := modfile.Parse(p, data, nil)
		if err != nil {
			return fmt.Errorf("parse %s: %w", p, err)
		}
		if f.Module == nil {
			return fmt.Errorf("%s: no module line", p)
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		m := &Module{Dir: filepath.ToSlash(rel), Path: f.Module.Mod.Path, file: f, data: data}
		if other, ok := w.byPath[m.Path]; ok {
			return fmt.Errorf("module %s is declared twice: %s/go.mod and %s/go.mod", m.Path, other.Dir, m.Dir)
		}
		w.byPath[m.Path] = m
		w.Modules = append(w.Modules, m)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find modules under %s: %w", root, err)
	}
	if len(w.Modules) == 0 {
		return nil, fmt.Errorf("no go.mod under %s", root)
	}
	slices.SortFunc(w.Modules, func(a, b *Module) int { return cmp.Compare(a.Dir, b.Dir) })

	workPath := filepath.Join(root, "go.work")
	data, err := os.ReadFile(workPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		wf, err := modfile.ParseWork(workPath, data, nil)
		if err != nil {
			return nil, fmt.Errorf("parse go.work: %w", err)
		}
		w.work, w.data = wf, data
	}
	return w, nil
}

func skipDir(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
		name == "testdata" || name == "vendor" || name == "node_modules"
}

// GoVersion is the go line of go.work, or the highest go line of the modules when there is no
// go.work yet.
func (w *Workspace) GoVersion() string {
	if w.work != nil && w.work.Go != nil {
		return w.work.Go.Version
	}
	v := ""
	for _, m := range w.Modules {
		if m.file.Go != nil && (v == "" || goVersionLess(v, m.file.Go.Version)) {
			v = m.file.Go.Version
		}
	}
	return v
}

// WorkFile returns the go.work the modules call for: the current go and toolchain lines (or the
// highest go line of the modules) and one sorted use line per module.
func (w *Workspace) WorkFile() ([]byte, error) {
	var b strings.Builder
	if v := w.GoVersion(); v != "" {
		fmt.Fprintf(&b, "go %s\n", v)
	}
	if w.work != nil && w.work.Toolchain != nil {
		fmt.Fprintf(&b, "\ntoolchain %s\n", w.work.Toolchain.Name)
	}
	b.WriteString("\nuse (\n")
	for _, m := range w.Modules {
		fmt.Fprintf(&b, "\t%s\n", modfile.AutoQuote(useDir(m.Dir)))
	}
	b.WriteString(")\n")
	// Round-trip through modfile so the text is exactly what the go command would print.
	wf, err := modfile.ParseWork("go.work", []byte(b.String()), nil)
	if err != nil {
		return nil, fmt.Errorf("generated go.work: %w", err)
	}
	return modfile.Format(wf.Syntax), nil
}

func useDir(dir string) string {
	if dir == "." {
		return "."
	}
	return "./" + dir
}

// relDir is the replace target for module to in the go.mod of module from.
func relDir(from, to string) string {
	rel, err := filepath.Rel(filepath.FromSlash(from), filepath.FromSlash(to))
	if err != nil {
		// Both are relative to one root, so Rel cannot fail.
		panic(err)
	}
	rel = filepath.ToSlash(rel)
	if !strings.HasPrefix(rel, "../") && rel != ".." {
		rel = "./" + rel
	}
	return rel
}

// owner returns the sibling module that provides import path p, or nil.
func (w *Workspace) owner(p string) *Module {
	var best *Module
	for _, m := range w.Modules {
		if (p == m.Path || strings.HasPrefix(p, m.Path+"/")) && (best == nil || len(m.Path) > len(best.Path)) {
			best = m
		}
	}
	return best
}

// importedSiblings returns the sibling modules whose packages m's Go files import (tests
// included), excluding m itself.
func (w *Workspace) importedSiblings(m *Module) (map[string]bool, error) {
	dir := filepath.Join(w.Root, filepath.FromSlash(m.Dir))
	out := map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p == dir {
				return nil
			}
			if skipDir(d.Name()) {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir // a nested module
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return fmt.Errorf("read imports: %w", err)
		}
		for _, imp := range f.Imports {
			ip, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				continue
			}
			if o := w.owner(ip); o != nil && o != m {
				out[o.Path] = true
			}
		}
		return nil
	})
	return out, err
}

// neededSiblings returns the sibling modules m must replace: the siblings it requires or imports
// and, transitively, the siblings those require (replace lines only apply in the main module).
func (w *Workspace) neededSiblings(m *Module, imported map[string]bool) []*Module {
	seen := map[string]bool{}
	var visit func(p string)
	visit = func(p string) {
		s, ok := w.byPath[p]
		if !ok || seen[p] || s == m {
			return
		}
		seen[p] = true
		for _, r := range s.file.Require {
			visit(r.Mod.Path)
		}
	}
	for _, r := range m.file.Require {
		visit(r.Mod.Path)
	}
	for p := range imported {
		visit(p)
	}
	var out []*Module
	for _, p := range slices.Sorted(maps.Keys(seen)) {
		out = append(out, w.byPath[p])
	}
	return out
}

// modFix is what one go.mod lacks.
type modFix struct {
	missingRequire []*Module
	replace        map[*Module]string // sibling → problem text
	fixed          []byte             // the corrected go.mod
}

func (w *Workspace) fixModule(m *Module) (*modFix, error) {
	imported, err := w.importedSiblings(m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.Dir, err)
	}
	f, err := modfile.Parse(m.Dir+"/go.mod", m.data, nil) // a private copy to edit
	if err != nil {
		return nil, err
	}
	fix := &modFix{replace: map[*Module]string{}}
	required := map[string]bool{}
	for _, r := range f.Require {
		required[r.Mod.Path] = true
	}
	for _, p := range slices.Sorted(maps.Keys(imported)) {
		if !required[p] {
			s := w.byPath[p]
			fix.missingRequire = append(fix.missingRequire, s)
			if err := f.AddRequire(p, SiblingVersion); err != nil {
				return nil, err
			}
		}
	}
	for _, s := range w.neededSiblings(m, imported) {
		want := relDir(m.Dir, s.Dir)
		var got *modfile.Replace
		for _, r := range f.Replace {
			if r.Old.Path == s.Path {
				got = r
			}
		}
		switch {
		case got == nil:
			fix.replace[s] = "missing"
		case got.Old.Version != "" || got.New.Version != "" || path.Clean(got.New.Path) != path.Clean(want) ||
			!modfile.IsDirectoryPath(got.New.Path):
			fix.replace[s] = fmt.Sprintf("replaced by %q", strings.TrimSpace(got.New.String()))
			if got.Old.Version != "" {
				if err := f.DropReplace(s.Path, got.Old.Version); err != nil {
					return nil, err
				}
			}
		default:
			continue
		}
		if err := f.AddReplace(s.Path, "", want, ""); err != nil {
			return nil, err
		}
	}
	if len(fix.missingRequire) == 0 && len(fix.replace) == 0 {
		return fix, nil
	}
	f.Cleanup()
	if fix.fixed, err = f.Format(); err != nil {
		return nil, err
	}
	return fix, nil
}

// Sync writes go.work and adds the missing sibling require and replace lines to the go.mod
// files. It returns the files it changed, relative to the root.
func Sync(root string) ([]string, error) {
	w, err := Load(root)
	if err != nil {
		return nil, err
	}
	var changed []string
	for _, m := range w.Modules {
		fix, err := w.fixModule(m)
		if err != nil {
			return nil, err
		}
		if fix.fixed == nil {
			continue
		}
		name := path.Join(m.Dir, "go.mod")
		if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(name)), fix.fixed, 0o644); err != nil {
			return nil, err
		}
		changed = append(changed, name)
	}
	work, err := w.WorkFile()
	if err != nil {
		return nil, err
	}
	if string(work) != string(w.data) {
		if err := os.WriteFile(filepath.Join(root, "go.work"), work, 0o644); err != nil {
			return nil, err
		}
		changed = append(changed, "go.work")
	}
	return changed, nil
}

// Check reports every violated guard rail; it changes nothing.
func Check(root string) ([]Problem, error) {
	w, err := Load(root)
	if err != nil {
		return nil, err
	}
	var probs []Problem
	add := func(file, format string, args ...any) {
		probs = append(probs, Problem{File: file, Message: fmt.Sprintf(format, args...)})
	}

	// go.work is generated from the go.mod files.
	work, err := w.WorkFile()
	if err != nil {
		return nil, err
	}
	if w.data == nil {
		add("go.work", "missing; run `make workspace`")
	} else if string(work) != string(w.data) {
		want := map[string]bool{}
		for _, m := range w.Modules {
			want[useDir(m.Dir)] = true
		}
		var detail []string
		for _, u := range w.work.Use {
			d := useDir(path.Clean(u.Path))
			if !want[d] {
				detail = append(detail, "no module at "+u.Path)
			}
			delete(want, d)
		}
		for _, d := range slices.Sorted(maps.Keys(want)) {
			detail = append(detail, "no use line for "+d)
		}
		if len(detail) == 0 {
			detail = append(detail, "not in generated form")
		}
		add("go.work", "out of date (%s); run `make workspace`", strings.Join(detail, ", "))
	}

	goVersion := w.GoVersion()
	thirdParty := map[string]map[string][]string{} // module path → version → go.mod files
	for _, m := range w.Modules {
		name := path.Join(m.Dir, "go.mod")
		fix, err := w.fixModule(m)
		if err != nil {
			return nil, err
		}
		for _, s := range fix.missingRequire {
			add(name, "imports packages of %s but does not require it; want `require %s %s`", s.Path, s.Path, SiblingVersion)
		}
		for _, s := range slices.SortedFunc(maps.Keys(fix.replace), func(a, b *Module) int { return cmp.Compare(a.Path, b.Path) }) {
			add(name, "needs sibling %s, whose replace is %s; want `replace %s => %s` (run `make workspace`)",
				s.Path, fix.replace[s], s.Path, relDir(m.Dir, s.Dir))
		}
		switch {
		case m.file.Go == nil:
			add(name, "has no go line; want `go %s` as in go.work", goVersion)
		case m.file.Go.Version != goVersion:
			add(name, "has `go %s`, go.work has `go %s`", m.file.Go.Version, goVersion)
		}
		for _, r := range m.file.Require {
			if _, sibling := w.byPath[r.Mod.Path]; sibling {
				continue
			}
			if thirdParty[r.Mod.Path] == nil {
				thirdParty[r.Mod.Path] = map[string][]string{}
			}
			thirdParty[r.Mod.Path][r.Mod.Version] = append(thirdParty[r.Mod.Path][r.Mod.Version], name)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(thirdParty)) {
		versions := thirdParty[p]
		if len(versions) < 2 {
			continue
		}
		var parts []string
		for _, v := range slices.SortedFunc(maps.Keys(versions), compareVersions) {
			parts = append(parts, v+" in "+strings.Join(versions[v], ", "))
		}
		add("go.work", "%s is required at %d versions: %s; use one version everywhere", p, len(versions), strings.Join(parts, "; "))
	}
	return probs, nil
}
