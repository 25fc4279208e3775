package geminifake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	_ "image/jpeg" // input images are decoded to follow their aspect ratio
	"image/png"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// generateRequest is a generateContent body after decodeStrict has made every
// key camelCase. It lists the fields the real API accepts that a client might
// plausibly send; anything else is refused as unknown.
type generateRequest struct {
	Contents []struct {
		Role  string        `json:"role"`
		Parts []requestPart `json:"parts"`
	} `json:"contents"`
	GenerationConfig *struct {
		ResponseModalities []string `json:"responseModalities"`
		ImageConfig        *struct {
			AspectRatio      string `json:"aspectRatio"`
			ImageSize        string `json:"imageSize"`
			PersonGeneration string `json:"personGeneration"`
		} `json:"imageConfig"`
		Temperature     json.RawMessage `json:"temperature"`
		TopP            json.RawMessage `json:"topP"`
		TopK            json.RawMessage `json:"topK"`
		Seed            json.RawMessage `json:"seed"`
		CandidateCount  json.RawMessage `json:"candidateCount"`
		MaxOutputTokens json.RawMessage `json:"maxOutputTokens"`
		ThinkingConfig  json.RawMessage `json:"thinkingConfig"`
	} `json:"generationConfig"`
	SafetySettings    json.RawMessage `json:"safetySettings"`
	SystemInstruction json.RawMessage `json:"systemInstruction"`
}

type requestPart struct {
	Text       *string `json:"text"`
	InlineData *struct {
		MimeType string `json:"mimeType"`
		Data     string `json:"data"`
	} `json:"inlineData"`
	Thought          bool   `json:"thought"`
	ThoughtSignature string `json:"thoughtSignature"`
}

// ImageColor fills the images the fake generates, and ThoughtColor its
// interim thought images, so a test can tell which one a client kept.
var (
	ImageColor   = color.RGBA{0x2a, 0x9d, 0x8f, 0xff}
	ThoughtColor = color.RGBA{0x99, 0x99, 0x99, 0xff}
)

// inputTypes are the image types the real API accepts inline.
var inputTypes = map[string]bool{
	"image/png": true, "image/jpeg": true, "image/webp": true, "image/heic": true, "image/heif": true,
}

