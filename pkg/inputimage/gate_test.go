package inputimage_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"runtime/metrics"
	"testing"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/inputimage"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// TestBrokenInputsAreRefusedAtTheDoor sends POST /generate with a test key
// (the fake provider) and inputs the tenant must fix. Each is 400
// invalid_request naming the field, and nothing is recorded: the provider
// is never asked. Before inputs were checked at the door a truncated PNG
// passed the header sniff and failed inside the fake provider, answered
// 502 upstream_error and logged as a provider configuration problem.
func TestBrokenInputsAreRefusedAtTheDoor(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	good := encodePNG(t, noise(64, 64, 0xff))
	cases := map[string]struct {
		person, garment []byte
		field           string
	}{
		"TruncatedPerson":  {good[:len(good)/2], good, "person_image"},
		"TruncatedGarment": {good, good[:len(good)-20], "garment_image"},
		"HeaderBomb":       {inputimage.HeaderBombPNG(6324, 6324), good, "person_image"},
		"OverPixelCap":     {inputimage.HeaderBombPNG(5001, 5000), good, "person_image"},
		"SixteenBitTooBig": {inputimage.HeaderBombPNG(4000, 3000), good, "person_image"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r := env.Generate(shop.TestKey, map[string]any{"prompt": "x",
				"person_image": dataURL("image/png", c.person), "garment_image": dataURL("image/png", c.garment)})
			if r.Status != 400 || r.Code != tryon.CodeInvalidRequest || len(r.Details) != 1 || r.Details[0].Field != c.field {
				t.Fatalf("got %d %s, want 400 invalid_request naming %s", r.Status, r.Body, c.field)
			}
		})
	}
	if n := generations(t, env, shop.Client.ID); n != 0 {
		t.Fatalf("%d generations recorded for refused inputs, want 0", n)
	}
}

// TestHeaderBombAllocatesLittle sends the decompression bomb of the outside
// review, a 127-byte PNG header claiming 6324×6324 16-bit RGBA, as both
// images of one request, and counts the bytes the whole process allocates
// while serving it. A decoder that trusted the header allocated 320 MB per
// image; the request may allocate a few MB for everything else.
func TestHeaderBombAllocatesLittle(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	bomb := dataURL("image/png", inputimage.HeaderBombPNG(6324, 6324))
	body := map[string]any{"prompt": "x", "person_image": bomb, "garment_image": bomb}
	env.Generate(shop.TestKey, body) // warm the key cache and connections

	before := allocatedBytes()
	r := env.Generate(shop.TestKey, body)
	allocated := allocatedBytes() - before
	const limit = 16 << 20
	if allocated > limit {
		t.Errorf("serving the bomb allocated %d MB, want under %d MB", allocated>>20, limit>>20)
	}
	if r.Status != 400 {
		t.Errorf("got %d %s, want 400", r.Status, r.Body)
	}
}

// TestLargeInputsReachTheProviderNormalised sends a 3000×2000 JPEG: it is
// accepted and the generation succeeds with the fake provider, which now
// draws from the normalised copy.
func TestLargeInputsReachTheProviderNormalised(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	photo := dataURL("image/jpeg", inputimage.LargePhotoJPEG(3000, 2000, 80, 1))
	r := env.Generate(shop.TestKey, map[string]any{"prompt": "x", "person_image": photo, "garment_image": photo})
	if r.Status != 200 {
		t.Fatalf("got %d %s, want 200", r.Status, r.Body)
	}
}

func allocatedBytes() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func generations(t *testing.T, env *apptest.Env, client uuid.UUID) int {
	t.Helper()
	var n int
	err := env.Store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM generations WHERE client_id = $1`, client).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func dataURL(mediaType string, b []byte) string {
	return "data:" + mediaType + ";base64," + base64.StdEncoding.EncodeToString(b)
}

// noise is a w×h picture of varied pixels with alpha a.
func noise(w, h int, a uint8) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetNRGBA(x, y, color.NRGBA{uint8(x * 37), uint8(y * 91), uint8(x ^ y), a})
		}
	}
	return m
}

func encodePNG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
