package inputimage

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/jpeg"
	"math/rand/v2"
)

// HeaderBombPNG returns a PNG of a few hundred bytes whose header declares
// w×h 16-bit RGBA (8 bytes a pixel once decoded) and whose data is one
// compressed row of zeros: the decompression bomb that tests and
// `tryon bench hostile` send. A decoder that trusts the header allocates
// w×h×8 bytes before it finds the data missing.
func HeaderBombPNG(w, h int) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 16, 6 // 16 bits, RGBA
	pngChunk(&b, "IHDR", ihdr)
	// A zlib stream of one stored block of zeros: valid, far too short.
	pngChunk(&b, "IDAT", []byte{0x78, 0x01, 0x01, 0x40, 0x00, 0xbf, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00})
	pngChunk(&b, "IEND", nil)
	return b.Bytes()
}

func pngChunk(b *bytes.Buffer, typ string, data []byte) {
	_ = binary.Write(b, binary.BigEndian, uint32(len(data)))
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	b.WriteString(typ)
	b.Write(data)
	_ = binary.Write(b, binary.BigEndian, crc.Sum32())
}

// LargePhotoJPEG returns a real, fully decodable baseline JPEG of w×h: soft
// gradients with a little noise, which compress like a photo (6000×4000
// comes to about 850 KB at quality 75). It is the honest large input that
// hostile load mixes with bombs: it must be decoded to be checked.
func LargePhotoJPEG(w, h, quality int, seed uint64) []byte {
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for y := range h {
		for x := range w {
			m.Y[y*m.YStride+x] = uint8((x*255/w+y*255/h)/2) ^ uint8(r.IntN(6))
		}
	}
	for y := range (h + 1) / 2 {
		for x := range (w + 1) / 2 {
			m.Cb[y*m.CStride+x] = uint8(96 + x*64/w)
			m.Cr[y*m.CStride+x] = uint8(160 - y*64/h)
		}
	}
	var b bytes.Buffer
	_ = jpeg.Encode(&b, m, &jpeg.Options{Quality: quality})
	return b.Bytes()
}
