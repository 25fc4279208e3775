package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/tryonhq/tryon/pkg/apptest"
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
