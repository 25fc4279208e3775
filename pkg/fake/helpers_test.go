package fake

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"sync"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/tryon"
)

var (
	red   = color.RGBA{0xff, 0, 0, 0xff}
	blue  = color.RGBA{0, 0, 0xff, 0xff}
	green = color.RGBA{0, 0xff, 0, 0xff}
)

// solidImage is a w×h input image of one colour, as the fetcher hands it over.
func solidImage(t testing.TB, format string, w, h int, c color.RGBA) *tryon.Image {
	t.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(m.Pix); i += 4 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return encodeInput(t, format, m)
}

func encodeInput(t testing.TB, format string, m image.Image) *tryon.Image {
	t.Helper()
	var buf bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&buf, m)
	case "jpeg":
		err = jpeg.Encode(&buf, m, &jpeg.Options{Quality: 95})
	default:
		t.Fatalf("format %q", format)
	}
	if err != nil {
		t.Fatal(err)
	}
	return &tryon.Image{Bytes: buf.Bytes(), ContentType: "image/" + format, Width: m.Bounds().Dx(), Height: m.Bounds().Dy()}
}

// webpImage is the start of a lossless WebP file of w×h: enough for
// media.Sniff, which is all the fake reads of a WebP.
func webpImage(w, h int) *tryon.Image {
	b := []byte("RIFF\x00\x00\x00\x00WEBPVP8L\x00\x00\x00\x00\x2f")
	b = binary.LittleEndian.AppendUint32(b, uint32(w-1)|uint32(h-1)<<14)
	b = append(b, make([]byte, 16)...)
	return &tryon.Image{Bytes: b, ContentType: "image/webp", Width: w, Height: h}
}

func decodePNG(t testing.TB, b []byte) image.Image {
	t.Helper()
	m, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode output: %v", err)
	}
	return m
}

// count is how many pixels of m are exactly c.
func count(m image.Image, c color.RGBA) int {
	n := 0
	b := m.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.RGBAModel.Convert(m.At(x, y)) == c {
				n++
			}
		}
	}
	return n
}

// providerError asserts that err is a *tryon.ProviderError of kind want.
func providerError(t testing.TB, err error, want tryon.FailureKind) *tryon.ProviderError {
	t.Helper()
	var pe *tryon.ProviderError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T), want a *tryon.ProviderError of kind %s", err, err, want)
	}
	if pe.Kind != want {
		t.Fatalf("error kind %s (%v), want %s", pe.Kind, pe, want)
	}
	if pe.Provider != "fake" || pe.Message == "" {
		t.Errorf("error %+v: want provider fake and a message", pe)
	}
	return pe
}

// clock is a settable time for video operations.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
