package apikey

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// Errors of authentication. ErrInvalid is deliberately one error for every
// way a presented key can be wrong (malformed, unknown, revoked, expired), so
// responses reveal nothing about which keys exist.
var (
	ErrMissing = &tryon.Error{Code: tryon.CodeUnauthorized, Message: "missing API key: send it in the x-client-key header or as Authorization: Bearer"}
	ErrInvalid = &tryon.Error{Code: tryon.CodeUnauthorized, Message: "invalid API key"}
)

// LookupFunc finds a key by digest, with its tenant.
type LookupFunc func(ctx context.Context, digest [32]byte) (*tryon.Principal, error)

// Cache authenticates keys, remembering what it looked up for TTL. A warm
// instance therefore authenticates without a database round trip; the price
// is that a revocation or suspension takes up to TTL to reach every
// instance. Unknown keys are remembered too, so a flood of made-up keys
// costs one lookup each per TTL, not one per request.
type Cache struct {
	TTL    time.Duration
	Lookup LookupFunc
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	entries map[[32]byte]cacheEntry
}

type cacheEntry struct {
	principal *tryon.Principal // nil: no such key
	until     time.Time
}

// maxEntries bounds the cache; when full it starts over, which only costs
// lookups.
const maxEntries = 10_000

// Authenticate checks a presented key and returns who it belongs to.
func (c *Cache) Authenticate(ctx context.Context, presented string) (*tryon.Principal, error) {
	if presented == "" {
		return nil, ErrMissing
	}
	key, err := Parse(presented)
	if err != nil {
		return nil, ErrInvalid
	}
	digest := key.Digest()
	now := c.now()
	p, ok := c.get(digest, now)
	if !ok {
		p, err = c.Lookup(ctx, digest)
		switch {
		case errors.Is(err, tryon.ErrNotFound):
			p = nil
		case err != nil:
			return nil, err
		}
		c.put(digest, p, now)
	}
	switch {
	case p == nil, p.Key.Kind != key.Kind, p.Key.RevokedAt != nil:
		return nil, ErrInvalid
	case p.Key.ExpiresAt != nil && !now.Before(*p.Key.ExpiresAt):
		return nil, ErrInvalid
	case p.Client != nil && p.Client.Status != tryon.ClientActive:
		return nil, tryon.ErrSuspended
	}
	return p, nil
}

func (c *Cache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Cache) get(d [32]byte, now time.Time) (*tryon.Principal, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[d]
	if !ok || !now.Before(e.until) {
		return nil, false
	}
	return e.principal, true
}

func (c *Cache) put(d [32]byte, p *tryon.Principal, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxEntries {
		c.entries = make(map[[32]byte]cacheEntry)
	}
	c.entries[d] = cacheEntry{principal: p, until: now.Add(c.TTL)}
}
