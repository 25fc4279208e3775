package falfake

import (
	"bytes"
	"encoding/base64"
	"hash/fnv"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"strings"

	"github.com/tryonhq/tryon/pkg/media"
)

// size is an output size in pixels.
type size struct{ w, h int }

// Output sizes at fal's default 1K resolution, per aspect ratio, from Google's
// tables for gemini-2.5-flash-image (Nano Banana) and gemini-3-pro-image
// (Nano Banana Pro), which fal hosts. Nano Banana Pro renders "2K" and "4K"
// at two and four times the 1K size; Nano Banana has one size.
var (
	flashSizes = map[string]size{
		"1:1": {1024, 1024}, "2:3": {832, 1248}, "3:2": {1248, 832}, "3:4": {864, 1184},
		"4:3": {1184, 864}, "4:5": {896, 1152}, "5:4": {1152, 896}, "9:16": {768, 1344},
		"16:9": {1344, 768}, "21:9": {1536, 672},
	}
	proSizes = map[string]size{
		"1:1": {1024, 1024}, "2:3": {848, 1264}, "3:2": {1264, 848}, "3:4": {896, 1200},
		"4:3": {1200, 896}, "4:5": {928, 1152}, "5:4": {1152, 928}, "9:16": {768, 1376},
		"16:9": {1376, 768}, "21:9": {1584, 672},
	}
)

// outputSize picks the pixel size for in. "auto" (or nothing) follows the last
// input image, as the model does, and falls back to a square.
func outputSize(in input, pro bool) (w, h int) {
	table := flashSizes
	if pro {
		table = proSizes
	}
	ratio := in.AspectRatio
	if ratio == "" || ratio == "auto" {
		ratio = "1:1"
		if n := len(in.ImageURLs); n > 0 {
			if info, ok := media.Sniff(decodeDataURI(in.ImageURLs[n-1])); ok && info.IsImage() {
				ratio = nearestRatio(info.Width, info.Height, table)
			}
		}
	}
	s := table[ratio]
	scale := 1
	if pro {
		scale = map[string]int{"2K": 2, "4K": 4}[in.Resolution]
		scale = max(scale, 1)
	}
	return s.w * scale, s.h * scale
}

// nearestRatio returns the table's ratio closest to w:h on a log scale.
func nearestRatio(w, h int, table map[string]size) string {
	want := math.Log(float64(w) / float64(h))
	best, bestDist := "1:1", math.Inf(1)
	for name, s := range table {
		d := math.Abs(math.Log(float64(s.w)/float64(s.h)) - want)
		if d < bestDist || (d == bestDist && name < best) {
			best, bestDist = name, d
		}
	}
	return best
}

// decodeDataURI returns the bytes of a base64 data: URI, or nil.
func decodeDataURI(u string) []byte {
	rest, ok := strings.CutPrefix(u, "data:")
	if !ok {
		return nil
	}
	meta, payload, ok := strings.Cut(rest, ",")
	if !ok || !strings.HasSuffix(meta, ";base64") {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(payload)
	if err != nil || len(b) == 0 {
		return nil
	}
	return b
}

// render draws a flat two-colour picture: a background chosen by the prompt
// and a centred block, so outputs differ between prompts and are cheap to
// encode. A paletted image keeps the PNG small and the encoding fast.
func render(w, h int, prompt string, index int, ext string) []byte {
	hash := fnv.New32a()
	_, _ = hash.Write([]byte(prompt))
	v := hash.Sum32() + uint32(index)*0x9e3779b9
	bg := color.RGBA{uint8(v), uint8(v >> 8), uint8(v >> 16), 0xff}
	fg := color.RGBA{^bg.R, ^bg.G, ^bg.B, 0xff}

	img := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{bg, fg})
	for y := h / 4; y < h*3/4; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+w]
		for x := w / 4; x < w*3/4; x++ {
			row[x] = 1
		}
	}

	var buf bytes.Buffer
	if ext == "jpeg" {
		_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80})
		return buf.Bytes()
	}
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	_ = enc.Encode(&buf, img)
	return buf.Bytes()
}
