package tryonprompt

import (
	"strings"
	"testing"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// TestOrderDressesInLayers checks the dressing order: a bottom before a
// top, outerwear last, equal layers kept as given.
func TestOrderDressesInLayers(t *testing.T) {
	in := []tryon.Garment{{Category: tryon.CategoryOuterwear}, {Category: tryon.CategoryTop}, {Category: tryon.CategoryBottom}}
	got := Order(in)
	want := []tryon.Category{tryon.CategoryBottom, tryon.CategoryTop, tryon.CategoryOuterwear}
	for i, g := range got {
		if g.Category != want[i] {
			t.Fatalf("order = %v, want %v", got, want)
		}
	}
	if in[0].Category != tryon.CategoryOuterwear {
		t.Error("Order changed its argument")
	}
}

// TestBuildNamesEveryImage checks that the text numbers the person and
// each garment, so the images sent after it can be told apart.
func TestBuildNamesEveryImage(t *testing.T) {
	text := Build(tryon.ServiceBanana, []tryon.Garment{{Category: tryon.CategoryBottom}, {Category: tryon.CategoryTop}}, "")
	for _, want := range []string{"Image 1 is a photo of a person", "Images 2 to 3", "Image 2 is a bottom", "Image 3 is a top", "Its photo may show it"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
}
