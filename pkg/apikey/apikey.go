// Package apikey makes and parses Tryon API keys.
//
// A key is "tryon_<kind>_" followed by 43 base62 characters of randomness
// (256 bits from crypto/rand) and a 6-character base62 CRC-32 checksum of
// everything before it, like GitHub's tokens: a scanner or a support engineer
// can tell a real key from a typo without a database. Keys are stored only as
// their SHA-256 digest, and looked up by it.
package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"hash/crc32"
	"math/big"
	"strings"

	"github.com/tryonhq/tryon/pkg/tryon"
)

const (
	alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	// randomLen base62 characters carry log2(62)*43 ≈ 256.03 bits.
	randomLen   = 43
	checksumLen = 6
	// prefixShown is how many random characters a listing shows after the
	// kind prefix: enough to tell keys apart, far too few to guess one.
	prefixShown = 6
)

// ErrMalformed means a string cannot be a Tryon key: wrong prefix, length,
// characters or checksum.
var ErrMalformed = errors.New("malformed API key")

// Key is a parsed, well-formed key.
type Key struct {
	Kind   tryon.KeyKind
	Secret string // the whole key
}

// Digest is the SHA-256 of the whole key, the only form in which it is stored.
func (k Key) Digest() [32]byte { return sha256.Sum256([]byte(k.Secret)) }

// Prefix is the beginning of the key safe to show in listings.
func (k Key) Prefix() string {
	head := "tryon_" + string(k.Kind) + "_"
	return k.Secret[:len(head)+prefixShown]
}

// New makes a new random key of the given kind.
func New(kind tryon.KeyKind) (Key, error) {
	if !kind.Valid() {
		return Key{}, errors.New("apikey: unknown kind " + string(kind))
	}
	max := big.NewInt(int64(len(alphabet)))
	var b strings.Builder
	b.WriteString("tryon_" + string(kind) + "_")
	for range randomLen {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return Key{}, err
		}
		b.WriteByte(alphabet[n.Int64()])
	}
	body := b.String()
	return Key{Kind: kind, Secret: body + checksum(body)}, nil
}

// Parse checks that s is a well-formed key and returns it. Whether the key
// exists is for the store to say.
func Parse(s string) (Key, error) {
	rest, ok := strings.CutPrefix(s, "tryon_")
	if !ok {
		return Key{}, ErrMalformed
	}
	kind, tail, ok := strings.Cut(rest, "_")
	if !ok || !tryon.KeyKind(kind).Valid() || len(tail) != randomLen+checksumLen {
		return Key{}, ErrMalformed
	}
	for i := 0; i < len(tail); i++ {
		if strings.IndexByte(alphabet, tail[i]) < 0 {
			return Key{}, ErrMalformed
		}
	}
	body := s[:len(s)-checksumLen]
	if checksum(body) != s[len(s)-checksumLen:] {
		return Key{}, ErrMalformed
	}
	return Key{Kind: tryon.KeyKind(kind), Secret: s}, nil
}

// checksum is the CRC-32 of body in 6 base62 characters (62^6 > 2^32).
func checksum(body string) string {
	n := crc32.ChecksumIEEE([]byte(body))
	out := make([]byte, checksumLen)
	for i := checksumLen - 1; i >= 0; i-- {
		out[i] = alphabet[n%62]
		n /= 62
	}
	return string(out)
}
