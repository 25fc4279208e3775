package webhook

import (
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultTolerance is how far a delivery's timestamp may be from the
// receiver's clock when Verify is given no tolerance: five minutes, the
// window the reference libraries use.
const DefaultTolerance = 5 * time.Minute

// The reasons Verify refuses a delivery. Receivers should answer all of
// them alike (400 or 401) and keep the reason for their logs.
var (
	// ErrMissingHeaders means webhook-id, webhook-timestamp or
	// webhook-signature is absent.
	ErrMissingHeaders = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature")
	// ErrInvalidTimestamp means webhook-timestamp is not Unix seconds.
	ErrInvalidTimestamp = errors.New("webhook: webhook-timestamp is not a number of Unix seconds")
	// ErrTimestampOutOfRange means the timestamp is too old or too far in the
	// future: a replay, or a clock badly off.
	ErrTimestampOutOfRange = errors.New("webhook: webhook-timestamp is outside the tolerance")
	// ErrNoMatchingSignature means no v1 signature in webhook-signature
	// matches the body, ID and timestamp under the secret.
	ErrNoMatchingSignature = errors.New("webhook: no matching signature")
)

// Verify checks a delivery as a receiver should: the three headers are
// present, the timestamp is within tolerance of now (zero or less means
// DefaultTolerance) either way, and one of the space-separated signatures in
// webhook-signature is a v1 signature of the raw body under secret, compared
// in constant time. Signatures of other versions are skipped, so a sender
// may add them, and several v1 signatures may come while a secret is
// rotated. body must be the bytes received, before any JSON parsing.
//
// It returns nil, ErrInvalidSecret, or one of the Err values above.
func Verify(secret string, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := decodeSecret(secret)
	if err != nil {
		return err
	}
	id, stamp, sigs := header.Get(HeaderID), header.Get(HeaderTimestamp), header.Get(HeaderSignature)
	if id == "" || stamp == "" || sigs == "" {
		return ErrMissingHeaders
	}
	unix, err := parseUnix(stamp)
	if err != nil {
		return err
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	// Compared in seconds, so neither a far-off timestamp nor a large
	// tolerance can overflow a time.Duration.
	limit := int64(tolerance / time.Second)
	if diff := now.Unix() - unix; diff > limit || diff < -limit {
		return ErrTimestampOutOfRange
	}
	want := mac(key, id, unix, body)
	for _, sig := range strings.Fields(sigs) {
		version, encoded, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(encoded)
		if err != nil {
			continue
		}
		if hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrNoMatchingSignature
}

// parseUnix reads webhook-timestamp: decimal digits only, so that "+1",
// "1e9" or " 1" cannot sign as one string and verify as another number.
func parseUnix(s string) (int64, error) {
	if len(s) > 18 {
		return 0, ErrInvalidTimestamp
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, ErrInvalidTimestamp
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, ErrInvalidTimestamp
	}
	return n, nil
}
