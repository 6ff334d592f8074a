// Package modeltest writes synthetic, lint-clean model trees for tests and benchmarks.
//
// Generate writes a deterministic model directory of any size (the default configuration is the
// benchmark model: 10 zones × 20 teams, 10,000 datastores with 100,000 datasets, 3,000
// workspaces, one Yellow LIVE_ONLY platform with an assignment for every dataset group).
// Change applies a compatible "one-team change" to such a tree, authorized for that team's
// repository (TeamRepo), and CopyTree copies a tree so that a base and a head can be compared.
//
// Layout of a generated tree (one document per file, as in examples/acme):
//
//	ecosystem/ecosystem.yaml, ecosystem/platforms.yaml, ecosystem/assignments.yaml
//	zones/zone03/zone.yaml
//	zones/zone03/teams/team07/datastores/Store00042.yaml
//	zones/zone03/teams/team07/workspaces/Work00042.yaml
package modeltest

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// Config sizes a generated model. Datastores and workspaces are spread round-robin over the
// Zones × TeamsPerZone teams.
type Config struct {
	Zones                int
	TeamsPerZone         int
	Datastores           int
	DatasetsPerDatastore int
	// ColumnsPerDataset counts every column, including the key column `id` (and the watermark
	// column of watermark-captured stores); at least 2.
	ColumnsPerDataset int
	Workspaces        int
	// SinksPerWorkspace is the number of distinct datasets each workspace's one dataset group
	// reads (capped at the number of datasets in the model).
	SinksPerWorkspace int
	Seed              int64
}

// DefaultConfig is the benchmark model: 10 zones × 20 teams, 10,000 datastores, 100,000
// datasets, 3,000 workspaces of 10 sinks each.
func DefaultConfig() Config {
	return Config{
		Zones:                10,
		TeamsPerZone:         20,
		Datastores:           10000,
		DatasetsPerDatastore: 10,
		ColumnsPerDataset:    6,
		Workspaces:           3000,
		SinksPerWorkspace:    10,
		Seed:                 1,
	}
}

// Names and repositories used by generated models.
const (
	EcosystemName = "Synthetic"
	EcosystemRepo = "synth/model@eco"
	LiveRepo      = "synth/model@main"
	PlatformName  = "YellowLive"
	// ChangeColumn is the nullable column Change adds.
	ChangeColumn = "added_note"
)

func (c Config) validate() error {
	switch {
	case c.Zones < 1:
		return errors.New("modeltest: Zones must be at least 1")
	case c.TeamsPerZone < 1:
		return errors.New("modeltest: TeamsPerZone must be at least 1")
	case c.Datastores < 0 || c.Workspaces < 0 || c.SinksPerWorkspace < 0:
		return errors.New("modeltest: counts must not be negative")
	case c.DatasetsPerDatastore < 1:
		return errors.New("modeltest: DatasetsPerDatastore must be at least 1")
	case c.ColumnsPerDataset < 2:
		return errors.New("modeltest: ColumnsPerDataset must be at least 2")
	case c.Workspaces > 0 && (c.Datastores < 1 || c.SinksPerWorkspace < 1):
		return errors.New("modeltest: workspaces need at least one datastore and one sink each")
	}
	return nil
}

// width is the number of decimal digits used for indexes below n (at least min).
func width(n, min int) int {
	w := len(fmt.Sprint(max(n-1, 0)))
	return max(w, min)
}

type namer struct {
	zw, tw, sw, dw, ww int
}

func newNamer(c Config) namer {
	return namer{
		zw: width(c.Zones, 2),
		tw: width(c.TeamsPerZone, 2),
		sw: width(c.Datastores, 5),
		dw: width(c.DatasetsPerDatastore, 2),
		ww: width(c.Workspaces, 5),
	}
}

