package falfake

import (
	"slices"
	"strings"
)

// input is the part of a Nano Banana body the fake understands. Unknown fields
// are ignored, as fal's models ignore them.
type input struct {
	Prompt       string   `json:"prompt"`
	ImageURLs    []string `json:"image_urls"`
	NumImages    int      `json:"num_images"`
	AspectRatio  string   `json:"aspect_ratio"`
	OutputFormat string   `json:"output_format"`
	Resolution   string   `json:"resolution"`
}

// errorItem is one entry of fal's typed error list.
type errorItem struct {
	Loc   []any          `json:"loc"`
	Msg   string         `json:"msg"`
	Type  string         `json:"type"`
	URL   string         `json:"url,omitempty"`
	Ctx   map[string]any `json:"ctx,omitempty"`
	Input any            `json:"input,omitempty"`
}

// aspectRatios are the values the Nano Banana endpoints accept.
var aspectRatios = []string{"auto", "21:9", "16:9", "3:2", "4:3", "5:4", "1:1", "4:5", "3:4", "2:3", "9:16"}

// validate checks in against the documented input schema, so a client bug
// shows up as the 422 fal would send rather than as a silent success.
func validate(in input, edit bool) []errorItem {
	var errs []errorItem
	if strings.TrimSpace(in.Prompt) == "" {
		errs = append(errs, errorItem{Loc: []any{"body", "prompt"}, Msg: "Field required", Type: "missing"})
	}
	if edit && len(in.ImageURLs) == 0 {
		errs = append(errs, errorItem{Loc: []any{"body", "image_urls"}, Msg: "Field required", Type: "missing"})
	}
	for i, u := range in.ImageURLs {
		if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "data:") {
			errs = append(errs, errorItem{
				Loc: []any{"body", "image_urls", i}, Msg: "Could not load the image from the given URL.",
				Type: "image_load_error",
			})
		} else if strings.HasPrefix(u, "data:") && decodeDataURI(u) == nil {
			errs = append(errs, errorItem{
				Loc: []any{"body", "image_urls", i}, Msg: "Could not decode the data URI as an image.",
				Type: "image_load_error",
			})
		}
	}
	if in.NumImages != 0 && (in.NumImages < 1 || in.NumImages > 4) {
		errs = append(errs, errorItem{
			Loc: []any{"body", "num_images"}, Msg: "Input should be between 1 and 4", Type: "less_than_equal",
			Input: in.NumImages,
		})
	}
	if in.AspectRatio != "" && !slices.Contains(aspectRatios, in.AspectRatio) {
		errs = append(errs, errorItem{
			Loc: []any{"body", "aspect_ratio"}, Msg: "Input should be one of " + strings.Join(aspectRatios, ", "),
			Type: "literal_error", Input: in.AspectRatio,
		})
	}
	if in.OutputFormat != "" && !slices.Contains([]string{"jpeg", "png", "webp"}, in.OutputFormat) {
		errs = append(errs, errorItem{
			Loc: []any{"body", "output_format"}, Msg: "Input should be 'jpeg', 'png' or 'webp'",
			Type: "literal_error", Input: in.OutputFormat,
		})
	}
	if in.Resolution != "" && !slices.Contains([]string{"1K", "2K", "4K"}, in.Resolution) {
		errs = append(errs, errorItem{
			Loc: []any{"body", "resolution"}, Msg: "Input should be '1K', '2K' or '4K'",
			Type: "literal_error", Input: in.Resolution,
		})
	}
	return errs
}
