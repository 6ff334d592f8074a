// Package auth owns how a source repository proves who it is to modelsvc: API tokens
// (`Authorization: Bearer …`, one per repository) for ProposeChange, and GitHub-style HMAC-SHA256
// webhook signatures (`X-Hub-Signature-256: sha256=…`) keyed by a per-repository secret. Every
// comparison takes constant time.
package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/datasurface/datasurface/model/names"
	"github.com/datasurface/datasurface/services/modelsvc/internal/failure"
)

// Tokens maps API tokens to the repositories they belong to.
type Tokens struct {
	entries []tokenEntry
}

type tokenEntry struct {
	repo string
	hash [sha256.Size]byte
}

// NewTokens takes repository ("location@branch") → token. Repositories must be valid references
// and tokens non-empty.
func NewTokens(byRepo map[string]string) (*Tokens, error) {
	t := &Tokens{}
	for _, repo := range slices.Sorted(maps.Keys(byRepo)) {
		if _, err := names.ParseRepository(repo); err != nil {
			return nil, fmt.Errorf("token for %q: %w", repo, err)
		}
		tok := byRepo[repo]
		if tok == "" {
			return nil, fmt.Errorf("token for %q is empty", repo)
		}
		t.entries = append(t.entries, tokenEntry{repo: repo, hash: sha256.Sum256([]byte(tok))})
	}
	return t, nil
}

// Authorize checks an Authorization header value for proposing as source: Unauthenticated when
// the header carries no bearer token or an unknown one, PermissionDenied when the token is valid
// but belongs to another repository, InvalidArgument when source is empty. Both the presented and
// the configured tokens are hashed and every configured token is compared, so the time taken does
// not depend on which token matched or how much of it.
func (t *Tokens) Authorize(header, source string) error {
	tok, ok := bearer(header)
	if !ok {
		return failure.New(failure.Unauthenticated, "missing API token: send 'Authorization: Bearer <token>'")
	}
	h := sha256.Sum256([]byte(tok))
	known, allowed := 0, 0
	for _, e := range t.entries {
		match := subtle.ConstantTimeCompare(h[:], e.hash[:])
		known |= match
		allowed |= match & subtle.ConstantTimeCompare([]byte(e.repo), []byte(source))
	}
	switch {
	case known == 0:
		return failure.New(failure.Unauthenticated, "unknown API token")
	case source == "":
		return failure.Required("source")
	case allowed == 0:
		return failure.New(failure.PermissionDenied, "the API token may not propose changes for '%s'", source)
	}
	return nil
}

func bearer(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// Secrets holds the webhook secrets by repository.
type Secrets struct {
	byRepo map[string][]byte
}

// NewSecrets takes repository ("location@branch") → secret.
func NewSecrets(byRepo map[string]string) (*Secrets, error) {
	s := &Secrets{byRepo: make(map[string][]byte, len(byRepo))}
	for repo, secret := range byRepo {
		if _, err := names.ParseRepository(repo); err != nil {
			return nil, fmt.Errorf("webhook secret for %q: %w", repo, err)
		}
		if secret == "" {
			return nil, fmt.Errorf("webhook secret for %q is empty", repo)
		}
		s.byRepo[repo] = []byte(secret)
	}
	return s, nil
}

// ErrBadSignature is returned by Verify for an unknown source or a missing or wrong signature.
var ErrBadSignature = errors.New("bad webhook signature")

// Known reports whether source has a webhook secret.
func (s *Secrets) Known(source string) bool {
	_, ok := s.byRepo[source]
	return ok
}

// Verify checks a GitHub-style signature header `sha256=<hex HMAC-SHA256(secret, body)>` for
// source. Any failure is Unauthenticated; the message does not say which check failed.
func (s *Secrets) Verify(source, header string, body []byte) error {
	secret, ok := s.byRepo[source]
	if !ok {
		return failure.New(failure.Unauthenticated, "unknown source or bad signature")
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return failure.New(failure.Unauthenticated, "missing X-Hub-Signature-256 header (sha256=<hex>)")
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return failure.New(failure.Unauthenticated, "unknown source or bad signature")
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return failure.New(failure.Unauthenticated, "unknown source or bad signature")
	}
	return nil
}

// Sign returns the signature header value for body, as a sender computes it.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