func (n namer) zone(z int) string      { return fmt.Sprintf("Zone%0*d", n.zw, z) }
func (n namer) team(t int) string      { return fmt.Sprintf("Team%0*d", n.tw, t) }
func (n namer) store(s int) string     { return fmt.Sprintf("Store%0*d", n.sw, s) }
func (n namer) dataset(d int) string   { return fmt.Sprintf("ds%0*d", n.dw, d) }
func (n namer) workspace(w int) string { return fmt.Sprintf("Work%0*d", n.ww, w) }

// owner returns the (zone, team) of the i-th datastore or workspace (round-robin over teams).
func (c Config) owner(i int) (zone, team int) {
	k := i % (c.Zones * c.TeamsPerZone)
	return k % c.Zones, k / c.Zones
}

// ZoneRepo is the owning repository of a generated zone (e.g. "Zone03").
func ZoneRepo(zone string) string {
	return "synth/model@zone-" + strings.ToLower(zone)
}

// TeamRepo is the owning repository of a generated team, given as its key "Zone/Team" (e.g.
// "Zone03/Team07"): the source to pass to the gate for a Change of that team.
func TeamRepo(team string) string {
	z, t, _ := strings.Cut(team, "/")
	return "synth/model@team-" + strings.ToLower(z) + "-" + strings.ToLower(t)
}

// Teams lists the team keys ("Zone/Team") of a generated model, zone by zone.
func Teams(c Config) []string {
	n := newNamer(c)
	var out []string
	for z := 0; z < c.Zones; z++ {
		for t := 0; t < c.TeamsPerZone; t++ {
			out = append(out, n.zone(z)+"/"+n.team(t))
		}
	}
	return out
}

func teamDir(root, zone, team string) string {
	return filepath.Join(root, "zones", strings.ToLower(zone), "teams", strings.ToLower(team))
}

// Generate writes a synthetic model tree into dir (created if needed; existing files with the
// same names are overwritten, other files are left alone, so use an empty directory). The
// output depends only on cfg: the same cfg always produces the same bytes.
func Generate(dir string, cfg Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	n := newNamer(cfg)
	dirs := []string{filepath.Join(dir, "ecosystem")}
	for z := 0; z < cfg.Zones; z++ {
		for t := 0; t < cfg.TeamsPerZone; t++ {
			td := teamDir(dir, n.zone(z), n.team(t))
			dirs = append(dirs, filepath.Join(td, "datastores"), filepath.Join(td, "workspaces"))
		}
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}

	g := &gen{cfg: cfg, n: n}
	total := 3 + cfg.Zones + cfg.Datastores + cfg.Workspaces
	return parallel(total, func(i int) error {
		var path string
		var b strings.Builder
		switch {
		case i == 0:
			path = filepath.Join(dir, "ecosystem", "ecosystem.yaml")
			g.ecosystem(&b)
		case i == 1:
			path = filepath.Join(dir, "ecosystem", "platforms.yaml")
			g.platforms(&b)
		case i == 2:
			path = filepath.Join(dir, "ecosystem", "assignments.yaml")
			g.assignments(&b)
		case i < 3+cfg.Zones:
			z := i - 3
			path = filepath.Join(dir, "zones", strings.ToLower(n.zone(z)), "zone.yaml")
			g.zone(&b, z)
		case i < 3+cfg.Zones+cfg.Datastores:
			s := i - 3 - cfg.Zones
			z, t := cfg.owner(s)
			path = filepath.Join(teamDir(dir, n.zone(z), n.team(t)), "datastores", n.store(s)+".yaml")
			g.datastore(&b, s)
		default:
			w := i - 3 - cfg.Zones - cfg.Datastores
			z, t := cfg.owner(w)
			path = filepath.Join(teamDir(dir, n.zone(z), n.team(t)), "workspaces", n.workspace(w)+".yaml")
			g.workspace(&b, w)
		}
		return os.WriteFile(path, []byte(b.String()), 0o644)
	})
}

