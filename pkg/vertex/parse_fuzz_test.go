package vertex

import (
	"errors"
	"testing"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// FuzzParsePrediction feeds arbitrary answers to the prediction parser: it
// must never panic, and must answer either an image or a classified error.
func FuzzParsePrediction(f *testing.F) {
	for _, seed := range []string{
		`{"predictions": [{"mimeType": "image/png", "bytesBase64Encoded": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="}]}`,
		`{"predictions": [{"raiFilteredReason": "filtered"}]}`,
		`{"predictions": []}`, `{}`, `[]`, `{"predictions": [{"bytesBase64Encoded": "!!"}]}`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := parsePrediction(data)
		var pe *tryon.ProviderError
		switch {
		case err == nil && (res == nil || len(res.Bytes) == 0 || res.Width <= 0):
			t.Fatalf("no error and no image: %+v", res)
		case err != nil && !errors.As(err, &pe):
			t.Fatalf("unclassified error %v", err)
		}
	})
}
