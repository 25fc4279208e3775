package fake

import (
	"crypto/sha256"
	"image/color"
)

// Every picture is drawn with palette indices, never RGB: a paletted PNG
// skips the encoder's per-row filter search and compresses fast, and a video
// frame converts to YCbCr through a 256-entry table.
//
// The palette is a 6×6×6 colour cube, which input images are quantised to,
// followed by the colours of one prompt's look.
const (
	cubeLevels = 6
	cubeSize   = cubeLevels * cubeLevels * cubeLevels // 216
	gradFirst  = cubeSize                             // the background gradient, top to bottom
	gradSteps  = 32
	idxStrip   = gradFirst + gradSteps // banner and footer background
	idxInk     = idxStrip + 1          // text and the garment's frame
	idxCheckA  = idxStrip + 2          // the placeholder drawn for a WebP input
	idxCheckB  = idxStrip + 3
	idxAccent  = idxStrip + 4 // the identicon and the video's progress bar
	idxAccent2 = idxStrip + 5 // the video's moving square
	// idxClear marks a transparent pixel of an input picture. It is never
	// left in a canvas, because drawing skips it.
	idxClear = 255
)

// cubeLevel maps an 8-bit channel to its nearest of the cube's six levels.
var cubeLevel = func() (t [256]uint8) {
	for v := range t {
		t[v] = uint8((v*(cubeLevels-1) + 127) / 255)
	}
	return t
}()

// cubeIndex is the palette index of the cube colour nearest to r, g, b.
func cubeIndex(r, g, b uint8) uint8 {
	return cubeLevel[r]*cubeLevels*cubeLevels + cubeLevel[g]*cubeLevels + cubeLevel[b]
}

// look is the colours a prompt gets: the same prompt always looks the same,
// and different prompts look different, so outputs are told apart at a glance.
type look struct {
	seed                   [sha256.Size]byte
	top, bottom            color.RGBA
	accent, accent2, strip color.RGBA
	ink, checkA, checkB    color.RGBA
}

func lookFor(seed [sha256.Size]byte) look {
	hue := (int(seed[0])<<8 | int(seed[1])) % 360
	return look{
		seed:    seed,
		top:     hsv(hue, 35, 95),
		bottom:  hsv(hue+50, 65, 45),
		accent:  hsv(hue+180, 75, 90),
		accent2: hsv(hue+120, 85, 100),
		strip:   color.RGBA{0x20, 0x20, 0x24, 0xff},
		ink:     color.RGBA{0xff, 0xff, 0xff, 0xff},
		checkA:  color.RGBA{0x9a, 0x9a, 0x9a, 0xff},
		checkB:  color.RGBA{0xd0, 0xd0, 0xd0, 0xff},
	}
}

// palette lays out the 256 colours described above.
func (l look) palette() color.Palette {
	p := make(color.Palette, 256)
	for i := range cubeSize {
		r, g, b := i/36, i/6%6, i%6
		p[i] = color.RGBA{uint8(r * 51), uint8(g * 51), uint8(b * 51), 0xff}
	}
	for i := range gradSteps {
		p[gradFirst+i] = mix(l.top, l.bottom, i, gradSteps-1)
	}
	p[idxStrip], p[idxInk] = l.strip, l.ink
	p[idxCheckA], p[idxCheckB] = l.checkA, l.checkB
	p[idxAccent], p[idxAccent2] = l.accent, l.accent2
	for i := range p {
		if p[i] == nil { // idxClear and spares: never drawn, but PNG needs every entry
			p[i] = color.RGBA{0, 0, 0, 0xff}
		}
	}
	return p
}

// mix returns the colour i/n of the way from a to b.
func mix(a, b color.RGBA, i, n int) color.RGBA {
	f := func(x, y uint8) uint8 { return uint8((int(x)*(n-i) + int(y)*i + n/2) / n) }
	return color.RGBA{f(a.R, b.R), f(a.G, b.G), f(a.B, b.B), 0xff}
}

// hsv converts a hue in degrees (any non-negative value), and a saturation
// and value in percent. It uses integers only: the colours must come out the
// same on every machine, since a video may be finished by another instance
// than the one that started it, and floating point may be fused differently.
func hsv(hue, s, v int) color.RGBA {
	hue %= 360
	sector, f := hue/60, (hue%60)*255/60 // f: how far into the sector, 0..255
	c := v * s * 255 / 10000             // chroma, 0..255
	x := c * f / 255
	if sector%2 == 1 {
		x = c * (255 - f) / 255
	}
	var r, g, b int
	switch sector {
	case 0:
		r, g, b = c, x, 0
	case 1:
		r, g, b = x, c, 0
	case 2:
		r, g, b = 0, c, x
	case 3:
		r, g, b = 0, x, c
	case 4:
		r, g, b = x, 0, c
	default:
		r, g, b = c, 0, x
	}
	m := v*255/100 - c
	return color.RGBA{uint8(r + m), uint8(g + m), uint8(b + m), 0xff}
}