func (s *Server) generateContent(w http.ResponseWriter, r *http.Request, model string) {
	if !s.authorized(r) {
		writeRaw(w, http.StatusBadRequest, badKeyBody)
		return
	}
	if !strings.HasPrefix(model, "gemini-") {
		writeNotFoundModel(w, model, "generateContent")
		return
	}
	var req generateRequest
	body, _ := io.ReadAll(r.Body) // record has buffered it
	if err := decodeStrict(body, &req); err != nil {
		writeInvalid(w, "Invalid JSON payload received. %v", err)
		return
	}
	var texts []string
	var lastImage []byte
	if len(req.Contents) == 0 {
		writeInvalid(w, "* GenerateContentRequest.contents: contents is not specified")
		return
	}
	for ci, c := range req.Contents {
		if len(c.Parts) == 0 {
			writeInvalid(w, "* GenerateContentRequest.contents[%d].parts: contents.parts must not be empty.", ci)
			return
		}
		for pi, p := range c.Parts {
			switch {
			case p.Text != nil && p.InlineData == nil:
				texts = append(texts, *p.Text)
			case p.InlineData != nil && p.Text == nil:
				if !inputTypes[p.InlineData.MimeType] {
					writeInvalid(w, "Unsupported MIME type: %q at contents[%d].parts[%d].inline_data", p.InlineData.MimeType, ci, pi)
					return
				}
				data, err := decodeBytes(p.InlineData.Data)
				if err != nil || len(data) == 0 {
					writeInvalid(w, "Invalid value at 'contents[%d].parts[%d].inline_data.data' (TYPE_BYTES), Base64 decoding failed", ci, pi)
					return
				}
				lastImage = data
			default:
				writeInvalid(w, "* GenerateContentRequest.contents[%d].parts[%d].data: required oneof field 'data' must have one initialized field", ci, pi)
				return
			}
		}
	}
	prompt := strings.Join(texts, "\n")
	if s.failure(w, r, RouteGenerateContent, model, prompt) {
		return
	}

	fam := familyOf(model)
	ratio, size := "", ""
	wantImage := true
	if gc := req.GenerationConfig; gc != nil {
		if len(gc.ResponseModalities) > 0 {
			wantImage = false
			for _, m := range gc.ResponseModalities {
				wantImage = wantImage || strings.EqualFold(m, "IMAGE")
			}
		}
		if ic := gc.ImageConfig; ic != nil {
			ratio, size = ic.AspectRatio, ic.ImageSize
		}
	}
	if ratio != "" && !fam.hasRatio(ratio) {
		writeInvalid(w, "Unsupported aspect ratio %q for model %s.", ratio, model)
		return
	}
	if size != "" && !fam.hasTier(size) {
		writeInvalid(w, "Unsupported image size %q for model %s.", size, model)
		return
	}
	if ratio == "" {
		// Google: the output follows the (last) input image, else 1:1.
		ratio = fam.ratioOf(lastImage)
	}
	if size == "" {
		size = "1K"
	}
	width, height, tokens := fam.size(ratio, size)

	usage := map[string]any{
		"promptTokenCount":        len(prompt)/4 + 1,
		"candidatesTokenCount":    tokens,
		"totalTokenCount":         len(prompt)/4 + 1 + tokens,
		"promptTokensDetails":     []any{map[string]any{"modality": "TEXT", "tokenCount": len(prompt)/4 + 1}},
		"candidatesTokensDetails": []any{map[string]any{"modality": "IMAGE", "tokenCount": tokens}},
	}
	answer := func(candidate map[string]any) {
		candidate["index"] = 0
		writeJSON(w, map[string]any{
			"candidates":    []any{candidate},
			"usageMetadata": usage,
			"modelVersion":  model,
			"responseId":    newID(),
		})
	}
	imagePart := func(w, h int, c color.RGBA) map[string]any {
		return map[string]any{"inlineData": map[string]any{
			"mimeType": "image/png",
			"data":     base64.StdEncoding.EncodeToString(renderPNG(w, h, c)),
		}}
	}
	textPart := func(t string) map[string]any { return map[string]any{"text": t} }

	var seed []byte
	if gc := req.GenerationConfig; gc != nil {
		seed = gc.Seed
	}
	// A seeded call draws its own image, as the model's sampling would:
	// N calls seeded seed+i (several outputs) answer N different images.
	final := seededColor(seed)
	tok := firstToken(prompt, outcomeTokens)
	if tok == "" && safetyForSeed(prompt, seed) {
		tok = TokenImageSafety
	}
	switch {
	case tok == TokenBlock:
		writeJSON(w, map[string]any{
			"promptFeedback": map[string]any{"blockReason": "PROHIBITED_CONTENT"},
			"usageMetadata":  map[string]any{"promptTokenCount": len(prompt)/4 + 1, "totalTokenCount": len(prompt)/4 + 1},
			"modelVersion":   model,
			"responseId":     newID(),
		})
	case tok == TokenBlockMessage:
		// No blockReason, no candidates: only the message says why.
		writeJSON(w, map[string]any{
			"promptFeedback": map[string]any{"blockReasonMessage": "The prompt was blocked because it may violate our policies."},
			"modelVersion":   model,
			"responseId":     newID(),
		})
	case tok == TokenImageSafety:
		answer(map[string]any{"finishReason": "IMAGE_SAFETY"})
	case tok == TokenNoImage:
		answer(map[string]any{"finishReason": "NO_IMAGE"})
	case tok == TokenTextOnly || !wantImage:
		answer(map[string]any{
			"content":      map[string]any{"role": "model", "parts": []any{textPart("I can't make that image, but here is a description of the outfit instead.")}},
			"finishReason": "STOP",
		})
	case tok == TokenThought:
		thought := imagePart(max(width/4, 1), max(height/4, 1), ThoughtColor)
		thought["thought"] = true
		answer(map[string]any{
			"content": map[string]any{"role": "model", "parts": []any{
				thought,
				map[string]any{"text": "Adjusting the fit of the sleeves.", "thought": true},
				textPart("Here is the result."),
				imagePart(width, height, final),
			}},
			"finishReason": "STOP",
		})
	default:
		answer(map[string]any{
			"content":      map[string]any{"role": "model", "parts": []any{imagePart(width, height, final)}},
			"finishReason": "STOP",
		})
	}
}

// family is what one line of image models accepts and renders
// (docs/PROVIDERS.md §1.6).
type family struct {
	ratios map[string][2]int // pixels at 1K
	tiers  map[string]tier
}

type tier struct {
	num, den int // scale from 1K
	tokens   int
}

