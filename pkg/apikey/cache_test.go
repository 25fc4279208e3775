package apikey_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/apikey"
	"github.com/tryonhq/tryon/pkg/pgtest"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/tryon"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestRevocationTakesEffectWithinTheTTL uses a real store and a clock the
// test moves: a cached key keeps working until its entry expires, and not a
// moment after.
func TestRevocationTakesEffectWithinTheTTL(t *testing.T) {
	ctx := context.Background()
	s := pgtest.NewStore(t)
	c, err := s.CreateClient(ctx, postgres.NewClient{Name: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	k, _ := apikey.New(tryon.KeyLive)
	stored, err := s.CreateKey(ctx, &c.ID, k, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	var lookups atomic.Int32
	cache := &apikey.Cache{TTL: 30 * time.Second, Now: func() time.Time { return now },
		Lookup: func(ctx context.Context, d [32]byte) (*tryon.Principal, error) {
			lookups.Add(1)
			return s.FindPrincipal(ctx, d)
		}}
	p, err := cache.Authenticate(ctx, k.Secret)
	if err != nil || p.Key.ID != stored.ID || p.Client.ID != c.ID {
		t.Fatalf("got %+v, %v", p, err)
	}
	if _, err := s.RevokeKey(ctx, stored.ID.String()); err != nil {
		t.Fatal(err)
	}
	now = now.Add(29 * time.Second)
	if _, err := cache.Authenticate(ctx, k.Secret); err != nil {
		t.Fatalf("within the TTL the cached key should still pass: %v", err)
	}
	if lookups.Load() != 1 {
		t.Fatalf("%d lookups: a warm key went to the database", lookups.Load())
	}
	now = now.Add(time.Second)
	if _, err := cache.Authenticate(ctx, k.Secret); !errors.Is(err, apikey.ErrInvalid) {
		t.Fatalf("after the TTL: %v, want ErrInvalid", err)
	}
	// Unknown keys are cached too, so guessing costs one lookup per TTL.
	other, _ := apikey.New(tryon.KeyLive)
	for range 3 {
		if _, err := cache.Authenticate(ctx, other.Secret); !errors.Is(err, apikey.ErrInvalid) {
			t.Fatal(err)
		}
	}
	if lookups.Load() != 3 {
		t.Fatalf("%d lookups, want 3", lookups.Load())
	}
}

func TestExpiryIsCheckedOnEveryUse(t *testing.T) {
	ctx := context.Background()
	s := pgtest.NewStore(t)
	c, _ := s.CreateClient(ctx, postgres.NewClient{Name: "shop"})
	k, _ := apikey.New(tryon.KeyTest)
	now := time.Now()
	expires := now.Add(10 * time.Second)
	if _, err := s.CreateKey(ctx, &c.ID, k, "", &expires); err != nil {
		t.Fatal(err)
	}
	cache := &apikey.Cache{TTL: time.Minute, Lookup: s.FindPrincipal, Now: func() time.Time { return now }}
	if _, err := cache.Authenticate(ctx, k.Secret); err != nil {
		t.Fatal(err)
	}
	now = expires
	if _, err := cache.Authenticate(ctx, k.Secret); !errors.Is(err, apikey.ErrInvalid) {
		t.Fatalf("an expired key passed from the cache: %v", err)
	}
}

// countingLookup is the real store's lookup, counted.
func countingLookup(s *postgres.Store, n *atomic.Int32) apikey.LookupFunc {
	return func(ctx context.Context, d [32]byte) (*tryon.Principal, error) {
		n.Add(1)
		return s.FindPrincipal(ctx, d)
	}
}

// A flood of well-formed made-up keys (their checksum is public) fills the
// unknown entries only: a tenant's cached key stays cached (issue 10, item 10).
func TestUnknownKeysNeverEvictKnownOnes(t *testing.T) {
	ctx := context.Background()
	s := pgtest.NewStore(t)
	c, err := s.CreateClient(ctx, postgres.NewClient{Name: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	k, _ := apikey.New(tryon.KeyLive)
	if _, err := s.CreateKey(ctx, &c.ID, k, "", nil); err != nil {
		t.Fatal(err)
	}
	var lookups atomic.Int32
	cache := &apikey.Cache{TTL: time.Minute, MaxKnown: 50, MaxUnknown: 50, Lookup: countingLookup(s, &lookups)}
	if _, err := cache.Authenticate(ctx, k.Secret); err != nil {
		t.Fatal(err)
	}
	for range 3 * 50 {
		forged, _ := apikey.New(tryon.KeyLive)
		if _, err := cache.Authenticate(ctx, forged.Secret); !errors.Is(err, apikey.ErrInvalid) {
			t.Fatal(err)
		}
	}
	before := lookups.Load()
	if _, err := cache.Authenticate(ctx, k.Secret); err != nil {
		t.Fatal(err)
	}
	if lookups.Load() != before {
		t.Fatalf("the flood of unknown keys evicted the tenant's key")
	}
}

// Concurrent requests with the same uncached key make one lookup.
func TestConcurrentRequestsShareOneLookup(t *testing.T) {
	ctx := context.Background()
	s := pgtest.NewStore(t)
	c, err := s.CreateClient(ctx, postgres.NewClient{Name: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	k, _ := apikey.New(tryon.KeyLive)
	if _, err := s.CreateKey(ctx, &c.ID, k, "", nil); err != nil {
		t.Fatal(err)
	}
	var lookups atomic.Int32
	cache := &apikey.Cache{TTL: time.Minute, Lookup: countingLookup(s, &lookups)}
	start := make(chan struct{})
	errs := make(chan error, 64)
	for range 64 {
		go func() {
			<-start
			_, err := cache.Authenticate(ctx, k.Secret)
			errs <- err
		}()
	}
	close(start)
	for range 64 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := lookups.Load(); n != 1 {
		t.Fatalf("%d lookups for one key", n)
	}
}
