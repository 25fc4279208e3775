package fake

// A minimal H.264 encoder, just enough to make a real, playable video
// without a codec library.
//
// Every picture is coded losslessly and without prediction: a key frame is an
// IDR picture whose macroblocks are all I_PCM (raw 8-bit samples), and each
// later frame is a P picture that skips every macroblock equal to the one
// before it and sends the changed ones as I_PCM. Skipped macroblocks copy the
// previous picture unchanged because every motion vector in the stream is
// zero (no macroblock carries one, so every prediction of one is zero too).
// There is no transform, quantisation or deblocking, so a decoder rebuilds
// exactly the samples given. The price is size, which a few seconds of small
// frames with little motion keep low.
//
// The stream is Constrained Baseline: CAVLC, one slice per picture, frame
// numbers for picture order (type 2, no reordering), one reference frame.

// NAL unit types (H.264 Table 7-1).
const (
	nalSlice = 1
	nalIDR   = 5
	nalSPS   = 7
	nalPPS   = 8
)

// Syntax values this encoder uses.
const (
	profileBaseline = 66
	// constraintFlags sets constraint_set0 (Baseline) and constraint_set1
	// (Main) together, which declares Constrained Baseline: the profile
	// every browser and phone decodes.
	constraintFlags = 0xC0
	// level 3.0 allows 1,620 macroblocks a frame, plenty for our frames;
	// players pick decoders by level, and 3.0 is supported everywhere.
	levelIDC        = 30
	log2MaxFrameNum = 8
	sliceTypeP      = 5 // 5 and 7: every slice of the picture has this type
	sliceTypeI      = 7
	mbTypeIPCM      = 25 // in an I slice
	mbTypePIntra    = 5  // a P slice numbers the intra mb_types after its five inter ones
	mbSize          = 16
	pcmBytes        = mbSize*mbSize + 2*(mbSize/2)*(mbSize/2) // luma, then Cb, then Cr
)

// yuvFrame is a picture in 4:2:0, at the coded size (whole macroblocks).
type yuvFrame struct {
	y, cb, cr []byte
}

// h264Encoder codes pictures of one size.
type h264Encoder struct {
	width, height int // the display size; the coded size rounds up to macroblocks
	mbW, mbH      int
	fps           int
}

func newH264Encoder(width, height, fps int) *h264Encoder {
	return &h264Encoder{
		width: width, height: height, fps: fps,
		mbW: (width + mbSize - 1) / mbSize,
		mbH: (height + mbSize - 1) / mbSize,
	}
}

// newFrame allocates a picture at the coded size.
func (e *h264Encoder) newFrame() *yuvFrame {
	w, h := e.mbW*mbSize, e.mbH*mbSize
	return &yuvFrame{y: make([]byte, w*h), cb: make([]byte, w*h/4), cr: make([]byte, w*h/4)}
}

// sps is the sequence parameter set NAL unit (7.3.2.1.1).
func (e *h264Encoder) sps() []byte {
	var w bitWriter
	w.u(8, profileBaseline)
	w.u(8, constraintFlags)
	w.u(8, levelIDC)
	w.ue(0) // seq_parameter_set_id
	w.ue(log2MaxFrameNum - 4)
	w.ue(2)       // pic_order_cnt_type: output order is decoding order
	w.ue(1)       // max_num_ref_frames
	w.flag(false) // gaps_in_frame_num_value_allowed_flag
	w.ue(uint64(e.mbW - 1))
	w.ue(uint64(e.mbH - 1))
	w.flag(true) // frame_mbs_only_flag
	w.flag(true) // direct_8x8_inference_flag
	// Cropping hides the rows and columns that round the picture up to whole
	// macroblocks; its unit is two samples in 4:2:0.
	cropRight, cropBottom := e.mbW*mbSize-e.width, e.mbH*mbSize-e.height
	w.flag(cropRight != 0 || cropBottom != 0)
	if cropRight != 0 || cropBottom != 0 {
		w.ue(0)
		w.ue(uint64(cropRight / 2))
		w.ue(0)
		w.ue(uint64(cropBottom / 2))
	}
	w.flag(true) // vui_parameters_present_flag
	e.vui(&w)
	w.trailing()
	return nal(3, nalSPS, w.buf)
}

