package fake

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func TestBitWriterExpGolomb(t *testing.T) {
	// Codes from the table in H.264 clause 9.1.
	for _, c := range []struct {
		ue   uint64
		want string
	}{
		{0, "1"}, {1, "010"}, {2, "011"}, {3, "00100"}, {6, "00111"}, {7, "0001000"}, {25, "000011010"},
	} {
		var w bitWriter
		w.ue(c.ue)
		if got := bitString(w.buf, len(c.want)); got != c.want {
			t.Errorf("ue(%d) = %s, want %s", c.ue, got, c.want)
		}
	}
	for _, c := range []struct {
		se   int64
		want string
	}{
		{0, "1"}, {1, "010"}, {-1, "011"}, {2, "00100"}, {-2, "00101"},
	} {
		var w bitWriter
		w.se(c.se)
		if got := bitString(w.buf, len(c.want)); got != c.want {
			t.Errorf("se(%d) = %s, want %s", c.se, got, c.want)
		}
	}
}

func TestBitWriterRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var w bitWriter
	type field struct {
		kind int // 0 u, 1 ue, 2 se
		n    int
		v    uint64
		s    int64
	}
	var fields []field
	for range 2000 {
		f := field{kind: rng.IntN(3)}
		switch f.kind {
		case 0:
			f.n = 1 + rng.IntN(32)
			f.v = rng.Uint64() & (1<<f.n - 1)
			w.u(uint(f.n), f.v)
		case 1:
			f.v = rng.Uint64N(1 << 20)
			w.ue(f.v)
		case 2:
			f.s = rng.Int64N(1<<20) - 1<<19
			w.se(f.s)
		}
		fields = append(fields, f)
	}
	r := bitReader{b: w.buf}
	for i, f := range fields {
		switch f.kind {
		case 0:
			if got := r.u(f.n); got != f.v {
				t.Fatalf("field %d: u(%d) = %d, want %d", i, f.n, got, f.v)
			}
		case 1:
			if got := r.ue(); got != f.v {
				t.Fatalf("field %d: ue = %d, want %d", i, got, f.v)
			}
		case 2:
			if got := r.se(); got != f.s {
				t.Fatalf("field %d: se = %d, want %d", i, got, f.s)
			}
		}
	}
}

func TestEscapeRBSP(t *testing.T) {
	for _, c := range []struct{ in, want []byte }{
		{[]byte{0, 0, 0}, []byte{0, 0, 3, 0, 3}},
		{[]byte{0, 0, 1}, []byte{0, 0, 3, 1}},
		{[]byte{0, 0, 2, 0, 0, 3}, []byte{0, 0, 3, 2, 0, 0, 3, 3}},
		{[]byte{0, 0, 4}, []byte{0, 0, 4}},
		{[]byte{0, 0, 0, 0, 0x80}, []byte{0, 0, 3, 0, 0, 0x80}},
		{[]byte{1, 0, 5, 0, 0x80}, []byte{1, 0, 5, 0, 0x80}},
	} {
		got := escapeRBSP(nil, c.in)
		if !bytes.Equal(got, c.want) {
			t.Errorf("escape(% x) = % x, want % x", c.in, got, c.want)
		}
		back, err := unescape(got)
		if err != nil || !bytes.Equal(back, c.in) && !bytes.Equal(back, append(bytes.Clone(c.in), 3)) {
			t.Errorf("unescape(% x) = % x, %v; want % x", got, back, err, c.in)
		}
		if bytes.Contains(got, []byte{0, 0, 0}) || bytes.Contains(got, []byte{0, 0, 1}) || bytes.Contains(got, []byte{0, 0, 2}) {
			t.Errorf("escape(% x) = % x still holds a start code look-alike", c.in, got)
		}
	}
}

