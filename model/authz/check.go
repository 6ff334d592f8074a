package authz

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/datasurface/datasurface/model/index"
	"github.com/datasurface/datasurface/model/problem"
	"github.com/datasurface/datasurface/model/srcmap"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// Phases of the gate this package reports in (spec/governance.md §1.5).
const (
	PhaseSource        = "source"
	PhaseAuthorization = "authorization"
)

// The rules of spec/governance.md §1.6.
var (
	RuleUnknownSource           = problem.Rule{ID: "DS-AUTH-001", Name: "unknown-change-source", Severity: problem.Error}
	RuleUnauthorizedChange      = problem.Rule{ID: "DS-AUTH-002", Name: "unauthorized-change", Severity: problem.Error}
	RuleUnauthorizedDeclaration = problem.Rule{ID: "DS-AUTH-003", Name: "unauthorized-declaration", Severity: problem.Error}
	RuleUnauthorizedHandOver    = problem.Rule{ID: "DS-AUTH-004", Name: "unauthorized-hand-over", Severity: problem.Error}
	RuleInitialSource           = problem.Rule{ID: "DS-AUTH-005", Name: "initial-check-in-source", Severity: problem.Error}
)

// Rules is the catalogue of spec/governance.md §1.6.
var Rules = []problem.Rule{
	RuleUnknownSource, RuleUnauthorizedChange, RuleUnauthorizedDeclaration, RuleUnauthorizedHandOver,
	RuleInitialSource,
}

// Check decides whether source may change base into head (spec/governance.md §1.2–§1.4).
//
// With a nil base (initial check-in) the only rule is DS-AUTH-005: source must be head's
// owning repository. Otherwise source must first be a known source of base (DS-AUTH-001, phase
// "source"; nothing else is checked when it is not), then every region that differs must be
// changed by its owner (DS-AUTH-002..004, phase "authorization"). Problems cite the first
// differing node in head, or in base for removed content, and come back sorted.
//
// Both models are expected in canonical form; head has passed lint. The base may carry lint
// errors (it is loaded leniently); ownership is then read from its first declarations.
func Check(base, head *modelv1.Model, baseSrc, headSrc *srcmap.Map, source string) []problem.Problem {
	var ps []problem.Problem
	switch {
	case base == nil:
		ps = checkInitial(head, headSrc, source)
	case !IsKnownSource(base, source):
		ps = []problem.Problem{{
			Rule: RuleUnknownSource, Severity: RuleUnknownSource.Severity, Phase: PhaseSource,
			Message: fmt.Sprintf("'%s' owns no part of the model; known sources: %d repositories",
				source, len(KnownSources(base))),
		}}
	default:
		ps = authorize(base, head, baseSrc, headSrc, source)
	}
	problem.Sort(ps)
	return ps
}

// IsKnownSource reports whether source is a valid repository reference that owns part of base
// (spec/governance.md §1.3).
func IsKnownSource(base *modelv1.Model, source string) bool {
	if ValidRepository(source) != nil {
		return false
	}
	_, found := slices.BinarySearch(KnownSources(base), source)
	return found
}

func checkInitial(head *modelv1.Model, headSrc *srcmap.Map, source string) []problem.Problem {
	owner := head.GetEcosystem().GetOwningRepo()
	if source == owner {
		return nil
	}
	return []problem.Problem{{
		Rule: RuleInitialSource, Severity: RuleInitialSource.Severity, Phase: PhaseAuthorization,
		Message: fmt.Sprintf("the first model must be submitted by its owning repository '%s', not '%s'", owner, source),
		Path:    index.EcosystemPath,
		Pos:     headSrc.Field(index.EcosystemPath, "owningRepo"),
	}}
}

// checker accumulates the authorization problems of one change.
type checker struct {
	base, head       *regionIndex
	baseSrc, headSrc *srcmap.Map
	source           string
	problems         []problem.Problem
}

func authorize(base, head *modelv1.Model, baseSrc, headSrc *srcmap.Map, source string) []problem.Problem {
	c := &checker{
		base: newRegionIndex(base), head: newRegionIndex(head),
		baseSrc: baseSrc, headSrc: headSrc, source: source,
	}
	c.ecosystem()
	c.zones()
	c.teams()
	return c.problems
}

