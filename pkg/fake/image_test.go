package fake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"image"
	"image/color"
	"testing"

	"github.com/tryonhq/tryon/pkg/media"
	"github.com/tryonhq/tryon/pkg/tryon"
)

func TestImageSize(t *testing.T) {
	p := New(Options{})
	for _, size := range [][2]int{{64, 64}, {1024, 1024}, {4096, 64}, {64, 4096}, {333, 777}, {0, 0}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			req := imageRequest("a red summer dress")
			req.Width, req.Height = size[0], size[1]
			res, err := p.Generate(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			wantW, wantH := size[0], size[1]
			if wantW == 0 {
				wantW, wantH = 1024, 1024 // the API's default
			}
			if res.ContentType != "image/png" || res.Width != wantW || res.Height != wantH {
				t.Errorf("result %s %d×%d, want image/png %d×%d", res.ContentType, res.Width, res.Height, wantW, wantH)
			}
			info, ok := media.Sniff(res.Bytes)
			if !ok || info.ContentType != media.PNG || info.Width != wantW || info.Height != wantH {
				t.Errorf("media.Sniff = %+v, %v", info, ok)
			}
			if b := decodePNG(t, res.Bytes).Bounds(); b.Dx() != wantW || b.Dy() != wantH {
				t.Errorf("decoded %v", b)
			}
		})
	}
}

func TestImageDeterministic(t *testing.T) {
	gen := func(opts Options, req tryon.ProviderRequest) []byte {
		t.Helper()
		res, err := New(opts).Generate(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		return res.Bytes
	}
	person, garment := solidImage(t, "jpeg", 64, 96, red), solidImage(t, "png", 30, 30, blue)
	withInputs := func(prompt string) tryon.ProviderRequest {
		req := imageRequest(prompt)
		req.Person, req.Garment = person, garment
		return req
	}
	base := gen(Options{}, imageRequest("a red dress"))
	if !bytes.Equal(base, gen(Options{}, imageRequest("a red dress"))) {
		t.Error("the same request made different bytes")
	}
	if !bytes.Equal(gen(Options{}, withInputs("a red dress")), gen(Options{}, withInputs("a red dress"))) {
		t.Error("the same request with input images made different bytes")
	}
	if !bytes.Equal(base, gen(Options{}, imageRequest("a red dress [fake:sleep=1ms]"))) {
		t.Error("a sleep token changed the picture")
	}
	for name, req := range map[string]tryon.ProviderRequest{
		"Prompt": imageRequest("a blue dress"),
		"Size":   {Service: tryon.ServiceBanana, Prompt: "a red dress", Width: 256, Height: 255},
		"Inputs": withInputs("a red dress"),
	} {
		if bytes.Equal(base, gen(Options{}, req)) {
			t.Errorf("changing the %s did not change the picture", name)
		}
	}
}

// TestImageComposite checks that the inputs are drawn: a red person fills
// the middle of the picture and a blue garment its lower right.
func TestImageComposite(t *testing.T) {
	const w, h = 512, 384
	for _, format := range []string{"png", "jpeg"} {
		t.Run(format, func(t *testing.T) {
			req := imageRequest("try this on")
			req.Width, req.Height = w, h
			req.Person = solidImage(t, format, 300, 400, red)
			req.Garment = solidImage(t, format, 100, 100, blue)
			res, err := New(Options{}).Generate(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			m := decodePNG(t, res.Bytes)
			l := layoutFor(w, h)
			person := fit(l.main, 300, 400)
			garment := fit(l.inset, 100, 100)
			at := func(p image.Point) color.RGBA { return color.RGBAModel.Convert(m.At(p.X, p.Y)).(color.RGBA) }
			if c := at(person.Min.Add(image.Pt(person.Dx()/2, person.Dy()/3))); c != red {
				t.Errorf("middle of the person is %v, want red", c)
			}
			if c := at(garment.Min.Add(image.Pt(garment.Dx()/2, garment.Dy()/2))); c != blue {
				t.Errorf("middle of the garment is %v, want blue", c)
			}
			// The person keeps its 3:4 shape, less what the garment covers.
			if n, want := count(m, red), person.Dx()*person.Dy()*3/4; n < want {
				t.Errorf("%d red pixels, want at least %d", n, want)
			}
			if n, want := count(m, blue), garment.Dx()*garment.Dy()*9/10; n < want {
				t.Errorf("%d blue pixels, want at least %d", n, want)
			}
		})
	}
	t.Run("NoInputs", func(t *testing.T) {
		res, err := New(Options{}).Generate(context.Background(), imageRequest("try this on"))
		if err != nil {
			t.Fatal(err)
		}
		if n := count(decodePNG(t, res.Bytes), red); n != 0 {
			t.Errorf("%d red pixels without a red input", n)
		}
	})
}

func TestImageTransparentGarment(t *testing.T) {
	// A garment that is transparent on its left half shows the white card
	// behind it there, and its colour on the right.
	g := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			if x >= 32 {
				g.SetNRGBA(x, y, color.NRGBA{0, 0xff, 0, 0xff})
			}
		}
	}
	req := imageRequest("card")
	req.Width, req.Height = 512, 512
	req.Person, req.Garment = solidImage(t, "png", 64, 64, red), encodeInput(t, "png", g)
	res, err := New(Options{}).Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	m := decodePNG(t, res.Bytes)
	card := fit(layoutFor(512, 512).inset, 64, 64)
	left := color.RGBAModel.Convert(m.At(card.Min.X+card.Dx()/4, card.Min.Y+card.Dy()/2))
	right := color.RGBAModel.Convert(m.At(card.Min.X+card.Dx()*3/4, card.Min.Y+card.Dy()/2))
	if left != (color.RGBA{0xff, 0xff, 0xff, 0xff}) || right != green {
		t.Errorf("card shows %v on the transparent half and %v on the green half", left, right)
	}
}

