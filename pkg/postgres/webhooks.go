package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// ClaimDeliveries takes up to limit webhook deliveries: the given ids (just
// queued by this request) or, with ids nil, any pending delivery that is due.
// Each one's next attempt moves lease ahead, so that no one else sends it
// meanwhile; RecordDelivery then settles it.
//
// A delivery goes to the tenant's endpoint and secret as they are now, not
// as they were when it was queued: after `webhook set` a pending retry goes
// to the new URL, signed with the new secret. A delivery whose tenant has
// removed its webhook is cancelled here (failed, never sent).
func (s *Store) ClaimDeliveries(ctx context.Context, ids []uuid.UUID, limit int, lease time.Duration) ([]tryon.Delivery, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `
		WITH due AS (
			SELECT d.id, cl.webhook_url AS url, cl.webhook_secret AS secret
			FROM webhook_deliveries d JOIN clients cl ON cl.id = d.client_id
			WHERE d.status = 'pending' AND ($1::uuid[] IS NOT NULL AND d.id = ANY($1) OR $1 IS NULL AND d.next_attempt_at <= now())
			ORDER BY d.next_attempt_at
			LIMIT $2
			FOR UPDATE OF d SKIP LOCKED
		), cancelled AS (
			UPDATE webhook_deliveries d SET status = 'failed', last_error = $4
			FROM due WHERE d.id = due.id AND (due.url IS NULL OR due.secret IS NULL)
		), claimed AS (
			UPDATE webhook_deliveries d SET next_attempt_at = now() + $3 * interval '1 millisecond', url = due.url
			FROM due WHERE d.id = due.id AND due.url IS NOT NULL AND due.secret IS NOT NULL
			RETURNING d.id, d.event, d.url, due.secret, d.attempts, d.generation_id
		)
		SELECT c.id, c.event, c.url, c.secret, c.attempts, `+generationColumns+`
		FROM claimed c JOIN generations g ON g.id = c.generation_id`,
		ids, limit, lease.Milliseconds(), DeliveryCancelled)
	if err != nil {
		return nil, translate(err, "claim deliveries")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (tryon.Delivery, error) {
		var d tryon.Delivery
		var head [5]any
		head[0], head[1], head[2], head[3], head[4] = &d.ID, &d.Event, &d.URL, &d.Secret, &d.Attempts
		g, err := scanGeneration(prefixedRow{row, head[:]})
		d.Generation = g
		return d, err
	})
	return out, translate(err, "claim deliveries")
}

// DeliveryCancelled is the last error of a delivery cancelled because its
// tenant removed the webhook.
const DeliveryCancelled = "cancelled: the webhook was removed"

// prefixedRow scans leading columns into head, then the rest into the
// destinations its caller gives, so a generation scanner can be reused for a
// row that starts with other columns.
type prefixedRow struct {
	row  pgx.Row
	head []any
}

func (p prefixedRow) Scan(dest ...any) error { return p.row.Scan(append(p.head, dest...)...) }

// RecordDelivery settles one attempt: delivered, retried at retryAt, or
// (retryAt zero) failed for good.
func (s *Store) RecordDelivery(ctx context.Context, id uuid.UUID, delivered bool, status int, errMsg string, retryAt time.Time) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var statusCode *int
	if status != 0 {
		statusCode = &status
	}
	var next *time.Time
	if !retryAt.IsZero() {
		next = &retryAt
	}
	_, err := s.pool.Exec(ctx, `
		UPDATE webhook_deliveries SET
			attempts = attempts + 1,
			status = CASE WHEN $2 THEN 'delivered' WHEN $5::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
			delivered_at = CASE WHEN $2 THEN now() END,
			next_attempt_at = coalesce($5, next_attempt_at),
			last_status = $3, last_error = nullif($4, '')
		WHERE id = $1`, id, delivered, statusCode, errMsg, next)
	return translate(err, "record delivery")
}

// DeliveryState is a delivery's recorded state, for tests and operators.
type DeliveryState struct {
	ID         uuid.UUID
	Event      string
	Status     string
	Attempts   int
	LastStatus *int
	LastError  *string
}

// ListDeliveries returns a generation's webhook deliveries.
func (s *Store) ListDeliveries(ctx context.Context, generationID uuid.UUID) ([]DeliveryState, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT id, event, status, attempts, last_status, last_error
		FROM webhook_deliveries WHERE generation_id = $1 ORDER BY created_at`, generationID)
	if err != nil {
		return nil, translate(err, "list deliveries")
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[DeliveryState])
	return out, translate(err, "list deliveries")
}

// PurgeExpired deletes idempotency keys (of generations and of top-ups)
// older than 24 hours and rate counters of keys and of end users idle for
// an hour (a counter whose time is past is the same as none):
// housekeeping for the cron sweep.
func (s *Store) PurgeExpired(ctx context.Context) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours'`)
	b.Queue(`DELETE FROM topup_checkouts WHERE created_at < now() - interval '24 hours'`)
	b.Queue(`DELETE FROM rate_counters WHERE tat < now() - interval '1 hour'`)
	b.Queue(`DELETE FROM end_user_rate_counters WHERE tat < now() - interval '1 hour'`)
	return translate(s.pool.SendBatch(ctx, b).Close(), "purge")
}
