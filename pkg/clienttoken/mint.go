package clienttoken

import (
	"crypto/rand"
	"encoding/base64"
	"strconv"

	"github.com/golang-jwt/jwt/v5"
)

// SecretPrefix begins every signing secret, so a secret scanner (or a
// person) can tell one apart from an API key.
const SecretPrefix = "tryon_signing_"

// NewSecret makes a random signing secret: SecretPrefix and 256 bits in
// base64url. The HMAC key is the whole string's bytes, so any JWT library
// takes it as it is printed.
func NewSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return SecretPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Mint signs claims with a tenant's secret of the given version, as a
// tenant's own server would.
func Mint(secret string, version int, c Claims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	t.Header["kid"] = strconv.Itoa(version)
	return t.SignedString([]byte(secret))
}
