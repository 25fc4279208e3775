package generation

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"

	"github.com/tryonhq/tryon/pkg/media"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// convertOutputs converts every output of a result (convertOutput).
func convertOutputs(out *tryon.Result, format tryon.OutputFormat, quality int) (*tryon.Result, error) {
	all := out.All()
	for i, o := range all {
		one := *o // the first is the caller's result: leave its More alone
		one.More = nil
		c, err := convertOutput(&one, format, quality)
		if err != nil {
			return nil, err
		}
		all[i] = c
	}
	return tryon.Results(all), nil
}

// maxConvertPixels bounds what is decoded for conversion: providers make at
// most 4K images, so anything larger is not an output we asked for.
const maxConvertPixels = 64_000_000

// convertOutput re-encodes a provider's image as the format the tenant asked
// for. PNG and JPEG are encoded here with the standard library; WebP has no
// encoder there, so a WebP output comes only from providers that make it
// themselves (they are asked through ProviderRequest.OutputFormat) and any
// other output is kept in its own format, which its content_type tells.
// Images already in the asked format are kept as they are.
func convertOutput(out *tryon.Result, format tryon.OutputFormat, quality int) (*tryon.Result, error) {
	want := map[tryon.OutputFormat]string{tryon.FormatPNG: media.PNG, tryon.FormatJPEG: media.JPEG}[format]
	info, ok := media.Sniff(out.Bytes)
	if want == "" || !ok || !info.IsImage() || info.ContentType == want {
		return out, nil
	}
	if info.ContentType == media.WebP {
		// The standard library decodes no WebP either; keep it.
		return out, nil
	}
	if info.Width*info.Height > maxConvertPixels {
		return nil, fmt.Errorf("output of %d×%d pixels is too large to convert", info.Width, info.Height)
	}
	m, _, err := image.Decode(bytes.NewReader(out.Bytes))
	if err != nil {
		return nil, fmt.Errorf("decode output: %w", err)
	}
	var b bytes.Buffer
	switch format {
	case tryon.FormatJPEG:
		if quality <= 0 {
			quality = DefaultOutputQuality
		}
		err = jpeg.Encode(&b, m, &jpeg.Options{Quality: quality})
	default:
		err = png.Encode(&b, m)
	}
	if err != nil {
		return nil, fmt.Errorf("encode output: %w", err)
	}
	return &tryon.Result{Bytes: b.Bytes(), ContentType: want, Width: info.Width, Height: info.Height}, nil
}
