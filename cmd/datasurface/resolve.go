package main

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/datasurface/datasurface/model/compat"
	"github.com/datasurface/datasurface/model/load"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// resolver turns a model reference (an existing directory, else a git revision of a repository)
// into a loaded model. Git revisions are read from the object database only: no checkout, no
// network.
type resolver struct {
	repoDir string // --repo; "" = the repository containing the working directory
	path    string // --path: the model root inside the directory or repository
	repo    *git.Repository
}

// load loads the model named by ref.
func (r *resolver) load(ref string, opts load.Options) (*load.Result, error) {
	if st, err := os.Stat(ref); err == nil && st.IsDir() {
		dir := filepath.Join(ref, filepath.FromSlash(r.path))
		res, err := load.Dir(dir, opts)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", dir, err)
		}
		return res, nil
	}
	tree, err := r.tree(ref)
	if err != nil {
		return nil, err
	}
	res, err := load.FS(newTreeFS(tree), ".", opts)
	if err != nil {
		return nil, fmt.Errorf("load %s:%s: %w", ref, r.path, err)
	}
	return res, nil
}

// open opens the git repository once.
func (r *resolver) open() (*git.Repository, error) {
	if r.repo != nil {
		return r.repo, nil
	}
	dir := r.repoDir
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("find the git repository: %w", err)
		}
		dir = wd
	}
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		return nil, fmt.Errorf("open git repository at %s: %w", dir, err)
	}
	r.repo = repo
	return repo, nil
}

// commit resolves a revision to a commit.
func (r *resolver) commit(rev string) (*object.Commit, error) {
	repo, err := r.open()
	if err != nil {
		return nil, fmt.Errorf("%q is not a directory and cannot be read as a git revision: %w", rev, err)
	}
	h, err := repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return nil, fmt.Errorf("unknown git revision %q: %w", rev, err)
	}
	c, err := repo.CommitObject(*h)
	if err != nil {
		return nil, fmt.Errorf("read commit %s (%s): %w", rev, h, err)
	}
	return c, nil
}

// tree returns the model root tree of revision rev.
func (r *resolver) tree(rev string) (*object.Tree, error) {
	c, err := r.commit(rev)
	if err != nil {
		return nil, err
	}
	return r.modelTree(c, rev)
}

// modelTree returns the tree at --path of commit c.
func (r *resolver) modelTree(c *object.Commit, rev string) (*object.Tree, error) {
	t, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree of %s: %w", rev, err)
	}
	p := path.Clean(filepath.ToSlash(r.path))
	if p == "." || p == "" {
		return t, nil
	}
	sub, err := t.Tree(strings.TrimPrefix(p, "/"))
	if err != nil {
		return nil, fmt.Errorf("%s has no directory %s: %w", rev, p, err)
	}
	return sub, nil
}

// history loads the models of the first-parent commits of a revision range "A..B" (commits of
// B back to, excluding, the merge base with A), "..B", "A.." (B = HEAD) or a single revision
// (all its first-parent ancestors). Each distinct model tree is loaded once; commits whose
// model does not load are skipped. Versions come back newest first, numbered from 1 for the
// oldest.
func (r *resolver) history(ctx context.Context, rng string) ([]compat.Version, error) {
	from, to, isRange := strings.Cut(rng, "..")
	if !isRange {
		from, to = "", rng
	}
	if to == "" {
		to = "HEAD"
	}
	tip, err := r.commit(to)
	if err != nil {
		return nil, fmt.Errorf("--history: %w", err)
	}
	stop := map[plumbing.Hash]bool{}
	if from != "" {
		start, err := r.commit(from)
		if err != nil {
			return nil, fmt.Errorf("--history: %w", err)
		}
		bases, err := tip.MergeBase(start)
		if err != nil {
			return nil, fmt.Errorf("--history: merge base of %s and %s: %w", from, to, err)
		}
		for _, b := range bases {
			stop[b.Hash] = true
		}
		stop[start.Hash] = true
	}
	type loaded struct {
		tree plumbing.Hash
		res  *load.Result
	}
	var models []loaded
	seen := map[plumbing.Hash]bool{}
	for c := tip; c != nil && !stop[c.Hash]; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if t, err := r.modelTree(c, c.Hash.String()); err == nil && !seen[t.Hash] {
			seen[t.Hash] = true
			if res, err := load.FS(newTreeFS(t), ".", load.Options{Side: baseSide, Lenient: true}); err == nil && usable(res) {
				models = append(models, loaded{tree: t.Hash, res: res})
			}
		}
		if c.NumParents() == 0 {
			break
		}
		parent, err := c.Parent(0)
		if err != nil {
			break // a shallow clone ends here
		}
		c = parent
	}
	out := make([]compat.Version, len(models))
	for i, m := range models {
		out[i] = compat.Version{Number: int64(len(models) - i), Model: m.res.Model}
	}
	return out, nil
}

// usable reports whether a leniently loaded model can serve as history: it parsed and has an
// Ecosystem.
func usable(res *load.Result) bool {
	if res == nil || res.Model.GetEcosystem() == nil {
		return false
	}
	for _, p := range res.Problems {
		if p.Rule.ID == "DS-LOAD-001" {
			return false
		}
	}
	return true
}
