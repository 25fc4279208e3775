package generation_test

import (
	"fmt"
	"testing"

	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/gemini/geminifake"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// TestVeoOperationErrorsEndTheJob: a Veo operation that finished with an
// error is answered at once by its code (a rate limit or an outage is 503
// upstream_unavailable, worth a new request later; anything else 502), the
// generation fails unbilled, and the finished operation is polled once,
// not again until the wait runs out.
func TestVeoOperationErrorsEndTheJob(t *testing.T) {
	env, fake := geminiEnv(t, nil)
	for _, tc := range []struct {
		code   int
		status int
		want   tryon.Code
	}{
		{8, 503, tryon.CodeUpstreamUnavailable},
		{14, 503, tryon.CodeUpstreamUnavailable},
		{3, 502, tryon.CodeUpstreamError},
	} {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			shop := env.Tenant(apptest.TenantOptions{})
			polls := fake.Count(geminifake.RouteOperation)
			r := env.Generate(shop.LiveKey, map[string]any{"prompt": "a coat " + geminifake.TokenVeoErrorWith(tc.code), "service": "veo3"},
				"Prefer", "wait=10")
			if r.Status != tc.status || r.Code != tc.want || r.Generation(t).Status != "failed" {
				t.Fatalf("got %d %s", r.Status, r.Body)
			}
			if got := fake.Count(geminifake.RouteOperation) - polls; got != 1 {
				t.Fatalf("the finished operation was polled %d times, want once", got)
			}
			if l := readLedger(t, env, shop.Client.ID); l.charged != 0 || l.reserved != 0 || l.processing != 0 {
				t.Fatalf("ledger %+v", l)
			}
		})
	}
}
