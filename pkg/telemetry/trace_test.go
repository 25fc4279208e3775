package telemetry_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/tryon"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// The trace a caller's system was in when it called us.
const (
	callerTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpan   = "00f067aa0ba902b7"
	callerParent = "00-" + callerTrace + "-" + callerSpan + "-01"
)

// syncBuffer collects log lines written from concurrent requests.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) lines() []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// tracedEnv runs the app as a Vercel function instance with an OTLP
// endpoint configured. The batcher and the metric reader are set never to
// export on their own: whatever reaches the receiver by the time a response
// is read was flushed by the function before it returned.
func tracedEnv(t *testing.T) (*apptest.Env, *receiver, *syncBuffer) {
	rc := newReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rc.URL)
	t.Setenv("OTEL_SERVICE_NAME", "tryon-under-test")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=ci")
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-honeycomb-team=team-secret")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "3600000")
	t.Setenv("OTEL_METRIC_EXPORT_INTERVAL", "3600000")
	logs := &syncBuffer{}
	env := apptest.New(t, apptest.Options{Log: slog.New(slog.NewJSONHandler(logs, nil))})
	if !env.App.Telemetry.Enabled() {
		t.Fatal("telemetry is off with OTEL_EXPORTER_OTLP_ENDPOINT set")
	}
	return env, rc, logs
}

func hexID(b []byte) string { return hex.EncodeToString(b) }

// tree indexes a trace's spans by parent.
type tree struct {
	byID     map[string]*tracepb.Span
	children map[string][]*tracepb.Span
}

func newTree(spans []*tracepb.Span) tree {
	tr := tree{byID: map[string]*tracepb.Span{}, children: map[string][]*tracepb.Span{}}
	for _, s := range spans {
		tr.byID[hexID(s.SpanId)] = s
		tr.children[hexID(s.ParentSpanId)] = append(tr.children[hexID(s.ParentSpanId)], s)
	}
	for _, c := range tr.children {
		slices.SortFunc(c, func(a, b *tracepb.Span) int { return int(a.StartTimeUnixNano - b.StartTimeUnixNano) })
	}
	return tr
}

