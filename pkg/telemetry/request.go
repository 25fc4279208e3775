package telemetry

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/tryonhq/tryon/pkg/tryon"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Request is what the HTTP layer knows about a request once it is answered.
type Request struct {
	// Route is the route's path pattern ("/generate/{id}"); empty for the
	// catch-all.
	Route    string
	Function string
	Status   int
	// Principal is the authenticated caller, nil when none. Only its
	// tenant id and key prefix are recorded, never the key.
	Principal *tryon.Principal
	// Err is the cause of an error answer.
	Err error
}

type requestKey struct{}

// requestRecord collects what Describe learns for Handler to record.
type requestRecord struct{ Request }

// Handler wraps h with a span per request, continuing an incoming W3C
// traceparent, and records its duration once the HTTP layer has described
// it (Describe). With flush set, as on a function, it also flushes before
// returning: the response is buffered until the handler returns, so the
// flush delays the answer by at most the flush timeout, never longer.
// Off, it returns h itself.
func (t *Telemetry) Handler(h http.Handler, flush bool) http.Handler {
	if t == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx := t.propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		// The route, not the path, names the span: a path may hold a
		// capability (an asset's token), and routes keep names few.
		ctx, span := t.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(start))
		rec := &requestRecord{}
		ctx = context.WithValue(context.WithValue(ctx, scopeKey{}, t), requestKey{}, rec)
		h.ServeHTTP(w, r.WithContext(ctx))
		t.endRequest(ctx, span, r.Method, rec, time.Since(start))
		if flush {
			_ = t.Flush(ctx)
		}
	})
}

// Describe tells the request's span what the HTTP layer decided: route,
// status, caller and error. The HTTP layer calls it as it writes the
// request's log line.
func Describe(ctx context.Context, req Request) {
	if rec, ok := ctx.Value(requestKey{}).(*requestRecord); ok {
		rec.Request = req
	}
}

func (t *Telemetry) endRequest(ctx context.Context, span trace.Span, method string, rec *requestRecord, d time.Duration) {
	req := rec.Request
	if req.Route != "" {
		span.SetName(method + " " + req.Route)
	}
	attrs := []attribute.KeyValue{
		attribute.String("http.request.method", method),
		attribute.Int("http.response.status_code", req.Status),
		attribute.String("http.route", req.Route),
		attribute.String("tryon.function", req.Function),
	}
	t.m.requestDuration.Record(ctx, d.Seconds(), metric.WithAttributes(attrs...))
	if p := req.Principal; p != nil {
		attrs = append(attrs, attribute.String("tryon.key.prefix", p.Key.Prefix))
		if p.Client != nil {
			attrs = append(attrs, attribute.String("tryon.tenant.id", p.Client.ID.String()))
		}
	}
	span.SetAttributes(attrs...)
	// A refusal of the caller's request (4xx) is not a failure of the
	// service: only 5xx marks the span as an error (OpenTelemetry's HTTP
	// server convention).
	if req.Status >= 500 {
		if req.Err != nil {
			span.RecordError(req.Err)
		}
		span.SetStatus(codes.Error, strconv.Itoa(req.Status))
	}
	span.End()
}
