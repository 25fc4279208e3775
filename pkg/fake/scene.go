package fake

import "image"

// labelLen is how many characters of the prompt an output shows: enough to
// tell outputs apart, few enough for the smallest canvas at scale 1.
const labelLen = 20

// scene is everything one picture shows. The image service draws it once;
// the video draws it per frame with the moving parts set.
type scene struct {
	look            look
	label, footer   string
	person, garment picture // either may be nil
	// outfit is a try-on task's garments in dressing order, drawn worn
	// over the person rather than beside it.
	outfit []worn
	// samples is how many samples per axis an input pixel averages; 1 is
	// nearest neighbour, which is what a full-size output can afford.
	samples int

	// The video's moving parts: a progress bar along the footer (done out of
	// total; total 0 for none) and a square (empty for none).
	done, total int
	square      image.Rectangle
}

// layout is where a scene's parts go on a w×h canvas.
type layout struct {
	scale          int // font pixel size
	banner, footer image.Rectangle
	main           image.Rectangle // the person, a lone garment or the identicon
	inset          image.Rectangle // the garment when there is a person too
}

func layoutFor(w, h int) layout {
	s := max(1, min(w/160, h/48))
	strip := (glyphH + 4) * s
	l := layout{
		scale:  s,
		banner: image.Rect(0, 0, w, strip),
		footer: image.Rect(0, h-strip, w, h),
	}
	content := image.Rect(0, strip, w, h-strip)
	l.main = content.Inset(max(1, min(content.Dx(), content.Dy())/24))
	iw, ih := l.main.Dx()*2/5, l.main.Dy()*2/5
	l.inset = image.Rect(l.main.Max.X-iw, l.main.Max.Y-ih, l.main.Max.X, l.main.Max.Y)
	return l
}

// draw paints the scene over the whole canvas.
func (sc *scene) draw(m *image.Paletted) {
	l := layoutFor(m.Rect.Dx(), m.Rect.Dy())
	gradient(m, m.Rect)
	switch {
	case sc.person != nil && len(sc.outfit) > 0:
		sc.picture(m, sc.person, l.main)
		pw, ph := sc.person.size()
		sc.dress(m, fit(l.main, pw, ph))
	case sc.person != nil && sc.garment != nil:
		sc.picture(m, sc.person, l.main)
		// The garment sits on a framed card, like a product shot beside the
		// model, so it reads as the garment even where it is transparent.
		gw, gh := sc.garment.size()
		card := fit(l.inset, gw, gh)
		fill(m, card.Inset(-max(1, l.scale/2)), idxInk)
		sc.picture(m, sc.garment, card)
	case sc.person != nil:
		sc.picture(m, sc.person, l.main)
	case sc.garment != nil:
		sc.picture(m, sc.garment, l.main)
	default:
		identicon(m, sc.look.seed[2:], l.main)
	}
	fill(m, sc.square, idxAccent2)

	s := l.scale
	fill(m, l.banner, idxStrip)
	text(m, l.banner.Min.X+2*s, l.banner.Min.Y+2*s, s, sc.label, idxInk)
	fill(m, l.footer, idxStrip)
	if sc.total > 0 {
		bar := l.footer
		bar.Max.X = bar.Min.X + bar.Dx()*sc.done/sc.total
		fill(m, bar, idxAccent)
	}
	text(m, l.footer.Min.X+2*s, l.footer.Min.Y+2*s, s, sc.footer, idxInk)
}

// picture draws p as large as fits in box, keeping its aspect ratio.
func (sc *scene) picture(m *image.Paletted, p picture, box image.Rectangle) {
	pw, ph := p.size()
	r := fit(box, pw, ph)
	if r.Empty() {
		return
	}
	blit(m, p.grid(min(r.Dx(), pw), min(r.Dy(), ph), max(1, sc.samples)), r)
}

// identicon draws a 5×5 mirrored pattern from bits of the prompt's hash, so
// that a prompt without input images still gets a picture of its own.
func identicon(m *image.Paletted, bits []byte, box image.Rectangle) {
	cell := min(box.Dx(), box.Dy()) * 3 / 4 / 5
	if cell == 0 {
		return
	}
	x0 := box.Min.X + (box.Dx()-5*cell)/2
	y0 := box.Min.Y + (box.Dy()-5*cell)/2
	for row := range 5 {
		for col := range 3 {
			if bits[row]>>col&1 == 0 {
				continue
			}
			for _, c := range []int{col, 4 - col} {
				x, y := x0+c*cell, y0+row*cell
				fill(m, image.Rect(x, y, x+cell, y+cell), idxAccent)
			}
		}
	}
}
