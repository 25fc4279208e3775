package telemetry

import (
	"errors"

	"go.opentelemetry.io/otel/metric"
)

// secondsBuckets fit request, provider and pool-wait durations: from a few
// milliseconds to a function's 300 s limit.
var secondsBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// instruments are the metrics Tryon records (README, "Traces and metrics").
type instruments struct {
	requestDuration  metric.Float64Histogram
	generations      metric.Int64Counter
	providerDuration metric.Float64Histogram
	poolWait         metric.Float64Histogram
	creditsReserved  metric.Int64Counter
}

func newInstruments(m metric.Meter) (instruments, error) {
	var i instruments
	var errs [5]error
	i.requestDuration, errs[0] = m.Float64Histogram("http.server.request.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of HTTP server requests, by route and status."),
		metric.WithExplicitBucketBoundaries(secondsBuckets...))
	i.generations, errs[1] = m.Int64Counter("tryon.generations", metric.WithUnit("{generation}"),
		metric.WithDescription("Generations that reached a final state, by service, mode and outcome."))
	i.providerDuration, errs[2] = m.Float64Histogram("tryon.provider.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of provider calls, by provider, model, operation and outcome."),
		metric.WithExplicitBucketBoundaries(secondsBuckets...))
	i.poolWait, errs[3] = m.Float64Histogram("tryon.db.pool.wait", metric.WithUnit("s"),
		metric.WithDescription("Time spent acquiring a database connection from the pool, dialling included."),
		metric.WithExplicitBucketBoundaries(append([]float64{0.0005, 0.001, 0.0025}, secondsBuckets...)...))
	i.creditsReserved, errs[4] = m.Int64Counter("tryon.credits.reserved", metric.WithUnit("{microdollar}"),
		metric.WithDescription("Micro-dollars reserved by admitted generations, by service and mode."))
	return i, errors.Join(errs[:]...)
}
