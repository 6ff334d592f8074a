// Package platform derives, from one model version, what the merge service needs to know about
// one Yellow data platform (yellow.md §2–§4, §10, §12; model.md §4.14, §4.18): its settings, its
// ingestion streams with the layouts of their tables and their merge, the workspace views it
// must publish with their masking, and the transformers it runs. It is pure: no I/O.
package platform

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/datasurface/datasurface/model/graph"
	"github.com/datasurface/datasurface/model/index"
	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/datasurface/datasurface/platforms/yellow/ytypes"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// NotFoundError says a platform, stream or workspace the caller named is not in the model.
type NotFoundError struct{ What, Name string }

func (e *NotFoundError) Error() string { return fmt.Sprintf("%s %q not found", e.What, e.Name) }

// Platform is one Yellow platform of one model version.
type Platform struct {
	Name     string
	Settings *modelv1.YellowPlatform
	// Store is the credential store of the platform's PSP.
	Store       *modelv1.CredentialStore
	Milestoning layout.Milestoning
	Types       ytypes.Options
	Index       *index.Index
	Graph       *graph.Platform

	streams      map[string]*Stream
	exports      map[[2]string]*Dataset // (S, T) → dataset of its stream
	transformers map[string]*Transformer
}

// Stream is one ingestion stream of the platform.
type Stream struct {
	Key       string
	Datastore string
	Capture   layout.Capture
	// Remote is set when the platform copies the datastore from PrimaryPlatform (yellow.md §8).
	Remote          bool
	PrimaryPlatform string
	// Primary is what the stream reads on its primary platform when Remote, else nil.
	Primary *Primary
	// Datasets in model order.
	Datasets []*Dataset
}

// Primary is the primary platform P a secondary's stream copies from (yellow.md §8): P's
// settings (nil when P is not a Yellow platform) and milestoning (0 when unknown). The
// secondary reads P's merge database with its own merge login.
type Primary struct {
	Name        string
	Settings    *modelv1.YellowPlatform
	Milestoning layout.Milestoning
}

// Check says why the stream cannot copy from P: P must be a FORENSIC Yellow platform with a
// postgres merge database (DS-YELLOW-015).
func (p *Primary) Check() error {
	switch {
	case p.Settings == nil:
		return fmt.Errorf("primary ingestion platform %q is not a Yellow platform", p.Name)
	case p.Milestoning != layout.Forensic:
		return fmt.Errorf("primary ingestion platform %q must be a FORENSIC Yellow platform (yellow.md §8)", p.Name)
	case p.Settings.GetMergeDatabase().GetPostgres() == nil:
		return fmt.Errorf("primary ingestion platform %q: mergeDatabase must be a postgres container", p.Name)
	}
	return nil
}

// Dataset is one dataset of a stream with its tables.
type Dataset struct {
	Name    string
	Model   *modelv1.Dataset
	Layout  layout.Dataset
	Staging layout.Table
	Merge   layout.Table
	// Load is the CDC load table (CDC streams only).
	Load *layout.Table
	// Keep is stagingBatchesToKeep for this dataset (platform setting or stream override).
	Keep        int32
	Fingerprint string
	// Remote is the primary's merge and metrics tables of the dataset (secondaries only).
	Remote *mergesql.Remote
}

// Tables returns the dataset's tables in creation order: staging, CDC load, merge.
func (d *Dataset) Tables() []layout.Table {
	ts := []layout.Table{d.Staging}
	if d.Load != nil {
		ts = append(ts, *d.Load)
	}
	return append(ts, d.Merge)
}

// DatasetNames returns the stream's dataset names in model order.
func (s *Stream) DatasetNames() []string {
	out := make([]string, len(s.Datasets))
	for i, d := range s.Datasets {
		out[i] = d.Name
	}
	return out
}

// Fingerprints returns the schema fingerprint of every dataset (yellow.md §6.2).
func (s *Stream) Fingerprints() map[string]string {
	out := make(map[string]string, len(s.Datasets))
	for _, d := range s.Datasets {
		out[d.Name] = d.Fingerprint
	}
	return out
}

