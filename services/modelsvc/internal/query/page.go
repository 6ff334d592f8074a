package query

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/modelsvc/internal/failure"
	"github.com/datasurface/datasurface/services/modelsvc/internal/readmodel"
)

// Page sizes (governance.md §4.2).
const (
	DefaultPageSize = 1000
	MaxPageSize     = 10000
)

// Page is a request's paging.
type Page struct {
	Size  int32
	Token string
}

func (p Page) size() (int, error) {
	switch {
	case p.Size < 0:
		return 0, failure.Invalid("page_size", "page_size must not be negative")
	case p.Size == 0:
		return DefaultPageSize, nil
	case p.Size > MaxPageSize:
		return MaxPageSize, nil
	}
	return int(p.Size), nil
}

// A page token is base64url("m1/<version>/<offset>") for object lists and
// base64url("v1/<below>") for version lists: opaque to clients, bound to what it pages.
func encodeToken(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func badToken() error {
	return failure.Invalid("page_token", "page_token is not valid; pass the next_page_token of the previous page")
}

func decodeToken(tok, prefix string, n int) ([]int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return nil, badToken()
	}
	parts := strings.Split(string(raw), "/")
	if len(parts) != n+1 || parts[0] != prefix {
		return nil, badToken()
	}
	out := make([]int64, n)
	for i, s := range parts[1:] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 {
			return nil, badToken()
		}
		out[i] = v
	}
	return out, nil
}

// listing resolves a list request: the version (the token's, when there is one) and the page.
func (r *Reader) listing(ctx context.Context, version int64, p Page) (*readmodel.Loaded, int, int, error) {
	size, err := p.size()
	if err != nil {
		return nil, 0, 0, err
	}
	offset := 0
	if p.Token != "" {
		v, err := decodeToken(p.Token, "m1", 2)
		if err != nil {
			return nil, 0, 0, err
		}
		if version != 0 && version != v[0] {
			return nil, 0, 0, failure.Invalid("page_token", "page_token was issued for version %d, not %d", v[0], version)
		}
		version, offset = v[0], int(v[1])
	}
	l, err := r.At(ctx, version)
	if err != nil {
		return nil, 0, 0, err
	}
	return l, offset, size, nil
}

func paginate[T any](l *readmodel.Loaded, items []T, offset, size int) ([]T, string) {
	if offset >= len(items) {
		return nil, ""
	}
	end := min(offset+size, len(items))
	next := ""
	if end < len(items) {
		next = encodeToken(fmt.Sprintf("m1/%d/%d", l.Version.Number, end))
	}
	return items[offset:end], next
}

// ListWorkspaces returns one page of workspaces.
func (r *Reader) ListWorkspaces(ctx context.Context, version int64, p Page) (*readmodel.Loaded, []*modelv1.Workspace, string, error) {
	l, off, size, err := r.listing(ctx, version, p)
	if err != nil {
		return nil, nil, "", err
	}
	items, next := paginate(l, Workspaces(l), off, size)
	return l, items, next, nil
}

// ListTeams returns one page of teams.
func (r *Reader) ListTeams(ctx context.Context, version int64, p Page) (*readmodel.Loaded, []TeamRef, string, error) {
	l, off, size, err := r.listing(ctx, version, p)
	if err != nil {
		return nil, nil, "", err
	}
	items, next := paginate(l, Teams(l), off, size)
	return l, items, next, nil
}

// ListDatastores returns one page of datastore names.
func (r *Reader) ListDatastores(ctx context.Context, version int64, p Page) (*readmodel.Loaded, []string, string, error) {
	l, off, size, err := r.listing(ctx, version, p)
	if err != nil {
		return nil, nil, "", err
	}
	items, next := paginate(l, DatastoreNames(l), off, size)
	return l, items, next, nil
}

// ListVersions returns one page of committed versions, newest first.
func (r *Reader) ListVersions(p Page) ([]*readmodel.Version, string, error) {
	size, err := p.size()
	if err != nil {
		return nil, "", err
	}
	var below int64
	if p.Token != "" {
		v, err := decodeToken(p.Token, "v1", 1)
		if err != nil {
			return nil, "", err
		}
		if below = v[0]; below == 0 {
			return nil, "", badToken()
		}
	}
	vs, more, err := r.rm.Versions(below, size)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if more && len(vs) > 0 {
		next = encodeToken(fmt.Sprintf("v1/%d", vs[len(vs)-1].Number-1))
	}
	return vs, next, nil
}

// Version returns committed version n (0 = latest).
func (r *Reader) Version(n int64) (*readmodel.Version, error) { return r.rm.Version(n) }

// Watch streams versions from from on (see readmodel.ReadModel.Watch).
func (r *Reader) Watch(ctx context.Context, from int64, fn func(*readmodel.Version) error) error {
	return r.rm.Watch(ctx, from, fn)
}

// Snapshot returns the source files of version n (0 = latest).
func (r *Reader) Snapshot(ctx context.Context, n int64) (*readmodel.Version, *modelv1.Snapshot, error) {
	v, err := r.rm.Version(n)
	if err != nil {
		return nil, nil, err
	}
	snaps := r.snaps()
	if snaps == nil {
		return nil, nil, failure.Unavailablef("modelsvc is starting; try again shortly")
	}
	snap, err := snaps.Get(ctx, v.Digest)
	if err != nil {
		return nil, nil, fmt.Errorf("snapshot of version %d: %w", v.Number, err)
	}
	return v, snap, nil
}
