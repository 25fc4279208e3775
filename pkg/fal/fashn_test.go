package fal

import (
	"context"
	"encoding/json"
	"image/color"
	"strings"
	"testing"

	"github.com/tryonhq/tryon/pkg/fal/falfake"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// TestFashnMapsTheTryonShape checks the FASHN body per category and photo
// type: Tryon's categories become FASHN's, the photo type and the seed pass
// through, the person and garment go inline, and the answer is FASHN's
// fixed 864×1296 picture.
func TestFashnMapsTheTryonShape(t *testing.T) {
	env := newTestEnv(t)
	person := testImage(t, 30, 40, color.RGBA{0, 0xff, 0, 0xff})
	garment := testImage(t, 10, 10, color.RGBA{0xff, 0, 0, 0xff})
	seed := int64(9)
	want := map[tryon.Category]string{tryon.CategoryTop: "tops", tryon.CategoryBottom: "bottoms",
		tryon.CategoryOnePiece: "one-pieces", tryon.CategoryOuterwear: "tops"}
	for cat, fashnCat := range want {
		for _, pt := range []tryon.PhotoType{tryon.PhotoAuto, tryon.PhotoFlatLay, tryon.PhotoModel} {
			t.Run(string(cat)+"/"+string(pt), func(t *testing.T) {
				res, err := env.p.Generate(context.Background(), tryon.ProviderRequest{Service: tryon.ServiceFashn,
					Person: person, Seed: &seed, OutputFormat: tryon.FormatJPEG,
					Garments: []tryon.Garment{{Image: garment, Category: cat, PhotoType: pt}}})
				if err != nil {
					t.Fatal(err)
				}
				if res.Width != falfake.FashnWidth || res.Height != falfake.FashnHeight || res.ContentType != "image/jpeg" {
					t.Errorf("result %dx%d %s, want FASHN's JPEG of 864x1296", res.Width, res.Height, res.ContentType)
				}
				got := env.fake.LastRequest()
				if got.Endpoint != falfake.FashnEndpoint || got.Authorization != "Key "+env.fake.Key {
					t.Errorf("call to %s with %q", got.Endpoint, got.Authorization)
				}
				body := sentBody(t, env.fake)
				for k, v := range map[string]any{"category": fashnCat, "garment_photo_type": string(pt), "mode": "balanced",
					"num_samples": float64(1), "seed": float64(9), "output_format": "jpeg",
					"model_image": dataURI(person), "garment_image": dataURI(garment)} {
					if body[k] != v {
						t.Errorf("%s = %.60v, want %.60v", k, body[k], v)
					}
				}
				if _, ok := body["prompt"]; ok {
					t.Error("a prompt was sent to FASHN")
				}
			})
		}
	}
}

// TestFashnDressesAnOutfitOneGarmentAtATime sends a bottom and a top: two
// calls, the second taking the first's output as its model image.
func TestFashnDressesAnOutfitOneGarmentAtATime(t *testing.T) {
	env := newTestEnv(t)
	person := testImage(t, 30, 40, color.RGBA{0, 0xff, 0, 0xff})
	top, bottom := testImage(t, 10, 10, color.RGBA{0xff, 0, 0, 0xff}), testImage(t, 11, 11, color.RGBA{0, 0, 0xff, 0xff})
	_, err := env.p.Generate(context.Background(), tryon.ProviderRequest{Service: tryon.ServiceFashn, Person: person,
		Garments: []tryon.Garment{{Image: bottom, Category: tryon.CategoryBottom}, {Image: top, Category: tryon.CategoryTop}}})
	if err != nil {
		t.Fatal(err)
	}
	bodies := env.fake.FashnRequests()
	if len(bodies) != 2 {
		t.Fatalf("%d FASHN calls, want 2", len(bodies))
	}
	var first, second fashnInput
	_ = json.Unmarshal(bodies[0], &first)
	_ = json.Unmarshal(bodies[1], &second)
	if first.ModelImage != dataURI(person) || first.Category != "bottoms" || first.GarmentImage != dataURI(bottom) {
		t.Errorf("first call: %s %.40s", first.Category, first.ModelImage)
	}
	if !strings.HasPrefix(second.ModelImage, env.fake.URL()+"/files/") || second.Category != "tops" || second.GarmentImage != dataURI(top) {
		t.Errorf("second call: %s on %.60s, want tops on the first output", second.Category, second.ModelImage)
	}
	if second.Seed != nil || second.OutputFormat != "png" {
		t.Errorf("second call seed %v format %q, want none and png", second.Seed, second.OutputFormat)
	}
}

// TestFashnFailures classifies fal's answers to a FASHN call.
func TestFashnFailures(t *testing.T) {
	for _, c := range []struct {
		sc   falfake.Scenario
		kind tryon.FailureKind
	}{
		{falfake.ContentPolicy, tryon.FailContentBlocked},
		{falfake.Validation, tryon.FailInvalidRequest},
		{falfake.RateLimited, tryon.FailRateLimited},
		{falfake.Unavailable, tryon.FailUnavailable},
		{falfake.LockedBalance, tryon.FailQuota},
		{falfake.NoImages, tryon.FailNoOutput},
	} {
		t.Run(string(c.sc), func(t *testing.T) {
			env := newTestEnv(t)
			env.fake.SetFashnScenario(c.sc)
			_, err := env.p.Generate(context.Background(), tryon.ProviderRequest{Service: tryon.ServiceFashn,
				Person:   testImage(t, 30, 40, color.RGBA{0, 0xff, 0, 0xff}),
				Garments: []tryon.Garment{{Image: testImage(t, 10, 10, color.RGBA{0xff, 0, 0, 0xff}), Category: tryon.CategoryTop}}})
			if perr := asProviderError(t, err); perr.Kind != c.kind {
				t.Errorf("kind = %s, want %s (%v)", perr.Kind, c.kind, err)
			}
		})
	}
}
