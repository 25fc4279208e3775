package fake

import "encoding/binary"

// An MP4 (ISO BMFF) muxer for one H.264 video track, with the moov box before
// mdat so that a browser can start playing before the whole file arrives.

// track is a coded video ready to be muxed.
type track struct {
	width, height int
	timescale     uint32 // media time units per second
	sampleDelta   uint32 // the duration of every sample, in timescale units
	sps, pps      []byte // NAL units, for the avcC box
	// samples are the access units, each its NAL units with 4-byte big-endian
	// length prefixes, as avcC with lengthSizeMinusOne = 3 declares.
	samples [][]byte
	keys    []int // indices of the samples that are IDR pictures
}

// boxWriter builds nested boxes: start opens one, end writes its size.
type boxWriter struct {
	b    []byte
	open []int
}

func (w *boxWriter) start(typ string) {
	w.open = append(w.open, len(w.b))
	w.b = append(w.b, 0, 0, 0, 0)
	w.b = append(w.b, typ...)
}

// startFull opens a "full box", which has a version and flags.
func (w *boxWriter) startFull(typ string, version byte, flags uint32) {
	w.start(typ)
	w.u32(uint32(version)<<24 | flags)
}

func (w *boxWriter) end() {
	at := w.open[len(w.open)-1]
	w.open = w.open[:len(w.open)-1]
	binary.BigEndian.PutUint32(w.b[at:], uint32(len(w.b)-at))
}

func (w *boxWriter) u8(v uint8)    { w.b = append(w.b, v) }
func (w *boxWriter) u16(v uint16)  { w.b = binary.BigEndian.AppendUint16(w.b, v) }
func (w *boxWriter) u32(v uint32)  { w.b = binary.BigEndian.AppendUint32(w.b, v) }
func (w *boxWriter) raw(v ...byte) { w.b = append(w.b, v...) }
func (w *boxWriter) zeros(n int)   { w.b = append(w.b, make([]byte, n)...) }
func (w *boxWriter) str(s string)  { w.b = append(w.b, s...) }
func (w *boxWriter) matrix()       { w.u32s(0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000) }
func (w *boxWriter) u32s(v ...uint32) {
	for _, x := range v {
		w.u32(x)
	}
}

// movieTimescale is the mvhd and tkhd clock: milliseconds.
const movieTimescale = 1000

// muxMP4 writes the file: ftyp, moov, mdat.
func muxMP4(t *track) []byte {
	mdatSize := 8
	for _, s := range t.samples {
		mdatSize += len(s)
	}
	var w boxWriter
	w.b = make([]byte, 0, mdatSize+4096)
	w.start("ftyp")
	w.str("isom")
	w.u32(0x200)
	w.str("isomiso2avc1mp41")
	w.end()
	// The one chunk holding every sample starts right after the mdat header,
	// which follows moov; moov's size does not depend on that offset, so
	// measure it first.
	moovAt := len(w.b)
	writeMoov(&w, t, 0)
	chunkOffset := uint32(len(w.b) + 8)
	w.b = w.b[:moovAt]
	writeMoov(&w, t, chunkOffset)

	w.u32(uint32(mdatSize))
	w.str("mdat")
	for _, s := range t.samples {
		w.raw(s...)
	}
	return w.b
}

func writeMoov(w *boxWriter, t *track, chunkOffset uint32) {
	n := uint32(len(t.samples))
	mediaDuration := n * t.sampleDelta
	movieDuration := uint32(uint64(mediaDuration) * movieTimescale / uint64(t.timescale))

	w.start("moov")
	w.startFull("mvhd", 0, 0)
	w.u32s(0, 0) // creation and modification time: none, so the file is deterministic
	w.u32s(movieTimescale, movieDuration)
	w.u32(0x00010000) // rate 1.0
	w.u16(0x0100)     // volume 1.0
	w.zeros(10)
	w.matrix()
	w.zeros(24) // pre_defined
	w.u32(2)    // next_track_ID
	w.end()

	w.start("trak")
	w.startFull("tkhd", 0, 3) // enabled, in the movie
	w.u32s(0, 0)
	w.u32(1) // track_ID
	w.u32(0)
	w.u32(movieDuration)
	w.zeros(8)
	w.u16(0) // layer
	w.u16(0) // alternate_group
	w.u16(0) // volume: a video track has none
	w.u16(0)
	w.matrix()
	w.u32(uint32(t.width) << 16) // 16.16 fixed point
	w.u32(uint32(t.height) << 16)
	w.end()

	w.start("mdia")
	w.startFull("mdhd", 0, 0)
	w.u32s(0, 0)
	w.u32s(t.timescale, mediaDuration)
	w.u16(0x55c4) // language "und", packed as three 5-bit letters
	w.u16(0)
	w.end()
	w.startFull("hdlr", 0, 0)
	w.u32(0)
	w.str("vide")
	w.zeros(12)
	w.str("VideoHandler\x00")
	w.end()

	w.start("minf")
	w.startFull("vmhd", 0, 1)
	w.zeros(8) // graphicsmode, opcolor
	w.end()
	w.start("dinf")
	w.startFull("dref", 0, 0)
	w.u32(1)
	w.startFull("url ", 0, 1) // the data is in this file
	w.end()
	w.end()
	w.end()

	w.start("stbl")
	writeStsd(w, t)
	w.startFull("stts", 0, 0) // every sample lasts the same
	w.u32s(1, n, t.sampleDelta)
	w.end()
	w.startFull("stss", 0, 0)
	w.u32(uint32(len(t.keys)))
	for _, k := range t.keys {
		w.u32(uint32(k + 1)) // sample numbers start at 1
	}
	w.end()
	w.startFull("stsc", 0, 0) // one chunk with every sample
	w.u32s(1, 1, n, 1)
	w.end()
	w.startFull("stsz", 0, 0)
	w.u32s(0, n) // sizes vary, listed below
	for _, s := range t.samples {
		w.u32(uint32(len(s)))
	}
	w.end()
	w.startFull("stco", 0, 0)
	w.u32s(1, chunkOffset)
	w.end()
	w.end() // stbl
	w.end() // minf
	w.end() // mdia
	w.end() // trak
	w.end() // moov
}

// writeStsd describes the samples: an avc1 visual sample entry whose avcC
// box carries the parameter sets, so the samples need not repeat them.
func writeStsd(w *boxWriter, t *track) {
	w.startFull("stsd", 0, 0)
	w.u32(1)
	w.start("avc1")
	w.zeros(6)
	w.u16(1) // data_reference_index
	w.zeros(16)
	w.u16(uint16(t.width))
	w.u16(uint16(t.height))
	w.u32s(0x00480000, 0x00480000) // 72 dpi
	w.u32(0)
	w.u16(1)    // frame_count
	w.zeros(32) // compressorname
	w.u16(0x0018)
	w.u16(0xffff) // pre_defined = -1
	w.start("avcC")
	w.u8(1) // configurationVersion
	w.raw(t.sps[1], t.sps[2], t.sps[3])
	w.u8(0xfc | 3) // lengthSizeMinusOne
	w.u8(0xe0 | 1) // one SPS
	w.u16(uint16(len(t.sps)))
	w.raw(t.sps...)
	w.u8(1) // one PPS
	w.u16(uint16(len(t.pps)))
	w.raw(t.pps...)
	w.end()
	w.end() // avc1
	w.end() // stsd
}
