package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/clienttoken"
	"github.com/tryonhq/tryon/pkg/tryon"
)

const shopOrigin = "https://shop.example"

// tokenData is POST /tokens's data as a client decodes it.
type tokenData struct {
	Token          string   `json:"token"`
	TokenType      string   `json:"token_type"`
	ExpiresAt      string   `json:"expires_at"`
	User           string   `json:"user"`
	Origins        []string `json:"origins"`
	Scopes         []string `json:"scopes"`
	Mode           string   `json:"mode"`
	MaxGenerations *int64   `json:"max_generations"`
	MaxSpendMicros *int64   `json:"max_spend_micros"`
}

// issueToken asks POST /tokens for a token and fails the test unless it gets one.
func issueToken(t *testing.T, env *apptest.Env, key string, body map[string]any) tokenData {
	t.Helper()
	r := env.Do(http.MethodPost, "/tokens", key, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("POST /tokens: %d %s", r.Status, r.Body)
	}
	var d tokenData
	if err := json.Unmarshal(r.Data, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// fromPage sends a request the way a shop's page does: the token as a
// bearer, from an origin.
func fromPage(env *apptest.Env, method, path, token, origin string, body any) *apptest.Response {
	return env.Do(method, path, "", body, "Authorization", "Bearer "+token, "Origin", origin)
}

func TestClientTokenFlow(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	before := time.Now()
	tok := issueToken(t, env, shop.TestKey, map[string]any{"user": "alice", "origins": []string{shopOrigin, "http://localhost:5173"}})

	t.Run("Answer", func(t *testing.T) {
		if tok.TokenType != "Bearer" || tok.Mode != "test" || tok.User != "alice" ||
			strings.Join(tok.Scopes, " ") != "generate read" || len(tok.Origins) != 2 || tok.MaxGenerations != nil {
			t.Fatalf("got %+v", tok)
		}
		exp, err := time.Parse(time.RFC3339, tok.ExpiresAt)
		if err != nil {
			t.Fatal(err)
		}
		if d := exp.Sub(before); d < 14*time.Minute || d > 16*time.Minute {
			t.Fatalf("default lifetime is %s, want 15m", d)
		}
		if !clienttoken.LooksLikeJWT(tok.Token) {
			t.Fatalf("token %q is not a JWT", tok.Token)
		}
	})

	gen := fromPage(env, http.MethodPost, "/generate", tok.Token, shopOrigin, map[string]any{"prompt": "a hat"})
	if gen.Status != http.StatusOK {
		t.Fatalf("generate with token: %d %s", gen.Status, gen.Body)
	}
	if got := gen.Header.Get("Access-Control-Allow-Origin"); got != shopOrigin {
		t.Fatalf("Access-Control-Allow-Origin = %q, want %q", got, shopOrigin)
	}
	g := gen.Generation(t)
	if g.Mode != "test" {
		t.Fatalf("mode %q", g.Mode)
	}

	t.Run("ReadsItsOwn", func(t *testing.T) {
		r := fromPage(env, http.MethodGet, "/generate/"+g.ID, tok.Token, "http://localhost:5173", nil)
		if r.Status != 200 || r.Generation(t).ID != g.ID {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
	t.Run("AnotherEndUserCannotRead", func(t *testing.T) {
		bob := issueToken(t, env, shop.TestKey, map[string]any{"user": "bob", "origins": []string{shopOrigin}})
		r := fromPage(env, http.MethodGet, "/generate/"+g.ID, bob.Token, shopOrigin, nil)
		if r.Status != 404 || r.Code != tryon.CodeNotFound {
			t.Fatalf("got %d %s, want 404", r.Status, r.Body)
		}
	})
	t.Run("TheTenantsOwnGenerationsAreHidden", func(t *testing.T) {
		own := env.Generate(shop.TestKey, map[string]any{"prompt": "a scarf"})
		r := fromPage(env, http.MethodGet, "/generate/"+own.Generation(t).ID, tok.Token, shopOrigin, nil)
		if r.Status != 404 {
			t.Fatalf("got %d %s, want 404", r.Status, r.Body)
		}
	})
	t.Run("TheTenantStillReadsIt", func(t *testing.T) {
		r := env.Do(http.MethodGet, "/generate/"+g.ID, shop.TestKey, nil)
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
	t.Run("AnotherTenantCannotRead", func(t *testing.T) {
		other := env.Tenant(apptest.TenantOptions{})
		theirs := issueToken(t, env, other.TestKey, map[string]any{"user": "alice", "origins": []string{shopOrigin}})
		r := fromPage(env, http.MethodGet, "/generate/"+g.ID, theirs.Token, shopOrigin, nil)
		if r.Status != 404 {
			t.Fatalf("got %d %s, want 404", r.Status, r.Body)
		}
	})
	t.Run("LiveKeyMakesLiveToken", func(t *testing.T) {
		live := issueToken(t, env, shop.LiveKey, map[string]any{"user": "alice", "origins": []string{shopOrigin}, "expires_in": 3600,
			"scopes": []string{"read"}, "max_generations": 2, "max_spend_micros": 500000})
		if live.Mode != "live" || strings.Join(live.Scopes, ",") != "read" || *live.MaxGenerations != 2 || *live.MaxSpendMicros != 500000 {
			t.Fatalf("got %+v", live)
		}
	})
}

func TestClientTokenRefusals(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	admin := env.Key(nil, tryon.KeyAdmin, nil)
	tok := issueToken(t, env, shop.TestKey, map[string]any{"user": "alice", "origins": []string{shopOrigin}})
	readOnly := issueToken(t, env, shop.TestKey, map[string]any{"user": "alice", "origins": []string{shopOrigin}, "scopes": []string{"read"}})
	generateOnly := issueToken(t, env, shop.TestKey, map[string]any{"user": "alice", "origins": []string{shopOrigin}, "scopes": []string{"generate"}})
	g := fromPage(env, http.MethodPost, "/generate", tok.Token, shopOrigin, map[string]any{"prompt": "a hat"}).Generation(t)

	// Offline tokens, signed with the tenant's current secret (the one
	// POST /tokens made) or with made-up ones.
	ctx := context.Background()
	secret, version, err := env.Store.CurrentTokenSecret(ctx, shop.Client.ID, "unused")
	if err != nil {
		t.Fatal(err)
	}
	claims := func(mutate func(*clienttoken.Claims)) clienttoken.Claims {
		now := time.Now()
		c := clienttoken.Claims{
			RegisteredClaims: jwt.RegisteredClaims{Issuer: shop.Client.ID.String(), Subject: "alice", ID: uuid.NewString(),
				IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(10 * time.Minute))},
			Mode: tryon.ModeTest, Origins: []string{shopOrigin}, Scope: "generate read",
		}
		if mutate != nil {
			mutate(&c)
		}
		return c
	}
	mint := func(c clienttoken.Claims) string {
		s, err := clienttoken.Mint(secret, version, c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	expired := mint(claims(func(c *clienttoken.Claims) {
		c.IssuedAt = jwt.NewNumericDate(time.Now().Add(-20 * time.Minute))
		c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-5 * time.Minute))
	}))
	tooLong := mint(claims(func(c *clienttoken.Claims) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(2 * time.Hour)) }))
	wrongSecret, _ := clienttoken.Mint(clienttoken.SecretPrefix+"not-the-secret", version, claims(nil))
	unknownVersion, _ := clienttoken.Mint(secret, version+7, claims(nil))
	hs512 := func() string {
		tk := jwt.NewWithClaims(jwt.SigningMethodHS512, claims(nil))
		tk.Header["kid"] = "1"
		s, err := tk.SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}()
	none := func() string {
		tk := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil))
		tk.Header["kid"] = "1"
		s, err := tk.SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}()
	tampered := func() string {
		good := mint(claims(nil))
		other := mint(claims(func(c *clienttoken.Claims) { c.Subject = "bob" }))
		parts, otherParts := strings.Split(good, "."), strings.Split(other, ".")
		return parts[0] + "." + otherParts[1] + "." + parts[2]
	}()
	noSub := mint(claims(func(c *clienttoken.Claims) { c.Subject = "" }))
	badOrigin := mint(claims(func(c *clienttoken.Claims) { c.Origins = []string{"http://shop.example"} }))
	offline := mint(claims(nil))

	cases := []struct {
		name, method, path, token, origin string
		wantStatus                        int
		wantCode                          tryon.Code
		wantMsg                           string
	}{
		{"OfflineTokenWorks", "GET", "/generate/" + g.ID, offline, shopOrigin, 200, "", ""},
		{"WrongOrigin", "POST", "/generate", tok.Token, "https://evil.example", 403, tryon.CodeForbidden, "does not allow the origin https://evil.example"},
		{"NoOrigin", "POST", "/generate", tok.Token, "", 403, tryon.CodeForbidden, "no Origin header"},
		{"OriginWithTrailingSlash", "POST", "/generate", tok.Token, shopOrigin + "/", 403, tryon.CodeForbidden, "does not allow the origin"},
		{"ReadOnlyCannotGenerate", "POST", "/generate", readOnly.Token, shopOrigin, 403, tryon.CodeForbidden, `lacks the "generate" scope`},
		{"GenerateOnlyCannotRead", "GET", "/generate/" + g.ID, generateOnly.Token, shopOrigin, 403, tryon.CodeForbidden, `lacks the "read" scope`},
		{"NotOnList", "GET", "/generations", tok.Token, shopOrigin, 403, tryon.CodeForbidden, "client tokens can only call"},
		{"NotOnMetrics", "GET", "/metrics", tok.Token, shopOrigin, 403, tryon.CodeForbidden, "client tokens can only call"},
		{"CannotMintTokens", "POST", "/tokens", tok.Token, shopOrigin, 403, tryon.CodeForbidden, "client tokens can only call"},
		{"CannotDelete", "DELETE", "/generate/" + g.ID, offline, shopOrigin, 403, tryon.CodeForbidden, "client tokens cannot delete generations"},
		{"Expired", "POST", "/generate", expired, shopOrigin, 401, tryon.CodeUnauthorized, "expired"},
		{"LivesTooLong", "POST", "/generate", tooLong, shopOrigin, 401, tryon.CodeUnauthorized, "longer than 1 hour"},
		{"WrongSecret", "POST", "/generate", wrongSecret, shopOrigin, 401, tryon.CodeUnauthorized, "invalid client token"},
		{"UnknownVersion", "POST", "/generate", unknownVersion, shopOrigin, 401, tryon.CodeUnauthorized, "invalid client token"},
		{"AlgorithmHS512", "POST", "/generate", hs512, shopOrigin, 401, tryon.CodeUnauthorized, "invalid client token"},
		{"AlgorithmNone", "POST", "/generate", none, shopOrigin, 401, tryon.CodeUnauthorized, "invalid client token"},
		{"TamperedClaims", "POST", "/generate", tampered, shopOrigin, 401, tryon.CodeUnauthorized, "invalid client token"},
		{"NoSubject", "POST", "/generate", noSub, shopOrigin, 401, tryon.CodeUnauthorized, "sub must be"},
		{"HTTPOriginNotLocal", "POST", "/generate", badOrigin, "http://shop.example", 401, tryon.CodeUnauthorized, "must use https"},
		{"Garbage", "POST", "/generate", "eyJhbGciOiJIUzI1NiJ9.e30.x", shopOrigin, 401, tryon.CodeUnauthorized, "invalid client token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.method == "POST" {
				body = map[string]any{"prompt": "a hat"}
			}
			r := fromPage(env, tc.method, tc.path, tc.token, tc.origin, body)
			if r.Status != tc.wantStatus || r.Code != tc.wantCode || !strings.Contains(r.Error, tc.wantMsg) {
				t.Fatalf("got %d %q %q, want %d %q containing %q", r.Status, r.Code, r.Error, tc.wantStatus, tc.wantCode, tc.wantMsg)
			}
			// The page can read why it was refused.
			if tc.origin != "" && r.Header.Get("Access-Control-Allow-Origin") != tc.origin {
				t.Fatalf("Access-Control-Allow-Origin = %q, want %q", r.Header.Get("Access-Control-Allow-Origin"), tc.origin)
			}
		})
	}

	t.Run("POSTTokens", func(t *testing.T) {
		long := strings.Repeat("u", 129)
		for _, tc := range []struct {
			name  string
			key   string
			body  map[string]any
			want  int
			field string
		}{
			{"AdminKey", admin, map[string]any{"user": "a", "origins": []string{shopOrigin}}, 403, ""},
			{"NoKey", "", map[string]any{"user": "a", "origins": []string{shopOrigin}}, 401, ""},
			{"NoUser", shop.TestKey, map[string]any{"origins": []string{shopOrigin}}, 400, "user"},
			{"LongUser", shop.TestKey, map[string]any{"user": long, "origins": []string{shopOrigin}}, 400, "user"},
			{"NoOrigins", shop.TestKey, map[string]any{"user": "a"}, 400, "origins"},
			{"PathInOrigin", shop.TestKey, map[string]any{"user": "a", "origins": []string{shopOrigin + "/shop"}}, 400, "origins"},
			{"PlainHTTP", shop.TestKey, map[string]any{"user": "a", "origins": []string{"http://shop.example"}}, 400, "origins"},
			{"ElevenOrigins", shop.TestKey, map[string]any{"user": "a", "origins": strings.Split(strings.Repeat(shopOrigin+",", 11)[:len(shopOrigin)*11+10], ",")}, 400, "origins"},
			{"TooLong", shop.TestKey, map[string]any{"user": "a", "origins": []string{shopOrigin}, "expires_in": 3601}, 400, "expires_in"},
			{"ZeroLifetime", shop.TestKey, map[string]any{"user": "a", "origins": []string{shopOrigin}, "expires_in": 0}, 400, "expires_in"},
			{"UnknownScope", shop.TestKey, map[string]any{"user": "a", "origins": []string{shopOrigin}, "scopes": []string{"admin"}}, 400, "scopes"},
			{"NoScopes", shop.TestKey, map[string]any{"user": "a", "origins": []string{shopOrigin}, "scopes": []string{}}, 400, "scopes"},
			{"ZeroGenerations", shop.TestKey, map[string]any{"user": "a", "origins": []string{shopOrigin}, "max_generations": 0}, 400, "max_generations"},
			{"UnknownField", shop.TestKey, map[string]any{"user": "a", "origins": []string{shopOrigin}, "sub": "x"}, 400, "sub"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := env.Do(http.MethodPost, "/tokens", tc.key, tc.body)
				if r.Status != tc.want {
					t.Fatalf("got %d %s, want %d", r.Status, r.Body, tc.want)
				}
				if tc.field != "" && (len(r.Details) != 1 || r.Details[0].Field != tc.field) {
					t.Fatalf("details %+v, want one for %s", r.Details, tc.field)
				}
			})
		}
	})
}

