package generation_test

import (
	"image/color"
	"testing"

	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/tryon"
	"github.com/tryonhq/tryon/pkg/vertex/vertexfake"
)

// TestVTOServiceThroughTheAPI runs the same try-on request on Google's
// Virtual Try-On: a live key goes through the service account's token and
// the predict endpoint, is billed at the vto price, and is not billed when
// the safety filter removes the output.
func TestVTOServiceThroughTheAPI(t *testing.T) {
	fake := vertexfake.New()
	t.Cleanup(fake.Close)
	env := apptest.New(t, apptest.Options{Settings: map[string]string{
		"VERTEX_CREDENTIALS_JSON": string(fake.CredentialsJSON()), "VERTEX_BASE_URL": fake.URL(), "PRICE_VTO_MICROS": "70000"}})
	shop := env.Tenant(apptest.TenantOptions{})
	body := map[string]any{"task": "tryon", "service": "vto", "person_image": pngDataURL(t, 60, 80, color.White),
		"garments": []map[string]any{{"image": pngDataURL(t, 8, 8, color.Black), "category": "one-piece"}}}
	r := env.Generate(shop.LiveKey, body)
	g := r.Generation(t)
	if r.Status != 200 || g.Provider != "vertex" || g.Model != vertexfake.Model || g.CostMicros != 70_000 ||
		g.Output.Width != 60 || g.Output.Height != 80 {
		t.Fatalf("live: %d %s", r.Status, r.Body)
	}
	fake.SetScenario(vertexfake.Filtered)
	blocked := env.Generate(shop.LiveKey, body)
	if blocked.Code != tryon.CodeContentBlocked || blocked.Generation(t).CostMicros != 0 {
		t.Fatalf("filtered: %d %s", blocked.Status, blocked.Body)
	}
	if test := env.Generate(shop.TestKey, body); test.Status != 200 || test.Generation(t).Output.Width != 64 {
		t.Fatalf("test key: %d %s", test.Status, test.Body)
	}
	if len(fake.Predictions()) != 2 {
		t.Fatalf("%d predictions, want 2 (the test key's request stays on the fake provider)", len(fake.Predictions()))
	}
	if l := readLedger(t, env, shop.Client.ID); l.charged != 70_000 || l.reserved != 0 {
		t.Fatalf("ledger %+v", l)
	}
}
