package fake

import "image"

// fill paints r (clipped to the canvas) with one palette index. It writes the
// first row and copies it down, which keeps large flat areas cheap.
func fill(m *image.Paletted, r image.Rectangle, idx uint8) {
	r = r.Intersect(m.Rect)
	if r.Empty() {
		return
	}
	first := m.Pix[m.PixOffset(r.Min.X, r.Min.Y):][:r.Dx()]
	for i := range first {
		first[i] = idx
	}
	for y := r.Min.Y + 1; y < r.Max.Y; y++ {
		copy(m.Pix[m.PixOffset(r.Min.X, y):][:r.Dx()], first)
	}
}

// gradient paints the background from the look's top colour to its bottom one.
func gradient(m *image.Paletted, r image.Rectangle) {
	h := r.Dy()
	for i := range gradSteps {
		y0, y1 := r.Min.Y+i*h/gradSteps, r.Min.Y+(i+1)*h/gradSteps
		fill(m, image.Rect(r.Min.X, y0, r.Max.X, y1), uint8(gradFirst+i))
	}
}

// text draws s with its top-left corner at (x, y), each font pixel scale×scale
// canvas pixels. Characters that do not fit whole are left out, so a narrow
// canvas shows fewer characters instead of a cut one.
func text(m *image.Paletted, x, y, scale int, s string, idx uint8) {
	for i := 0; i < len(s); i, x = i+1, x+cellW*scale {
		if x+glyphW*scale > m.Rect.Max.X || y+glyphH*scale > m.Rect.Max.Y {
			return
		}
		g := glyphs['?']
		if s[i] < 128 && glyphs[s[i]] != nil {
			g = glyphs[s[i]]
		}
		for gy, bits := range g {
			for gx := range glyphW {
				if bits&(1<<(glyphW-1-gx)) != 0 {
					px, py := x+gx*scale, y+gy*scale
					fill(m, image.Rect(px, py, px+scale, py+scale), idx)
				}
			}
		}
	}
}

// blit draws g scaled to r by nearest neighbour, leaving transparent pixels
// alone so that what is underneath shows through.
func blit(m *image.Paletted, g grid, r image.Rectangle) {
	clip := r.Intersect(m.Rect)
	if clip.Empty() || g.w == 0 || g.h == 0 {
		return
	}
	xs := make([]int, clip.Dx())
	for i := range xs {
		xs[i] = (clip.Min.X + i - r.Min.X) * g.w / r.Dx()
	}
	for y := clip.Min.Y; y < clip.Max.Y; y++ {
		src := g.pix[(y-r.Min.Y)*g.h/r.Dy()*g.w:][:g.w]
		dst := m.Pix[m.PixOffset(clip.Min.X, y):][:clip.Dx()]
		for i, sx := range xs {
			if v := src[sx]; v != idxClear {
				dst[i] = v
			}
		}
	}
}

// fit returns the largest rectangle of aspect ratio w:h centred in box.
func fit(box image.Rectangle, w, h int) image.Rectangle {
	bw, bh := box.Dx(), box.Dy()
	if w <= 0 || h <= 0 || bw <= 0 || bh <= 0 {
		return image.Rectangle{}
	}
	fw, fh := bw, max(1, bw*h/w)
	if fh > bh {
		fw, fh = max(1, bh*w/h), bh
	}
	x, y := box.Min.X+(bw-fw)/2, box.Min.Y+(bh-fh)/2
	return image.Rect(x, y, x+fw, y+fh)
}
