package generation_test

import (
	"context"
	"image/color"
	"testing"

	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// TestTenantDefaultService sets a tenant's default to fashn: its try-ons
// that name no service go to fashn, its other requests keep banana, and a
// request naming a service keeps it.
func TestTenantDefaultService(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	if err := env.Store.SetDefaultService(context.Background(), shop.Client.ID, tryon.ServiceFashn); err != nil {
		t.Fatal(err)
	}
	tryonBody := map[string]any{"task": "tryon", "person_image": pngDataURL(t, 30, 40, color.White),
		"garments": []map[string]any{{"image": pngDataURL(t, 8, 8, color.Black), "category": "top"}}}
	for _, c := range []struct {
		name string
		body map[string]any
		want tryon.Service
	}{
		{"TryonUsesTheDefault", tryonBody, tryon.ServiceFashn},
		{"GenerateKeepsBanana", map[string]any{"prompt": "a hat"}, tryon.ServiceBanana},
		{"NamedServiceWins", map[string]any{"task": "tryon", "service": "banana-pro", "person_image": tryonBody["person_image"],
			"garments": tryonBody["garments"]}, tryon.ServiceBananaPro},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := env.Generate(shop.TestKey, c.body)
			if r.Status != 200 || r.Generation(t).Service != c.want {
				t.Fatalf("got %d %s, want service %s", r.Status, r.Body, c.want)
			}
		})
	}
	if err := env.Store.SetDefaultService(context.Background(), [16]byte{1}, tryon.ServiceVTO); err != tryon.ErrNotFound {
		t.Fatalf("unknown tenant: err = %v, want not found", err)
	}
}
