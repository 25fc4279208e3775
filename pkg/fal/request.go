package fal

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strings"

	"github.com/tryonhq/tryon/pkg/gemini"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// input is the JSON body of a Nano Banana call. The field names are fal's
// (see the package doc); num_images is the outputs asked for (1 to 4) and
// output_format the format asked for, PNG by default.
type input struct {
	Prompt       string   `json:"prompt"`
	ImageURLs    []string `json:"image_urls,omitempty"`
	NumImages    int      `json:"num_images"`
	OutputFormat string   `json:"output_format"`
	// AspectRatio is omitted when the tenant gave no size: the edit endpoint
	// then follows the input images ("auto") and text-to-image makes a square.
	AspectRatio string `json:"aspect_ratio,omitempty"`
	// Resolution is Nano Banana Pro's size tier ("1K", "2K", "4K"; fal's
	// default is 1K): the smallest that covers the requested size, as for
	// Gemini. Nano Banana has one size and no such field.
	Resolution string `json:"resolution,omitempty"`
}

// proModel is the Gemini model fal's Nano Banana Pro endpoints run, whose
// size tiers decide Resolution.
const proModel = "gemini-3-pro-image-preview"

// defaultTryOnPrompt is sent when a try-on request carries no instruction of
// its own, because fal rejects an empty prompt and the images alone do not say
// which one is the garment.
const defaultTryOnPrompt = "Dress the person in the first image in the garment from the second image. " +
	"Keep the person's face, body, pose, hair and the background unchanged."

// buildCall chooses the endpoint for req and encodes its body. Its errors are
// requests we refuse to send: they could only come back as fal validation errors.
func (p *Provider) buildCall(req tryon.ProviderRequest) (endpoint string, body []byte, perr *tryon.ProviderError) {
	edit, ok := p.endpoints[req.Service]
	if !ok {
		return "", nil, invalid("fal serves no endpoint for service " + string(req.Service))
	}
	if len(req.Garments) > 0 {
		return p.buildTryon(edit, req)
	}
	if (req.Person == nil) != (req.Garment == nil) {
		return edit, nil, invalid("a try-on needs both a person and a garment image")
	}

	in := input{
		Prompt:       strings.TrimSpace(req.Prompt),
		NumImages:    req.Outputs(),
		OutputFormat: "png",
		AspectRatio:  snapAspectRatio(req.Width, req.Height),
	}
	if req.OutputFormat != "" {
		// fal encodes PNG, JPEG and WebP itself: the one way to get WebP.
		in.OutputFormat = string(req.OutputFormat)
	}
	if req.Service == tryon.ServiceBananaPro && req.Width > 0 && req.Height > 0 {
		_, in.Resolution = gemini.SnapImage(proModel, req.Width, req.Height)
	}
	endpoint = edit
	if req.Person != nil {
		for _, img := range []*tryon.Image{req.Person, req.Garment} {
			if len(img.Bytes) == 0 || img.ContentType == "" {
				return endpoint, nil, invalid("a try-on input image is empty")
			}
			in.ImageURLs = append(in.ImageURLs, dataURI(img))
		}
		if in.Prompt == "" {
			in.Prompt = defaultTryOnPrompt
		}
	} else {
		endpoint = strings.TrimSuffix(edit, "/edit")
		if in.Prompt == "" {
			return endpoint, nil, invalid("a text-to-image request needs a prompt")
		}
	}

	body, err := json.Marshal(in)
	if err != nil {
		// Only strings and ints go in, so this cannot happen; say so if it does.
		return endpoint, nil, invalid("encode request: " + err.Error())
	}
	return endpoint, body, nil
}

// dataURI inlines an image so fal never has to reach our storage: tenant
// inputs may sit behind URLs fal cannot see, and inlining avoids a separate
// upload to fal's CDN that would outlive the request.
func dataURI(img *tryon.Image) string {
	return "data:" + img.ContentType + ";base64," + base64.StdEncoding.EncodeToString(img.Bytes)
}

// aspectRatios are the ratios the Nano Banana endpoints accept besides "auto".
var aspectRatios = []struct {
	name string
	w, h float64
}{
	{"21:9", 21, 9}, {"16:9", 16, 9}, {"3:2", 3, 2}, {"4:3", 4, 3}, {"5:4", 5, 4},
	{"1:1", 1, 1}, {"4:5", 4, 5}, {"3:4", 3, 4}, {"2:3", 2, 3}, {"9:16", 9, 16},
}

// snapAspectRatio maps a requested size onto the nearest ratio fal accepts,
// comparing logarithms so that 2:1 and 1:2 are equally far from 1:1. It returns
// "" when no size was asked for.
func snapAspectRatio(width, height int) string {
	if width <= 0 || height <= 0 {
		return ""
	}
	want := math.Log(float64(width) / float64(height))
	best, bestDist := "", math.Inf(1)
	for _, r := range aspectRatios {
		if d := math.Abs(math.Log(r.w/r.h) - want); d < bestDist {
			best, bestDist = r.name, d
		}
	}
	return best
}

// invalid is a request we refuse before sending it.
func invalid(detail string) *tryon.ProviderError {
	return &tryon.ProviderError{
		Provider: providerName, Kind: tryon.FailInvalidRequest,
		Message: msgInvalid, Detail: detail,
	}
}
