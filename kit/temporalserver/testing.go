package temporalserver

import (
	"context"
	"fmt"
	"os"
	"testing"
)

// StartForTest starts a dev server of its own for the test, on a temp directory, and stops it
// when the test ends. The CLI must already be installed at the pinned Version (tests never build
// it): without it the test is skipped, or fails when the CI environment variable is set.
func StartForTest(t testing.TB, opts ...func(*Options)) *Server {
	t.Helper()
	bin, err := FindBinary()
	if err == nil {
		var v string
		if v, err = BinaryVersion(t.Context(), bin); err == nil && v != Version {
			err = fmt.Errorf("%s is version %s, want %s: run tools/install-temporal.sh", bin, v, Version)
		}
	}
	if err != nil {
		missing(t, err)
	}
	o := Options{Binary: bin, Dir: t.TempDir()}
	for _, f := range opts {
		f(&o)
	}
	s, err := Start(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s
}

// missing skips the test because the Temporal CLI is missing, or fails it when CI is set.
func missing(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("the Temporal dev server is required when CI is set: %v", err)
	}
	t.Skipf("Temporal dev server not available: %v", err)
}
