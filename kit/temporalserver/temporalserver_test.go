package temporalserver_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/datasurface/datasurface/kit/temporalserver"
)

func TestStartForTest(t *testing.T) {
	began := time.Now()
	s := temporalserver.StartForTest(t, func(o *temporalserver.Options) { o.Namespaces = []string{"extra"} })
	t.Logf("dev server %s ready in %s", s.Addr, time.Since(began))
	out, err := exec.CommandContext(t.Context(), s.Binary, "operator", "cluster", "health", "--address", s.Addr).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SERVING") {
		t.Fatalf("cluster health: %v: %s", err, out)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Exited():
	default:
		t.Fatal("the server is still running after Stop")
	}
}

func TestStartRequiresDir(t *testing.T) {
	if _, err := temporalserver.Start(t.Context(), temporalserver.Options{}); err == nil {
		t.Fatal("Start without Dir succeeded")
	}
}
