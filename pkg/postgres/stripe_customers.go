package postgres

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// LinkStripeCustomer bills a tenant's usage from now on to a Stripe
// customer (replacing an earlier link). Usage charged before stays with the
// customer it was queued for.
func (s *Store) LinkStripeCustomer(ctx context.Context, clientID uuid.UUID, customerID string) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `
		INSERT INTO stripe_customers (client_id, customer_id) VALUES ($1, $2)
		ON CONFLICT (client_id) DO UPDATE SET customer_id = excluded.customer_id, updated_at = now()`, clientID, customerID)
	return translate(err, "link stripe customer")
}

// UnlinkStripeCustomer stops sending a tenant's usage to Stripe.
func (s *Store) UnlinkStripeCustomer(ctx context.Context, clientID uuid.UUID) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `DELETE FROM stripe_customers WHERE client_id = $1`, clientID)
	return translate(err, "unlink stripe customer")
}

// StripeCustomer returns the tenant's Stripe customer, or "" when unlinked.
func (s *Store) StripeCustomer(ctx context.Context, clientID uuid.UUID) (string, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var id string
	err := s.pool.QueryRow(ctx, `SELECT customer_id FROM stripe_customers WHERE client_id = $1`, clientID).Scan(&id)
	if err == pgx.ErrNoRows {
		return "", nil
	}
	return id, translate(err, "stripe customer")
}

// StripeMeterState is where a tenant's meter events stand.
type StripeMeterState struct {
	CustomerID string // "" when unlinked
	Pending    int64
	Failed     int64
	Sent       int64
	// LastError is the most recent failure's message, if any event is unsent.
	LastError string
}

// StripeMeterStateOf reads a tenant's meter events' state, for operators.
func (s *Store) StripeMeterStateOf(ctx context.Context, clientID uuid.UUID) (*StripeMeterState, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var st StripeMeterState
	err := s.pool.QueryRow(ctx, `
		SELECT coalesce((SELECT customer_id FROM stripe_customers WHERE client_id = $1), ''),
		       count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'failed'),
		       count(*) FILTER (WHERE status = 'sent'),
		       coalesce((SELECT last_error FROM stripe_meter_events
		                 WHERE client_id = $1 AND status <> 'sent' AND last_error IS NOT NULL
		                 ORDER BY next_attempt_at DESC LIMIT 1), '')
		FROM stripe_meter_events WHERE client_id = $1`, clientID).
		Scan(&st.CustomerID, &st.Pending, &st.Failed, &st.Sent, &st.LastError)
	if err != nil {
		return nil, translate(err, "stripe meter state")
	}
	return &st, nil
}

// RetryFailedMeterEvents puts a tenant's failed meter events back in the
// queue (after the operator fixed what failed them), addressed to the
// tenant's current Stripe customer, since a wrong link is the usual cause;
// it returns how many.
func (s *Store) RetryFailedMeterEvents(ctx context.Context, clientID uuid.UUID) (int64, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, `
		UPDATE stripe_meter_events e SET status = 'pending', attempts = 0, next_attempt_at = now(),
			customer_id = coalesce((SELECT c.customer_id FROM stripe_customers c WHERE c.client_id = e.client_id), e.customer_id)
		WHERE e.client_id = $1 AND e.status = 'failed'`, clientID)
	return tag.RowsAffected(), translate(err, "retry meter events")
}
