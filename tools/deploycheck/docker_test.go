package deploycheck

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
)

const dockerfile = "deploy/docker/Dockerfile"

// instruction is one Dockerfile instruction with its continuation lines joined.
type instruction struct {
	cmd  string // upper case
	args string
}

// stage is one FROM … stage.
type stage struct {
	image, name string
	ins         []instruction
}

// parseDockerfile reads the instructions of a Dockerfile (comments dropped, continuations
// joined) into stages, with global ARG defaults substituted into FROM lines.
func parseDockerfile(t *testing.T) []stage {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, dockerfile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if rest, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(rest + " ")
			continue
		}
		cur.WriteString(line)
		lines = append(lines, cur.String())
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	args := map[string]string{}
	var stages []stage
	for _, l := range lines {
		cmd, rest, _ := strings.Cut(l, " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(rest)}
		switch {
		case in.cmd == "ARG" && len(stages) == 0:
			k, v, _ := strings.Cut(in.args, "=")
			args[k] = v
		case in.cmd == "FROM":
			fields := strings.Fields(in.args)
			s := stage{image: os.Expand(fields[0], func(k string) string { return args[k] })}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				s.name = fields[2]
			}
			stages = append(stages, s)
		case len(stages) > 0:
			stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, in)
		}
	}
	if len(stages) == 0 {
		t.Fatalf("%s has no FROM", dockerfile)
	}
	return stages
}

