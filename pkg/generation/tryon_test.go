package generation_test

import (
	"image/color"
	"net/http"
	"strings"
	"testing"

	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/media"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// TestTryonTaskThroughTheAPI asks for a top and trousers on a person, as
// JPEG, with a seed and no prompt: the output is a JPEG, the parameters are
// recorded and shown on every read, and the test key is not charged.
func TestTryonTaskThroughTheAPI(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	person := pngDataURL(t, 30, 40, color.White)
	top := pngDataURL(t, 8, 8, color.Black)
	trousers := pngDataURL(t, 9, 9, color.Black)
	r := env.Generate(shop.TestKey, map[string]any{
		"task": "tryon", "person_image": person, "seed": 77, "output_format": "jpeg", "output_quality": 80,
		"width": 300, "height": 400,
		"garments": []map[string]any{
			{"image": top, "category": "top", "photo_type": "flat-lay"},
			{"image": trousers, "category": "bottom"},
		},
	})
	if r.Status != 200 {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
	g := r.Generation(t)
	if g.Output == nil || g.Output.ContentType != media.JPEG || !strings.HasSuffix(g.Output.URL, ".jpg") {
		t.Fatalf("output = %+v, want a JPEG", g.Output)
	}
	want := tryon.Params{Task: tryon.TaskTryon, OutputFormat: tryon.FormatJPEG, OutputQuality: 80,
		Garments: []tryon.GarmentParams{{Category: tryon.CategoryBottom, PhotoType: tryon.PhotoAuto},
			{Category: tryon.CategoryTop, PhotoType: tryon.PhotoFlatLay}}}
	for _, read := range []apptest.Generation{g, env.Do(http.MethodGet, "/generate/"+g.ID, shop.TestKey, nil).Generation(t)} {
		p := read.Params
		if p == nil || p.Seed == nil || *p.Seed != 77 || p.Task != want.Task || p.OutputFormat != want.OutputFormat ||
			p.OutputQuality != want.OutputQuality || len(p.Garments) != 2 || p.Garments[0] != want.Garments[0] || p.Garments[1] != want.Garments[1] {
			t.Errorf("params = %+v, want %+v with seed 77", p, want)
		}
	}
	asset := env.Do(http.MethodGet, strings.TrimPrefix(g.Output.URL, env.URL), "", nil)
	if asset.Status != 200 || asset.Header.Get("Content-Type") != media.JPEG {
		t.Fatalf("asset: %d %s", asset.Status, asset.Header.Get("Content-Type"))
	}
	if info, ok := media.Sniff(asset.Body); !ok || info.ContentType != media.JPEG || info.Width != 300 || info.Height != 400 {
		t.Errorf("asset bytes = %+v, want a 300×400 JPEG", info)
	}

	// A request of the original shape records no parameters.
	plain := env.Generate(shop.TestKey, map[string]any{"prompt": "a cat"})
	if plain.Status != 200 || plain.Generation(t).Params != nil || strings.Contains(string(plain.Data), `"params"`) {
		t.Errorf("a plain request: %d %s", plain.Status, plain.Data)
	}
}

// TestTryonTaskValidation lists requests refused with 400, each naming the
// field at fault, and checks nothing was recorded for them.
func TestTryonTaskValidation(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	img := pngDataURL(t, 8, 8, color.Black)
	top := map[string]any{"image": img, "category": "top"}
	cases := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"UnknownTask", map[string]any{"task": "dance", "prompt": "x"}, "task"},
		{"NoPerson", map[string]any{"task": "tryon", "garments": []any{top}}, "person_image"},
		{"NoGarments", map[string]any{"task": "tryon", "person_image": img}, "garments"},
		{"FourGarments", map[string]any{"task": "tryon", "person_image": img, "garments": []any{top, top, top, top}}, "garments"},
		{"GarmentImageWithTryon", map[string]any{"task": "tryon", "person_image": img, "garment_image": img, "garments": []any{top}}, "garment_image"},
		{"GarmentsWithoutTryon", map[string]any{"prompt": "x", "garments": []any{top}}, "garments"},
		{"BadCategory", map[string]any{"task": "tryon", "person_image": img, "garments": []any{map[string]any{"image": img, "category": "hat"}}}, "garments[0].category"},
		{"NoCategory", map[string]any{"task": "tryon", "person_image": img, "garments": []any{map[string]any{"image": img}}}, "garments[0].category"},
		{"BadPhotoType", map[string]any{"task": "tryon", "person_image": img, "garments": []any{map[string]any{"image": img, "category": "top", "photo_type": "sketch"}}}, "garments[0].photo_type"},
		{"NoImage", map[string]any{"task": "tryon", "person_image": img, "garments": []any{map[string]any{"category": "top"}}}, "garments[0].image"},
		{"BadImage", map[string]any{"task": "tryon", "person_image": img, "garments": []any{map[string]any{"image": "ftp://x", "category": "top"}}}, "garments[0].image"},
		{"TwoTops", map[string]any{"task": "tryon", "person_image": img, "garments": []any{top, top}}, "garments[1].category"},
		{"OnePieceWithTop", map[string]any{"task": "tryon", "person_image": img, "garments": []any{top, map[string]any{"image": img, "category": "one-piece"}}}, "garments"},
		{"VideoTryon", map[string]any{"task": "tryon", "service": "veo3", "person_image": img, "garments": []any{top}}, "service"},
		{"SeedNegative", map[string]any{"prompt": "x", "seed": -1}, "seed"},
		{"SeedTooLarge", map[string]any{"prompt": "x", "seed": 1 << 31}, "seed"},
		{"BadFormat", map[string]any{"prompt": "x", "output_format": "gif"}, "output_format"},
		{"QualityWithPNG", map[string]any{"prompt": "x", "output_format": "png", "output_quality": 50}, "output_quality"},
		{"QualityOutOfRange", map[string]any{"prompt": "x", "output_format": "jpeg", "output_quality": 101}, "output_quality"},
		{"TooManyOutputs", map[string]any{"prompt": "x", "num_outputs": 5}, "num_outputs"},
		{"SeveralVideos", map[string]any{"prompt": "x", "service": "veo3", "num_outputs": 2}, "num_outputs"},
		{"PromptStillRequiredForGenerate", map[string]any{"person_image": img, "garment_image": img}, "prompt"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := env.Generate(shop.TestKey, c.body)
			if r.Status != 400 || r.Code != tryon.CodeInvalidRequest {
				t.Fatalf("got %d %s", r.Status, r.Body)
			}
			found := false
			for _, d := range r.Details {
				found = found || d.Field == c.field
			}
			if !found {
				t.Errorf("details %+v do not name %s", r.Details, c.field)
			}
		})
	}
	if n := countGenerations(t, env, shop.Client.ID); n != 0 {
		t.Fatalf("%d generations recorded for refused requests", n)
	}
	// num_outputs 1 is accepted, and a try-on prompt is optional but kept.
	ok := env.Generate(shop.TestKey, map[string]any{"task": "tryon", "person_image": img, "garments": []any{top}, "num_outputs": 1, "prompt": "roll the sleeves"})
	if ok.Status != 200 || ok.Generation(t).Prompt != "roll the sleeves" {
		t.Fatalf("a valid try-on: %d %s", ok.Status, ok.Body)
	}
}
