// Package media recognises the files Tryon accepts and produces by their bytes,
// never by a declared Content-Type: PNG, JPEG and WebP images (with their pixel
// size) and MP4 and WebM videos.
package media

import (
	"bytes"
	"encoding/binary"
	"image/jpeg"
	"image/png"
)

// The content types this package recognises.
const (
	PNG  = "image/png"
	JPEG = "image/jpeg"
	WebP = "image/webp"
	MP4  = "video/mp4"
	WebM = "video/webm"
)

// Info is what the bytes of a file say about it.
type Info struct {
	ContentType string
	// Width and Height are the pixel size of an image; 0 for videos.
	Width, Height int
}

// IsImage reports whether the file is one of the accepted image formats.
func (i Info) IsImage() bool {
	return i.ContentType == PNG || i.ContentType == JPEG || i.ContentType == WebP
}

// IsVideo reports whether the file is one of the recognised video formats.
func (i Info) IsVideo() bool { return i.ContentType == MP4 || i.ContentType == WebM }

// Sniff identifies b. ok is false for anything else, and for an image whose
// header is truncated or declares no pixels.
func Sniff(b []byte) (info Info, ok bool) {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil {
			return Info{}, false
		}
		info = Info{PNG, cfg.Width, cfg.Height}
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
		if err != nil {
			return Info{}, false
		}
		info = Info{JPEG, cfg.Width, cfg.Height}
	case len(b) >= 12 && string(b[0:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		w, h, good := webpSize(b)
		if !good {
			return Info{}, false
		}
		info = Info{WebP, w, h}
	case len(b) >= 12 && string(b[4:8]) == "ftyp" && !stillImageBrands[string(b[8:12])]:
		return Info{ContentType: MP4}, true
	case bytes.HasPrefix(b, []byte{0x1A, 0x45, 0xDF, 0xA3}) && bytes.Contains(b[:min(len(b), 64)], []byte("webm")):
		return Info{ContentType: WebM}, true
	default:
		return Info{}, false
	}
	if info.Width <= 0 || info.Height <= 0 {
		return Info{}, false
	}
	return info, true
}

// stillImageBrands are the ISO base media major brands of HEIF and AVIF
// images, which share MP4's container and its "ftyp" box: without this an
// AVIF output would be stored and served as video/mp4.
var stillImageBrands = map[string]bool{
	"avif": true, "avis": true, "heic": true, "heix": true, "heim": true, "heis": true,
	"hevc": true, "hevx": true, "mif1": true, "msf1": true, "miaf": true,
}

// webpSize reads the canvas size from the first chunk of a WebP file: lossy
// (VP8), lossless (VP8L) or extended (VP8X).
func webpSize(b []byte) (w, h int, ok bool) {
	// Each chunk checks its own length: a lossless header is shorter than a
	// lossy or extended one.
	if len(b) < 20 {
		return 0, 0, false
	}
	chunk, data := string(b[12:16]), b[20:]
	switch chunk {
	case "VP8 ":
		// A key frame (bit 0 of the 3-byte frame tag clear: only key frames
		// carry a size), start code 9d 01 2a, then 14-bit sizes.
		if len(data) < 10 || data[0]&1 != 0 || data[3] != 0x9d || data[4] != 0x01 || data[5] != 0x2a {
			return 0, 0, false
		}
		w = int(binary.LittleEndian.Uint16(data[6:8]) & 0x3fff)
		h = int(binary.LittleEndian.Uint16(data[8:10]) & 0x3fff)
	case "VP8L":
		if len(data) < 5 || data[0] != 0x2f {
			return 0, 0, false
		}
		bits := binary.LittleEndian.Uint32(data[1:5])
		if bits>>29 != 0 {
			// The version field must be 0; anything else is not VP8L we know.
			return 0, 0, false
		}
		w = int(bits&0x3fff) + 1
		h = int(bits>>14&0x3fff) + 1
	case "VP8X":
		if len(data) < 10 {
			return 0, 0, false
		}
		w = int(uint32(data[4])|uint32(data[5])<<8|uint32(data[6])<<16) + 1
		h = int(uint32(data[7])|uint32(data[8])<<8|uint32(data[9])<<16) + 1
	default:
		return 0, 0, false
	}
	return w, h, w > 0 && h > 0
}
