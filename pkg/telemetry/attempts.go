package telemetry

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/tryonhq/tryon/pkg/retry"
)

type attemptsKey struct{}

// withAttempts gives a provider call a counter of the HTTP requests it
// sends, which Transport fills in: retries happen inside the providers,
// and this is how the call's span learns how many there were.
func withAttempts(ctx context.Context) (context.Context, *atomic.Int64) {
	n := &atomic.Int64{}
	return context.WithValue(ctx, attemptsKey{}, n), n
}

// Transport wraps next (http.DefaultTransport when nil) so that each HTTP
// request a provider sends is a span under the provider call, numbered as
// an attempt, with the status and any Retry-After the upstream answered.
// Off, it returns next itself.
func (t *Telemetry) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	if t == nil {
		return next
	}
	return attemptTransport{t: t, next: next}
}

type attemptTransport struct {
	t    *Telemetry
	next http.RoundTripper
}

func (a attemptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	n, ok := ctx.Value(attemptsKey{}).(*atomic.Int64)
	if !ok || from(ctx) == nil {
		return a.next.RoundTrip(req)
	}
	attempt := n.Add(1)
	// The URL's path and query are left out: they may carry a key.
	ctx, span := a.t.tracer.Start(ctx, "provider.attempt", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.Int64("tryon.provider.attempt", attempt), attribute.String("http.request.method", req.Method),
		attribute.String("server.address", req.URL.Hostname())))
	resp, err := a.next.RoundTrip(req.WithContext(ctx))
	if resp != nil {
		span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
		if ra := retry.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ra > 0 {
			span.SetAttributes(attribute.Int("tryon.provider.retry_after_s", int(ra/time.Second)))
		}
	}
	end(span, err)
	return resp, err
}
