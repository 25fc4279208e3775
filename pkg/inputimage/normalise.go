package inputimage

import (
	"bytes"
	"context"
	"fmt"
	"image/jpeg"
	"image/png"

	"github.com/tryonhq/tryon/pkg/media"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// Normalise checks an input image and returns it ready for any provider:
// at most MaxSide pixels on its longer side, upright, without metadata,
// re-encoded as JPEG (quality 90) when it is opaque and as PNG when it has
// transparency, which try-on garments often do. Its errors are Decode's.
func Normalise(ctx context.Context, b []byte) (*tryon.Image, error) {
	d, err := Decode(ctx, b, normalisedCost)
	if err != nil {
		return nil, err
	}
	defer d.Release()
	bounds := d.Image.Bounds()
	w, h := fitSize(bounds.Dx(), bounds.Dy(), MaxSide)
	m := shrink(d.Image, w, h, d.Orientation)

	var out bytes.Buffer
	img := &tryon.Image{Width: m.Rect.Dx(), Height: m.Rect.Dy()}
	if m.Opaque() {
		img.ContentType = media.JPEG
		err = jpeg.Encode(&out, m, &jpeg.Options{Quality: jpegQuality})
	} else {
		img.ContentType = media.PNG
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&out, m)
	}
	if err != nil {
		return nil, fmt.Errorf("encode normalised input: %w", err)
	}
	img.Bytes = out.Bytes()
	return img, nil
}

// normalisedCost is the memory Normalise needs beyond the decoded image: the
// scaled copy (4 bytes a pixel) and its encoding, which for a PNG of noise
// can be as large again.
func normalisedCost(w, h int) int64 {
	w, h = fitSize(w, h, MaxSide)
	return 8 * int64(w) * int64(h)
}
