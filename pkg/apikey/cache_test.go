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