func (tr tree) named(name string) []*tracepb.Span {
	var out []*tracepb.Span
	for _, s := range tr.byID {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// dbUnder counts the database round-trip spans in s's subtree.
func (tr tree) dbUnder(s *tracepb.Span) int {
	n := 0
	for _, c := range tr.children[hexID(s.SpanId)] {
		if strings.HasPrefix(c.Name, "db.") && c.Name != "db.pool.wait" && c.Name != "db.connect" {
			n++
		}
		n += tr.dbUnder(c)
	}
	return n
}

// steps lists the names of s's children that are steps of a generation,
// in the order they started.
func (tr tree) steps(s *tracepb.Span) []string {
	var out []string
	for _, c := range tr.children[hexID(s.SpanId)] {
		if !strings.HasPrefix(c.Name, "db.") {
			out = append(out, c.Name)
		}
	}
	return out
}

func TestGenerateTraceShowsWhereTheTimeWent(t *testing.T) {
	env, rc, logs := tracedEnv(t)
	shop := env.Tenant(apptest.TenantOptions{})
	r := env.Generate(shop.LiveKey, map[string]any{"prompt": "a red dress [fake:sleep=15ms]"}, "traceparent", callerParent)
	if r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	g := r.Generation(t)

	// Everything is here as soon as the answer is: flushed, not batched.
	spans, res := rc.received()
	for _, s := range spans {
		if hexID(s.TraceId) != callerTrace {
			t.Errorf("span %s is in trace %s, want the caller's %s", s.Name, hexID(s.TraceId), callerTrace)
		}
		for _, kv := range s.Attributes {
			if strings.Contains(kv.Value.String(), shop.LiveKey) {
				t.Errorf("span %s attribute %s holds the API key", s.Name, kv.Key)
			}
		}
	}
	if got := attr(res, "service.name"); got != "tryon-under-test" {
		t.Errorf("service.name %q, want OTEL_SERVICE_NAME's", got)
	}
	if got := attr(res, "deployment.environment.name"); got != "ci" {
		t.Errorf("deployment.environment.name %q, want OTEL_RESOURCE_ATTRIBUTES'", got)
	}
	if got := rc.headers.Get("X-Honeycomb-Team"); got != "team-secret" {
		t.Errorf("export header %q, want OTEL_EXPORTER_OTLP_HEADERS'", got)
	}

	tr := newTree(spans)
	roots := tr.named("POST /generate")
	if len(roots) != 1 {
		t.Fatalf("%d request spans, want 1; spans: %v", len(roots), names(spans))
	}
	root := roots[0]
	if hexID(root.ParentSpanId) != callerSpan || root.Kind != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("request span parent %s kind %v, want the caller's %s and server", hexID(root.ParentSpanId), root.Kind, callerSpan)
	}
	for key, want := range map[string]string{
		"http.route": "/generate", "http.response.status_code": "200", "tryon.function": "generate",
		"tryon.tenant.id": shop.Client.ID.String(), "http.request.method": "POST",
	} {
		if got := attr(root.Attributes, key); got != want {
			t.Errorf("request span %s = %q, want %q", key, got, want)
		}
	}
	if p := attr(root.Attributes, "tryon.key.prefix"); p == "" || len(p) >= len(shop.LiveKey) || !strings.HasPrefix(shop.LiveKey, p) {
		t.Errorf("request span key prefix %q is not a short prefix of the key", p)
	}

	// Outputs stored in PostgreSQL are staged into the settlement's round
	// trip with tracing on as off: no storage step of their own.
	want := []string{"admission", "provider.generate", "settlement"}
	if got := tr.steps(root); !slices.Equal(got, want) {
		t.Fatalf("request's steps %v, want %v", got, want)
	}
	if n := tr.dbUnder(root) - tr.dbUnder(tr.named("admission")[0]) - tr.dbUnder(tr.named("settlement")[0]); n < 1 {
		t.Errorf("%d round trips directly under the request (authentication), want at least 1", n)
	}
	for _, step := range []string{"admission", "settlement"} {
		if n := tr.dbChildren(tr.named(step)[0]); n != 1 {
			t.Errorf("%s has %d database round trips, want 1", step, n)
		}
	}
	for _, step := range []string{"admission", "settlement"} {
		if n := tr.dbUnder(tr.named(step)[0]); n < 1 {
			t.Errorf("%s has %d database round-trip spans, want at least 1", step, n)
		}
	}
	for _, s := range spans {
		if strings.HasPrefix(s.Name, "db.") && s.Name != "db.pool.wait" && s.Name != "db.connect" &&
			(attr(s.Attributes, "db.system.name") != "postgresql" || attr(s.Attributes, "db.query.text") == "") {
			t.Errorf("round-trip span %s lacks its system or statement: %v", s.Name, s.Attributes)
		}
	}
	prov := tr.named("provider.generate")[0]
	for key, want := range map[string]string{"tryon.provider": "fake", "tryon.outcome": "ok", "tryon.service": "banana", "tryon.provider.attempts": "0"} {
		if got := attr(prov.Attributes, key); got != want {
			t.Errorf("provider span %s = %q, want %q", key, got, want)
		}
	}
	if attr(prov.Attributes, "tryon.model") == "" {
		t.Error("provider span names no model")
	}
	if got := attr(tr.named("settlement")[0].Attributes, "tryon.outcome"); got != "succeeded" {
		t.Errorf("settlement outcome %q", got)
	}
	if d := prov.EndTimeUnixNano - prov.StartTimeUnixNano; d < 15e6 {
		t.Errorf("provider span lasted %dns, less than the fake's 15ms sleep", d)
	}

	// The request's log line leads to its span.
	var logged bool
	for _, l := range logs.lines() {
		if l["msg"] == "request" && l["path"] == "/generate" {
			logged = true
			if l["trace_id"] != callerTrace || l["span_id"] != hexID(root.SpanId) {
				t.Errorf("log line trace %v span %v, want %s %s", l["trace_id"], l["span_id"], callerTrace, hexID(root.SpanId))
			}
		}
	}
	if !logged {
		t.Error("no request log line")
	}

	stored, err := env.Store.FindGeneration(context.Background(), uuid.MustParse(g.ID))
	if err != nil {
		t.Fatal(err)
	}
	checkCount(t, rc.metric("http.server.request.duration"), map[string]string{"http.route": "/generate", "http.response.status_code": "200"}, 1)
	checkCount(t, rc.metric("tryon.generations"), map[string]string{"tryon.service": "banana", "tryon.mode": "live", "tryon.outcome": "succeeded"}, 1)
	checkCount(t, rc.metric("tryon.provider.duration"), map[string]string{"tryon.provider": "fake", "tryon.outcome": "ok"}, 1)
	checkCount(t, rc.metric("tryon.credits.reserved"), map[string]string{"tryon.service": "banana", "tryon.mode": "live"}, int64(stored.PriceMicros))
	if pts := points(rc.metric("tryon.db.pool.wait")); len(pts) == 0 || pts[0].count < 3 {
		t.Errorf("pool waits %v, want one per round trip", pts)
	}

	// An asset's URL is a capability: its token names no span and sits in
	// no attribute.
	token := path.Base(g.Output.URL)
	if a := env.Do(http.MethodGet, "/assets/"+token, "", nil); a.Status != 200 {
		t.Fatalf("asset: %d", a.Status)
	}
	spans, _ = rc.received()
	if len(newTree(spans).named("GET /assets/{token}")) != 1 {
		t.Fatalf("no span for the asset's request: %v", names(spans))
	}
	for _, s := range spans {
		for _, kv := range s.Attributes {
			if strings.Contains(s.Name, token) || strings.Contains(kv.Value.String(), token) {
				t.Errorf("span %s attribute %s holds the asset's token", s.Name, kv.Key)
			}
		}
	}
}

func TestFailedGenerationIsAnErrorSpanAndCountedAsFailed(t *testing.T) {
	env, rc, _ := tracedEnv(t)
	shop := env.Tenant(apptest.TenantOptions{})
	r := env.Generate(shop.LiveKey, map[string]any{"prompt": "a coat [fake:unavailable]"})
	if r.Code != tryon.CodeUpstreamUnavailable {
		t.Fatalf("status %d code %s, want upstream_unavailable", r.Status, r.Code)
	}
	spans, _ := rc.received()
	tr := newTree(spans)
	prov := tr.named("provider.generate")
	if len(prov) != 1 {
		t.Fatalf("spans %v", names(spans))
	}
	if got := attr(prov[0].Attributes, "tryon.outcome"); got != "unavailable" || prov[0].Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("provider span outcome %q status %v, want unavailable and an error", got, prov[0].Status)
	}
	root := tr.named("POST /generate")[0]
	if got := attr(root.Attributes, "http.response.status_code"); got != strconv.Itoa(r.Status) {
		t.Errorf("request span status %s, answer %d", got, r.Status)
	}
	if len(tr.named("storage.put")) != 0 {
		t.Error("a failed generation stored an output")
	}
	checkCount(t, rc.metric("tryon.generations"), map[string]string{"tryon.outcome": "failed", "error.type": string(tryon.CodeUpstreamUnavailable)}, 1)
	checkCount(t, rc.metric("tryon.provider.duration"), map[string]string{"tryon.outcome": "unavailable"}, 1)
	checkCount(t, rc.metric("tryon.generations"), map[string]string{"tryon.outcome": "succeeded"}, 0)
}

