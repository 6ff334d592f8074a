package workspace

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// goodTree is a consistent repository: a requires b, b requires c; so a replaces b and c.
func goodTree() map[string]string {
	return map[string]string{
		"go.work": "go 1.26.0\n\nuse (\n\t./a\n\t./b\n\t./lib/c\n)\n",
		"a/go.mod": `module example.com/repo/a

go 1.26.0

require (
	example.com/repo/b v0.0.0
	example.com/repo/lib/c v0.0.0
	golang.org/x/text v0.31.0
)

replace (
	example.com/repo/b => ../b
	example.com/repo/lib/c => ../lib/c
)
`,
		"a/a.go": "package a\n\nimport _ \"example.com/repo/b\"\n",
		"b/go.mod": `module example.com/repo/b

go 1.26.0

require (
	example.com/repo/lib/c v0.0.0
	golang.org/x/text v0.31.0 // indirect
)

replace example.com/repo/lib/c => ../lib/c
`,
		"b/b.go":         "package b\n\nimport _ \"example.com/repo/lib/c/sub\"\n",
		"lib/c/go.mod":   "module example.com/repo/lib/c\n\ngo 1.26.0\n",
		"lib/c/sub/c.go": "package sub\n",
		// Skipped: hidden, testdata and underscore directories never hold workspace modules.
		".git/x/go.mod":     "module junk\n",
		"a/testdata/go.mod": "module junk2\n",
		"_scratch/y/go.mod": "module junk3\n",
	}
}

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, body := range files {
		if body == "" {
			continue // deleted by a test case
		}
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func with(changes map[string]string) map[string]string {
	files := goodTree()
	for k, v := range changes {
		files[k] = v
	}
	return files
}

func messages(probs []Problem) []string {
	var out []string
	for _, p := range probs {
		out = append(out, p.String())
	}
	return out
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{name: "consistent", files: goodTree()},
		{
			name:  "go.work misses a module",
			files: with(map[string]string{"go.work": "go 1.26.0\n\nuse (\n\t./a\n\t./b\n)\n"}),
			want:  []string{"go.work: out of date (no use line for ./lib/c); run `make workspace`"},
		},
		{
			name:  "go.work names a missing module",
			files: with(map[string]string{"go.work": "go 1.26.0\n\nuse (\n\t./a\n\t./b\n\t./gone\n\t./lib/c\n)\n"}),
			want:  []string{"go.work: out of date (no module at ./gone); run `make workspace`"},
		},
		{
			name:  "go.work not sorted",
			files: with(map[string]string{"go.work": "go 1.26.0\n\nuse (\n\t./b\n\t./a\n\t./lib/c\n)\n"}),
			want:  []string{"go.work: out of date (not in generated form); run `make workspace`"},
		},
		{
			name:  "go.work absent",
			files: with(map[string]string{"go.work": ""}),
			want:  []string{"go.work: missing; run `make workspace`"},
		},
		{
			name: "replace missing for a transitive sibling",
			files: with(map[string]string{"a/go.mod": `module example.com/repo/a

go 1.26.0

require (
	example.com/repo/b v0.0.0
	golang.org/x/text v0.31.0
)

replace example.com/repo/b => ../b
`}),
			want: []string{"a/go.mod: needs sibling example.com/repo/lib/c, whose replace is missing; want `replace example.com/repo/lib/c => ../lib/c` (run `make workspace`)"},
		},
		{
			name: "replace points elsewhere",
			files: with(map[string]string{"b/go.mod": `module example.com/repo/b

go 1.26.0

require (
	example.com/repo/lib/c v0.0.0
	golang.org/x/text v0.31.0 // indirect
)

replace example.com/repo/lib/c => ../c
`}),
			want: []string{"b/go.mod: needs sibling example.com/repo/lib/c, whose replace is replaced by \"../c\"; want `replace example.com/repo/lib/c => ../lib/c` (run `make workspace`)"},
		},
		{
			name: "sibling imported but not required",
			files: with(map[string]string{
				"lib/c/go.mod":        "module example.com/repo/lib/c\n\ngo 1.26.0\n",
				"lib/c/sub/c_test.go": "package sub\n\nimport _ \"example.com/repo/b\"\n",
			}),
			want: []string{
				"lib/c/go.mod: imports packages of example.com/repo/b but does not require it; want `require example.com/repo/b v0.0.0`",
				"lib/c/go.mod: needs sibling example.com/repo/b, whose replace is missing; want `replace example.com/repo/b => ../../b` (run `make workspace`)",
			},
		},
		{
			name: "two versions of a third-party module",
			files: with(map[string]string{"b/go.mod": `module example.com/repo/b

go 1.26.0

require (
	example.com/repo/lib/c v0.0.0
	golang.org/x/text v0.30.0 // indirect
)

replace example.com/repo/lib/c => ../lib/c
`}),
			want: []string{"go.work: golang.org/x/text is required at 2 versions: v0.30.0 in b/go.mod; v0.31.0 in a/go.mod; use one version everywhere"},
		},
		{
			name:  "go line differs",
			files: with(map[string]string{"lib/c/go.mod": "module example.com/repo/lib/c\n\ngo 1.25.0\n"}),
			want:  []string{"lib/c/go.mod: has `go 1.25.0`, go.work has `go 1.26.0`"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeTree(t, tt.files)
			probs, err := Check(root)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, messages(probs)); diff != "" {
				t.Errorf("Check problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSync(t *testing.T) {
	tests := []struct {
		name        string
		files       map[string]string
		wantChanged []string
		// wantFiles are exact contents after the sync.
		wantFiles map[string]string
		// wantProblems remain after the sync (sync fixes only go.work, require and replace).
		wantProblems []string
	}{
		{name: "consistent", files: goodTree()},
		{
			name: "fresh repository without go.work",
			files: with(map[string]string{
				"go.work":  "",
				"a/go.mod": "module example.com/repo/a\n\ngo 1.26.0\n\nrequire example.com/repo/b v0.0.0\n",
			}),
			wantChanged: []string{"a/go.mod", "go.work"},
			wantFiles: map[string]string{
				"go.work": "go 1.26.0\n\nuse (\n\t./a\n\t./b\n\t./lib/c\n)\n",
				"a/go.mod": `module example.com/repo/a

go 1.26.0

require example.com/repo/b v0.0.0

replace example.com/repo/b => ../b

replace example.com/repo/lib/c => ../lib/c
`,
			},
		},
		{
			name: "missing require, wrong replace, stale go.work",
			files: with(map[string]string{
				"go.work":      "go 1.26.0\n\ntoolchain go1.26.8\n\nuse ./a\n",
				"lib/c/go.mod": "module example.com/repo/lib/c\n\ngo 1.26.0\n\nreplace example.com/repo/b => ./b\n",
				"lib/c/c.go":   "package c\n\nimport _ \"example.com/repo/b\"\n",
			}),
			wantChanged: []string{"lib/c/go.mod", "go.work"},
			wantFiles: map[string]string{
				"go.work":      "go 1.26.0\n\ntoolchain go1.26.8\n\nuse (\n\t./a\n\t./b\n\t./lib/c\n)\n",
				"lib/c/go.mod": "module example.com/repo/lib/c\n\ngo 1.26.0\n\nreplace example.com/repo/b => ../../b\n\nrequire example.com/repo/b v0.0.0\n",
			},
		},
		{
			name:         "version conflicts are reported, not fixed",
			files:        with(map[string]string{"lib/c/go.mod": "module example.com/repo/lib/c\n\ngo 1.25.0\n"}),
			wantProblems: []string{"lib/c/go.mod: has `go 1.25.0`, go.work has `go 1.26.0`"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeTree(t, tt.files)
			changed, err := Sync(root)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantChanged, changed); diff != "" {
				t.Errorf("changed files (-want +got):\n%s", diff)
			}
			for name, want := range tt.wantFiles {
				got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, string(got)); diff != "" {
					t.Errorf("%s after sync (-want +got):\n%s", name, diff)
				}
			}
			again, err := Sync(root)
			if err != nil {
				t.Fatal(err)
			}
			if len(again) != 0 {
				t.Errorf("second sync changed %v, want nothing", again)
			}
			probs, err := Check(root)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantProblems, messages(probs)); diff != "" {
				t.Errorf("problems after sync (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadRejectsDuplicateModulePath(t *testing.T) {
	root := writeTree(t, map[string]string{
		"x/go.mod": "module example.com/dup\n\ngo 1.26.0\n",
		"y/go.mod": "module example.com/dup\n\ngo 1.26.0\n",
	})
	_, err := Load(root)
	if err == nil || !strings.Contains(err.Error(), "declared twice") {
		t.Fatalf("Load error = %v, want a duplicate module error", err)
	}
}

func TestRelDir(t *testing.T) {
	tests := []struct{ from, to, want string }{
		{"a", "b", "../b"},
		{"services/ingest", "model", "../../model"},
		{".", "model", "./model"},
		{"a", "a/b", "./b"},
		{"a/b", "a", ".."},
	}
	for _, tt := range tests {
		if got := relDir(tt.from, tt.to); got != tt.want {
			t.Errorf("relDir(%q, %q) = %q, want %q", tt.from, tt.to, got, tt.want)
		}
	}
}
