// Package check runs the gate of `datasurface validate` (model/gate) for the validator service:
// the same platform rules and fail-on level as the CLI, the head loaded strictly and the base
// leniently as the CLI loads them, and the committed history for the name-reuse and TRANSITIVE
// checks (the service always has it). Its errors are typed (*Error) so the Connect handler can
// map them to codes and the proposal consumer can turn them into verdicts.
package check

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/datasurface/datasurface/kit/modelbus"
	"github.com/datasurface/datasurface/model/gate"
	"github.com/datasurface/datasurface/model/lint"
	"github.com/datasurface/datasurface/model/load"
	"github.com/datasurface/datasurface/model/problem"
	"github.com/datasurface/datasurface/platforms/yellow/ylint"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/validator/internal/history"
	"github.com/datasurface/datasurface/services/validator/internal/telemetry"
)

// Platforms returns the platform lint rules of every platform kind datasurface ships; it is the
// same list `datasurface validate` applies (cmd/datasurface platformRules).
func Platforms() []lint.PlatformRules {
	return []lint.PlatformRules{ylint.New()}
}

// Kind classifies an Error.
type Kind int

// Error kinds.
const (
	// Internal: an unexpected failure (the message is not for clients).
	Internal Kind = iota
	// InvalidArgument: the request itself is wrong.
	InvalidArgument
	// NotFound: a named committed version does not exist.
	NotFound
	// FailedPrecondition: the committed base cannot be used (its snapshot is missing or it is
	// not a model).
	FailedPrecondition
)

// Error is a failure of a check that is not a finding about the models.
type Error struct {
	Kind Kind
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

func errorf(k Kind, err error, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...), Err: err}
}

// ErrGateFailed says the gate itself failed (panicked) on its input; the error carries the
// stack.
var ErrGateFailed = errors.New("the gate failed on this input")

// LoadHead loads a proposed snapshot as `datasurface validate` loads --head: strictly, with
// positions on the head side. The error reports an invalid or repeated file path.
func LoadHead(snap *modelv1.Snapshot) (*load.Result, error) {
	return LoadHeadReusing(snap, nil)
}

// LoadHeadReusing is LoadHead taking the files that did not change from base, the loaded model
// the head will be checked against (load.Options.Reuse; nil: none). The result is the same,
// only cheaper: a proposal usually changes a few files of a large model.
func LoadHeadReusing(snap *modelv1.Snapshot, base *load.Result) (*load.Result, error) {
	return load.Files(history.Files(snap), load.Options{Side: problem.Head, Reuse: base})
}

// Checker runs checks against the committed history.
type Checker struct {
	hist        *history.Store
	toolVersion string
	platforms   []lint.PlatformRules
}

// New returns a Checker reporting toolVersion.
func New(hist *history.Store, toolVersion string) *Checker {
	return &Checker{hist: hist, toolVersion: toolVersion, platforms: Platforms()}
}

// Against checks head, submitted by source, against committed version base (nil: an initial
// check-in), with the committed history up to base. A base that cannot be loaded is a
// FailedPrecondition Error.
func (c *Checker) Against(ctx context.Context, head *load.Result, source string, base *history.Version) (*gate.Report, error) {
	var res *load.Result
	var err error
	if base != nil {
		res, err = c.hist.Base(ctx, *base)
	}
	return c.against(ctx, head, source, base, res, err)
}

// against is Against with the base already loaded: res, or the error of loading it.
func (c *Checker) against(ctx context.Context, head *load.Result, source string, base *history.Version, res *load.Result, resErr error) (*gate.Report, error) {
	in := gate.Input{Head: head, HeadRef: head.Digest, Source: source, HistoryGiven: true}
	if base != nil {
		if resErr != nil {
			return nil, baseError(base.Number, resErr)
		}
		hist, err := c.hist.History(ctx, base.Number, res)
		if err != nil {
			return nil, err
		}
		in.Base, in.BaseRef, in.BaseVersion, in.History = res, fmt.Sprintf("version %d", base.Number), base.Number, hist
	}
	rep, err := c.run(ctx, in)
	var be *gate.BaseError
	if base != nil && errors.As(err, &be) {
		return nil, errorf(FailedPrecondition, err, "committed version %d cannot serve as a base", base.Number)
	}
	return rep, err
}

func baseError(n int64, err error) error {
	var ce *Error
	if errors.As(err, &ce) {
		return err
	}
	if errors.Is(err, history.ErrUnusable) || errors.Is(err, modelbus.ErrSnapshotNotFound) {
		return errorf(FailedPrecondition, err, "committed version %d cannot be loaded", n)
	}
	return err
}

// BaseKind says what a Request checks against.
type BaseKind int

// Bases of a Request.
const (
	// BaseHead: the newest committed version.
	BaseHead BaseKind = iota
	// BaseVersion: committed version Request.BaseVersion (0 = the newest).
	BaseVersion
	// BaseSnapshot: the model in Request.BaseSnapshot.
	BaseSnapshot
	// BaseInitial: no base (an initial check-in).
	BaseInitial
)

