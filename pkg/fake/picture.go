package fake

import (
	"context"
	"errors"
	"image"
	"image/color"

	"github.com/tryonhq/tryon/pkg/inputimage"
	"github.com/tryonhq/tryon/pkg/media"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// grid is a picture in palette indices, idxClear where it is transparent.
type grid struct {
	w, h int
	pix  []uint8
}

// picture is an input image, ready to be drawn at any size.
type picture interface {
	// size is the picture's own size, whose aspect ratio drawing keeps.
	size() (w, h int)
	// grid samples the picture at w×h; k×k samples per cell are averaged,
	// because a tiny thumbnail of a photo taken from single pixels is noise.
	grid(w, h, k int) grid
}

// loadPictures decodes the person and garment images within the process's
// decode budget (inputimage.DecodeAll), which the pictures hold until
// release is called. Both are reserved at once: holding one while waiting
// for the other could leave every caller waiting. Inputs that came through
// POST /generate are already normalised, small PNGs and JPEGs; the budget
// still bounds what a direct caller could send. WebP inputs are not
// decoded: a WebP input becomes a placeholder of its size.
func (p *Provider) loadPictures(ctx context.Context, images ...*tryon.Image) (pics []picture, release func(), err error) {
	pics, raw := make([]picture, len(images)), make([][]byte, len(images))
	for i, img := range images {
		if img == nil {
			continue
		}
		if info, ok := media.Sniff(img.Bytes); ok && info.ContentType == media.WebP {
			pics[i] = placeholder{info.Width, info.Height}
			continue
		}
		raw[i] = img.Bytes
		if raw[i] == nil {
			raw[i] = []byte{}
		}
	}
	ds, failed, err := inputimage.DecodeAll(ctx, raw...)
	if err != nil {
		if te := (*tryon.Error)(nil); errors.As(err, &te) && te.Code != tryon.CodeInvalidRequest {
			return nil, nil, p.timeout(err)
		}
		return nil, nil, p.invalid("input image %d %v", failed+1, err)
	}
	for i, d := range ds {
		if d != nil {
			pics[i] = decoded{d.Image}
		}
	}
	return pics, func() {
		for _, d := range ds {
			d.Release()
		}
	}, nil
}

// decoded is a PNG or JPEG input.
type decoded struct{ img image.Image }

func (d decoded) size() (int, int) { return d.img.Bounds().Dx(), d.img.Bounds().Dy() }

func (d decoded) grid(w, h, k int) grid {
	b := d.img.Bounds()
	read := pixelReader(d.img)
	// Sample at the centres of a (w·k)×(h·k) lattice over the image.
	xs, ys := make([]int, w*k), make([]int, h*k)
	for i := range xs {
		xs[i] = b.Min.X + (2*i+1)*b.Dx()/(2*len(xs))
	}
	for i := range ys {
		ys[i] = b.Min.Y + (2*i+1)*b.Dy()/(2*len(ys))
	}
	g := grid{w, h, make([]uint8, w*h)}
	if k == 1 { // nearest neighbour, the common full-size case: no averaging
		for gy, y := range ys {
			row := g.pix[gy*w : gy*w+w]
			for gx, x := range xs {
				r, gr, bl, a := read(x, y)
				row[gx] = idxClear
				if a >= 0x80 {
					row[gx] = cubeIndex(r, gr, bl)
				}
			}
		}
		return g
	}
	for gy := range h {
		for gx := range w {
			var sr, sg, sb, opaque int
			for _, y := range ys[gy*k : gy*k+k] {
				for _, x := range xs[gx*k : gx*k+k] {
					r, gr, bl, a := read(x, y)
					if a >= 0x80 {
						sr, sg, sb, opaque = sr+int(r), sg+int(gr), sb+int(bl), opaque+1
					}
				}
			}
			if 2*opaque < k*k {
				g.pix[gy*w+gx] = idxClear
				continue
			}
			g.pix[gy*w+gx] = cubeIndex(uint8(sr/opaque), uint8(sg/opaque), uint8(sb/opaque))
		}
	}
	return g
}

// pixelReader returns a fast way to read non-premultiplied 8-bit pixels of
// the image types the decoders make: going through image.Image.At allocates
// for every pixel, which a 4096-pixel-wide output cannot afford.
func pixelReader(img image.Image) func(x, y int) (r, g, b, a uint8) {
	switch m := img.(type) {
	case *image.YCbCr:
		return func(x, y int) (uint8, uint8, uint8, uint8) {
			yi, ci := m.YOffset(x, y), m.COffset(x, y)
			r, g, b := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
			return r, g, b, 0xff
		}
	case *image.NRGBA:
		return func(x, y int) (uint8, uint8, uint8, uint8) {
			p := m.Pix[m.PixOffset(x, y):]
			return p[0], p[1], p[2], p[3]
		}
	case *image.RGBA:
		return func(x, y int) (uint8, uint8, uint8, uint8) {
			p := m.Pix[m.PixOffset(x, y):]
			a := int(p[3])
			if a == 0 {
				return 0, 0, 0, 0
			}
			un := func(v uint8) uint8 { return uint8(int(v) * 0xff / a) }
			return un(p[0]), un(p[1]), un(p[2]), p[3]
		}
	case *image.Gray:
		return func(x, y int) (uint8, uint8, uint8, uint8) {
			v := m.Pix[m.PixOffset(x, y)]
			return v, v, v, 0xff
		}
	case *image.Paletted:
		var lut [256]color.NRGBA
		for i, c := range m.Palette {
			lut[i] = color.NRGBAModel.Convert(c).(color.NRGBA)
		}
		return func(x, y int) (uint8, uint8, uint8, uint8) {
			c := lut[m.Pix[m.PixOffset(x, y)]]
			return c.R, c.G, c.B, c.A
		}
	}
	return func(x, y int) (uint8, uint8, uint8, uint8) {
		c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
		return c.R, c.G, c.B, c.A
	}
}

// placeholder stands for an input the fake provider cannot decode (WebP): a
// checkerboard of the input's size, so the layout is still the real one.
type placeholder struct{ w, h int }

func (p placeholder) size() (int, int) {
	if p.w <= 0 || p.h <= 0 {
		return 1, 1
	}
	return p.w, p.h
}

func (p placeholder) grid(w, h, _ int) grid {
	cell := max(1, max(w, h)/8)
	g := grid{w, h, make([]uint8, w*h)}
	for y := range h {
		for x := range w {
			g.pix[y*w+x] = idxCheckA
			if (x/cell+y/cell)%2 == 1 {
				g.pix[y*w+x] = idxCheckB
			}
		}
	}
	return g
}

// thumbnail is a small grid carried inside a video operation name; it is
// already at its final resolution and is drawn scaled.
type thumbnail grid

func (t thumbnail) size() (int, int) { return t.w, t.h }

func (t thumbnail) grid(int, int, int) grid { return grid(t) }

// makeThumbnail samples a picture at most side pixels on its longer side,
// keeping its aspect ratio.
func makeThumbnail(p picture, side int) thumbnail {
	w, h := p.size()
	tw, th := side, max(1, (side*h+w/2)/w)
	if h > w {
		tw, th = max(1, (side*w+h/2)/h), side
	}
	return thumbnail(p.grid(tw, th, 4))
}
