package media

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
	"image/png"
	"testing"
)

func encodePNG(tb testing.TB, w, h int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, w, h))); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func encodeJPEG(tb testing.TB, w, h int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewRGBA(image.Rect(0, 0, w, h)), nil); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// riff wraps one chunk in a WebP container, as a real encoder would.
func riff(chunk string, data []byte) []byte {
	b := []byte("RIFF\x00\x00\x00\x00WEBP" + chunk + "\x00\x00\x00\x00")
	b = append(b, data...)
	binary.LittleEndian.PutUint32(b[4:8], uint32(len(b)-8))
	binary.LittleEndian.PutUint32(b[16:20], uint32(len(data)))
	return b
}

// webpVP8 is a lossy key frame header: frame tag, start code, 14-bit sizes.
func webpVP8(w, h int) []byte {
	data := []byte{0x50, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0, 0, 0, 0}
	binary.LittleEndian.PutUint16(data[6:8], uint16(w))
	binary.LittleEndian.PutUint16(data[8:10], uint16(h))
	return riff("VP8 ", append(data, make([]byte, 16)...))
}

// webpVP8L is a lossless header: signature 0x2f, then (w-1) and (h-1) in 14
// bits each, the alpha bit and a 3-bit version.
func webpVP8L(w, h int) []byte {
	data := []byte{0x2f, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(data[1:5], uint32(w-1)|uint32(h-1)<<14|1<<28)
	return riff("VP8L", append(data, make([]byte, 8)...))
}

// webpVP8X is an extended header: flags, 3 reserved bytes, then (w-1) and
// (h-1) in 24 bits each.
func webpVP8X(w, h int) []byte {
	data := []byte{0x10, 0, 0, 0, byte(w - 1), byte((w - 1) >> 8), byte((w - 1) >> 16),
		byte(h - 1), byte((h - 1) >> 8), byte((h - 1) >> 16)}
	return riff("VP8X", data)
}

var (
	mp4Header  = []byte("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2avc1mp41")
	avifHeader = []byte("\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf")
	// An EBML header whose DocType element (42 82) says "webm".
	webmHeader = []byte("\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02")
	mkvHeader  = []byte("\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x88matroska")
)

func TestSniff(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want Info
	}{
		{"PNG1x1", encodePNG(t, 1, 1), Info{PNG, 1, 1}},
		{"PNG37x19", encodePNG(t, 37, 19), Info{PNG, 37, 19}},
		{"PNG640x480", encodePNG(t, 640, 480), Info{PNG, 640, 480}},
		{"JPEG1x1", encodeJPEG(t, 1, 1), Info{JPEG, 1, 1}},
		{"JPEG37x19", encodeJPEG(t, 37, 19), Info{JPEG, 37, 19}},
		{"JPEG640x480", encodeJPEG(t, 640, 480), Info{JPEG, 640, 480}},
		{"WebPLossy", webpVP8(320, 240), Info{WebP, 320, 240}},
		{"WebPLossyMax", webpVP8(16383, 16383), Info{WebP, 16383, 16383}},
		{"WebPLossless", webpVP8L(300, 200), Info{WebP, 300, 200}},
		{"WebPLossless1x1", webpVP8L(1, 1), Info{WebP, 1, 1}},
		{"WebPLosslessMax", webpVP8L(16384, 16384), Info{WebP, 16384, 16384}},
		{"WebPExtended", webpVP8X(1024, 768), Info{WebP, 1024, 768}},
		{"WebPExtendedHuge", webpVP8X(1<<24, 1<<24), Info{WebP, 1 << 24, 1 << 24}},
		{"MP4", mp4Header, Info{ContentType: MP4}},
		{"WebM", webmHeader, Info{ContentType: WebM}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Sniff(tt.in)
			if !ok || got != tt.want {
				t.Fatalf("Sniff() = %+v, %v; want %+v, true", got, ok, tt.want)
			}
			if got.IsImage() == got.IsVideo() {
				t.Fatalf("IsImage() = %v, IsVideo() = %v; want exactly one", got.IsImage(), got.IsVideo())
			}
		})
	}
}

