package httpapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/tryonhq/tryon/pkg/apikey"
	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/bridgetest"
	"github.com/tryonhq/tryon/pkg/config"
	"github.com/tryonhq/tryon/pkg/httpapi"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/syncbuffer"
	"github.com/tryonhq/tryon/pkg/tryon"
)

var timestampRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

func TestEnvelopeAndHeaders(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	r := env.Do(http.MethodGet, "/health", "", nil)
	if r.Status != 200 || !r.Success || r.RequestID == "" || !timestampRE.MatchString(r.Timestamp) {
		t.Fatalf("health: %d %s", r.Status, r.Body)
	}
	if got := r.Header.Get("X-Request-Id"); got != r.RequestID {
		t.Fatalf("X-Request-Id %q, request_id %q", got, r.RequestID)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	var h struct {
		Status  string            `json:"status"`
		Checks  map[string]string `json:"checks"`
		Version string            `json:"version"`
	}
	if err := json.Unmarshal(r.Data, &h); err != nil || h.Status != "ok" || h.Checks["database"] != "ok" || h.Version == "" {
		t.Fatalf("health data: %s", r.Data)
	}
	if !strings.HasPrefix(r.Header.Get("Server-Timing"), "total;dur=") || !strings.Contains(r.Header.Get("Server-Timing"), "db;dur=") {
		t.Fatalf("Server-Timing %q", r.Header.Get("Server-Timing"))
	}
	if !strings.Contains(strings.Join(r.Header.Values("Vary"), ","), "Origin") {
		t.Fatalf("no Vary: Origin")
	}
}

func TestRoutingErrors(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	cases := []struct {
		name, method, path string
		status             int
		code               tryon.Code
		allow              string
	}{
		{"UnknownPath", "GET", "/nope", 404, tryon.CodeNotFound, ""},
		{"UnknownAPIPath", "GET", "/api/nope", 404, tryon.CodeNotFound, ""},
		{"GetOnGenerate", "GET", "/generate", 405, tryon.CodeMethodNotAllowed, "POST, OPTIONS"},
		{"PutOnGeneration", "PUT", "/generate/abc", 405, tryon.CodeMethodNotAllowed, "GET, HEAD, DELETE, OPTIONS"},
		{"DeleteMalformedID", "DELETE", "/generate/abc", 404, tryon.CodeNotFound, ""},
		{"PostOnHealth", "POST", "/health", 405, tryon.CodeMethodNotAllowed, "GET, HEAD, OPTIONS"},
		{"MalformedID", "GET", "/generate/not-a-uuid", 404, tryon.CodeNotFound, ""},
		{"UnknownID", "GET", "/generate/01930000-0000-7000-8000-000000000000", 404, tryon.CodeNotFound, ""},
		{"UnknownAsset", "GET", "/assets/AAAAAAAAAAAAAAAAAAAAAA.png", 404, tryon.CodeNotFound, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := env.Do(tc.method, tc.path, shop.LiveKey, nil)
			if r.Status != tc.status || r.Code != tc.code || r.Success {
				t.Fatalf("got %d %q, want %d %q: %s", r.Status, r.Code, tc.status, tc.code, r.Body)
			}
			if got := r.Header.Get("Allow"); got != tc.allow {
				t.Fatalf("Allow %q, want %q", got, tc.allow)
			}
		})
	}
}

func TestBodyErrors(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	big := `{"prompt":"` + strings.Repeat("a", httpapi.MaxBodyBytes) + `"}`
	cases := []struct {
		name        string
		body        string
		contentType string
		status      int
		code        tryon.Code
		field       string
	}{
		{"NoContentType", `{"prompt":"x"}`, "-", 415, tryon.CodeUnsupportedMediaType, ""},
		{"TextPlain", `{"prompt":"x"}`, "text/plain", 415, tryon.CodeUnsupportedMediaType, ""},
		{"CharsetParameterAllowed", `{"prompt":"x"}`, "application/json; charset=utf-8", 200, "", ""},
		{"TooLarge", big, "application/json", 413, tryon.CodePayloadTooLarge, ""},
		{"Empty", ``, "application/json", 400, tryon.CodeInvalidRequest, ""},
		{"Malformed", `{"prompt":`, "application/json", 400, tryon.CodeInvalidRequest, ""},
		{"NotAnObject", `["prompt"]`, "application/json", 400, tryon.CodeInvalidRequest, ""},
		{"TrailingData", `{"prompt":"x"} {}`, "application/json", 400, tryon.CodeInvalidRequest, ""},
		{"UnknownField", `{"prompt":"x","colour":"red"}`, "application/json", 400, tryon.CodeInvalidRequest, "colour"},
		// encoding/json matches field names case-insensitively; the API does not.
		{"FieldNameInAnotherCase", `{"PROMPT":"x"}`, "application/json", 400, tryon.CodeInvalidRequest, "PROMPT"},
		{"OneFieldNameInAnotherCase", `{"prompt":"x","Width":64}`, "application/json", 400, tryon.CodeInvalidRequest, "Width"},
		{"WrongType", `{"prompt":"x","width":"wide"}`, "application/json", 400, tryon.CodeInvalidRequest, "width"},
		{"FractionalWidth", `{"prompt":"x","width":100.5}`, "application/json", 400, tryon.CodeInvalidRequest, "width"},
		{"MetadataValueNotString", `{"prompt":"x","metadata":{"n":1}}`, "application/json", 400, tryon.CodeInvalidRequest, "metadata.n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			headers := []string{"Content-Type", tc.contentType}
			if tc.contentType == "-" {
				headers = []string{"Content-Type", ""}
			}
			r := env.Do(http.MethodPost, "/generate", shop.TestKey, tc.body, headers...)
			if r.Status != tc.status || r.Code != tc.code {
				t.Fatalf("got %d %q, want %d %q: %.300s", r.Status, r.Code, tc.status, tc.code, r.Body)
			}
			if tc.field != "" && (len(r.Details) != 1 || r.Details[0].Field != tc.field) {
				t.Fatalf("details %+v, want the field %q", r.Details, tc.field)
			}
			if r.Header.Get("RateLimit") == "" {
				t.Fatalf("an authenticated error lacks RateLimit")
			}
		})
	}
}

