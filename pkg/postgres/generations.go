package postgres

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/tryonhq/tryon/pkg/tryon"
)

const generationColumns = `g.id, g.client_id, g.key_id, g.status, g.mode, g.service, g.provider, g.model,
	g.prompt, g.width, g.height, coalesce(g.duration_seconds, 0), g.metadata, g.idempotency_key,
	g.price_micros, g.cost_micros, g.output_url, g.output_content_type, g.output_width,
	g.output_height, g.output_bytes, g.error_code, g.error_message, g.retry_after_ms,
	coalesce(g.operation, ''), g.latency_ms, g.created_at, g.deadline, g.completed_at`

func scanGeneration(row pgx.Row) (*tryon.Generation, error) {
	var g tryon.Generation
	var outURL, outType, errCode, errMsg *string
	var outW, outH *int
	var outBytes, retryMS *int64
	err := row.Scan(&g.ID, &g.ClientID, &g.KeyID, &g.Status, &g.Mode, &g.Service, &g.Provider, &g.Model,
		&g.Prompt, &g.Width, &g.Height, &g.DurationSecs, &g.Metadata, &g.IdempotencyKey,
		&g.PriceMicros, &g.CostMicros, &outURL, &outType, &outW,
		&outH, &outBytes, &errCode, &errMsg, &retryMS,
		&g.Operation, &g.LatencyMS, &g.CreatedAt, &g.Deadline, &g.CompletedAt)
	if err != nil {
		return nil, err
	}
	if outURL != nil {
		g.Output = &tryon.Output{URL: *outURL, ContentType: deref(outType), Width: deref(outW),
			Height: deref(outH), Bytes: deref(outBytes)}
	}
	if errCode != nil {
		g.Error = &tryon.GenerationError{Code: tryon.Code(*errCode), Message: deref(errMsg)}
	}
	if retryMS != nil {
		g.RetryAfter = time.Duration(*retryMS) * time.Millisecond
	}
	if g.Metadata == nil {
		g.Metadata = map[string]string{}
	}
	return &g, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// Admission is a generation asking to be admitted.
type Admission struct {
	ID             uuid.UUID
	KeyID          uuid.UUID
	ClientID       uuid.UUID
	Mode           tryon.Mode
	Service        tryon.Service
	Provider       string
	Model          string
	Prompt         string
	Width, Height  int
	DurationSecs   int
	Metadata       map[string]string
	IdempotencyKey *string
	RequestHash    []byte
	// DefaultPrice applies when the tenant has no price of its own.
	DefaultPrice tryon.Micros
	// Lifetime is how long the generation may stay processing before anyone
	// reading it fails it: the request's hard time limit, or a long job's.
	Lifetime time.Duration
	// Precounted means PrecheckAdmission already counted this request
	// against the rate limit.
	Precounted bool
	// Token is the client token asking, if any: admission then also checks
	// its end user's rate limit and its caps (tryon_admit_token).
	Token *tryon.ClientToken
}

// Outcome is what admission decided.
type Outcome string

// Admission outcomes (see tryon_admit in schema.sql).
const (
	Admitted            Outcome = "admitted"
	RateLimited         Outcome = "rate_limited"
	Suspended           Outcome = "suspended"
	ConcurrencyLimited  Outcome = "concurrency_limited"
	InsufficientCredits Outcome = "insufficient_credits"
	Replay              Outcome = "replay"
	IdempotencyMismatch Outcome = "idempotency_mismatch"
)

// AdmitResult is the outcome of an admission with what the response needs.
type AdmitResult struct {
	Outcome Outcome
	Rate    tryon.RateState
	// GenerationID is the new generation, or the first one for a replay.
	GenerationID uuid.UUID
	PriceMicros  tryon.Micros
	// BalanceMicros is nil for a postpaid tenant.
	BalanceMicros  *tryon.Micros
	ReservedMicros tryon.Micros
	RetryAfter     time.Duration
}

// CreditsRemaining is the prepaid balance not reserved by generations in flight.
func (r *AdmitResult) CreditsRemaining() *tryon.Micros {
	if r.BalanceMicros == nil {
		return nil
	}
	left := *r.BalanceMicros - r.ReservedMicros
	return &left
}

// Admit runs tryon_admit: rate limit, idempotency claim, concurrency limit,
// balance check and insert, in one round trip and one transaction.
func (s *Store) Admit(ctx context.Context, a Admission) (*AdmitResult, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var r AdmitResult
	var outcome string
	var genID *uuid.UUID
	var price, balance, reserved, retryMS *int64
	var limited *bool
	var remaining, limit *int
	var reset *time.Time
	meta := a.Metadata
	if meta == nil {
		meta = map[string]string{}
	}
	var duration *int
	if a.DurationSecs > 0 {
		duration = &a.DurationSecs
	}
	query := `
		SELECT outcome, rate_limited, rate_remaining, rate_limit, rate_reset, generation_id, price_micros,
		       balance_micros, reserved_micros, retry_after_ms
		FROM tryon_admit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`
	args := []any{a.KeyID, a.ClientID, a.ID, a.Mode, a.Service, a.Provider, a.Model, a.Prompt, a.Width, a.Height,
		duration, meta, a.IdempotencyKey, a.RequestHash, int64(a.DefaultPrice), a.Lifetime.Milliseconds(), !a.Precounted}
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
	r.Outcome = Outcome(outcome)
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

// Completion is how a generation ended, as its finisher saw it.
type Completion struct {
	Succeeded  bool
	Output     *tryon.Output
	Error      *tryon.GenerationError
	RetryAfter time.Duration
}

// FinishResult is a finalised generation.
type FinishResult struct {
	Generation *tryon.Generation
	// Finished is true when this call finalised it, false when someone else
	// already had (then Generation is their result).
	Finished bool
	// DeliveryID is the webhook delivery queued by this call, if any.
	DeliveryID *uuid.UUID
	// CreditsRemaining is the unreserved prepaid balance afterwards; nil for postpaid.
	CreditsRemaining *tryon.Micros
}

// FinishGeneration runs tryon_finish (settle or release, rollups, webhook
// queueing) and reads the final row back, in one round trip.
func (s *Store) FinishGeneration(ctx context.Context, id uuid.UUID, c Completion, webhookLease time.Duration) (*FinishResult, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var url, ctype, code, msg *string
	var w, h *int
	var size, retry *int64
	if o := c.Output; o != nil {
		url, ctype, w, h, size = &o.URL, &o.ContentType, &o.Width, &o.Height, &o.Bytes
	}
	if e := c.Error; e != nil {
		codeStr := string(e.Code)
		code, msg = &codeStr, &e.Message
	}
	if c.RetryAfter > 0 {
		ms := c.RetryAfter.Milliseconds()
		retry = &ms
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT finished, delivery_id, credits_remaining FROM tryon_finish($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		id, c.Succeeded, url, ctype, w, h, size, code, msg, retry, webhookLease.Milliseconds())
	b.Queue(`SELECT `+generationColumns+` FROM generations g WHERE g.id = $1`, id)
	res := s.pool.SendBatch(ctx, b)
	defer res.Close()
	var r FinishResult
	var credits *int64
	if err := res.QueryRow().Scan(&r.Finished, &r.DeliveryID, &credits); err != nil {
		return nil, translate(err, "finish generation")
	}
	g, err := scanGeneration(res.QueryRow())
	if err != nil {
		return nil, translate(err, "finish generation")
	}
	r.Generation = g
	if credits != nil {
		m := tryon.Micros(*credits)
		r.CreditsRemaining = &m
	}
	return &r, nil
}

// FindGeneration returns a generation by id, without limits or expiry: for
// the admission path, which has already been counted.
func (s *Store) FindGeneration(ctx context.Context, id uuid.UUID) (*tryon.Generation, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	g, err := scanGeneration(s.pool.QueryRow(ctx, `SELECT `+generationColumns+` FROM generations g WHERE g.id = $1`, id))
	if err != nil {
		return nil, translate(err, "find generation")
	}
	return g, nil
}

// Read is the result of a read on an authenticated route.
type Read[T any] struct {
	Value T
	Rate  tryon.RateState
	// Expired lists the webhook deliveries queued because the read failed
	// generations past their deadline; the reader sends them.
	Expired []uuid.UUID
	// Claimed is true when the read took the poll lease of a processing
	// long-running generation: the reader must poll it.
	Claimed bool
}

// ReadGeneration counts the request against the key's rate limit, fails the
// generation if it is past its deadline, takes its poll lease when it is a
// long-running job due for a poll (pollLease > 0), and returns it: all in one
// round trip. clientID scopes the read to a tenant; uuid.Nil (admin) reads any.
func (s *Store) ReadGeneration(ctx context.Context, p *tryon.Principal, id uuid.UUID, pollLease, webhookLease time.Duration) (*Read[*tryon.Generation], error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var scope *uuid.UUID
	if p.Client != nil {
		scope = &p.Client.ID
	}
	b := &pgx.Batch{}
	queueRate(b, p)
	b.Queue(`SELECT delivery_id FROM tryon_expire($1, $2, 1, $3)`, id, scope, webhookLease.Milliseconds())
	b.Queue(`UPDATE generations SET poll_lease_until = now() + $3 * interval '1 millisecond'
		WHERE id = $1 AND ($2::uuid IS NULL OR client_id = $2) AND $3 > 0 AND status = 'processing'
		  AND operation IS NOT NULL AND deadline > now()
		  AND (poll_lease_until IS NULL OR poll_lease_until <= now())`, id, scope, pollLease.Milliseconds())
	b.Queue(`SELECT `+generationColumns+` FROM generations g WHERE g.id = $1 AND ($2::uuid IS NULL OR g.client_id = $2)`, id, scope)
	res := s.pool.SendBatch(ctx, b)
	defer res.Close()
	r := &Read[*tryon.Generation]{Rate: tryon.RateState{Limit: p.RequestsPerMinute()}}
	if err := scanRate(res.QueryRow(), &r.Rate); err != nil {
		return nil, err
	}
	if err := scanDeliveries(res, &r.Expired); err != nil {
		return nil, err
	}
	tag, err := res.Exec()
	if err != nil {
		return nil, translate(err, "read generation")
	}
	r.Claimed = tag.RowsAffected() == 1
	g, err := scanGeneration(res.QueryRow())
	if err != nil {
		err = translate(err, "read generation")
		if err == tryon.ErrNotFound {
			return r, err
		}
		return nil, err
	}
	r.Value = g
	return r, nil
}

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

// Credits returns a tenant's unreserved prepaid balance, nil for postpaid.
func (s *Store) Credits(ctx context.Context, clientID uuid.UUID) (*tryon.Micros, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var credits *int64
	err := s.pool.QueryRow(ctx, `
SELECT tryon_credits_remaining($1)`, clientID).Scan(&credits)
	if err != nil || credits == nil {
		return nil, translate(err, "credits")
	}
	m := tryon.Micros(*credits)
	return &m, nil
}

// ListFilter selects generations for GET /generations.
type ListFilter struct {
	Status  tryon.Status
	Service tryon.Service
	Mode    tryon.Mode
	Limit   int
	Cursor  *Cursor
}

// Cursor is a position in a newest-first listing.
type Cursor struct {
	CreatedAt time.Time
	ID        uuid.UUID
}

// Encode makes the cursor opaque to clients.
func (c Cursor) Encode() string {
	raw := c.CreatedAt.UTC().Format(time.RFC3339Nano) + "|" + c.ID.String()
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// DecodeCursor parses a cursor made by Encode.
func DecodeCursor(s string) (*Cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("malformed cursor")
	}
	ts, idStr, ok := strings.Cut(string(raw), "|")
	if !ok {
		return nil, fmt.Errorf("malformed cursor")
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return nil, fmt.Errorf("malformed cursor")
	}
	id, err := uuid.Parse(idStr)
	if err != nil {
		return nil, fmt.Errorf("malformed cursor")
	}
	return &Cursor{CreatedAt: t, ID: id}, nil
}

// Page is one page of generations, newest first.
type Page struct {
	Items []*tryon.Generation
	Next  *Cursor
}

// ListGenerations counts the request against the rate limit, fails the
// tenant's generations past their deadline, and returns a page, in one round
// trip.
func (s *Store) ListGenerations(ctx context.Context, p *tryon.Principal, f ListFilter, webhookLease time.Duration) (*Read[Page], error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var cursorAt *time.Time
	var cursorID *uuid.UUID
	if f.Cursor != nil {
		cursorAt, cursorID = &f.Cursor.CreatedAt, &f.Cursor.ID
	}
	clientID := p.ClientID()
	b := &pgx.Batch{}
	queueRate(b, p)
	b.Queue(`SELECT delivery_id FROM tryon_expire(NULL, $1, 100, $2)`, clientID, webhookLease.Milliseconds())
	b.Queue(`SELECT `+generationColumns+` FROM generations g
		WHERE g.client_id = $1
		  AND ($2::timestamptz IS NULL OR (g.created_at, g.id) < ($2, $3))
		  AND ($4 = '' OR g.status = $4) AND ($5 = '' OR g.service = $5) AND ($6 = '' OR g.mode = $6)
		ORDER BY g.created_at DESC, g.id DESC
		LIMIT $7`, clientID, cursorAt, cursorID, string(f.Status), string(f.Service), string(f.Mode), f.Limit+1)
	res := s.pool.SendBatch(ctx, b)
	defer res.Close()
	r := &Read[Page]{Rate: tryon.RateState{Limit: p.RequestsPerMinute()}}
	if err := scanRate(res.QueryRow(), &r.Rate); err != nil {
		return nil, err
	}
	if err := scanDeliveries(res, &r.Expired); err != nil {
		return nil, err
	}
	rows, err := res.Query()
	if err != nil {
		return nil, translate(err, "list generations")
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*tryon.Generation, error) { return scanGeneration(row) })
	if err != nil {
		return nil, translate(err, "list generations")
	}
	if len(items) > f.Limit {
		items = items[:f.Limit]
		last := items[len(items)-1]
		r.Value.Next = &Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	r.Value.Items = items
	return r, nil
}

// SetOperation stores a long-running provider operation on a processing
// generation and moves its deadline to the long job's.
func (s *Store) SetOperation(ctx context.Context, id uuid.UUID, operation string, lifetime time.Duration) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `
		UPDATE generations SET operation = $2, deadline = created_at + $3 * interval '1 millisecond'
		WHERE id = $1 AND status = 'processing'`, id, operation, lifetime.Milliseconds())
	return translate(err, "set operation")
}

// HoldPoll sets when a processing generation may next be polled: it keeps
// the lease taken by a read, or, after a poll that found the job still
// running, spaces the next one out so readers don't hammer the provider.
func (s *Store) HoldPoll(ctx context.Context, id uuid.UUID, until time.Duration) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `
		UPDATE generations SET poll_lease_until = now() + $2 * interval '1 millisecond'
		WHERE id = $1 AND status = 'processing'`, id, until.Milliseconds())
	return translate(err, "hold poll")
}

