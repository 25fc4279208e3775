package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

type scopeKey struct{}

// noSpan is the span steps get when telemetry is off: it records nothing.
var noSpan = trace.SpanFromContext(context.Background())

// from returns the Telemetry of the request ctx belongs to, or nil.
func from(ctx context.Context) *Telemetry {
	t, _ := ctx.Value(scopeKey{}).(*Telemetry)
	return t
}

// Start begins a span named name under ctx's span, for a step of a request
// (admission, settlement). Off, it returns ctx and
// a non-recording span, whose methods do nothing.
func Start(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	t := from(ctx)
	if t == nil {
		return ctx, noSpan
	}
	return t.tracer.Start(ctx, name, trace.WithAttributes(attrs...))
}

// End ends span, marking it failed when err is not nil.
func End(span trace.Span, err error) {
	fail(span, err)
	span.End()
}

// fail records err on span as its error status.
func fail(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
}