func TestClientTokenPreflight(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	for _, path := range []string{"/generate", "/generate/" + uuid.NewString()} {
		r := env.Do(http.MethodOptions, path, "", nil, "Origin", "https://any.example",
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization, content-type")
		h := r.Header
		if r.Status != 204 || h.Get("Access-Control-Allow-Origin") != "https://any.example" ||
			!strings.Contains(h.Get("Access-Control-Allow-Headers"), "authorization") ||
			!strings.Contains(h.Get("Access-Control-Allow-Headers"), "content-type") {
			t.Fatalf("%s: %d %v", path, r.Status, h)
		}
	}
	// Routes tokens cannot call keep the static list (empty here).
	r := env.Do(http.MethodOptions, "/generations", "", nil, "Origin", "https://any.example", "Access-Control-Request-Method", "GET")
	if r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("/generations admits any origin: %v", r.Header)
	}
	// A secret key from a browser on an unlisted origin is not admitted.
	shop := env.Tenant(apptest.TenantOptions{})
	r = env.Do(http.MethodPost, "/generate", shop.TestKey, map[string]any{"prompt": "x"}, "Origin", "https://any.example")
	if r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("a secret-key request admits any origin: %v", r.Header)
	}
}

func TestClientTokenSecretRotation(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	ctx := context.Background()
	before := issueToken(t, env, shop.TestKey, map[string]any{"user": "alice", "origins": []string{shopOrigin}})
	gen := func(env *apptest.Env, token string) *apptest.Response {
		return fromPage(env, http.MethodPost, "/generate", token, shopOrigin, map[string]any{"prompt": "a hat"})
	}
	if r := gen(env, before.Token); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}

	secret, err := clienttoken.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	v2, err := env.Store.RotateTokenSecret(ctx, shop.Client.ID, secret, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// A fresh instance on the same database (no cached secrets) sees what
	// every instance sees once its cache turns over.
	fresh := apptest.New(t, apptest.Options{DatabaseURL: env.App.Config.DatabaseURL})
	if r := gen(fresh, before.Token); r.Status != 200 {
		t.Fatalf("within the grace period the old secret's token is refused: %d %s", r.Status, r.Body)
	}
	after := issueToken(t, fresh, shop.TestKey, map[string]any{"user": "alice", "origins": []string{shopOrigin}})
	if r := gen(fresh, after.Token); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	// POST /tokens signs with the new secret: an offline minter with it
	// agrees on the version.
	head, _, _ := strings.Cut(after.Token, ".")
	if !strings.Contains(decodeSegment(t, head), `"kid":"`+itoa(v2)+`"`) {
		t.Fatalf("header %s does not name version %d", decodeSegment(t, head), v2)
	}

	// Rotating again without grace ends both older secrets at once.
	third, _ := clienttoken.NewSecret()
	if _, err := env.Store.RotateTokenSecret(ctx, shop.Client.ID, third, 0); err != nil {
		t.Fatal(err)
	}
	again := apptest.New(t, apptest.Options{DatabaseURL: env.App.Config.DatabaseURL})
	for _, tok := range []string{before.Token, after.Token} {
		if r := gen(again, tok); r.Status != 401 || r.Code != tryon.CodeUnauthorized {
			t.Fatalf("a token of a retired secret: %d %s", r.Status, r.Body)
		}
	}
	newest := issueToken(t, again, shop.TestKey, map[string]any{"user": "alice", "origins": []string{shopOrigin}})
	if r := gen(again, newest.Token); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
}

