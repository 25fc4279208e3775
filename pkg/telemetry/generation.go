package telemetry

import (
	"context"

	"github.com/tryonhq/tryon/pkg/tryon"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Admitted ends an admission span with its outcome (the store's name for
// it), and counts the credits a generation reserved when it was admitted.
func Admitted(ctx context.Context, span trace.Span, outcome string, admitted bool, s tryon.Service, mode tryon.Mode, price tryon.Micros) {
	t := from(ctx)
	if t == nil {
		return
	}
	attrs := []attribute.KeyValue{attribute.String("tryon.service", string(s)), attribute.String("tryon.mode", string(mode))}
	span.SetAttributes(append(attrs, attribute.String("tryon.outcome", outcome), attribute.Int64("tryon.price_micros", int64(price)))...)
	if admitted && price > 0 {
		t.m.creditsReserved.Add(ctx, int64(price), metric.WithAttributes(attrs...))
	}
	span.End()
}

// Settled ends a settlement span and counts the generation it finished by
// service, mode and outcome (its final status, and its error code if any).
func Settled(ctx context.Context, span trace.Span, g *tryon.Generation) {
	t := from(ctx)
	if t == nil {
		return
	}
	if g != nil {
		attrs := []attribute.KeyValue{attribute.String("tryon.service", string(g.Service)),
			attribute.String("tryon.mode", string(g.Mode)), attribute.String("tryon.outcome", string(g.Status))}
		if g.Error != nil {
			attrs = append(attrs, attribute.String("error.type", string(g.Error.Code)))
		}
		span.SetAttributes(append(attrs, attribute.String("tryon.generation.id", g.ID.String()))...)
		if g.Status != tryon.StatusProcessing {
			t.m.generations.Add(ctx, 1, metric.WithAttributes(attrs...))
		}
	}
	span.End()
}
