package deploycheck

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// repoRoot is the repository root, relative to this package.
const repoRoot = "../.."

// command is what the datasurface binary prints about one of its subcommands: its flags and
// the environment variables that back them.
type command struct {
	name  string
	flags map[string]bool   // flag name → takes a value
	env   map[string]string // DATASURFACE_X → flag name
}

// binary is the datasurface binary built from this checkout, with the commands the deployment
// artefacts run, as their -h output describes them.
type binary struct {
	path     string
	commands map[string]*command
	services []string // the names --service accepts
}

var (
	binOnce sync.Once
	bin     *binary
	binErr  error
)

// deployedCommands are the subcommands containers run.
var deployedCommands = []string{"serve", "migrate", "healthcheck"}

// datasurfaceBinary builds cmd/datasurface once per test binary (in the go.work workspace;
// or takes the binary named by $DEPLOYCHECK_DATASURFACE) and reads the flags of the deployed commands from their usage output, so the checks follow the
// flags the binary accepts today.
func datasurfaceBinary(t *testing.T) *binary {
	t.Helper()
	binOnce.Do(func() { bin, binErr = buildBinary() })
	if binErr != nil {
		t.Fatal(binErr)
	}
	return bin
}

// binaryEnv names a datasurface binary to use instead of building one (e.g. bin/datasurface
// that `make build` just built from this checkout); a relative path is taken from the
// repository root.
const binaryEnv = "DEPLOYCHECK_DATASURFACE"

func buildBinary() (*binary, error) {
	b := &binary{path: os.Getenv(binaryEnv), commands: map[string]*command{}}
	if b.path != "" && !filepath.IsAbs(b.path) {
		b.path = filepath.Join(repoRoot, b.path) // relative to the repository root
	}
	if b.path == "" {
		dir, err := os.MkdirTemp("", "deploycheck")
		if err != nil {
			return nil, err
		}
		tmpDirs = append(tmpDirs, dir)
		b.path = filepath.Join(dir, "datasurface")
		build := exec.Command("go", "build", "-o", b.path, "./cmd/datasurface")
		build.Dir = repoRoot
		if out, err := build.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build ./cmd/datasurface: %w\n%s", err, out)
		}
	}
	for _, name := range deployedCommands {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(b.path, name, "-h")
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("datasurface %s -h: %w\n%s", name, err, stderr.String())
		}
		c, err := parseUsage(name, stderr.String())
		if err != nil {
			return nil, fmt.Errorf("datasurface %s -h: %w\n%s", name, err, stderr.String())
		}
		b.commands[name] = c
		if name == "serve" {
			if b.services, err = parseServices(stderr.String()); err != nil {
				return nil, err
			}
		}
	}
	return b, nil
}

// tmpDirs are removed by TestMain.
var tmpDirs []string

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range tmpDirs {
		_ = os.RemoveAll(d)
	}
	os.Exit(code)
}

var (
	// flagLine is a flag in the flag package's PrintDefaults: "  -name type" or "  -name".
	flagLine = regexp.MustCompile(`^  -([a-z][a-z0-9-]*)(?: (\S+))?$`)
	// envLine is a line of the "Environment" section: "  DATASURFACE_X   --x".
	envLine = regexp.MustCompile(`^  (DATASURFACE_[A-Z0-9_]+)\s+--([a-z][a-z0-9-]*)$`)
	// servicesOfFlag is the list of service names in the usage of --service.
	servicesOfFlag = regexp.MustCompile(`\(repeatable, or comma-separated\): ([a-z, ]+)`)
)

// parseUsage reads the flags and environment variables of one command's -h output.
func parseUsage(name, usage string) (*command, error) {
	c := &command{name: name, flags: map[string]bool{}, env: map[string]string{}}
	sc := bufio.NewScanner(strings.NewReader(usage))
	for sc.Scan() {
		line := sc.Text()
		if m := flagLine.FindStringSubmatch(line); m != nil {
			c.flags[m[1]] = m[2] != ""
		}
		if m := envLine.FindStringSubmatch(line); m != nil {
			c.env[m[1]] = m[2]
		}
	}
	if len(c.flags) == 0 {
		return nil, fmt.Errorf("no flags found in the usage of %s", name)
	}
	for v, f := range c.env {
		if _, ok := c.flags[f]; !ok {
			return nil, fmt.Errorf("%s backs --%s, which %s does not have", v, f, name)
		}
	}
	return c, nil
}

