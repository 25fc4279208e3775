package fal

import (
	"context"
	"image/color"
	"testing"

	"github.com/tryonhq/tryon/pkg/tryon"
	"github.com/tryonhq/tryon/pkg/tryonprompt"
)

// TestNanoBananaTryonBody checks a try-on task on fal's Nano Banana edit
// endpoints: Tryon's instructions for the service, the person then the
// garments as image_urls, the seed, and the output format passed through
// (fal is where WebP comes from).
func TestNanoBananaTryonBody(t *testing.T) {
	env := newTestEnv(t)
	person := testImage(t, 30, 40, color.RGBA{0, 0xff, 0, 0xff})
	top, coat := testImage(t, 10, 10, color.RGBA{0xff, 0, 0, 0xff}), testImage(t, 12, 12, color.RGBA{0, 0, 0xff, 0xff})
	seed := int64(11)
	for _, svc := range []tryon.Service{tryon.ServiceBanana, tryon.ServiceBananaPro} {
		garments := []tryon.Garment{{Image: top, Category: tryon.CategoryTop, PhotoType: tryon.PhotoFlatLay},
			{Image: coat, Category: tryon.CategoryOuterwear, PhotoType: tryon.PhotoModel}}
		_, err := env.p.Generate(context.Background(), tryon.ProviderRequest{Service: svc, Person: person, Garments: garments,
			Seed: &seed, OutputFormat: tryon.FormatWebP, Prompt: "open jacket"})
		if err != nil {
			t.Fatal(err)
		}
		body := sentBody(t, env.fake)
		if want := tryonprompt.Build(svc, garments, "open jacket"); body["prompt"] != want {
			t.Errorf("%s prompt = %q, want %q", svc, body["prompt"], want)
		}
		urls, _ := body["image_urls"].([]any)
		if len(urls) != 3 || urls[0] != dataURI(person) || urls[1] != dataURI(top) || urls[2] != dataURI(coat) {
			t.Errorf("%s image_urls are not person, top, coat", svc)
		}
		if body["seed"] != float64(11) || body["output_format"] != "webp" || body["num_images"] != float64(1) {
			t.Errorf("%s seed %v format %v num_images %v", svc, body["seed"], body["output_format"], body["num_images"])
		}
		if ep := env.fake.LastRequest().Endpoint; ep != defaultEndpoints[svc] {
			t.Errorf("endpoint %s, want %s", ep, defaultEndpoints[svc])
		}
	}
}
