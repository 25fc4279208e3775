package telemetry_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/telemetry"
)

// BenchmarkNew measures what switching telemetry on adds to an instance's
// start: the resource, both exporters and both providers.
func BenchmarkNew(b *testing.B) {
	getenv := func(k string) string {
		if k == "OTEL_EXPORTER_OTLP_ENDPOINT" {
			return "http://127.0.0.1:4318"
		}
		return ""
	}
	for b.Loop() {
		tel, err := telemetry.New(context.Background(), telemetry.Options{Getenv: getenv})
		if err != nil || tel == nil {
			b.Fatal(tel, err)
		}
		_ = tel.Shutdown(context.Background())
	}
}

// BenchmarkFunctionRequest serves GET /health as a Vercel function would,
// through go-bridge: off, and on with the flush before each return sending
// to an OTLP receiver on loopback (a real backend adds its round trip).
func BenchmarkFunctionRequest(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "Off"
		if on {
			name = "OnFlushed"
		}
		b.Run(name, func(b *testing.B) {
			if on {
				rc := newReceiver(b)
				b.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rc.URL)
				b.Setenv("OTEL_BSP_SCHEDULE_DELAY", "3600000")
				b.Setenv("OTEL_METRIC_EXPORT_INTERVAL", "3600000")
			} else {
				b.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
			}
			env := apptest.New(b, apptest.Options{})
			if env.App.Telemetry.Enabled() != on {
				b.Fatalf("telemetry enabled %v", env.App.Telemetry.Enabled())
			}
			for b.Loop() {
				if r := env.Do(http.MethodGet, "/health", "", nil); r.Status != 200 {
					b.Fatal(r.Status)
				}
			}
		})
	}
}
