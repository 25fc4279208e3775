package telemetry_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/gemini/geminifake"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// geminiTracedEnv is tracedEnv with live keys served by a fake Gemini API
// that speaks the real wire format, retries and rate limits included.
func geminiTracedEnv(t *testing.T) (*apptest.Env, *receiver) {
	fake := geminifake.New()
	t.Cleanup(fake.Close)
	rc := newReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rc.URL)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "3600000")
	t.Setenv("OTEL_METRIC_EXPORT_INTERVAL", "3600000")
	env := apptest.New(t, apptest.Options{Settings: map[string]string{"PROVIDER_BANANA": "gemini",
		"GEMINI_API_KEY": geminifake.DefaultKey, "GEMINI_BASE_URL": fake.URL()}})
	return env, rc
}

func TestProviderRetriesAreAttemptsUnderOneCall(t *testing.T) {
	env, rc := geminiTracedEnv(t)
	shop := env.Tenant(apptest.TenantOptions{})
	r := env.Generate(shop.LiveKey, map[string]any{"prompt": "a scarf " + geminifake.TokenFlaky})
	if r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	spans, _ := rc.received()
	tr := newTree(spans)
	calls := tr.named("provider.generate")
	if len(calls) != 1 {
		t.Fatalf("%d provider calls: %v", len(calls), names(spans))
	}
	call := calls[0]
	for key, want := range map[string]string{"tryon.provider": "gemini", "tryon.model": "gemini-2.5-flash-image",
		"tryon.outcome": "ok", "tryon.provider.attempts": "2"} {
		if got := attr(call.Attributes, key); got != want {
			t.Errorf("provider span %s = %q, want %q", key, got, want)
		}
	}
	var statuses []string
	for i, a := range tr.children[hexID(call.SpanId)] {
		if a.Name != "provider.attempt" || attr(a.Attributes, "tryon.provider.attempt") != itoa(int64(i+1)) {
			t.Errorf("child %d of the provider call: %s %v", i, a.Name, a.Attributes)
		}
		statuses = append(statuses, attr(a.Attributes, "http.response.status_code"))
		checkNoKey(t, a)
	}
	if want := []string{"503", "200"}; !slices.Equal(statuses, want) {
		t.Errorf("attempt statuses %v, want %v", statuses, want)
	}
}

func TestRateLimitedCallCarriesRetryAfter(t *testing.T) {
	env, rc := geminiTracedEnv(t)
	shop := env.Tenant(apptest.TenantOptions{})
	// A short wait leaves no room for a retry.
	r := env.Generate(shop.LiveKey, map[string]any{"prompt": "a skirt " + geminifake.Token429}, "Prefer", "wait=2")
	if r.Status != 503 {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	spans, _ := rc.received()
	call := newTree(spans).named("provider.generate")
	if len(call) != 1 {
		t.Fatalf("spans %v", names(spans))
	}
	if got := attr(call[0].Attributes, "tryon.outcome"); got != "rate_limited" {
		t.Errorf("outcome %q, want rate_limited", got)
	}
	if !hasAttr(call[0], "tryon.provider.retry_after_s") || call[0].Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("rate-limited call without retry-after or error status: %v %v", call[0].Attributes, call[0].Status)
	}
}

func hasAttr(s *tracepb.Span, key string) bool {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return true
		}
	}
	return false
}

func checkNoKey(t *testing.T, s *tracepb.Span) {
	t.Helper()
	for _, kv := range s.Attributes {
		if strings.Contains(kv.Value.String(), geminifake.DefaultKey) {
			t.Errorf("span %s attribute %s holds the provider key", s.Name, kv.Key)
		}
	}
}
