package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/tryonhq/tryon/pkg/billing"
)

// ClaimMeterEvents takes up to limit due meter events from the outbox
// (schema.sql, stripe_meter_events) and leases them: their next attempt
// moves lease ahead, so a concurrent drain skips them, and a drain that dies
// holding them gives them back when the lease ends.
func (s *Store) ClaimMeterEvents(ctx context.Context, limit int, lease time.Duration) ([]billing.MeterEvent, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `
		WITH due AS (
			SELECT generation_id FROM stripe_meter_events
			WHERE status = 'pending' AND next_attempt_at <= now()
			ORDER BY next_attempt_at
			LIMIT $1
			FOR UPDATE SKIP LOCKED
		)
		UPDATE stripe_meter_events e SET next_attempt_at = now() + $2 * interval '1 millisecond'
		FROM due WHERE e.generation_id = due.generation_id
		RETURNING e.generation_id, e.client_id, e.customer_id, e.value_micros, e.occurred_at, e.attempts`,
		limit, lease.Milliseconds())
	if err != nil {
		return nil, translate(err, "claim meter events")
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[billing.MeterEvent])
	return out, translate(err, "claim meter events")
}

// MarkMeterEventSent records that Stripe accepted an event.
func (s *Store) MarkMeterEventSent(ctx context.Context, generationID uuid.UUID) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `
		UPDATE stripe_meter_events SET status = 'sent', attempts = attempts + 1, sent_at = now(), last_error = NULL
		WHERE generation_id = $1`, generationID)
	return translate(err, "mark meter event sent")
}

// RetryMeterEvent records a failed send: pending again at retryAt, or
// failed for good when retryAt is zero.
func (s *Store) RetryMeterEvent(ctx context.Context, generationID uuid.UUID, errMsg string, retryAt time.Time) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var next *time.Time
	if !retryAt.IsZero() {
		next = &retryAt
	}
	_, err := s.pool.Exec(ctx, `
		UPDATE stripe_meter_events SET attempts = attempts + 1, last_error = $2,
			status = CASE WHEN $3::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
			next_attempt_at = coalesce($3, next_attempt_at)
		WHERE generation_id = $1 AND status = 'pending'`, generationID, errMsg, next)
	return translate(err, "retry meter event")
}

// MeterOutbox counts the unsent meter events of every tenant.
func (s *Store) MeterOutbox(ctx context.Context) (*billing.MeterOutbox, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var t billing.MeterOutbox
	err := s.pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'failed'),
		       coalesce(extract(epoch FROM now() - min(occurred_at) FILTER (WHERE status = 'pending'))::bigint, 0)
		FROM stripe_meter_events WHERE status <> 'sent'`).Scan(&t.Pending, &t.Failed, &t.OldestPendingSeconds)
	return &t, translate(err, "meter outbox")
}