func (c *checker) report(r problem.Rule, path string, pos problem.Position, format string, args ...any) {
	c.problems = append(c.problems, problem.Problem{
		Rule: r, Severity: r.Severity, Phase: PhaseAuthorization, Message: fmt.Sprintf(format, args...),
		Path: path, Pos: pos,
	})
}

// pos returns the position of key in head, or in base when inBase.
func (c *checker) pos(key string, inBase bool) problem.Position {
	if inBase {
		p := c.baseSrc.Pos(key)
		if !p.IsZero() {
			p.Side = problem.Base
		}
		return p
	}
	return c.headSrc.Pos(key)
}

// region reports DS-AUTH-002 when the content of region r (owned by owner) differs; content
// builds the region's nodes in one model and is only called when the source is not the owner.
func (c *checker) region(r Region, owner string, content func(*regionIndex) []node) {
	if c.source == owner {
		return
	}
	ch, ok := firstChange(content(c.base), content(c.head), nil)
	if !ok {
		return
	}
	c.report(RuleUnauthorizedChange, ch.path, c.pos(ch.key, ch.inBase),
		"%s is owned by '%s', not '%s': %s %s", r, owner, c.source, ch.what, ch.verb)
}

// declarations reports DS-AUTH-003 for every declaration added or removed by a source that is
// not parentOwner.
func (c *checker) declarations(kind, parentOwner string, base, head []string, key, path func(string) string, label func(string) string) {
	if c.source == parentOwner {
		return
	}
	for _, n := range head {
		if _, found := slices.BinarySearch(base, n); !found {
			c.report(RuleUnauthorizedDeclaration, path(n), c.headSrc.Pos(key(n)),
				"only '%s' may add the declaration of %s '%s'", parentOwner, kind, label(n))
		}
	}
	for _, n := range base {
		if _, found := slices.BinarySearch(head, n); !found {
			c.report(RuleUnauthorizedDeclaration, path(n), c.pos(key(n), true),
				"only '%s' may remove the declaration of %s '%s'", parentOwner, kind, label(n))
		}
	}
}

// handOver reports DS-AUTH-004 when a declaration's owner changes and the source is neither the
// current owner nor the parent's owner re-assigning a child that is undefined in both models.
func (c *checker) handOver(kind, label, path, key, current, next, parentOwner string, definedInBase, definedInHead bool) {
	if current == next || c.source == current {
		return
	}
	if c.source == parentOwner && !definedInBase && !definedInHead {
		return
	}
	c.report(RuleUnauthorizedHandOver, path, c.headSrc.Pos(key), "only '%s' may hand over %s '%s'", current, kind, label)
}

func (c *checker) ecosystem() {
	owner := c.base.ecoOwner()
	zoneNames := func(x *regionIndex) []string {
		var out []string
		for z := range x.zoneDecl {
			out = append(out, z)
		}
		slices.Sort(out)
		return out
	}
	c.declarations("zone", owner, zoneNames(c.base), zoneNames(c.head),
		func(z string) string { return index.EcosystemPath + "#zones[" + z + "]" },
		index.ZonePath, func(z string) string { return z })
	c.region(Region{Kind: EcosystemRegion}, owner, func(x *regionIndex) []node { return ecosystemContent(x.m) })
}

// zoneOwner returns the owner of zone z: its declaration in base, else its declaration in head
// (declared in this change), else the ecosystem owner (an undeclared zone is its parent's).
func (c *checker) zoneOwner(z string) string {
	if d, ok := c.base.zoneDecl[z]; ok {
		return d.GetOwningRepo()
	}
	if d, ok := c.head.zoneDecl[z]; ok {
		return d.GetOwningRepo()
	}
	return c.base.ecoOwner()
}

// teamOwner is zoneOwner for team k.
func (c *checker) teamOwner(k teamKey) string {
	if d, ok := c.base.teamDecl[k]; ok {
		return d.GetOwningRepo()
	}
	if d, ok := c.head.teamDecl[k]; ok {
		return d.GetOwningRepo()
	}
	return c.zoneOwner(k.zone)
}

