package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/bridgetest"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/tryon"
)

var roundTripsRE = regexp.MustCompile(`db;dur=[0-9.]+;desc="([0-9]+) round trips?"`)

// metricsBody is GET /metrics's data as a client decodes it: pointers
// where the API may answer null or leave a field out.
type metricsBody struct {
	ClientID  *string                    `json:"client_id"`
	From      string                     `json:"from"`
	To        string                     `json:"to"`
	Bucket    string                     `json:"bucket"`
	Totals    totalsBody                 `json:"totals"`
	Test      totalsBody                 `json:"test"`
	ByService map[string]countsBody      `json:"by_service"`
	Series    []pointBody                `json:"series"`
	Recent    []apptest.Generation       `json:"recent"`
	Credits   *creditsBody               `json:"credits"`
	Limits    *limitsBody                `json:"limits"`
	ByClient  []clientCountsBody         `json:"by_client"`
	Raw       map[string]json.RawMessage `json:"-"`
}

type totalsBody struct {
	Generations int64   `json:"generations"`
	Succeeded   int64   `json:"succeeded"`
	Failed      int64   `json:"failed"`
	Processing  int64   `json:"processing"`
	CostMicros  int64   `json:"cost_micros"`
	Cost        float64 `json:"cost"`
	Currency    string  `json:"currency"`
	LatencyMS   struct {
		Avg *int64 `json:"avg"`
		P50 *int64 `json:"p50"`
		P95 *int64 `json:"p95"`
	} `json:"latency_ms"`
}

type countsBody struct {
	Generations int64 `json:"generations"`
	Succeeded   int64 `json:"succeeded"`
	Failed      int64 `json:"failed"`
	CostMicros  int64 `json:"cost_micros"`
}

type pointBody struct {
	Start string `json:"start"`
	countsBody
}

type creditsBody struct {
	BalanceMicros  int64 `json:"balance_micros"`
	ReservedMicros int64 `json:"reserved_micros"`
}

type limitsBody struct {
	RequestsPerMinute int `json:"requests_per_minute"`
	MaxConcurrent     int `json:"max_concurrent"`
}

type clientCountsBody struct {
	ClientID string `json:"client_id"`
	Name     string `json:"name"`
	Status   string `json:"status"`
	countsBody
}

// getMetrics reads GET path and decodes a 200's metrics.
func getMetrics(t *testing.T, env *apptest.Env, path, key string) metricsBody {
	t.Helper()
	r := env.Do(http.MethodGet, path, key, nil)
	if r.Status != 200 {
		t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
	}
	var m metricsBody
	if err := json.Unmarshal(r.Data, &m); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, r.Data)
	}
	if err := json.Unmarshal(r.Data, &m.Raw); err != nil {
		t.Fatal(err)
	}
	return m
}

func generate(t *testing.T, env *apptest.Env, key string, body map[string]any, wantStatus int, headers ...string) apptest.Generation {
	t.Helper()
	r := env.Generate(key, body, headers...)
	if r.Status != wantStatus {
		t.Fatalf("POST /generate %v: got %d, want %d: %s", body, r.Status, wantStatus, r.Body)
	}
	return r.Generation(t)
}

