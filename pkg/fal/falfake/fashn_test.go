package falfake

import (
	"fmt"
	"testing"
)

// TestFashnValidation checks that the FASHN endpoint refuses what fal's
// schema refuses, naming the field as fal does.
func TestFashnValidation(t *testing.T) {
	s := New()
	defer s.Close()
	img := "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
	for _, c := range []struct{ name, body, field string }{
		{"NoModelImage", fmt.Sprintf(`{"garment_image": %q}`, img), "model_image"},
		{"BadCategory", fmt.Sprintf(`{"model_image": %q, "garment_image": %q, "category": "outerwear"}`, img, img), "category"},
		{"BadPhotoType", fmt.Sprintf(`{"model_image": %q, "garment_image": %q, "garment_photo_type": "x"}`, img, img), "garment_photo_type"},
		{"WebP", fmt.Sprintf(`{"model_image": %q, "garment_image": %q, "output_format": "webp"}`, img, img), "output_format"},
		{"UnknownFile", fmt.Sprintf(`{"model_image": %q, "garment_image": %q}`, s.URL()+"/files/nope.png", img), "model_image"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, m := post(t, s, FashnEndpoint, s.Key, c.body)
			items, _ := m["detail"].([]any)
			if status != 422 || len(items) == 0 {
				t.Fatalf("got %d %v", status, m)
			}
			loc := items[0].(map[string]any)["loc"].([]any)
			if loc[len(loc)-1] != c.field {
				t.Errorf("loc = %v, want %s", loc, c.field)
			}
		})
	}
	status, m := post(t, s, FashnEndpoint, s.Key, fmt.Sprintf(`{"model_image": %q, "garment_image": %q, "category": "tops"}`, img, img))
	images, _ := m["images"].([]any)
	if status != 200 || len(images) != 1 || images[0].(map[string]any)["width"] != float64(FashnWidth) {
		t.Fatalf("a valid call: %d %v", status, m)
	}
}
