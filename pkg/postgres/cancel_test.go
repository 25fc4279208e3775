package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/pgtest"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// TestCancelGeneration walks tryon_cancel through each of its outcomes and
// checks the money at each step: a cancel releases the reservation and
// charges nothing, a finish after it changes nothing, and a finished
// generation stays as it was.
func TestCancelGeneration(t *testing.T) {
	s := pgtest.NewStore(t)
	ctx := context.Background()
	balance := tryon.Micros(100_000)
	c, key := tenant(t, s, &balance)
	a := admission(c, key)
	if r, err := s.Admit(ctx, a); err != nil || r.Outcome != tryon.Admitted {
		t.Fatalf("admit: %+v %v", r, err)
	}
	p := &tryon.Principal{Key: *key, Client: c}
	credits := func() tryon.Micros {
		t.Helper()
		m, err := s.Credits(ctx, c.ID)
		if err != nil || m == nil {
			t.Fatalf("credits: %v %v", m, err)
		}
		return *m
	}
	if got := credits(); got != 60_000 {
		t.Fatalf("in flight: %d credits, want 60000", got)
	}

	r, err := s.CancelGeneration(ctx, p, a.ID, time.Minute)
	if err != nil || r.Value.Outcome != tryon.CancelCanceled {
		t.Fatalf("cancel: %+v %v", r, err)
	}
	g := r.Value.Generation
	if g.Status != tryon.StatusCanceled || g.CostMicros != 0 || g.CompletedAt == nil || g.Error != nil || g.Output != nil {
		t.Fatalf("canceled generation %+v", g)
	}
	if r.Value.DeliveryID != nil {
		t.Fatalf("a delivery was queued for a tenant without a webhook")
	}
	if got := credits(); got != 100_000 {
		t.Fatalf("after cancel: %d credits, want the whole 100000", got)
	}

	out := &tryon.Output{URL: "/assets/late", ContentType: "image/png", Width: 1, Height: 1, Bytes: 1}
	f, err := s.FinishGeneration(ctx, a.ID, tryon.Completion{Succeeded: true, Outputs: []tryon.Output{*out}}, time.Minute)
	if err != nil || f.Finished || f.Generation.Status != tryon.StatusCanceled || f.Generation.CostMicros != 0 || f.DeliveryID != nil {
		t.Fatalf("a finish after the cancel: %+v %v", f, err)
	}
	var usage int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM usage_records WHERE client_id = $1`, c.ID).Scan(&usage); err != nil || usage != 0 {
		t.Fatalf("%d usage records (%v), want none", usage, err)
	}

	again, err := s.CancelGeneration(ctx, p, a.ID, time.Minute)
	if err != nil || again.Value.Outcome != tryon.CancelAlreadyCanceled || !again.Value.Generation.CompletedAt.Equal(*g.CompletedAt) {
		t.Fatalf("second cancel: %+v %v", again, err)
	}

	done := admission(c, key)
	if r, err := s.Admit(ctx, done); err != nil || r.Outcome != tryon.Admitted {
		t.Fatalf("admit: %+v %v", r, err)
	}
	if _, err := s.FinishGeneration(ctx, done.ID, tryon.Completion{Succeeded: true, Outputs: []tryon.Output{*out}}, time.Minute); err != nil {
		t.Fatal(err)
	}
	fin, err := s.CancelGeneration(ctx, p, done.ID, time.Minute)
	if err != nil || fin.Value.Outcome != tryon.CancelFinished || fin.Value.Generation.Status != tryon.StatusSucceeded ||
		fin.Value.Generation.CostMicros != 40_000 {
		t.Fatalf("cancel of a success: %+v %v", fin, err)
	}

	other, otherKey := tenant(t, s, nil)
	stranger := &tryon.Principal{Key: *otherKey, Client: other}
	if _, err := s.CancelGeneration(ctx, stranger, done.ID, time.Minute); err != tryon.ErrNotFound {
		t.Fatalf("another tenant's cancel: %v, want not found", err)
	}
}

// TestCancelSchemaUpgrade: a database whose status check predates
// canceled is widened by applying the schema, and the check is validated.
func TestCancelSchemaUpgrade(t *testing.T) {
	s := pgtest.NewStore(t)
	ctx := context.Background()
	if _, err := s.Pool().Exec(ctx, `ALTER TABLE generations DROP CONSTRAINT generations_status_check,
		ADD CONSTRAINT generations_status_check CHECK (status IN ('processing', 'succeeded', 'failed'))`); err != nil {
		t.Fatal(err)
	}
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
		t.Fatal(err)
	}
	var def string
	var valid bool
	if err := s.Pool().QueryRow(ctx, `SELECT pg_get_constraintdef(oid), convalidated FROM pg_constraint
		WHERE conrelid = 'generations'::regclass AND conname = 'generations_status_check'`).Scan(&def, &valid); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(def, "'canceled'") || !valid {
		t.Fatalf("status check %q (validated %v), want canceled allowed and validated", def, valid)
	}
}

// TestCancelPastTheDeadlineExpiresFirst: a generation still processing past
// its deadline has timed out whether or not anyone noticed; a cancel finds
// it failed as timed out (not canceled, nothing charged), and the
// generation.failed delivery that expiry queues comes back with the answer.
func TestCancelPastTheDeadlineExpiresFirst(t *testing.T) {
	s := pgtest.NewStore(t)
	ctx := context.Background()
	c, key := tenant(t, s, nil)
	if _, err := s.ChangeClient(ctx, c.ID, postgres.ClientChange{Reason: "test",
		Webhook: &postgres.Webhook{URL: "https://shop.example/hooks", Secret: "whsec_test"}}); err != nil {
		t.Fatal(err)
	}
	a := admission(c, key)
	if r, err := s.Admit(ctx, a); err != nil || r.Outcome != tryon.Admitted {
		t.Fatalf("admit: %+v %v", r, err)
	}
	if _, err := s.Pool().Exec(ctx, `UPDATE generations SET deadline = now() - interval '1 second' WHERE id = $1`, a.ID); err != nil {
		t.Fatal(err)
	}
	r, err := s.CancelGeneration(ctx, &tryon.Principal{Key: *key, Client: c}, a.ID, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	g := r.Value.Generation
	if r.Value.Outcome != tryon.CancelFinished || g.Status != tryon.StatusFailed || g.Error == nil ||
		g.Error.Code != tryon.CodeGenerationTimeout || g.CostMicros != 0 {
		t.Fatalf("cancel past the deadline: %+v, generation %+v", r.Value, g)
	}
	if len(r.Expired) != 1 {
		t.Fatalf("expired deliveries %v, want the one generation.failed", r.Expired)
	}
}
