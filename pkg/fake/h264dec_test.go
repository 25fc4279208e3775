package fake

import (
	"errors"
	"fmt"
)

// A decoder for exactly the H.264 subset this package writes, in the tests
// only: it proves that the stream says what the encoder meant, independently
// of the encoder's own bookkeeping. It refuses anything outside the subset.

type bitReader struct {
	b   []byte
	pos int // in bits
}

var errShort = errors.New("bitstream ends early")

func (r *bitReader) u(n int) uint64 {
	var v uint64
	for range n {
		if r.pos >= 8*len(r.b) {
			panic(errShort)
		}
		v = v<<1 | uint64(r.b[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v
}

func (r *bitReader) flag() bool { return r.u(1) == 1 }

func (r *bitReader) ue() uint64 {
	zeros := 0
	for r.u(1) == 0 {
		zeros++
		if zeros > 32 {
			panic(errors.New("Exp-Golomb code too long"))
		}
	}
	return 1<<zeros - 1 + r.u(zeros)
}

func (r *bitReader) se() int64 {
	k := r.ue()
	if k%2 == 1 {
		return int64(k+1) / 2
	}
	return -int64(k / 2)
}

// alignZero skips to the byte boundary, requiring zero padding.
func (r *bitReader) alignZero() {
	for r.pos%8 != 0 {
		if r.u(1) != 0 {
			panic(errors.New("non-zero alignment bit"))
		}
	}
}

func (r *bitReader) bytes(n int) []byte {
	if r.pos%8 != 0 || r.pos/8+n > len(r.b) {
		panic(errShort)
	}
	b := r.b[r.pos/8 : r.pos/8+n]
	r.pos += 8 * n
	return b
}

// trailing checks rbsp_trailing_bits and that nothing follows them.
func (r *bitReader) trailing() {
	if r.u(1) != 1 {
		panic(errors.New("missing rbsp stop bit"))
	}
	r.alignZero()
	if r.pos != 8*len(r.b) {
		panic(fmt.Errorf("%d bytes after the rbsp trailing bits", len(r.b)-r.pos/8))
	}
}

// unescape removes emulation prevention bytes, refusing payloads that
// contain a start code or an unescaped look-alike.
func unescape(payload []byte) ([]byte, error) {
	out := make([]byte, 0, len(payload))
	zeros := 0
	for i, b := range payload {
		if zeros >= 2 {
			if b == 3 {
				zeros = 0
				if i == len(payload)-1 || payload[i+1] <= 3 {
					continue
				}
				return nil, fmt.Errorf("emulation prevention byte at %d before %#x", i, payload[i+1])
			}
			if b <= 2 {
				return nil, fmt.Errorf("unescaped 00 00 %02x at %d", b, i)
			}
		}
		out = append(out, b)
		if b == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out, nil
}

// decodedSPS is what the test decoder needs from a sequence parameter set.
type decodedSPS struct {
	profile, constraints, level int
	log2MaxFrameNum             int
	mbW, mbH                    int
	cropRight, cropBottom       int // in samples
	fpsNum, fpsDen              uint64
	reorder, dpb                uint64
}

// h264Decoder rebuilds pictures from NAL units.
type h264Decoder struct {
	sps    *decodedSPS
	ppsOK  bool
	ref    *yuvFrame // the last decoded picture
	frames int
	// lastFrameNum checks that P pictures count up from their IDR.
	lastFrameNum int
	idrIDs       []uint64
}

// decodeNAL decodes one NAL unit; it returns the picture for slices.
func (d *h264Decoder) decodeNAL(unit []byte) (pic *yuvFrame, err error) {
	defer func() {
		if p := recover(); p != nil {
			e, ok := p.(error)
			if !ok {
				panic(p)
			}
			pic, err = nil, e
		}
	}()
	if len(unit) < 2 {
		return nil, errors.New("NAL unit too short")
	}
	if unit[0]&0x80 != 0 {
		return nil, errors.New("forbidden_zero_bit set")
	}
	refIdc, typ := unit[0]>>5&3, unit[0]&0x1f
	rbsp, err := unescape(unit[1:])
	if err != nil {
		return nil, err
	}
	r := &bitReader{b: rbsp}
	switch typ {
	case nalSPS:
		d.sps = parseSPS(r)
		return nil, nil
	case nalPPS:
		parsePPS(r)
		d.ppsOK = true
		return nil, nil
	case nalIDR, nalSlice:
		if refIdc == 0 {
			return nil, errors.New("non-reference picture: the subset makes every picture a reference")
		}
		return d.slice(r, typ == nalIDR)
	}
	return nil, fmt.Errorf("unexpected NAL unit type %d", typ)
}

func parseSPS(r *bitReader) *decodedSPS {
	s := &decodedSPS{}
	s.profile, s.constraints, s.level = int(r.u(8)), int(r.u(8)), int(r.u(8))
	if s.profile != profileBaseline {
		panic(fmt.Errorf("profile %d", s.profile))
	}
	if r.ue() != 0 {
		panic(errors.New("sps id"))
	}
	s.log2MaxFrameNum = int(r.ue()) + 4
	if poc := r.ue(); poc != 2 {
		panic(fmt.Errorf("pic_order_cnt_type %d", poc))
	}
	if refs := r.ue(); refs != 1 {
		panic(fmt.Errorf("max_num_ref_frames %d", refs))
	}
	if r.flag() {
		panic(errors.New("gaps in frame_num allowed"))
	}
	s.mbW, s.mbH = int(r.ue())+1, int(r.ue())+1
	if !r.flag() {
		panic(errors.New("interlaced"))
	}
	r.flag()      // direct_8x8_inference_flag
	if r.flag() { // frame_cropping_flag; offsets count pairs of samples
		left, right, top, bottom := r.ue(), r.ue(), r.ue(), r.ue()
		if left != 0 || top != 0 {
			panic(errors.New("crop at the left or top"))
		}
		s.cropRight, s.cropBottom = 2*int(right), 2*int(bottom)
	}
	if r.flag() {
		parseVUI(r, s)
	}
	r.trailing()
	return s
}

func parseVUI(r *bitReader, s *decodedSPS) {
	if r.flag() { // aspect_ratio_info_present_flag
		if r.u(8) == 255 {
			r.u(32)
		}
	}
	if r.flag() { // overscan_info_present_flag
		r.flag()
	}
	if r.flag() { // video_signal_type_present_flag
		r.u(4)
		if r.flag() {
			r.u(24)
		}
	}
	if r.flag() { // chroma_loc_info_present_flag
		r.ue()
		r.ue()
	}
	if r.flag() { // timing_info_present_flag
		tick, scale := r.u(32), r.u(32)
		r.flag()
		s.fpsNum, s.fpsDen = scale, 2*tick
	}
	if r.flag() || r.flag() {
		panic(errors.New("HRD parameters"))
	}
	r.flag()      // pic_struct_present_flag
	if r.flag() { // bitstream_restriction_flag
		r.flag()
		for range 4 {
			r.ue()
		}
		s.reorder, s.dpb = r.ue(), r.ue()
	}
}

func parsePPS(r *bitReader) {
	want := []struct {
		name  string
		read  func() int64
		value int64
	}{
		{"pic_parameter_set_id", func() int64 { return int64(r.ue()) }, 0},
		{"seq_parameter_set_id", func() int64 { return int64(r.ue()) }, 0},
		{"entropy_coding_mode_flag", func() int64 { return int64(r.u(1)) }, 0},
		{"bottom_field_pic_order_in_frame_present_flag", func() int64 { return int64(r.u(1)) }, 0},
		{"num_slice_groups_minus1", func() int64 { return int64(r.ue()) }, 0},
		{"num_ref_idx_l0_default_active_minus1", func() int64 { return int64(r.ue()) }, 0},
		{"num_ref_idx_l1_default_active_minus1", func() int64 { return int64(r.ue()) }, 0},
		{"weighted_pred_flag", func() int64 { return int64(r.u(1)) }, 0},
		{"weighted_bipred_idc", func() int64 { return int64(r.u(2)) }, 0},
		{"pic_init_qp_minus26", r.se, 0},
		{"pic_init_qs_minus26", r.se, 0},
		{"chroma_qp_index_offset", r.se, 0},
		{"deblocking_filter_control_present_flag", func() int64 { return int64(r.u(1)) }, 1},
		{"constrained_intra_pred_flag", func() int64 { return int64(r.u(1)) }, 0},
		{"redundant_pic_cnt_present_flag", func() int64 { return int64(r.u(1)) }, 0},
	}
	for _, f := range want {
		if got := f.read(); got != f.value {
			panic(fmt.Errorf("pps %s = %d, want %d", f.name, got, f.value))
		}
	}
	r.trailing()
}

// slice decodes a whole-picture slice into a new picture.
func (d *h264Decoder) slice(r *bitReader, idr bool) (*yuvFrame, error) {
	if d.sps == nil || !d.ppsOK {
		return nil, errors.New("slice before parameter sets")
	}
	s := d.sps
	if first := r.ue(); first != 0 {
		return nil, fmt.Errorf("first_mb_in_slice %d", first)
	}
	sliceType := int(r.ue())
	if idr && sliceType%5 != 2 || !idr && sliceType%5 != 0 {
		return nil, fmt.Errorf("slice_type %d in an IDR=%v picture", sliceType, idr)
	}
	r.ue() // pic_parameter_set_id
	frameNum := int(r.u(s.log2MaxFrameNum))
	if idr {
		if frameNum != 0 {
			return nil, fmt.Errorf("IDR frame_num %d", frameNum)
		}
		d.idrIDs = append(d.idrIDs, r.ue())
	} else {
		if d.ref == nil {
			return nil, errors.New("P picture without a reference")
		}
		if frameNum != (d.lastFrameNum+1)%(1<<s.log2MaxFrameNum) {
			return nil, fmt.Errorf("frame_num %d after %d", frameNum, d.lastFrameNum)
		}
		if r.flag() || r.flag() {
			return nil, errors.New("reference list override or modification")
		}
	}
	d.lastFrameNum = frameNum
	if r.flag() || (idr && r.flag()) {
		return nil, errors.New("unexpected reference marking")
	}
	if qp := r.se(); qp != 0 {
		return nil, fmt.Errorf("slice_qp_delta %d", qp)
	}
	if idc := r.ue(); idc != 1 {
		return nil, fmt.Errorf("disable_deblocking_filter_idc %d: the subset decodes unfiltered pictures only", idc)
	}

	pic := &yuvFrame{
		y:  make([]byte, s.mbW*s.mbH*256),
		cb: make([]byte, s.mbW*s.mbH*64),
		cr: make([]byte, s.mbW*s.mbH*64),
	}
	if !idr { // skipped macroblocks copy the reference: start from it
		copy(pic.y, d.ref.y)
		copy(pic.cb, d.ref.cb)
		copy(pic.cr, d.ref.cr)
	}
	total := s.mbW * s.mbH
	for mb := 0; mb < total; mb++ {
		if !idr {
			mb += int(r.ue()) // mb_skip_run
			if mb > total {
				return nil, errors.New("mb_skip_run past the end")
			}
			if mb == total {
				break
			}
		}
		mbType := r.ue()
		if idr && mbType != mbTypeIPCM || !idr && mbType != mbTypePIntra+mbTypeIPCM {
			return nil, fmt.Errorf("mb_type %d at macroblock %d: the subset has I_PCM only", mbType, mb)
		}
		r.alignZero()
		d.putPCM(pic, mb%s.mbW, mb/s.mbW, r.bytes(pcmBytes))
	}
	r.trailing()
	d.ref = pic
	d.frames++
	return pic, nil
}

func (d *h264Decoder) putPCM(pic *yuvFrame, mbx, mby int, pcm []byte) {
	stride := d.sps.mbW * 16
	for row := range 16 {
		copy(pic.y[(mby*16+row)*stride+mbx*16:][:16], pcm[row*16:])
	}
	for i, plane := range [][]byte{pic.cb, pic.cr} {
		src := pcm[256+64*i:]
		for row := range 8 {
			copy(plane[(mby*8+row)*stride/2+mbx*8:][:8], src[row*8:])
		}
	}
}

// displaySize is the picture size after cropping.
func (s *decodedSPS) displaySize() (int, int) {
	return s.mbW*16 - s.cropRight, s.mbH*16 - s.cropBottom
}