// Request is a synchronous check (ValidatorService.Validate).
type Request struct {
	Head         *modelv1.Snapshot
	Source       string
	Base         BaseKind
	BaseVersion  int64
	BaseSnapshot *modelv1.Snapshot
}

// Validate runs the check of r and returns the report and the committed version checked
// against (0 for a snapshot or initial base). Bad input is an InvalidArgument Error, an unknown
// version a NotFound Error.
func (c *Checker) Validate(ctx context.Context, r Request) (*gate.Report, int64, error) {
	if len(r.Head.GetFiles()) == 0 {
		return nil, 0, errorf(InvalidArgument, nil, "head is required (a snapshot with at least one file)")
	}
	if r.Source == "" {
		return nil, 0, errorf(InvalidArgument, nil, "source is required (the repository the change comes from, location@branch)")
	}
	switch r.Base {
	case BaseInitial:
		head, err := LoadHead(r.Head)
		if err != nil {
			return nil, 0, errorf(InvalidArgument, nil, "head: %v", err)
		}
		rep, err := c.run(ctx, gate.Input{Head: head, HeadRef: head.Digest, Source: r.Source, HistoryGiven: true})
		return rep, 0, err
	case BaseSnapshot:
		return c.validateSnapshot(ctx, r)
	}
	// The base is looked up and loaded before the head, so that the head reuses its unchanged
	// files; what is wrong with the base is still reported after what is wrong with the head.
	var latest, base *history.Version
	var latestErr, baseErr error
	var baseRes *load.Result
	if r.BaseVersion >= 0 {
		latest, latestErr = c.hist.Head(ctx)
		if latestErr == nil && latest != nil {
			b, ok := *latest, true
			if r.Base == BaseVersion && r.BaseVersion != 0 {
				b, ok = c.hist.ByNumber(r.BaseVersion)
			}
			if ok {
				base = &b
				baseRes, baseErr = c.hist.Base(ctx, b)
			}
		}
	}
	head, err := LoadHeadReusing(r.Head, baseRes)
	if err != nil {
		return nil, 0, errorf(InvalidArgument, nil, "head: %v", err)
	}
	switch {
	case r.BaseVersion < 0:
		return nil, 0, errorf(InvalidArgument, nil, "base_version must not be negative, got %d", r.BaseVersion)
	case latestErr != nil:
		return nil, 0, latestErr
	case latest == nil:
		return nil, 0, errorf(NotFound, nil, "no model version is committed yet (check an initial check-in instead)")
	case base == nil:
		return nil, 0, errorf(NotFound, nil, "model version %d not found (the latest is %d)", r.BaseVersion, latest.Number)
	}
	rep, err := c.against(ctx, head, r.Source, base, baseRes, baseErr)
	if err != nil {
		return nil, 0, err
	}
	return rep, base.Number, nil
}

func (c *Checker) validateSnapshot(ctx context.Context, r Request) (*gate.Report, int64, error) {
	// The base snapshot is loaded first so that the head reuses its unchanged files; the head's
	// errors are still reported first.
	var base *load.Result
	var baseErr error
	if len(r.BaseSnapshot.GetFiles()) > 0 {
		base, baseErr = history.LoadBase(r.BaseSnapshot)
	}
	head, err := LoadHeadReusing(r.Head, base)
	if err != nil {
		return nil, 0, errorf(InvalidArgument, nil, "head: %v", err)
	}
	if len(r.BaseSnapshot.GetFiles()) == 0 {
		return nil, 0, errorf(InvalidArgument, nil, "base_snapshot has no files")
	}
	if baseErr != nil {
		return nil, 0, errorf(InvalidArgument, nil, "base_snapshot: %v", baseErr)
	}
	in := gate.Input{Head: head, HeadRef: head.Digest, Base: base, BaseRef: base.Digest, Source: r.Source, HistoryGiven: true}
	latest, err := c.hist.Head(ctx)
	if err != nil {
		return nil, 0, err
	}
	if latest != nil {
		if in.History, err = c.hist.History(ctx, latest.Number, nil); err != nil {
			return nil, 0, err
		}
	}
	rep, err := c.run(ctx, in)
	var be *gate.BaseError
	if errors.As(err, &be) {
		return nil, 0, errorf(InvalidArgument, nil, "base_snapshot: %v", err)
	}
	return rep, 0, err
}

// run is the one call of gate.Run: the CLI's platform rules and fail-on level. A panic of the
// gate becomes an error wrapping ErrGateFailed.
func (c *Checker) run(ctx context.Context, in gate.Input) (rep *gate.Report, err error) {
	in.Platforms = c.platforms
	in.FailOn = problem.Error
	in.ToolVersion = c.toolVersion
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			rep, err = nil, fmt.Errorf("%w: %v\n%s", ErrGateFailed, r, debug.Stack())
		}
		switch {
		case err != nil:
			telemetry.Gate(start, telemetry.GateError)
		case rep != nil && rep.Passed:
			telemetry.Gate(start, telemetry.GatePassed)
		default:
			telemetry.Gate(start, telemetry.GateFailed)
		}
	}()
	return gate.Run(ctx, in)
}