// Mode returns the merge of a batch of the stream (seed: a secondary's seeding batch).
func (s *Stream) Mode(m layout.Milestoning, seed bool) (mergesql.Mode, error) {
	return mergesql.ModeFor(s.Capture, m, seed)
}

// Build derives platform d of model m. d must be a Yellow platform.
func Build(m *modelv1.Model, d string) (*Platform, error) {
	x := index.New(m)
	dp := x.Platforms[d]
	if dp == nil {
		return nil, &NotFoundError{What: "platform", Name: d}
	}
	y := dp.GetYellow()
	if y == nil {
		return nil, fmt.Errorf("platform %q is not a Yellow platform", d)
	}
	ms, err := layout.MilestoningOf(y.GetMilestoning())
	if err != nil {
		return nil, fmt.Errorf("platform %q: %w", d, err)
	}
	p := &Platform{
		Name: d, Settings: y, Store: x.PlatformPSP[d].GetCredentialStore(), Milestoning: ms,
		Types: ytypes.Options{PostGIS: y.GetPostgis()}, Index: x, Graph: graph.BuildPlatform(x, d),
		streams: make(map[string]*Stream), exports: make(map[[2]string]*Dataset),
		transformers: make(map[string]*Transformer),
	}
	for _, gs := range p.Graph.Streams {
		s, err := p.buildStream(gs)
		if err != nil {
			return nil, err
		}
		p.streams[s.Key] = s
		for _, ds := range s.Datasets {
			p.exports[[2]string{s.Datastore, ds.Name}] = ds
		}
	}
	for _, gt := range p.Graph.Transformers {
		t, err := p.buildTransformer(gt)
		if err != nil {
			return nil, err
		}
		p.transformers[t.Workspace] = t
	}
	return p, nil
}

func (p *Platform) buildStream(gs graph.Stream) (*Stream, error) {
	capture, err := layout.CaptureFor(gs.Kind, gs.Remote, p.Milestoning)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", gs.Key, err)
	}
	s := &Stream{Key: gs.Key, Datastore: gs.Datastore, Capture: capture, Remote: gs.Remote, PrimaryPlatform: gs.PrimaryPlatform}
	if gs.Remote {
		s.Primary = &Primary{Name: gs.PrimaryPlatform}
		if y := p.Index.Platforms[gs.PrimaryPlatform].GetYellow(); y != nil {
			s.Primary.Settings = y
			s.Primary.Milestoning, _ = layout.MilestoningOf(y.GetMilestoning())
		}
	}
	store := p.Index.Datastores[gs.Datastore]
	for _, name := range gs.Datasets {
		md := index.FindDataset(store, name)
		if md == nil {
			return nil, fmt.Errorf("stream %s: dataset %q not found", gs.Key, name)
		}
		ld, err := layout.FromModel(gs.Datastore, md, p.Types)
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", gs.Key, err)
		}
		ds := &Dataset{
			Name: name, Model: md, Layout: ld,
			Staging: layout.Staging(p.Name, ld, capture), Merge: layout.Merge(p.Name, ld, p.Milestoning),
			Keep: p.keep(gs.Datastore, name), Fingerprint: mergesql.Fingerprint(ld),
		}
		if capture == layout.CDC {
			l := layout.CDCLoad(p.Name, ld)
			ds.Load = &l
		}
		if gs.Remote {
			r := mergesql.RemoteOf(gs.PrimaryPlatform, ld)
			ds.Remote = &r
		}
		s.Datasets = append(s.Datasets, ds)
	}
	return s, nil
}

// keep is stagingBatchesToKeep of dataset t of datastore s: a stream override naming the dataset
// wins over one naming only the datastore, which wins over the platform setting.
func (p *Platform) keep(s, t string) int32 {
	keep := p.Settings.GetStagingBatchesToKeep()
	found := false
	for _, o := range p.Settings.GetStreamOverrides() {
		if o.GetDatastore() != s || o.StagingBatchesToKeep == nil {
			continue
		}
		switch o.GetDataset() {
		case t:
			return o.GetStagingBatchesToKeep()
		case "":
			if !found {
				keep, found = o.GetStagingBatchesToKeep(), true
			}
		}
	}
	return keep
}

