package deploycheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// externalSecrets are the Kubernetes Secrets the prod overlay expects to exist (managed outside
// this repository), with the keys the manifests read. docs/deploy.md lists the same (checked by
// TestExternalSecretsDocumented); the dev overlay generates exactly these.
// datasurface-credentials holds model credentials: any keys of the env credential store.
var externalSecrets = map[string][]string{
	"datasurface-control-db":  {"dsn"},
	"datasurface-api":         {"tokens.yaml", "webhook-secrets.yaml"},
	"datasurface-credentials": nil,
	"postgres":                {"password"},
	"minio":                   {"root-user", "root-password"},
	"cdc-source":              {"user", "password"},
}

// anyKeys marks a Secret in externalSecrets whose keys are not fixed.
func anyKeys(name string) bool { return externalSecrets[name] == nil }

// version is the repository's VERSION: the tag of the datasurface image everywhere.
func version(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// imageRef splits an image reference into repository, tag and digest.
func imageRef(image string) (repo, tag, digest string) {
	repo, digest, _ = strings.Cut(image, "@")
	// A tag follows the last colon after the last slash (a registry may have a port).
	slash := strings.LastIndex(repo, "/")
	if i := strings.LastIndex(repo, ":"); i > slash {
		repo, tag = repo[:i], repo[i+1:]
	}
	return repo, tag, digest
}

// checkPinned requires a tag or a digest, and never latest.
func checkPinned(image string) error {
	_, tag, digest := imageRef(image)
	switch {
	case image == "":
		return fmt.Errorf("no image")
	case tag == "latest":
		return fmt.Errorf("image %q uses :latest", image)
	case tag == "" && digest == "":
		return fmt.Errorf("image %q is not pinned (no tag or digest)", image)
	}
	return nil
}

// isDatasurfaceImage reports whether image is the datasurface image (any registry).
func isDatasurfaceImage(image string) bool {
	repo, _, _ := imageRef(image)
	return repo == "datasurface" || strings.HasSuffix(repo, "/datasurface")
}

func TestImageRef(t *testing.T) {
	tests := []struct {
		image  string
		pinned bool
		ds     bool
	}{
		{"datasurface:0.1.0", true, true},
		{"registry.example.com:5000/datasurface/datasurface:0.1.0", true, true},
		{"registry.example.com:5000/datasurface", false, true},
		{"nats:latest", false, false},
		{"nats", false, false},
		{"postgres@sha256:0123", true, false},
		{"quay.io/debezium/connect:3.0.0.Final", true, false},
	}
	for _, tt := range tests {
		if got := checkPinned(tt.image) == nil; got != tt.pinned {
			t.Errorf("checkPinned(%q) pinned = %v, want %v", tt.image, got, tt.pinned)
		}
		if got := isDatasurfaceImage(tt.image); got != tt.ds {
			t.Errorf("isDatasurfaceImage(%q) = %v, want %v", tt.image, got, tt.ds)
		}
	}
}

// TestExternalSecretsDocumented keeps the list of Secrets prod expects equal in this test and in
// docs/deploy.md (the table between the external-secrets markers).
func TestExternalSecretsDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "docs", "deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "<!-- external-secrets -->")
	section, _, ok2 := strings.Cut(rest, "<!-- /external-secrets -->")
	if !ok || !ok2 {
		t.Fatal("docs/deploy.md has no <!-- external-secrets --> … <!-- /external-secrets --> section")
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z0-9-]+)` \\| ([^|]*)\\|")
	documented := map[string][]string{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		var keys []string
		for _, k := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(m[2], -1) {
			keys = append(keys, k[1])
		}
		documented[m[1]] = keys
	}
	if got, want := sortedKeys(documented), sortedKeys(externalSecrets); !slices.Equal(got, want) {
		t.Fatalf("docs/deploy.md lists Secrets %v, the test %v", got, want)
	}
	for name, keys := range externalSecrets {
		if keys == nil {
			continue
		}
		got := slices.Sorted(slices.Values(documented[name]))
		want := slices.Sorted(slices.Values(keys))
		if !slices.Equal(got, want) {
			t.Errorf("docs/deploy.md: Secret %s has keys %v, the test %v", name, got, want)
		}
	}
}
