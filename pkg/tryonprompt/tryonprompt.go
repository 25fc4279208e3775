// Package tryonprompt writes the instructions a general image model (Nano
// Banana, Nano Banana Pro) gets for a try-on: which image is the person,
// which are the garments and where each goes, and what must not change.
// These words are the product's know-how, so they live here, in one place,
// and their tests pin what each service receives.
//
// Dedicated try-on models (FASHN, Google's Virtual Try-On) take the same
// garments as parameters instead and need none of this.
package tryonprompt

import (
	"fmt"
	"strings"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// preserve is what every try-on must keep: the reason tenants use Tryon
// rather than a bare image model, which tends to restyle the person.
const preserve = "Keep the person exactly as in image 1: the same face, identity, hair, skin tone, " +
	"body shape, pose and expression, the same background, lighting and camera framing."

// fit says how the garments must sit on the body.
const fit = "Fit each garment naturally to the person's body and pose, with realistic drape, folds, " +
	"shadows and lighting that match image 1."

// nothingElse forbids the additions image models like to make.
const nothingElse = "Add nothing else: no accessories, jewellery, text, logos or watermarks, " +
	"and leave any clothing the garments do not replace as it is."

// proDetail is for Nano Banana Pro, which reasons over longer instructions
// and can be held to the garment's fine detail; the flash model does better
// with the shorter text alone.
const proDetail = "Reproduce each garment faithfully: its colour, pattern, print, any text or logo on the fabric, " +
	"stitching, buttons, texture and length, exactly as in its photo."

// categoryText says where a garment goes and what it replaces.
var categoryText = map[tryon.Category]string{
	tryon.CategoryTop: "a top (a shirt, t-shirt, blouse or sweater): it replaces the clothing on the upper body " +
		"and keeps the lower-body clothing",
	tryon.CategoryBottom: "a bottom (trousers, jeans, a skirt or shorts): it replaces the clothing on the lower body " +
		"and keeps the upper-body clothing",
	tryon.CategoryOnePiece: "a one-piece (a dress or a jumpsuit): it replaces the clothing on both the upper " +
		"and the lower body",
	tryon.CategoryOuterwear: "outerwear (a jacket or a coat): put it on over the upper-body clothing, " +
		"layered as it would be worn",
}

// photoText tells the model how to read the garment's photo.
var photoText = map[tryon.PhotoType]string{
	tryon.PhotoFlatLay: "It is photographed flat or on a hanger, with nobody wearing it: infer its shape and " +
		"size on a body from its outline.",
	tryon.PhotoModel: "It is worn by another person in its photo: take only the garment, never that person's " +
		"face, body, skin, hair or pose.",
	tryon.PhotoAuto: "Its photo may show it laid flat or worn by someone else: take only the garment.",
}

// Build returns the text sent with a try-on's images to a Nano Banana
// service. The images follow it in this order: the person, then the
// garments in dressing order (Order). instruction is the tenant's own
// prompt, added last, as direction within Tryon's rules.
func Build(service tryon.Service, garments []tryon.Garment, instruction string) string {
	var b strings.Builder
	if len(garments) == 1 {
		b.WriteString("Image 1 is a photo of a person. Image 2 is a garment. " +
			"Create a photorealistic image of the person in image 1 wearing that garment.")
	} else {
		fmt.Fprintf(&b, "Image 1 is a photo of a person. Images 2 to %d are the garments of an outfit. "+
			"Create a photorealistic image of the person in image 1 wearing the whole outfit.", len(garments)+1)
	}
	for i, g := range garments {
		fmt.Fprintf(&b, "\nImage %d is %s. %s", i+2, categoryText[g.Category], photoText[photoType(g.PhotoType)])
	}
	b.WriteString("\n" + preserve + "\n" + fit)
	if service == tryon.ServiceBananaPro {
		b.WriteString("\n" + proDetail)
	}
	b.WriteString("\n" + nothingElse)
	if s := strings.TrimSpace(instruction); s != "" {
		b.WriteString("\n\nAdditional instructions from the shop, to follow within the rules above: " + s)
	}
	return b.String()
}

// Order returns the garments in dressing order (a one-piece or bottom
// before a top, outerwear last), keeping the given order otherwise. The
// images are sent in this order, so that "over" means what it says.
func Order(garments []tryon.Garment) []tryon.Garment {
	out := make([]tryon.Garment, len(garments))
	copy(out, garments)
	// Insertion sort: stable and at most three items.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Category.Layer() < out[j-1].Category.Layer(); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func photoType(t tryon.PhotoType) tryon.PhotoType {
	if t == "" {
		return tryon.PhotoAuto
	}
	return t
}
