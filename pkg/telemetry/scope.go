package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

type scopeKey struct{}

// from returns the Telemetry of the request ctx belongs to, or nil: the
// hooks that are not handed a Telemetry (the database tracer) find it here.
func from(ctx context.Context) *Telemetry {
	t, _ := ctx.Value(scopeKey{}).(*Telemetry)
	return t
}

// end ends span, marking it failed when err is not nil.
func end(span trace.Span, err error) {
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