func TestImageWebPPlaceholder(t *testing.T) {
	req := imageRequest("webp inputs")
	req.Width, req.Height = 400, 400
	req.Person, req.Garment = webpImage(300, 600), webpImage(50, 50)
	res, err := New(Options{}).Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	m := decodePNG(t, res.Bytes)
	lk := lookFor(sha256.Sum256([]byte("webp inputs")))
	a, b := count(m, lk.checkA), count(m, lk.checkB)
	person := fit(layoutFor(400, 400).main, 300, 600)
	if a+b < person.Dx()*person.Dy()*3/4 || a == 0 || b == 0 {
		t.Errorf("placeholder: %d and %d checker pixels, want about %d in two greys", a, b, person.Dx()*person.Dy())
	}
	// The placeholder has the person's portrait shape: beside it is background.
	beside := color.RGBAModel.Convert(m.At(person.Min.X-2, person.Min.Y+person.Dy()/2))
	if beside == lk.checkA || beside == lk.checkB {
		t.Errorf("checker pixels left of %v: the placeholder lost the input's shape", person)
	}
}

func TestFitKeepsAspect(t *testing.T) {
	box := image.Rect(10, 20, 210, 120) // 200×100
	for _, c := range []struct {
		w, h int
		want image.Rectangle
	}{
		{100, 100, image.Rect(60, 20, 160, 120)},
		{400, 100, image.Rect(10, 45, 210, 95)},
		{1, 1000, image.Rect(109, 20, 110, 120)},
		{0, 10, image.Rectangle{}},
	} {
		if got := fit(box, c.w, c.h); got != c.want {
			t.Errorf("fit(%v, %d, %d) = %v, want %v", box, c.w, c.h, got, c.want)
		}
	}
}

// TestImageLabel reads the banner back pixel by pixel: the prompt's first
// characters are there, in capitals, in the hand-made font.
func TestImageLabel(t *testing.T) {
	const w, h = 640, 480
	req := imageRequest("ok 42 [fake:sleep=1ms]")
	req.Width, req.Height = w, h
	res, err := New(Options{}).Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	m := decodePNG(t, res.Bytes)
	l := layoutFor(w, h)
	s := l.scale
	lk := lookFor(sha256.Sum256([]byte("ok 42")))
	for i, c := range []byte("OK 42") {
		for gy, row := range glyphRows[c] {
			for gx, dot := range row {
				x, y := l.banner.Min.X+2*s+(i*cellW+gx)*s+s/2, l.banner.Min.Y+2*s+gy*s+s/2
				got := color.RGBAModel.Convert(m.At(x, y))
				want := lk.strip
				if dot == '#' {
					want = lk.ink
				}
				if got != want {
					t.Fatalf("%q row %d column %d at (%d,%d): %v, want %v", c, gy, gx, x, y, got, want)
				}
			}
		}
	}
}

// TestLookVaries checks that prompts get colours of their own.
func TestLookVaries(t *testing.T) {
	seen := map[color.RGBA]bool{}
	for i := range 50 {
		seen[lookFor(sha256.Sum256(fmt.Appendf(nil, "prompt %d", i))).top] = true
	}
	if len(seen) < 40 {
		t.Errorf("50 prompts share %d background colours", len(seen))
	}
}
