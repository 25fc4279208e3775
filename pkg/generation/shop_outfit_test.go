package generation_test

import (
	"bytes"
	"image/color"
	"testing"

	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/fal/falfake"
	"github.com/tryonhq/tryon/pkg/gemini/geminifake"
	"github.com/tryonhq/tryon/pkg/tryon"
	"github.com/tryonhq/tryon/pkg/vertex/vertexfake"
)

// TestShopOutfitRunsOnEveryTryonService is a shop's request as it would
// send it: this top and these trousers on this person, three variants, as
// JPEG, no prompt (a seed, so that the variants are reproducible). The
// same body runs on Nano Banana (the Gemini API), on
// FASHN through fal and on Google's Virtual Try-On (Vertex AI), each
// against a fake speaking its wire format, and each answers three distinct
// JPEGs billed at three times the service's price.
func TestShopOutfitRunsOnEveryTryonService(t *testing.T) {
	fal := falfake.New()
	t.Cleanup(fal.Close)
	vertex := vertexfake.New()
	t.Cleanup(vertex.Close)
	env, gemini := geminiEnv(t, map[string]string{
		"FAL_KEY": falfake.DefaultKey, "FAL_BASE_URL": fal.URL(),
		"VERTEX_CREDENTIALS_JSON": string(vertex.CredentialsJSON()), "VERTEX_BASE_URL": vertex.URL(),
		"PRICE_BANANA_MICROS": "40000", "PRICE_FASHN_MICROS": "90000", "PRICE_VTO_MICROS": "70000"})
	shop := env.Tenant(apptest.TenantOptions{})
	outfit := func(service string) map[string]any {
		return map[string]any{
			"task": "tryon", "service": service, "num_outputs": 3, "output_format": "jpeg", "seed": 11,
			"person_image": pngDataURL(t, 60, 80, color.White),
			"garments": []map[string]any{
				{"image": pngDataURL(t, 8, 8, color.RGBA{R: 200, A: 255}), "category": "top"},
				{"image": pngDataURL(t, 8, 8, color.RGBA{B: 200, A: 255}), "category": "bottom"},
			},
		}
	}
	for _, c := range []struct {
		service string
		price   tryon.Micros
		calls   func() int
	}{
		{"banana", 40_000, func() int { return gemini.Count(geminifake.RouteGenerateContent) }},
		{"fashn", 90_000, func() int { return len(fal.FashnRequests()) }},
		{"vto", 70_000, func() int { return len(vertex.Predictions()) }},
	} {
		t.Run(c.service, func(t *testing.T) {
			before := c.calls()
			r := env.Generate(shop.LiveKey, outfit(c.service))
			g := r.Generation(t)
			if r.Status != 200 || g.Status != tryon.StatusSucceeded || string(g.Service) != c.service || len(g.Outputs) != 3 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			if g.CostMicros != 3*c.price {
				t.Errorf("cost %d, want 3 × %d", g.CostMicros, c.price)
			}
			if c.calls() == before {
				t.Errorf("the %s fake received no call", c.service)
			}
			bodies := fetchOutputs(t, env, g)
			for i, o := range g.Outputs {
				if o.ContentType != "image/jpeg" || !bytes.HasPrefix(bodies[i], []byte{0xFF, 0xD8, 0xFF}) {
					t.Errorf("output %d is %s, not a JPEG", i, o.ContentType)
				}
			}
			if bytes.Equal(bodies[0], bodies[1]) || bytes.Equal(bodies[1], bodies[2]) {
				t.Error("the variants are the same image")
			}
		})
	}
}
