package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// CancelGeneration counts the request against the key's rate limit, fails
// the generation first if it is past its deadline (the deadline wins: it
// then answers as finished), and runs tryon_cancel, then reads the row back:
// all in one round trip. A client token cancels only its end user's
// generations; anyone else's, or an unknown id, is tryon.ErrNotFound.
func (s *Store) CancelGeneration(ctx context.Context, p *tryon.Principal, id uuid.UUID, webhookLease time.Duration) (*tryon.Read[*tryon.Cancellation], error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	clientID := p.ClientID()
	var endUser *string
	if p.Token != nil {
		endUser = &p.Token.EndUser
	}
	b := &pgx.Batch{}
	queueRate(b, p)
	b.Queue(`SELECT expired FROM `+refreshCall, refreshArgs(id, clientID, 0, webhookLease)...)
	b.Queue(`SELECT outcome, delivery_id FROM tryon_cancel($1, $2, $3, $4)`, id, clientID, endUser, webhookLease.Milliseconds())
	b.Queue(generationRow, id, clientID)
	res := s.pool.SendBatch(ctx, b)
	defer res.Close()
	r := &tryon.Read[*tryon.Cancellation]{Rate: tryon.RateState{Limit: p.RequestsPerMinute()}}
	if err := scanRate(res.QueryRow(), &r.Rate); err != nil {
		return nil, err
	}
	if err := r.Rate.Verdict(); err != nil {
		return r, err
	}
	if err := res.QueryRow().Scan(&r.Expired); err != nil {
		return nil, translate(err, "cancel generation")
	}
	var outcome *string
	c := &tryon.Cancellation{}
	if err := res.QueryRow().Scan(&outcome, &c.DeliveryID); err != nil {
		return nil, translate(err, "cancel generation")
	}
	if outcome == nil {
		return r, tryon.ErrNotFound
	}
	c.Outcome = tryon.CancelOutcome(*outcome)
	g, err := scanGeneration(res.QueryRow())
	if err != nil {
		return nil, translate(err, "cancel generation")
	}
	c.Generation = g
	r.Value = c
	return r, nil
}
