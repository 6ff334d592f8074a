package deploycheck

import (
	"net"
	"net/url"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

const stackFile = "deploy/swarm/stack.yml"

// loadStack loads the stack file with compose-go, validating it against the Compose
// specification's JSON schema (compose-go's default; SkipValidation stays false), with an empty
// environment so the defaults in the file are what is checked.
func loadStack(t *testing.T) *types.Project {
	t.Helper()
	file := filepath.Join(repoRoot, stackFile)
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	details := types.ConfigDetails{
		WorkingDir:  filepath.Dir(abs),
		ConfigFiles: []types.ConfigFile{{Filename: abs}},
		Environment: types.Mapping{},
	}
	p, err := loader.LoadWithContext(t.Context(), details, func(o *loader.Options) {
		o.SetProjectName("datasurface", true)
	})
	if err != nil {
		t.Fatalf("%s does not load as a Compose file: %v", stackFile, err)
	}
	return p
}

// secretPath is where a service secret is mounted in the container.
func secretPath(s types.ServiceSecretConfig) string {
	target := s.Target
	if target == "" {
		target = s.Source
	}
	if path.IsAbs(target) {
		return target
	}
	return "/run/secrets/" + target
}

func TestSwarmStack(t *testing.T) {
	b := datasurfaceBinary(t)
	wantTag := version(t)
	p := loadStack(t)

	used := map[string]bool{}
	serveCount := map[string]int{}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range p.Services {
			if !yield(n) {
				return
			}
		}
	}) {
		svc := p.Services[name]
		where := "service " + name
		if err := checkPinned(svc.Image); err != nil {
			t.Errorf("%s: %v", where, err)
		}
		if svc.Deploy == nil || svc.Deploy.RestartPolicy == nil || svc.Deploy.RestartPolicy.Condition == "" {
			t.Errorf("%s: no deploy.restart_policy", where)
		}
		if svc.Deploy == nil || svc.Deploy.Resources.Limits == nil || svc.Deploy.Resources.Limits.NanoCPUs == 0 || svc.Deploy.Resources.Limits.MemoryBytes == 0 {
			t.Errorf("%s: no deploy.resources.limits (cpus and memory)", where)
		}
		mounted := map[string]bool{}
		for _, s := range svc.Secrets {
			if _, ok := p.Secrets[s.Source]; !ok {
				t.Errorf("%s: secret %q is not declared at the top level", where, s.Source)
			}
			used[s.Source] = true
			mounted[secretPath(s)] = true
		}
		for _, c := range svc.Configs {
			if _, ok := p.Configs[c.Source]; !ok {
				t.Errorf("%s: config %q is not declared at the top level", where, c.Source)
			}
		}
		if isDatasurfaceImage(svc.Image) {
			if _, tag, _ := imageRef(svc.Image); tag != wantTag {
				t.Errorf("%s: datasurface image tag %q, want the VERSION %q", where, tag, wantTag)
			}
			cmd := checkSwarmDatasurface(t, b, where, svc, mounted)
			if cmd == "serve" {
				_, flags, _ := b.checkArgs(svc.Command)
				for _, v := range flags["service"] {
					for s := range strings.SplitSeq(v, ",") {
						serveCount[strings.TrimSpace(s)]++
					}
				}
			}
		}
	}
	for name, s := range p.Secrets {
		if !used[name] {
			t.Errorf("secret %s is declared but no service uses it", name)
		}
		if !s.External {
			t.Errorf("secret %s: want external (created with docker secret create), not a file in the repository", name)
		}
	}
	for _, s := range b.services {
		if serveCount[s] != 1 {
			t.Errorf("datasurface service %s runs in %d stack services, want 1", s, serveCount[s])
		}
	}
}

// checkSwarmDatasurface checks a stack service of the datasurface image and returns its
// subcommand: flags the binary accepts, environment it reads, file flags pointing at mounted
// secrets, and for serve a health check by `datasurface healthcheck` on its listen port.
func checkSwarmDatasurface(t *testing.T, b *binary, where string, svc types.ServiceConfig, mounted map[string]bool) string {
	t.Helper()
	if len(svc.Entrypoint) > 0 {
		t.Errorf("%s: entrypoint %v replaces the image's (datasurface)", where, svc.Entrypoint)
	}
	cmd, flags, err := b.checkArgs(svc.Command)
	if err != nil {
		t.Errorf("%s: command %v: %v", where, svc.Command, err)
		return ""
	}
	env := map[string]string{}
	for k, v := range svc.Environment {
		if err := b.checkEnvName(cmd, k, false); err != nil {
			t.Errorf("%s: environment: %v", where, err)
		}
		if v != nil {
			env[k] = *v
		}
	}
	// Values of flags (or their variables) that name files must be mounted secrets.
	value := func(flag string) string {
		if v := flags[flag]; len(v) > 0 {
			return v[len(v)-1]
		}
		for k, f := range b.commands[cmd].env {
			if f == flag {
				return env[k]
			}
		}
		return ""
	}
	for f := range b.commands[cmd].flags {
		if v := value(f); strings.HasSuffix(f, "-file") && v != "" && !mounted[v] {
			t.Errorf("%s: --%s %s is not a mounted secret (mounted: %v)", where, f, v, sortedKeys(mounted))
		}
	}
	if dsn := value("database"); dsn != "" {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Errorf("%s: --database is not a URL: %v", where, err)
		} else {
			if _, hasPassword := u.User.Password(); hasPassword {
				t.Errorf("%s: --database carries a password: use passfile= with a secret", where)
			}
			if pf := u.Query().Get("passfile"); pf == "" || !mounted[pf] {
				t.Errorf("%s: --database passfile %q is not a mounted secret", where, pf)
			}
		}
	}
	if cmd != "serve" {
		return cmd
	}
	listen := value("listen")
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		t.Errorf("%s: listen address %q: %v", where, listen, err)
		return cmd
	}
	for _, pc := range svc.Ports {
		if pc.Target != 0 && strconv.Itoa(int(pc.Target)) != port {
			t.Errorf("%s: publishes target port %d, but serve listens on %s", where, pc.Target, port)
		}
	}
	hc := svc.HealthCheck
	if hc == nil || hc.Disable || len(hc.Test) < 3 || hc.Test[0] != "CMD" || path.Base(hc.Test[1]) != "datasurface" {
		t.Errorf("%s: want healthcheck [CMD, /usr/local/bin/datasurface, healthcheck, …], have %+v", where, hc)
		return cmd
	}
	hcmd, hflags, err := b.checkArgs(hc.Test[2:])
	if err != nil || hcmd != "healthcheck" {
		t.Errorf("%s: healthcheck %v: %v", where, hc.Test, err)
		return cmd
	}
	if u := hflags["url"]; len(u) > 0 {
		pu, err := url.Parse(u[len(u)-1])
		if err != nil || pu.Port() != port || pu.Path != "/readyz" {
			t.Errorf("%s: healthcheck URL %s: want /readyz on the listen port %s", where, u[len(u)-1], port)
		}
	} else if port != "8080" {
		t.Errorf("%s: healthcheck uses the default URL (port 8080) but serve listens on %s", where, port)
	}
	return cmd
}

// TestSwarmStackDocker validates the stack with the docker client when one is installed (it
// needs no engine for this); CI machines without docker skip it.
func TestSwarmStackDocker(t *testing.T) {
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("no docker client on PATH")
	}
	cmd := exec.Command(docker, "stack", "config", "-c", stackFile)
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker stack config -c %s: %v\n%s", stackFile, err, out)
	}
}