func parseServices(usage string) ([]string, error) {
	m := servicesOfFlag.FindStringSubmatch(usage)
	if m == nil {
		return nil, fmt.Errorf("serve -h does not list the service names")
	}
	var out []string
	for s := range strings.SplitSeq(m[1], ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// TestBinaryUsage checks what the other checks rely on: the deployed commands and their flags
// as the binary prints them.
func TestBinaryUsage(t *testing.T) {
	b := datasurfaceBinary(t)
	serve := b.commands["serve"]
	for _, f := range []string{"service", "listen", "nats", "database", "temporal", "temporal-namespace", "tokens-file", "webhook-secrets-file", "log-format", "log-level"} {
		if _, ok := serve.flags[f]; !ok {
			t.Errorf("serve -h does not list --%s", f)
		}
	}
	if got := serve.env["DATASURFACE_TOKENS_FILE"]; got != "tokens-file" {
		t.Errorf("DATASURFACE_TOKENS_FILE backs %q, want tokens-file", got)
	}
	want := []string{"modelsvc", "validator", "scheduler", "ingest", "merge", "security"}
	if !slices.Equal(b.services, want) {
		t.Errorf("services = %v, want %v", b.services, want)
	}
	if _, ok := b.commands["migrate"].env["DATASURFACE_DATABASE"]; !ok {
		t.Error("migrate -h does not list DATASURFACE_DATABASE")
	}
	if _, ok := b.commands["healthcheck"].flags["url"]; !ok {
		t.Error("healthcheck -h does not list --url")
	}
}

// argsError checks a container's arguments (after the entrypoint `datasurface`): a deployed
// subcommand and only flags it accepts, with a value where the flag takes one; --service names
// known services. It returns the flags given (name → values) or an error.
func (b *binary) checkArgs(args []string) (string, map[string][]string, error) {
	if len(args) == 0 {
		return "", nil, fmt.Errorf("no arguments: want one of %v", deployedCommands)
	}
	c, ok := b.commands[args[0]]
	if !ok {
		return "", nil, fmt.Errorf("subcommand %q is not one of %v", args[0], deployedCommands)
	}
	given := map[string][]string{}
	for i := 1; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return "", nil, fmt.Errorf("%s: unexpected argument %q", c.name, a)
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		takesValue, ok := c.flags[name]
		if !ok {
			return "", nil, fmt.Errorf("%s does not accept --%s", c.name, name)
		}
		if takesValue && !hasValue {
			if i+1 >= len(args) {
				return "", nil, fmt.Errorf("%s: --%s needs a value", c.name, name)
			}
			i++
			value = args[i]
		}
		given[name] = append(given[name], value)
	}
	for _, v := range given["service"] {
		for s := range strings.SplitSeq(v, ",") {
			if !slices.Contains(b.services, strings.TrimSpace(s)) {
				return "", nil, fmt.Errorf("serve: unknown service %q (known: %v)", s, b.services)
			}
		}
	}
	return c.name, given, nil
}

// credentialVar matches the environment variables of the env credential store (model.md §4.16).
var credentialVar = regexp.MustCompile(`^[A-Z][A-Z0-9_]*_(USER|PASSWORD|TOKEN|API_KEY|API_SECRET|PUB|PRV|PWD|CA)$`)

// checkEnvName checks an environment variable given to a container running subcommand cmd:
// the DATASURFACE_ variable of one of its flags, or (when credentials is true) a credential
// variable.
func (b *binary) checkEnvName(cmd, name string, credentials bool) error {
	c := b.commands[cmd]
	if strings.HasPrefix(name, "DATASURFACE_") {
		if _, ok := c.env[name]; !ok {
			return fmt.Errorf("%s does not read %s (it reads %v)", cmd, name, sortedKeys(c.env))
		}
		return nil
	}
	if credentials && credentialVar.MatchString(name) {
		return nil
	}
	return fmt.Errorf("%s does not read %s: only DATASURFACE_<FLAG> variables and model credential variables", cmd, name)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
