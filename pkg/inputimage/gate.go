package inputimage

import (
	"context"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// Gate is the tryon.Fetcher that POST /generate uses for its input images:
// it loads an image through the guarded fetcher it wraps (which refuses
// private addresses, oversized bodies and non-images), then checks and
// normalises it, so that every provider gets the same small, verified
// input. Its errors are invalid_request *tryon.Errors naming no field, or
// an unavailable one when the decode budget stayed full.
type Gate struct {
	Fetcher tryon.Fetcher
}

var _ tryon.Fetcher = Gate{}

// FetchImage fetches rawURL (http(s) or data:) and normalises the image.
func (g Gate) FetchImage(ctx context.Context, rawURL string) (*tryon.Image, error) {
	raw, err := g.Fetcher.FetchImage(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	return Normalise(ctx, raw.Bytes)
}