func TestClientTokenCapsHoldUnderConcurrency(t *testing.T) {
	env := apptest.New(t, apptest.Options{Settings: map[string]string{"FAKE_LATENCY": "20ms"}})
	shop := env.Tenant(apptest.TenantOptions{RequestsPerMinute: 10000, MaxConcurrent: 100})
	if _, err := env.Store.Pool().Exec(context.Background(),
		`UPDATE client_token_keys SET end_user_requests_per_minute = 10000 WHERE client_id = $1`, shop.Client.ID); err != nil {
		t.Fatal(err)
	}
	const requests = 40
	run := func(t *testing.T, body map[string]any) (ok, capped int) {
		tok := issueToken(t, env, shop.LiveKey, body)
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range requests {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := fromPage(env, http.MethodPost, "/generate", tok.Token, shopOrigin, map[string]any{"prompt": "a hat"})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case r.Status == 200:
					ok++
				case r.Status == 403 && strings.Contains(r.Error, "client token"):
					capped++
				default:
					t.Errorf("unexpected answer %d %s", r.Status, r.Body)
				}
			}()
		}
		wg.Wait()
		return ok, capped
	}
	t.Run("MaxGenerations", func(t *testing.T) {
		ok, capped := run(t, map[string]any{"user": "alice", "origins": []string{shopOrigin}, "max_generations": 3})
		if ok != 3 || capped != requests-3 {
			t.Fatalf("got %d made and %d refused, want 3 and %d", ok, capped, requests-3)
		}
	})
	t.Run("MaxSpend", func(t *testing.T) {
		// banana costs 40,000 micro-dollars by default: 100,000 pays for two.
		ok, capped := run(t, map[string]any{"user": "bob", "origins": []string{shopOrigin}, "max_spend_micros": 100000})
		if ok != 2 || capped != requests-2 {
			t.Fatalf("got %d made and %d refused, want 2 and %d", ok, capped, requests-2)
		}
		var spent int64
		if err := env.Store.Pool().QueryRow(context.Background(),
			`SELECT coalesce(sum(cost_micros), 0) FROM generations WHERE client_id = $1 AND end_user = 'bob'`, shop.Client.ID).Scan(&spent); err != nil {
			t.Fatal(err)
		}
		if spent > 100000 {
			t.Fatalf("spent %d, over the cap of 100000", spent)
		}
	})
}