func TestSniffRefused(t *testing.T) {
	pngFile := encodePNG(t, 10, 10)
	jpegFile := encodeJPEG(t, 10, 10)
	lossy := webpVP8(10, 10)
	interFrame := bytes.Clone(lossy)
	interFrame[20] |= 1
	badStart := bytes.Clone(lossy)
	badStart[24] = 0
	zeroLossy := webpVP8(0, 10)
	lossless := webpVP8L(10, 10)
	badSignature := bytes.Clone(lossless)
	badSignature[20] = 0x2e
	badVersion := bytes.Clone(lossless)
	badVersion[24] |= 0x20
	badPNG := bytes.Clone(pngFile)
	badPNG[12] = 'X' // IHDR is no longer the first chunk

	tests := []struct {
		name string
		in   []byte
	}{
		{"Nil", nil},
		{"Empty", []byte{}},
		{"Text", []byte("hello, world")},
		{"HTML", []byte("<!doctype html><html><body><img src=x></body></html>")},
		{"PNGSignatureOnly", pngFile[:8]},
		{"PNGTruncatedIHDR", pngFile[:20]},
		{"PNGWithoutIHDR", badPNG},
		{"JPEGMagicOnly", jpegFile[:3]},
		{"JPEGTruncated", jpegFile[:40]},
		{"WebPContainerOnly", lossy[:12]},
		{"WebPTruncatedChunk", lossy[:25]},
		{"WebPUnknownChunk", riff("VP8Y", make([]byte, 16))},
		{"WebPInterFrame", interFrame},
		{"WebPBadStartCode", badStart},
		{"WebPZeroWidth", zeroLossy},
		{"WebPLosslessBadSignature", badSignature},
		{"WebPLosslessBadVersion", badVersion},
		{"WebPLosslessTruncated", lossless[:24]},
		{"WebPExtendedTruncated", webpVP8X(10, 10)[:29]},
		{"AVIFIsNotMP4", avifHeader},
		{"FtypTooShort", []byte("\x00\x00\x00\x18ftyp")},
		{"Matroska", mkvHeader},
		{"EBMLMagicOnly", webmHeader[:4]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := Sniff(tt.in); ok {
				t.Fatalf("Sniff() = %+v, true; want false", got)
			}
		})
	}
}

// TestSniffPrefixes checks that no cut of a valid header is mistaken for an
// image with a size: the size must come from bytes that are really there.
func TestSniffPrefixes(t *testing.T) {
	tests := []struct {
		name   string
		file   []byte
		header int // bytes up to and including the size fields
	}{
		{"PNG", encodePNG(t, 3, 2), 33},       // signature and IHDR chunk
		{"WebPLossy", webpVP8(3, 2), 20 + 10}, // container, chunk header, frame header
		{"WebPLossless", webpVP8L(3, 2), 20 + 5},
		{"WebPExtended", webpVP8X(3, 2), 20 + 10},
	}
	for _, tt := range tests {
		for n := range tt.header {
			if got, ok := Sniff(tt.file[:n]); ok {
				t.Errorf("%s cut to %d bytes: Sniff() = %+v, true; want false", tt.name, n, got)
			}
		}
		if got, ok := Sniff(tt.file[:tt.header]); !ok || got.Width != 3 || got.Height != 2 {
			t.Errorf("%s cut to its %d-byte header: Sniff() = %+v, %v; want 3x2, true", tt.name, tt.header, got, ok)
		}
	}
}

func FuzzSniff(f *testing.F) {
	for _, seed := range [][]byte{
		encodePNG(f, 2, 3), encodeJPEG(f, 2, 3), webpVP8(2, 3), webpVP8L(2, 3), webpVP8X(2, 3),
		mp4Header, avifHeader, webmHeader, mkvHeader, []byte("RIFF\x00\x00\x00\x00WEBPVP8 "), nil,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		info, ok := Sniff(b)
		switch {
		case !ok:
			if info != (Info{}) {
				t.Fatalf("Sniff() = %+v, false; want the zero Info", info)
			}
		case info.IsImage():
			if info.Width <= 0 || info.Height <= 0 {
				t.Fatalf("Sniff() = %+v, true; want a positive size", info)
			}
		case info.IsVideo():
			if info.Width != 0 || info.Height != 0 {
				t.Fatalf("Sniff() = %+v, true; want no size for a video", info)
			}
		default:
			t.Fatalf("Sniff() = %+v, true; want an image or a video", info)
		}
	})
}
