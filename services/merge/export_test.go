package merge

import "context"

// SetBeforeCommit installs a hook that runs inside MergeBatch's transaction just before COMMIT.
func (a *Activities) SetBeforeCommit(f func(ctx context.Context) error) { a.beforeCommit = f }
