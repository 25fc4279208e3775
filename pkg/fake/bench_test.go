package fake

import (
	"context"
	"image"
	"image/color"
	"testing"

	"github.com/tryonhq/tryon/pkg/tryon"
)

func benchmarkGenerate(b *testing.B, req tryon.ProviderRequest) {
	p := New(Options{VideoLatency: -1})
	ctx := context.Background()
	var size int
	for b.Loop() {
		res, err := p.Generate(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		size = len(res.Bytes)
	}
	b.ReportMetric(float64(size), "bytes/output")
}

func BenchmarkGenerateImage1024(b *testing.B) {
	req := imageRequest("a red summer dress, studio light")
	req.Width, req.Height = 1024, 1024
	benchmarkGenerate(b, req)
}

func BenchmarkGenerateImage4096(b *testing.B) {
	req := imageRequest("a red summer dress, studio light")
	req.Width, req.Height = 4096, 4096
	benchmarkGenerate(b, req)
}

// BenchmarkGenerateTryOn1024 includes decoding a 768×1024 photo-like JPEG
// and a 512×512 PNG garment, which dominates the cost.
func BenchmarkGenerateTryOn1024(b *testing.B) {
	photo := image.NewRGBA(image.Rect(0, 0, 768, 1024))
	for y := range 1024 {
		for x := range 768 {
			photo.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 0xff})
		}
	}
	req := imageRequest("try this on")
	req.Width, req.Height = 1024, 1024
	req.Person = encodeInput(b, "jpeg", photo)
	req.Garment = solidImage(b, "png", 512, 512, blue)
	benchmarkGenerate(b, req)
}

func BenchmarkGenerateVideo8s(b *testing.B) {
	req := videoRequest("a walk on the beach")
	req.DurationSeconds = 8
	benchmarkGenerate(b, req)
}
