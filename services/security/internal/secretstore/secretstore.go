// Package secretstore resolves and writes USER_PASSWORD credentials in a PSP's credential store
// (model.md §4.16) for the security service: the environment store is read-only
// (`<N>_USER`, `<N>_PASSWORD`); the file store reads and writes `<root>/<N>/user` and
// `<root>/<N>/password` (one trailing newline removed on read; written 0600 in a 0700 directory,
// each through a temporary file in the same directory, fsync and rename, then a directory
// fsync, so a reader sees the old value or the new one, never a partial file). Writing to the
// env store fails with ErrReadOnly and tells the operator to pre-create the credential. The
// vault store is not supported yet. Nothing here ever puts a secret into an error.
package secretstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/datasurface/datasurface/model/names"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// ErrNotFound is returned (wrapped) when the store has no value for a credential.
var ErrNotFound = errors.New("secret not found")

// ErrReadOnly is returned (wrapped) by Put on a store that cannot be written (env).
var ErrReadOnly = errors.New("credential store is read-only")

// Writable reports whether the security service can write generated secrets to store: a file
// store. The env store is read-only by nature; the vault store is writable by the model's
// definition (model.md §4.16) but not supported by this service yet, so it is not writable here.
func Writable(store *modelv1.CredentialStore) bool {
	_, ok := store.GetKind().(*modelv1.CredentialStore_File)
	return ok
}

// Where tells an operator where credential name of store lives, for messages that ask them to
// create it: the store's kind ("env", "file", "vault") and the location.
func Where(store *modelv1.CredentialStore, name string) (kind, where string) {
	switch k := store.GetKind().(type) {
	case *modelv1.CredentialStore_Env:
		return "env", fmt.Sprintf("set %s_USER and %s_PASSWORD in the environment of the security service and of every service that uses it", name, name)
	case *modelv1.CredentialStore_File:
		return "file", fmt.Sprintf("write the files %s and %s", filepath.Join(k.File.GetRoot(), name, "user"), filepath.Join(k.File.GetRoot(), name, "password"))
	case *modelv1.CredentialStore_Vault:
		return "vault", fmt.Sprintf("write keys user and password of the KV v2 secret %s/%s/%s", k.Vault.GetMount(), k.Vault.GetPathPrefix(), name)
	}
	return "none", "the platform's PSP has no credential store"
}

// Stores resolves credentials in env and file stores. LookupEnv is injected (only cmd reads the
// environment); file access uses the os package.
type Stores struct {
	LookupEnv func(string) (string, bool)
}

func checkName(n string) error {
	if !names.IsCredentialName(n) {
		return fmt.Errorf("credential name %q is not valid", n)
	}
	return nil
}

// UserPassword resolves the USER_PASSWORD credential name through store.
func (s Stores) UserPassword(_ context.Context, store *modelv1.CredentialStore, name string) (user, password string, err error) {
	if err := checkName(name); err != nil {
		return "", "", err
	}
	switch k := store.GetKind().(type) {
	case *modelv1.CredentialStore_Env:
		if s.LookupEnv == nil {
			return "", "", errors.New("env credential store: no environment lookup configured")
		}
		u, ok := s.LookupEnv(name + "_USER")
		if !ok {
			return "", "", fmt.Errorf("credential %s: environment variable %s_USER: %w", name, name, ErrNotFound)
		}
		p, ok := s.LookupEnv(name + "_PASSWORD")
		if !ok {
			return "", "", fmt.Errorf("credential %s: environment variable %s_PASSWORD: %w", name, name, ErrNotFound)
		}
		return u, p, nil
	case *modelv1.CredentialStore_File:
		root := k.File.GetRoot()
		if root == "" {
			return "", "", errors.New("file credential store without a root")
		}
		u, err := readValue(filepath.Join(root, name, "user"), name)
		if err != nil {
			return "", "", err
		}
		p, err := readValue(filepath.Join(root, name, "password"), name)
		if err != nil {
			return "", "", err
		}
		return u, p, nil
	case *modelv1.CredentialStore_Vault:
		return "", "", fmt.Errorf("credential %s: the vault credential store is not supported by the security service yet", name)
	}
	return "", "", fmt.Errorf("credential %s: the platform's PSP has no credential store", name)
}

func readValue(path, name string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("credential %s: file %s: %w", name, path, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("credential %s: read %s: %w", name, filepath.Base(path), errors.Unwrap(err))
	}
	return strings.TrimSuffix(string(b), "\n"), nil
}

// PutUserPassword writes user and password under name. The env store is read-only.
func (s Stores) PutUserPassword(_ context.Context, store *modelv1.CredentialStore, name, user, password string) error {
	if err := checkName(name); err != nil {
		return err
	}
	switch k := store.GetKind().(type) {
	case *modelv1.CredentialStore_Env:
		return fmt.Errorf("credential %s: %w: the environment store cannot take a generated secret; pre-create the credential (set %s_USER and %s_PASSWORD)", name, ErrReadOnly, name, name)
	case *modelv1.CredentialStore_File:
		root := k.File.GetRoot()
		if root == "" {
			return errors.New("file credential store without a root")
		}
		dir := filepath.Join(root, name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("credential %s: create directory: %w", name, err)
		}
		// Password first: a crash between the two leaves a stale user with a new password,
		// which the next reconcile reads back as a rotated secret.
		if err := writeAtomic(filepath.Join(dir, "password"), password); err != nil {
			return fmt.Errorf("credential %s: write password: %w", name, err)
		}
		if err := writeAtomic(filepath.Join(dir, "user"), user); err != nil {
			return fmt.Errorf("credential %s: write user: %w", name, err)
		}
		return nil
	case *modelv1.CredentialStore_Vault:
		return fmt.Errorf("credential %s: %w: the vault credential store is not supported by the security service yet; pre-create the credential", name, ErrReadOnly)
	}
	return fmt.Errorf("credential %s: the platform's PSP has no credential store", name)
}

func writeAtomic(path, value string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteString(value + "\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	// Make the rename itself durable.
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
