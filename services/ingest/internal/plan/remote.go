package plan

import (
	"github.com/datasurface/datasurface/model/index"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// Primary is the primary platform P a secondary's stream copies from (yellow.md §8): its name
// and its merge database, which the secondary opens with its own merge credential (the
// security service makes that login a member of P's reader role).
type Primary struct {
	Platform string
	Merge    Endpoint
}

// primary resolves primary platform p of a secondary whose merge credential is cred: p must be
// a FORENSIC Yellow platform (DS-YELLOW-015) with a postgres merge database.
func primary(x *index.Index, p string, cred *modelv1.Credential) (*Primary, error) {
	y := x.Platforms[p].GetYellow()
	if y == nil {
		return nil, modelErr("primary ingestion platform %q is not a Yellow platform", p)
	}
	if ms, err := layout.MilestoningOf(y.GetMilestoning()); err != nil || ms != layout.Forensic {
		return nil, modelErr("primary ingestion platform %q must be a FORENSIC Yellow platform (yellow.md §8)", p)
	}
	ep, err := postgres(y.GetMergeDatabase(), cred, "mergeDatabase of primary platform "+p)
	if err != nil {
		return nil, err
	}
	return &Primary{Platform: p, Merge: ep}, nil
}
