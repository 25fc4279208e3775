package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/pgtest"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// inFlight makes a tenant with one live generation admitted and in flight.
func inFlight(t *testing.T, s *postgres.Store, balance *tryon.Micros) (*tryon.Client, tryon.Admission) {
	t.Helper()
	c, k := tenant(t, s, balance)
	a := admission(c, k)
	if r, err := s.Admit(context.Background(), a); err != nil || r.Outcome != tryon.Admitted {
		t.Fatalf("admit: %+v %v", r, err)
	}
	return c, a
}

// TestPrepaidSwitchRefusesUnsettledReservations: a postpaid tenant's live
// generation in flight reserves its price; switching to a zero prepaid
// balance then would leave it unable to settle.
func TestPrepaidSwitchRefusesUnsettledReservations(t *testing.T) {
	s := pgtest.NewStore(t)
	ctx := context.Background()
	c, a := inFlight(t, s, nil)
	prepaid := postgres.ClientChange{Reason: "switch", MakePrepaid: true}
	_, err := s.ChangeClient(ctx, c.ID, prepaid)
	var te *tryon.Error
	if !errors.As(err, &te) || te.Code != tryon.CodeInvalidRequest {
		t.Fatalf("switch with a generation in flight: %v, want invalid_request", err)
	}
	out := &tryon.Output{URL: "/assets/x", ContentType: "image/png", Width: 1, Height: 1, Bytes: 1}
	f, err := s.FinishGeneration(ctx, a.ID, tryon.Completion{Succeeded: true, Outputs: []tryon.Output{*out}}, time.Minute)
	if err != nil || f.Generation.CostMicros != 40_000 {
		t.Fatalf("the in-flight generation did not settle as postpaid: %+v %v", f, err)
	}
	got, err := s.ChangeClient(ctx, c.ID, prepaid)
	if err != nil || got.BalanceMicros == nil || *got.BalanceMicros != 0 {
		t.Fatalf("switch once nothing is in flight: %+v %v", got, err)
	}
}

// TestSettlementConstraintViolationIsInternal: a balance that cannot cover
// its reservation (set behind the store's back) fails settlement as an
// internal error, never as the client's invalid request.
func TestSettlementConstraintViolationIsInternal(t *testing.T) {
	s := pgtest.NewStore(t)
	ctx := context.Background()
	balance := tryon.Micros(100_000)
	c, a := inFlight(t, s, &balance)
	if _, err := s.Pool().Exec(ctx, `UPDATE clients SET balance_micros = 0 WHERE id = $1`, c.ID); err != nil {
		t.Fatal(err)
	}
	out := &tryon.Output{URL: "/assets/x", ContentType: "image/png", Width: 1, Height: 1, Bytes: 1}
	_, err := s.FinishGeneration(ctx, a.ID, tryon.Completion{Succeeded: true, Outputs: []tryon.Output{*out}}, time.Minute)
	var te *tryon.Error
	if err == nil || errors.As(err, &te) {
		t.Fatalf("settling beyond the balance: %v, want an internal error", err)
	}
}