// Stream returns the stream with key k.
func (p *Platform) Stream(k string) (*Stream, error) {
	s, ok := p.streams[k]
	if !ok {
		return nil, &NotFoundError{What: "stream", Name: k}
	}
	return s, nil
}

// Streams returns every stream, sorted by key.
func (p *Platform) Streams() []*Stream {
	out := make([]*Stream, 0, len(p.streams))
	for _, gs := range p.Graph.Streams {
		out = append(out, p.streams[gs.Key])
	}
	return out
}

// Export returns the dataset whose merge table holds dataset t of datastore s.
func (p *Platform) Export(s, t string) (*Dataset, bool) {
	d, ok := p.exports[[2]string{s, t}]
	return d, ok
}

// ---------------------------------------------------------------------------------------------
// Views (yellow.md §12, security.md §5)

// ViewSpec is one desired workspace view; its columns come from the live merge table.
type ViewSpec struct {
	Kind      mergesql.ViewKind
	Workspace string
	DSG       string
	Dataset   *Dataset
	// Masked names the columns masked for the workspace.
	Masked          map[string]bool
	Decommissioning bool
}

// Name is the view's physical name.
func (v ViewSpec) Name() naming.Name {
	if v.Kind == mergesql.FullView {
		return naming.FullView(v.Dataset.Merge.Platform, v.Workspace, v.DSG, v.Dataset.Layout.Store, v.Dataset.Name)
	}
	return naming.LiveView(v.Dataset.Merge.Platform, v.Workspace, v.DSG, v.Dataset.Layout.Store, v.Dataset.Name)
}

// Views returns every view the platform publishes: for every dataset group of its graph (assigned
// and not DECOMMISSIONED, or pulled in for a transformer) and every sink the platform holds, a
// live view, and a full view when the platform is FORENSIC and the group requires FORENSIC.
// Ordered by workspace, group, datastore, dataset, kind.
func (p *Platform) Views() []ViewSpec {
	var out []ViewSpec
	for _, r := range p.Graph.Roots {
		w := p.Index.Workspaces[r.Workspace]
		g := p.Index.DSG(r.Workspace, r.DatasetGroup)
		if w == nil || g == nil {
			continue
		}
		approved := w.GetAccess().GetApprovedClassifications()
		full := p.Milestoning == layout.Forensic && !r.Transformer &&
			g.GetPlatformRequirements().GetMilestoning() == modelv1.Milestoning_MILESTONING_FORENSIC
		decommissioning := r.Status == modelv1.AssignmentStatus_ASSIGNMENT_STATUS_DECOMMISSIONING
		for _, sink := range g.GetSinks() {
			ds, ok := p.Export(sink.GetDatastore(), sink.GetDataset())
			if !ok {
				continue
			}
			v := ViewSpec{
				Kind: mergesql.LiveView, Workspace: r.Workspace, DSG: r.DatasetGroup, Dataset: ds,
				Masked: mergesql.MaskedColumns(ds.Model, approved), Decommissioning: decommissioning,
			}
			out = append(out, v)
			if full {
				v.Kind = mergesql.FullView
				out = append(out, v)
			}
		}
	}
	return out
}

// ---------------------------------------------------------------------------------------------
// Transformers (yellow.md §10)

// Transformer is a SQL transformer workspace the platform runs.
type Transformer struct {
	Workspace string
	Name      string
	// Output is the stream of the output datastore.
	Output *Stream
	// Outputs are the output tables, one per dataset of the output stream, in model order.
	Outputs []layout.Table
	// Queries are the SQL queries by output dataset, placeholders already replaced by the quoted
	// live view names.
	Queries map[string]string
	// Inputs are the keys of the streams feeding the workspace's sinks, sorted.
	Inputs []string
	// Timeout is the statement timeout of a run (transformerTimeout).
	Timeout time.Duration
	// Schema is the output schema phys(D_dt_W).
	Schema string
}

// Transformer returns the transformer of workspace w.
func (p *Platform) Transformer(w string) (*Transformer, error) {
	t, ok := p.transformers[w]
	if !ok {
		return nil, &NotFoundError{What: "transformer workspace", Name: w}
	}
	return t, nil
}

