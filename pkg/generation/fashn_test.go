package generation_test

import (
	"image/color"
	"testing"

	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/fal/falfake"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// TestFashnServiceThroughTheAPI runs the same try-on request on the fashn
// service: through fal's wire format for a live key (billed at the fashn
// price, not billed when FASHN refuses), on the fake for a test key.
func TestFashnServiceThroughTheAPI(t *testing.T) {
	fake := falfake.New()
	t.Cleanup(fake.Close)
	env := apptest.New(t, apptest.Options{Settings: map[string]string{
		"FAL_KEY": falfake.DefaultKey, "FAL_BASE_URL": fake.URL(), "PRICE_FASHN_MICROS": "90000"}})
	shop := env.Tenant(apptest.TenantOptions{})
	body := map[string]any{"task": "tryon", "service": "fashn", "person_image": pngDataURL(t, 30, 40, color.White),
		"output_format": "jpeg", "seed": 5,
		"garments": []map[string]any{{"image": pngDataURL(t, 8, 8, color.Black), "category": "top", "photo_type": "model"}}}

	r := env.Generate(shop.LiveKey, body)
	g := r.Generation(t)
	if r.Status != 200 || g.Provider != "fal" || g.Model != falfake.FashnEndpoint || g.CostMicros != 90_000 ||
		g.Output.ContentType != "image/jpeg" || g.Output.Width != falfake.FashnWidth || g.Output.Height != falfake.FashnHeight {
		t.Fatalf("live: %d %s", r.Status, r.Body)
	}
	if n := len(fake.FashnRequests()); n != 1 {
		t.Fatalf("%d FASHN calls, want 1", n)
	}

	fake.SetFashnScenario(falfake.ContentPolicy)
	blocked := env.Generate(shop.LiveKey, body)
	if blocked.Code != tryon.CodeContentBlocked || blocked.Generation(t).CostMicros != 0 {
		t.Fatalf("blocked: %d %s", blocked.Status, blocked.Body)
	}

	test := env.Generate(shop.TestKey, body)
	tg := test.Generation(t)
	if test.Status != 200 || tg.Provider != "fake" || tg.Output.Width != falfake.FashnWidth || tg.CostMicros != 0 {
		t.Fatalf("test key: %d %s", test.Status, test.Body)
	}
	if n := len(fake.FashnRequests()); n != 2 {
		t.Fatalf("%d FASHN calls after the test key's request, want 2", n)
	}

	notTryon := env.Generate(shop.TestKey, map[string]any{"prompt": "a hat", "service": "fashn"})
	if notTryon.Status != 400 || len(notTryon.Details) == 0 || notTryon.Details[0].Field != "task" {
		t.Fatalf("fashn without task tryon: %d %s", notTryon.Status, notTryon.Body)
	}
	if l := readLedger(t, env, shop.Client.ID); l.charged != 90_000 || l.usageRows != 90_000 || l.reserved != 0 {
		t.Fatalf("ledger %+v, want one fashn charge", l)
	}
}

// TestFashnNeedsAFalKeyLive checks that a deployment without a fal key
// refuses live fashn requests with a 400 naming the service, and still
// serves them to test keys.
func TestFashnNeedsAFalKeyLive(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	body := map[string]any{"task": "tryon", "service": "fashn", "person_image": pngDataURL(t, 30, 40, color.White),
		"garments": []map[string]any{{"image": pngDataURL(t, 8, 8, color.Black), "category": "bottom"}}}
	r := env.Generate(shop.LiveKey, body)
	if r.Status != 400 || len(r.Details) != 1 || r.Details[0].Field != "service" {
		t.Fatalf("live without fal: %d %s", r.Status, r.Body)
	}
	if r := env.Generate(shop.TestKey, body); r.Status != 200 {
		t.Fatalf("test key: %d %s", r.Status, r.Body)
	}
}
