package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// admitColumns are the OUT columns of tryon_admit and tryon_admit_token, in
// the order Admit scans them.
const admitColumns = `outcome, rate_limited, rate_remaining, rate_limit, rate_reset, generation_id, price_micros,
	balance_micros, reserved_micros, retry_after_ms`

// Admit runs tryon_admit: rate limit, idempotency claim, concurrency limit,
// balance check and insert, in one round trip and one transaction, committed
// asynchronously (tryon_admit says why that loses nothing; queueReadmit is
// the other half).
func (s *Store) Admit(ctx context.Context, a tryon.Admission) (*tryon.AdmitResult, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var r tryon.AdmitResult
	var outcome string
	var genID *uuid.UUID
	var price, balance, reserved, retryMS *int64
	var limited *bool
	var remaining, limit *int
	var reset *time.Time
	query := `SELECT ` + admitColumns + `
		FROM tryon_admit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`
	args := append(admissionArgs(&a), !a.Precounted, max(a.NumOutputs, 1))
	if a.Token != nil {
		query, args = tokenAdmitSQL, append(tokenAdmitArgs(a.Token), args...)
	}
	err := s.pool.QueryRow(ctx, query, args...).Scan(&outcome, &limited, &remaining, &limit, &reset, &genID, &price, &balance, &reserved, &retryMS)
	if err != nil {
		return nil, translate(err, "admit generation")
	}
	if err := tokenOutcomeError(outcome, deref(retryMS)); err != nil {
		return nil, err
	}
	r.Outcome = tryon.Outcome(outcome)
	r.Rate = tryon.RateState{Limit: deref(limit), Limited: deref(limited), Remaining: deref(remaining), Reset: deref(reset)}
	r.GenerationID = deref(genID)
	r.PriceMicros = tryon.Micros(deref(price))
	if balance != nil {
		b := tryon.Micros(*balance)
		r.BalanceMicros = &b
	}
	r.ReservedMicros = tryon.Micros(deref(reserved))
	r.RetryAfter = time.Duration(deref(retryMS)) * time.Millisecond
	if r.Rate.Limited {
		r.Rate.RetryAfter = r.RetryAfter
	}
	return &r, nil
}

// PrecheckAdmission counts the request against the rate limit and looks up
// its Idempotency-Key, in one round trip. Requests whose input images must be
// fetched run it first, so that a rate-limited request or a replay costs no
// fetch; Admit must then be told not to count the request again.
func (s *Store) PrecheckAdmission(ctx context.Context, caller *tryon.Principal, idemKey *string, hash []byte) (*tryon.Precheck, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	b := &pgx.Batch{}
	queueRate(b, caller)
	b.Queue(`SELECT generation_id, request_hash = $3 FROM idempotency_keys
		WHERE client_id = $1 AND mode = $4 AND key = $2 AND created_at >= now() - interval '24 hours'`,
		caller.ClientID(), idemKey, hash, caller.Key.Kind.Mode())
	res := s.pool.SendBatch(ctx, b)
	defer res.Close()
	p := tryon.Precheck{Rate: tryon.RateState{Limit: caller.RequestsPerMinute()}}
	if err := scanRate(res.QueryRow(), &p.Rate); err != nil {
		return nil, err
	}
	if err := p.Rate.Verdict(); err != nil {
		return &p, err
	}
	var id uuid.UUID
	switch err := res.QueryRow().Scan(&id, &p.SameRequest); err {
	case nil:
		p.PriorID = &id
	case pgx.ErrNoRows:
	default:
		return nil, translate(err, "precheck admission")
	}
	return &p, nil
}

// admissionArgs are the arguments tryon_admit and tryon_readmit share, in
// their order ($1 to $16).
func admissionArgs(a *tryon.Admission) []any {
	meta := a.Metadata
	if meta == nil {
		meta = map[string]string{}
	}
	var duration *int
	if a.DurationSecs > 0 {
		duration = &a.DurationSecs
	}
	return []any{a.KeyID, a.ClientID, a.ID, a.Mode, a.Service, a.Provider, a.Model, a.Prompt, a.Width, a.Height,
		duration, meta, a.IdempotencyKey, a.RequestHash, int64(a.DefaultPrice), a.Lifetime.Milliseconds()}
}

// queueReadmit queues tryon_readmit, which records a generation again when
// a database crash lost its asynchronously committed admission and does
// nothing otherwise. The caller queues what needs the row after it, in the
// same batch, so one transaction readmits and uses it, synchronously.
func queueReadmit(b *pgx.Batch, a *tryon.Admission) {
	var endUser, tokenID *string
	if a.Token != nil {
		endUser, tokenID = &a.Token.EndUser, &a.Token.ID
	}
	b.Queue(`SELECT readmitted FROM tryon_readmit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`,
		append(admissionArgs(a), admittedAt(a.ID), endUser, tokenID, max(a.NumOutputs, 1))...)
}

// admittedAt is when a generation was admitted: the time in its UUIDv7 id,
// which Create takes just before admission (now for any other id).
func admittedAt(id uuid.UUID) time.Time {
	if id.Version() != 7 {
		return time.Now()
	}
	sec, nsec := id.Time().UnixTime()
	return time.Unix(sec, nsec)
}
