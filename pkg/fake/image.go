package fake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"image"
	"image/png"
	"sync"

	"github.com/tryonhq/tryon/pkg/media"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// The image sizes the API accepts (docs/API.md, POST /generate).
const (
	minSide     = 64
	maxSide     = 4096
	defaultSide = 1024
)

// encoder writes PNGs at the fastest compression: outputs are flat colour
// and compress well anyway, and a load test runs this provider at zero
// latency, where encoding time is the provider's whole cost. Its buffer pool
// reuses the compressor's large state between calls.
var encoder = png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &encoderBuffers{}}

type encoderBuffers struct{ pool sync.Pool }

func (b *encoderBuffers) Get() *png.EncoderBuffer {
	buf, _ := b.pool.Get().(*png.EncoderBuffer)
	return buf
}

func (b *encoderBuffers) Put(buf *png.EncoderBuffer) { b.pool.Put(buf) }

func (p *Provider) generateImage(ctx context.Context, req tryon.ProviderRequest) (*tryon.Result, error) {
	w, h := req.Width, req.Height
	if req.Service == tryon.ServiceFashn {
		// FASHN v1.6 always answers 864×1296, whatever was asked.
		w, h = 864, 1296
	}
	if req.Service == tryon.ServiceVTO && req.Person != nil && req.Person.Width > 0 && req.Person.Height > 0 {
		// Virtual Try-On answers at the person photo's size, within the
		// sizes the fake draws.
		w, h = min(max(req.Person.Width, minSide), maxSide), min(max(req.Person.Height, minSide), maxSide)
	}
	if w == 0 && h == 0 {
		w, h = defaultSide, defaultSide
	}
	if w < minSide || w > maxSide || h < minSide || h > maxSide {
		return nil, p.invalid("the fake provider makes images %d to %d pixels a side, not %d×%d", minSide, maxSide, w, h)
	}
	sc := parseScenario(req.Prompt)
	if err := p.wait(ctx, p.opts.Latency+sc.sleep); err != nil {
		return nil, err
	}
	if err := p.forced("image"); err != nil {
		return nil, err
	}
	if err := p.scenarioFailure(sc, "image"); err != nil {
		return nil, err
	}
	inputs := []*tryon.Image{req.Person, req.Garment}
	for _, g := range req.Garments {
		inputs = append(inputs, g.Image)
	}
	pics, release, err := p.loadPictures(ctx, inputs...)
	if err != nil {
		return nil, err
	}
	defer release()
	person, garment := pics[0], pics[1]
	outfit := outfitOf(req.Garments, pics[2:])
	n := req.Outputs()
	if sc.capped {
		n = min(n, sc.outputs)
	}
	if n == 0 {
		return nil, p.failure(tryon.FailNoOutput, "image", "the prompt asked for [fake:outputs=0]")
	}
	outs := make([]*tryon.Result, n)
	for i := range outs {
		b, err := renderPNG(variantPrompt(sc.prompt, req, i), w, h, person, garment, outfit...)
		if err != nil {
			return nil, err
		}
		outs[i] = &tryon.Result{Bytes: b, ContentType: media.PNG, Width: w, Height: h}
	}
	return tryon.Results(outs), nil
}

// variantPrompt is what output i of a request is drawn from. A request for
// one output is drawn as it always was; of several, output i is drawn as
// if seeded with seed+i (seed 0 when none was asked for), the way Tryon
// seeds the calls of models that make one image per call, so each variant
// differs from the others and the same request draws the same set.
func variantPrompt(prompt string, req tryon.ProviderRequest, i int) string {
	if req.Outputs() == 1 {
		return labelPrompt(prompt, req)
	}
	seed := int64(i)
	if req.Seed != nil {
		seed += *req.Seed
	}
	req.Seed = &seed
	return labelPrompt(prompt, req)
}

// renderPNG draws and encodes the picture for a prompt (without its
// scenario tokens) at w×h.
func renderPNG(prompt string, w, h int, person, garment picture, outfit ...worn) ([]byte, error) {
	lk := lookFor(sha256.Sum256([]byte(prompt)))
	m := image.NewPaletted(image.Rect(0, 0, w, h), lk.palette())
	sc := scene{
		look:    lk,
		label:   labelFor(prompt),
		footer:  fmt.Sprintf("FAKE %dX%d", w, h),
		person:  person,
		garment: garment,
		outfit:  outfit,
		samples: 1,
	}
	sc.draw(m)
	var out bytes.Buffer
	out.Grow(w * h / 8)
	if err := encoder.Encode(&out, m); err != nil {
		return nil, fmt.Errorf("encode png: %w", err)
	}
	return out.Bytes(), nil
}

// labelFor is the banner text for a prompt; a prompt made only of scenario
// tokens still gets a label.
func labelFor(prompt string) string {
	if prompt == "" {
		return "FAKE"
	}
	return labelText(prompt, labelLen)
}

// labelPrompt is what a picture's banner and colours come from: the prompt,
// or for a try-on task without one, its outfit and seed, so that changing
// either shows in a local run.
func labelPrompt(prompt string, req tryon.ProviderRequest) string {
	if len(req.Garments) == 0 && req.Seed == nil {
		return prompt
	}
	if prompt == "" && len(req.Garments) > 0 {
		prompt = "TRYON"
		for _, g := range req.Garments {
			prompt += " " + string(g.Category)
		}
	}
	if req.Seed != nil {
		prompt += fmt.Sprintf(" SEED %d", *req.Seed)
	}
	return prompt
}
