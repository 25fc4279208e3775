package falfake

import (
	"io"
	"net/http"
	"slices"
	"strings"
)

// FashnEndpoint is FASHN's try-on model on fal, which the fake serves too.
const FashnEndpoint = "fal-ai/fashn/tryon/v1.6"

// fashnInput is a FASHN v1.6 body as fal documents it.
type fashnInput struct {
	ModelImage       string `json:"model_image"`
	GarmentImage     string `json:"garment_image"`
	Category         string `json:"category"`
	Mode             string `json:"mode"`
	GarmentPhotoType string `json:"garment_photo_type"`
	ModerationLevel  string `json:"moderation_level"`
	NumSamples       int    `json:"num_samples"`
	Seed             *int64 `json:"seed"`
	OutputFormat     string `json:"output_format"`
	SegmentationFree *bool  `json:"segmentation_free"`
}

// FashnWidth and FashnHeight are the fixed size of FASHN v1.6's outputs.
const FashnWidth, FashnHeight = 864, 1296

// SetFashnScenario makes every later FASHN call answer sc (FASHN takes no
// prompt to carry a token): a platform failure, ContentPolicy, Validation
// or NoImages; Normal restores success.
func (s *Server) SetFashnScenario(sc Scenario) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fashnScenario = sc
}

// FashnRequests returns the bodies of every FASHN call so far, in order.
func (s *Server) FashnRequests() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]byte, len(s.fashnBodies))
	for i, b := range s.fashnBodies {
		out[i] = append([]byte(nil), b...)
	}
	return out
}

func (s *Server) handleFashn(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	s.record(FashnEndpoint, r.Header.Get("Authorization"), body)
	s.mu.Lock()
	s.fashnBodies = append(s.fashnBodies, body)
	sc := s.fashnScenario
	s.mu.Unlock()
	if err != nil {
		return
	}
	var in fashnInput
	if !s.admit(w, r, body, &in) {
		return
	}
	if s.platformFailure(w, r, sc, "fashn") {
		return
	}
	if items := s.validateFashn(in); len(items) > 0 {
		writeErrors(w, http.StatusUnprocessableEntity, items...)
		return
	}
	switch sc {
	case ContentPolicy:
		writeErrors(w, http.StatusUnprocessableEntity, errorItem{
			Loc: []any{"body", "model_image"}, Msg: "The content was flagged by a content checker.",
			Type: "content_policy_violation",
		})
		return
	case Validation:
		writeErrors(w, http.StatusUnprocessableEntity, errorItem{
			Loc: []any{"body", "model_image"}, Msg: "Could not detect a person's pose in the model image.",
			Type: "image_load_error",
		})
		return
	case NoImages:
		writeJSON(w, http.StatusOK, map[string]any{"images": []any{}})
		return
	}
	ext, contentType := "png", "image/png"
	if in.OutputFormat == "jpeg" {
		ext, contentType = "jpeg", "image/jpeg"
	}
	n := max(in.NumSamples, 1)
	if sc == Partial {
		n = 1
	}
	images := make([]outFile, 0, n)
	for i := range n {
		// The picture follows the inputs, so a chained call shows it got the
		// previous output.
		data := render(FashnWidth, FashnHeight, in.Category+" "+in.GarmentPhotoType+" "+in.ModelImage, i, ext)
		images = append(images, outFile{
			URL: s.URL() + "/files/" + s.store(data, ext), ContentType: contentType, FileName: "output." + ext,
			FileSize: len(data), Width: FashnWidth, Height: FashnHeight,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"images": images})
}

// validateFashn checks a body against FASHN v1.6's input schema on fal. A
// model_image on this fake's own /files/ must name a file it served, as
// fal's CDN would.
func (s *Server) validateFashn(in fashnInput) []errorItem {
	var errs []errorItem
	image := func(field, u string) {
		switch {
		case u == "":
			errs = append(errs, errorItem{Loc: []any{"body", field}, Msg: "Field required", Type: "missing"})
		case strings.HasPrefix(u, "data:"):
			if decodeDataURI(u) == nil {
				errs = append(errs, errorItem{Loc: []any{"body", field}, Msg: "Could not decode the data URI as an image.", Type: "image_load_error"})
			}
		case strings.HasPrefix(u, s.URL()+"/files/"):
			s.mu.Lock()
			_, ok := s.files[strings.TrimPrefix(u, s.URL()+"/files/")]
			s.mu.Unlock()
			if !ok {
				errs = append(errs, errorItem{Loc: []any{"body", field}, Msg: "Could not load the image from the given URL.", Type: "image_load_error"})
			}
		case !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://"):
			errs = append(errs, errorItem{Loc: []any{"body", field}, Msg: "Could not load the image from the given URL.", Type: "image_load_error"})
		}
	}
	image("model_image", in.ModelImage)
	image("garment_image", in.GarmentImage)
	enum := func(field, v string, allowed ...string) {
		if v != "" && !slices.Contains(allowed, v) {
			errs = append(errs, errorItem{Loc: []any{"body", field}, Msg: "Input should be one of " + strings.Join(allowed, ", "),
				Type: "literal_error", Input: v})
		}
	}
	enum("category", in.Category, "tops", "bottoms", "one-pieces", "auto")
	enum("mode", in.Mode, "performance", "balanced", "quality")
	enum("garment_photo_type", in.GarmentPhotoType, "auto", "flat-lay", "model")
	enum("moderation_level", in.ModerationLevel, "none", "permissive", "conservative")
	enum("output_format", in.OutputFormat, "png", "jpeg")
	if in.NumSamples != 0 && (in.NumSamples < 1 || in.NumSamples > 4) {
		errs = append(errs, errorItem{Loc: []any{"body", "num_samples"}, Msg: "Input should be between 1 and 4", Type: "less_than_equal", Input: in.NumSamples})
	}
	if in.Seed != nil && *in.Seed < 0 {
		errs = append(errs, errorItem{Loc: []any{"body", "seed"}, Msg: "Input should be greater than or equal to 0", Type: "greater_than_equal", Input: *in.Seed})
	}
	return errs
}
