package inputimage

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"runtime"
	"runtime/metrics"
	"testing"

	"github.com/tryonhq/tryon/pkg/media"
)

// TestDecodeCostCoversTheDecoder decodes images of every kind the standard
// decoders produce and compares the bytes they really allocate with the
// estimate the decode budget trusts: the estimate must cover them, and
// not be so generous that ordinary photos are refused.
func TestDecodeCostCoversTheDecoder(t *testing.T) {
	const w, h = 800, 600
	gray := image.NewGray(image.Rect(0, 0, w, h))
	gray16 := image.NewGray16(image.Rect(0, 0, w, h))
	nrgba := image.NewNRGBA(image.Rect(0, 0, w, h))
	rgba64 := image.NewNRGBA64(image.Rect(0, 0, w, h))
	pal := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Black, color.White})
	ycc := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i * 7)
	}
	for i := range nrgba.Pix {
		nrgba.Pix[i] = uint8(i * 13)
	}
	for i := range rgba64.Pix {
		rgba64.Pix[i] = uint8(i * 3)
	}
	for i := range ycc.Y {
		ycc.Y[i] = uint8(i)
	}
	cases := map[string][]byte{
		"PNGGray":     encodeWith(t, png.Encode, gray),
		"PNGGray16":   encodeWith(t, png.Encode, gray16),
		"PNGNRGBA":    encodeWith(t, png.Encode, nrgba),
		"PNGNRGBA64":  encodeWith(t, png.Encode, rgba64),
		"PNGPaletted": encodeWith(t, png.Encode, pal),
		"PNGRGB":      encodeWith(t, png.Encode, opaqueCopy(nrgba)),
		"JPEGGray":    encodeJPEG(t, gray),
		"JPEG420":     encodeJPEG(t, ycc),
		"JPEGFromRGB": encodeJPEG(t, opaqueCopy(nrgba)),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			info, ok := media.Sniff(b)
			if !ok {
				t.Fatal("not sniffed")
			}
			decodeConfig, decodeImage := codec(info.ContentType)
			cfg, err := decodeConfig(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			est, err := decodeCost(b, info.ContentType, cfg)
			if err != nil {
				t.Fatal(err)
			}
			runtime.GC()
			before := allocs()
			if _, err := decodeImage(bytes.NewReader(b)); err != nil {
				t.Fatal(err)
			}
			used := int64(allocs() - before)
			// The decoders' own small state (buffers, tables) is not estimated.
			const slack = 256 << 10
			if used > est+slack {
				t.Errorf("decoding allocated %d bytes, the estimate is %d", used, est)
			}
			if est > 2*used+slack {
				t.Errorf("the estimate %d is more than twice the %d bytes decoding allocated", est, used)
			}
		})
	}
}

// TestJPEGCostReadsTheFrameHeader checks the estimate for the JPEGs the
// standard encoder cannot write: progressive and 4:4:4, from hand-made
// frame headers.
func TestJPEGCostReadsTheFrameHeader(t *testing.T) {
	frame := func(marker byte, w, h int, comps ...byte) []byte {
		b := []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, marker, 0, byte(8 + 3*len(comps)/1), 8,
			byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(len(comps))}
		for i, f := range comps {
			b = append(b, byte(i+1), f, 0)
		}
		return b
	}
	const px = 1600 * 1200
	cases := map[string]struct {
		b    []byte
		want int64
	}{
		"Baseline420":    {frame(0xC0, 1600, 1200, 0x22, 0x11, 0x11), px * 3 / 2},
		"Baseline444":    {frame(0xC0, 1600, 1200, 0x11, 0x11, 0x11), px * 3},
		"Progressive420": {frame(0xC2, 1600, 1200, 0x22, 0x11, 0x11), px * 3 / 2 * 5},
		"Gray":           {frame(0xC1, 1600, 1200, 0x11), px},
		"CMYK":           {frame(0xC0, 1600, 1200, 0x11, 0x11, 0x11, 0x11), px * 8},
		// Odd subsampling is decoded at full resolution; the estimate also
		// counts the planes, erring on the safe side.
		"Odd": {frame(0xC0, 1600, 1200, 0x12, 0x21, 0x11), 800*1200 + 1600*600 + 800*600 + 3*px},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := jpegCost(c.b)
			if err != nil || got != c.want {
				t.Fatalf("got %d, %v, want %d", got, err, c.want)
			}
		})
	}
	if _, err := jpegCost(frame(0xC3, 16, 16, 0x11)); err == nil {
		t.Error("a lossless JPEG, which image/jpeg cannot decode, was given a cost")
	}
	if _, err := jpegCost([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0x10, 0x00}); err == nil {
		t.Error("a truncated segment was given a cost")
	}
}

func allocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func encodeWith(t *testing.T, enc func(w io.Writer, m image.Image) error, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := enc(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t *testing.T, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// opaqueCopy is m with every pixel made opaque: image/png writes it as RGB.
func opaqueCopy(m *image.NRGBA) *image.NRGBA {
	c := image.NewNRGBA(m.Rect)
	copy(c.Pix, m.Pix)
	for i := 3; i < len(c.Pix); i += 4 {
		c.Pix[i] = 0xff
	}
	return c
}
