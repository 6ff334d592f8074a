package names

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRepository(t *testing.T) {
	type result struct {
		Repo         Repository
		RepoReason   string // "" when no *RepositoryError
		BranchReason string // "" when no *BranchError
		Branch       string
	}
	tests := []struct {
		name string
		in   string
		want result
	}{
		{"github style", "acme/datasurface-model@main",
			result{Repo: Repository{Location: "acme/datasurface-model", Branch: "main"}}},
		{"dots underscores dashes", "ac.me_1/re-po.x@release-1.2_x",
			result{Repo: Repository{Location: "ac.me_1/re-po.x", Branch: "release-1.2_x"}}},
		{"https URL", "https://gitlab.example.com/group/repo@main",
			result{Repo: Repository{Location: "https://gitlab.example.com/group/repo", Branch: "main", IsURL: true}}},
		{"ssh URL with user and empty port", "ssh://u@host:/path/repo@dev",
			result{Repo: Repository{Location: "ssh://u@host:/path/repo", Branch: "dev", IsURL: true}}},
		{"branch is after the last @", "https://u@git.example.com/r@feature",
			result{Repo: Repository{Location: "https://u@git.example.com/r", Branch: "feature", IsURL: true}}},
		{"100 chars", strings.Repeat("a", 50) + "/" + strings.Repeat("b", 49) + "@main",
			result{Repo: Repository{Location: strings.Repeat("a", 50) + "/" + strings.Repeat("b", 49), Branch: "main"}}},

		{"no @", "acme/model",
			result{RepoReason: "it must be <location>@<branch>"}},
		{"empty location", "@main",
			result{Repo: Repository{Branch: "main"}, RepoReason: "the location before '@' is empty"}},
		{"101 chars", strings.Repeat("a", 50) + "/" + strings.Repeat("b", 50) + "@main",
			result{Repo: Repository{Location: strings.Repeat("a", 50) + "/" + strings.Repeat("b", 50), Branch: "main"},
				RepoReason: "owner/name is longer than 100 characters"}},
		{"no slash", "model@main",
			result{Repo: Repository{Location: "model", Branch: "main"},
				RepoReason: "the location must be owner/name (exactly one '/') or a URL"}},
		{"two slashes", "a/b/c@main",
			result{Repo: Repository{Location: "a/b/c", Branch: "main"},
				RepoReason: "the location must be owner/name (exactly one '/') or a URL"}},
		{"empty owner", "/model@main",
			result{Repo: Repository{Location: "/model", Branch: "main"}, RepoReason: "owner and name must both be non-empty"}},
		{"empty name", "acme/@main",
			result{Repo: Repository{Location: "acme/", Branch: "main"}, RepoReason: "owner and name must both be non-empty"}},
		{"bad character", "acme/mo del@main",
			result{Repo: Repository{Location: "acme/mo del", Branch: "main"}, RepoReason: "character U+0020 is not allowed in owner/name"}},
		{"non-ASCII character", "acme/modèle@main",
			result{Repo: Repository{Location: "acme/modèle", Branch: "main"}, RepoReason: "character U+00E8 is not allowed in owner/name"}},
		{"double dot", "acme/a..b@main",
			result{Repo: Repository{Location: "acme/a..b", Branch: "main"}, RepoReason: "'..' is not allowed"}},
		{"leading dash", "-acme/model@main",
			result{Repo: Repository{Location: "-acme/model", Branch: "main"}, RepoReason: "owner and name must not start or end with '-'"}},
		{"dash around the slash", "acme-/model@main",
			result{Repo: Repository{Location: "acme-/model", Branch: "main"}, RepoReason: "owner and name must not start or end with '-'"}},
		{"name starts with dash", "acme/-model@main",
			result{Repo: Repository{Location: "acme/-model", Branch: "main"}, RepoReason: "owner and name must not start or end with '-'"}},
		{"inner dashes are fine", "ac-me/mo-del@main",
			result{Repo: Repository{Location: "ac-me/mo-del", Branch: "main"}}},
		{"trailing dash", "acme/model-@main",
			result{Repo: Repository{Location: "acme/model-", Branch: "main"}, RepoReason: "owner and name must not start or end with '-'"}},
		{"URL without host", "file:///srv/repo@main",
			result{Repo: Repository{Location: "file:///srv/repo", Branch: "main", IsURL: true}, RepoReason: "the URL has no host"}},
		{"URL without scheme", "://host/repo@main",
			result{Repo: Repository{Location: "://host/repo", Branch: "main", IsURL: true}, RepoReason: "the URL does not parse: missing protocol scheme"}},

		{"empty branch", "acme/model@",
			result{Repo: Repository{Location: "acme/model"}, BranchReason: "it is empty", Branch: ""}},
		{"slash in branch", "acme/model@feature/x",
			result{Repo: Repository{Location: "acme/model", Branch: "feature/x"}, BranchReason: "character '/' is not allowed", Branch: "feature/x"}},
		{"double dot in branch", "acme/model@a..b",
			result{Repo: Repository{Location: "acme/model", Branch: "a..b"}, BranchReason: "'..' is not allowed", Branch: "a..b"}},
		{"branch starts with dash", "acme/model@-x",
			result{Repo: Repository{Location: "acme/model", Branch: "-x"}, BranchReason: "it must not start with '-'", Branch: "-x"}},
		{"branch ends with dot", "acme/model@x.",
			result{Repo: Repository{Location: "acme/model", Branch: "x."}, BranchReason: "it must not end with '.'", Branch: "x."}},
		{"branch may end with dash and start with dot", "acme/model@.x-",
			result{Repo: Repository{Location: "acme/model", Branch: ".x-"}}},
		{"both invalid", "acme@x y",
			result{Repo: Repository{Location: "acme", Branch: "x y"},
				RepoReason:   "the location must be owner/name (exactly one '/') or a URL",
				BranchReason: "character U+0020 is not allowed", Branch: "x y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRepository(tt.in)
			got := result{Repo: r}
			if re := (*RepositoryError)(nil); errors.As(err, &re) {
				if re.Ref != tt.in {
					t.Errorf("RepositoryError.Ref = %q, want %q", re.Ref, tt.in)
				}
				got.RepoReason = re.Reason
			}
			if be := (*BranchError)(nil); errors.As(err, &be) {
				got.BranchReason, got.Branch = be.Reason, be.Branch
			}
			if (err == nil) != (got.RepoReason == "" && got.BranchReason == "") {
				t.Errorf("error %v is neither a RepositoryError nor a BranchError", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseRepository(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
			if err == nil && r.String() != tt.in {
				t.Errorf("String() = %q, want %q", r.String(), tt.in)
			}
		})
	}
}

func FuzzParseRepository(f *testing.F) {
	for _, s := range []string{"acme/model@main", "https://h/x@b", "ssh://u@h:/p@b", "@", "a/b@", "a..b/c@d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRepository(s)
		if err != nil {
			return
		}
		if r.String() != s {
			t.Fatalf("String() = %q, want %q", r.String(), s)
		}
		if strings.Contains(r.Branch, "@") || r.Branch == "" {
			t.Fatalf("valid reference %q has branch %q", s, r.Branch)
		}
	})
}
