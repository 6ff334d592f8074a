package yamltree

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Node
		errs []SyntaxError
	}{
		{
			name: "block mapping",
			in:   "a: 1\nb: x\n",
			want: []Node{{Kind: MappingNode, Tag: TagMap, Line: 1, Column: 1, Content: []Node{
				{Kind: ScalarNode, Tag: TagStr, Line: 1, Column: 1, Value: "a"},
				{Kind: ScalarNode, Tag: TagInt, Line: 1, Column: 4, Value: "1"},
				{Kind: ScalarNode, Tag: TagStr, Line: 2, Column: 1, Value: "b"},
				{Kind: ScalarNode, Tag: TagStr, Line: 2, Column: 4, Value: "x"},
			}}},
		},
		{
			name: "empty documents are dropped",
			in:   "---\n# only a comment\n---\n",
		},
		{
			name: "unicode columns",
			in:   "é: \"ü\"\n",
			want: []Node{{Kind: MappingNode, Tag: TagMap, Line: 1, Column: 1, Content: []Node{
				{Kind: ScalarNode, Tag: TagStr, Line: 1, Column: 1, Value: "é"},
				{Kind: ScalarNode, Tag: TagStr, Style: DoubleQuoted, Line: 1, Column: 4, Value: "ü"},
			}}},
		},
		{
			name: "syntax error in second document keeps the third",
			in:   "a: 1\n---\nb: [1\n---\nc: 2\n",
			want: []Node{
				{Kind: MappingNode, Tag: TagMap, Line: 1, Column: 1, Content: []Node{
					{Kind: ScalarNode, Tag: TagStr, Line: 1, Column: 1, Value: "a"},
					{Kind: ScalarNode, Tag: TagInt, Line: 1, Column: 4, Value: "1"},
				}},
				{Kind: MappingNode, Tag: TagMap, Line: 5, Column: 1, Content: []Node{
					{Kind: ScalarNode, Tag: TagStr, Line: 5, Column: 1, Value: "c"},
					{Kind: ScalarNode, Tag: TagInt, Line: 5, Column: 4, Value: "2"},
				}},
			},
			errs: []SyntaxError{{Line: 3, Msg: "did not find expected ',' or ']'"}},
		},
		{
			name: "anchors and aliases come through the slow path",
			in:   "a: &x 1\nb: *x\n",
			want: []Node{{Kind: MappingNode, Tag: TagMap, Line: 1, Column: 1, Content: []Node{
				{Kind: ScalarNode, Tag: TagStr, Line: 1, Column: 1, Value: "a"},
				{Kind: ScalarNode, Tag: TagInt, Style: Anchored, Line: 1, Column: 4, Value: "1"},
				{Kind: ScalarNode, Tag: TagStr, Line: 2, Column: 1, Value: "b"},
				{Kind: AliasNode, Tag: TagOther, Line: 2, Column: 4, Value: "x"},
			}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := Parse(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("nodes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.errs, errs); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// fastCases are inputs the fast parser must accept, and agree on with yaml.v3.
var fastCases = []string{
	"a: 1\nb: x\n",
	"a:\n  - x\n  - y: 1\n    z: [1, 2, {q: r}]\nb:\n- 1\n- 2\nc: {x: 1,\n  y: 2}\n",
	"- a\n- - b\n  - c\n- {a: b}\n",
	"a: |\n  line 1\n\n   line 2\n  # not a comment\nb: |-\n  x\n\n\nc: 1\n",
	"k: 'it''s' # c\nq: \"a\\tb\\u00e9\\x41\"\n",
	"apiVersion: datasurface/v1\nkind: Datastore\nmetadata: {name: S, zone: Z, team: T}\nspec:\n  datasets:\n    - name: d\n      columns:\n        - {name: id, type: \"Decimal(12,2)\", nullable: false}\n",
	"a: 1\n---\nb: 2\n--- # c\nc: 3\n",
	"a: -1\nb: 0x1F\nc: 1_000\nd: 1.5\ne: .inf\nf: true\ng: ~\nh: 2001-12-14\ni: <<\n",
	"x: [a, b,]\ny: {a: 1,}\n",
	"é:\n  ü: \"ï\"\n",
}

func TestFastAccepts(t *testing.T) {
	for i, in := range fastCases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			fast, ok := parseFast(in)
			if !ok {
				t.Fatalf("fast parser gave up on %q", in)
			}
			slow, errs := parseSlow(in)
			if len(errs) > 0 {
				t.Fatalf("yaml.v3 errors %v", errs)
			}
			if diff := cmp.Diff(slow, fast); diff != "" {
				t.Errorf("fast differs from yaml.v3 (-slow +fast):\n%s", diff)
			}
		})
	}
}

// TestFastAcceptsModelFiles checks the fast parser on the loader's example model.
func TestFastAcceptsModelFiles(t *testing.T) {
	err := filepath.WalkDir("../../testdata/spec-example", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fast, ok := parseFast(string(b))
		if !ok {
			t.Errorf("%s: the fast parser gave up", p)
			return nil
		}
		slow, errs := parseSlow(string(b))
		if len(errs) > 0 {
			t.Errorf("%s: %v", p, errs)
		}
		if diff := cmp.Diff(slow, fast); diff != "" {
			t.Errorf("%s: fast differs from yaml.v3 (-slow +fast):\n%s", p, diff)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func FuzzFastMatchesYAML(f *testing.F) {
	for _, c := range fastCases {
		f.Add(c)
	}
	f.Add("a: b: c\n")
	f.Add("- a\n  b\n")
	f.Add("a: [1,\nb: 2]\n")
	f.Fuzz(func(t *testing.T, in string) {
		if len(in) > 4096 {
			return
		}
		start := time.Now()
		fast, ok := parseFast(in)
		d := time.Since(start)
		start = time.Now()
		slow, errs := parseSlow(in)
		if d2 := time.Since(start); d > time.Second || d2 > time.Second {
			t.Fatalf("slow input %q: fast %v, yaml.v3 %v", in, d, d2)
		}
		if !ok {
			return
		}
		if len(errs) > 0 {
			t.Fatalf("fast parser accepted %q, yaml.v3 reports %v", in, errs)
		}
		if diff := cmp.Diff(slow, fast); diff != "" {
			t.Fatalf("fast parser differs on %q (-yaml.v3 +fast):\n%s", in, diff)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("apiVersion: datasurface/v1\nkind: Datastore\nmetadata: {name: S, zone: Z, team: T}\nspec:\n  datasets:\n")
	for i := range 10 {
		fmt.Fprintf(&sb, "    - name: d%d\n      classifications: [IP]\n      primaryKey: [id]\n      columns:\n", i)
		sb.WriteString("        - {name: id, type: BigInt, nullable: false}\n        - {name: name, type: VarChar(100), classifications: [PC1]}\n        - {name: amount, type: \"Decimal(12,2)\"}\n")
	}
	src := sb.String()
	b.SetBytes(int64(len(src)))
	b.Run("fast", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		var p fast
		for b.Loop() {
			if _, ok := p.parse(src); !ok {
				b.Fatal("gave up")
			}
		}
	})
	b.Run("yaml.v3", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			parseSlow(src)
		}
	})
}

func TestPlain(t *testing.T) {
	for src, want := range map[string]bool{
		"a: {b: c}\nd: [e, 'f']\n": true,
		"a: {<<: {b: c}}\n":        false, // a merge key
		"a:\n  <<: {b: c}\n":       false,
		"a: &x {b: c}\nd: *x\n":    false, // anchors and aliases: the slow parser
		"a: !!str b\n":             false, // a tag
		"a: '<<'\n":                true,  // a quoted "<<" is a string
		"a: [b\n":                  false, // a syntax error
	} {
		var p Parser
		p.Parse(src)
		if got := p.Plain(); got != want {
			t.Errorf("Plain() after %q = %v, want %v", src, got, want)
		}
	}
}