func TestClientTokenEndUserRateLimit(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{RequestsPerMinute: 1000})
	alice := issueToken(t, env, shop.TestKey, map[string]any{"user": "alice", "origins": []string{shopOrigin}})
	bob := issueToken(t, env, shop.TestKey, map[string]any{"user": "bob", "origins": []string{shopOrigin}})
	if _, err := env.Store.Pool().Exec(context.Background(),
		`UPDATE client_token_keys SET end_user_requests_per_minute = 2 WHERE client_id = $1`, shop.Client.ID); err != nil {
		t.Fatal(err)
	}
	var id string
	for i := range 2 {
		r := fromPage(env, http.MethodPost, "/generate", alice.Token, shopOrigin, map[string]any{"prompt": "a hat"})
		if r.Status != 200 {
			t.Fatalf("request %d: %d %s", i, r.Status, r.Body)
		}
		id = r.Generation(t).ID
	}
	for _, req := range []struct{ method, path string }{{"POST", "/generate"}, {"GET", "/generate/" + id}} {
		var body any
		if req.method == "POST" {
			body = map[string]any{"prompt": "a hat"}
		}
		r := fromPage(env, req.method, req.path, alice.Token, shopOrigin, body)
		if r.Status != 429 || r.Code != tryon.CodeRateLimited || r.Header.Get("Retry-After") == "" || !strings.Contains(r.Error, "end user") {
			t.Fatalf("%s %s: got %d %s, want 429 with Retry-After", req.method, req.path, r.Status, r.Body)
		}
	}
	// Another end user of the same tenant is not held back by alice.
	if r := fromPage(env, http.MethodPost, "/generate", bob.Token, shopOrigin, map[string]any{"prompt": "a hat"}); r.Status != 200 {
		t.Fatalf("bob: %d %s", r.Status, r.Body)
	}
}

