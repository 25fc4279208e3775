// Package apptest runs the whole application for tests: a fresh database on
// the real test PostgreSQL, the app wired from a configuration like a
// deployment's, and an HTTP server that serves it the way Vercel does
// (bridgetest). It also makes tenants and keys.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/apikey"
	"github.com/tryonhq/tryon/pkg/app"
	"github.com/tryonhq/tryon/pkg/bridgetest"
	"github.com/tryonhq/tryon/pkg/config"
	"github.com/tryonhq/tryon/pkg/pgtest"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/tryon"
	"github.com/tryonhq/tryon/pkg/wire"
)

// Env is a running application.
type Env struct {
	TB    testing.TB
	App   *app.App
	Store *postgres.Store
	// URL is the base URL of the Vercel-like server.
	URL    string
	Client *http.Client
}

// Options adjust an Env.
type Options struct {
	// Settings override configuration variables.
	Settings map[string]string
	PathMode bridgetest.PathMode
	// DatabaseURL reuses a database (two instances on one database);
	// empty means a fresh one.
	DatabaseURL string
	// StrictURLGuard keeps the production URL guard, which refuses
	// loopback; by default tests may fetch from their own loopback servers.
	StrictURLGuard bool
	// MaxDurations shorten functions' time limits (app.Options).
	MaxDurations map[string]time.Duration
	// Log receives the app's logs; nil means Logger().
	Log *slog.Logger
}

// Loopback lets the app fetch from and deliver to test servers on
// loopback, which the URL guard refuses in production.
var Loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// New starts an Env.
func New(tb testing.TB, opts Options) *Env {
	tb.Helper()
	dbURL := opts.DatabaseURL
	if dbURL == "" {
		dbURL = pgtest.URL(tb)
	}
	settings := map[string]string{
		"DATABASE_URL": dbURL, "DB_MAX_CONNS": "8",
		"PROVIDER_BANANA": "fake", "PROVIDER_BANANA_PRO": "fake", "PROVIDER_VEO3": "fake",
		"FAKE_VIDEO_LATENCY": "-1ns", "CRON_SECRET": "test-cron-secret",
	}
	for k, v := range opts.Settings {
		settings[k] = v
	}
	cfg, err := config.Load(config.Map(settings))
	if err != nil {
		tb.Fatalf("config: %v", err)
	}
	allow := Loopback
	if opts.StrictURLGuard {
		allow = nil
	}
	log := opts.Log
	if log == nil {
		log = Logger()
	}
	a, err := app.New(cfg, app.Options{Log: log, AllowPrivate: allow, PollInterval: 20 * time.Millisecond,
		MaxDurations: opts.MaxDurations})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(a.Close)
	srv := bridgetest.NewServer(tb, a.Function, opts.PathMode)
	return &Env{TB: tb, App: a, Store: a.Store, URL: srv.URL, Client: srv.Client()}
}

// Logger discards the app's logs unless TRYON_TEST_LOG is set.
func Logger() *slog.Logger {
	if os.Getenv("TRYON_TEST_LOG") != "" {
		return slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewJSONHandler(io.Discard, nil))
}

// Tenant is a client with one key of each tenant kind.
type Tenant struct {
	Client  *tryon.Client
	LiveKey string
	TestKey string
}

// TenantOptions describe a tenant to create.
type TenantOptions struct {
	BalanceMicros     *tryon.Micros
	RequestsPerMinute int
	MaxConcurrent     int
}

// Tenant creates a tenant with a live and a test key.
func (e *Env) Tenant(o TenantOptions) *Tenant {
	e.TB.Helper()
	ctx := context.Background()
	c, err := e.Store.CreateClient(ctx, postgres.NewClient{Name: "shop-" + uuid.NewString()[:13],
		BalanceMicros: o.BalanceMicros, RequestsPerMinute: o.RequestsPerMinute, MaxConcurrent: o.MaxConcurrent})
	if err != nil {
		e.TB.Fatal(err)
	}
	return &Tenant{Client: c, LiveKey: e.Key(&c.ID, tryon.KeyLive, nil), TestKey: e.Key(&c.ID, tryon.KeyTest, nil)}
}

// Key creates a key (clientID nil for an admin key).
func (e *Env) Key(clientID *uuid.UUID, kind tryon.KeyKind, expires *time.Time) string {
	e.TB.Helper()
	k, err := apikey.New(kind)
	if err != nil {
		e.TB.Fatal(err)
	}
	if _, err := e.Store.CreateKey(context.Background(), clientID, k, "test", expires); err != nil {
		e.TB.Fatal(err)
	}
	return k.Secret
}

// Response is an answer with its envelope decoded.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// The envelope's fields (docs/API.md).
	Success   bool               `json:"success"`
	Data      json.RawMessage    `json:"data"`
	Error     string             `json:"error"`
	Code      tryon.Code         `json:"code"`
	Details   []tryon.FieldError `json:"details"`
	RequestID string             `json:"request_id"`
	Timestamp string             `json:"timestamp"`
}

// Generation decodes the data of a response as a generation.
func (r *Response) Generation(tb testing.TB) Generation {
	tb.Helper()
	var g Generation
	if err := json.Unmarshal(r.Data, &g); err != nil {
		tb.Fatalf("data is not a generation: %v\n%s", err, r.Body)
	}
	return g
}

// Generation is the generation object as clients decode it: the API's own
// JSON type, so tests read exactly what every route writes.
type Generation = wire.Generation

// Do sends a request with key (none when empty) and a JSON body (none when
// nil; a string or []byte is sent as is), plus header pairs.
func (e *Env) Do(method, path, key string, body any, headers ...string) *Response {
	e.TB.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.TB.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		e.TB.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("X-Client-Key", key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		e.TB.Fatal(err)
	}
	defer resp.Body.Close()
	r := &Response{Status: resp.StatusCode, Header: resp.Header}
	r.Body, err = io.ReadAll(resp.Body)
	if err != nil {
		e.TB.Fatal(err)
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(r.Body, r); err != nil {
			e.TB.Fatalf("%s %s: body is not the JSON envelope: %v\n%s", method, path, err, r.Body)
		}
	}
	return r
}

// Generate posts a generation with a tenant key and returns the response.
func (e *Env) Generate(key string, body any, headers ...string) *Response {
	e.TB.Helper()
	return e.Do(http.MethodPost, "/generate", key, body, headers...)
}
