package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// tracer adds every round trip to the request's tryon.Timings, which feed the
// Server-Timing header and `tryon bench`'s round-trips-per-request figure. A
// batch is one round trip: that is why the hot paths use batches.
type tracer struct{}

type startKey struct{}

func started(ctx context.Context) context.Context {
	if tryon.TimingsFrom(ctx) == nil {
		return ctx
	}
	return context.WithValue(ctx, startKey{}, time.Now())
}

func finished(ctx context.Context) {
	t := tryon.TimingsFrom(ctx)
	if begin, ok := ctx.Value(startKey{}).(time.Time); ok && t != nil {
		t.AddDB(time.Since(begin))
	}
}

func (tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return started(ctx)
}

func (tracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) { finished(ctx) }

func (tracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return started(ctx)
}

func (tracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (tracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchEndData) { finished(ctx) }

func (tracer) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	return started(ctx)
}

func (tracer) TraceCopyFromEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromEndData) {
	finished(ctx)
}

func (tracer) TracePrepareStart(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareStartData) context.Context {
	return started(ctx)
}

func (tracer) TracePrepareEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareEndData) {
	finished(ctx)
}
