package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/pgtest"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// A read of a generation counts against its key's rate limit in the same
// implicit transaction as its reads; counting locks the key's
// rate_counters row until that transaction ends, so it must come last:
// otherwise one key's reads (a client polling, a shop's page views) run
// one at a time. The test stops a read in the middle (a lock on the
// generation's row, which the poll lease waits for) and checks that
// meanwhile the key's rate row is free.
func TestGenerationReadDoesNotLockTheRateRowWhileReading(t *testing.T) {
	ctx := context.Background()
	s := pgtest.NewStore(t)
	c, key := tenant(t, s, nil)
	a := admission(c, key)
	if _, err := s.Admit(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.SetOperation(ctx, a.ID, "operations/video-1", time.Hour, nil); err != nil {
		t.Fatal(err)
	}
	p := &tryon.Principal{Key: *key, Client: c}
	// A first read makes the key's rate row.
	if _, err := s.ReadGeneration(ctx, p, a.ID, 0, time.Minute); err != nil {
		t.Fatal(err)
	}

	block, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer block.Rollback(ctx)
	if _, err := block.Exec(ctx, `SELECT FROM generations WHERE id = $1 FOR UPDATE`, a.ID); err != nil {
		t.Fatal(err)
	}
	type read struct {
		r   *tryon.Read[*tryon.Generation]
		err error
	}
	done := make(chan read, 1)
	go func() {
		r, err := s.ReadGeneration(ctx, p, a.ID, time.Minute, time.Minute)
		done <- read{r, err}
	}()
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		var waiting bool
		if err := s.Pool().QueryRow(waitCtx, `SELECT EXISTS (SELECT FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query LIKE '%tryon_refresh%' AND pid <> pg_backend_pid())`).Scan(&waiting); err != nil {
			t.Fatalf("waiting for the read to block: %v", err)
		}
		if waiting {
			break
		}
		select {
		case got := <-done:
			t.Fatalf("the read finished despite the lock: %v", got.err)
		case <-time.After(5 * time.Millisecond):
		}
	}

	probe, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, lockErr := probe.Exec(ctx, `SELECT FROM rate_counters WHERE key_id = $1 FOR UPDATE NOWAIT`, key.ID)
	_ = probe.Rollback(ctx)
	if err := block.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	got := <-done
	if got.err != nil || !got.r.Claimed || got.r.Value == nil {
		t.Fatalf("read: %+v %v, want the generation with its poll lease", got.r, got.err)
	}
	if lockErr != nil {
		t.Fatalf("the key's rate row is locked while the read is still reading: %v", lockErr)
	}
}

// A read refused by the rate limit does not poll, so it must not keep the
// poll lease its batch took: the next reader polls at once.
func TestRefusedReadGivesBackThePollLease(t *testing.T) {
	ctx := context.Background()
	s := pgtest.NewStore(t)
	c, key := tenant(t, s, nil)
	a := admission(c, key)
	if _, err := s.Admit(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.SetOperation(ctx, a.ID, "operations/video-2", time.Hour, nil); err != nil {
		t.Fatal(err)
	}
	limited := *c
	limited.RequestsPerMinute = 2 // the admission and the first read
	p := &tryon.Principal{Key: *key, Client: &limited}
	if _, err := s.ReadGeneration(ctx, p, a.ID, 0, time.Minute); err != nil {
		t.Fatal(err)
	}
	r, err := s.ReadGeneration(ctx, p, a.ID, time.Minute, time.Minute)
	var te *tryon.Error
	if !errors.As(err, &te) || te.Code != tryon.CodeRateLimited || r == nil || r.Claimed {
		t.Fatalf("second read: %+v %v, want rate_limited without a claim", r, err)
	}
	var leased bool
	if err := s.Pool().QueryRow(ctx, `SELECT poll_lease_until > now() FROM generations WHERE id = $1`, a.ID).Scan(&leased); err != nil {
		t.Fatal(err)
	}
	if leased {
		t.Fatal("a refused read kept the poll lease: the next reader must wait for it to run out")
	}
}