// testFrame fills a coded picture with pseudo-random samples, including the
// zero runs that need emulation prevention.
func testFrame(e *h264Encoder, rng *rand.Rand) *yuvFrame {
	f := e.newFrame()
	for _, plane := range [][]byte{f.y, f.cb, f.cr} {
		for i := range plane {
			switch rng.IntN(4) {
			case 0:
				plane[i] = 0
			default:
				plane[i] = byte(rng.IntN(256))
			}
		}
	}
	return f
}

func cloneFrame(f *yuvFrame) *yuvFrame {
	return &yuvFrame{bytes.Clone(f.y), bytes.Clone(f.cb), bytes.Clone(f.cr)}
}

// TestH264RoundTrip codes an IDR picture and P pictures that change a few
// macroblocks, decodes them with the test decoder, and wants every sample
// back exactly: I_PCM is lossless, and skipped macroblocks copy the reference.
func TestH264RoundTrip(t *testing.T) {
	for _, size := range [][2]int{{320, 180}, {180, 320}, {48, 32}} {
		e := newH264Encoder(size[0], size[1], videoFPS)
		rng := rand.New(rand.NewPCG(uint64(size[0]), 7))
		d := &h264Decoder{}
		for _, unit := range [][]byte{e.sps(), e.pps()} {
			if _, err := d.decodeNAL(unit); err != nil {
				t.Fatalf("%v: parameter set: %v", size, err)
			}
		}
		if w, h := d.sps.displaySize(); w != size[0] || h != size[1] {
			t.Fatalf("SPS display size %d×%d, want %d×%d", w, h, size[0], size[1])
		}
		if d.sps.fpsNum/d.sps.fpsDen != videoFPS || d.sps.reorder != 0 {
			t.Errorf("SPS frame rate %d/%d, reorder %d", d.sps.fpsNum, d.sps.fpsDen, d.sps.reorder)
		}

		frame := testFrame(e, rng)
		for i := range 10 {
			var unit []byte
			switch {
			case i == 0 || i == 6:
				unit = e.idr(frame, i)
			default:
				prev := cloneFrame(frame)
				// Change some macroblocks, sometimes none, sometimes the last.
				for range rng.IntN(4) {
					mb := rng.IntN(e.mbW * e.mbH)
					if i == 3 {
						mb = e.mbW*e.mbH - 1
					}
					frame.y[(mb/e.mbW*16+rng.IntN(16))*e.mbW*16+mb%e.mbW*16+rng.IntN(16)]++
					frame.cr[(mb/e.mbW*8+rng.IntN(8))*e.mbW*8+mb%e.mbW*8+rng.IntN(8)]++
				}
				unit = e.p(frame, prev, i%6)
			}
			pic, err := d.decodeNAL(unit)
			if err != nil {
				t.Fatalf("%v frame %d: %v", size, i, err)
			}
			if !bytes.Equal(pic.y, frame.y) || !bytes.Equal(pic.cb, frame.cb) || !bytes.Equal(pic.cr, frame.cr) {
				t.Fatalf("%v frame %d: decoded samples differ from the encoded ones", size, i)
			}
		}
	}
}

// TestH264SkipsUnchanged checks that a P picture sends only what changed:
// an unchanged picture is a header and one skip run.
func TestH264SkipsUnchanged(t *testing.T) {
	e := newH264Encoder(320, 180, videoFPS)
	f := testFrame(e, rand.New(rand.NewPCG(3, 4)))
	if n := len(e.p(f, f, 1)); n > 16 {
		t.Errorf("unchanged P picture is %d bytes", n)
	}
	g := cloneFrame(f)
	g.y[0]++
	if n := len(e.p(g, f, 1)); n < pcmBytes || n > pcmBytes+40 {
		t.Errorf("P picture with one changed macroblock is %d bytes, want about %d", n, pcmBytes)
	}
}

func bitString(b []byte, n int) string {
	s := make([]byte, n)
	for i := range n {
		s[i] = '0' + b[i/8]>>(7-i%8)&1
	}
	return string(s)
}
