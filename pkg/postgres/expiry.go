package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// expireCall is tryon_expire (expiry.sql) with expireArgs' arguments: it
// fails processing generations past their deadline, releasing their
// reservations, as timed out.
const expireCall = `tryon_expire($1, $2, $3, $4, $5, $6)`

// expireArgs are the arguments of expireCall: one tenant's (client), or
// everyone's (nil), at most limit of them. A single generation is expired
// through refreshCall.
func expireArgs(client any, limit int, webhookLease time.Duration) []any {
	t := tryon.TimedOut()
	return []any{nil, client, limit, webhookLease.Milliseconds(), string(t.Code), t.Message}
}

// refreshCall is tryon_refresh (generation_rows.sql) with refreshArgs'
// arguments: it fails one generation of a tenant (client; nil for any) as
// timed out if it is past its deadline, and takes its poll lease when it is
// a long job due for a poll and pollLease > 0. It returns expired (the
// webhook deliveries queued) and claimed (the poll lease).
const refreshCall = `tryon_refresh($1, $2, $3, $4, $5, $6)`

func refreshArgs(id uuid.UUID, client any, pollLease, webhookLease time.Duration) []any {
	t := tryon.TimedOut()
	return []any{id, client, pollLease.Milliseconds(), webhookLease.Milliseconds(), string(t.Code), t.Message}
}

// ExpireAll fails up to limit generations past their deadline, for the cron
// sweep, and returns the webhook deliveries it queued.
func (s *Store) ExpireAll(ctx context.Context, limit int, webhookLease time.Duration) (expired int, deliveries []uuid.UUID, err error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT id, delivery_id FROM `+expireCall, expireArgs(nil, limit, webhookLease)...)
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