func (s stage) all(cmd string) []string {
	var out []string
	for _, in := range s.ins {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

// execForm decodes a JSON exec-form argument list (["a", "b"]).
func execForm(s string) ([]string, error) {
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("%q is not in exec form: %w", s, err)
	}
	return out, nil
}

func TestDockerfile(t *testing.T) {
	b := datasurfaceBinary(t)
	stages := parseDockerfile(t)
	work := readGoWork(t)
	names := map[string]bool{}
	for _, s := range stages {
		if !names[s.image] {
			if err := checkPinned(s.image); err != nil {
				t.Errorf("FROM %s: %v", s.image, err)
			}
		}
		names[s.name] = true
	}

	// The builder: golang on Debian bookworm at the workspace's Go, cgo on, a trimmed build of
	// ./cmd/datasurface.
	builder := stages[0]
	repo, tag, _ := imageRef(builder.image)
	goMinor := strings.Join(strings.SplitN(work.Go.Version, ".", 3)[:2], ".")
	if repo != "golang" || !strings.HasPrefix(tag, goMinor) || !strings.HasSuffix(tag, "-bookworm") {
		t.Errorf("builder FROM %s: want golang:%s.x-bookworm (go.work says go %s)", builder.image, goMinor, work.Go.Version)
	}
	env := strings.Join(builder.all("ENV"), " ")
	if !regexp.MustCompile(`\bCGO_ENABLED=1\b`).MatchString(env) {
		t.Errorf("builder: CGO_ENABLED=1 is not set (confluent-kafka-go needs cgo); ENV %s", env)
	}
	run := strings.Join(builder.all("RUN"), "\n")
	if !regexp.MustCompile(`go build -trimpath .*\./cmd/datasurface\b`).MatchString(run) {
		t.Errorf("builder: no `go build -trimpath … ./cmd/datasurface` in RUN:\n%s", run)
	}

	// The final stage: glibc, non-root, datasurface as the entrypoint, port 8080, a health check
	// by `datasurface healthcheck` on the port serve listens on.
	final := stages[len(stages)-1]
	if fr, _, _ := imageRef(final.image); strings.Contains(fr, "static") || strings.Contains(fr, "alpine") || fr == "scratch" {
		t.Errorf("final FROM %s: want a glibc image (the binary links glibc through cgo)", final.image)
	}
	users := final.all("USER")
	if len(users) == 0 {
		t.Error("final stage: no USER (runs as root)")
	} else if u, _, _ := strings.Cut(users[len(users)-1], ":"); u == "root" || u == "0" {
		t.Errorf("final stage: USER %s is root", users[len(users)-1])
	}
	eps := final.all("ENTRYPOINT")
	if len(eps) != 1 {
		t.Fatalf("final stage: want one ENTRYPOINT, have %d", len(eps))
	}
	ep, err := execForm(eps[0])
	if err != nil || len(ep) != 1 || path.Base(ep[0]) != "datasurface" {
		t.Errorf("ENTRYPOINT %s: want [\"…/datasurface\"] (%v)", eps[0], err)
	}
	copied := false
	for _, c := range final.all("COPY") {
		f := strings.Fields(c)
		if len(ep) == 1 && f[len(f)-1] == ep[0] {
			copied = true
		}
	}
	if !copied {
		t.Errorf("final stage: nothing is copied to the ENTRYPOINT %v", ep)
	}
	if !slices.Contains(final.all("EXPOSE"), "8080") {
		t.Errorf("final stage: EXPOSE %v, want 8080", final.all("EXPOSE"))
	}
	listen := ""
	for _, e := range final.all("ENV") {
		for _, kv := range strings.Fields(e) {
			k, v, _ := strings.Cut(kv, "=")
			if err := b.checkEnvName("serve", k, false); err != nil {
				t.Errorf("final stage ENV: %v", err)
			}
			if k == "DATASURFACE_LISTEN" {
				listen = v
			}
		}
	}
	if !strings.HasSuffix(listen, ":8080") {
		t.Errorf("final stage: DATASURFACE_LISTEN=%q, want the exposed port 8080 on every interface", listen)
	}
	for _, hc := range final.all("HEALTHCHECK") {
		_, cmdPart, ok := strings.Cut(hc, "CMD ")
		argv, err := execForm(strings.TrimSpace(cmdPart))
		if !ok || err != nil || len(argv) < 2 || path.Base(argv[0]) != "datasurface" {
			t.Errorf("HEALTHCHECK %s: want CMD [\"…/datasurface\", \"healthcheck\", …] (%v)", hc, err)
			continue
		}
		cmd, flags, err := b.checkArgs(argv[1:])
		if err != nil || cmd != "healthcheck" {
			t.Errorf("HEALTHCHECK %s: %v", hc, err)
			continue
		}
		if u := flags["url"]; len(u) > 0 {
			if pu, err := url.Parse(u[0]); err != nil || pu.Port() != "8080" {
				t.Errorf("HEALTHCHECK URL %s is not on port 8080", u[0])
			}
		}
	}
}

func readGoWork(t *testing.T) *modfile.WorkFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "go.work"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := modfile.ParseWork("go.work", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// dockerignore is the exclusion rules of .dockerignore, applied like Docker does: the last
// matching rule wins, `!` re-includes, a rule that matches a directory matches what is in it,
// `*` and `?` stay within a path element and `**` spans elements.
type dockerignore []struct {
	re     *regexp.Regexp
	negate bool
}

func readDockerignore(t *testing.T) dockerignore {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	return parseDockerignore(string(data))
}

func parseDockerignore(data string) dockerignore {
	var d dockerignore
	for line := range strings.SplitSeq(data, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		neg := strings.HasPrefix(line, "!")
		line = strings.TrimPrefix(line, "!")
		p := strings.Trim(path.Clean("/"+line), "/")
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(p); i++ {
			switch c := p[i]; {
			case strings.HasPrefix(p[i:], "**/"):
				re.WriteString("(.*/)?")
				i += 2
			case strings.HasPrefix(p[i:], "**"):
				re.WriteString(".*")
				i++
			case c == '*':
				re.WriteString("[^/]*")
			case c == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		re.WriteString("(/.*)?$")
		d = append(d, struct {
			re     *regexp.Regexp
			negate bool
		}{regexp.MustCompile(re.String()), neg})
	}
	return d
}

// excluded reports whether the slash-separated path relative to the context is left out.
func (d dockerignore) excluded(p string) bool {
	out := false
	for _, r := range d {
		if r.re.MatchString(p) {
			out = !r.negate
		}
	}
	return out
}

func TestDockerignoreMatcher(t *testing.T) {
	rules := parseDockerignore("# comment\nbin/\n**/testdata\ntools/**\n!tools/go.mod\n*.test\n")
	for p, want := range map[string]bool{
		"bin/datasurface":                true,
		"bin":                            true,
		"binary.go":                      false,
		"kit/pg/testdata/x.sql":          true,
		"testdata/a":                     true,
		"tools/go.mod":                   false,
		"tools/go.sum":                   true,
		"tools/deploycheck/x.go":         true,
		"cmd/datasurface/main.go":        false,
		"x.test":                         true,
		"cmd/x.test":                     false,
		"services/modelsvc/migrate.go":   false,
		"services/modelsvc/testdata.go":  false,
		"services/modelsvc/testdata/a/b": true,
	} {
		if got := rules.excluded(p); got != want {
			t.Errorf("excluded(%q) = %v, want %v", p, got, want)
		}
	}
}

// TestDockerignore: the build context keeps everything `go build ./cmd/datasurface` reads in
// the workspace (go.work, every module's go.mod and go.sum, the Go and embedded files of every
// package the binary is built from) and leaves out what it does not need.
func TestDockerignore(t *testing.T) {
	d := readDockerignore(t)
	need := []string{"go.work", "go.work.sum", "VERSION"}
	for _, u := range readGoWork(t).Use {
		dir := path.Clean(filepath.ToSlash(u.Path))
		for _, f := range []string{"go.mod", "go.sum"} {
			if _, err := os.Stat(filepath.Join(repoRoot, dir, f)); err == nil {
				need = append(need, path.Join(dir, f))
			}
		}
	}
	list := exec.Command("go", "list", "-deps", "-f",
		`{{if and .Module .Module.Main}}{{.Dir}}{{range .GoFiles}}|{{.}}{{end}}{{range .CgoFiles}}|{{.}}{{end}}{{range .EmbedFiles}}|{{.}}{{end}}{{end}}`,
		"./cmd/datasurface")
	list.Dir = repoRoot
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list -deps ./cmd/datasurface: %v", err)
	}
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	packages := 0
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		parts := strings.Split(line, "|")
		rel, err := filepath.Rel(root, parts[0])
		if err != nil || strings.HasPrefix(rel, "..") {
			t.Errorf("package directory %s is outside the repository", parts[0])
			continue
		}
		packages++
		for _, f := range parts[1:] {
			need = append(need, path.Join(filepath.ToSlash(rel), f))
		}
	}
	if packages < 10 {
		t.Fatalf("go list found only %d workspace packages of ./cmd/datasurface", packages)
	}
	for _, p := range need {
		if d.excluded(p) {
			t.Errorf(".dockerignore leaves out %s, which the build needs", p)
		}
	}
	for _, p := range []string{".git/HEAD", "bin/datasurface", "bin/temporal", "tools/deploycheck/deploy_test.go", "test/e2e/batch_test.go"} {
		if !d.excluded(p) {
			t.Errorf(".dockerignore keeps %s in the build context", p)
		}
	}
}
