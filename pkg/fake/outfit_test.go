package fake

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"testing"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// TestTryonOutfitIsDrawnByCategory renders a try-on of a green person and
// checks, at the middle of the upper and the lower body, whether the
// person or a garment shows: a top covers only the upper body, a bottom
// only the lower, an outfit both, and outerwear covers the top.
func TestTryonOutfitIsDrawnByCategory(t *testing.T) {
	const w, h = 300, 400
	person := solidImage(t, "png", 300, 400, green)
	top := solidImage(t, "png", 50, 50, red)
	bottom := solidImage(t, "png", 50, 50, blue)
	coat := solidImage(t, "png", 50, 50, color.RGBA{0xff, 0xff, 0, 0xff})
	p := New(Options{})
	cases := []struct {
		name         string
		garments     []tryon.Garment
		upper, lower string
	}{
		{"Top", []tryon.Garment{{Image: top, Category: tryon.CategoryTop}}, "red", "green"},
		{"Bottom", []tryon.Garment{{Image: bottom, Category: tryon.CategoryBottom}}, "green", "blue"},
		{"OnePiece", []tryon.Garment{{Image: top, Category: tryon.CategoryOnePiece}}, "red", "red"},
		{"TopAndBottom", []tryon.Garment{
			{Image: bottom, Category: tryon.CategoryBottom}, {Image: top, Category: tryon.CategoryTop}}, "red", "blue"},
		{"OuterwearOverTop", []tryon.Garment{
			{Image: top, Category: tryon.CategoryTop}, {Image: coat, Category: tryon.CategoryOuterwear}}, "yellow", "green"},
	}
	l := layoutFor(w, h)
	body := fit(l.main, 300, 400)
	at := func(y int) image.Point { return image.Pt(body.Min.X+body.Dx()/2, body.Min.Y+body.Dy()*y/1000) }
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := tryon.ProviderRequest{Service: tryon.ServiceBanana, Width: w, Height: h, Person: person, Garments: c.garments}
			res, err := p.Generate(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			m, err := png.Decode(bytes.NewReader(res.Bytes))
			if err != nil {
				t.Fatal(err)
			}
			if got := colourName(m.At(at(400).X, at(400).Y)); got != c.upper {
				t.Errorf("upper body is %s, want %s", got, c.upper)
			}
			if got := colourName(m.At(at(800).X, at(800).Y)); got != c.lower {
				t.Errorf("lower body is %s, want %s", got, c.lower)
			}
			again, err := p.Generate(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again.Bytes, res.Bytes) {
				t.Error("the same try-on rendered differently twice")
			}
		})
	}
}

// TestTryonSeedChangesTheOutput checks that a seed shows in a local run.
func TestTryonSeedChangesTheOutput(t *testing.T) {
	person := solidImage(t, "png", 30, 40, green)
	top := solidImage(t, "png", 10, 10, red)
	p := New(Options{})
	render := func(seed int64) []byte {
		res, err := p.Generate(context.Background(), tryon.ProviderRequest{Service: tryon.ServiceBanana, Width: 300, Height: 400,
			Person: person, Seed: &seed, Garments: []tryon.Garment{{Image: top, Category: tryon.CategoryTop}}})
		if err != nil {
			t.Fatal(err)
		}
		return res.Bytes
	}
	if bytes.Equal(render(1), render(2)) {
		t.Error("seeds 1 and 2 made the same picture")
	}
	if !bytes.Equal(render(7), render(7)) {
		t.Error("seed 7 made two different pictures")
	}
}

// colourName names the dominant channel of a pixel.
func colourName(c color.Color) string {
	r, g, b, _ := c.RGBA()
	switch {
	case r > 0x8000 && g > 0x8000 && b < 0x6000:
		return "yellow"
	case r > 0x8000 && g < 0x6000 && b < 0x6000:
		return "red"
	case g > 0x8000 && r < 0x6000 && b < 0x6000:
		return "green"
	case b > 0x8000 && r < 0x6000 && g < 0x6000:
		return "blue"
	}
	return "other"
}