// Transformers returns the platform's transformers, sorted by workspace.
func (p *Platform) Transformers() []*Transformer {
	out := make([]*Transformer, 0, len(p.transformers))
	for _, gt := range p.Graph.Transformers {
		if t, ok := p.transformers[gt.Workspace]; ok {
			out = append(out, t)
		}
	}
	return out
}

// placeholder matches {{ dsg.datastore.dataset }} (model.md §4.13).
var placeholder = regexp.MustCompile(`\{\{\s*([^{}\s]+)\s*\}\}`)

func (p *Platform) buildTransformer(gt graph.Transformer) (*Transformer, error) {
	w := p.Index.Workspaces[gt.Workspace]
	sql := w.GetTransformer().GetCode().GetSql()
	if sql == nil {
		return nil, fmt.Errorf("transformer workspace %s: only SQL transformers run on Yellow", gt.Workspace)
	}
	out, ok := p.streams[gt.OutputDatastore]
	if !ok {
		return nil, fmt.Errorf("transformer workspace %s: output datastore %s is not ingested by platform %s", gt.Workspace, gt.OutputDatastore, p.Name)
	}
	timeout := 30 * time.Minute
	if s := p.Settings.GetTransformerTimeout(); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("platform %s: transformerTimeout %q: %w", p.Name, s, err)
		}
		timeout = d
	}
	t := &Transformer{
		Workspace: gt.Workspace, Name: gt.Name, Output: out, Queries: make(map[string]string),
		Timeout: timeout, Schema: naming.TransformerSchema(p.Name, gt.Workspace),
	}
	for _, ds := range out.Datasets {
		t.Outputs = append(t.Outputs, layout.OutputTable(p.Name, gt.Workspace, ds.Layout))
		q, ok := sql.GetQueries()[ds.Name]
		if !ok {
			return nil, fmt.Errorf("transformer workspace %s: no query for output dataset %s", gt.Workspace, ds.Name)
		}
		rq, err := p.replacePlaceholders(w, q)
		if err != nil {
			return nil, fmt.Errorf("transformer workspace %s, query of %s: %w", gt.Workspace, ds.Name, err)
		}
		t.Queries[ds.Name] = rq
	}
	inputs := map[string]bool{}
	for _, g := range w.GetDatasetGroups() {
		for _, sink := range g.GetSinks() {
			if ds, ok := p.Export(sink.GetDatastore(), sink.GetDataset()); ok {
				inputs[p.streamOf(ds)] = true
			}
		}
	}
	for k := range inputs {
		t.Inputs = append(t.Inputs, k)
	}
	slices.Sort(t.Inputs)
	return t, nil
}

func (p *Platform) streamOf(ds *Dataset) string {
	e, _ := p.Graph.Export(ds.Layout.Store, ds.Name)
	return e.Stream
}

// replacePlaceholders replaces every {{ G.S.T }} of query q by the quoted live view of sink S.T
// of group G of workspace w, and drops one trailing semicolon.
func (p *Platform) replacePlaceholders(w *modelv1.Workspace, q string) (string, error) {
	var bad error
	out := placeholder.ReplaceAllStringFunc(q, func(m string) string {
		ref := placeholder.FindStringSubmatch(m)[1]
		parts := strings.Split(ref, ".")
		if len(parts) != 3 {
			bad = fmt.Errorf("placeholder %q is not {{ group.datastore.dataset }}", ref)
			return m
		}
		g := p.Index.DSG(w.GetName(), parts[0])
		if g == nil || !slices.ContainsFunc(g.GetSinks(), func(s *modelv1.DatasetSink) bool {
			return s.GetDatastore() == parts[1] && s.GetDataset() == parts[2]
		}) {
			bad = fmt.Errorf("placeholder %q is not a sink of workspace %s", ref, w.GetName())
			return m
		}
		if _, ok := p.Export(parts[1], parts[2]); !ok {
			bad = fmt.Errorf("placeholder %q: platform %s does not hold %s.%s", ref, p.Name, parts[1], parts[2])
			return m
		}
		v := naming.LiveView(p.Name, w.GetName(), parts[0], parts[1], parts[2])
		return ddl.Ident(v)
	})
	if bad != nil {
		return "", bad
	}
	out = strings.TrimSpace(out)
	out = strings.TrimSpace(strings.TrimSuffix(out, ";"))
	return out, nil
}
