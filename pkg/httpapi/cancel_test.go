package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/bridgetest"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// A client token cancels its own end user's generations with the generate
// scope; another end user's, the tenant's own, or a read-only token's are
// refused and left running.
func TestClientTokenCancel(t *testing.T) {
	env := apptest.New(t, apptest.Options{Settings: map[string]string{"FAKE_VIDEO_LATENCY": "1h"}})
	shop := env.Tenant(apptest.TenantOptions{})
	alice := issueToken(t, env, shop.TestKey, map[string]any{"user": "alice", "origins": []string{shopOrigin}})
	bob := issueToken(t, env, shop.TestKey, map[string]any{"user": "bob", "origins": []string{shopOrigin}})
	reader := issueToken(t, env, shop.TestKey, map[string]any{"user": "alice", "origins": []string{shopOrigin}, "scopes": []string{"read"}})
	start := func(token string) string {
		t.Helper()
		r := env.Do(http.MethodPost, "/generate", "", map[string]any{"prompt": "a walk", "service": "veo3"},
			"Authorization", "Bearer "+token, "Origin", shopOrigin, "Prefer", "wait=0")
		if r.Status != 202 {
			t.Fatalf("start: %d %s", r.Status, r.Body)
		}
		return r.Generation(t).ID
	}
	cancel := func(token, id string) *apptest.Response {
		return fromPage(env, http.MethodPost, "/generate/"+id+"/cancel", token, shopOrigin, nil)
	}
	mine := start(alice.Token)
	own := env.Generate(shop.TestKey, map[string]any{"prompt": "a walk", "service": "veo3"}, "Prefer", "wait=0").Generation(t).ID

	for name, c := range map[string]struct {
		r    *apptest.Response
		want int
	}{
		"another end user":     {cancel(bob.Token, mine), 404},
		"the tenant's own job": {cancel(alice.Token, own), 404},
		"a read-only token":    {cancel(reader.Token, mine), 403},
	} {
		if c.r.Status != c.want {
			t.Errorf("%s: %d %s, want %d", name, c.r.Status, c.r.Body, c.want)
		}
	}
	for _, id := range []string{mine, own} {
		if g := env.Do(http.MethodGet, "/generate/"+id, shop.TestKey, nil).Generation(t); g.Status != tryon.StatusProcessing {
			t.Fatalf("a refused cancel changed %s: %s", id, g.Status)
		}
	}
	r := cancel(alice.Token, mine)
	if r.Status != 200 || r.Generation(t).Status != tryon.StatusCanceled || r.Header.Get("Access-Control-Allow-Origin") != shopOrigin {
		t.Fatalf("alice cancels her own: %d %v %s", r.Status, r.Header, r.Body)
	}
}

// Whichever path Vercel hands the function (the public one or the
// rewrite's destination), the cancel finds the generation's id.
func TestCancelInBothPathModes(t *testing.T) {
	for _, mode := range []bridgetest.PathMode{bridgetest.OriginalPath, bridgetest.DestinationPath} {
		env := apptest.New(t, apptest.Options{PathMode: mode, Settings: map[string]string{"FAKE_VIDEO_LATENCY": "1h"}})
		shop := env.Tenant(apptest.TenantOptions{})
		job := env.Generate(shop.TestKey, map[string]any{"prompt": "a walk", "service": "veo3"}, "Prefer", "wait=0").Generation(t)
		r := env.Do(http.MethodPost, "/generate/"+job.ID+"/cancel", shop.TestKey, nil)
		if r.Status != 200 || r.Generation(t).ID != job.ID || r.Generation(t).Status != tryon.StatusCanceled {
			t.Fatalf("mode %d: %d %s", mode, r.Status, r.Body)
		}
		// The function's own path works too, as Vercel serves it.
		again := env.Do(http.MethodPost, "/api/cancel?id="+job.ID, shop.TestKey, nil)
		if again.Status != 200 || again.Generation(t).Status != tryon.StatusCanceled {
			t.Fatalf("mode %d, /api/cancel: %d %s", mode, again.Status, again.Body)
		}
	}
}

// The local router (`tryon dev`, `tryon serve`) serves the route as
// vercel.json does, with 405 and Allow for other methods.
func TestCancelOnTheLocalRouter(t *testing.T) {
	env := apptest.New(t, apptest.Options{Settings: map[string]string{"FAKE_VIDEO_LATENCY": "1h"}})
	local := httptest.NewServer(env.App.Handler())
	t.Cleanup(local.Close)
	env.URL, env.Client = local.URL, local.Client()
	shop := env.Tenant(apptest.TenantOptions{})
	job := env.Generate(shop.TestKey, map[string]any{"prompt": "a walk", "service": "veo3"}, "Prefer", "wait=0").Generation(t)
	if r := env.Do(http.MethodGet, "/generate/"+job.ID+"/cancel", shop.TestKey, nil); r.Status != 405 || r.Header.Get("Allow") != "POST, OPTIONS" {
		t.Fatalf("GET: %d %v %s", r.Status, r.Header, r.Body)
	}
	r := env.Do(http.MethodPost, "/generate/"+job.ID+"/cancel", shop.TestKey, nil)
	if r.Status != 200 || r.Generation(t).Status != tryon.StatusCanceled {
		t.Fatalf("POST: %d %s", r.Status, r.Body)
	}
	if g := env.Do(http.MethodGet, "/generate/"+job.ID, shop.TestKey, nil).Generation(t); g.Status != tryon.StatusCanceled {
		t.Fatalf("GET /generate/:id after the cancel: %s", g.Status)
	}
}