// An optional field sent as null is absent, for Idempotency-Key too: the
// same request with and without "metadata": null replays, not 422.
func TestNullOptionalFieldsAreAbsentForIdempotency(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	first := env.Do(http.MethodPost, "/generate", shop.TestKey, `{"prompt":"a scarf"}`, "Idempotency-Key", "null-1")
	if first.Status != 200 {
		t.Fatalf("first: %d %s", first.Status, first.Body)
	}
	again := env.Do(http.MethodPost, "/generate", shop.TestKey, `{"prompt":"a scarf","metadata":null,"service":null}`, "Idempotency-Key", "null-1")
	if again.Status != 200 || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("with nulls: %d %s", again.Status, again.Body)
	}
	other := env.Do(http.MethodPost, "/generate", shop.TestKey, `{"prompt":"a hat","metadata":null}`, "Idempotency-Key", "null-1")
	if other.Status != 422 || other.Code != tryon.CodeIdempotencyMismatch {
		t.Fatalf("a different request: %d %s", other.Status, other.Body)
	}
}

func TestOverVercelsLimitTheBodyNeverReachesTheFunction(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	r := env.Do(http.MethodPost, "/generate", shop.TestKey, strings.Repeat(" ", bridgetest.PayloadLimit+1))
	if r.Status != 413 || r.Header.Get("X-Vercel-Error") != "FUNCTION_PAYLOAD_TOO_LARGE" {
		t.Fatalf("got %d %v", r.Status, r.Header)
	}
}

func TestCORS(t *testing.T) {
	env := apptest.New(t, apptest.Options{Settings: map[string]string{"CORS_ALLOWED_ORIGINS": "https://shop.example"}})
	shop := env.Tenant(apptest.TenantOptions{})
	t.Run("PreflightAllowed", func(t *testing.T) {
		r := env.Do(http.MethodOptions, "/generate", "", nil, "Origin", "https://shop.example",
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "x-client-key, content-type")
		if r.Status != 204 || len(r.Body) != 0 {
			t.Fatalf("got %d %q", r.Status, r.Body)
		}
		h := r.Header
		if h.Get("Access-Control-Allow-Origin") != "https://shop.example" || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") {
			t.Fatalf("headers %v", h)
		}
		for _, want := range []string{"x-client-key", "authorization", "content-type", "idempotency-key", "prefer"} {
			if !strings.Contains(h.Get("Access-Control-Allow-Headers"), want) {
				t.Fatalf("Access-Control-Allow-Headers %q lacks %s", h.Get("Access-Control-Allow-Headers"), want)
			}
		}
	})
	t.Run("PreflightOtherOrigin", func(t *testing.T) {
		// Not a route client tokens call: those answer every preflight
		// (TestClientTokenPreflight).
		r := env.Do(http.MethodOptions, "/generations", "", nil, "Origin", "https://evil.example", "Access-Control-Request-Method", "GET")
		if r.Status != 204 || r.Header.Get("Access-Control-Allow-Origin") != "" || r.Header.Get("Access-Control-Allow-Headers") != "" {
			t.Fatalf("a foreign origin got CORS headers: %v", r.Header)
		}
		if !strings.Contains(strings.Join(r.Header.Values("Vary"), ","), "Origin") {
			t.Fatalf("no Vary: Origin")
		}
	})
	t.Run("ActualRequestExposesHeaders", func(t *testing.T) {
		r := env.Do(http.MethodGet, "/generations", shop.TestKey, nil, "Origin", "https://shop.example")
		exposed := r.Header.Get("Access-Control-Expose-Headers")
		for _, want := range []string{"X-Request-Id", "RateLimit", "Retry-After", "Location", "Idempotent-Replayed", "X-Credits-Remaining", "Server-Timing"} {
			if !strings.Contains(exposed, want) {
				t.Fatalf("exposed %q lacks %s", exposed, want)
			}
		}
	})
	t.Run("NoListNoHeaders", func(t *testing.T) {
		closed := apptest.New(t, apptest.Options{})
		r := closed.Do(http.MethodGet, "/health", "", nil, "Origin", "https://shop.example")
		if r.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("CORS allowed by default")
		}
	})
}

