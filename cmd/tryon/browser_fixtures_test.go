package main

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// The browser tests' photos are drawn here rather than committed: a person
// (a silhouette standing on a light backdrop) and a garment (a dress on
// white), as a user would pick them from their files.

// fixturePhoto writes a w×h PNG painted by paint to the test's temporary
// folder and returns its path.
func fixturePhoto(t *testing.T, name string, w, h int, paint func(x, y int) color.RGBA) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetRGBA(x, y, paint(x, y))
		}
	}
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return path
}

// personPhoto is a standing figure: a head, a torso, two legs.
func personPhoto(t *testing.T, w, h int) string {
	skin, shirt, trousers := color.RGBA{224, 180, 150, 255}, color.RGBA{60, 90, 160, 255}, color.RGBA{40, 40, 50, 255}
	return fixturePhoto(t, "person.png", w, h, func(x, y int) color.RGBA {
		fx, fy := float64(x)/float64(w), float64(y)/float64(h)
		dx, dy := (fx-0.5)/0.09, (fy-0.14)/0.07
		switch {
		case dx*dx+dy*dy <= 1:
			return skin
		case fy > 0.22 && fy < 0.58 && fx > 0.33 && fx < 0.67:
			return shirt
		case fy >= 0.58 && fy < 0.95 && ((fx > 0.36 && fx < 0.48) || (fx > 0.52 && fx < 0.64)):
			return trousers
		}
		return color.RGBA{uint8(230 - 40*fy), uint8(232 - 30*fy), 238, 255}
	})
}

// garmentPhoto is a red dress: narrow at the shoulders, wide at the hem.
func garmentPhoto(t *testing.T, w, h int) string {
	return fixturePhoto(t, "garment.png", w, h, func(x, y int) color.RGBA {
		fx, fy := float64(x)/float64(w), float64(y)/float64(h)
		half := 0.12 + 0.3*fy
		if fy > 0.1 && fy < 0.9 && fx > 0.5-half && fx < 0.5+half {
			return color.RGBA{uint8(200 - 40*fy), 30, 45, 255}
		}
		return color.RGBA{250, 250, 250, 255}
	})
}
