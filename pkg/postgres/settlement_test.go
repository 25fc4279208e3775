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
	f, err := s.FinishGeneration(ctx, a.ID, tryon.Completion{Succeeded: true, Output: out}, time.Minute)
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
	_, err := s.FinishGeneration(ctx, a.ID, tryon.Completion{Succeeded: true, Output: out}, time.Minute)
	var te *tryon.Error
	if err == nil || errors.As(err, &te) {
		t.Fatalf("settling beyond the balance: %v, want an internal error", err)
	}
}
