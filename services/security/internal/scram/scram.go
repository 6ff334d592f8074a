// Package scram owns the role passwords the security service sets (security.md §3): random
// passwords of 32 characters [A-Za-z0-9] from crypto/rand, SCRAM-SHA-256 verifiers computed here
// (RFC 5802/7677, PostgreSQL's format) so the plain text never reaches the server, and the
// SHA-256 fingerprint of an applied secret that detects rotation.
package scram

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Iterations is PostgreSQL's default scram_iterations.
const Iterations = 4096

// SaltLen is the salt length PostgreSQL uses.
const SaltLen = 16

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// GeneratePassword returns n characters drawn uniformly from [A-Za-z0-9] with crypto/rand.
func GeneratePassword(n int) (string, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, 64)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("generate password: %w", err)
		}
		for _, b := range buf {
			// 248 = 4 × 62: reject the tail so every character is equally likely.
			if b < 248 && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}

// Verifier returns the SCRAM-SHA-256 verifier of password with a random salt:
// `SCRAM-SHA-256$4096:<salt>$<StoredKey>:<ServerKey>` (base64).
func Verifier(password string) (string, error) {
	salt := make([]byte, SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("scram salt: %w", err)
	}
	return VerifierWith(password, salt, Iterations)
}

// VerifierWith is Verifier with a given salt and iteration count.
func VerifierWith(password string, salt []byte, iterations int) (string, error) {
	if iterations < 1 {
		return "", errors.New("scram: iterations must be positive")
	}
	salted, err := pbkdf2.Key(sha256.New, string(saslPrep(password)), salt, iterations, sha256.Size)
	if err != nil {
		return "", fmt.Errorf("scram: %w", err)
	}
	clientKey := mac(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	serverKey := mac(salted, "Server Key")
	enc := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iterations, enc(salt), enc(stored[:]), enc(serverKey)), nil
}

// ParseVerifier splits a verifier into its salt and iteration count (tests compare a verifier
// PostgreSQL computed with one computed here from the same salt).
func ParseVerifier(v string) (salt []byte, iterations int, err error) {
	rest, ok := strings.CutPrefix(v, "SCRAM-SHA-256$")
	if !ok {
		return nil, 0, errors.New("not a SCRAM-SHA-256 verifier")
	}
	iterSalt, _, ok := strings.Cut(rest, "$")
	if !ok {
		return nil, 0, errors.New("malformed verifier")
	}
	it, s, ok := strings.Cut(iterSalt, ":")
	if !ok {
		return nil, 0, errors.New("malformed verifier")
	}
	if _, err := fmt.Sscanf(it, "%d", &iterations); err != nil {
		return nil, 0, fmt.Errorf("malformed verifier iterations: %w", err)
	}
	salt, err = base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, 0, fmt.Errorf("malformed verifier salt: %w", err)
	}
	return salt, iterations, nil
}

func mac(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// Fingerprint is the SHA-256 (hex) of an applied secret: user and password separated by NUL.
// It is stored owner-only in the role secrets table and never published.
func Fingerprint(user, password string) string {
	sum := sha256.Sum256([]byte(user + "\x00" + password))
	return hex.EncodeToString(sum[:])
}

// saslPrep prepares a password as PostgreSQL's pg_saslprep does: pure ASCII is used as is;
// otherwise non-ASCII spaces become U+0020, characters "mapped to nothing" are removed and the
// result is NFKC-normalised. Invalid UTF-8, prohibited or unassigned code points, or a
// bidirectional violation make PostgreSQL use the raw bytes, and so does this.
func saslPrep(p string) []byte {
	ascii := true
	for i := 0; i < len(p); i++ {
		if p[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii || !utf8.ValidString(p) {
		return []byte(p)
	}
	var b strings.Builder
	for _, r := range p {
		switch {
		case mappedToNothing(r):
		case r != ' ' && unicode.Is(unicode.Zs, r):
			b.WriteRune(' ')
		default:
			b.WriteRune(r)
		}
	}
	out := norm.NFKC.String(b.String())
	for _, r := range out {
		if prohibited(r) {
			return []byte(p)
		}
	}
	if !bidiOK(out) {
		return []byte(p)
	}
	return []byte(out)
}

// mappedToNothing is RFC 3454 table B.1.
func mappedToNothing(r rune) bool {
	switch r {
	case 0x00AD, 0x034F, 0x1806, 0x180B, 0x180C, 0x180D, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF:
		return true
	}
	return r >= 0xFE00 && r <= 0xFE0F
}

// prohibited approximates RFC 4013's prohibited output (tables C.1.2–C.9) and unassigned code
// points (A.1) with Unicode categories: controls, private use, surrogates, non-characters,
// unassigned, and the ASCII/non-ASCII spaces left after mapping are allowed only as U+0020.
func prohibited(r rune) bool {
	switch {
	case r == ' ':
		return false
	case unicode.IsControl(r), unicode.Is(unicode.Co, r), unicode.Is(unicode.Cs, r):
		return true
	case r >= 0xFDD0 && r <= 0xFDEF, r&0xFFFE == 0xFFFE:
		return true
	case r >= 0x2FF0 && r <= 0x2FFB, r >= 0x206A && r <= 0x206F, r >= 0x200E && r <= 0x200F,
		r >= 0x202A && r <= 0x202E, r >= 0xE0001 && r <= 0xE007F, r >= 0xFFF9 && r <= 0xFFFD:
		return true
	case unicode.Is(unicode.Zs, r), unicode.Is(unicode.Zl, r), unicode.Is(unicode.Zp, r):
		return true
	}
	return !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Zs)
}

// bidiOK is RFC 3454 §6: a string with right-to-left characters must not contain left-to-right
// ones and must start and end with a right-to-left character.
func bidiOK(s string) bool {
	rtl := func(r rune) bool {
		return unicode.In(r, unicode.Hebrew, unicode.Arabic, unicode.Syriac, unicode.Thaana)
	}
	var hasRTL, hasLTR bool
	for _, r := range s {
		if rtl(r) {
			hasRTL = true
		} else if unicode.IsLetter(r) {
			hasLTR = true
		}
	}
	if !hasRTL {
		return true
	}
	if hasLTR {
		return false
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	return rtl(first) && rtl(last)
}
