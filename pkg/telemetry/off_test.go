package telemetry_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"

	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/fake"
	"github.com/tryonhq/tryon/pkg/telemetry"
	"github.com/tryonhq/tryon/pkg/tryon"
)

func TestSwitchedOnOnlyByAnOTLPEndpoint(t *testing.T) {
	const endpoint = "http://127.0.0.1:4318"
	for _, tc := range []struct {
		name string
		env  map[string]string
		on   bool
	}{
		{"NoEndpoint", map[string]string{"OTEL_SERVICE_NAME": "tryon"}, false},
		{"Endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}, true},
		{"TracesEndpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": endpoint + "/v1/traces"}, true},
		{"MetricsEndpoint", map[string]string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": endpoint + "/v1/metrics"}, true},
		{"SDKDisabled", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_SDK_DISABLED": "true"}, false},
		{"BothExportersNone", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
			"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tel, err := telemetry.New(context.Background(), telemetry.Options{Getenv: func(k string) string { return tc.env[k] }})
			if err != nil {
				t.Fatal(err)
			}
			defer tel.Shutdown(context.Background())
			if tel.Enabled() != tc.on {
				t.Fatalf("enabled %v, want %v", tel.Enabled(), tc.on)
			}
		})
	}
}

type handler struct{}

func (*handler) ServeHTTP(http.ResponseWriter, *http.Request) {}

// TestOffWrapsNothing: switched off, telemetry hands back what it is given,
// so requests, providers, storage and logs run exactly as without it.
func TestOffWrapsNothing(t *testing.T) {
	var off *telemetry.Telemetry
	h := &handler{}
	if got, ok := off.Handler(h, true).(*handler); !ok || got != h {
		t.Error("Handler wrapped h")
	}
	p := fake.New(fake.Options{})
	if got, ok := off.Provider(p).(*fake.Provider); !ok || got != p {
		t.Error("Provider wrapped p")
	}
	var s tryon.Storage = storageFunc(nil)
	if _, ok := off.Storage(s, "postgres").(storageFunc); !ok {
		t.Error("Storage wrapped s")
	}
	log := slog.Default()
	if off.Logger(log) != log {
		t.Error("Logger wrapped log")
	}
	if off.Transport(nil) != http.DefaultTransport {
		t.Error("Transport wrapped the default transport")
	}
	if err := off.Flush(context.Background()); err != nil {
		t.Error(err)
	}
}

type storageFunc func() string

func (storageFunc) Put(context.Context, string, string, []byte) (string, error) { return "", nil }

// TestOffLogsNoTraceIDs runs a generation with no endpoint configured: the
// app has no telemetry, and a caller's traceparent does not leak into logs.
func TestOffLogsNoTraceIDs(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "")
	logs := &syncBuffer{}
	env := apptest.New(t, apptest.Options{Log: slog.New(slog.NewJSONHandler(logs, nil))})
	if env.App.Telemetry.Enabled() {
		t.Fatal("telemetry is on without an endpoint")
	}
	shop := env.Tenant(apptest.TenantOptions{})
	if r := env.Generate(shop.TestKey, map[string]any{"prompt": "a hat"}, "traceparent", callerParent); r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	var n int
	for _, l := range logs.lines() {
		if l["msg"] == "request" {
			n++
			if _, ok := l["trace_id"]; ok {
				t.Errorf("log line has a trace id: %v", l)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d request log lines, want 1", n)
	}
}