var (
	flash25Sizes = map[string][2]int{
		"1:1": {1024, 1024}, "2:3": {832, 1248}, "3:2": {1248, 832}, "3:4": {864, 1184}, "4:3": {1184, 864},
		"4:5": {896, 1152}, "5:4": {1152, 896}, "9:16": {768, 1344}, "16:9": {1344, 768}, "21:9": {1536, 672},
	}
	gemini3Sizes = map[string][2]int{
		"1:1": {1024, 1024}, "2:3": {848, 1264}, "3:2": {1264, 848}, "3:4": {896, 1200}, "4:3": {1200, 896},
		"4:5": {928, 1152}, "5:4": {1152, 928}, "9:16": {768, 1376}, "16:9": {1376, 768}, "21:9": {1584, 672},
	}
	flash31Extra = map[string][2]int{"1:4": {512, 2048}, "4:1": {2048, 512}, "1:8": {384, 3072}, "8:1": {3072, 384}}

	flash25 = family{flash25Sizes, map[string]tier{}}
	gemini3 = family{gemini3Sizes, map[string]tier{
		"1K": {1, 1, 1120}, "2K": {2, 1, 1120}, "4K": {4, 1, 2000},
	}}
	flash31 = family{merge(gemini3Sizes, flash31Extra), map[string]tier{
		"512": {1, 2, 747}, "1K": {1, 1, 1120}, "2K": {2, 1, 1680}, "4K": {4, 1, 2520},
	}}
)

func merge(a, b map[string][2]int) map[string][2]int {
	out := make(map[string][2]int, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// familyOf matches models by prefix, as their dated and preview variants
// share a family. Gemini 2.x models take no imageSize at all.
func familyOf(model string) family {
	switch {
	case strings.HasPrefix(model, "gemini-2."):
		return flash25
	case strings.HasPrefix(model, "gemini-3.1-flash-image"):
		return flash31
	}
	return gemini3
}

func (f family) hasRatio(r string) bool { _, ok := f.ratios[r]; return ok }
func (f family) hasTier(t string) bool  { _, ok := f.tiers[t]; return ok }

// size returns the pixel size and output tokens of a ratio at a tier.
func (f family) size(ratio, size string) (w, h, tokens int) {
	px := f.ratios[ratio]
	t, ok := f.tiers[size]
	if !ok { // 2.5 Flash: 1K only
		return px[0], px[1], 1290
	}
	return px[0] * t.num / t.den, px[1] * t.num / t.den, t.tokens
}

// ratioOf picks the supported ratio nearest to an input image's, or 1:1
// when there is no image or it cannot be decoded (WebP, HEIC).
func (f family) ratioOf(img []byte) string {
	if img == nil {
		return "1:1"
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(img))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return "1:1"
	}
	want := math.Log(float64(cfg.Width) / float64(cfg.Height))
	best, bestDist := "1:1", math.Inf(1)
	for name, px := range f.ratios {
		d := math.Abs(want - math.Log(float64(px[0])/float64(px[1])))
		if d < bestDist || (d == bestDist && name < best) {
			best, bestDist = name, d
		}
	}
	return best
}

type pngKey struct {
	w, h int
	c    color.RGBA
}

// pngCache keeps encoded images: tests ask for the same few sizes over and
// over, and a 4K encode is worth doing once.
var pngCache sync.Map

// renderPNG draws a w×h image of colour c inside a white frame 1/32 of the
// short edge wide. The image is paletted with more than 16 entries so that
// image/png takes its 8-bit fast path, which copies whole rows: drawing a
// 4K answer pixel by pixel takes seconds under the race detector.
func renderPNG(w, h int, c color.RGBA) []byte {
	key := pngKey{w, h, c}
	if b, ok := pngCache.Load(key); ok {
		return b.([]byte)
	}
	pal := make(color.Palette, 17)
	for i := range pal {
		pal[i] = color.White
	}
	pal[0] = c
	img := image.NewPaletted(image.Rect(0, 0, w, h), pal)
	frame := max(min(w, h)/32, 1)
	edge, middle := make([]uint8, w), make([]uint8, w)
	for x := range w {
		edge[x] = 1
		if x < frame || x >= w-frame {
			middle[x] = 1
		}
	}
	for y := range h {
		row := middle
		if y < frame || y >= h-frame {
			row = edge
		}
		copy(img.Pix[y*img.Stride:], row)
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		panic("geminifake: encode PNG: " + err.Error())
	}
	b, _ := pngCache.LoadOrStore(key, buf.Bytes())
	return b.([]byte)
}

// seededColor is ImageColor for an unseeded call, and for a seeded one a
// shade of it that the seed picks (its blue channel moved by 37 per unit),
// so that differently seeded calls answer visibly different images.
func seededColor(seed []byte) color.RGBA {
	c := ImageColor
	n, err := strconv.ParseInt(strings.TrimSpace(string(seed)), 10, 64)
	if len(seed) == 0 || err != nil {
		return c
	}
	c.B += uint8((n % 7) * 37)
	return c
}