func names(spans []*tracepb.Span) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

// point is one data point of a counter or histogram.
type point struct {
	attrs []*commonpb.KeyValue
	count int64 // a counter's value, a histogram's count
}

func points(m *metricspb.Metric) []point {
	var out []point
	switch d := m.GetData().(type) {
	case *metricspb.Metric_Sum:
		for _, p := range d.Sum.DataPoints {
			out = append(out, point{p.Attributes, p.GetAsInt()})
		}
	case *metricspb.Metric_Histogram:
		for _, p := range d.Histogram.DataPoints {
			out = append(out, point{p.Attributes, int64(p.Count)})
		}
	}
	return out
}

// checkCount checks the total over the data points that carry attrs.
func checkCount(t *testing.T, m *metricspb.Metric, attrs map[string]string, want int64) {
	t.Helper()
	if m == nil {
		t.Errorf("metric not exported (want %v = %d)", attrs, want)
		return
	}
	var got int64
	for _, p := range points(m) {
		match := true
		for k, v := range attrs {
			match = match && attr(p.attrs, k) == v
		}
		if match {
			got += p.count
		}
	}
	if got != want {
		t.Errorf("%s%v = %d, want %d", m.Name, attrs, got, want)
	}
}

// dbChildren counts s's own round trips: its children that are statements
// or batches (their nested spans are parts of the same round trip).
func (tr tree) dbChildren(s *tracepb.Span) int {
	n := 0
	for _, c := range tr.children[hexID(s.SpanId)] {
		if strings.HasPrefix(c.Name, "db.") && c.Name != "db.pool.wait" && c.Name != "db.connect" {
			n++
		}
	}
	return n
}
