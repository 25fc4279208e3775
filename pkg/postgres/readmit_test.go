package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/pgtest"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// loseAdmission deletes what a database crash loses of an admission that
// committed asynchronously: its generation row and its idempotency claim.
func loseAdmission(t *testing.T, s *postgres.Store, id uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Pool().Exec(ctx, `DELETE FROM idempotency_keys WHERE generation_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	tag, err := s.Pool().Exec(ctx, `DELETE FROM generations WHERE id = $1`, id)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("lose admission: %v %v", tag, err)
	}
}

// TestFinishReadmitsALostAdmission: finishing a generation whose admission
// was lost records it again (same id, price, Idempotency-Key) and finishes
// it, charged once; without the admission it is not found, and a second
// finish is a no-op.
func TestFinishReadmitsALostAdmission(t *testing.T) {
	s := pgtest.NewStore(t)
	ctx := context.Background()
	balance := tryon.Micros(100_000)
	c, k := tenant(t, s, &balance)
	a := admission(c, k)
	idem := "lost-" + uuid.NewString()
	a.IdempotencyKey, a.RequestHash = &idem, hash("lost")
	if r, err := s.Admit(ctx, a); err != nil || r.Outcome != tryon.Admitted {
		t.Fatalf("admit: %+v %v", r, err)
	}
	loseAdmission(t, s, a.ID)
	out := &tryon.Output{URL: "/assets/x", ContentType: "image/png", Width: 1024, Height: 1024, Bytes: 10}
	if _, err := s.FinishGeneration(ctx, a.ID, tryon.Completion{Succeeded: true, Outputs: []tryon.Output{*out}}, time.Minute); !errors.Is(err, tryon.ErrNotFound) {
		t.Fatalf("finish without the admission: %v, want not found", err)
	}
	f, err := s.FinishGeneration(ctx, a.ID, tryon.Completion{Succeeded: true, Outputs: []tryon.Output{*out}, Readmit: &a}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	g := f.Generation
	if !f.Readmitted || !f.Finished || g.Status != tryon.StatusSucceeded || g.CostMicros != 40_000 || *f.CreditsRemaining != 60_000 {
		t.Fatalf("got %+v / %+v", f, g)
	}
	if g.IdempotencyKey == nil || *g.IdempotencyKey != idem || g.Prompt != a.Prompt || g.KeyID != k.ID {
		t.Fatalf("readmitted as %+v", g)
	}
	again, err := s.FinishGeneration(ctx, a.ID, tryon.Completion{Succeeded: true, Outputs: []tryon.Output{*out}, Readmit: &a}, time.Minute)
	if err != nil || again.Finished || again.Readmitted {
		t.Fatalf("second finish: %+v %v", again, err)
	}
	// The claim is back: a retry with the key replays this generation.
	retry := admission(c, k)
	retry.IdempotencyKey, retry.RequestHash = &idem, hash("lost")
	if r, err := s.Admit(ctx, retry); err != nil || r.Outcome != tryon.Replay || r.GenerationID != a.ID {
		t.Fatalf("retry: %+v %v", r, err)
	}
	got, err := s.FindClient(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if *got.BalanceMicros != 60_000 || got.ReservedMicros != 0 {
		t.Fatalf("balance %d reserved %d, want 60000 and 0", *got.BalanceMicros, got.ReservedMicros)
	}
	var usage int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM usage_records WHERE generation_id = $1`, a.ID).Scan(&usage); err != nil || usage != 1 {
		t.Fatalf("%d usage records, want 1 (%v)", usage, err)
	}
}

