package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/tryon"
)

func TestAuthentication(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	ctx := context.Background()
	shop := env.Tenant(apptest.TenantOptions{})
	suspended := env.Tenant(apptest.TenantOptions{})
	if _, err := env.Store.ChangeClient(ctx, suspended.Client.ID, postgres.ClientChange{Status: tryon.ClientSuspended, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	revoked := env.Key(&shop.Client.ID, tryon.KeyLive, nil)
	if _, err := env.Store.RevokeKey(ctx, revoked[:len("tryon_live_")+6]); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Minute)
	expired := env.Key(&shop.Client.ID, tryon.KeyLive, &past)
	future := time.Now().Add(time.Hour)
	expiring := env.Key(&shop.Client.ID, tryon.KeyTest, &future)
	admin := env.Key(nil, tryon.KeyAdmin, nil)
	unknown := strings.Replace(shop.LiveKey, "tryon_live_", "tryon_test_", 1) // well-formed prefix, wrong checksum

	const invalid = "invalid API key"
	cases := []struct {
		name       string
		method     string
		path       string
		headers    []string
		wantStatus int
		wantCode   tryon.Code
		wantMsg    string
	}{
		{"Missing", "GET", "/generations", nil, 401, tryon.CodeUnauthorized, "missing API key"},
		{"EmptyHeader", "GET", "/generations", []string{"X-Client-Key", "  "}, 401, tryon.CodeUnauthorized, "missing API key"},
		{"Malformed", "GET", "/generations", []string{"X-Client-Key", "hello"}, 401, tryon.CodeUnauthorized, invalid},
		{"BadChecksum", "GET", "/generations", []string{"X-Client-Key", unknown}, 401, tryon.CodeUnauthorized, invalid},
		{"Revoked", "GET", "/generations", []string{"X-Client-Key", revoked}, 401, tryon.CodeUnauthorized, invalid},
		{"Expired", "GET", "/generations", []string{"X-Client-Key", expired}, 401, tryon.CodeUnauthorized, invalid},
		{"NotYetExpired", "GET", "/generations", []string{"X-Client-Key", expiring}, 200, "", ""},
		{"BearerMalformed", "GET", "/generations", []string{"Authorization", "Basic abc"}, 401, tryon.CodeUnauthorized, invalid},
		{"SuspendedTenant", "GET", "/generations", []string{"X-Client-Key", suspended.LiveKey}, 403, tryon.CodeForbidden, "suspended"},
		{"AdminOnTenantRoute", "GET", "/generations", []string{"X-Client-Key", admin}, 403, tryon.CodeForbidden, "admin keys cannot"},
		{"AdminCannotGenerate", "POST", "/generate", []string{"X-Client-Key", admin, "Content-Type", "application/json"}, 403, tryon.CodeForbidden, "admin keys cannot"},
		{"ClientKeyHeader", "GET", "/generations", []string{"X-Client-Key", shop.LiveKey}, 200, "", ""},
		{"BearerHeader", "GET", "/generations", []string{"Authorization", "Bearer " + shop.TestKey}, 200, "", ""},
		{"BearerLowerCase", "GET", "/generations", []string{"Authorization", "bearer " + shop.LiveKey}, 200, "", ""},
		{"SameKeyInBothHeaders", "GET", "/generations", []string{"X-Client-Key", shop.LiveKey, "Authorization", "Bearer " + shop.LiveKey}, 200, "", ""},
		{"TwoDifferentKeys", "GET", "/generations", []string{"X-Client-Key", shop.LiveKey, "Authorization", "Bearer " + shop.TestKey}, 401, tryon.CodeUnauthorized, "two different API keys"},
		{"AKeyAndAWrongOne", "GET", "/generations", []string{"X-Client-Key", "hello", "Authorization", "Bearer " + shop.TestKey}, 401, tryon.CodeUnauthorized, "two different API keys"},
		{"AdminReadsAGeneration", "GET", "/generate/" + "00000000-0000-7000-8000-000000000000", []string{"X-Client-Key", admin}, 404, tryon.CodeNotFound, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.method == "POST" {
				body = `{"prompt":"x"}`
			}
			r := env.Do(tc.method, tc.path, "", body, tc.headers...)
			if r.Status != tc.wantStatus || r.Code != tc.wantCode {
				t.Fatalf("got %d %q, want %d %q\n%s", r.Status, r.Code, tc.wantStatus, tc.wantCode, r.Body)
			}
			if !strings.Contains(r.Error, tc.wantMsg) {
				t.Fatalf("message %q does not contain %q", r.Error, tc.wantMsg)
			}
			if r.Status == 401 && r.Header.Get("RateLimit") != "" {
				t.Fatalf("an unauthenticated response carries RateLimit headers")
			}
			if r.Status == 200 && (r.Header.Get("RateLimit") == "" || r.Header.Get("RateLimit-Policy") == "") {
				t.Fatalf("an authenticated response lacks RateLimit headers: %v", r.Header)
			}
		})
	}
	// Two x-client-key headers with different keys are refused too.
	req, _ := http.NewRequest(http.MethodGet, env.URL+"/generations", nil)
	req.Header.Add("X-Client-Key", shop.LiveKey)
	req.Header.Add("X-Client-Key", shop.TestKey)
	resp, err := env.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("two x-client-key headers: %d", resp.StatusCode)
	}
	// Every wrong key reads the same: no oracle for which keys exist.
	seen := map[string]bool{}
	for _, k := range []string{"hello", unknown, revoked, expired} {
		r := env.Do(http.MethodGet, "/generations", k, nil)
		seen[r.Error] = true
	}
	if len(seen) != 1 {
		t.Fatalf("invalid keys produce different messages: %v", seen)
	}
}
