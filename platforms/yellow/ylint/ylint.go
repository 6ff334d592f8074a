// Package ylint lints Yellow data platforms (spec/model.md §7.8, DS-YELLOW-001..018): each Yellow
// platform's settings, and everything its intention graph (model.md §4.18) asks it to ingest,
// store, serve and run — captures, column names and types, workspace containers and
// milestoning, transformers, primary ingestion, and the physical names of yellow.md §2 and
// security.md §2. It implements lint.PlatformRules; lint runs it once the model is free of
// errors (model.md §8 step 4).
package ylint

import (
	"fmt"
	"slices"
	"strings"

	"github.com/datasurface/datasurface/model/graph"
	"github.com/datasurface/datasurface/model/index"
	"github.com/datasurface/datasurface/model/lint"
	"github.com/datasurface/datasurface/model/names"
	"github.com/datasurface/datasurface/model/problem"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/datasurface/datasurface/platforms/yellow/ytypes"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

func rule(id, name string) problem.Rule {
	return problem.Rule{ID: id, Name: name, Severity: problem.Error}
}

// The rules of spec/model.md §7.8 (all ERROR).
var (
	RulePlatformName          = rule("DS-YELLOW-001", "platform-name")
	RuleMergeDatabaseKind     = rule("DS-YELLOW-002", "merge-database-kind")
	RuleStagingKeepInvalid    = rule("DS-YELLOW-003", "staging-keep-invalid")
	RuleCaptureUnsupported    = rule("DS-YELLOW-004", "capture-unsupported")
	RuleSourceNotPostgres     = rule("DS-YELLOW-005", "source-not-postgres")
	RuleTriggerRequired       = rule("DS-YELLOW-006", "trigger-required")
	RuleCredentialRequired    = rule("DS-YELLOW-007", "credential-required")
	RuleKafkaSingleDataset    = rule("DS-YELLOW-008", "kafka-single-dataset")
	RuleWorkspaceContainer    = rule("DS-YELLOW-009", "workspace-container")
	RuleMilestoningMismatch   = rule("DS-YELLOW-010", "milestoning-mismatch")
	RuleTransformerCode       = rule("DS-YELLOW-011", "transformer-code")
	RuleTransformerTrigger    = rule("DS-YELLOW-012", "transformer-trigger")
	RuleColumnNameTooLong     = rule("DS-YELLOW-013", "column-name-too-long")
	RuleTypeUnsupported       = rule("DS-YELLOW-014", "type-unsupported")
	RulePrimaryNotForensic    = rule("DS-YELLOW-015", "primary-not-forensic")
	RulePrimaryMissing        = rule("DS-YELLOW-016", "primary-missing")
	RulePhysicalNameCollision = rule("DS-YELLOW-017", "physical-name-collision")
	RuleCredentialType        = rule("DS-YELLOW-018", "credential-type")
)

// RuleList lists every rule the linter may report.
var RuleList = []problem.Rule{
	RulePlatformName, RuleMergeDatabaseKind, RuleStagingKeepInvalid, RuleCaptureUnsupported,
	RuleSourceNotPostgres, RuleTriggerRequired, RuleCredentialRequired, RuleKafkaSingleDataset,
	RuleWorkspaceContainer, RuleMilestoningMismatch, RuleTransformerCode, RuleTransformerTrigger,
	RuleColumnNameTooLong, RuleTypeUnsupported, RulePrimaryNotForensic, RulePrimaryMissing,
	RulePhysicalNameCollision, RuleCredentialType,
}

// Linter lints the Yellow platforms of a model; it has no state of its own.
type Linter struct{}

var _ lint.PlatformRules = (*Linter)(nil)

// New returns the Yellow linter.
func New() *Linter { return &Linter{} }

// Rules returns the Yellow linter as lint.PlatformRules (lint.Options.Platforms).
func Rules() lint.PlatformRules { return New() }

// Rules lists the rules Check may report.
func (*Linter) Rules() []problem.Rule { return RuleList }

// Check reports the problems of every Yellow platform of c's model.
func (*Linter) Check(c *lint.Context) {
	k := &checker{c: c, x: c.Index, seen: make(map[string]bool)}
	k.run()
}

// platform is one Yellow platform with its intention graph.
type platform struct {
	psp  string
	name string
	path string
	y    *modelv1.YellowPlatform
	g    *graph.Platform
}

type checker struct {
	c    *lint.Context
	x    *index.Index
	seen map[string]bool // rule, position key and message of every problem reported
	// checkedColumns holds the datastores whose columns were checked, per postgis setting.
	checkedColumns [2]map[string]bool
}

// report adds a problem unless the same rule already reported the same message at the same
// node (several platforms ingest one datastore; a message that does not name the platform is
// reported once).
func (k *checker) report(r problem.Rule, path, posKey, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	key := r.ID + "\x00" + posKey + "\x00" + msg
	if k.seen[key] {
		return
	}
	k.seen[key] = true
	k.c.Report(r, path, posKey, "%s", msg)
}

func (k *checker) run() {
	var ps []*platform
	for _, psp := range k.c.Model.GetPsps() {
		for _, d := range psp.GetPlatforms() {
			if y := d.GetYellow(); y != nil && k.x.Platforms[d.GetName()] == d {
				ps = append(ps, &platform{psp: psp.GetName(), name: d.GetName(), path: index.PlatformPath(psp.GetName(), d.GetName()), y: y})
			}
		}
	}
	if len(ps) == 0 {
		return
	}
	slices.SortFunc(ps, func(a, b *platform) int { return strings.Compare(a.name, b.name) })
	eco := graph.BuildWith(k.x, graph.Options{Outline: true})
	k.checkedColumns = [2]map[string]bool{make(map[string]bool), make(map[string]bool)}
	for _, p := range ps {
		p.g = eco.Platforms[p.name]
		k.settings(p)
		k.streams(p)
		k.workspaces(p)
		k.transformers(p)
	}
	k.collisions(ps)
}

// settings checks a platform's own fields: DS-YELLOW-001, 002, 003, 018.
func (k *checker) settings(p *platform) {
	if !names.IsSQLIdentifier(p.name) {
		k.report(RulePlatformName, p.path, p.path+"#name", "Yellow platform name '%s' must be a SQL identifier", p.name)
	}
	if p.y.GetMergeDatabase().GetPostgres() == nil {
		k.report(RuleMergeDatabaseKind, p.path, p.path+"#yellow.mergeDatabase", "mergeDatabase of '%s' must be a postgres container", p.name)
	}
	if n := p.y.GetStagingBatchesToKeep(); n < -1 {
		k.report(RuleStagingKeepInvalid, p.path, p.path+"#yellow.stagingBatchesToKeep", "stagingBatchesToKeep must be ≥ -1, found %d", n)
	}
	for _, o := range p.y.GetStreamOverrides() {
		if o.StagingBatchesToKeep == nil || o.GetStagingBatchesToKeep() >= -1 {
			continue
		}
		elem := o.GetDatastore()
		if o.GetDataset() != "" {
			elem += "." + o.GetDataset()
		}
		k.report(RuleStagingKeepInvalid, p.path, p.path+"#yellow.streamOverrides["+elem+"].stagingBatchesToKeep",
			"stagingBatchesToKeep must be ≥ -1, found %d", o.GetStagingBatchesToKeep())
	}
	for _, cr := range []struct {
		field string
		cred  *modelv1.Credential
	}{{"mergeCredential", p.y.GetMergeCredential()}, {"securityCredential", p.y.GetSecurityCredential()}} {
		if cr.cred != nil && cr.cred.GetType() != modelv1.CredentialType_CREDENTIAL_TYPE_USER_PASSWORD {
			k.report(RuleCredentialType, p.path, p.path+"#yellow."+cr.field+".type", "%s of '%s' must be USER_PASSWORD", cr.field, p.name)
		}
	}
}

// streams checks what the platform ingests: the captures it reads (DS-YELLOW-004..008), the
// primary ingestion of what it copies (015, 016) and the columns it stores (013, 014).
func (k *checker) streams(p *platform) {
	for i, st := range p.g.Streams {
		if i > 0 && p.g.Streams[i-1].Datastore == st.Datastore {
			continue // one check per datastore; its streams are adjacent
		}
		ds := k.x.Datastores[st.Datastore]
		if st.Remote {
			k.primary(st.Datastore)
		} else {
			k.capture(ds)
		}
		k.columns(ds, p.y.GetPostgis())
	}
}

// capture checks the capture of a datastore the platform reads from its source.
func (k *checker) capture(ds *modelv1.Datastore) {
	s := ds.GetName()
	path := index.DatastorePath(s)
	cp := index.CaptureOf(ds)
	switch cp.Kind {
	case index.KindTransformerOutput:
		return // written by a transformer on the platform: no source to read
	case index.KindSQLSnapshot, index.KindSQLWatermark, index.KindKafkaCDC:
	default:
		kind := cp.Kind
		if kind == "" {
			kind = "none"
		}
		k.report(RuleCaptureUnsupported, path, path+"#capture", "datastore '%s': capture %s is not supported by Yellow", s, kind)
		return
	}
	at := path + "#" + cp.FieldPrefix
	if cp.Kind != index.KindKafkaCDC && cp.Container != nil {
		if c := k.x.ResolveContainer(ds.GetZone(), ds.GetTeam(), cp.Container); c != nil && c.GetPostgres() == nil {
			k.report(RuleSourceNotPostgres, path, at+".container", "datastore '%s': Yellow reads SQL sources from postgres containers only", s)
		}
	}
	if cp.Trigger.GetKind() == nil {
		k.report(RuleTriggerRequired, path, at, "datastore '%s' needs a trigger (cron or external) on Yellow", s)
	}
	if cp.Credential == nil {
		k.report(RuleCredentialRequired, path, at, "datastore '%s' needs a credential on Yellow", s)
	}
	if cp.Kind == index.KindKafkaCDC && cp.Consistency != modelv1.Consistency_CONSISTENCY_SINGLE_DATASET {
		k.report(RuleKafkaSingleDataset, path, at+".consistency", "datastore '%s': Kafka CDC must use consistency SINGLE_DATASET", s)
	}
}

// primary checks the primary ingestion of a datastore the platform copies: the first listed
// platform must be a FORENSIC Yellow platform (DS-YELLOW-015), and at least one listed platform
// must be Yellow (016).
func (k *checker) primary(s string) {
	pi := k.x.Primary[s]
	path := index.PrimaryPath(s)
	listed := pi.GetPlatforms()
	if !slices.ContainsFunc(listed, func(d string) bool { return k.x.Yellow(d) != nil }) {
		k.report(RulePrimaryMissing, path, path+"#platforms", "datastore '%s' lists primary ingestion platforms but none is a Yellow platform", s)
		return
	}
	if first := listed[0]; k.x.Yellow(first).GetMilestoning() != modelv1.PlatformMilestoning_PLATFORM_MILESTONING_FORENSIC {
		k.report(RulePrimaryNotForensic, path, path+"#platforms["+first+"]",
			"datastore '%s': primary ingestion platform '%s' must be a FORENSIC Yellow platform", s, first)
	}
}

// columns checks every column of a datastore the platform stores: DS-YELLOW-013 and 014.
func (k *checker) columns(ds *modelv1.Datastore, postgis bool) {
	checked := k.checkedColumns[0]
	if postgis {
		checked = k.checkedColumns[1]
	}
	s := ds.GetName()
	if checked[s] {
		return
	}
	checked[s] = true
	opts := ytypes.Options{PostGIS: postgis}
	for _, t := range ds.GetDatasets() {
		for _, col := range t.GetColumns() {
			c := col.GetName()
			if len(c) > naming.MaxIdentifier {
				path := index.ColumnPath(s, t.GetName(), c)
				k.report(RuleColumnNameTooLong, path, path+"#name", "column '%s' of '%s.%s' is longer than 63 bytes", c, s, t.GetName())
			}
			if ok, _ := ytypes.Storable(col.GetType(), opts); !ok {
				path := index.ColumnPath(s, t.GetName(), c)
				k.report(RuleTypeUnsupported, path, path+"#type", "column '%s' of '%s.%s': type %s cannot be stored on Yellow",
					c, s, t.GetName(), ytypes.Format(col.GetType()))
			}
		}
	}
}

// workspaces checks the workspaces the platform serves: a platformManaged container
// (DS-YELLOW-009) and, for assigned dataset groups, the milestoning the platform offers (010).
func (k *checker) workspaces(p *platform) {
	for i, r := range p.g.Roots {
		w := k.x.Workspaces[r.Workspace]
		if i == 0 || p.g.Roots[i-1].Workspace != r.Workspace {
			c := w.GetContainer()
			if c != nil {
				c = k.x.ResolveContainer(w.GetZone(), w.GetTeam(), c)
			}
			if c != nil && c.GetPlatformManaged() == nil {
				path := index.WorkspacePath(r.Workspace)
				k.report(RuleWorkspaceContainer, path, path+"#container", "workspace '%s' on '%s' must use a platformManaged container", r.Workspace, p.name)
			}
		}
		if r.Status == modelv1.AssignmentStatus_ASSIGNMENT_STATUS_UNSPECIFIED {
			continue // a transformer workspace's group: no requirements of its own
		}
		need := k.x.DSG(r.Workspace, r.DatasetGroup).GetPlatformRequirements().GetMilestoning()
		has := p.y.GetMilestoning()
		if need == modelv1.Milestoning_MILESTONING_UNSPECIFIED || has == modelv1.PlatformMilestoning_PLATFORM_MILESTONING_UNSPECIFIED {
			continue
		}
		forensicNeed := need != modelv1.Milestoning_MILESTONING_LIVE_ONLY
		if forensicNeed != (has == modelv1.PlatformMilestoning_PLATFORM_MILESTONING_FORENSIC) {
			path := index.AssignmentPlatformPath(r.Workspace, r.DatasetGroup, p.name)
			k.report(RuleMilestoningMismatch, path, path, "'%s.%s' requires %s but '%s' is a %s platform",
				r.Workspace, r.DatasetGroup, strings.TrimPrefix(need.String(), "MILESTONING_"),
				p.name, strings.TrimPrefix(has.String(), "PLATFORM_MILESTONING_"))
		}
	}
}

// transformers checks the transformers the platform runs: sql code (DS-YELLOW-011) and a cron
// or no trigger (012).
func (k *checker) transformers(p *platform) {
	for _, t := range p.g.Transformers {
		tr := k.x.Workspaces[t.Workspace].GetTransformer()
		path := index.TransformerPath(t.Workspace)
		if tr.GetCode().GetSql() == nil {
			at := path + "#code"
			if tr.GetCode().GetImage() != nil {
				at += ".image"
			}
			k.report(RuleTransformerCode, path, at, "transformer '%s': Yellow runs sql code only", tr.GetName())
		}
		if tr.GetTrigger().GetExternal() != nil {
			k.report(RuleTransformerTrigger, path, path+"#trigger.external", "transformer '%s': trigger must be cron or absent", tr.GetName())
		}
	}
}