// TestReadmitLeavesATakenClaimToTheRetry: when a retry took the lost
// admission's Idempotency-Key meanwhile, the retry keeps it and is what the
// tenant pays for; the readmitted generation goes without the key, free.
func TestReadmitLeavesATakenClaimToTheRetry(t *testing.T) {
	s := pgtest.NewStore(t)
	ctx := context.Background()
	balance := tryon.Micros(100_000)
	c, k := tenant(t, s, &balance)
	a := admission(c, k)
	idem := "taken-" + uuid.NewString()
	a.IdempotencyKey, a.RequestHash = &idem, hash("taken")
	if r, err := s.Admit(ctx, a); err != nil || r.Outcome != tryon.Admitted {
		t.Fatalf("admit: %+v %v", r, err)
	}
	loseAdmission(t, s, a.ID)
	retry := admission(c, k)
	retry.IdempotencyKey, retry.RequestHash = &idem, hash("taken")
	if r, err := s.Admit(ctx, retry); err != nil || r.Outcome != tryon.Admitted {
		t.Fatalf("retry after the loss: %+v %v", r, err)
	}
	out := &tryon.Output{URL: "/assets/x", ContentType: "image/png", Width: 1024, Height: 1024, Bytes: 10}
	f, err := s.FinishGeneration(ctx, a.ID, tryon.Completion{Succeeded: true, Outputs: []tryon.Output{*out}, Readmit: &a}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Readmitted || f.Generation.Status != tryon.StatusSucceeded || f.Generation.IdempotencyKey != nil ||
		f.Generation.CostMicros != 0 || *f.CreditsRemaining != 60_000 {
		t.Fatalf("got %+v / %+v", f, f.Generation)
	}
	if r, err := s.Admit(ctx, retry); err != nil || r.Outcome != tryon.Replay || r.GenerationID != retry.ID {
		t.Fatalf("the key no longer names the retry: %+v %v", r, err)
	}
	if _, err := s.FinishGeneration(ctx, retry.ID, tryon.Completion{Succeeded: true, Outputs: []tryon.Output{*out}}, time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindClient(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if *got.BalanceMicros != 60_000 || got.ReservedMicros != 0 {
		t.Fatalf("balance %d reserved %d, want 60000 (one charge) and 0", *got.BalanceMicros, got.ReservedMicros)
	}
}

// TestReadmitNeverOverdraws: when admissions after the loss took the
// balance the lost one had reserved, the readmitted generation is charged
// only what the balance still covers.
func TestReadmitNeverOverdraws(t *testing.T) {
	s := pgtest.NewStore(t)
	ctx := context.Background()
	balance := tryon.Micros(60_000)
	c, k := tenant(t, s, &balance)
	a := admission(c, k)
	if r, err := s.Admit(ctx, a); err != nil || r.Outcome != tryon.Admitted {
		t.Fatalf("admit: %+v %v", r, err)
	}
	loseAdmission(t, s, a.ID)
	other := admission(c, k)
	if r, err := s.Admit(ctx, other); err != nil || r.Outcome != tryon.Admitted {
		t.Fatalf("admission after the loss: %+v %v", r, err)
	}
	out := &tryon.Output{URL: "/assets/x", ContentType: "image/png", Width: 1024, Height: 1024, Bytes: 10}
	f, err := s.FinishGeneration(ctx, a.ID, tryon.Completion{Succeeded: true, Outputs: []tryon.Output{*out}, Readmit: &a}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Readmitted || f.Generation.CostMicros != 20_000 || *f.CreditsRemaining != 0 {
		t.Fatalf("got %+v / %+v", f, f.Generation)
	}
	if _, err := s.FinishGeneration(ctx, other.ID, tryon.Completion{Succeeded: true, Outputs: []tryon.Output{*out}}, time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindClient(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if *got.BalanceMicros != 0 || got.ReservedMicros != 0 {
		t.Fatalf("balance %d reserved %d, want 0 and 0", *got.BalanceMicros, got.ReservedMicros)
	}
}

// TestSetOperationReadmitsALostAdmission: storing a long job's operation,
// the synchronous commit before its 202, records a lost admission again, so
// the id the 202 hands out names a durable generation.
func TestSetOperationReadmitsALostAdmission(t *testing.T) {
	s := pgtest.NewStore(t)
	ctx := context.Background()
	c, k := tenant(t, s, nil)
	a := admission(c, k)
	if r, err := s.Admit(ctx, a); err != nil || r.Outcome != tryon.Admitted {
		t.Fatalf("admit: %+v %v", r, err)
	}
	loseAdmission(t, s, a.ID)
	if err := s.SetOperation(ctx, a.ID, "operations/1", time.Hour, &a); err != nil {
		t.Fatal(err)
	}
	g, err := s.FindGeneration(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if g.Status != tryon.StatusProcessing || g.Operation != "operations/1" || g.PriceMicros != 40_000 {
		t.Fatalf("got %+v", g)
	}
	if left := time.Until(g.Deadline); left < 50*time.Minute {
		t.Fatalf("deadline in %v, want the long job's hour", left)
	}
}
