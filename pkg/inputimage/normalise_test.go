package inputimage

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"sync"
	"testing"

	"golang.org/x/sync/semaphore"

	"github.com/tryonhq/tryon/pkg/media"
	"github.com/tryonhq/tryon/pkg/tryon"
)

func TestNormaliseScalesDownAndReencodes(t *testing.T) {
	cases := map[string]struct {
		in           []byte
		wantType     string
		wantW, wantH int
	}{
		"LargeJPEG":       {LargePhotoJPEG(2400, 300, 70, 1), media.JPEG, 2048, 256},
		"TallJPEG":        {LargePhotoJPEG(200, 2400, 70, 2), media.JPEG, 171, 2048},
		"SmallOpaquePNG":  {encodeWith(t, png.Encode, opaqueCopy(testNoise(300, 200))), media.JPEG, 300, 200},
		"TransparentPNG":  {encodeWith(t, png.Encode, testNoise(2200, 100)), media.PNG, 2048, 93},
		"SixteenBitPNG":   {encodeWith(t, png.Encode, image.NewNRGBA64(image.Rect(0, 0, 2100, 200))), media.PNG, 2048, 195},
		"RotatedPortrait": {withOrientation(LargePhotoJPEG(400, 300, 80, 3), 6), media.JPEG, 300, 400},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			img, err := Normalise(context.Background(), c.in)
			if err != nil {
				t.Fatal(err)
			}
			info, ok := media.Sniff(img.Bytes)
			if !ok || info.ContentType != c.wantType || img.ContentType != c.wantType ||
				info.Width != c.wantW || info.Height != c.wantH || img.Width != c.wantW || img.Height != c.wantH {
				t.Fatalf("got %s %d×%d (sniffed %+v), want %s %d×%d", img.ContentType, img.Width, img.Height, info, c.wantType, c.wantW, c.wantH)
			}
		})
	}
}

func TestNormaliseRefusesBrokenImages(t *testing.T) {
	good := encodeWith(t, png.Encode, testNoise(64, 64))
	photo := LargePhotoJPEG(200, 100, 80, 1)
	cases := map[string][]byte{
		"Empty":          nil,
		"Text":           []byte("<html>not an image</html>"),
		"TruncatedPNG":   good[:len(good)/2],
		"PNGWithoutEnd":  good[:len(good)-12],
		"TruncatedJPEG":  photo[:len(photo)*2/3],
		"JPEGHeaderOnly": photo[:700],
		"HeaderBomb":     HeaderBombPNG(6324, 6324),
		"ZeroWidth":      HeaderBombPNG(0, 10),
		"TruncatedWebP":  []byte("RIFF\x24\x00\x00\x00WEBPVP8L\x18\x00\x00\x00\x2f\x0f\xc0\x03\x00"),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Normalise(context.Background(), b)
			var te *tryon.Error
			if !errors.As(err, &te) || te.Code != tryon.CodeInvalidRequest || te.Message == "" {
				t.Fatalf("got %v, want an invalid_request error", err)
			}
		})
	}
}

// TestShrinkAveragesAndTurnsUpright checks the box filter on a checkerboard
// (point sampling would give pure black or white) and every EXIF
// orientation on a 3×2 picture whose pixels are all different.
func TestShrinkAveragesAndTurnsUpright(t *testing.T) {
	board := image.NewGray(image.Rect(0, 0, 1000, 600))
	for y := range 600 {
		for x := range 1000 {
			if (x+y)%2 == 0 {
				board.Pix[y*board.Stride+x] = 0xff
			}
		}
	}
	m := shrink(board, 100, 60, 1)
	for i := 0; i < len(m.Pix); i += 4 {
		if v := m.Pix[i]; v < 0x7c || v > 0x83 || m.Pix[i+3] != 0xff {
			t.Fatalf("pixel %d of the shrunk checkerboard is %v, want mid grey", i/4, m.Pix[i:i+4])
		}
	}

	src := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for i := range 6 {
		src.Pix[4*i], src.Pix[4*i+3] = uint8(10*(i+1)), 0xff
	}
	// Each orientation's upright picture, row by row, as the source indices.
	want := map[int][]int{
		1: {1, 2, 3, 4, 5, 6},
		2: {3, 2, 1, 6, 5, 4},
		3: {6, 5, 4, 3, 2, 1},
		4: {4, 5, 6, 1, 2, 3},
		5: {1, 4, 2, 5, 3, 6},
		6: {4, 1, 5, 2, 6, 3},
		7: {6, 3, 5, 2, 4, 1},
		8: {3, 6, 2, 5, 1, 4},
	}
	for o, order := range want {
		m := shrink(src, 3, 2, o)
		var got []int
		for i := 0; i < len(m.Pix); i += 4 {
			got = append(got, int(m.Pix[i])/10)
		}
		if o >= 5 && (m.Rect.Dx() != 2 || m.Rect.Dy() != 3) || o < 5 && (m.Rect.Dx() != 3 || m.Rect.Dy() != 2) {
			t.Errorf("orientation %d: size %v", o, m.Rect)
		}
		if !equal(got, order) {
			t.Errorf("orientation %d: got %v, want %v", o, got, order)
		}
	}
}

