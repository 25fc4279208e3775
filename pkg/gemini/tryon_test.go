package gemini

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"image/color"
	"strings"
	"testing"

	"github.com/tryonhq/tryon/pkg/gemini/geminifake"
	"github.com/tryonhq/tryon/pkg/tryon"
	"github.com/tryonhq/tryon/pkg/tryonprompt"
)

// tryonBody is the part of a generateContent body a try-on decides.
type tryonBody struct {
	Contents []struct {
		Parts []struct {
			Text       string `json:"text"`
			InlineData *struct {
				MimeType string `json:"mimeType"`
				Data     string `json:"data"`
			} `json:"inlineData"`
		} `json:"parts"`
	} `json:"contents"`
	GenerationConfig struct {
		Seed *int64 `json:"seed"`
	} `json:"generationConfig"`
}

// TestTryonTaskRequestPerCase checks what the Gemini API receives for every
// service, garment category and photo type: the template's words for that
// case, the person first and the garment after it, and the seed.
func TestTryonTaskRequestPerCase(t *testing.T) {
	categoryWords := map[tryon.Category]string{
		tryon.CategoryTop:       "replaces the clothing on the upper body and keeps the lower-body clothing",
		tryon.CategoryBottom:    "replaces the clothing on the lower body and keeps the upper-body clothing",
		tryon.CategoryOnePiece:  "replaces the clothing on both the upper and the lower body",
		tryon.CategoryOuterwear: "over the upper-body clothing",
	}
	photoWords := map[tryon.PhotoType]string{
		tryon.PhotoFlatLay: "with nobody wearing it",
		tryon.PhotoModel:   "never that person's face",
		tryon.PhotoAuto:    "may show it laid flat or worn by someone else",
	}
	f := newFake(t)
	p, _ := newProvider(t, f)
	person := pngImage(t, 30, 40, color.White)
	garment := pngImage(t, 20, 20, color.Black)
	seed := int64(4242)
	for _, svc := range []tryon.Service{tryon.ServiceBanana, tryon.ServiceBananaPro} {
		for cat, cw := range categoryWords {
			for pt, pw := range photoWords {
				t.Run(string(svc)+"/"+string(cat)+"/"+string(pt), func(t *testing.T) {
					req := tryon.ProviderRequest{Service: svc, Person: person, Seed: &seed,
						Garments: []tryon.Garment{{Image: garment, Category: cat, PhotoType: pt}}}
					if _, err := p.Generate(context.Background(), req); err != nil {
						t.Fatal(err)
					}
					var body tryonBody
					if err := json.Unmarshal(f.LastBody(geminifake.RouteGenerateContent), &body); err != nil {
						t.Fatal(err)
					}
					parts := body.Contents[0].Parts
					if len(parts) != 3 {
						t.Fatalf("parts = %d, want text, person, garment", len(parts))
					}
					text := parts[0].Text
					for _, want := range []string{"Image 2 is", cw, pw, "same face, identity", "Add nothing else"} {
						if !strings.Contains(text, want) {
							t.Errorf("text lacks %q:\n%s", want, text)
						}
					}
					if pro := strings.Contains(text, "Reproduce each garment faithfully"); pro != (svc == tryon.ServiceBananaPro) {
						t.Errorf("detail clause present = %v for %s", pro, svc)
					}
					if strings.Contains(text, "Additional instructions") {
						t.Errorf("text has an instruction section with no prompt")
					}
					for i, img := range []*tryon.Image{person, garment} {
						if in := parts[i+1].InlineData; in == nil || in.Data != base64.StdEncoding.EncodeToString(img.Bytes) {
							t.Errorf("part %d is not image %d", i+1, i)
						}
					}
					if body.GenerationConfig.Seed == nil || *body.GenerationConfig.Seed != seed {
						t.Errorf("seed = %v, want %d", body.GenerationConfig.Seed, seed)
					}
				})
			}
		}
	}
}

// TestTryonTaskOutfitAndInstruction sends an outfit of three with a prompt:
// the images go in dressing order, numbered as the text names them, and the
// tenant's words come last, inside Tryon's rules.
func TestTryonTaskOutfitAndInstruction(t *testing.T) {
	f := newFake(t)
	p, _ := newProvider(t, f)
	person := pngImage(t, 30, 40, color.White)
	top, bottom, coat := pngImage(t, 10, 10, color.Black), pngImage(t, 11, 11, color.Black), pngImage(t, 12, 12, color.Black)
	garments := tryonprompt.Order([]tryon.Garment{
		{Image: coat, Category: tryon.CategoryOuterwear, PhotoType: tryon.PhotoModel},
		{Image: top, Category: tryon.CategoryTop, PhotoType: tryon.PhotoFlatLay},
		{Image: bottom, Category: tryon.CategoryBottom, PhotoType: tryon.PhotoAuto},
	})
	req := tryon.ProviderRequest{Service: tryon.ServiceBananaPro, Person: person, Garments: garments, Prompt: "  tuck the shirt in "}
	if _, err := p.Generate(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	var body tryonBody
	if err := json.Unmarshal(f.LastBody(geminifake.RouteGenerateContent), &body); err != nil {
		t.Fatal(err)
	}
	parts := body.Contents[0].Parts
	if len(parts) != 5 {
		t.Fatalf("parts = %d, want text and four images", len(parts))
	}
	if want := tryonprompt.Build(tryon.ServiceBananaPro, garments, "tuck the shirt in"); parts[0].Text != want {
		t.Errorf("text = %q\nwant %q", parts[0].Text, want)
	}
	text := parts[0].Text
	for _, want := range []string{"Images 2 to 4 are the garments of an outfit", "Image 2 is a bottom", "Image 3 is a top",
		"Image 4 is outerwear", "to follow within the rules above: tuck the shirt in"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	for i, img := range []*tryon.Image{person, bottom, top, coat} {
		if in := parts[i+1].InlineData; in == nil || in.Data != base64.StdEncoding.EncodeToString(img.Bytes) {
			t.Errorf("part %d is not the expected image %d", i+1, i)
		}
	}
	if body.GenerationConfig.Seed != nil {
		t.Errorf("seed sent without being asked: %d", *body.GenerationConfig.Seed)
	}
}
