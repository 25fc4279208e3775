package generation

import (
	"fmt"
	"slices"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// GarmentRequest is one garment of a try-on task, as decoded.
type GarmentRequest struct {
	Image     *string `json:"image"`
	Category  *string `json:"category"`
	PhotoType *string `json:"photo_type"`
}

// GarmentSpec is a validated garment: its image reference, fetched later.
type GarmentSpec struct {
	Image     string
	Category  tryon.Category
	PhotoType tryon.PhotoType
	// Index is the garment's place in the request, which error fields name.
	Index int
}

// Limits of a try-on task and of the output parameters.
const (
	MaxGarments          = 3
	MaxSeed              = 1<<31 - 1 // Gemini takes an int32 seed; FASHN and Vertex an unsigned one
	MaxOutputs           = 4         // what fal's num_images, FASHN's num_samples and Vertex's sampleCount take
	DefaultOutputQuality = 90
)

type badFunc func(field, format string, args ...any)

// validateOutfit checks task and its try-on fields: a try-on takes a person
// image and one to three garments that can be worn together; a generate
// task takes no garments.
func (r *Request) validateOutfit(s *Spec, bad badFunc) {
	if s.Service.TryonOnly() && s.Task != tryon.TaskTryon {
		bad("task", "must be tryon with service %s, a dedicated try-on model", s.Service)
	}
	switch s.Task {
	case tryon.TaskGenerate:
		if r.Garments != nil {
			bad("garments", "is only allowed with task tryon")
		}
		return
	case tryon.TaskTryon:
	default:
		bad("task", "must be one of generate, tryon")
		return
	}
	if s.Service.IsVideo() {
		bad("service", "must be an image service for task tryon")
	}
	if r.PersonImage == nil {
		bad("person_image", "is required for task tryon")
	}
	if r.GarmentImage != nil {
		bad("garment_image", "is not allowed with task tryon; use garments")
	}
	switch n := len(r.Garments); {
	case n == 0:
		bad("garments", "must list 1 to %d garments for task tryon", MaxGarments)
	case n > MaxGarments:
		bad("garments", "must list at most %d garments, got %d", MaxGarments, n)
	}
	seen := map[tryon.Category]bool{}
	for i, g := range r.Garments {
		field := fmt.Sprintf("garments[%d]", i)
		gs := GarmentSpec{Index: i}
		if g.Image == nil {
			bad(field+".image", "is required")
		} else if msg := imageURLProblem(*g.Image); msg != "" {
			bad(field+".image", "%s", msg)
		} else {
			gs.Image = *g.Image
		}
		switch {
		case g.Category == nil:
			bad(field+".category", "is required")
		case !tryon.Category(*g.Category).Valid():
			bad(field+".category", "must be one of top, bottom, outerwear, one-piece")
		case seen[tryon.Category(*g.Category)]:
			bad(field+".category", "%s is already in the outfit", *g.Category)
		default:
			gs.Category = tryon.Category(*g.Category)
			seen[gs.Category] = true
		}
		gs.PhotoType = tryon.PhotoAuto
		if g.PhotoType != nil {
			gs.PhotoType = tryon.PhotoType(*g.PhotoType)
			if !gs.PhotoType.Valid() {
				bad(field+".photo_type", "must be one of auto, flat-lay, model")
			}
		}
		s.Garments = append(s.Garments, gs)
	}
	if seen[tryon.CategoryOnePiece] && (seen[tryon.CategoryTop] || seen[tryon.CategoryBottom]) {
		bad("garments", "a one-piece cannot be worn with a top or a bottom")
	}
	// Dressing order, so that providers and the fake layer outerwear last.
	slices.SortStableFunc(s.Garments, func(a, b GarmentSpec) int { return a.Category.Layer() - b.Category.Layer() })
}

// validateOutput checks seed, output_format, output_quality and num_outputs.
func (r *Request) validateOutput(s *Spec, bad badFunc) {
	video := s.Service.IsVideo()
	if r.Seed != nil {
		switch {
		case video:
			bad("seed", "is only allowed with image services")
		case *r.Seed < 0 || *r.Seed > MaxSeed:
			bad("seed", "must be between 0 and %d", MaxSeed)
		}
		s.Seed = r.Seed
	}
	if r.OutputFormat != nil {
		s.OutputFormat = tryon.OutputFormat(*r.OutputFormat)
		switch {
		case video:
			bad("output_format", "is only allowed with image services")
		case !s.OutputFormat.Valid():
			bad("output_format", "must be one of png, jpeg, webp")
		}
	}
	if r.OutputQuality != nil {
		q := *r.OutputQuality
		switch {
		case s.OutputFormat != tryon.FormatJPEG && s.OutputFormat != tryon.FormatWebP:
			bad("output_quality", "is only allowed with output_format jpeg or webp")
		case q < 1 || q > 100:
			bad("output_quality", "must be between 1 and 100")
		}
		s.OutputQuality = q
	} else if s.OutputFormat == tryon.FormatJPEG || s.OutputFormat == tryon.FormatWebP {
		s.OutputQuality = DefaultOutputQuality
	}
	s.NumOutputs = 1
	if r.NumOutputs != nil {
		n := *r.NumOutputs
		switch {
		case video && n != 1:
			bad("num_outputs", "must be 1 with service %s: a video request makes one video", s.Service)
		case n < 1 || n > MaxOutputs:
			bad("num_outputs", "must be between 1 and %d", MaxOutputs)
		default:
			s.NumOutputs = n
		}
	}
}

// Params returns what the generation records of its try-on and output
// parameters, or nil for a request that asked for none.
func (s *Spec) Params() *tryon.Params {
	if s.Task != tryon.TaskTryon && s.Seed == nil && s.OutputFormat == "" {
		return nil
	}
	p := &tryon.Params{Task: s.Task, Seed: s.Seed, OutputFormat: s.OutputFormat, OutputQuality: s.OutputQuality}
	for _, g := range s.Garments {
		p.Garments = append(p.Garments, tryon.GarmentParams{Category: g.Category, PhotoType: g.PhotoType})
	}
	return p
}

// garmentsOf joins the fetched garment photos to their specs, which are
// already in dressing order (tryonprompt.Order's, kept by validateOutfit).
func garmentsOf(specs []GarmentSpec, images []*tryon.Image) []tryon.Garment {
	out := make([]tryon.Garment, len(specs))
	for i, g := range specs {
		out[i] = tryon.Garment{Image: images[i], Category: g.Category, PhotoType: g.PhotoType}
	}
	return out
}

// fetchesRemote reports whether any input image is an http(s) URL to fetch.
func (s *Spec) fetchesRemote() bool {
	if isRemote(s.PersonImage) || isRemote(s.GarmentImage) {
		return true
	}
	for _, g := range s.Garments {
		if isRemote(g.Image) {
			return true
		}
	}
	return false
}