// parallel runs f(0..n-1) on 4×GOMAXPROCS workers (file creation is I/O bound) and returns the first error.
func parallel(n int, f func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0)*4, max(n, 1))
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		first   error
		next    int
		nextMu  sync.Mutex
		getNext = func() int {
			nextMu.Lock()
			defer nextMu.Unlock()
			i := next
			next++
			return i
		}
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := getNext()
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

type gen struct {
	cfg Config
	n   namer
}

const header = "apiVersion: datasurface/v1\n"

func (g *gen) ecosystem(b *strings.Builder) {
	b.WriteString("# Generated by model/modeltest; do not edit.\n")
	b.WriteString(header)
	b.WriteString("kind: Ecosystem\nmetadata: {name: " + EcosystemName + "}\nspec:\n")
	b.WriteString("  owningRepo: " + EcosystemRepo + "\n  liveRepo: " + LiveRepo + "\n")
	b.WriteString("  documentation: A synthetic ecosystem for tests and benchmarks\n")
	b.WriteString("  vendors:\n    - name: Synth\n      cloudVendor: PRIVATE\n      documentation: Synthetic data centers\n      locations:\n")
	for z := 0; z < g.cfg.Zones; z++ {
		fmt.Fprintf(b, "        - {name: Region%0*d, children: [{name: DC1}, {name: DC2}]}\n", g.n.zw, z)
	}
	b.WriteString("  zones:\n")
	for z := 0; z < g.cfg.Zones; z++ {
		zn := g.n.zone(z)
		fmt.Fprintf(b, "    - {name: %s, owningRepo: %s}\n", zn, ZoneRepo(zn))
	}
}

func (g *gen) platforms(b *strings.Builder) {
	b.WriteString(header)
	b.WriteString(`kind: PlatformServicesProvider
metadata: {name: Core}
spec:
  locations: ["Synth:Region` + fmt.Sprintf("%0*d", g.n.zw, 0) + `/DC1"]
  credentialStore: {env: {}}
  platforms:
    - name: ` + PlatformName + `
      documentation: Live-only Yellow platform
      yellow:
        milestoning: LIVE_ONLY
        mergeDatabase:
          postgres: {host: localhost, port: 5432, database: ds_merge}
        mergeCredential: {name: YELLOWLIVE_MERGE, type: USER_PASSWORD}
        securityCredential: {name: YELLOWLIVE_SECURITY, type: USER_PASSWORD}
`)
}

func (g *gen) assignments(b *strings.Builder) {
	b.WriteString(header)
	b.WriteString("kind: PlatformAssignments\nmetadata: {name: default}\nspec:\n")
	if g.cfg.Workspaces == 0 {
		b.WriteString("  datasetGroups: []\n")
		return
	}
	b.WriteString("  datasetGroups:\n")
	for w := 0; w < g.cfg.Workspaces; w++ {
		fmt.Fprintf(b, "    - {workspace: %s, datasetGroup: main, platforms: [{platform: %s, status: PROVISIONED, productionStatus: PRODUCTION}]}\n",
			g.n.workspace(w), PlatformName)
	}
}

func (g *gen) zone(b *strings.Builder, z int) {
	zn := g.n.zone(z)
	b.WriteString(header)
	b.WriteString("kind: GovernanceZone\nmetadata: {name: " + zn + "}\nspec:\n")
	b.WriteString("  documentation: Synthetic zone " + zn + "\n  teams:\n")
	for t := 0; t < g.cfg.TeamsPerZone; t++ {
		tn := g.n.team(t)
		fmt.Fprintf(b, "    - {name: %s, owningRepo: %s}\n", tn, TeamRepo(zn+"/"+tn))
	}
	b.WriteString("  storagePolicies:\n    - {name: Encrypted, mandatory: MANDATED_WITHIN_ZONE}\n")
	fmt.Fprintf(b, "  locationPolicies:\n    - {name: Local, allowed: [\"Synth:Region%0*d\"]}\n", g.n.zw, z)
	b.WriteString("  vendorPolicies:\n    - {name: SynthOnly, allowed: [Synth]}\n")
	b.WriteString("  classificationPolicies:\n    - {name: NoPC3, notAllowed: [PC3]}\n")
	b.WriteString("  platformPolicies:\n    - {name: Core, allowed: [" + PlatformName + "]}\n")
}

