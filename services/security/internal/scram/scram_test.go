package scram_test

import (
	"context"
	"os"
	"regexp"
	"testing"

	"github.com/datasurface/datasurface/kit/pgtest"
	"github.com/datasurface/datasurface/services/security/internal/scram"
	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Shutdown()
	os.Exit(code)
}

// TestVerifierMatchesPostgres: PostgreSQL computes the verifier of a password; ours, with the
// same salt and iterations, is identical (ASCII, non-ASCII that SASLprep normalises, and a
// non-ASCII space).
func TestVerifierMatchesPostgres(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SET password_encryption = 'scram-sha-256'"); err != nil {
		t.Fatal(err)
	}
	for i, pw := range []string{"Kn0wnTransformerSecret7f3aQ9zX", "pässwörd", "ｆｕｌｌｗｉｄｔｈ", "non\u00a0breaking space", "it's \"quoted\""} {
		role := "scram_test_" + string(rune('a'+i))
		_, _ = conn.Exec(ctx, "DROP ROLE IF EXISTS "+role)
		// The password travels as a literal here only because this test asks the server to
		// hash it; the service never does.
		lit := "'" + regexp.MustCompile(`'`).ReplaceAllString(pw, "''") + "'"
		if _, err := conn.Exec(ctx, "CREATE ROLE "+role+" PASSWORD "+lit); err != nil {
			t.Fatal(err)
		}
		var stored string
		if err := conn.QueryRow(ctx, "SELECT rolpassword FROM pg_catalog.pg_authid WHERE rolname = $1", role).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		_, _ = conn.Exec(ctx, "DROP ROLE "+role)
		salt, iter, err := scram.ParseVerifier(stored)
		if err != nil {
			t.Fatal(err)
		}
		got, err := scram.VerifierWith(pw, salt, iter)
		if err != nil {
			t.Fatal(err)
		}
		if got != stored {
			t.Errorf("password %q: verifier\n got %s\nwant %s", pw, got, stored)
		}
	}
}

func TestGeneratePassword(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9]{32}$`)
	seen := map[string]bool{}
	for range 100 {
		p, err := scram.GeneratePassword(32)
		if err != nil {
			t.Fatal(err)
		}
		if !re.MatchString(p) || seen[p] {
			t.Fatalf("password %q", p)
		}
		seen[p] = true
	}
	v, err := scram.Verifier("x")
	if err != nil || !regexp.MustCompile(`^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$`).MatchString(v) {
		t.Errorf("verifier %q %v", v, err)
	}
}
