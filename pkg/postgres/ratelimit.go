package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// rateColumns are tryon_hit_rate's results, in scanRate's order.
const rateColumns = `limited, remaining, reset_at, coalesce(retry_after_ms, 0)`

// queueRate counts the request against the caller's rate limit as the
// first statement of a batch, so the limit costs no round trip of its own.
func queueRate(b *pgx.Batch, p *tryon.Principal) {
	b.Queue(`SELECT `+rateColumns+` FROM tryon_hit_rate($1, $2)`, p.Key.ID, p.RequestsPerMinute())
}

func scanRate(row pgx.Row, rate *tryon.RateState) error {
	var retryMS int64
	if err := row.Scan(&rate.Limited, &rate.Remaining, &rate.Reset, &retryMS); err != nil {
		return translate(err, "rate limit")
	}
	rate.RetryAfter = time.Duration(retryMS) * time.Millisecond
	return nil
}

// HitRate counts one request against a key's rate limit, for authenticated
// requests that end without any other database work (a bad body, say), and
// returns the key's tenant's unreserved prepaid balance (nil for postpaid
// tenants and admin keys) so that such answers can carry it too.
func (s *Store) HitRate(ctx context.Context, p *tryon.Principal) (tryon.RateState, *tryon.Micros, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	r := tryon.RateState{Limit: p.RequestsPerMinute()}
	var credits *int64
	var retryMS int64
	err := s.pool.QueryRow(ctx, `
		SELECT `+rateColumns+`, tryon_credits_remaining($3)
		FROM tryon_hit_rate($1, $2)`, p.Key.ID, p.RequestsPerMinute(), p.ClientID()).Scan(&r.Limited, &r.Remaining, &r.Reset, &retryMS, &credits)
	if err != nil {
		return r, nil, translate(err, "rate limit")
	}
	r.RetryAfter = time.Duration(retryMS) * time.Millisecond
	if credits == nil {
		return r, nil, nil
	}
	m := tryon.Micros(*credits)
	return r, &m, nil
}
