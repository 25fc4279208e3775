package safefetch

import (
	"encoding/base64"
	"errors"
	"strings"
)

var errDataURL = errors.New("malformed data: URL")

// DecodeDataURL decodes a base64 data: URL ("data:image/png;base64,iVBOR...").
// It is strict: the payload must be base64 in one alphabet, standard or
// URL-safe, padded or not, with no whitespace or percent-escapes, because a
// lenient decoder is one more parser for a tenant to probe. The size is
// checked against maxBytes (DefaultMaxBytes when not positive) from the
// encoded length, before the payload is decoded. mediaType is lower-cased
// without its parameters, "text/plain" when absent as RFC 2397 says; it is
// only what the tenant declared. Errors are invalid_request *tryon.Errors.
func DecodeDataURL(s string, maxBytes int64) (data []byte, mediaType string, err error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if len(s) < len("data:") || !strings.EqualFold(s[:len("data:")], "data:") {
		return nil, "", refuse("is not a data: URL", errDataURL)
	}
	header, payload, ok := strings.Cut(s[len("data:"):], ",")
	if !ok {
		return nil, "", refuse("is not a valid data: URL", errors.New("data: URL has no comma"))
	}
	params := strings.Split(header, ";")
	if len(params) < 2 || !strings.EqualFold(strings.TrimSpace(params[len(params)-1]), "base64") {
		return nil, "", refuse("must be a base64 data: URL", errors.New("data: URL is not base64"))
	}
	mediaType = strings.ToLower(strings.TrimSpace(params[0]))
	if mediaType == "" {
		mediaType = "text/plain"
	} else if !isMediaType(mediaType) {
		return nil, "", refuse("is not a valid data: URL", errors.New("data: URL has a malformed media type"))
	}

	body := strings.TrimRight(payload, "=")
	padding := len(payload) - len(body)
	if n := int64(len(body)) * 3 / 4; n > maxBytes {
		return nil, "", tooLarge(maxBytes, errors.New("data: URL payload too large"))
	}
	enc, err := base64Encoding(body, padding)
	if err != nil {
		return nil, "", refuse("is not a valid data: URL", err)
	}
	data, err = enc.DecodeString(payload)
	if err != nil {
		return nil, "", refuse("is not a valid data: URL", err)
	}
	return data, mediaType, nil
}

// base64Encoding picks the one encoding body (the payload without its
// padding) can be in, refusing what the standard decoder would quietly
// accept: newlines, a mix of both alphabets, stray or excess padding.
func base64Encoding(body string, padding int) (*base64.Encoding, error) {
	var standard, urlSafe bool
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '+' || c == '/':
			standard = true
		case c == '-' || c == '_':
			urlSafe = true
		default:
			return nil, errors.New("base64 payload has a character outside the alphabet")
		}
	}
	switch {
	case standard && urlSafe:
		return nil, errors.New("base64 payload mixes the standard and URL-safe alphabets")
	case len(body)%4 == 1:
		return nil, errors.New("base64 payload has an impossible length")
	case padding > 0 && (padding > 2 || (len(body)+padding)%4 != 0):
		return nil, errors.New("base64 payload is wrongly padded")
	}
	// Strict rejects non-zero bits after the last byte, so each payload has
	// exactly one encoding.
	switch {
	case urlSafe && padding > 0:
		return base64.URLEncoding.Strict(), nil
	case urlSafe:
		return base64.RawURLEncoding.Strict(), nil
	case padding > 0:
		return base64.StdEncoding.Strict(), nil
	}
	return base64.RawStdEncoding.Strict(), nil
}

// isMediaType reports whether s is "type/subtype" made of RFC 9110 token
// characters.
func isMediaType(s string) bool {
	typ, sub, ok := strings.Cut(s, "/")
	return ok && isToken(typ) && isToken(sub)
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}
