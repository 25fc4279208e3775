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
	var scaled int64
	d, err := Decode(ctx, b, func(w, h int, decodeCost int64) int64 {
		// The scaled copy takes 4 bytes a pixel; once it is made the
		// source is dropped and its share pays for the encoded output,
		// which is never larger than the copy.
		w, h = fitSize(w, h, MaxSide)
		scaled = 4 * int64(w) * int64(h)
		return scaled + max(0, scaled-decodeCost)
	})
	if err != nil {
		return nil, err
	}
	defer d.Release()
	bounds := d.Image.Bounds()
	w, h := fitSize(bounds.Dx(), bounds.Dy(), MaxSide)
	m := shrink(d.Image, w, h, d.Orientation)
	d.DropImage(2 * scaled)

	out := bytes.NewBuffer(make([]byte, 0, len(m.Pix)/4))
	img := &tryon.Image{Width: m.Rect.Dx(), Height: m.Rect.Dy()}
	if m.Opaque() {
		img.ContentType = media.JPEG
		err = jpeg.Encode(out, m, &jpeg.Options{Quality: jpegQuality})
	} else {
		img.ContentType = media.PNG
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(out, m)
	}
	if err != nil {
		return nil, fmt.Errorf("encode normalised input: %w", err)
	}
	img.Bytes = out.Bytes()
	return img, nil
}
