package inputimage

import "encoding/binary"

// exifOrientation reads the Orientation tag (0x0112) of a JPEG's EXIF
// segment: 1 (upright, also when absent or unreadable) to 8. Phones store
// portrait photos sideways with this tag; the re-encoded input drops the
// metadata, so the rotation must be applied to the pixels.
func exifOrientation(b []byte) int {
	for i := 2; i+4 <= len(b) && b[i] == 0xFF; {
		marker, n := b[i+1], int(binary.BigEndian.Uint16(b[i+2:i+4]))
		if marker == 0xDA || marker == 0xD9 || n < 2 || i+2+n > len(b) {
			return 1
		}
		seg := b[i+4 : i+2+n]
		if marker == 0xE1 && len(seg) > 6 && string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
		i += 2 + n
	}
	return 1
}

// tiffOrientation finds the Orientation tag in the first IFD of a TIFF
// structure (the body of an EXIF segment).
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var order binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		order = binary.LittleEndian
	case "MM":
		order = binary.BigEndian
	default:
		return 1
	}
	ifd := int64(order.Uint32(t[4:8]))
	if ifd+2 > int64(len(t)) {
		return 1
	}
	count := int64(order.Uint16(t[ifd : ifd+2]))
	for e := ifd + 2; e+12 <= int64(len(t)) && count > 0; e, count = e+12, count-1 {
		if order.Uint16(t[e:e+2]) != 0x0112 {
			continue
		}
		// A SHORT value sits in the first two bytes of the value field.
		if v := int(order.Uint16(t[e+8 : e+10])); v >= 1 && v <= 8 {
			return v
		}
		return 1
	}
	return 1
}