// ClaimDue takes the poll lease of up to limit long-running generations that
// are due for a poll, oldest first, for the cron sweep.
func (s *Store) ClaimDue(ctx context.Context, limit int, lease time.Duration) ([]*tryon.Generation, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `
		UPDATE generations g SET poll_lease_until = now() + $2 * interval '1 millisecond'
		WHERE g.id IN (
			SELECT id FROM generations
			WHERE status = 'processing' AND operation IS NOT NULL AND deadline > now()
			  AND (poll_lease_until IS NULL OR poll_lease_until <= now())
			ORDER BY created_at
			LIMIT $1
			FOR UPDATE SKIP LOCKED)
		RETURNING `+generationColumns, limit, lease.Milliseconds())
	if err != nil {
		return nil, translate(err, "claim due generations")
	}
	gens, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*tryon.Generation, error) { return scanGeneration(row) })
	return gens, translate(err, "claim due generations")
}

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

// Precheck is what is known about a request before its inputs are fetched.
type Precheck struct {
	Rate tryon.RateState
	// PriorID is the generation an unexpired Idempotency-Key already names,
	// and SameRequest whether it was made by the same request.
	PriorID     *uuid.UUID
	SameRequest bool
}

// PrecheckAdmission counts the request against the rate limit and looks up
// its Idempotency-Key, in one round trip. Requests whose input images must be
// fetched run it first, so that a rate-limited request or a replay costs no
// fetch; Admit must then be told not to count the request again.
func (s *Store) PrecheckAdmission(ctx context.Context, caller *tryon.Principal, idemKey *string, hash []byte) (*Precheck, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	b := &pgx.Batch{}
	queueRate(b, caller)
	b.Queue(`SELECT generation_id, request_hash = $3 FROM idempotency_keys
		WHERE client_id = $1 AND mode = $4 AND key = $2 AND created_at >= now() - interval '24 hours'`,
		caller.ClientID(), idemKey, hash, caller.Key.Kind.Mode())
	res := s.pool.SendBatch(ctx, b)
	defer res.Close()
	p := Precheck{Rate: tryon.RateState{Limit: caller.RequestsPerMinute()}}
	if err := scanRate(res.QueryRow(), &p.Rate); err != nil {
		return nil, err
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
