package fake

import (
	"context"
	"image"
	"image/png"
	"os"
	"testing"

	"github.com/tryonhq/tryon/pkg/tryon"
)

func TestZZDump(t *testing.T) {
	dir := os.Getenv("FAKE_DUMP")
	if dir == "" {
		t.Skip()
	}
	p := New(Options{VideoLatency: -1})
	person := solidImage(t, "png", 90, 160, red)
	garment := solidImage(t, "png", 50, 50, blue)
	photo := image.NewRGBA(image.Rect(0, 0, 300, 400))
	for y := range 400 {
		for x := range 300 {
			photo.Pix[y*photo.Stride+4*x] = uint8(x)
			photo.Pix[y*photo.Stride+4*x+1] = uint8(y)
			photo.Pix[y*photo.Stride+4*x+2] = uint8(x ^ y)
			photo.Pix[y*photo.Stride+4*x+3] = 255
		}
	}
	for _, c := range []struct {
		name string
		req  tryon.ProviderRequest
	}{
		{"img", tryon.ProviderRequest{Service: tryon.ServiceBanana, Prompt: "A red summer dress, studio light", Width: 1024, Height: 768}},
		{"tryon_img", tryon.ProviderRequest{Service: tryon.ServiceBanana, Prompt: "Try on", Width: 768, Height: 1024, Person: encodeInput(t, "jpeg", photo), Garment: garment}},
		{"land", tryon.ProviderRequest{Service: tryon.ServiceVeo3, Prompt: "A red summer dress, studio light", Width: 1280, Height: 720, DurationSeconds: 8}},
		{"port", tryon.ProviderRequest{Service: tryon.ServiceVeo3, Prompt: "portrait walk", Width: 720, Height: 1280, DurationSeconds: 4}},
		{"tryon", tryon.ProviderRequest{Service: tryon.ServiceVeo3, Prompt: "try-on video", Width: 1280, Height: 720, DurationSeconds: 6, Person: person, Garment: encodeInput(t, "jpeg", photo)}},
	} {
		r, err := p.Generate(context.Background(), c.req)
		if err != nil {
			t.Fatal(err)
		}
		ext := ".png"
		if c.req.Service == tryon.ServiceVeo3 {
			ext = ".mp4"
			op, _ := p.start(context.Background(), c.req)
			enc := newH264Encoder(op.Width, op.Height, videoFPS)
			var raw []byte
			cw := enc.mbW * 16
			drawFrames(op, enc, func(i int, f *yuvFrame) {
				for y := range op.Height {
					raw = append(raw, f.y[y*cw:y*cw+op.Width]...)
				}
				for _, pl := range [][]byte{f.cb, f.cr} {
					for y := range op.Height / 2 {
						raw = append(raw, pl[y*cw/2:y*cw/2+op.Width/2]...)
					}
				}
			})
			os.WriteFile(dir+"/"+c.name+".expected.yuv", raw, 0o644)
			// Frame 0 as drawn, in RGB.
			lk := lookFor(op.seed())
			m := image.NewPaletted(image.Rect(0, 0, op.Width, op.Height), lk.palette())
			sc := scene{look: lk, label: op.Label, footer: "FAKE VIDEO " + string(rune('0'+op.Seconds)) + "S", total: op.Seconds * videoFPS, done: 1, square: squareAt(layoutFor(op.Width, op.Height), 0)}
			if op.Person != nil {
				sc.person = thumbnail(op.Person.grid())
			}
			if op.Garment != nil {
				sc.garment = thumbnail(op.Garment.grid())
			}
			sc.draw(m)
			fh, _ := os.Create(dir + "/" + c.name + ".frame0.expected.png")
			png.Encode(fh, m)
			fh.Close()
		}
		os.WriteFile(dir+"/"+c.name+ext, r.Bytes, 0o644)
		t.Log(c.name, len(r.Bytes), r.Width, r.Height)
	}
}
