package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/pgtest"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// TestRateLimitCountsExactlyAndMarksTheKeyUsed: a key of N requests a
// minute gets N and is refused the next, with the remaining count going
// down to 0; its last_used_at is written by its first request and then at
// most once a minute, not by every request.
func TestRateLimitCountsExactlyAndMarksTheKeyUsed(t *testing.T) {
	ctx := context.Background()
	s := pgtest.NewStore(t)
	c, key := tenant(t, s, nil)
	c.RequestsPerMinute = 4
	p := &tryon.Principal{Key: *key, Client: c}
	lastUsed := func() *time.Time {
		t.Helper()
		var at *time.Time
		if err := s.Pool().QueryRow(ctx, `SELECT last_used_at FROM api_keys WHERE id = $1`, key.ID).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	var first *time.Time
	for i, want := range []int{3, 2, 1, 0} {
		r, _, err := s.HitRate(ctx, p)
		if err != nil || r.Limited || r.Remaining != want {
			t.Fatalf("request %d: %+v %v, want allowed with %d remaining", i+1, r, err, want)
		}
		if i == 0 {
			if first = lastUsed(); first == nil {
				t.Fatal("the key's first request did not mark it used")
			}
		} else if at := lastUsed(); at == nil || !at.Equal(*first) {
			t.Fatalf("request %d wrote last_used_at again (%v, first %v)", i+1, at, first)
		}
	}
	r, _, err := s.HitRate(ctx, p)
	if err != nil || !r.Limited || r.RetryAfter <= 0 {
		t.Fatalf("fifth request: %+v %v, want refused with a retry-after", r, err)
	}
	// A minute on, the next allowed request marks the key again.
	if _, err := s.Pool().Exec(ctx, `UPDATE rate_counters SET tat = now(), touched_at = now() - interval '61 seconds' WHERE key_id = $1`, key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `UPDATE api_keys SET last_used_at = now() - interval '1 hour' WHERE id = $1`, key.ID); err != nil {
		t.Fatal(err)
	}
	if r, _, err := s.HitRate(ctx, p); err != nil || r.Limited {
		t.Fatalf("after a minute: %+v %v", r, err)
	}
	if at := lastUsed(); at == nil || time.Since(*at) > time.Minute {
		t.Fatalf("last_used_at %v after a minute's pause, want just now", at)
	}
}

// TestRateLimitHoldsUnderConcurrency: 40 requests at once on a key of 15
// a minute; exactly 15 are allowed, each seeing a different remaining count.
func TestRateLimitHoldsUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	s := pgtest.NewStore(t)
	c, key := tenant(t, s, nil)
	c.RequestsPerMinute = 15
	p := &tryon.Principal{Key: *key, Client: c}
	// The key's row exists, as for any key that made a request before.
	if _, _, err := s.HitRate(ctx, p); err != nil {
		t.Fatal(err)
	}
	type hit struct {
		r   tryon.RateState
		err error
	}
	hits := make(chan hit, 40)
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, _, err := s.HitRate(ctx, p)
			hits <- hit{r, err}
		}()
	}
	wg.Wait()
	close(hits)
	allowed, seen := 0, map[int]bool{}
	for h := range hits {
		if h.err != nil {
			t.Fatal(h.err)
		}
		if !h.r.Limited {
			allowed++
			if seen[h.r.Remaining] {
				t.Errorf("two requests saw %d remaining", h.r.Remaining)
			}
			seen[h.r.Remaining] = true
		}
	}
	if allowed != 14 {
		t.Fatalf("%d of 40 allowed after the first, want 14 (15 a minute)", allowed)
	}
}