func decodeSegment(t *testing.T, seg string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestClientTokenIdempotencyKeysNeverCrossEndUsers: an Idempotency-Key is
// the tenant's, so two end users can send the same one with the same body;
// the second must never be shown the first's generation, whether the
// inputs are inline or fetched from URLs (which take another admission
// path).
func TestClientTokenIdempotencyKeysNeverCrossEndUsers(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{RequestsPerMinute: 1000})
	pngBytes := tinyTestPNG(t)
	photos := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(pngBytes)
	}))
	t.Cleanup(photos.Close)
	inline := "data:image/png;base64," + base64.StdEncoding.EncodeToString(pngBytes)
	for name, images := range map[string][2]string{
		"Inline": {inline, inline},
		"URLs":   {photos.URL + "/person.png", photos.URL + "/garment.png"},
	} {
		t.Run(name, func(t *testing.T) {
			body := map[string]any{"prompt": "try it on", "person_image": images[0], "garment_image": images[1]}
			alice := issueToken(t, env, shop.TestKey, map[string]any{"user": "alice", "origins": []string{shopOrigin}})
			bob := issueToken(t, env, shop.TestKey, map[string]any{"user": "bob", "origins": []string{shopOrigin}})
			send := func(tok string) *apptest.Response {
				return env.Do(http.MethodPost, "/generate", "", body,
					"Authorization", "Bearer "+tok, "Origin", shopOrigin, "Idempotency-Key", "look-"+name)
			}
			first := send(alice.Token)
			if first.Status != 200 {
				t.Fatalf("alice: %d %s", first.Status, first.Body)
			}
			if again := send(alice.Token); again.Status != 200 || again.Header.Get("Idempotent-Replayed") != "true" ||
				again.Generation(t).ID != first.Generation(t).ID {
				t.Fatalf("alice's own replay: %d %v %s", again.Status, again.Header, again.Body)
			}
			r := send(bob.Token)
			if r.Status != 422 || r.Code != tryon.CodeIdempotencyMismatch || strings.Contains(string(r.Body), first.Generation(t).ID) {
				t.Fatalf("bob with alice's Idempotency-Key: %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestRevokingTheTokensKeyTurnsTokensOff: a tenant's tokens of one mode act
// as its "client tokens" key of that mode; revoking that key ends them.
func TestRevokingTheTokensKeyTurnsTokensOff(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	test := issueToken(t, env, shop.TestKey, map[string]any{"user": "alice", "origins": []string{shopOrigin}})
	live := issueToken(t, env, shop.LiveKey, map[string]any{"user": "alice", "origins": []string{shopOrigin}})
	var keyID string
	if err := env.Store.Pool().QueryRow(context.Background(),
		`SELECT key_id::text FROM client_token_keys WHERE client_id = $1 AND mode = 'test'`, shop.Client.ID).Scan(&keyID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.RevokeKey(context.Background(), keyID); err != nil {
		t.Fatal(err)
	}
	fresh := apptest.New(t, apptest.Options{DatabaseURL: env.App.Config.DatabaseURL})
	if r := fromPage(fresh, http.MethodPost, "/generate", test.Token, shopOrigin, map[string]any{"prompt": "a hat"}); r.Status != 401 {
		t.Fatalf("a test token after its key was revoked: %d %s", r.Status, r.Body)
	}
	if r := fromPage(fresh, http.MethodPost, "/generate", live.Token, shopOrigin, map[string]any{"prompt": "a hat"}); r.Status != 200 {
		t.Fatalf("a live token, whose key stands: %d %s", r.Status, r.Body)
	}
}

// TestClientTokenOnItsDeploymentsOwnPage: a page served from the API's own
// origin polls GET /generate/:id as browsers send a same-origin GET, with
// Sec-Fetch-Site and no Origin. A token naming that origin reads; one that
// does not is refused, as is a request with neither header.
func TestClientTokenOnItsDeploymentsOwnPage(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	u, err := url.Parse(env.URL)
	if err != nil {
		t.Fatal(err)
	}
	own := u.Scheme + "://" + u.Host
	tok := issueToken(t, env, shop.TestKey, map[string]any{"user": "alice", "origins": []string{own}})
	elsewhere := issueToken(t, env, shop.TestKey, map[string]any{"user": "alice", "origins": []string{shopOrigin}})
	made := fromPage(env, http.MethodPost, "/generate", tok.Token, own, map[string]any{"prompt": "a hat"})
	var g struct {
		ID string `json:"id"`
	}
	if made.Status != http.StatusOK || json.Unmarshal(made.Data, &g) != nil {
		t.Fatalf("POST /generate: %d %s", made.Status, made.Body)
	}
	read := func(token string, headers ...string) *apptest.Response {
		return env.Do(http.MethodGet, "/generate/"+g.ID, "", nil, append([]string{"Authorization", "Bearer " + token}, headers...)...)
	}
	if r := read(tok.Token, "Sec-Fetch-Site", "same-origin"); r.Status != http.StatusOK {
		t.Errorf("same-origin read: got %d %s, want 200", r.Status, r.Body)
	}
	if r := read(elsewhere.Token, "Sec-Fetch-Site", "same-origin"); r.Status != http.StatusForbidden {
		t.Errorf("same-origin read with a token for another origin: got %d, want 403", r.Status)
	}
	if r := read(tok.Token, "Sec-Fetch-Site", "cross-site"); r.Status != http.StatusForbidden {
		t.Errorf("cross-site read without Origin: got %d, want 403", r.Status)
	}
	if r := read(tok.Token); r.Status != http.StatusForbidden || !strings.Contains(r.Error, "no Origin header") {
		t.Errorf("read with neither header: got %d %q, want 403", r.Status, r.Error)
	}
}
