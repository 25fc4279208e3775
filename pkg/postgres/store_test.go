package postgres_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/apikey"
	"github.com/tryonhq/tryon/pkg/pgtest"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// tenant creates a client with a live key for store tests.
func tenant(t *testing.T, s *postgres.Store, balance *tryon.Micros) (*tryon.Client, *tryon.APIKey) {
	t.Helper()
	ctx := context.Background()
	c, err := s.CreateClient(ctx, postgres.NewClient{Name: "shop-" + uuid.NewString()[:8], BalanceMicros: balance})
	if err != nil {
		t.Fatal(err)
	}
	k, err := apikey.New(tryon.KeyLive)
	if err != nil {
		t.Fatal(err)
	}
	key, err := s.CreateKey(ctx, &c.ID, k, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func admission(c *tryon.Client, k *tryon.APIKey) tryon.Admission {
	id, _ := uuid.NewV7()
	return tryon.Admission{
		ID: id, KeyID: k.ID, ClientID: c.ID, Mode: tryon.ModeLive, Service: tryon.ServiceBanana,
		Provider: "fake", Model: "fake-banana", Prompt: "a red dress", Width: 1024, Height: 1024,
		DefaultPrice: 40_000, Lifetime: time.Minute,
	}
}

func TestSchemaAppliesTwice(t *testing.T) {
	s := pgtest.NewStore(t)
	ctx := context.Background()
	conn, err := s.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	path, err := postgres.FindSchema()
	if err != nil {
		t.Fatal(err)
	}
	if err := postgres.ApplySchema(ctx, conn.Conn(), path); err != nil {
		t.Fatalf("second application of the schema: %v", err)
	}
}

// A database whose Idempotency-Key claims predate their mode gets the mode
// and the primary key over it, keeping its claims (as live ones).
func TestSchemaUpgradesIdempotencyKeysWithoutAMode(t *testing.T) {
	s := pgtest.NewStore(t)
	ctx := context.Background()
	c, k := tenant(t, s, nil)
	a := admission(c, k)
	key := "order-1"
	a.IdempotencyKey, a.RequestHash = &key, []byte("hash")
	if _, err := s.Admit(ctx, a); err != nil {
		t.Fatal(err)
	}
	conn, err := s.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey,
		DROP COLUMN mode, ADD PRIMARY KEY (client_id, key)`); err != nil {
		t.Fatal(err)
	}
	path, err := postgres.FindSchema()
	if err != nil {
		t.Fatal(err)
	}
	if err := postgres.ApplySchema(ctx, conn.Conn(), path); err != nil {
		t.Fatal(err)
	}
	var pk string
	var claims int
	if err := conn.QueryRow(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'idempotency_keys_pkey'`).Scan(&pk); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM idempotency_keys WHERE mode = 'live' AND key = $1`, key).Scan(&claims); err != nil {
		t.Fatal(err)
	}
	if pk != "PRIMARY KEY (client_id, mode, key)" || claims != 1 {
		t.Fatalf("primary key %q, %d live claims", pk, claims)
	}
}

// tryon key revoke names exactly one key: by id, by the whole key, or by
// any unambiguous prefix, shorter or longer than the 17 characters listings
// show; an ambiguous one revokes nothing (issue 10, item 10).
func TestRevokeKeyNamesExactlyOneKey(t *testing.T) {
	s := pgtest.NewStore(t)
	ctx := context.Background()
	c, _ := tenant(t, s, nil)
	newKey := func() apikey.Key {
		k, err := apikey.New(tryon.KeyLive)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateKey(ctx, &c.ID, k, "k", nil); err != nil {
			t.Fatal(err)
		}
		return k
	}
	a, b, d := newKey(), newKey(), newKey()
	revoked := func() map[string]bool {
		keys, err := s.ListKeys(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, k := range keys {
			out[k.Prefix] = k.RevokedAt != nil
		}
		return out
	}
	// Every live key starts so: ambiguous, nothing revoked.
	_, err := s.RevokeKey(ctx, "tryon_live_")
	var te *tryon.Error
	if !errors.As(err, &te) || te.Code != tryon.CodeInvalidRequest || !strings.Contains(te.Message, "matches") {
		t.Fatalf("ambiguous prefix: %v", err)
	}
	for p, r := range revoked() {
		if r {
			t.Fatalf("%s revoked by an ambiguous prefix", p)
		}
	}
	for _, tc := range []struct {
		name string
		ref  string
		key  apikey.Key
	}{{"WholeKey", a.Secret, a}, {"LongerPrefix", b.Secret[:25], b}, {"ShorterPrefix", d.Secret[:15], d}} {
		k, err := s.RevokeKey(ctx, tc.ref)
		if err != nil || k.Prefix != tc.key.Prefix() {
			t.Fatalf("%s: %v %+v", tc.name, err, k)
		}
	}
	if _, err := s.RevokeKey(ctx, "tryon_live_zzzzzzzzzzzz"); err != tryon.ErrNotFound {
		t.Fatalf("unknown prefix: %v", err)
	}
	if n := len(revoked()); n != 4 {
		t.Fatalf("%d keys", n)
	}
}

func TestAdmitAndFinishSettlesOnce(t *testing.T) {
	s := pgtest.NewStore(t)
	ctx := context.Background()
	balance := tryon.Micros(100_000)
	c, k := tenant(t, s, &balance)
	a := admission(c, k)
	r, err := s.Admit(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != tryon.Admitted || r.PriceMicros != 40_000 || *r.CreditsRemaining() != 60_000 {
		t.Fatalf("got %+v", r)
	}
	out := &tryon.Output{URL: "/assets/x", ContentType: "image/png", Width: 1024, Height: 1024, Bytes: 10}
	f, err := s.FinishGeneration(ctx, a.ID, tryon.Completion{Succeeded: true, Outputs: []tryon.Output{*out}}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Finished || f.Generation.Status != tryon.StatusSucceeded || f.Generation.CostMicros != 40_000 || *f.CreditsRemaining != 60_000 {
		t.Fatalf("got %+v / %+v", f, f.Generation)
	}
	again, err := s.FinishGeneration(ctx, a.ID, tryon.Completion{Succeeded: true, Outputs: []tryon.Output{*out}}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if again.Finished {
		t.Fatal("a second finish finished again")
	}
	got, err := s.FindClient(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if *got.BalanceMicros != 60_000 || got.ReservedMicros != 0 {
		t.Fatalf("balance %d reserved %d, want 60000 and 0", *got.BalanceMicros, got.ReservedMicros)
	}
}

func TestAdmitRefusals(t *testing.T) {
	ctx := context.Background()
	t.Run("InsufficientCredits", func(t *testing.T) {
		s := pgtest.NewStore(t)
		balance := tryon.Micros(50_000)
		c, k := tenant(t, s, &balance)
		if r, _ := s.Admit(ctx, admission(c, k)); r.Outcome != tryon.Admitted {
			t.Fatalf("first: %s", r.Outcome)
		}
		if r, _ := s.Admit(ctx, admission(c, k)); r.Outcome != tryon.InsufficientCredits {
			t.Fatalf("second: %s, want insufficient_credits", r.Outcome)
		}
	})
	t.Run("ConcurrencyLimited", func(t *testing.T) {
		s := pgtest.NewStore(t)
		c, k := tenant(t, s, nil)
		for i := range 4 {
			if r, _ := s.Admit(ctx, admission(c, k)); r.Outcome != tryon.Admitted {
				t.Fatalf("admission %d: %s", i, r.Outcome)
			}
		}
		r, _ := s.Admit(ctx, admission(c, k))
		if r.Outcome != tryon.ConcurrencyLimited || r.RetryAfter <= 0 {
			t.Fatalf("fifth: %+v, want concurrency_limited with a retry delay", r)
		}
	})
	t.Run("IdempotencyReplayAndMismatch", func(t *testing.T) {
		s := pgtest.NewStore(t)
		c, k := tenant(t, s, nil)
		key := "order-1"
		first := admission(c, k)
		first.IdempotencyKey, first.RequestHash = &key, hash("a")
		if r, _ := s.Admit(ctx, first); r.Outcome != tryon.Admitted {
			t.Fatalf("first: %s", r.Outcome)
		}
		same := admission(c, k)
		same.IdempotencyKey, same.RequestHash = &key, hash("a")
		r, _ := s.Admit(ctx, same)
		if r.Outcome != tryon.Replay || r.GenerationID != first.ID {
			t.Fatalf("replay: %+v", r)
		}
		other := admission(c, k)
		other.IdempotencyKey, other.RequestHash = &key, hash("b")
		if r, _ := s.Admit(ctx, other); r.Outcome != tryon.IdempotencyMismatch {
			t.Fatalf("mismatch: %s", r.Outcome)
		}
	})
	t.Run("Suspended", func(t *testing.T) {
		s := pgtest.NewStore(t)
		c, k := tenant(t, s, nil)
		if _, err := s.ChangeClient(ctx, c.ID, postgres.ClientChange{Status: tryon.ClientSuspended, Reason: "test"}); err != nil {
			t.Fatal(err)
		}
		if r, _ := s.Admit(ctx, admission(c, k)); r.Outcome != tryon.Suspended {
			t.Fatalf("got %s, want suspended", r.Outcome)
		}
	})
}

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}
