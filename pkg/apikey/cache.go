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
// costs one lookup each per TTL, not one per request; they are kept apart
// from known keys and bounded on their own, so such a flood never evicts a
// tenant's key. Concurrent requests with the same uncached key share one
// lookup.
type Cache struct {
	TTL    time.Duration
	Lookup LookupFunc
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxKnown and MaxUnknown bound the entries of each kind (0: 10,000);
	// a full kind starts over, which only costs lookups.
	MaxKnown, MaxUnknown int

	mu       sync.Mutex
	known    map[[32]byte]cacheEntry
	unknown  map[[32]byte]cacheEntry
	inflight map[[32]byte]*lookupCall
}

type cacheEntry struct {
	principal *tryon.Principal // nil: no such key
	until     time.Time
}

// lookupCall is one lookup in progress, which requests for the same key
// wait for instead of making their own.
type lookupCall struct {
	done      chan struct{}
	principal *tryon.Principal
	err       error
}

// defaultMaxEntries bounds each kind of entry when the Cache does not say.
const defaultMaxEntries = 10_000

// Authenticate checks a presented key and returns who it belongs to.
func (c *Cache) Authenticate(ctx context.Context, presented string) (*tryon.Principal, error) {
	if presented == "" {
		return nil, ErrMissing
	}
	key, err := Parse(presented)
	if err != nil {
		return nil, ErrInvalid
	}
	now := c.now()
	p, err := c.principal(ctx, key.Digest(), now)
	if err != nil {
		return nil, err
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

// principal returns the cached principal of a digest (nil for an unknown
// key), looking it up when it is not cached: once, however many requests
// ask for it at the same time.
func (c *Cache) principal(ctx context.Context, d [32]byte, now time.Time) (*tryon.Principal, error) {
	c.mu.Lock()
	for _, m := range []map[[32]byte]cacheEntry{c.known, c.unknown} {
		if e, ok := m[d]; ok && now.Before(e.until) {
			c.mu.Unlock()
			return e.principal, nil
		}
	}
	if call, ok := c.inflight[d]; ok {
		c.mu.Unlock()
		select {
		case <-call.done:
			return call.principal, call.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if c.inflight == nil {
		c.inflight = make(map[[32]byte]*lookupCall)
	}
	call := &lookupCall{done: make(chan struct{})}
	c.inflight[d] = call
	c.mu.Unlock()

	p, err := c.Lookup(ctx, d)
	if errors.Is(err, tryon.ErrNotFound) {
		p, err = nil, nil
	}
	c.mu.Lock()
	delete(c.inflight, d)
	if err == nil {
		c.put(d, p, now)
	}
	c.mu.Unlock()
	// A failed lookup (the database is down) is not remembered: the
	// waiters get its error, and the next request tries again.
	call.principal, call.err = p, err
	close(call.done)
	return p, err
}

// put remembers a lookup's answer; c.mu is held.
func (c *Cache) put(d [32]byte, p *tryon.Principal, now time.Time) {
	m, limit := &c.known, c.MaxKnown
	if p == nil {
		m, limit = &c.unknown, c.MaxUnknown
	}
	if limit <= 0 {
		limit = defaultMaxEntries
	}
	if *m == nil || len(*m) >= limit {
		*m = make(map[[32]byte]cacheEntry)
	}
	(*m)[d] = cacheEntry{principal: p, until: now.Add(c.TTL)}
}
