package fake

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
)

// The video's shape. Veo makes 16:9 or 9:16; so does the fake, small enough
// that lossless frames stay a few hundred kilobytes, at a frame rate low
// enough for that and high enough to see motion.
const (
	videoLong, videoShort = 320, 180
	videoFPS              = 8
	// keyInterval puts a key frame every two seconds so players can seek.
	keyInterval     = 2 * videoFPS
	videoTimescale  = 1000 * videoFPS // so a frame lasts a whole number of units
	defaultDuration = 8
)

// videoSize snaps a requested size to Veo's aspect ratios: portrait when the
// request is taller than wide, landscape (Veo's default) otherwise.
func videoSize(w, h int) (int, int) {
	if h > w {
		return videoShort, videoLong
	}
	return videoLong, videoShort
}

// renderVideo draws and encodes the video an operation describes. It depends
// on nothing but the operation, so whichever instance polls makes the same
// bytes.
func renderVideo(op *operation) []byte {
	enc := newH264Encoder(op.Width, op.Height, videoFPS)
	frames := op.Seconds * videoFPS
	t := &track{
		width: op.Width, height: op.Height,
		timescale: videoTimescale, sampleDelta: videoTimescale / videoFPS,
		sps: enc.sps(), pps: enc.pps(),
		samples: make([][]byte, 0, frames),
	}
	var prev *yuvFrame
	drawFrames(op, enc, func(i int, f *yuvFrame) {
		var unit []byte
		if i%keyInterval == 0 {
			unit = enc.idr(f, i/keyInterval)
			t.keys = append(t.keys, i)
		} else {
			unit = enc.p(f, prev, i%keyInterval)
		}
		sample := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(unit)), uint32(len(unit)))
		t.samples = append(t.samples, append(sample, unit...))
		prev = f
	})
	return muxMP4(t)
}

// drawFrames draws the frames of the video in order and hands each to use.
// A frame stays valid until the one after next is drawn, so use may keep
// the previous frame to predict from.
func drawFrames(op *operation, enc *h264Encoder, use func(i int, f *yuvFrame)) {
	lk := lookFor(op.seed())
	pal := lk.palette()
	yuv := yuvTable(pal)
	frames := op.Seconds * videoFPS
	m := image.NewPaletted(image.Rect(0, 0, op.Width, op.Height), pal)
	l := layoutFor(op.Width, op.Height)
	sc := scene{
		look:   lk,
		label:  op.Label,
		footer: fmt.Sprintf("FAKE VIDEO %dS", op.Seconds),
		total:  frames,
	}
	if op.Person != nil {
		sc.person = thumbnail(op.Person.grid())
	}
	if op.Garment != nil {
		sc.garment = thumbnail(op.Garment.grid())
	}
	buf := [2]*yuvFrame{enc.newFrame(), enc.newFrame()}
	for i := range frames {
		sc.done = i + 1
		sc.square = squareAt(l, i)
		sc.draw(m)
		f := buf[i%2]
		toYUV(f, m, yuv, enc.mbW*mbSize, enc.mbH*mbSize)
		use(i, f)
	}
}

// squareAt is where the moving square is in frame i: it crosses the picture
// and back every key interval, along the bottom of the main area.
func squareAt(l layout, i int) image.Rectangle {
	side := max(4, min(l.main.Dx(), l.main.Dy())/5)
	travel := l.main.Dx() - side
	pos := i % keyInterval * 2 * travel / keyInterval
	if pos > travel {
		pos = 2*travel - pos
	}
	x, y := l.main.Min.X+pos, l.main.Max.Y-side
	return image.Rect(x, y, x+side, y+side)
}

// yuvColor is a palette entry in limited-range BT.601, as the SPS declares.
type yuvColor struct{ y, cb, cr uint8 }

func yuvTable(p color.Palette) (t [256]yuvColor) {
	for i, c := range p {
		r32, g32, b32, _ := c.RGBA()
		r, g, b := int(r32>>8), int(g32>>8), int(b32>>8)
		t[i] = yuvColor{
			y:  uint8((66*r+129*g+25*b+128)>>8 + 16),
			cb: uint8((-38*r-74*g+112*b+128)>>8 + 128),
			cr: uint8((112*r-94*g-18*b+128)>>8 + 128),
		}
	}
	return t
}

// toYUV converts a paletted picture into f at the coded size cw×ch,
// repeating the last column and row into the padding that cropping hides,
// and averaging each 2×2 block for the chroma planes.
func toYUV(f *yuvFrame, m *image.Paletted, t [256]yuvColor, cw, ch int) {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	px := func(x, y int) yuvColor { return t[m.Pix[min(y, h-1)*m.Stride+min(x, w-1)]] }
	for y := range ch {
		row := m.Pix[min(y, h-1)*m.Stride:][:w]
		out := f.y[y*cw:][:cw]
		for x := range cw {
			out[x] = t[row[min(x, w-1)]].y
		}
	}
	for y := range ch / 2 {
		for x := range cw / 2 {
			a, b, c, d := px(2*x, 2*y), px(2*x+1, 2*y), px(2*x, 2*y+1), px(2*x+1, 2*y+1)
			f.cb[y*cw/2+x] = uint8((int(a.cb) + int(b.cb) + int(c.cb) + int(d.cb) + 2) / 4)
			f.cr[y*cw/2+x] = uint8((int(a.cr) + int(b.cr) + int(c.cr) + int(d.cr) + 2) / 4)
		}
	}
}
