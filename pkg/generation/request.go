package generation

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// Request is the body of POST /generate, as decoded. Pointers tell "absent"
// from zero; Validate turns it into a Spec or lists every invalid field.
type Request struct {
	Prompt          *string        `json:"prompt"`
	Service         *string        `json:"service"`
	Width           *int           `json:"width"`
	Height          *int           `json:"height"`
	PersonImage     *string        `json:"person_image"`
	GarmentImage    *string        `json:"garment_image"`
	DurationSeconds *int           `json:"duration_seconds"`
	Metadata        map[string]any `json:"metadata"`
	// The try-on task and output parameters (outfit.go).
	Task          *string          `json:"task"`
	Garments      []GarmentRequest `json:"garments"`
	Seed          *int64           `json:"seed"`
	OutputFormat  *string          `json:"output_format"`
	OutputQuality *int             `json:"output_quality"`
	NumOutputs    *int             `json:"num_outputs"`
}

// Spec is a validated request with defaults applied.
type Spec struct {
	Prompt          string
	Service         tryon.Service
	Width, Height   int
	PersonImage     string // URL or data: URL; empty when not a try-on
	GarmentImage    string
	DurationSeconds int // video only
	Metadata        map[string]string
	Task            tryon.Task
	// Garments is a try-on task's outfit, in dressing order.
	Garments      []GarmentSpec
	Seed          *int64
	OutputFormat  tryon.OutputFormat
	OutputQuality int
	// NumOutputs is how many outputs to make, each reserved and billed:
	// 1 to MaxOutputs for images, 1 for video.
	NumOutputs int
}

// Limits of POST /generate (docs/API.md).
const (
	MaxPromptChars   = 4000
	MinSide, MaxSide = 64, 4096
	DefaultSide      = 1024
	MaxMetadataPairs = 16
	MaxMetadataKey   = 40
	MaxMetadataValue = 500
	DefaultVideoSecs = 8
)

// Validate checks every field and returns the Spec, or one invalid_request
// error listing every field at fault.
func (r *Request) Validate() (Spec, error) { return r.ValidateFor("") }

