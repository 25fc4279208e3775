package clienttoken

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// Errors of verification. Every way a token can be forged or malformed is
// one error, so answers reveal nothing about which tenants or secrets exist;
// expiry has its own message, because a browser's right move then is to
// fetch a new token.
var (
	ErrInvalid = &tryon.Error{Code: tryon.CodeUnauthorized, Message: "invalid client token"}
	ErrExpired = &tryon.Error{Code: tryon.CodeUnauthorized, Message: "the client token has expired: get a new one from your server"}
)

// Signer is what verifying a tenant's tokens needs: one version of its
// signing secret, and who the tokens act as.
type Signer struct {
	// Secret is the HMAC key. It is stored as it is, because HS256
	// verification needs the secret itself (a hash of it could not check a
	// signature).
	Secret string
	// ValidUntil is when a rotated-out secret stops verifying; nil while it
	// is the current one.
	ValidUntil *time.Time
	Client     *tryon.Client
	// Keys are the tenant's client-token keys by mode: the API key whose
	// rate limit and records a token's requests share.
	Keys map[tryon.Mode]tryon.APIKey
}

// LookupFunc finds one version of a tenant's signing secret;
// tryon.ErrNotFound when there is none.
type LookupFunc func(ctx context.Context, tenant uuid.UUID, version int) (*Signer, error)

// Verifier checks client tokens, remembering looked-up secrets for TTL (so
// a warm instance verifies without a database round trip; a rotation's
// grace period is far longer than TTL).
type Verifier struct {
	TTL    time.Duration
	Lookup LookupFunc
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu    sync.Mutex
	cache map[signerRef]signerEntry
}

type signerRef struct {
	tenant  uuid.UUID
	version int
}

type signerEntry struct {
	signer *Signer // nil: no such secret
	until  time.Time
}

// maxCached bounds the cache; a full cache starts over, which only costs
// lookups.
const maxCached = 10_000

// LooksLikeJWT tells a client token from an API key by its shape: three
// dot-separated base64url parts, the first a JSON object ("eyJ"). API keys
// have no dots.
func LooksLikeJWT(s string) bool {
	return strings.HasPrefix(s, "eyJ") && strings.Count(s, ".") == 2
}

// Verify checks a token and returns the principal its requests act as.
func (v *Verifier) Verify(ctx context.Context, raw string) (*tryon.Principal, error) {
	now := v.now()
	var claims Claims
	var signer *Signer
	var lookupErr error
	var version int
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	_, err := parser.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		n, ok := kidVersion(t.Header["kid"])
		if !ok {
			return nil, ErrInvalid
		}
		tenant, err := uuid.Parse(claims.Issuer)
		if err != nil {
			return nil, ErrInvalid
		}
		version = n
		signer, lookupErr = v.signer(ctx, signerRef{tenant, version}, now)
		switch {
		case lookupErr != nil:
			return nil, lookupErr
		case signer == nil:
			return nil, ErrInvalid
		case signer.ValidUntil != nil && !now.Before(*signer.ValidUntil):
			// Rotated out and past its grace period.
			return nil, ErrInvalid
		}
		return []byte(signer.Secret), nil
	})
	switch {
	case lookupErr != nil:
		return nil, lookupErr // the database failed: not the caller's fault
	case errors.Is(err, jwt.ErrTokenExpired) && signer != nil:
		// The signature verified (v5 checks it before the claims): this is a
		// genuine token that is too old.
		return nil, ErrExpired
	case err != nil:
		return nil, ErrInvalid
	}
	if err := claims.check(); err != nil {
		return nil, &tryon.Error{Code: tryon.CodeUnauthorized, Message: "invalid client token: " + err.Error()}
	}
	key, ok := signer.Keys[claims.Mode]
	switch {
	case signer.Client == nil || !ok || key.RevokedAt != nil:
		return nil, ErrInvalid
	case signer.Client.Status != tryon.ClientActive:
		return nil, tryon.ErrSuspended
	}
	tok := &tryon.ClientToken{
		ID: claims.ID, EndUser: claims.Subject, Mode: claims.Mode, Origins: claims.Origins,
		Scopes: claims.Scopes(), MaxGenerations: claims.MaxGenerations, Version: version,
		IssuedAt: claims.IssuedAt.Time, ExpiresAt: claims.ExpiresAt.Time,
	}
	if claims.MaxSpendMicros != nil {
		m := tryon.Micros(*claims.MaxSpendMicros)
		tok.MaxSpendMicros = &m
	}
	return &tryon.Principal{Key: key, Client: signer.Client, Token: tok}, nil
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// signer returns a cached secret version, looking it up when it is not
// cached. Unknown versions are remembered too, so made-up tokens cost one
// lookup per TTL each, not one per request.
func (v *Verifier) signer(ctx context.Context, ref signerRef, now time.Time) (*Signer, error) {
	v.mu.Lock()
	if e, ok := v.cache[ref]; ok && now.Before(e.until) {
		v.mu.Unlock()
		return e.signer, nil
	}
	v.mu.Unlock()
	s, err := v.Lookup(ctx, ref.tenant, ref.version)
	if errors.Is(err, tryon.ErrNotFound) {
		s, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	if v.cache == nil || len(v.cache) >= maxCached {
		v.cache = make(map[signerRef]signerEntry)
	}
	v.cache[ref] = signerEntry{signer: s, until: now.Add(v.TTL)}
	v.mu.Unlock()
	return s, nil
}

// kidVersion reads the kid header as a secret version: a string ("3"), as
// most libraries write it, or a number, as a hand-built header may.
func kidVersion(kid any) (int, bool) {
	switch k := kid.(type) {
	case string:
		n, err := strconv.Atoi(k)
		return n, err == nil && n >= 1
	case float64:
		n := int(k)
		return n, float64(n) == k && n >= 1
	}
	return 0, false
}
