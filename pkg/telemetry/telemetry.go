// Package telemetry sends Tryon's traces and metrics to an OpenTelemetry
// backend over OTLP/HTTP. It is on only when one of the standard
// OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
// OTEL_EXPORTER_OTLP_METRICS_ENDPOINT variables is set; the OpenTelemetry SDK
// reads the other OTEL_* variables itself (headers, timeout, compression,
// sampler, resource attributes, service name, batch and export intervals).
//
// Off, New returns a nil *Telemetry: every method of a nil Telemetry hands
// back what it was given, so nothing is wrapped, no exporter goroutine runs
// and the hooks elsewhere cost one context lookup.
//
// Handler puts the request's Telemetry in its context, where the database
// tracer finds it; the decorators of the providers, the storage and the
// generation store are applied where the application is wired (pkg/app).
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// scopeName names the instrumentation in every span and metric.
const scopeName = "github.com/tryonhq/tryon"

// maxFlushTimeout caps the flush at the end of a function's request.
const maxFlushTimeout = 2 * time.Second

// Telemetry holds the tracer and meter providers of one application
// instance. A nil *Telemetry is telemetry switched off.
type Telemetry struct {
	tracer       trace.Tracer
	traces       *sdktrace.TracerProvider // nil when traces are not exported
	metrics      *sdkmetric.MeterProvider // nil when metrics are not exported
	propagator   propagation.TextMapPropagator
	flushTimeout time.Duration
	m            instruments
}

// Options adjust New.
type Options struct {
	// Getenv reads the switch-on variables; os.Getenv when nil. The SDK
	// reads the rest of the OTEL_* variables from the process environment.
	Getenv func(string) string
	// FlushTimeout bounds the flush at the end of each function request. It
	// comes out of the budget margin kept back at a generation's start, so
	// it is capped at 2 s; 2 s when 0.
	FlushTimeout time.Duration
	// Resource adds attributes describing where the instance runs (the
	// platform's region, environment, deployment); OTEL_SERVICE_NAME and
	// OTEL_RESOURCE_ATTRIBUTES override them.
	Resource map[string]string
}

// New starts telemetry when an OTLP endpoint is configured, and returns nil
// (off) when none is or OTEL_SDK_DISABLED is true.
func New(ctx context.Context, opts Options) (*Telemetry, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return nil, nil
	}
	base := getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != ""
	wantTraces := (base || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "") && getenv("OTEL_TRACES_EXPORTER") != "none"
	wantMetrics := (base || getenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") != "") && getenv("OTEL_METRICS_EXPORTER") != "none"
	if !wantTraces && !wantMetrics {
		return nil, nil
	}
	res, err := newResource(ctx, opts.Resource)
	if err != nil {
		return nil, err
	}
	t := &Telemetry{
		tracer:       tracenoop.NewTracerProvider().Tracer(scopeName),
		propagator:   propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		flushTimeout: opts.FlushTimeout,
	}
	if t.flushTimeout <= 0 || t.flushTimeout > maxFlushTimeout {
		t.flushTimeout = maxFlushTimeout
	}
	if wantTraces {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("telemetry: trace exporter: %w", err)
		}
		// A batcher everywhere: on a function, Flush empties it before the
		// response goes out, so spans are never left in a frozen instance.
		t.traces = sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
		t.tracer = t.traces.Tracer(scopeName)
	}
	var meter metric.Meter = metricnoop.NewMeterProvider().Meter(scopeName)
	if wantMetrics {
		exp, err := otlpmetrichttp.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("telemetry: metric exporter: %w", err)
		}
		t.metrics = sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)), sdkmetric.WithResource(res))
		meter = t.metrics.Meter(scopeName)
	}
	if t.m, err = newInstruments(meter); err != nil {
		return nil, err
	}
	return t, nil
}

// newResource describes this instance: service.name "tryon" unless
// OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES says otherwise, a fresh
// service.instance.id (many short-lived instances report the same
// cumulative metrics), and the caller's attributes.
func newResource(ctx context.Context, extra map[string]string) (*resource.Resource, error) {
	attrs := []attribute.KeyValue{
		attribute.String("service.name", "tryon"),
		attribute.String("service.instance.id", uuid.NewString()),
	}
	for k, v := range extra {
		if v != "" {
			attrs = append(attrs, attribute.String(k, v))
		}
	}
	// Later options win: the operator's OTEL_* variables over our defaults.
	res, err := resource.New(ctx, resource.WithAttributes(attrs...), resource.WithTelemetrySDK(), resource.WithFromEnv())
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}
	return res, nil
}

// Enabled reports whether telemetry is on.
func (t *Telemetry) Enabled() bool { return t != nil }

// Flush exports every span and metric recorded so far, within the flush
// timeout. A function calls it before returning: the platform may freeze the
// instance right after, and a batch left in memory would be lost or sent
// minutes late.
func (t *Telemetry) Flush(ctx context.Context) error {
	if t == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.flushTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		if t.metrics == nil {
			done <- nil
			return
		}
		done <- t.metrics.ForceFlush(ctx)
	}()
	var err error
	if t.traces != nil {
		err = t.traces.ForceFlush(ctx)
	}
	return errors.Join(err, <-done)
}

// Shutdown flushes and stops the exporters.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var errs []error
	if t.traces != nil {
		errs = append(errs, t.traces.Shutdown(ctx))
	}
	if t.metrics != nil {
		errs = append(errs, t.metrics.Shutdown(ctx))
	}
	return errors.Join(errs...)
}
