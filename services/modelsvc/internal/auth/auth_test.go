package auth

import (
	"testing"

	"github.com/datasurface/datasurface/services/modelsvc/internal/failure"
)

func TestTokensAuthorize(t *testing.T) {
	tokens, err := NewTokens(map[string]string{
		"acme/model@team-sales": "sales-token",
		"acme/model@eco":        "eco-token",
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, header, source string
		want                 failure.Kind // Internal = allowed
	}{
		{"allowed", "Bearer sales-token", "acme/model@team-sales", failure.Internal},
		{"scheme is case-insensitive", "bearer eco-token", "acme/model@eco", failure.Internal},
		{"no header", "", "acme/model@eco", failure.Unauthenticated},
		{"basic auth", "Basic ZWNvOmVjbw==", "acme/model@eco", failure.Unauthenticated},
		{"empty token", "Bearer ", "acme/model@eco", failure.Unauthenticated},
		{"unknown token", "Bearer nope", "acme/model@eco", failure.Unauthenticated},
		{"token prefix", "Bearer sales-toke", "acme/model@team-sales", failure.Unauthenticated},
		{"other repository", "Bearer sales-token", "acme/model@eco", failure.PermissionDenied},
		{"no source", "Bearer sales-token", "", failure.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tokens.Authorize(tt.header, tt.source)
			if got := failure.KindOf(err); (err == nil) != (tt.want == failure.Internal) || (err != nil && got != tt.want) {
				t.Fatalf("Authorize = %v (kind %v), want kind %v", err, got, tt.want)
			}
		})
	}
}

func TestNewTokensRejects(t *testing.T) {
	for name, m := range map[string]map[string]string{
		"bad repository": {"not a repo": "x"},
		"empty token":    {"acme/model@eco": ""},
	} {
		if _, err := NewTokens(m); err == nil {
			t.Errorf("%s: NewTokens accepted %v", name, m)
		}
	}
	if _, err := NewSecrets(map[string]string{"acme/model@eco": ""}); err == nil {
		t.Error("NewSecrets accepted an empty secret")
	}
}

func TestSecretsVerify(t *testing.T) {
	s, err := NewSecrets(map[string]string{"acme/model@eco": "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("archive bytes")
	good := Sign("s3cret", body)
	tests := []struct {
		name, source, header string
		body                 []byte
		ok                   bool
	}{
		{"good", "acme/model@eco", good, body, true},
		{"other body", "acme/model@eco", good, []byte("other"), false},
		{"other secret", "acme/model@eco", Sign("guess", body), body, false},
		{"missing", "acme/model@eco", "", body, false},
		{"sha1 style", "acme/model@eco", "sha1=" + good[7:], body, false},
		{"not hex", "acme/model@eco", "sha256=zz", body, false},
		{"unknown source", "acme/model@team", good, body, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Verify(tt.source, tt.header, tt.body)
			if (err == nil) != tt.ok {
				t.Fatalf("Verify = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && failure.KindOf(err) != failure.Unauthenticated {
				t.Fatalf("Verify kind = %v, want Unauthenticated", failure.KindOf(err))
			}
		})
	}
}