// ValidateFor is Validate for a tenant whose default service is def: a
// request naming no service gets def ("" means banana), unless def is a
// dedicated try-on model and the request is not a try-on.
func (r *Request) ValidateFor(def tryon.Service) (Spec, error) {
	var s Spec
	var details []tryon.FieldError
	bad := func(field, format string, args ...any) {
		details = append(details, tryon.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}

	s.Task = tryon.TaskGenerate
	if r.Task != nil {
		s.Task = tryon.Task(*r.Task)
	}
	switch {
	case r.Prompt == nil && s.Task == tryon.TaskTryon:
		// A try-on's instructions are Tryon's own; a prompt only adds to them.
	case r.Prompt == nil:
		bad("prompt", "is required")
	default:
		p := strings.TrimSpace(*r.Prompt)
		switch n := utf8.RuneCountInString(p); {
		case n == 0:
			bad("prompt", "must not be empty")
		case n > MaxPromptChars:
			bad("prompt", "must be at most %d characters, got %d", MaxPromptChars, n)
		case strings.ContainsRune(p, 0):
			bad("prompt", "must not contain NUL characters")
		}
		s.Prompt = p
	}

	s.Service = tryon.ServiceBanana
	// A dedicated try-on default serves only try-ons; the tenant's other
	// requests keep banana.
	if def != "" && (!def.TryonOnly() || s.Task == tryon.TaskTryon) {
		s.Service = def
	}
	if r.Service != nil {
		s.Service = tryon.Service(*r.Service)
		if !s.Service.Valid() {
			bad("service", "must be one of banana, banana-pro, veo3, fashn, vto")
		}
	}

	s.Width, s.Height = side(r.Width), side(r.Height)
	if s.Width < MinSide || s.Width > MaxSide {
		bad("width", "must be between %d and %d", MinSide, MaxSide)
	}
	if s.Height < MinSide || s.Height > MaxSide {
		bad("height", "must be between %d and %d", MinSide, MaxSide)
	}

	person, garment := deref(r.PersonImage), deref(r.GarmentImage)
	switch {
	case s.Task == tryon.TaskTryon:
		// validateOutfit checks the try-on's images.
	case r.PersonImage != nil && r.GarmentImage == nil:
		bad("garment_image", "is required when person_image is given")
	case r.GarmentImage != nil && r.PersonImage == nil:
		bad("person_image", "is required when garment_image is given")
	}
	if r.PersonImage != nil {
		if msg := imageURLProblem(person); msg != "" {
			bad("person_image", "%s", msg)
		}
	}
	if r.GarmentImage != nil {
		if msg := imageURLProblem(garment); msg != "" {
			bad("garment_image", "%s", msg)
		}
	}
	s.PersonImage, s.GarmentImage = person, garment

	if r.DurationSeconds != nil {
		if s.Service != tryon.ServiceVeo3 {
			bad("duration_seconds", "is only allowed with service veo3")
		} else if d := *r.DurationSeconds; d != 4 && d != 6 && d != 8 {
			bad("duration_seconds", "must be 4, 6 or 8")
		}
		s.DurationSeconds = *r.DurationSeconds
	} else if s.Service == tryon.ServiceVeo3 {
		s.DurationSeconds = DefaultVideoSecs
	}

	r.validateOutfit(&s, bad)
	r.validateOutput(&s, bad)

	if len(r.Metadata) > MaxMetadataPairs {
		bad("metadata", "must have at most %d keys, got %d", MaxMetadataPairs, len(r.Metadata))
	}
	s.Metadata = make(map[string]string, len(r.Metadata))
	for k, raw := range r.Metadata {
		v, isString := raw.(string)
		s.Metadata[k] = v
		switch {
		case !isString:
			bad("metadata."+k, "must be a string")
		case k == "":
			bad("metadata", "keys must not be empty")
		case utf8.RuneCountInString(k) > MaxMetadataKey:
			bad("metadata."+k, "key must be at most %d characters", MaxMetadataKey)
		case utf8.RuneCountInString(v) > MaxMetadataValue:
			bad("metadata."+k, "must be at most %d characters", MaxMetadataValue)
		case strings.ContainsRune(k, 0) || strings.ContainsRune(v, 0):
			bad("metadata."+k, "must not contain NUL characters")
		}
	}

	if len(details) > 0 {
		return Spec{}, tryon.Invalid(sortDetails(details)...)
	}
	return s, nil
}

func side(p *int) int {
	if p == nil {
		return DefaultSide
	}
	return *p
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// imageURLProblem checks the form of an input image reference; fetching it
// (and checking what it points to) comes later.
func imageURLProblem(u string) string {
	lower := strings.ToLower(u)
	switch {
	case isRemote(u):
		if len(u) > 2048 {
			return "must be a URL of at most 2048 characters"
		}
		return ""
	case strings.HasPrefix(lower, "data:"):
		for _, t := range []string{"data:image/png;base64,", "data:image/jpeg;base64,", "data:image/webp;base64,"} {
			if strings.HasPrefix(lower, t) {
				return ""
			}
		}
		return "must be a data:image/(png|jpeg|webp);base64 URL"
	}
	return "must be an http(s) URL or a data:image/(png|jpeg|webp);base64 URL"
}

// sortDetails orders field errors by field name so responses are stable
// (map iteration over metadata is not).
func sortDetails(d []tryon.FieldError) []tryon.FieldError {
	slices.SortStableFunc(d, func(a, b tryon.FieldError) int { return strings.Compare(a.Field, b.Field) })
	return d
}

// isRemote reports whether an input image is an http(s) URL to fetch.
func isRemote(u string) bool {
	l := strings.ToLower(u)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}
