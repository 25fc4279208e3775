package fake

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/tryonhq/tryon/pkg/media"
)

// box is a parsed ISO BMFF box.
type box struct {
	typ      string
	offset   int    // of the header in the file
	body     []byte // after the header
	children []*box
}

// containers are the boxes made only of other boxes; stsd and avc1 have a
// fixed header before their children.
var containers = map[string]int{
	"moov": 0, "trak": 0, "mdia": 0, "minf": 0, "dinf": 0, "stbl": 0,
	"dref": 8, "stsd": 8, "avc1": 78,
}

// parseBoxes splits b into boxes that must tile it exactly.
func parseBoxes(b []byte, base int) ([]*box, error) {
	var out []*box
	for off := 0; off < len(b); {
		if len(b)-off < 8 {
			return nil, fmt.Errorf("%d stray bytes at %d", len(b)-off, base+off)
		}
		size := int(binary.BigEndian.Uint32(b[off:]))
		typ := string(b[off+4 : off+8])
		if size < 8 || off+size > len(b) {
			return nil, fmt.Errorf("box %q at %d has size %d, %d bytes left", typ, base+off, size, len(b)-off)
		}
		bx := &box{typ: typ, offset: base + off, body: b[off+8 : off+size]}
		if skip, ok := containers[typ]; ok {
			kids, err := parseBoxes(bx.body[skip:], base+off+8+skip)
			if err != nil {
				return nil, err
			}
			bx.children = kids
		}
		out = append(out, bx)
		off += size
	}
	return out, nil
}

// find follows a path of box types, such as "moov/trak/tkhd".
func find(boxes []*box, path string) *box {
	first, rest, _ := strings.Cut(path, "/")
	for _, b := range boxes {
		if b.typ == first {
			if rest == "" {
				return b
			}
			return find(b.children, rest)
		}
	}
	return nil
}

func u32(b []byte, at int) int { return int(binary.BigEndian.Uint32(b[at:])) }

// mp4Video is what the tests read back from a file.
type mp4Video struct {
	boxes   []*box
	width   int
	height  int
	samples [][]byte
	keys    []int // sample numbers, from 1
	sps     []byte
	pps     []byte
	// timescale and duration of the media, and each sample's duration.
	timescale, duration, delta int
}

func parseMP4(t *testing.T, file []byte) *mp4Video {
	t.Helper()
	boxes, err := parseBoxes(file, 0)
	if err != nil {
		t.Fatalf("parse boxes: %v", err)
	}
	var order []string
	for _, b := range boxes {
		order = append(order, b.typ)
	}
	if got := strings.Join(order, " "); got != "ftyp moov mdat" {
		t.Fatalf("top-level boxes %q, want \"ftyp moov mdat\"", got)
	}
	if brand := string(boxes[0].body[:4]); brand != "isom" || !strings.Contains(string(boxes[0].body[8:]), "avc1") {
		t.Errorf("ftyp %q", boxes[0].body)
	}
	must := func(path string) []byte {
		b := find(boxes, path)
		if b == nil {
			t.Fatalf("no %s box", path)
		}
		return b.body
	}
	v := &mp4Video{boxes: boxes}
	stbl := "moov/trak/mdia/minf/stbl/"
	if h := must("moov/trak/mdia/hdlr"); string(h[8:12]) != "vide" {
		t.Errorf("handler %q, want vide", h[8:12])
	}
	must("moov/trak/mdia/minf/vmhd")
	must("moov/trak/mdia/minf/dinf/dref/url ")
	tkhd := must("moov/trak/tkhd")
	v.width, v.height = u32(tkhd, 76)>>16, u32(tkhd, 80)>>16
	mdhd := must("moov/trak/mdia/mdhd")
	v.timescale, v.duration = u32(mdhd, 12), u32(mdhd, 16)
	mvhd := must("moov/mvhd")
	if ms := u32(mvhd, 16) * 1000 / u32(mvhd, 12); ms != v.duration*1000/v.timescale {
		t.Errorf("movie lasts %d ms, media %d ms", ms, v.duration*1000/v.timescale)
	}

	avc1 := find(boxes, stbl+"stsd/avc1")
	if avc1 == nil {
		t.Fatal("no avc1 sample entry")
	}
	if w, h := int(binary.BigEndian.Uint16(avc1.body[24:])), int(binary.BigEndian.Uint16(avc1.body[26:])); w != v.width || h != v.height {
		t.Errorf("avc1 size %d×%d, tkhd %d×%d", w, h, v.width, v.height)
	}
	avcC := must(stbl + "stsd/avc1/avcC")
	if avcC[0] != 1 || avcC[4]&3 != 3 || avcC[5]&0x1f != 1 {
		t.Fatalf("avcC header % x", avcC[:6])
	}
	n := int(binary.BigEndian.Uint16(avcC[6:]))
	v.sps = avcC[8 : 8+n]
	if avcC[8+n] != 1 {
		t.Fatalf("avcC holds %d PPS", avcC[8+n])
	}
	m := int(binary.BigEndian.Uint16(avcC[9+n:]))
	v.pps = avcC[11+n : 11+n+m]
	if avcC[1] != v.sps[1] || avcC[2] != v.sps[2] || avcC[3] != v.sps[3] {
		t.Errorf("avcC profile % x, SPS % x", avcC[1:4], v.sps[1:4])
	}

	stts := must(stbl + "stts")
	if u32(stts, 4) != 1 {
		t.Fatalf("stts has %d entries", u32(stts, 4))
	}
	count := u32(stts, 8)
	v.delta = u32(stts, 12)
	stsz := must(stbl + "stsz")
	if u32(stsz, 4) != 0 || u32(stsz, 8) != count {
		t.Fatalf("stsz: fixed size %d, %d samples; stts says %d", u32(stsz, 4), u32(stsz, 8), count)
	}
	if count*v.delta != v.duration {
		t.Errorf("%d samples of %d units, media duration %d", count, v.delta, v.duration)
	}
	stsc := must(stbl + "stsc")
	if u32(stsc, 4) != 1 || u32(stsc, 8) != 1 || u32(stsc, 12) != count {
		t.Fatalf("stsc % x: want one chunk with every sample", stsc)
	}
	stco := must(stbl + "stco")
	mdat := boxes[2]
	if u32(stco, 4) != 1 || u32(stco, 8) != mdat.offset+8 {
		t.Fatalf("stco % x: want one chunk at %d, the start of mdat's data", stco, mdat.offset+8)
	}
	sum := 0
	for i := range count {
		size := u32(stsz, 12+4*i)
		v.samples = append(v.samples, mdat.body[sum:sum+size])
		sum += size
	}
	if sum != len(mdat.body) {
		t.Fatalf("stsz sums to %d bytes, mdat holds %d", sum, len(mdat.body))
	}
	stss := must(stbl + "stss")
	for i := range u32(stss, 4) {
		v.keys = append(v.keys, u32(stss, 8+4*i))
	}
	return v
}