// columnTypes are types Yellow can store, in the YAML flow form used by generated columns.
var columnTypes = []string{
	"Integer", "BigInt", "SmallInt", "Boolean", "VarChar(100)", "NVarChar(200)", `"Decimal(12,2)"`,
	"IEEE64", "IEEE32", "Date", "Timestamp", "Interval", "Variant", "Char(3)", "Binary",
	"{type: Array, elementType: Integer}", "Vector(16)", `{type: Timestamp, timeZone: Europe/London}`,
}

type captureKind int

const (
	snapshot captureKind = iota
	watermark
	kafka
)

func storeCapture(s int) captureKind {
	switch s % 10 {
	case 3:
		return watermark
	case 7:
		return kafka
	}
	return snapshot
}

func (g *gen) datastore(b *strings.Builder, s int) {
	c := g.cfg
	z, t := c.owner(s)
	zn, tn := g.n.zone(z), g.n.team(t)
	sn := g.n.store(s)
	rng := rand.New(rand.NewPCG(uint64(c.Seed), uint64(s)))
	loc := fmt.Sprintf(`"Synth:Region%0*d/DC%d"`, g.n.zw, z, 1+s%2)
	cred := fmt.Sprintf("Z%0*d_T%0*d", g.n.zw, z, g.n.tw, t)
	cron := fmt.Sprintf(`"%d */%d * * *"`, s%60, 1+s%4)
	kind := storeCapture(s)

	b.WriteString(header)
	fmt.Fprintf(b, "kind: Datastore\nmetadata: {name: %s, zone: %s, team: %s}\nspec:\n", sn, zn, tn)
	fmt.Fprintf(b, "  documentation: Synthetic datastore %d\n  productionStatus: PRODUCTION\n  capture:\n", s)
	switch kind {
	case snapshot, watermark:
		if kind == snapshot {
			b.WriteString("    sqlSnapshot:\n")
		} else {
			b.WriteString("    sqlWatermark:\n")
		}
		fmt.Fprintf(b, "      container:\n        postgres: {host: pg-%s.synth.internal, database: %s, locations: [%s]}\n",
			strings.ToLower(zn), strings.ToLower(sn), loc)
		fmt.Fprintf(b, "      credential: {name: %s_PG, type: USER_PASSWORD}\n", cred)
		b.WriteString("      consistency: MULTI_DATASET\n")
		fmt.Fprintf(b, "      trigger: {cron: %s}\n", cron)
		if kind == watermark {
			b.WriteString("      watermarkColumn: updated_at\n")
		} else if s%4 == 0 {
			b.WriteString("      sourceTables:\n")
			for d := 0; d < c.DatasetsPerDatastore; d++ {
				fmt.Fprintf(b, "        %s: src.%s\n", g.n.dataset(d), g.n.dataset(d))
			}
		}
	case kafka:
		fmt.Fprintf(b, "    kafkaCdc:\n      container:\n        kafka: {bootstrapServers: [\"kafka-%s.synth.internal:9092\"], locations: [%s]}\n",
			strings.ToLower(zn), loc)
		fmt.Fprintf(b, "      credential: {name: %s_KAFKA, type: USER_PASSWORD}\n", cred)
		b.WriteString("      consistency: SINGLE_DATASET\n")
		fmt.Fprintf(b, "      trigger: {cron: %s}\n", cron)
		b.WriteString("      format: DEBEZIUM_POSTGRES_JSON\n")
		fmt.Fprintf(b, "      topicPrefix: %s\n", strings.ToLower(sn))
	}
	b.WriteString("  datasets:\n")
	for d := 0; d < c.DatasetsPerDatastore; d++ {
		fmt.Fprintf(b, "    - name: %s\n", g.n.dataset(d))
		columnLevel := (s+d)%10 == 0
		keyless := (s+d)%17 == 5 && kind != kafka // CDC events are keyed
		if !columnLevel {
			if (s+d)%3 == 0 {
				b.WriteString("      classifications: [PUB]\n")
			} else {
				b.WriteString("      classifications: [IP]\n")
			}
		}
		if !keyless {
			b.WriteString("      primaryKey: [id]\n")
		}
		b.WriteString("      columns:\n")
		if columnLevel {
			b.WriteString("        - {name: id, type: BigInt, nullable: false, classifications: [IP]}\n")
		} else {
			b.WriteString("        - {name: id, type: BigInt, nullable: false}\n")
		}
		last := c.ColumnsPerDataset
		if kind == watermark {
			last--
		}
		for col := 1; col < last; col++ {
			typ := columnTypes[rng.IntN(len(columnTypes))]
			switch {
			case columnLevel && col == 1:
				fmt.Fprintf(b, "        - {name: c%02d, type: NVarChar(200), classifications: [{type: PC1, label: name}]}\n", col)
			case columnLevel:
				fmt.Fprintf(b, "        - {name: c%02d, type: %s, classifications: [IP]}\n", col, typ)
			default:
				fmt.Fprintf(b, "        - {name: c%02d, type: %s}\n", col, typ)
			}
		}
		if kind == watermark {
			if columnLevel {
				b.WriteString("        - {name: updated_at, type: Timestamp, nullable: false, classifications: [IP]}\n")
			} else {
				b.WriteString("        - {name: updated_at, type: Timestamp, nullable: false}\n")
			}
		}
	}
}

