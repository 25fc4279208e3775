package fal

import (
	"context"
	"encoding/json"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// DefaultFashnEndpoint is FASHN's try-on model on fal.
const DefaultFashnEndpoint = "fal-ai/fashn/tryon/v1.6"

// fashnInput is the body of a FASHN v1.6 call on fal. It takes one garment
// per call; category and garment_photo_type replace the prompt a general
// model needs.
type fashnInput struct {
	ModelImage       string `json:"model_image"`
	GarmentImage     string `json:"garment_image"`
	Category         string `json:"category"`
	GarmentPhotoType string `json:"garment_photo_type"`
	// Mode "balanced" (about 8 s) is FASHN's default trade between
	// "performance" (about 5 s) and "quality" (12 to 17 s).
	Mode         string `json:"mode"`
	NumSamples   int    `json:"num_samples"`
	Seed         *int64 `json:"seed,omitempty"`
	OutputFormat string `json:"output_format"`
}

// fashnCategories maps Tryon's categories onto FASHN's, which has no
// outerwear: a jacket is a top to it, and put on after the top it goes
// over the top.
var fashnCategories = map[tryon.Category]string{
	tryon.CategoryTop:       "tops",
	tryon.CategoryOuterwear: "tops",
	tryon.CategoryBottom:    "bottoms",
	tryon.CategoryOnePiece:  "one-pieces",
}

// fashnInputs are the calls a try-on makes, one per garment in dressing
// order. The first takes the person's photo; each later one takes the
// previous call's output, filled in by generateFashn, so an outfit is
// dressed one garment at a time as FASHN advises.
func fashnInputs(req tryon.ProviderRequest) ([]fashnInput, *tryon.ProviderError) {
	if req.Person == nil || len(req.Person.Bytes) == 0 || len(req.Garments) == 0 {
		return nil, invalid("a fashn try-on needs a person and at least one garment")
	}
	format := "png"
	if req.OutputFormat == tryon.FormatJPEG {
		format = "jpeg"
	}
	calls := make([]fashnInput, len(req.Garments))
	for i, g := range req.Garments {
		if g.Image == nil || len(g.Image.Bytes) == 0 {
			return nil, invalid("a try-on garment image is empty")
		}
		photo := string(g.PhotoType)
		if photo == "" {
			photo = string(tryon.PhotoAuto)
		}
		calls[i] = fashnInput{
			GarmentImage: dataURI(g.Image), Category: fashnCategories[g.Category], GarmentPhotoType: photo,
			Mode: "balanced", NumSamples: 1, Seed: req.Seed, OutputFormat: format,
		}
	}
	calls[0].ModelImage = dataURI(req.Person)
	// An outfit is dressed one garment per call, each on the last call's
	// image: only the last call makes the variants asked for.
	calls[len(calls)-1].NumSamples = req.Outputs()
	return calls, nil
}

// generateFashn dresses the person one garment at a time and downloads the
// last output. Intermediate outputs stay on fal's CDN: fal fetches them
// itself as the next call's model_image.
func (p *Provider) generateFashn(ctx context.Context, req tryon.ProviderRequest) (*tryon.Result, error) {
	endpoint := p.endpoints[tryon.ServiceFashn]
	calls, perr := fashnInputs(req)
	if perr != nil {
		return nil, p.report(perr, endpoint)
	}
	if p.key == "" {
		return nil, p.report(errNoKey(), endpoint)
	}
	var last *answer
	for i, in := range calls {
		if i > 0 {
			in.ModelImage = (*last.Images)[0].URL
		}
		body, err := json.Marshal(in)
		if err != nil {
			return nil, p.report(invalid("encode request: "+err.Error()), endpoint)
		}
		if last, err = p.callWithRetry(ctx, endpoint, body); err != nil {
			return nil, p.reportErr(err, endpoint)
		}
	}
	res, err := p.downloadAll(ctx, last, req.Outputs())
	if err != nil {
		return nil, p.reportErr(err, endpoint)
	}
	return res, nil
}
