package inputimage

import (
	"image"
	"image/draw"
)

// fitSize is the size of an image of w×h normalised: its longer side at
// most side pixels, its aspect ratio kept, never enlarged.
func fitSize(w, h, side int) (int, int) {
	long := max(w, h)
	if long <= side {
		return w, h
	}
	return max(1, (w*side+long/2)/long), max(1, (h*side+long/2)/long)
}

// shrink scales src to dw×dh by averaging, for each output pixel, the block
// of source pixels it covers (a box filter: every source pixel counts once,
// so large reductions do not alias the way point sampling does), then turns
// the result upright by an EXIF orientation. It reads the source one row at
// a time and keeps one row of sums, so it needs no memory beyond its output
// and a few rows: x/image/draw's kernel scalers would allocate 32 bytes per
// output column per source row, more than the image itself. Averaging
// premultiplied colours keeps transparent pixels from bleeding their hidden
// colour into the result.
func shrink(src image.Image, dw, dh, orientation int) *image.RGBA {
	b := src.Bounds()
	sw, sh := b.Dx(), b.Dy()
	ow, oh := dw, dh
	if orientation >= 5 {
		ow, oh = dh, dw
	}
	dst := image.NewRGBA(image.Rect(0, 0, ow, oh))
	put := placer(dst, dw, dh, orientation)

	col := make([]int, sw)     // output column of each source column
	colN := make([]uint64, dw) // source columns per output column
	for x := range sw {
		col[x] = x * dw / sw
		colN[col[x]]++
	}
	row := image.NewRGBA(image.Rect(0, 0, sw, 1))
	sums := make([]uint64, 4*dw)
	var rows uint64
	for y := range sh {
		draw.Draw(row, row.Rect, src, image.Pt(b.Min.X, b.Min.Y+y), draw.Src)
		for x, c := range col {
			p, s := row.Pix[4*x:4*x+4], sums[4*c:4*c+4]
			s[0] += uint64(p[0])
			s[1] += uint64(p[1])
			s[2] += uint64(p[2])
			s[3] += uint64(p[3])
		}
		rows++
		oy := y * dh / sh
		if y+1 < sh && (y+1)*dh/sh == oy {
			continue
		}
		for ox := range dw {
			n, s := colN[ox]*rows, sums[4*ox:4*ox+4]
			put(ox, oy, [4]uint8{avg(s[0], n), avg(s[1], n), avg(s[2], n), avg(s[3], n)})
			s[0], s[1], s[2], s[3] = 0, 0, 0, 0
		}
		rows = 0
	}
	return dst
}

func avg(sum, n uint64) uint8 { return uint8((sum + n/2) / n) }

// placer returns a function that writes the pixel at (x, y) of a w×h
// picture into dst where the EXIF orientation puts it.
func placer(dst *image.RGBA, w, h, orientation int) func(x, y int, c [4]uint8) {
	at := func(x, y int) (int, int) { return x, y }
	switch orientation {
	case 2: // mirrored
		at = func(x, y int) (int, int) { return w - 1 - x, y }
	case 3: // upside down
		at = func(x, y int) (int, int) { return w - 1 - x, h - 1 - y }
	case 4: // mirrored upside down
		at = func(x, y int) (int, int) { return x, h - 1 - y }
	case 5: // transposed
		at = func(x, y int) (int, int) { return y, x }
	case 6: // stored turned left: turn right
		at = func(x, y int) (int, int) { return h - 1 - y, x }
	case 7: // transversed
		at = func(x, y int) (int, int) { return h - 1 - y, w - 1 - x }
	case 8: // stored turned right: turn left
		at = func(x, y int) (int, int) { return y, w - 1 - x }
	}
	return func(x, y int, c [4]uint8) {
		dx, dy := at(x, y)
		i := dst.PixOffset(dx, dy)
		copy(dst.Pix[i:i+4], c[:])
	}
}
