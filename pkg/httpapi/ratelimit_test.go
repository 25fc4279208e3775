package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/tryonhq/tryon/pkg/apptest"
)

// TestEveryAuthenticatedRequestCountsOnce sends requests that end at
// different points (a broken input image, a bad body, a read) and checks
// that each counts once against the key's limit and says so truly.
func TestEveryAuthenticatedRequestCountsOnce(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{RequestsPerMinute: 10})
	garment := "data:image/png;base64,iVBORw0KGgo="
	requests := []struct {
		name string
		do   func() *apptest.Response
	}{
		{"NotBase64", func() *apptest.Response {
			return env.Generate(shop.TestKey, map[string]any{"prompt": "x", "person_image": "data:image/png;base64,!!!not base64!!!", "garment_image": garment})
		}},
		{"NotAnImage", func() *apptest.Response {
			return env.Generate(shop.TestKey, map[string]any{"prompt": "x", "person_image": "data:image/png;base64,aGVsbG8gd29ybGQ=", "garment_image": garment})
		}},
		{"BadBody", func() *apptest.Response {
			return env.Generate(shop.TestKey, map[string]any{"prompt": 7})
		}},
		{"Read", func() *apptest.Response { return env.Do(http.MethodGet, "/generations", shop.TestKey, nil) }},
	}
	for i, rq := range requests {
		r := rq.do()
		var left, reset int
		if _, err := fmt.Sscanf(r.Header.Get("RateLimit"), `"minute";r=%d;t=%d`, &left, &reset); err != nil {
			t.Fatalf("%s: RateLimit %q: %v (%d %s)", rq.name, r.Header.Get("RateLimit"), err, r.Status, r.Body)
		}
		if want := 10 - (i + 1); left != want || reset <= 0 {
			t.Fatalf("%s: %d %s with RateLimit %q, want r=%d and a reset ahead", rq.name, r.Status, r.Code, r.Header.Get("RateLimit"), want)
		}
	}
}