// vui writes the video usability information (E.1.1). None of it is needed
// to decode; players use it to show the picture right: square pixels, the
// BT.601 colours the samples were converted with, the frame rate, and no
// reordering, so a decoder can output each frame as soon as it is decoded.
func (e *h264Encoder) vui(w *bitWriter) {
	w.flag(true)             // aspect_ratio_info_present_flag
	w.u(8, 1)                // aspect_ratio_idc: 1:1
	w.flag(false)            // overscan_info_present_flag
	w.flag(true)             // video_signal_type_present_flag
	w.u(3, 5)                // video_format: unspecified
	w.flag(false)            // video_full_range_flag: samples are 16-235
	w.flag(true)             // colour_description_present_flag
	w.u(8, 6)                // colour_primaries: SMPTE 170M (BT.601)
	w.u(8, 6)                // transfer_characteristics
	w.u(8, 6)                // matrix_coefficients
	w.flag(false)            // chroma_loc_info_present_flag
	w.flag(true)             // timing_info_present_flag
	w.u(32, 1)               // num_units_in_tick
	w.u(32, uint64(2*e.fps)) // time_scale: two ticks a frame
	w.flag(true)             // fixed_frame_rate_flag
	w.flag(false)            // nal_hrd_parameters_present_flag
	w.flag(false)            // vcl_hrd_parameters_present_flag
	w.flag(false)            // pic_struct_present_flag
	w.flag(true)             // bitstream_restriction_flag
	w.flag(true)             // motion_vectors_over_pic_boundaries_flag
	w.ue(0)                  // max_bytes_per_pic_denom: no limit
	w.ue(0)                  // max_bits_per_mb_denom: no limit
	w.ue(15)                 // log2_max_mv_length_horizontal
	w.ue(15)                 // log2_max_mv_length_vertical
	w.ue(0)                  // max_num_reorder_frames
	w.ue(1)                  // max_dec_frame_buffering
}

// pps is the picture parameter set NAL unit (7.3.2.2).
func (e *h264Encoder) pps() []byte {
	var w bitWriter
	w.ue(0)       // pic_parameter_set_id
	w.ue(0)       // seq_parameter_set_id
	w.flag(false) // entropy_coding_mode_flag: CAVLC
	w.flag(false) // bottom_field_pic_order_in_frame_present_flag
	w.ue(0)       // num_slice_groups_minus1
	w.ue(0)       // num_ref_idx_l0_default_active_minus1
	w.ue(0)       // num_ref_idx_l1_default_active_minus1
	w.flag(false) // weighted_pred_flag
	w.u(2, 0)     // weighted_bipred_idc
	w.se(0)       // pic_init_qp_minus26
	w.se(0)       // pic_init_qs_minus26
	w.se(0)       // chroma_qp_index_offset
	w.flag(true)  // deblocking_filter_control_present_flag, so slices can turn it off
	w.flag(false) // constrained_intra_pred_flag
	w.flag(false) // redundant_pic_cnt_present_flag
	w.trailing()
	return nal(3, nalPPS, w.buf)
}

// idr codes f as a key frame; consecutive IDR pictures need different ids.
func (e *h264Encoder) idr(f *yuvFrame, idrID int) []byte {
	var w bitWriter
	w.buf = make([]byte, 0, e.mbW*e.mbH*(pcmBytes+2)+16)
	e.sliceHeader(&w, sliceTypeI, 0, idrID)
	for mby := range e.mbH {
		for mbx := range e.mbW {
			w.ue(mbTypeIPCM)
			w.align() // pcm_alignment_zero_bit
			w.buf = e.appendPCM(w.buf, f, mbx, mby)
		}
	}
	w.trailing()
	return nal(3, nalIDR, w.buf)
}

