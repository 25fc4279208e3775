package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/tryonhq/tryon/pkg/billing"
)

// CreditTopup applies a paid top-up in one transaction: it records the
// Stripe event (a redelivered event stops here), records the session (a
// second event about one payment stops here), adds the amount to the
// tenant's prepaid balance and writes the ledger entry with its reason.
func (s *Store) CreditTopup(ctx context.Context, t billing.Topup) (string, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var outcome string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO stripe_events (id, type, outcome) VALUES ($1, $2, '') ON CONFLICT (id) DO NOTHING`,
			t.EventID, t.EventType)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			outcome = billing.TopupDuplicateEvent
			return nil
		}
		// The tenant is locked first, as every balance change does, and its
		// unsettled charges are folded in (tryon_settle), so the ledger's
		// balance_after below is the exact balance.
		var prepaid bool
		if err := tx.QueryRow(ctx, `SELECT balance_micros IS NOT NULL FROM clients WHERE id = $1 FOR NO KEY UPDATE`,
			t.ClientID).Scan(&prepaid); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT tryon_settle($1)`, t.ClientID); err != nil {
			return err
		}
		tag, err = tx.Exec(ctx, `
			INSERT INTO stripe_topups (session_id, client_id, amount_micros, event_id) VALUES ($1, $2, $3, $4)
			ON CONFLICT (session_id) DO NOTHING`, t.SessionID, t.ClientID, t.AmountMicros, t.EventID)
		switch {
		case err != nil:
			return err
		case tag.RowsAffected() == 0:
			outcome = billing.TopupAlreadyCredited
		case !prepaid:
			outcome = billing.TopupNotPrepaid
		default:
			outcome = billing.TopupCredited
			if _, err := tx.Exec(ctx, `UPDATE clients SET balance_micros = balance_micros + $2, updated_at = now() WHERE id = $1`,
				t.ClientID, t.AmountMicros); err != nil {
				return err
			}
		}
		details := map[string]any{"source": "stripe_checkout", "stripe_event": t.EventID, "checkout_session": t.SessionID, "outcome": outcome}
		if outcome != billing.TopupAlreadyCredited {
			amount := t.AmountMicros
			if outcome == billing.TopupNotPrepaid {
				amount = 0
			}
			if _, err := tx.Exec(ctx, `
				INSERT INTO client_ledger (client_id, kind, amount_micros, balance_after, details, reason)
				SELECT id, 'credit', $2, balance_micros, $3, $4 FROM clients WHERE id = $1`,
				t.ClientID, amount, details, "top-up paid through Stripe Checkout"); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `UPDATE stripe_events SET outcome = $2 WHERE id = $1`, t.EventID, outcome)
		return err
	})
	if err != nil {
		return "", translate(err, "credit top-up")
	}
	return outcome, nil
}

// RecordStripeEvent records an event that credits nothing; first is false
// when the event was recorded before.
func (s *Store) RecordStripeEvent(ctx context.Context, id, typ, outcome string) (bool, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, `INSERT INTO stripe_events (id, type, outcome) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
		id, typ, outcome)
	if err != nil {
		return false, translate(err, "record stripe event")
	}
	return tag.RowsAffected() == 1, nil
}