// TestChargesAreFoldedIntoTheBalance: a prepaid success leaves its charge
// unsettled (the tenant's row untouched) yet the balance shown is exact at
// once; charges stay in their shards through admissions, however many, in
// no more than 16 rows; a change of the balance (here a switch to postpaid
// and back to prepaid) folds them and leaves no charge of the old balance
// behind.
func TestChargesAreFoldedIntoTheBalance(t *testing.T) {
	s := pgtest.NewStore(t)
	ctx := context.Background()
	balance := tryon.Micros(100_000)
	c, a := inFlight(t, s, &balance)
	out := &tryon.Output{URL: "/assets/x", ContentType: "image/png", Width: 1, Height: 1, Bytes: 1}
	f, err := s.FinishGeneration(ctx, a.ID, tryon.Completion{Succeeded: true, Outputs: []tryon.Output{*out}}, time.Minute)
	if err != nil || f.CreditsRemaining == nil || *f.CreditsRemaining != 60_000 {
		t.Fatalf("finish: %+v %v, want 60000 credits remaining", f, err)
	}
	raw := func() (stored, unsettled int64, rows int) {
		t.Helper()
		if err := s.Pool().QueryRow(ctx, `SELECT balance_micros,
				(SELECT coalesce(sum(amount_micros), 0) FROM unsettled_shards WHERE client_id = $1),
				(SELECT count(*) FROM unsettled_shards WHERE client_id = $1)
			FROM clients WHERE id = $1`, c.ID).Scan(&stored, &unsettled, &rows); err != nil {
			t.Fatal(err)
		}
		return stored, unsettled, rows
	}
	if stored, unsettled, rows := raw(); stored != 100_000 || unsettled != 40_000 || rows != 1 {
		t.Fatalf("after the finish: balance_micros %d with %d unsettled in %d shards, want 100000 with 40000 in 1", stored, unsettled, rows)
	}
	shown := func(want tryon.Micros) {
		t.Helper()
		got, err := s.FindClient(ctx, c.ID)
		if err != nil || got.BalanceMicros == nil || *got.BalanceMicros != want {
			t.Fatalf("balance shown: %+v %v, want %d", got, err, want)
		}
	}
	shown(60_000)
	k, err := s.ListKeys(ctx, c.ID)
	if err != nil || len(k) != 1 {
		t.Fatalf("keys: %v %v", k, err)
	}
	second := admission(c, &k[0])
	if r, err := s.Admit(ctx, second); err != nil || r.Outcome != tryon.Admitted || r.CreditsRemaining() == nil || *r.CreditsRemaining() != 20_000 {
		t.Fatalf("second admission: %+v %v, want admitted with 20000 left", r, err)
	}
	if stored, unsettled, _ := raw(); stored != 100_000 || unsettled != 40_000 {
		t.Fatalf("after the next admission: balance_micros %d with %d unsettled, want 100000 with 40000", stored, unsettled)
	}
	if _, err := s.FinishGeneration(ctx, second.ID, tryon.Completion{Succeeded: true, Outputs: []tryon.Output{*out}}, time.Minute); err != nil {
		t.Fatal(err)
	}
	shown(20_000)
	if _, err := s.ChangeClient(ctx, c.ID, postgres.ClientChange{Reason: "postpaid", MakePostpaid: true}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ChangeClient(ctx, c.ID, postgres.ClientChange{Reason: "prepaid", MakePrepaid: true})
	if err != nil || got.BalanceMicros == nil || *got.BalanceMicros != 0 {
		t.Fatalf("back to prepaid: %+v %v, want a balance of 0", got, err)
	}
	if stored, unsettled, _ := raw(); stored != 0 || unsettled != 0 {
		t.Fatalf("back to prepaid: balance_micros %d with %d unsettled, want 0 with 0", stored, unsettled)
	}
}

// TestChargesOfAnOlderDeploymentCount: while the schema is upgraded, a
// deployment of the code before unsettled_shards still writes one
// unsettled_charges row per charge. Those charges are in the balance shown
// at once, and a credit folds them into the row with the shards'.
func TestChargesOfAnOlderDeploymentCount(t *testing.T) {
	s := pgtest.NewStore(t)
	ctx := context.Background()
	balance := tryon.Micros(100_000)
	c, a := inFlight(t, s, &balance)
	out := &tryon.Output{URL: "/assets/x", ContentType: "image/png", Width: 1, Height: 1, Bytes: 1}
	if _, err := s.FinishGeneration(ctx, a.ID, tryon.Completion{Succeeded: true, Outputs: []tryon.Output{*out}}, time.Minute); err != nil {
		t.Fatal(err)
	}
	// The older code's charge, for a generation of its own.
	if _, err := s.Pool().Exec(ctx, `
		INSERT INTO generations (id, client_id, key_id, status, mode, service, provider, model, prompt, width, height, price_micros, cost_micros, deadline, completed_at)
		SELECT gen_random_uuid(), client_id, key_id, 'succeeded', mode, service, provider, model, prompt, width, height, 7000, 7000, deadline, now()
		FROM generations WHERE id = $1`, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `
		INSERT INTO unsettled_charges (generation_id, client_id, amount_micros)
		SELECT id, client_id, 7000 FROM generations WHERE client_id = $1 AND id <> $2`, c.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindClient(ctx, c.ID)
	if err != nil || got.BalanceMicros == nil || *got.BalanceMicros != 53_000 {
		t.Fatalf("balance shown: %+v %v, want 53000 (100000 less 40000 and the older code's 7000)", got, err)
	}
	got, err = s.ChangeClient(ctx, c.ID, postgres.ClientChange{Reason: "credit", CreditMicros: 1_000})
	if err != nil || got.BalanceMicros == nil || *got.BalanceMicros != 54_000 {
		t.Fatalf("after a credit: %+v %v, want 54000", got, err)
	}
	var stored, shards int64
	var legacy int
	if err := s.Pool().QueryRow(ctx, `SELECT balance_micros,
			(SELECT coalesce(sum(amount_micros), 0) FROM unsettled_shards WHERE client_id = $1),
			(SELECT count(*) FROM unsettled_charges WHERE client_id = $1)
		FROM clients WHERE id = $1`, c.ID).Scan(&stored, &shards, &legacy); err != nil {
		t.Fatal(err)
	}
	if stored != 54_000 || shards != 0 || legacy != 0 {
		t.Fatalf("after the fold: balance_micros %d, %d in shards, %d older charges; want 54000, 0, 0", stored, shards, legacy)
	}
}