func TestMetricsShape(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	balance := tryon.Micros(5_000_000)
	prepaid := env.Tenant(apptest.TenantOptions{BalanceMicros: &balance, RequestsPerMinute: 120, MaxConcurrent: 3})
	postpaid := env.Tenant(apptest.TenantOptions{})
	ok := generate(t, env, prepaid.LiveKey, map[string]any{"prompt": "a red dress"}, 200)
	generate(t, env, prepaid.LiveKey, map[string]any{"prompt": "a hat [fake:blocked]"}, 422)
	generate(t, env, prepaid.TestKey, map[string]any{"prompt": "a test hat", "service": "banana-pro"}, 200)

	m := getMetrics(t, env, "/metrics", prepaid.LiveKey)
	if m.ClientID == nil || *m.ClientID != prepaid.Client.ID.String() {
		t.Fatalf("client_id %v, want %s", m.ClientID, prepaid.Client.ID)
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	if m.Bucket != "day" || m.From != today.AddDate(0, 0, -29).Format("2006-01-02T15:04:05.000Z") ||
		m.To != today.AddDate(0, 0, 1).Format("2006-01-02T15:04:05.000Z") {
		t.Fatalf("window %s to %s by %s, want the last 30 days by day", m.From, m.To, m.Bucket)
	}
	if len(m.Series) != 30 || m.Series[29].Generations != 2 || m.Series[29].Succeeded != 1 || m.Series[29].Failed != 1 {
		t.Fatalf("series: %d points, last %+v", len(m.Series), m.Series[len(m.Series)-1])
	}
	for i, p := range m.Series[:29] {
		if p.Generations != 0 || p.Start != today.AddDate(0, 0, i-29).Format("2006-01-02T15:04:05.000Z") {
			t.Fatalf("series[%d] = %+v, want a zero day", i, p)
		}
	}
	want := totalsBody{Generations: 2, Succeeded: 1, Failed: 1, CostMicros: 40_000, Cost: 0.04, Currency: "USD"}
	got := m.Totals
	got.LatencyMS = want.LatencyMS
	if got != want {
		t.Fatalf("totals %+v, want %+v", m.Totals, want)
	}
	if l := m.Totals.LatencyMS; l.Avg == nil || l.P50 == nil || l.P95 == nil {
		t.Fatalf("latency of a success is null: %s", m.Raw["totals"])
	}
	if m.Test.Generations != 1 || m.Test.Succeeded != 1 || m.Test.CostMicros != 0 || m.Test.Currency != "USD" {
		t.Fatalf("test %+v, want the one test generation, free", m.Test)
	}
	if len(m.ByService) != len(tryon.Services) || m.ByService["banana"] != (countsBody{2, 1, 1, 40_000}) || m.ByService["banana-pro"] != (countsBody{}) {
		t.Fatalf("by_service %+v", m.ByService)
	}
	if len(m.Recent) != 3 || m.Recent[2].ID != ok.ID || m.Recent[0].Mode != "test" || m.Recent[2].Output == nil ||
		!strings.HasPrefix(m.Recent[2].Output.URL, env.URL+"/assets/") {
		t.Fatalf("recent %+v, want the three generations, newest first, with absolute URLs", m.Recent)
	}
	if m.Credits == nil || m.Credits.BalanceMicros != 5_000_000-40_000 || m.Credits.ReservedMicros != 0 {
		t.Fatalf("credits %+v", m.Credits)
	}
	if m.Limits == nil || *m.Limits != (limitsBody{120, 3}) {
		t.Fatalf("limits %+v", m.Limits)
	}
	if _, ok := m.Raw["by_client"]; ok {
		t.Fatal("a tenant's metrics hold by_client")
	}

	t.Run("PostpaidHasNullCredits", func(t *testing.T) {
		m := getMetrics(t, env, "/metrics", postpaid.LiveKey)
		if string(m.Raw["credits"]) != "null" {
			t.Fatalf("credits %s, want null", m.Raw["credits"])
		}
		if string(m.Raw["totals"]) == "" || m.Totals.LatencyMS.Avg != nil || m.Totals.LatencyMS.P50 != nil || m.Totals.LatencyMS.P95 != nil {
			t.Fatalf("an idle tenant has latency figures: %s", m.Raw["totals"])
		}
		if !strings.Contains(string(m.Raw["totals"]), `"latency_ms":{"avg":null,"p50":null,"p95":null}`) {
			t.Fatalf("latency figures are not null: %s", m.Raw["totals"])
		}
		if string(m.Raw["recent"]) != "[]" {
			t.Fatalf("recent %s, want []", m.Raw["recent"])
		}
	})

	t.Run("OneRoundTripAndRateHeaders", func(t *testing.T) {
		r := env.Do(http.MethodGet, "/metrics", prepaid.LiveKey, nil)
		if m := roundTripsRE.FindStringSubmatch(r.Header.Get("Server-Timing")); m == nil || m[1] != "1" {
			t.Fatalf("Server-Timing %q, want one round trip", r.Header.Get("Server-Timing"))
		}
		if r.Header.Get("RateLimit-Policy") != `"minute";q=120;w=60` || !strings.HasPrefix(r.Header.Get("RateLimit"), `"minute";r=`) {
			t.Fatalf("rate headers %q %q", r.Header.Get("RateLimit-Policy"), r.Header.Get("RateLimit"))
		}
	})
}

func TestMetricsSeriesLength(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{RequestsPerMinute: 1000})
	cases := []struct {
		query  string
		points int
		step   time.Duration
	}{
		{"", 30, 24 * time.Hour},
		{"?bucket=day&from=2026-01-01&to=2026-01-30", 30, 24 * time.Hour},
		{"?bucket=hour&from=2026-01-01&to=2026-01-01", 24, time.Hour},
		{"?bucket=hour&from=2026-01-01T05:10:00Z&to=2026-01-01T08:00:00Z", 3, time.Hour},
		{"?bucket=hour", 720, time.Hour},
		{"?bucket=hour&from=2026-01-01&to=2026-01-31", 744, time.Hour},
		{"?from=2025-01-01&to=2025-12-31", 365, 24 * time.Hour},
		{"?from=2024-01-01&to=2024-12-31", 366, 24 * time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			m := getMetrics(t, env, "/metrics"+tc.query, shop.LiveKey)
			if len(m.Series) != tc.points {
				t.Fatalf("%d points, want %d", len(m.Series), tc.points)
			}
			from, _ := time.Parse(time.RFC3339, m.From)
			to, _ := time.Parse(time.RFC3339, m.To)
			if to.Sub(from) != time.Duration(tc.points)*tc.step {
				t.Fatalf("window %s to %s does not hold %d buckets", m.From, m.To, tc.points)
			}
			for i, p := range m.Series {
				start, _ := time.Parse(time.RFC3339, p.Start)
				if !start.Equal(from.Add(time.Duration(i) * tc.step)) {
					t.Fatalf("series[%d] starts %s", i, p.Start)
				}
			}
		})
	}
}