// TestDecodeWaitsForTheBudget fills a budget, then decodes: the decode waits
// and, when its context ends first, fails as unavailable without decoding;
// once the budget is free, concurrent decodes all finish and give back
// everything they took.
func TestDecodeWaitsForTheBudget(t *testing.T) {
	photo := LargePhotoJPEG(400, 300, 80, 1)
	const capacity = 1 << 20 // room for one 400×300 decode at a time
	budget := semaphore.NewWeighted(capacity)
	if !budget.TryAcquire(capacity) {
		t.Fatal("fresh budget is full")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := decodeAll(ctx, budget, capacity, [][]byte{photo}, nil)
	var te *tryon.Error
	if !errors.As(err, &te) || te.Code != tryon.CodeUnavailable {
		t.Fatalf("got %v, want unavailable", err)
	}
	budget.Release(capacity)

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			ds, _, err := decodeAll(context.Background(), budget, capacity, [][]byte{photo}, nil)
			if err != nil {
				errs <- err
				return
			}
			ds[0].Release()
			ds[0].Release() // a second release gives nothing back twice
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if !budget.TryAcquire(capacity) {
		t.Fatal("the decodes did not give back their share of the budget")
	}
	budget.Release(capacity)

	// Several images are reserved together; when one turns out broken,
	// the one already decoded gives its share back too.
	small := LargePhotoJPEG(200, 150, 80, 2)
	_, failed, err := decodeAll(context.Background(), budget, capacity, [][]byte{small, nil, small[:len(small)/2]}, nil)
	if !errors.As(err, &te) || te.Code != tryon.CodeInvalidRequest || failed != 2 {
		t.Fatalf("got %v for image %d, want invalid_request for image 2", err, failed)
	}
	if !budget.TryAcquire(capacity) {
		t.Fatal("a failed decode of several images kept part of the budget")
	}
}

func FuzzNormalise(f *testing.F) {
	f.Add(LargePhotoJPEG(40, 30, 80, 1))
	f.Add(HeaderBombPNG(100, 100))
	var b bytes.Buffer
	_ = png.Encode(&b, testNoise(20, 10))
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, in []byte) {
		img, err := Normalise(context.Background(), in)
		if err != nil {
			var te *tryon.Error
			if !errors.As(err, &te) || te.Code != tryon.CodeInvalidRequest {
				t.Fatalf("got %v, want an invalid_request error", err)
			}
			return
		}
		if info, ok := media.Sniff(img.Bytes); !ok || info.Width > MaxSide || info.Height > MaxSide {
			t.Fatalf("normalised to %+v", info)
		}
	})
}

// withOrientation inserts an EXIF segment with an Orientation tag after a
// JPEG's start marker, as a phone writes it (big-endian TIFF).
func withOrientation(jpg []byte, o int) []byte {
	tiff := []byte{'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, byte(o), 0, 0, 0, 0, 0, 0}
	seg := append([]byte("Exif\x00\x00"), tiff...)
	n := len(seg) + 2
	out := append([]byte{0xFF, 0xD8, 0xFF, 0xE1, byte(n >> 8), byte(n)}, seg...)
	return append(out, jpg[2:]...)
}

func testNoise(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetNRGBA(x, y, color.NRGBA{uint8(x * 37), uint8(y * 91), uint8(x ^ y), uint8(x + y)})
		}
	}
	return m
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
