package modeltest

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func smallConfig() Config {
	return Config{
		Zones:                2,
		TeamsPerZone:         3,
		Datastores:           25,
		DatasetsPerDatastore: 3,
		ColumnsPerDataset:    5,
		Workspaces:           9,
		SinksPerWorkspace:    4,
		Seed:                 42,
	}
}

// readTree returns every regular file under root, keyed by its slash-separated relative path.
func readTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		data, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGenerateCountsAndDeterminism(t *testing.T) {
	cfg := smallConfig()
	a, b := t.TempDir(), t.TempDir()
	if err := Generate(a, cfg); err != nil {
		t.Fatal(err)
	}
	if err := Generate(b, cfg); err != nil {
		t.Fatal(err)
	}
	ta, tb := readTree(t, a), readTree(t, b)

	want := 3 + cfg.Zones + cfg.Datastores + cfg.Workspaces
	if len(ta) != want {
		t.Fatalf("generated %d files, want %d", len(ta), want)
	}
	count := func(tree map[string][]byte, dir string) int {
		n := 0
		for p := range tree {
			if strings.Contains(p, "/"+dir+"/") {
				n++
			}
		}
		return n
	}
	if n := count(ta, "datastores"); n != cfg.Datastores {
		t.Errorf("%d datastore files, want %d", n, cfg.Datastores)
	}
	if n := count(ta, "workspaces"); n != cfg.Workspaces {
		t.Errorf("%d workspace files, want %d", n, cfg.Workspaces)
	}
	for p, data := range ta {
		if !bytes.Equal(data, tb[p]) {
			t.Errorf("%s differs between two runs with the same config", p)
		}
	}

	// Every dataset is declared, and every assignment names a generated workspace.
	datasets := 0
	for p, data := range ta {
		if strings.Contains(p, "/datastores/") {
			datasets += bytes.Count(data, []byte("\n    - name: ds"))
		}
	}
	if want := cfg.Datastores * cfg.DatasetsPerDatastore; datasets != want {
		t.Errorf("%d datasets, want %d", datasets, want)
	}
	assign := string(ta["ecosystem/assignments.yaml"])
	if n := strings.Count(assign, "{workspace: "); n != cfg.Workspaces {
		t.Errorf("%d assignments, want %d", n, cfg.Workspaces)
	}
	if !strings.Contains(string(ta["zones/zone01/teams/team02/workspaces/Work00005.yaml"]), "zone: Zone01, team: Team02") {
		t.Errorf("workspace 5 is not owned by Zone01/Team02 as the round-robin says")
	}

	// A different seed changes the content but not the layout.
	cfg.Seed++
	c := t.TempDir()
	if err := Generate(c, cfg); err != nil {
		t.Fatal(err)
	}
	tc := readTree(t, c)
	if !slices.Equal(sortedKeys(ta), sortedKeys(tc)) {
		t.Errorf("another seed changed the file layout")
	}
	same := true
	for p := range ta {
		same = same && bytes.Equal(ta[p], tc[p])
	}
	if same {
		t.Errorf("another seed produced identical content")
	}
}

func sortedKeys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestGenerateRejectsBadConfig(t *testing.T) {
	for _, mod := range []func(*Config){
		func(c *Config) { c.Zones = 0 },
		func(c *Config) { c.TeamsPerZone = 0 },
		func(c *Config) { c.DatasetsPerDatastore = 0 },
		func(c *Config) { c.ColumnsPerDataset = 1 },
		func(c *Config) { c.Datastores = 0 },
	} {
		cfg := smallConfig()
		mod(&cfg)
		if err := Generate(t.TempDir(), cfg); err == nil {
			t.Errorf("Generate accepted %+v", cfg)
		}
	}
}

func TestCopyTreeAndChange(t *testing.T) {
	cfg := smallConfig()
	base := t.TempDir()
	if err := Generate(base, cfg); err != nil {
		t.Fatal(err)
	}
	head := filepath.Join(t.TempDir(), "head")
	if err := CopyTree(base, head); err != nil {
		t.Fatal(err)
	}
	tb := readTree(t, base)
	if th := readTree(t, head); !equalTrees(tb, th) {
		t.Fatal("CopyTree produced a different tree")
	}

	teams := Teams(cfg)
	if len(teams) != cfg.Zones*cfg.TeamsPerZone || teams[0] != "Zone00/Team00" {
		t.Fatalf("Teams = %v", teams)
	}
	team := "Zone01/Team02"
	if got, want := TeamRepo(team), "synth/model@team-zone01-team02"; got != want {
		t.Errorf("TeamRepo = %q, want %q", got, want)
	}
	if err := Change(head, team); err != nil {
		t.Fatal(err)
	}
	th := readTree(t, head)
	teamPrefix := "zones/zone01/teams/team02/"
	var changed, added []string
	for p, data := range th {
		old, ok := tb[p]
		switch {
		case !ok:
			added = append(added, p)
		case !bytes.Equal(old, data):
			changed = append(changed, p)
			if !strings.HasPrefix(p, teamPrefix+"datastores/") {
				t.Errorf("Change modified %s outside the team's datastores", p)
			}
			if got := bytes.Count(data, []byte(ChangeColumn)); got != 1 {
				t.Errorf("%s mentions %s %d times, want 1", p, ChangeColumn, got)
			}
			if len(data) <= len(old) || !bytes.HasPrefix(data, old[:bytes.Index(old, []byte("\n    - name: ds"))]) {
				t.Errorf("%s was not changed by an insertion into its first dataset", p)
			}
		}
	}
	storesOfTeam := 0
	for p := range tb {
		if strings.HasPrefix(p, teamPrefix+"datastores/") {
			storesOfTeam++
		}
	}
	if len(changed) != storesOfTeam || storesOfTeam == 0 {
		t.Errorf("Change modified %d files, want the team's %d datastores", len(changed), storesOfTeam)
	}
	if want := []string{teamPrefix + "workspaces/" + ChangeWorkspace(team) + ".yaml"}; !slices.Equal(added, want) {
		t.Errorf("Change added %v, want %v", added, want)
	}
	if err := Change(head, team); err == nil {
		t.Error("applying Change twice succeeded")
	}
	if err := Change(head, "Zone09/Team09"); err == nil {
		t.Error("Change of an unknown team succeeded")
	}
}

// TestAddColumnSingleDataset covers a datastore whose first dataset is also its last.
func TestAddColumnSingleDataset(t *testing.T) {
	cfg := smallConfig()
	cfg.DatasetsPerDatastore = 1
	dir := t.TempDir()
	if err := Generate(dir, cfg); err != nil {
		t.Fatal(err)
	}
	if err := Change(dir, "Zone00/Team00"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "zones/zone00/teams/team00/datastores/Store00000.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(data), "        - {name: "+ChangeColumn+", type: VarChar(200)}\n") {
		t.Errorf("column not appended at the end:\n%s", data)
	}
}

func equalTrees(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for p, d := range a {
		if !bytes.Equal(d, b[p]) {
			return false
		}
	}
	return true
}

// BenchmarkGenerateDefault generates the benchmark model (I/O bound: set TMPDIR to a tmpfs).
func BenchmarkGenerateDefault(b *testing.B) {
	for b.Loop() {
		if err := Generate(b.TempDir(), DefaultConfig()); err != nil {
			b.Fatal(err)
		}
	}
}
