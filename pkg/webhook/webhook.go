// Package webhook signs and delivers tenant webhooks per the Standard
// Webhooks specification (standardwebhooks.com, spec 1.0.0): each delivery
// is a JSON POST carrying webhook-id, webhook-timestamp and
// webhook-signature, the last an HMAC-SHA256 over "id.timestamp.body" keyed
// with the endpoint's whsec_ secret, so tenants can check deliveries with
// any Standard Webhooks library, or with Verify.
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The headers of a delivery, as the specification names them.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts every signing secret; the rest is the key in
// standard base64, the serialization the specification asks for.
const SecretPrefix = "whsec_"

// The key sizes the specification allows for symmetric secrets: at least
// 24 bytes, at most 64.
const (
	minKeyLen = 24
	maxKeyLen = 64
)

// secretLen is the key size of the secrets NewSecret makes: 256 bits,
// matching the strength of the HMAC-SHA256 they key.
const secretLen = 32

// ErrInvalidSecret means a secret is not whsec_ followed by the base64 of
// 24 to 64 bytes.
var ErrInvalidSecret = errors.New("webhook: secret must be whsec_ followed by the base64 of 24 to 64 bytes")

// NewSecret returns a fresh signing secret for an endpoint: "whsec_" and the
// base64 of 32 random bytes. Each endpoint gets its own, as the
// specification requires.
func NewSecret() (string, error) {
	key := make([]byte, secretLen)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("webhook: new secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// decodeSecret returns the HMAC key of a whsec_ secret.
func decodeSecret(secret string) ([]byte, error) {
	encoded, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, ErrInvalidSecret
	}
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil || len(key) < minKeyLen || len(key) > maxKeyLen {
		return nil, ErrInvalidSecret
	}
	return key, nil
}

// Sign returns the webhook-signature value for a delivery: "v1," and the
// base64 HMAC-SHA256, keyed with the secret's decoded bytes, of
// "msgID.timestamp.body" with the timestamp in Unix seconds. The message ID
// may not contain "." or anything a header cannot carry, which would let one
// signed content pass for another.
func Sign(secret, msgID string, ts time.Time, body []byte) (string, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return "", err
	}
	if !validID(msgID) {
		return "", fmt.Errorf("webhook: message ID %q must be 1 to 255 printable characters without . or spaces", msgID)
	}
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, msgID, ts.Unix(), body)), nil
}

// mac is the HMAC-SHA256 of the signed content "msgID.timestamp.body".
func mac(key []byte, msgID string, unix int64, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msgID))
	h.Write([]byte{'.'})
	h.Write(strconv.AppendInt(nil, unix, 10))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// validID reports whether a message ID is safe to sign and to send as a
// header: printable ASCII, no spaces and no ".".
func validID(id string) bool {
	if id == "" || len(id) > 255 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' || c == '.' {
			return false
		}
	}
	return true
}
