package fake

import "math/bits"

// bitWriter appends bits most significant first, as H.264 syntax is written.
type bitWriter struct {
	buf  []byte
	nbit uint // bits used in the last byte of buf, 0 when byte aligned
}

// u writes the low n bits of v (u(n) in the standard).
func (w *bitWriter) u(n uint, v uint64) {
	for n > 0 {
		if w.nbit == 0 {
			w.buf = append(w.buf, 0)
		}
		take := min(n, 8-w.nbit)
		chunk := byte(v>>(n-take)) & (1<<take - 1)
		w.buf[len(w.buf)-1] |= chunk << (8 - w.nbit - take)
		w.nbit = (w.nbit + take) % 8
		n -= take
	}
}

// flag writes one bit.
func (w *bitWriter) flag(b bool) {
	if b {
		w.u(1, 1)
	} else {
		w.u(1, 0)
	}
}

// ue writes an unsigned Exp-Golomb code (ue(v)): v+1 in binary, preceded by
// as many zeros as it has bits after the first.
func (w *bitWriter) ue(v uint64) {
	n := uint(bits.Len64(v + 1))
	w.u(n-1, 0)
	w.u(n, v+1)
}

// se writes a signed Exp-Golomb code (se(v)): 1, -1, 2, -2... map to 1, 2, 3, 4...
func (w *bitWriter) se(v int64) {
	if v > 0 {
		w.ue(uint64(2*v - 1))
	} else {
		w.ue(uint64(-2 * v))
	}
}

// align pads with zero bits to the next byte boundary (pcm_alignment_zero_bit).
func (w *bitWriter) align() { w.nbit = 0 }

// bytes appends whole bytes; the writer must be aligned.
func (w *bitWriter) bytes(b []byte) {
	if w.nbit != 0 {
		panic("fake: unaligned byte write")
	}
	w.buf = append(w.buf, b...)
}

// trailing writes rbsp_trailing_bits: a stop bit, then zeros to the boundary.
func (w *bitWriter) trailing() {
	w.u(1, 1)
	w.align()
}
