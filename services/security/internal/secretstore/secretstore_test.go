package secretstore_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/security/internal/secretstore"
)

func fileStore(root string) *modelv1.CredentialStore {
	return &modelv1.CredentialStore{Kind: &modelv1.CredentialStore_File{File: &modelv1.FileCredentialStore{Root: root}}}
}

var (
	envStore   = &modelv1.CredentialStore{Kind: &modelv1.CredentialStore_Env{Env: &modelv1.EnvCredentialStore{}}}
	vaultStore = &modelv1.CredentialStore{Kind: &modelv1.CredentialStore_Vault{Vault: &modelv1.VaultCredentialStore{Address: "https://vault:8200", Mount: "kv", PathPrefix: "ds"}}}
)

const secret = "S3cretValueThatMustNotLeak0123456"

// TestFileStoreWrite: a generated secret is written as <root>/<N>/user and …/password, files
// 0600 in a 0700 directory, replacing earlier values atomically (no temporary file is left
// behind) and read back with one trailing newline removed.
func TestFileStoreWrite(t *testing.T) {
	root := filepath.Join(t.TempDir(), "creds")
	s := secretstore.Stores{}
	store := fileStore(root)
	if !secretstore.Writable(store) {
		t.Fatal("a file store must be writable")
	}
	if _, _, err := s.UserPassword(t.Context(), store, "D_DT_W"); !errors.Is(err, secretstore.ErrNotFound) {
		t.Fatalf("absent secret: %v", err)
	}
	for _, pw := range []string{secret, "Rotated" + secret} {
		if err := s.PutUserPassword(t.Context(), store, "D_DT_W", "d_dt_w", pw); err != nil {
			t.Fatal(err)
		}
		u, p, err := s.UserPassword(t.Context(), store, "D_DT_W")
		if err != nil || u != "d_dt_w" || p != pw {
			t.Fatalf("read back: %q, %d characters, %v", u, len(p), err)
		}
	}
	dir := filepath.Join(root, "D_DT_W")
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory: %v %v", fi.Mode(), err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		fi, err := e.Info()
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v %v", e.Name(), fi.Mode(), err)
		}
	}
	if strings.Join(names, ",") != "password,user" {
		t.Errorf("files in the credential directory: %v (temporary files left behind?)", names)
	}
	b, err := os.ReadFile(filepath.Join(dir, "password"))
	if err != nil || string(b) != "Rotated"+secret+"\n" {
		t.Errorf("password file: %d bytes, %v", len(b), err)
	}
}

// TestReadOnlyStores: the env store cannot take a generated secret and says to pre-create it;
// the vault store is not supported yet and is not writable; neither error carries the secret.
func TestReadOnlyStores(t *testing.T) {
	s := secretstore.Stores{LookupEnv: func(k string) (string, bool) {
		v, ok := map[string]string{"D_SEC_USER": "sec", "D_SEC_PASSWORD": secret}[k]
		return v, ok
	}}
	if secretstore.Writable(envStore) || secretstore.Writable(vaultStore) {
		t.Error("env and vault stores must not be writable")
	}
	err := s.PutUserPassword(t.Context(), envStore, "D_DT_W", "d_dt_w", secret)
	if !errors.Is(err, secretstore.ErrReadOnly) || !strings.Contains(err.Error(), "pre-create the credential (set D_DT_W_USER and D_DT_W_PASSWORD)") {
		t.Errorf("env put: %v", err)
	}
	err2 := s.PutUserPassword(t.Context(), vaultStore, "D_DT_W", "d_dt_w", secret)
	if !errors.Is(err2, secretstore.ErrReadOnly) || !strings.Contains(err2.Error(), "not supported") {
		t.Errorf("vault put: %v", err2)
	}
	for _, e := range []error{err, err2} {
		if e != nil && strings.Contains(e.Error(), secret) {
			t.Error("an error carries the secret")
		}
	}
	if u, p, err := s.UserPassword(t.Context(), envStore, "D_SEC"); err != nil || u != "sec" || p != secret {
		t.Errorf("env read: %q %v", u, err)
	}
	if _, _, err := s.UserPassword(t.Context(), envStore, "D_MERGE"); !errors.Is(err, secretstore.ErrNotFound) || !strings.Contains(err.Error(), "D_MERGE_USER") {
		t.Errorf("env absent: %v", err)
	}
	kind, where := secretstore.Where(envStore, "D_DT_W")
	if kind != "env" || !strings.Contains(where, "D_DT_W_USER") {
		t.Errorf("Where(env): %s %s", kind, where)
	}
}

// TestInvalidNames: a credential name that is not a credential name (path traversal, empty)
// is refused before any file is touched.
func TestInvalidNames(t *testing.T) {
	root := t.TempDir()
	s := secretstore.Stores{}
	for _, n := range []string{"../escape", "a/b", "", ".hidden", "A B"} {
		if err := s.PutUserPassword(t.Context(), fileStore(root), n, "u", secret); err == nil {
			t.Errorf("put %q accepted", n)
		}
		if _, _, err := s.UserPassword(t.Context(), fileStore(root), n); err == nil {
			t.Errorf("read %q accepted", n)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(root)); len(entries) != 1 {
		t.Errorf("files outside the root: %v", entries)
	}
}