func TestMetricsValidation(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{RequestsPerMinute: 1000})
	admin := env.Key(nil, tryon.KeyAdmin, nil)
	cases := []struct {
		name, query string
		fields      []string
	}{
		{"UnknownBucket", "bucket=week", []string{"bucket"}},
		{"MalformedFrom", "from=last-week", []string{"from"}},
		{"MalformedTo", "to=2026-02-30", []string{"to"}},
		{"AllThree", "bucket=x&from=y&to=z", []string{"bucket", "from", "to"}},
		{"FromNotBeforeTo", "from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", []string{"from"}},
		{"TooManyHours", "bucket=hour&from=2026-01-01&to=2026-02-01", []string{"from"}},
		{"TooManyDays", "from=2024-01-01&to=2025-01-01", []string{"from"}},
	}
	for _, tc := range cases {
		for _, who := range []struct{ name, path, key string }{
			{"Tenant", "/metrics", shop.LiveKey},
			{"Admin", "/metrics", admin},
			{"ClientRoute", "/metrics/client/" + shop.Client.ID.String(), admin},
		} {
			t.Run(tc.name+"/"+who.name, func(t *testing.T) {
				r := env.Do(http.MethodGet, who.path+"?"+tc.query, who.key, nil)
				if r.Status != 400 || r.Code != tryon.CodeInvalidRequest {
					t.Fatalf("got %d %q, want 400 invalid_request: %s", r.Status, r.Code, r.Body)
				}
				var fields []string
				for _, d := range r.Details {
					fields = append(fields, d.Field)
				}
				if strings.Join(fields, ",") != strings.Join(tc.fields, ",") {
					t.Fatalf("details %+v, want the fields %v", r.Details, tc.fields)
				}
				if r.Header.Get("RateLimit") == "" {
					t.Fatal("a refused read does not report the rate limit")
				}
			})
		}
	}
}

