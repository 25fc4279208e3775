package fal

import (
	"encoding/json"

	"github.com/tryonhq/tryon/pkg/gemini"
	"github.com/tryonhq/tryon/pkg/tryon"
	"github.com/tryonhq/tryon/pkg/tryonprompt"
)

// tryonInput is a Nano Banana edit call for a try-on task: the same body as
// input, plus the seed, and the output format the tenant asked for, since
// fal encodes PNG, JPEG and WebP itself.
type tryonInput struct {
	input
	Seed *int64 `json:"seed,omitempty"`
}

// buildTryon encodes a try-on task for a Nano Banana edit endpoint: Tryon's
// own instructions (package tryonprompt) with the person and the garments
// as image_urls in the order they name them.
func (p *Provider) buildTryon(edit string, req tryon.ProviderRequest) (string, []byte, *tryon.ProviderError) {
	in := tryonInput{input: input{
		Prompt:       tryonprompt.Build(req.Service, req.Garments, req.Prompt),
		NumImages:    req.Outputs(),
		OutputFormat: "png",
		AspectRatio:  snapAspectRatio(req.Width, req.Height),
	}, Seed: req.Seed}
	if req.OutputFormat != "" {
		in.OutputFormat = string(req.OutputFormat)
	}
	if req.Service == tryon.ServiceBananaPro && req.Width > 0 && req.Height > 0 {
		_, in.Resolution = gemini.SnapImage(proModel, req.Width, req.Height)
	}
	images := []*tryon.Image{req.Person}
	for _, g := range req.Garments {
		images = append(images, g.Image)
	}
	for _, img := range images {
		if img == nil || len(img.Bytes) == 0 || img.ContentType == "" {
			return edit, nil, invalid("a try-on input image is empty")
		}
		in.ImageURLs = append(in.ImageURLs, dataURI(img))
	}
	body, err := json.Marshal(in)
	if err != nil {
		return edit, nil, invalid("encode request: " + err.Error())
	}
	return edit, body, nil
}
