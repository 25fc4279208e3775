package inputimage

import (
	"encoding/binary"
	"errors"
	"image"
	"image/color"

	"github.com/tryonhq/tryon/pkg/media"
)

// decodeCost estimates, from the header alone, how many bytes the standard
// decoder (x/image for WebP) allocates to decode an image of cfg's size.
// It follows what those decoders allocate, rounded up, because the estimate
// is what the process-wide budget trusts.
func decodeCost(b []byte, format string, cfg image.Config) (int64, error) {
	px := int64(cfg.Width) * int64(cfg.Height)
	switch format {
	case media.PNG:
		n := px * pngBytesPerPixel(cfg.ColorModel)
		// An interlaced PNG is decoded pass by pass into images that
		// together are as large as the result, then merged.
		if len(b) > 28 && b[28] == 1 {
			n *= 2
		}
		return n, nil
	case media.JPEG:
		return jpegCost(b)
	case media.WebP:
		// Lossy WebP decodes to 4:2:0 YCbCr (1.5 bytes a pixel), an alpha
		// plane adds up to 5 more (it may be stored losslessly, as RGBA);
		// lossless WebP decodes to RGBA and its transforms copy it once.
		if len(b) >= 16 && string(b[12:16]) == "VP8 " {
			return px * 2, nil
		}
		return px * 8, nil
	}
	return 0, errors.New("unknown image format")
}

// pngBytesPerPixel is the size of a pixel of the image type image/png
// decodes to for a colour model.
func pngBytesPerPixel(m color.Model) int64 {
	switch m {
	case color.GrayModel:
		return 1
	case color.Gray16Model:
		return 2
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 4 // RGBA, NRGBA
}

// jpegCost reads the frame header (SOF) of a JPEG and returns what
// image/jpeg allocates for it: a plane per component, padded to whole
// blocks; a progressive JPEG also keeps every coefficient of every block
// as an int32 (4 bytes a sample); a 4-component (CMYK) one is converted
// into a second, 4-byte-a-pixel image; an unusual subsampling is decoded
// at full resolution.
func jpegCost(b []byte) (int64, error) {
	sof, progressive, err := jpegFrame(b)
	if err != nil {
		return 0, err
	}
	// sof: precision, height(2), width(2), components, then 3 bytes each.
	if len(sof) < 6 {
		return 0, errors.New("short JPEG frame header")
	}
	h, w, n := int64(binary.BigEndian.Uint16(sof[1:3])), int64(binary.BigEndian.Uint16(sof[3:5])), int(sof[5])
	if n < 1 || len(sof) < 6+3*n {
		return 0, errors.New("bad JPEG frame header")
	}
	var hmax, vmax int64 = 1, 1
	hs, vs := make([]int64, n), make([]int64, n)
	for i := range n {
		f := sof[6+3*i+1]
		hs[i], vs[i] = max(1, int64(f>>4)), max(1, int64(f&0x0f))
		hmax, vmax = max(hmax, hs[i]), max(vmax, vs[i])
	}
	mcuX, mcuY := (w+8*hmax-1)/(8*hmax), (h+8*vmax-1)/(8*vmax)
	var samples int64
	for i := range n {
		samples += mcuX * hs[i] * 8 * mcuY * vs[i] * 8
	}
	full := mcuX * hmax * 8 * mcuY * vmax * 8
	cost := samples
	switch {
	case n == 4:
		cost += 4 * full
	case n == 3 && !standardSubsampling(hs, vs):
		cost += 3 * full
	}
	if progressive {
		cost += 4 * samples
	}
	return cost, nil
}

// standardSubsampling reports whether image/jpeg decodes these sampling
// factors straight into an image.YCbCr.
func standardSubsampling(hs, vs []int64) bool {
	if hs[1] != 1 || vs[1] != 1 || hs[2] != 1 || vs[2] != 1 {
		return false
	}
	switch [2]int64{hs[0], vs[0]} {
	case [2]int64{1, 1}, [2]int64{1, 2}, [2]int64{2, 1}, [2]int64{2, 2}, [2]int64{4, 1}, [2]int64{4, 2}:
		return true
	}
	return false
}

// jpegFrame walks the markers of a JPEG up to its first frame header and
// returns that header's payload, and whether the frame is progressive.
// image/jpeg decodes only baseline, extended sequential and progressive
// Huffman frames (SOF0, SOF1, SOF2).
func jpegFrame(b []byte) (sof []byte, progressive bool, err error) {
	if len(b) < 2 || b[0] != 0xFF || b[1] != 0xD8 {
		return nil, false, errors.New("not a JPEG")
	}
	for i := 2; ; {
		// Markers may be preceded by any number of fill bytes.
		for i < len(b) && b[i] == 0xFF {
			i++
		}
		if i >= len(b) || b[i-1] != 0xFF {
			return nil, false, errors.New("JPEG has no frame header")
		}
		marker := b[i]
		i++
		if marker == 0x01 || 0xD0 <= marker && marker <= 0xD7 {
			continue // TEM and RSTn stand alone
		}
		if i+2 > len(b) {
			return nil, false, errors.New("JPEG has no frame header")
		}
		n := int(binary.BigEndian.Uint16(b[i : i+2]))
		if n < 2 || i+n > len(b) {
			return nil, false, errors.New("truncated JPEG segment")
		}
		switch marker {
		case 0xC0, 0xC1, 0xC2:
			return b[i+2 : i+n], marker == 0xC2, nil
		case 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF:
			return nil, false, errors.New("unsupported JPEG coding")
		case 0xD9, 0xDA:
			return nil, false, errors.New("JPEG has no frame header")
		}
		i += n
	}
}
