package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// envPrefix starts the environment variable that backs a flag: --tokens-file falls back to
// DATASURFACE_TOKENS_FILE.
const envPrefix = "DATASURFACE_"

// envName returns the environment variable that backs flag name.
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// applyEnv sets every flag of fs that is not on the command line and whose name is in names
// (all flags when names is empty) from its environment variable, when that is set and not
// empty. The command line wins over the environment; the environment wins over the default. A
// value the flag rejects is a usage error naming the variable. A flag that may be repeated
// (a listFlag) takes a comma-separated list from the environment.
func applyEnv(fs *flag.FlagSet, getenv func(string) string, names ...string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || set[f.Name] || (len(names) > 0 && !slices.Contains(names, f.Name)) {
			return
		}
		v := getenv(envName(f.Name))
		if v == "" {
			return
		}
		values := []string{v}
		if _, ok := f.Value.(*listFlag); ok {
			values = strings.Split(v, ",")
		}
		for _, v := range values {
			if serr := f.Value.Set(strings.TrimSpace(v)); serr != nil {
				err = usageErrorf("%s: %v", envName(f.Name), serr)
				return
			}
		}
	})
	return err
}

// listFlag is a flag that may be given several times (--service=a --service=b); each value may
// also be a comma-separated list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for part := range strings.SplitSeq(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
		}
	}
	return nil
}

// writeEnvUsage appends the environment variables of the listed flags (all when names is
// empty) to a command's usage text.
func writeEnvUsage(w io.Writer, fs *flag.FlagSet, names ...string) {
	fmt.Fprintf(w, "\nEnvironment (used when the flag is not given):\n")
	fs.VisitAll(func(f *flag.Flag) {
		if len(names) > 0 && !slices.Contains(names, f.Name) {
			return
		}
		fmt.Fprintf(w, "  %-36s --%s\n", envName(f.Name), f.Name)
	})
}

// readSecretsFile reads a map repository → secret (API tokens, webhook secrets) from a YAML or
// JSON file: one mapping of strings to non-empty strings. Errors name the file and a line, never
// the file's content, so secrets do not end up in logs.
func readSecretsFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err // *fs.PathError: names the file only
	}
	out, err := parseSecrets(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// parseSecrets parses the content of a secrets file (JSON is YAML).
func parseSecrets(b []byte) (map[string]string, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return map[string]string{}, nil
		}
		return nil, fmt.Errorf("not a YAML or JSON document%s", yamlLine(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("holds more than one YAML document")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return map[string]string{}, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: want a mapping of repository (location@branch) to secret", root.Line)
	}
	out := make(map[string]string, len(root.Content)/2)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Value == "" {
			return nil, fmt.Errorf("line %d: keys must be repository names (location@branch)", k.Line)
		}
		if _, dup := out[k.Value]; dup {
			return nil, fmt.Errorf("line %d: repository %q is listed twice", k.Line, k.Value)
		}
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" || v.Value == "" {
			return nil, fmt.Errorf("line %d: the secret of %q must be a non-empty string", v.Line, k.Value)
		}
		out[k.Value] = v.Value
	}
	return out, nil
}

// yamlLine keeps the "line N" part of a YAML syntax error (the rest may quote the content).
func yamlLine(err error) string {
	msg := err.Error()
	if _, rest, ok := strings.Cut(msg, "line "); ok {
		n := rest
		if i := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
			n = rest[:i]
		}
		if n != "" {
			return " (line " + n + ")"
		}
	}
	return ""
}

// newLogger returns the process logger: JSON (production) or text (development) on w.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageErrorf("--log-level must be debug, info, warn or error, not %q", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, usageErrorf("--log-format must be json or text, not %q", format)
}
