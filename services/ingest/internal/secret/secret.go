// Package secret owns how ingest resolves model credentials (model.md §4.16): the resolved
// Secret, the Resolver interface the service depends on, and Credentials, the environment and
// file credential stores. Secrets never reach logs, events or errors.
package secret

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// Secret is a resolved credential. Only the fields of its type are set. Its String and
// GoString never show the secret parts, so it is safe to log by accident.
type Secret struct {
	User      string
	Password  string
	Token     string
	APIKey    string
	APISecret string
}

func (s Secret) String() string   { return "Secret{user: " + s.User + ", secrets redacted}" }
func (s Secret) GoString() string { return s.String() }

// Resolver resolves a model credential through the credential store of the PSP whose
// platform uses it (model.md §4.16). Ingest resolves the merge login, the source logins
// (USER_PASSWORD), the Kafka login (USER_PASSWORD, SASL/PLAIN) and the raw archive's key pair
// (API_KEY_PAIR).
type Resolver interface {
	Resolve(ctx context.Context, store *modelv1.CredentialStore, cred *modelv1.Credential) (Secret, error)
}

// ErrNotFound is returned (wrapped) when a store has no value for a credential.
var ErrNotFound = errors.New("secret not found")

// Credentials resolves credentials from the environment and file stores of model.md §4.16:
//
//	env:  USER_PASSWORD → <N>_USER, <N>_PASSWORD; API_TOKEN → <N>_TOKEN;
//	      API_KEY_PAIR → <N>_API_KEY, <N>_API_SECRET
//	file: <root>/<N>/user, …/password; …/token; …/api_key, …/api_secret
//	      (read as bytes, one trailing newline removed)
//
// The functions are injected (cmd passes os.LookupEnv and os.ReadFile) so the service itself
// never reads the environment. A vault store is not supported here yet.
type Credentials struct {
	LookupEnv func(string) (string, bool)
	ReadFile  func(string) ([]byte, error)
}

// Resolve implements Resolver.
func (c Credentials) Resolve(_ context.Context, store *modelv1.CredentialStore, cred *modelv1.Credential) (Secret, error) {
	n := cred.GetName()
	if n == "" || strings.ContainsAny(n, "/\\\x00") || n == "." || n == ".." {
		return Secret{}, fmt.Errorf("credential name %q is not valid", n)
	}
	var parts []string
	switch cred.GetType() {
	case modelv1.CredentialType_CREDENTIAL_TYPE_USER_PASSWORD:
		parts = []string{"user", "password"}
	case modelv1.CredentialType_CREDENTIAL_TYPE_API_TOKEN:
		parts = []string{"token"}
	case modelv1.CredentialType_CREDENTIAL_TYPE_API_KEY_PAIR:
		parts = []string{"api_key", "api_secret"}
	default:
		return Secret{}, fmt.Errorf("credential %q: type %v is not used by ingest", n, cred.GetType())
	}
	vals := make([]string, len(parts))
	switch k := store.GetKind().(type) {
	case *modelv1.CredentialStore_Env:
		if c.LookupEnv == nil {
			return Secret{}, errors.New("env credential store: no environment lookup configured")
		}
		for i, p := range parts {
			name := n + "_" + strings.ToUpper(p)
			v, ok := c.LookupEnv(name)
			if !ok {
				return Secret{}, fmt.Errorf("credential %q: environment variable %s: %w", n, name, ErrNotFound)
			}
			vals[i] = v
		}
	case *modelv1.CredentialStore_File:
		if c.ReadFile == nil {
			return Secret{}, errors.New("file credential store: no file reader configured")
		}
		root := k.File.GetRoot()
		if root == "" {
			return Secret{}, errors.New("file credential store without a root")
		}
		for i, p := range parts {
			path := filepath.Join(root, n, p)
			b, err := c.ReadFile(path)
			if errors.Is(err, fs.ErrNotExist) {
				return Secret{}, fmt.Errorf("credential %q: file %s: %w", n, path, ErrNotFound)
			}
			if err != nil {
				return Secret{}, fmt.Errorf("credential %q: %w", n, err)
			}
			s := string(b)
			s = strings.TrimSuffix(s, "\n")
			vals[i] = s
		}
	case *modelv1.CredentialStore_Vault:
		return Secret{}, fmt.Errorf("credential %q: the vault credential store is not supported by ingest yet", n)
	default:
		return Secret{}, fmt.Errorf("credential %q: the platform's PSP has no credential store", n)
	}
	var s Secret
	switch cred.GetType() {
	case modelv1.CredentialType_CREDENTIAL_TYPE_USER_PASSWORD:
		s.User, s.Password = vals[0], vals[1]
	case modelv1.CredentialType_CREDENTIAL_TYPE_API_TOKEN:
		s.Token = vals[0]
	case modelv1.CredentialType_CREDENTIAL_TYPE_API_KEY_PAIR:
		s.APIKey, s.APISecret = vals[0], vals[1]
	}
	return s, nil
}
