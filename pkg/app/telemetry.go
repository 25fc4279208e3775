package app

import (
	"context"
	"net/http"
	"os"
	"time"

	"github.com/tryonhq/tryon/pkg/config"
	"github.com/tryonhq/tryon/pkg/generation"
	"github.com/tryonhq/tryon/pkg/telemetry"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// newTelemetry starts OpenTelemetry when an OTLP endpoint is configured
// (nil otherwise). The flush at the end of a function's request takes at
// most half the budget margin, which every generation keeps back from its
// deadline for the end of the request.
func newTelemetry(cfg *config.Config) (*telemetry.Telemetry, error) {
	return telemetry.New(context.Background(), telemetry.Options{FlushTimeout: cfg.BudgetMargin / 2, Resource: vercelResource()})
}

// vercelResource is what Vercel tells a function about where it runs, as
// OpenTelemetry resource attributes (empty ones are left out).
func vercelResource() map[string]string {
	r := map[string]string{
		"deployment.environment.name": os.Getenv("VERCEL_ENV"),
		"cloud.region":                os.Getenv("VERCEL_REGION"),
		"service.version":             os.Getenv("VERCEL_GIT_COMMIT_SHA"),
		"vercel.deployment.id":        os.Getenv("VERCEL_DEPLOYMENT_ID"),
	}
	if os.Getenv("VERCEL") != "" {
		r["cloud.provider"] = "vercel"
	}
	return r
}

// traced wraps storage and every provider so that their calls are spans;
// with telemetry off it returns them as they are.
func traced(tel *telemetry.Telemetry, cfg *config.Config, storage tryon.Storage, p generation.Providers) (tryon.Storage, generation.Providers) {
	if !tel.Enabled() {
		return storage, p
	}
	// One provider may serve several services: wrap it once.
	wrapped := map[string]tryon.Provider{}
	wrap := func(pr tryon.Provider) tryon.Provider {
		if pr == nil {
			return nil
		}
		if _, ok := wrapped[pr.Name()]; !ok {
			wrapped[pr.Name()] = tel.Provider(pr)
		}
		return wrapped[pr.Name()]
	}
	live := make(map[tryon.Service]tryon.Provider, len(p.Live))
	for s, pr := range p.Live {
		live[s] = wrap(pr)
	}
	return tel.Storage(storage, string(cfg.StorageKind())), generation.Providers{Live: live, Test: wrap(p.Test)}
}

// Function returns the handler of one Vercel function: the route's handler
// inside a span, flushed before it returns, since the platform may freeze
// the instance as soon as the response is out.
func (a *App) Function(name string) http.Handler {
	return a.Telemetry.Handler(a.Server.Function(name), true)
}

// Handler serves every route in one long-running process, inside spans
// that a background batcher exports.
func (a *App) Handler() http.Handler {
	return a.Telemetry.Handler(a.Server.Handler(), false)
}

// providerClient is the HTTP client a provider sends its calls with: nil
// (the provider's default) when telemetry is off, else one whose transport
// makes each attempt a span, with the provider's default timeout.
func providerClient(tel *telemetry.Telemetry, timeout time.Duration) *http.Client {
	if !tel.Enabled() {
		return nil
	}
	return &http.Client{Transport: tel.Transport(nil), Timeout: timeout}
}
