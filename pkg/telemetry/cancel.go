package telemetry

import (
	"context"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// tracedCanceler is a traced Operator that can also cancel its jobs, so
// that wrapping a provider keeps its cancel.
type tracedCanceler struct {
	tracedOperator
	c tryon.Canceler
}

func (p tracedCanceler) Cancel(ctx context.Context, operation string) error {
	ctx, done := p.call(ctx, "cancel", "")
	err := p.c.Cancel(ctx, operation)
	done(err)
	return err
}