// p codes f as a P picture predicted from prev, the picture decoded just
// before it; frameNum counts pictures since the last IDR.
func (e *h264Encoder) p(f, prev *yuvFrame, frameNum int) []byte {
	var w bitWriter
	e.sliceHeader(&w, sliceTypeP, frameNum, 0)
	skipped := 0
	for mby := range e.mbH {
		for mbx := range e.mbW {
			if e.sameMB(f, prev, mbx, mby) {
				skipped++
				continue
			}
			w.ue(uint64(skipped)) // mb_skip_run
			skipped = 0
			w.ue(mbTypePIntra + mbTypeIPCM)
			w.align()
			w.buf = e.appendPCM(w.buf, f, mbx, mby)
		}
	}
	if skipped > 0 {
		w.ue(uint64(skipped)) // the run reaches the end of the picture
	}
	w.trailing()
	return nal(2, nalSlice, w.buf)
}

// sliceHeader writes a slice header (7.3.3) for a whole picture.
func (e *h264Encoder) sliceHeader(w *bitWriter, sliceType, frameNum, idrID int) {
	idr := sliceType == sliceTypeI
	w.ue(0) // first_mb_in_slice
	w.ue(uint64(sliceType))
	w.ue(0) // pic_parameter_set_id
	w.u(log2MaxFrameNum, uint64(frameNum)%(1<<log2MaxFrameNum))
	if idr {
		w.ue(uint64(idrID) % (1 << 16))
	}
	if !idr {
		w.flag(false) // num_ref_idx_active_override_flag
		w.flag(false) // ref_pic_list_modification_flag_l0
	}
	// dec_ref_pic_marking: every picture is a reference, kept by the
	// sliding window.
	if idr {
		w.flag(false) // no_output_of_prior_pics_flag
		w.flag(false) // long_term_reference_flag
	} else {
		w.flag(false) // adaptive_ref_pic_marking_mode_flag
	}
	w.se(0) // slice_qp_delta
	w.ue(1) // disable_deblocking_filter_idc: lossless pictures need no smoothing
}

// appendPCM appends the samples of one macroblock in I_PCM order: the 16×16
// luma block row by row, then the 8×8 Cb and Cr blocks.
func (e *h264Encoder) appendPCM(dst []byte, f *yuvFrame, mbx, mby int) []byte {
	stride := e.mbW * mbSize
	for row := range mbSize {
		off := (mby*mbSize+row)*stride + mbx*mbSize
		dst = append(dst, f.y[off:off+mbSize]...)
	}
	for _, plane := range [][]byte{f.cb, f.cr} {
		for row := range mbSize / 2 {
			off := (mby*mbSize/2+row)*stride/2 + mbx*mbSize/2
			dst = append(dst, plane[off:off+mbSize/2]...)
		}
	}
	return dst
}

// sameMB reports whether a macroblock has the same samples in both pictures.
func (e *h264Encoder) sameMB(a, b *yuvFrame, mbx, mby int) bool {
	stride := e.mbW * mbSize
	for row := range mbSize {
		off := (mby*mbSize+row)*stride + mbx*mbSize
		if string(a.y[off:off+mbSize]) != string(b.y[off:off+mbSize]) {
			return false
		}
	}
	for row := range mbSize / 2 {
		off := (mby*mbSize/2+row)*stride/2 + mbx*mbSize/2
		if string(a.cb[off:off+mbSize/2]) != string(b.cb[off:off+mbSize/2]) ||
			string(a.cr[off:off+mbSize/2]) != string(b.cr[off:off+mbSize/2]) {
			return false
		}
	}
	return true
}

// nal wraps an RBSP into a NAL unit: the header byte, then the payload with
// emulation prevention, so that no start code (00 00 01) or its look-alikes
// appear inside it.
func nal(refIdc, typ byte, rbsp []byte) []byte {
	out := make([]byte, 1, len(rbsp)+len(rbsp)/64+2)
	out[0] = refIdc<<5 | typ
	return escapeRBSP(out, rbsp)
}

// escapeRBSP appends rbsp to dst, inserting 03 after every two zero bytes
// that are followed by a byte of 03 or less (7.4.1).
func escapeRBSP(dst, rbsp []byte) []byte {
	zeros := 0
	for _, b := range rbsp {
		if zeros >= 2 && b <= 3 {
			dst = append(dst, 3)
			zeros = 0
		}
		dst = append(dst, b)
		if b == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	// A payload may not end in a zero byte; ours end with the stop bit, but
	// keep the rule whole rather than rely on that.
	if zeros > 0 {
		dst = append(dst, 3)
	}
	return dst
}
