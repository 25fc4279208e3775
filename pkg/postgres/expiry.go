package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ExpireAll fails up to limit generations past their deadline, for the cron
// sweep, and returns the webhook deliveries it queued.
func (s *Store) ExpireAll(ctx context.Context, limit int, webhookLease time.Duration) (expired int, deliveries []uuid.UUID, err error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT id, delivery_id FROM tryon_expire(NULL, NULL, $1, $2)`, limit, webhookLease.Milliseconds())
	if err != nil {
		return 0, nil, translate(err, "expire generations")
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		var d *uuid.UUID
		if err := rows.Scan(&id, &d); err != nil {
			return 0, nil, translate(err, "expire generations")
		}
		expired++
		if d != nil {
			deliveries = append(deliveries, *d)
		}
	}
	return expired, deliveries, translate(rows.Err(), "expire generations")
}

func scanDeliveries(res pgx.BatchResults, out *[]uuid.UUID) error {
	rows, err := res.Query()
	if err != nil {
		return translate(err, "expire generations")
	}
	ids, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*uuid.UUID, error) {
		var id *uuid.UUID
		return id, r.Scan(&id)
	})
	if err != nil {
		return translate(err, "expire generations")
	}
	for _, id := range ids {
		if id != nil {
			*out = append(*out, *id)
		}
	}
	return nil
}
