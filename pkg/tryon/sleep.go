package tryon

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx ends, whichever comes first, and returns ctx's
// error in the second case. Everything that waits between attempts or polls
// (providers, storage, the runner) waits with it, so no wait outlives the
// request's budget.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