func (c *checker) zones() {
	names := append(c.base.zoneNames(), c.head.zoneNames()...)
	slices.Sort(names)
	for _, z := range slices.Compact(names) {
		bd, inBase := c.base.zoneDecl[z]
		hd, inHead := c.head.zoneDecl[z]
		if inBase && inHead {
			c.handOver("zone", z, index.ZonePath(z), index.EcosystemPath+"#zones["+z+"].owningRepo",
				bd.GetOwningRepo(), hd.GetOwningRepo(), c.base.ecoOwner(), c.base.zoneDefined(z), c.head.zoneDefined(z))
		}
		owner := c.zoneOwner(z)
		c.declarations("team", owner, c.base.teamDeclNames(z), c.head.teamDeclNames(z),
			func(t string) string { return index.ZonePath(z) + "#teams[" + t + "]" },
			func(t string) string { return index.TeamPath(z, t) },
			func(t string) string { return z + "/" + t })
		c.region(Region{Kind: ZoneRegion, Zone: z}, owner, func(x *regionIndex) []node { return zoneContent(x, z) })
	}
}

func (c *checker) teams() {
	keys := append(c.base.teamKeys(), c.head.teamKeys()...)
	slices.SortFunc(keys, compareTeamKeys)
	for _, k := range slices.Compact(keys) {
		bd, inBase := c.base.teamDecl[k]
		hd, inHead := c.head.teamDecl[k]
		if inBase && inHead {
			c.handOver("team", k.zone+"/"+k.team, index.TeamPath(k.zone, k.team),
				index.ZonePath(k.zone)+"#teams["+k.team+"].owningRepo",
				bd.GetOwningRepo(), hd.GetOwningRepo(), c.zoneOwner(k.zone), c.base.teamDefined(k), c.head.teamDefined(k))
		}
		if owner := c.teamOwner(k); c.source != owner && !teamEqual(c.base, c.head, k) {
			c.region(Region{Kind: TeamRegion, Zone: k.zone, Team: k.team}, owner,
				func(x *regionIndex) []node { return teamContent(x, k) })
		}
	}
}

// ValidRepository checks a repository reference `<location>@<branch>` (spec/model.md §4.1) and
// says what is wrong with it.
func ValidRepository(ref string) error {
	at := strings.LastIndexByte(ref, '@')
	if at < 0 {
		return fmt.Errorf("'%s' is not of the form <location>@<branch>", ref)
	}
	location, branch := ref[:at], ref[at+1:]
	if err := validBranch(branch); err != nil {
		return err
	}
	if strings.Contains(location, "://") {
		u, err := url.Parse(location)
		if err != nil {
			return fmt.Errorf("location '%s' is not a valid URL: %w", location, err)
		}
		if u.Scheme == "" || u.Hostname() == "" {
			return fmt.Errorf("location '%s' needs a scheme and a host", location)
		}
		return nil
	}
	owner, name, ok := strings.Cut(location, "/")
	switch {
	case len(location) < 1 || len(location) > 100:
		return fmt.Errorf("location '%s' must have 1 to 100 characters", location)
	case !ok || strings.Contains(name, "/") || owner == "" || name == "":
		return fmt.Errorf("location '%s' must be owner/name or a URL", location)
	case !repoChars(location, "/"):
		return fmt.Errorf("location '%s' may contain only letters, digits, '_', '.', '-' and one '/'", location)
	case strings.Contains(location, ".."):
		return fmt.Errorf("location '%s' must not contain '..'", location)
	case strings.HasPrefix(location, "-") || strings.HasSuffix(location, "-"):
		return fmt.Errorf("location '%s' must not start or end with '-'", location)
	}
	return nil
}

func validBranch(b string) error {
	switch {
	case b == "":
		return fmt.Errorf("branch is empty")
	case !repoChars(b, ""):
		return fmt.Errorf("branch '%s' may contain only letters, digits, '_', '.' and '-'", b)
	case strings.Contains(b, ".."):
		return fmt.Errorf("branch '%s' must not contain '..'", b)
	case strings.HasPrefix(b, "-") || strings.HasSuffix(b, "."):
		return fmt.Errorf("branch '%s' must not start with '-' or end with '.'", b)
	}
	return nil
}

func repoChars(s, extra string) bool {
	for _, r := range s {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '_', r == '.', r == '-':
		case strings.ContainsRune(extra, r):
		default:
			return false
		}
	}
	return true
}