func (g *gen) workspace(b *strings.Builder, w int) {
	c := g.cfg
	z, t := c.owner(w)
	zn, tn := g.n.zone(z), g.n.team(t)
	rng := rand.New(rand.NewPCG(uint64(c.Seed), uint64(1)<<40|uint64(w)))
	nSinks := min(c.SinksPerWorkspace, c.Datastores*c.DatasetsPerDatastore)
	type sink struct{ s, d int }
	seen := make(map[sink]bool, nSinks)
	sinks := make([]sink, 0, nSinks)
	for len(sinks) < nSinks {
		k := sink{rng.IntN(c.Datastores), rng.IntN(c.DatasetsPerDatastore)}
		if !seen[k] {
			seen[k] = true
			sinks = append(sinks, k)
		}
	}

	b.WriteString(header)
	fmt.Fprintf(b, "kind: Workspace\nmetadata: {name: %s, zone: %s, team: %s}\nspec:\n", g.n.workspace(w), zn, tn)
	fmt.Fprintf(b, "  documentation: Synthetic workspace %d\n  productionStatus: PRODUCTION\n", w)
	fmt.Fprintf(b, "  priority: %s\n", []string{"LOW", "MEDIUM", "HIGH", "CRITICAL"}[w%4])
	if w%10 == 0 {
		fmt.Fprintf(b, "  access: {consumers: [reader_%s], approvedClassifications: [PUB, IP, PC1]}\n", strings.ToLower(g.n.workspace(w)))
	} else {
		fmt.Fprintf(b, "  access: {consumers: [reader_%s]}\n", strings.ToLower(g.n.workspace(w)))
	}
	b.WriteString("  datasetGroups:\n    - name: main\n      platformRequirements: {milestoning: LIVE_ONLY}\n      sinks:\n")
	for _, k := range sinks {
		fmt.Fprintf(b, "        - {datastore: %s, dataset: %s}\n", g.n.store(k.s), g.n.dataset(k.d))
	}
}

