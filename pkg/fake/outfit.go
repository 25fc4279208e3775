package fake

import (
	"image"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// worn is a garment of a try-on task, ready to be drawn on the person.
type worn struct {
	pic      picture
	category tryon.Category
}

// bodyRegions are where each category covers a standing person's picture,
// in thousandths of its width and height: a top the upper body, a bottom
// the legs, a one-piece both, outerwear a little wider than a top, so that
// it shows layered over it. Crude on purpose: a local run shows what each
// category does, not a real fitting.
var bodyRegions = map[tryon.Category]image.Rectangle{
	tryon.CategoryTop:       image.Rect(200, 220, 800, 550),
	tryon.CategoryBottom:    image.Rect(250, 520, 750, 950),
	tryon.CategoryOnePiece:  image.Rect(200, 220, 800, 950),
	tryon.CategoryOuterwear: image.Rect(120, 200, 880, 600),
}

// bodyRegion is where category c goes on a person drawn in r.
func bodyRegion(r image.Rectangle, c tryon.Category) image.Rectangle {
	f := bodyRegions[c]
	at := func(x, y int) image.Point {
		return image.Pt(r.Min.X+r.Dx()*x/1000, r.Min.Y+r.Dy()*y/1000)
	}
	return image.Rectangle{Min: at(f.Min.X, f.Min.Y), Max: at(f.Max.X, f.Max.Y)}
}

// dress draws the outfit over the person drawn in r, each garment stretched
// over its category's region, in dressing order so later layers cover
// earlier ones.
func (sc *scene) dress(m *image.Paletted, r image.Rectangle) {
	for _, g := range sc.outfit {
		box := bodyRegion(r, g.category)
		if box.Empty() {
			continue
		}
		gw, gh := g.pic.size()
		blit(m, g.pic.grid(min(box.Dx(), gw), min(box.Dy(), gh), max(1, sc.samples)), box)
	}
}

// outfitOf pairs a try-on task's garments with their decoded photos.
func outfitOf(garments []tryon.Garment, pics []picture) []worn {
	out := make([]worn, 0, len(garments))
	for i, g := range garments {
		if pics[i] != nil {
			out = append(out, worn{pic: pics[i], category: g.Category})
		}
	}
	return out
}
