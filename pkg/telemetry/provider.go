package telemetry

import (
	"context"
	"errors"
	"time"

	"github.com/tryonhq/tryon/pkg/tryon"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Provider wraps p so that each call gets a span (provider, model, outcome,
// retry-after, attempts) and feeds the provider-latency metric. A provider
// that is also a tryon.Operator (and a tryon.Canceler) stays one. Off, it returns p itself.
func (t *Telemetry) Provider(p tryon.Provider) tryon.Provider {
	if t == nil || p == nil {
		return p
	}
	traced := tracedProvider{t: t, next: p}
	if op, ok := p.(tryon.Operator); ok {
		if c, ok := p.(tryon.Canceler); ok {
			return tracedCanceler{tracedOperator: tracedOperator{tracedProvider: traced, op: op}, c: c}
		}
		return tracedOperator{tracedProvider: traced, op: op}
	}
	return traced
}

type tracedProvider struct {
	t    *Telemetry
	next tryon.Provider
}

func (p tracedProvider) Name() string                 { return p.next.Name() }
func (p tracedProvider) Model(s tryon.Service) string { return p.next.Model(s) }

func (p tracedProvider) Generate(ctx context.Context, req tryon.ProviderRequest) (*tryon.Result, error) {
	ctx, done := p.call(ctx, "generate", req.Service)
	out, err := p.next.Generate(ctx, req)
	done(err)
	return out, err
}

type tracedOperator struct {
	tracedProvider
	op tryon.Operator
}

func (p tracedOperator) Start(ctx context.Context, req tryon.ProviderRequest) (string, error) {
	ctx, done := p.call(ctx, "start", req.Service)
	name, err := p.op.Start(ctx, req)
	done(err)
	return name, err
}

func (p tracedOperator) Poll(ctx context.Context, operation string) (*tryon.Result, error) {
	ctx, done := p.call(ctx, "poll", "")
	out, err := p.op.Poll(ctx, operation)
	done(err)
	return out, err
}

// call starts a provider call's span; done ends it with the call's outcome.
func (p tracedProvider) call(ctx context.Context, operation string, s tryon.Service) (context.Context, func(error)) {
	start := time.Now()
	attrs := []attribute.KeyValue{
		attribute.String("tryon.provider", p.next.Name()),
		attribute.String("tryon.provider.operation", operation),
	}
	if s != "" {
		attrs = append(attrs, attribute.String("tryon.service", string(s)), attribute.String("tryon.model", p.next.Model(s)))
	}
	ctx, span := p.t.tracer.Start(ctx, "provider."+operation, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	ctx, attempts := withAttempts(ctx)
	return ctx, func(err error) {
		outcome := providerOutcome(err)
		span.SetAttributes(attribute.String("tryon.outcome", outcome), attribute.Int64("tryon.provider.attempts", attempts.Load()))
		var pe *tryon.ProviderError
		if errors.As(err, &pe) && pe.RetryAfter > 0 {
			span.SetAttributes(attribute.Float64("tryon.provider.retry_after_s", pe.RetryAfter.Seconds()))
		}
		end(span, err)
		p.t.m.providerDuration.Record(ctx, time.Since(start).Seconds(),
			metric.WithAttributes(append(attrs, attribute.String("tryon.outcome", outcome))...))
	}
}

// providerOutcome names a call's outcome: "ok", a failure kind from the
// one classification every provider uses, or "error".
func providerOutcome(err error) string {
	var pe *tryon.ProviderError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &pe):
		return string(pe.Kind)
	case errors.Is(err, context.DeadlineExceeded):
		return string(tryon.FailTimeout)
	}
	return "error"
}
