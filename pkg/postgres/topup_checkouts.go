package postgres

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/tryonhq/tryon/pkg/billing"
)

// FindTopupCheckout returns the Checkout session a tenant created under an
// Idempotency-Key in the last 24 hours, or nil.
func (s *Store) FindTopupCheckout(ctx context.Context, clientID uuid.UUID, key string) (*billing.SavedCheckout, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	c := billing.SavedCheckout{}
	err := s.pool.QueryRow(ctx, `SELECT request_hash, session_id, url, amount_micros FROM topup_checkouts
		WHERE client_id = $1 AND idempotency_key = $2 AND created_at >= now() - interval '24 hours'`, clientID, key).
		Scan(&c.RequestHash, &c.SessionID, &c.URL, &c.AmountMicros)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, translate(err, "find top-up checkout")
	}
	return &c, nil
}

// SaveTopupCheckout records the session created under an Idempotency-Key
// and returns the one on record: c, or the session of a concurrent request
// with the same key that recorded its own first. A record older than 24
// hours is replaced.
func (s *Store) SaveTopupCheckout(ctx context.Context, clientID uuid.UUID, key string, c billing.SavedCheckout) (*billing.SavedCheckout, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var got billing.SavedCheckout
	err := s.pool.QueryRow(ctx, `
		WITH saved AS (
			INSERT INTO topup_checkouts AS t (client_id, idempotency_key, request_hash, session_id, url, amount_micros)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (client_id, idempotency_key) DO UPDATE
				SET request_hash = excluded.request_hash, session_id = excluded.session_id, url = excluded.url,
				    amount_micros = excluded.amount_micros, created_at = now()
				WHERE t.created_at < now() - interval '24 hours'
			RETURNING request_hash, session_id, url, amount_micros)
		SELECT * FROM saved
		UNION ALL
		SELECT request_hash, session_id, url, amount_micros FROM topup_checkouts
		WHERE client_id = $1 AND idempotency_key = $2 AND NOT EXISTS (SELECT 1 FROM saved)`,
		clientID, key, c.RequestHash, c.SessionID, c.URL, c.AmountMicros).
		Scan(&got.RequestHash, &got.SessionID, &got.URL, &got.AmountMicros)
	if errors.Is(err, pgx.ErrNoRows) {
		// The other request's row was not yet visible to this statement's
		// snapshot; its commit is what made the insert conflict.
		return s.FindTopupCheckout(ctx, clientID, key)
	}
	if err != nil {
		return nil, translate(err, "save top-up checkout")
	}
	return &got, nil
}
