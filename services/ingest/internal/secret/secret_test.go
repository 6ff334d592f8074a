package secret_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/ingest/internal/secret"
	"github.com/google/go-cmp/cmp"
)

func cred(n string, t modelv1.CredentialType) *modelv1.Credential {
	return &modelv1.Credential{Name: n, Type: t}
}

func TestCredentials(t *testing.T) {
	dir := t.TempDir()
	for path, v := range map[string]string{
		"SRC/user": "reader\n", "SRC/password": "p@ss\n\n", "ARCH/api_key": "AK", "ARCH/api_secret": "SK\n", "TOK/token": "t",
	} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(path)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, path), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"SRC_USER": "u", "SRC_PASSWORD": "", "ARCH_API_KEY": "k", "ARCH_API_SECRET": "s", "TOK_TOKEN": "tt"}
	c := secret.Credentials{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }, ReadFile: os.ReadFile}
	envStore := &modelv1.CredentialStore{Kind: &modelv1.CredentialStore_Env{Env: &modelv1.EnvCredentialStore{}}}
	fileStore := &modelv1.CredentialStore{Kind: &modelv1.CredentialStore_File{File: &modelv1.FileCredentialStore{Root: dir}}}
	up, kp, tok := modelv1.CredentialType_CREDENTIAL_TYPE_USER_PASSWORD, modelv1.CredentialType_CREDENTIAL_TYPE_API_KEY_PAIR, modelv1.CredentialType_CREDENTIAL_TYPE_API_TOKEN
	tests := []struct {
		name  string
		store *modelv1.CredentialStore
		cred  *modelv1.Credential
		want  secret.Secret
		err   string
	}{
		{"env user password", envStore, cred("SRC", up), secret.Secret{User: "u"}, ""},
		{"env key pair", envStore, cred("ARCH", kp), secret.Secret{APIKey: "k", APISecret: "s"}, ""},
		{"env token", envStore, cred("TOK", tok), secret.Secret{Token: "tt"}, ""},
		{"env missing", envStore, cred("NOPE", up), secret.Secret{}, "environment variable NOPE_USER: secret not found"},
		{"file user password (one newline removed)", fileStore, cred("SRC", up), secret.Secret{User: "reader", Password: "p@ss\n"}, ""},
		{"file key pair", fileStore, cred("ARCH", kp), secret.Secret{APIKey: "AK", APISecret: "SK"}, ""},
		{"file missing", fileStore, cred("NOPE", up), secret.Secret{}, "secret not found"},
		{"bad name", fileStore, cred("../SRC", up), secret.Secret{}, "is not valid"},
		{"vault", &modelv1.CredentialStore{Kind: &modelv1.CredentialStore_Vault{Vault: &modelv1.VaultCredentialStore{}}}, cred("SRC", up), secret.Secret{}, "vault"},
		{"cert type", envStore, cred("SRC", modelv1.CredentialType_CREDENTIAL_TYPE_CA_CERT_BUNDLE), secret.Secret{}, "not used by ingest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Resolve(context.Background(), tt.store, tt.cred)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("secret (-want +got):\n%s", diff)
			}
		})
	}
	s := secret.Secret{User: "u", Password: "hunter2"}
	if out := fmt.Sprintf("%v %+v %#v %s", s, s, s, s); strings.Contains(out, "hunter2") {
		t.Errorf("a secret leaks through formatting: %s", out)
	}
	_, err := c.Resolve(context.Background(), envStore, cred("NOPE", up))
	if !errors.Is(err, secret.ErrNotFound) {
		t.Errorf("missing secret: %v is not ErrNotFound", err)
	}
}
