package safefetch

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/tryonhq/tryon/pkg/tryon"
)

func TestDecodeDataURL(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		data      string
		mediaType string
	}{
		{"Padded", "data:image/png;base64,aGVsbG8=", "hello", "image/png"},
		{"Unpadded", "data:image/png;base64,aGVsbG8", "hello", "image/png"},
		{"StandardAlphabet", "data:image/webp;base64,+/8=", "\xfb\xff", "image/webp"},
		{"URLSafeAlphabet", "data:image/webp;base64,-_8=", "\xfb\xff", "image/webp"},
		{"URLSafeUnpadded", "data:image/webp;base64,-_8", "\xfb\xff", "image/webp"},
		{"UpperCase", "DATA:IMAGE/JPEG;BASE64,aGk=", "hi", "image/jpeg"},
		{"ParametersIgnored", "data:Image/PNG;charset=utf-8;name=a.png;base64,aGk=", "hi", "image/png"},
		{"NoMediaType", "data:;base64,aGk=", "hi", "text/plain"},
		{"EmptyPayload", "data:image/png;base64,", "", "image/png"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, mediaType, err := DecodeDataURL(tt.in, 100)
			if err != nil {
				t.Fatalf("DecodeDataURL() error = %v", err)
			}
			if string(data) != tt.data || mediaType != tt.mediaType {
				t.Fatalf("DecodeDataURL() = %q, %q; want %q, %q", data, mediaType, tt.data, tt.mediaType)
			}
		})
	}
}

func TestDecodeDataURLRefused(t *testing.T) {
	const invalid = "is not a valid data: URL"
	tests := []struct {
		name     string
		in       string
		maxBytes int64
		msg      string
	}{
		{"ErrNotData", "https://example.com/a.png", 100, "is not a data: URL"},
		{"ErrTooShort", "dat", 100, "is not a data: URL"},
		{"ErrNoComma", "data:image/png;base64", 100, invalid},
		{"ErrNotBase64", "data:image/png,hello", 100, "must be a base64 data: URL"},
		{"ErrBase64NotLast", "data:image/png;base64;charset=x,aGk=", 100, "must be a base64 data: URL"},
		{"ErrMediaTypeNoSubtype", "data:image;base64,aGk=", 100, invalid},
		{"ErrMediaTypeSpace", "data:image/p ng;base64,aGk=", 100, invalid},
		{"ErrMixedAlphabets", "data:image/png;base64,+-8=", 100, invalid},
		{"ErrSpace", "data:image/png;base64,aGVs bG8=", 100, invalid},
		{"ErrNewline", "data:image/png;base64,aGVs\nbG8=", 100, invalid},
		{"ErrPercentEscape", "data:image/png;base64,aGVsbG8%3D", 100, invalid},
		{"ErrPaddingInside", "data:image/png;base64,aG=VsbG8", 100, invalid},
		{"ErrTooMuchPadding", "data:image/png;base64,aGVsbG8==", 100, invalid},
		{"ErrThreePads", "data:image/png;base64,aGk===", 100, invalid},
		{"ErrOnlyPadding", "data:image/png;base64,====", 100, invalid},
		{"ErrImpossibleLength", "data:image/png;base64,aGVsb", 100, invalid},
		{"ErrTrailingBits", "data:image/png;base64,aGVsbG9=", 100, invalid},
		{"ErrTooLarge", "data:image/png;base64,aGVsbG8=", 4, "is larger than 4 bytes"},
		{"ErrTooLargeUnpadded", "data:image/png;base64,aGVsbG8", 4, "is larger than 4 bytes"},
		// Judged by length alone: the cap applies before the payload is even read.
		{"ErrTooLargeBeforeDecoding", "data:image/png;base64," + strings.Repeat("!", 4<<10), 1 << 10, "is larger than 1 KB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, _, err := DecodeDataURL(tt.in, tt.maxBytes)
			wantRefusal(t, err, tt.msg)
			if data != nil {
				t.Fatalf("DecodeDataURL() data = %q; want nil with an error", data)
			}
		})
	}
}

func TestDecodeDataURLCapIsInclusive(t *testing.T) {
	data, _, err := DecodeDataURL("data:image/png;base64,aGVsbG8=", 5)
	if err != nil || string(data) != "hello" {
		t.Fatalf("DecodeDataURL() = %q, %v; want \"hello\", nil", data, err)
	}
}

func TestDecodeDataURLDefaultCap(t *testing.T) {
	payload := base64.StdEncoding.EncodeToString(make([]byte, DefaultMaxBytes+1))
	_, _, err := DecodeDataURL("data:image/png;base64,"+payload, 0)
	wantRefusal(t, err, "is larger than 10 MB")
}

func FuzzDecodeDataURL(f *testing.F) {
	f.Add("data:image/png;base64,aGVsbG8=", int64(5))
	f.Add("data:image/png;base64,aGVsbG8", int64(4))
	f.Add("data:image/webp;base64,-_8", int64(100))
	f.Add("DATA:Image/JPEG;charset=x;base64,+/8=", int64(2))
	f.Add("data:;base64,", int64(0))
	f.Add("data:image/png,hello", int64(100))
	f.Add("data:image/png;base64,aGk===", int64(-1))
	f.Fuzz(func(t *testing.T, s string, maxBytes int64) {
		data, mediaType, err := DecodeDataURL(s, maxBytes)
		limit := maxBytes
		if limit <= 0 {
			limit = DefaultMaxBytes
		}
		if int64(len(data)) > limit {
			t.Fatalf("decoded %d bytes; the cap is %d", len(data), limit)
		}
		if err != nil {
			var te *tryon.Error
			if !errors.As(err, &te) || te.Code != tryon.CodeInvalidRequest || data != nil || mediaType != "" {
				t.Fatalf("DecodeDataURL() = %q, %q, %v; want nil, \"\" and an invalid_request *tryon.Error", data, mediaType, err)
			}
			return
		}
		if mediaType != strings.ToLower(mediaType) || !isMediaType(mediaType) {
			t.Fatalf("media type %q; want a lower-case type/subtype", mediaType)
		}
		// Strictness means one encoding per payload: the accepted text is the
		// canonical encoding of what it decoded to, up to alphabet and padding.
		_, payload, _ := strings.Cut(s, ",")
		payload = strings.NewReplacer("-", "+", "_", "/").Replace(strings.TrimRight(payload, "="))
		if want := base64.RawStdEncoding.EncodeToString(data); payload != want {
			t.Fatalf("accepted payload %q decodes to %q, whose encoding is %q", payload, data, want)
		}
	})
}
