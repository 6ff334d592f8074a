package plan

import (
	"github.com/datasurface/datasurface/model/graph"
	"github.com/datasurface/datasurface/model/index"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// Platform is what the IngestService API needs of a platform: whether it exists and is Yellow,
// its streams, and its merge database.
type Platform struct {
	Name    string
	Yellow  bool
	Streams []string
	// Merge is the merge database and Store the PSP's credential store; MergeErr says why the
	// model's mergeDatabase cannot be used (Merge is then empty).
	Merge    Endpoint
	MergeErr error
	Store    *modelv1.CredentialStore
}

// PlatformOf describes platform d of m; nil when m has no platform d.
func PlatformOf(m *modelv1.Model, d string) *Platform {
	x := index.New(m)
	dp := x.Platforms[d]
	if dp == nil {
		return nil
	}
	y := dp.GetYellow()
	p := &Platform{Name: d, Yellow: y != nil, Store: x.PlatformPSP[d].GetCredentialStore()}
	if y == nil {
		return p
	}
	for _, s := range graph.BuildPlatform(x, d).Streams {
		p.Streams = append(p.Streams, s.Key)
	}
	p.Merge, p.MergeErr = postgres(y.GetMergeDatabase(), y.GetMergeCredential(), "mergeDatabase of platform "+d)
	return p
}
