package generation_test

import (
	"image/color"
	"strings"
	"testing"

	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/fal/falfake"
	"github.com/tryonhq/tryon/pkg/tryon"
)

func TestFalGeneratesThroughItsWireFormat(t *testing.T) {
	fake := falfake.New()
	t.Cleanup(fake.Close)
	env := apptest.New(t, apptest.Options{Settings: map[string]string{
		"PROVIDER_BANANA": "fal", "PROVIDER_BANANA_PRO": "fal", "FAL_KEY": falfake.DefaultKey, "FAL_BASE_URL": fake.URL()}})
	shop := env.Tenant(apptest.TenantOptions{})
	r := env.Generate(shop.LiveKey, map[string]any{"prompt": "the dress on the person", "service": "banana-pro",
		"person_image": pngDataURL(t, 10, 10, color.White), "garment_image": pngDataURL(t, 10, 10, color.Black)})
	g := r.Generation(t)
	if r.Status != 200 || g.Provider != "fal" || g.Model != "fal-ai/nano-banana-pro/edit" || g.Output.ContentType != "image/png" || g.CostMicros != 150_000 {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
	last := fake.LastRequest()
	// Opaque inputs reach the provider normalised, as JPEG.
	if last.Endpoint != "fal-ai/nano-banana-pro/edit" || last.Authorization != "Key "+falfake.DefaultKey || !strings.Contains(string(last.Body), "data:image/jpeg;base64,") {
		t.Fatalf("fal saw %+v", last.Endpoint)
	}
	if fake.FileRequests() != 1 {
		t.Fatalf("the output was fetched %d times", fake.FileRequests())
	}
	for token, code := range map[string]tryon.Code{
		"[fal:content_policy]": tryon.CodeContentBlocked, "[fal:401]": tryon.CodeUpstreamError,
		"[fal:503]": tryon.CodeUpstreamUnavailable, "[fal:missing_file]": tryon.CodeUpstreamError,
	} {
		r := env.Generate(shop.LiveKey, map[string]any{"prompt": "a hat " + token}, "Prefer", "wait=3")
		if r.Code != code || r.Generation(t).CostMicros != 0 {
			t.Fatalf("%s: got %d %s", token, r.Status, r.Body)
		}
	}
}
