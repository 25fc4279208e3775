package telemetry

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// PgxTracer is the pool's tracer: Next (the store's own round-trip counter)
// first, then a span per round trip (query, batch, prepare, copy), a span
// per new connection, and the time spent waiting for a pooled connection.
// Outside a traced request it only calls Next. Statements are recorded by
// their SQL text, which holds placeholders; arguments are never recorded.
type PgxTracer struct {
	Next interface {
		pgx.QueryTracer
		pgx.BatchTracer
		pgx.CopyFromTracer
		pgx.PrepareTracer
	}
}

var (
	_ pgx.QueryTracer       = PgxTracer{}
	_ pgx.BatchTracer       = PgxTracer{}
	_ pgx.CopyFromTracer    = PgxTracer{}
	_ pgx.PrepareTracer     = PgxTracer{}
	_ pgx.ConnectTracer     = PgxTracer{}
	_ pgxpool.AcquireTracer = PgxTracer{}
)

const dbSystem = "postgresql"

// roundTrip starts a client span for one round trip.
func roundTrip(ctx context.Context, name, sql string) context.Context {
	t := from(ctx)
	if t == nil {
		return ctx
	}
	attrs := []attribute.KeyValue{attribute.String("db.system.name", dbSystem)}
	if sql != "" {
		attrs = append(attrs, attribute.String("db.operation.name", operation(sql)), attribute.String("db.query.text", sql))
	}
	ctx, _ = t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return ctx
}

// endRoundTrip ends the span roundTrip started, if it did.
func endRoundTrip(ctx context.Context, err error) {
	if from(ctx) == nil {
		return
	}
	end(trace.SpanFromContext(ctx), err)
}

// operation is a statement's first keyword (SELECT, INSERT, WITH...).
func operation(sql string) string {
	sql = strings.TrimSpace(sql)
	if i := strings.IndexAny(sql, " \t\n("); i > 0 {
		sql = sql[:i]
	}
	return strings.ToUpper(sql)
}

// TraceQueryStart implements pgx.QueryTracer.
func (p PgxTracer) TraceQueryStart(ctx context.Context, c *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	return roundTrip(p.Next.TraceQueryStart(ctx, c, d), "db.query", d.SQL)
}

// TraceQueryEnd implements pgx.QueryTracer.
func (p PgxTracer) TraceQueryEnd(ctx context.Context, c *pgx.Conn, d pgx.TraceQueryEndData) {
	endRoundTrip(ctx, d.Err)
	p.Next.TraceQueryEnd(ctx, c, d)
}

// TraceBatchStart implements pgx.BatchTracer. A batch is one round trip,
// so one span, with the statements it carries as db.query.text.
func (p PgxTracer) TraceBatchStart(ctx context.Context, c *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	ctx = p.Next.TraceBatchStart(ctx, c, d)
	if from(ctx) == nil || d.Batch == nil {
		return ctx
	}
	sqls := make([]string, 0, len(d.Batch.QueuedQueries))
	for _, q := range d.Batch.QueuedQueries {
		sqls = append(sqls, q.SQL)
	}
	ctx = roundTrip(ctx, "db.batch", strings.Join(sqls, ";\n"))
	trace.SpanFromContext(ctx).SetAttributes(attribute.Int("db.operation.batch.size", len(sqls)))
	return ctx
}

// TraceBatchQuery implements pgx.BatchTracer.
func (p PgxTracer) TraceBatchQuery(ctx context.Context, c *pgx.Conn, d pgx.TraceBatchQueryData) {
	p.Next.TraceBatchQuery(ctx, c, d)
}

// TraceBatchEnd implements pgx.BatchTracer.
func (p PgxTracer) TraceBatchEnd(ctx context.Context, c *pgx.Conn, d pgx.TraceBatchEndData) {
	endRoundTrip(ctx, d.Err)
	p.Next.TraceBatchEnd(ctx, c, d)
}

// TraceCopyFromStart implements pgx.CopyFromTracer.
func (p PgxTracer) TraceCopyFromStart(ctx context.Context, c *pgx.Conn, d pgx.TraceCopyFromStartData) context.Context {
	ctx = roundTrip(p.Next.TraceCopyFromStart(ctx, c, d), "db.copy", "")
	trace.SpanFromContext(ctx).SetAttributes(attribute.String("db.collection.name", d.TableName.Sanitize()))
	return ctx
}

// TraceCopyFromEnd implements pgx.CopyFromTracer.
func (p PgxTracer) TraceCopyFromEnd(ctx context.Context, c *pgx.Conn, d pgx.TraceCopyFromEndData) {
	endRoundTrip(ctx, d.Err)
	p.Next.TraceCopyFromEnd(ctx, c, d)
}

// TracePrepareStart implements pgx.PrepareTracer.
func (p PgxTracer) TracePrepareStart(ctx context.Context, c *pgx.Conn, d pgx.TracePrepareStartData) context.Context {
	return roundTrip(p.Next.TracePrepareStart(ctx, c, d), "db.prepare", d.SQL)
}

// TracePrepareEnd implements pgx.PrepareTracer.
func (p PgxTracer) TracePrepareEnd(ctx context.Context, c *pgx.Conn, d pgx.TracePrepareEndData) {
	endRoundTrip(ctx, d.Err)
	p.Next.TracePrepareEnd(ctx, c, d)
}

// TraceConnectStart implements pgx.ConnectTracer: dialling, TLS and
// authentication, what a cold instance pays for its first query.
func (p PgxTracer) TraceConnectStart(ctx context.Context, _ pgx.TraceConnectStartData) context.Context {
	return roundTrip(ctx, "db.connect", "")
}

// TraceConnectEnd implements pgx.ConnectTracer.
func (p PgxTracer) TraceConnectEnd(ctx context.Context, d pgx.TraceConnectEndData) {
	endRoundTrip(ctx, d.Err)
}

type acquireKey struct{}

// TraceAcquireStart implements pgxpool.AcquireTracer.
func (p PgxTracer) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	if from(ctx) == nil {
		return ctx
	}
	return context.WithValue(ctx, acquireKey{}, time.Now())
}

// TraceAcquireEnd implements pgxpool.AcquireTracer: the wait goes to the
// pool-wait metric, and to a span when it was long enough to matter, so
// that an idle pool's instant hand-over adds no span to every round trip.
func (p PgxTracer) TraceAcquireEnd(ctx context.Context, _ *pgxpool.Pool, d pgxpool.TraceAcquireEndData) {
	t := from(ctx)
	start, ok := ctx.Value(acquireKey{}).(time.Time)
	if t == nil || !ok {
		return
	}
	end := time.Now()
	t.m.poolWait.Record(ctx, end.Sub(start).Seconds())
	if end.Sub(start) >= time.Millisecond || d.Err != nil {
		_, span := t.tracer.Start(ctx, "db.pool.wait", trace.WithTimestamp(start),
			trace.WithAttributes(attribute.String("db.system.name", dbSystem)))
		fail(span, d.Err)
		span.End(trace.WithTimestamp(end))
	}
}