// Change applies a compatible one-team change to the generated tree in dir: in team (a key
// "Zone/Team" as returned by Teams), every datastore gets a new nullable column ChangeColumn in
// its first dataset, and the team gets a new, unassigned workspace ChangeWorkspace(team) that
// reads the first dataset of up to ten of its datastores. Only the team's region changes, so
// the gate accepts it with --source TeamRepo(team).
func Change(dir, team string) error {
	zn, tn, ok := strings.Cut(team, "/")
	if !ok || zn == "" || tn == "" {
		return fmt.Errorf("modeltest: team %q is not a key Zone/Team", team)
	}
	td := teamDir(dir, zn, tn)
	files, err := filepath.Glob(filepath.Join(td, "datastores", "*.yaml"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("modeltest: team %s has no datastores under %s", team, td)
	}
	type firstDataset struct{ store, dataset string }
	var inputs []firstDataset
	for _, f := range files {
		store, dataset, err := addColumn(f)
		if err != nil {
			return err
		}
		if len(inputs) < 10 {
			inputs = append(inputs, firstDataset{store, dataset})
		}
	}
	var b strings.Builder
	b.WriteString(header)
	fmt.Fprintf(&b, "kind: Workspace\nmetadata: {name: %s, zone: %s, team: %s}\nspec:\n", ChangeWorkspace(team), zn, tn)
	b.WriteString("  documentation: Added by modeltest.Change\n  productionStatus: PRODUCTION\n")
	b.WriteString("  datasetGroups:\n    - name: main\n      platformRequirements: {milestoning: LIVE_ONLY}\n      sinks:\n")
	for _, in := range inputs {
		fmt.Fprintf(&b, "        - {datastore: %s, dataset: %s}\n", in.store, in.dataset)
	}
	path := filepath.Join(td, "workspaces", ChangeWorkspace(team)+".yaml")
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("modeltest: %s already exists; Change was applied before", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// ChangeWorkspace is the name of the workspace Change adds to team.
func ChangeWorkspace(team string) string {
	zn, tn, _ := strings.Cut(team, "/")
	return "Change_" + zn + "_" + tn
}

// addColumn appends ChangeColumn to the first dataset of the generated datastore file and
// returns the datastore's and the dataset's names.
func addColumn(path string) (store, dataset string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", "", err
	}
	text := string(data)
	if strings.Contains(text, "{name: "+ChangeColumn+",") {
		return "", "", fmt.Errorf("modeltest: %s already has column %s", path, ChangeColumn)
	}
	lines := strings.SplitAfter(text, "\n")
	const dsPrefix = "    - name: "
	first, next := -1, len(lines)
	for i, l := range lines {
		if strings.HasPrefix(l, "metadata: {name: ") {
			store, _, _ = strings.Cut(strings.TrimPrefix(l, "metadata: {name: "), ",")
		}
		if strings.HasPrefix(l, dsPrefix) {
			if first < 0 {
				first = i
				dataset = strings.TrimSpace(strings.TrimPrefix(l, dsPrefix))
				continue
			}
			next = i
			break
		}
	}
	if first < 0 || store == "" {
		return "", "", fmt.Errorf("modeltest: %s is not a generated datastore", path)
	}
	// Insert after the last non-empty line of the first dataset.
	at := next
	for at > first && strings.TrimSpace(lines[at-1]) == "" {
		at--
	}
	if !strings.HasSuffix(lines[at-1], "\n") {
		lines[at-1] += "\n"
	}
	col := "        - {name: " + ChangeColumn + ", type: VarChar(200)}\n"
	out := strings.Join(lines[:at], "") + col + strings.Join(lines[at:], "")
	return store, dataset, os.WriteFile(path, []byte(out), 0o644)
}

// CopyTree copies the directory tree src to dst (created if needed): directories and regular
// files, with their permission bits. Other file types are skipped.
func CopyTree(src, dst string) error {
	type job struct {
		from, to string
		mode     fs.FileMode
	}
	var jobs []job
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case d.Type().IsRegular():
			jobs = append(jobs, job{p, target, info.Mode().Perm()})
		}
		return nil
	})
	if err != nil {
		return err
	}
	return parallel(len(jobs), func(i int) error {
		data, err := os.ReadFile(jobs[i].from)
		if err != nil {
			return err
		}
		return os.WriteFile(jobs[i].to, data, jobs[i].mode)
	})
}