func TestHealthWithTheDatabaseDown(t *testing.T) {
	cfg, err := config.Load(config.Map(map[string]string{
		"DATABASE_URL":    "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1",
		"PROVIDER_BANANA": "fake", "PROVIDER_BANANA_PRO": "fake", "PROVIDER_VEO3": "fake",
	}))
	if err != nil {
		t.Fatal(err)
	}
	pool, err := postgres.OpenPool(cfg.DatabaseURL, postgres.PoolOptions{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s := httpapi.NewServer(cfg, postgres.NewStore(pool), nil, apptest.Logger())
	srv := bridgetest.NewServer(t, s.Function, bridgetest.OriginalPath)
	resp, err := http.Get(srv.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 503 || !strings.Contains(string(body), `"code":"unavailable"`) || !strings.Contains(string(body), `"database":"error"`) {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), "127.0.0.1") || strings.Contains(string(body), "nobody") {
		t.Fatalf("health leaks configuration: %s", body)
	}
}

// Every error answer's log line carries its cause, not only internal
// errors: an operator reading a 503 unavailable line learns why (issue 10,
// item 12). The answer itself still names nothing of the configuration.
func TestErrorLogLinesCarryTheirCause(t *testing.T) {
	cfg, err := config.Load(config.Map(map[string]string{
		"DATABASE_URL":    "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1",
		"PROVIDER_BANANA": "fake", "PROVIDER_BANANA_PRO": "fake", "PROVIDER_VEO3": "fake",
	}))
	if err != nil {
		t.Fatal(err)
	}
	pool, err := postgres.OpenPool(cfg.DatabaseURL, postgres.PoolOptions{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	logs := &syncbuffer.Buffer{}
	s := httpapi.NewServer(cfg, postgres.NewStore(pool), nil, slog.New(slog.NewJSONHandler(logs, nil)))
	srv := bridgetest.NewServer(t, s.Function, bridgetest.OriginalPath)
	key, err := apikey.New(tryon.KeyLive)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/generations", nil)
	req.Header.Set("X-Client-Key", key.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || strings.Contains(string(body), "127.0.0.1") {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	var line struct {
		Msg, Level, Error string
		Status            int
	}
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if err := json.Unmarshal([]byte(l), &line); err == nil && line.Msg == "request" {
			break
		}
	}
	if line.Status != 503 || !strings.Contains(line.Error, "unavailable") || !strings.Contains(line.Error, "find key") {
		t.Fatalf("the log line of a 503 lacks its cause: %+v\n%s", line, logs)
	}
	if strings.Contains(logs.String(), key.Secret) {
		t.Fatalf("the log holds the key")
	}
}

func TestPanicsBecomeInternalErrors(t *testing.T) {
	cfg, err := config.Load(config.Map(map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1:1/y",
		"PROVIDER_BANANA": "fake", "PROVIDER_BANANA_PRO": "fake", "PROVIDER_VEO3": "fake"}))
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	// A server with no store panics on the first database call.
	s := httpapi.NewServer(cfg, nil, nil, slog.New(slog.NewJSONHandler(&logs, nil)))
	rec := httptest.NewRecorder()
	s.Function("health").ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"code":"internal"`) || !strings.Contains(rec.Body.String(), `"error":"internal error"`) {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "nil pointer") {
		t.Fatalf("the response leaks the panic")
	}
	if !strings.Contains(logs.String(), "panic") || !strings.Contains(logs.String(), `"status":500`) {
		t.Fatalf("the panic is not logged: %s", logs.String())
	}
}

func TestBothPathModesReachTheSameGeneration(t *testing.T) {
	for _, mode := range []bridgetest.PathMode{bridgetest.OriginalPath, bridgetest.DestinationPath} {
		env := apptest.New(t, apptest.Options{PathMode: mode})
		shop := env.Tenant(apptest.TenantOptions{})
		created := env.Generate(shop.TestKey, map[string]any{"prompt": "a hat"})
		if created.Status != 200 {
			t.Fatalf("mode %d: %d %s", mode, created.Status, created.Body)
		}
		g := created.Generation(t)
		got := env.Do(http.MethodGet, "/generate/"+g.ID, shop.TestKey, nil)
		if got.Status != 200 || got.Generation(t).ID != g.ID {
			t.Fatalf("mode %d: %d %s", mode, got.Status, got.Body)
		}
		asset := env.Do(http.MethodGet, strings.TrimPrefix(g.Output.URL, env.URL), "", nil)
		if asset.Status != 200 || asset.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("mode %d asset: %d %v", mode, asset.Status, asset.Header)
		}
	}
}