func TestMetricsAccess(t *testing.T) {
	for _, mode := range []bridgetest.PathMode{bridgetest.OriginalPath, bridgetest.DestinationPath} {
		env := apptest.New(t, apptest.Options{PathMode: mode})
		shop := env.Tenant(apptest.TenantOptions{})
		other := env.Tenant(apptest.TenantOptions{})
		admin := env.Key(nil, tryon.KeyAdmin, nil)
		own := "/metrics/client/" + shop.Client.ID.String()
		cases := []struct {
			name, path, key string
			status          int
			client          string // the client_id answered; "" for the platform view
		}{
			{"TenantOwnMetrics", "/metrics", shop.LiveKey, 200, shop.Client.ID.String()},
			{"TestKeyOwnMetrics", "/metrics", shop.TestKey, 200, shop.Client.ID.String()},
			{"TenantOwnClientRoute", own, shop.LiveKey, 200, shop.Client.ID.String()},
			{"TestKeyOwnClientRoute", own + "?bucket=hour", shop.TestKey, 200, shop.Client.ID.String()},
			{"TenantOtherClient", "/metrics/client/" + other.Client.ID.String(), shop.LiveKey, 404, ""},
			{"TenantUnknownClient", "/metrics/client/" + uuid.NewString(), shop.LiveKey, 404, ""},
			{"TenantMalformedClient", "/metrics/client/acme", shop.LiveKey, 404, ""},
			{"AdminPlatform", "/metrics", admin, 200, ""},
			{"AdminAnyClient", "/metrics/client/" + other.Client.ID.String(), admin, 200, other.Client.ID.String()},
			{"AdminUnknownClient", "/metrics/client/" + uuid.NewString(), admin, 404, ""},
			{"AdminMalformedClient", "/metrics/client/not-a-uuid", admin, 404, ""},
			{"AdminNilClient", "/metrics/client/" + uuid.Nil.String(), admin, 404, ""},
			{"NoKey", "/metrics", "", 401, ""},
			{"NoKeyClientRoute", own, "", 401, ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := env.Do(http.MethodGet, tc.path, tc.key, nil)
				if r.Status != tc.status {
					t.Fatalf("mode %d: got %d, want %d: %s", mode, r.Status, tc.status, r.Body)
				}
				if tc.status == 404 && (r.Code != tryon.CodeNotFound || r.Header.Get("RateLimit") == "") {
					t.Fatalf("got %q with RateLimit %q, want not_found, counted", r.Code, r.Header.Get("RateLimit"))
				}
				if tc.status != 200 {
					return
				}
				var m map[string]json.RawMessage
				if err := json.Unmarshal(r.Data, &m); err != nil {
					t.Fatal(err)
				}
				_, hasClients := m["by_client"]
				_, hasCredits := m["credits"]
				_, hasLimits := m["limits"]
				if tc.client == "" {
					if _, ok := m["client_id"]; ok || !hasClients || hasCredits || hasLimits {
						t.Fatalf("the platform view has the keys %v", keys(m))
					}
					return
				}
				if string(m["client_id"]) != `"`+tc.client+`"` || hasClients || !hasCredits || !hasLimits {
					t.Fatalf("client_id %s and keys %v, want %s's metrics", m["client_id"], keys(m), tc.client)
				}
			})
		}
	}
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestMetricsRateLimited(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{RequestsPerMinute: 2})
	for i := range 2 {
		if r := env.Do(http.MethodGet, "/metrics", shop.LiveKey, nil); r.Status != 200 {
			t.Fatalf("request %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	r := env.Do(http.MethodGet, "/metrics", shop.LiveKey, nil)
	if r.Status != 429 || r.Code != tryon.CodeRateLimited || r.Header.Get("Retry-After") == "" {
		t.Fatalf("third request: %d %q Retry-After %q, want 429 rate_limited", r.Status, r.Code, r.Header.Get("Retry-After"))
	}
	if r.Header.Get("RateLimit") == "" || !strings.Contains(r.Header.Get("RateLimit"), "r=0") {
		t.Fatalf("RateLimit %q, want none remaining", r.Header.Get("RateLimit"))
	}
	if len(r.Data) != 0 && string(r.Data) != "null" {
		t.Fatalf("a refused read shows data: %s", r.Data)
	}
	// Each key counts its own requests: the test key is not limited yet.
	if r := env.Do(http.MethodGet, "/metrics/client/"+shop.Client.ID.String(), shop.TestKey, nil); r.Status != 200 {
		t.Fatalf("the test key: %d %s", r.Status, r.Body)
	}
}

func TestMetricsTestModeCountedApart(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{RequestsPerMinute: 1000})
	for _, prompt := range []string{"a", "b", "c [fake:error]"} {
		status := 200
		if strings.Contains(prompt, "fake:") {
			status = 502
		}
		generate(t, env, shop.TestKey, map[string]any{"prompt": prompt}, status)
	}
	generate(t, env, shop.LiveKey, map[string]any{"prompt": "live", "service": "banana-pro"}, 200)
	m := getMetrics(t, env, "/metrics", shop.TestKey)
	if m.Test.Generations != 3 || m.Test.Succeeded != 2 || m.Test.Failed != 1 || m.Test.CostMicros != 0 || m.Test.Cost != 0 {
		t.Fatalf("test %+v, want 3 generations, 2 succeeded, free", m.Test)
	}
	if m.Test.LatencyMS.P50 == nil {
		t.Fatalf("test successes have no latency")
	}
	if m.Totals.Generations != 1 || m.Totals.Succeeded != 1 || m.Totals.CostMicros != 150_000 {
		t.Fatalf("totals %+v, want the one live generation", m.Totals)
	}
	var inSeries, inServices int64
	for _, p := range m.Series {
		inSeries += p.Generations
	}
	for _, c := range m.ByService {
		inServices += c.Generations
	}
	if inSeries != 1 || inServices != 1 {
		t.Fatalf("series count %d and by_service %d, want only the live generation", inSeries, inServices)
	}
	if len(m.Recent) != 4 {
		t.Fatalf("recent holds %d, want both modes' 4", len(m.Recent))
	}
}

// A suspended tenant cannot read its metrics, but an operator still can,
// and the platform view lists it as suspended.
func TestMetricsSuspendedTenant(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	generate(t, env, shop.LiveKey, map[string]any{"prompt": "a coat"}, 200)
	if _, err := env.Store.ChangeClient(context.Background(), shop.Client.ID, postgres.ClientChange{Status: tryon.ClientSuspended, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	// A fresh key is not in the instance's key cache, so the suspension
	// shows at once.
	key := env.Key(&shop.Client.ID, tryon.KeyLive, nil)
	if r := env.Do(http.MethodGet, "/metrics", key, nil); r.Status != 403 || r.Code != tryon.CodeForbidden {
		t.Fatalf("the suspended tenant: %d %q, want 403 forbidden", r.Status, r.Code)
	}
	admin := env.Key(nil, tryon.KeyAdmin, nil)
	m := getMetrics(t, env, "/metrics/client/"+shop.Client.ID.String(), admin)
	if m.Totals.Generations != 1 || m.Totals.CostMicros != 40_000 {
		t.Fatalf("totals %+v, want the suspended tenant's one generation", m.Totals)
	}
	p := getMetrics(t, env, "/metrics", admin)
	if len(p.ByClient) != 1 || p.ByClient[0].Status != "suspended" || p.ByClient[0].Generations != 1 {
		t.Fatalf("by_client %+v, want the tenant, suspended", p.ByClient)
	}
}
