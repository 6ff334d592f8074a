package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/datasurface/datasurface/examples"
	"github.com/datasurface/datasurface/model/load"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// devModel is the model `datasurface dev` pushes: the files of the example (or --model) with
// every database address and Kafka bootstrap list pointed at this machine's components.
type devModel struct {
	files []load.File
	model *modelv1.Model
	// hosts and brokers count the rewritten database addresses and bootstrap lists.
	hosts, brokers int
}

// readModelFiles reads the model files (*.yaml, *.yml outside dot-directories) of dir, or of
// the embedded example when dir is "".
func readModelFiles(dir string) ([]load.File, error) {
	var fsys fs.FS
	if dir == "" {
		sub, err := fs.Sub(examples.Acme, "acme")
		if err != nil {
			return nil, err
		}
		fsys = sub
	} else {
		st, err := os.Stat(dir)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("%s is not a directory", dir)
		}
		fsys = os.DirFS(dir)
	}
	var files []load.File
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if ext := path.Ext(p); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files = append(files, load.File{Path: p, Content: b})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, errors.New("no model files (*.yaml, *.yml)")
	}
	return files, nil
}

// localizeModel rewrites the files in memory: every mapping with host and port (a database)
// gets host 127.0.0.1 and pgPort, every bootstrapServers list becomes [kafkaAddr]. Then it
// loads the result.
func localizeModel(files []load.File, pgPort int, kafkaAddr string) (*devModel, error) {
	m := &devModel{}
	for _, f := range files {
		dec := yaml.NewDecoder(bytes.NewReader(f.Content))
		var out bytes.Buffer
		enc := yaml.NewEncoder(&out)
		enc.SetIndent(2)
		changed := false
		for {
			var doc yaml.Node
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.Path, err)
			}
			if m.rewrite(&doc, pgPort, kafkaAddr) {
				changed = true
			}
			if err := enc.Encode(&doc); err != nil {
				return nil, fmt.Errorf("%s: %w", f.Path, err)
			}
		}
		if err := enc.Close(); err != nil {
			return nil, err
		}
		content := f.Content
		if changed {
			content = out.Bytes()
		}
		m.files = append(m.files, load.File{Path: f.Path, Content: content})
	}
	res, err := load.Files(m.files, load.Options{})
	if err != nil {
		return nil, err
	}
	if len(res.Problems) > 0 {
		return nil, fmt.Errorf("the model does not load: %s", res.Problems[0].Message)
	}
	m.model = res.Model
	return m, nil
}

// rewrite walks n and reports whether it changed anything.
func (m *devModel) rewrite(n *yaml.Node, pgPort int, kafkaAddr string) bool {
	changed := false
	if n.Kind == yaml.MappingNode {
		host, port, servers := -1, -1, -1
		for i := 0; i+1 < len(n.Content); i += 2 {
			switch n.Content[i].Value {
			case "host":
				host = i + 1
			case "port":
				port = i + 1
			case "bootstrapServers":
				servers = i + 1
			}
		}
		if host >= 0 && port >= 0 && n.Content[host].Kind == yaml.ScalarNode {
			n.Content[host].Value, n.Content[host].Tag, n.Content[host].Style = "127.0.0.1", "!!str", 0
			n.Content[port].Value, n.Content[port].Tag, n.Content[port].Style = strconv.Itoa(pgPort), "!!int", 0
			m.hosts++
			changed = true
		}
		if servers >= 0 && n.Content[servers].Kind == yaml.SequenceNode {
			n.Content[servers].Content = []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: kafkaAddr}}
			m.brokers++
			changed = true
		}
	}
	for _, c := range n.Content {
		if m.rewrite(c, pgPort, kafkaAddr) {
			changed = true
		}
	}
	return changed
}

// write replaces dir's contents with the model files, for `datasurface push` (and for the user
// to see what dev pushed).
func (m *devModel) write(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	for _, f := range m.files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.Content, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// repositories returns every owning repository of the model: the ecosystem's first.
func (m *devModel) repositories() []string {
	eco := m.model.GetEcosystem()
	repos := []string{eco.GetOwningRepo()}
	add := func(r string) {
		if r != "" && !slices.Contains(repos, r) {
			repos = append(repos, r)
		}
	}
	for _, z := range eco.GetZones() {
		add(z.GetOwningRepo())
	}
	for _, z := range m.model.GetZones() {
		for _, t := range z.GetTeams() {
			add(t.GetOwningRepo())
		}
	}
	return repos
}

// container resolves a capture's container (a `ref` names a container of the datastore's team).
func (m *devModel) container(ds *modelv1.Datastore, c *modelv1.DataContainer) *modelv1.DataContainer {
	ref := c.GetRef()
	if ref == "" {
		return c
	}
	for _, t := range m.model.GetTeams() {
		if t.GetName() != ds.GetTeam() || t.GetZone() != ds.GetZone() {
			continue
		}
		for _, tc := range t.GetContainers() {
			if containerName(tc) == ref {
				return tc
			}
		}
	}
	return nil
}

func containerName(c *modelv1.DataContainer) string {
	switch {
	case c.GetPostgres() != nil:
		return c.GetPostgres().GetName()
	case c.GetKafka() != nil:
		return c.GetKafka().GetName()
	}
	return ""
}

// yellowPlatforms returns the model's Yellow platforms.
func (m *devModel) yellowPlatforms() []*modelv1.DataPlatform {
	var out []*modelv1.DataPlatform
	for _, psp := range m.model.GetPsps() {
		for _, p := range psp.GetPlatforms() {
			if p.GetYellow() != nil {
				out = append(out, p)
			}
		}
	}
	return out
}