// nalUnits splits a sample into its length-prefixed NAL units.
func nalUnits(t *testing.T, sample []byte) [][]byte {
	t.Helper()
	var units [][]byte
	for len(sample) > 0 {
		if len(sample) < 4 {
			t.Fatalf("%d stray bytes in a sample", len(sample))
		}
		n := u32(sample, 0)
		if n == 0 || 4+n > len(sample) {
			t.Fatalf("NAL unit of %d bytes in %d", n, len(sample)-4)
		}
		units = append(units, sample[4:4+n])
		sample = sample[4+n:]
	}
	return units
}

func TestMP4Structure(t *testing.T) {
	for _, secs := range []int{4, 6, 8} {
		t.Run(fmt.Sprintf("%ds", secs), func(t *testing.T) {
			file := renderVideo(testOperation(secs, videoLong, videoShort))
			if info, ok := media.Sniff(file); !ok || info.ContentType != media.MP4 {
				t.Errorf("media.Sniff = %+v, %v; want video/mp4", info, ok)
			}
			if len(file) > 2<<20 {
				t.Errorf("file is %d bytes, want well under 2 MB", len(file))
			}
			v := parseMP4(t, file)
			if len(v.samples) != videoFPS*secs {
				t.Errorf("%d samples, want %d fps × %d s", len(v.samples), videoFPS, secs)
			}
			if v.duration*1000/v.timescale != secs*1000 {
				t.Errorf("duration %d/%d s, want %d", v.duration, v.timescale, secs)
			}
			if v.width != videoLong || v.height != videoShort {
				t.Errorf("size %d×%d", v.width, v.height)
			}
			var wantKeys []int
			for i := 0; i < len(v.samples); i += keyInterval {
				wantKeys = append(wantKeys, i+1)
			}
			if fmt.Sprint(v.keys) != fmt.Sprint(wantKeys) {
				t.Errorf("sync samples %v, want %v", v.keys, wantKeys)
			}
			// Every sync sample, and only those, holds an IDR picture.
			for i, s := range v.samples {
				units := nalUnits(t, s)
				isKey := i%keyInterval == 0
				if len(units) != 1 || (units[0][0]&0x1f == nalIDR) != isKey {
					t.Errorf("sample %d: %d NAL units, first of type %d; key frame %v", i+1, len(units), units[0][0]&0x1f, isKey)
				}
			}
		})
	}
}

func testOperation(secs, w, h int) *operation {
	seed := make([]byte, 32)
	for i := range seed {
		seed[i] = byte(i * 7)
	}
	return &operation{Version: operationVersion, Seed: seed, Label: "TEST", Width: w, Height: h, Seconds: secs}
}
