package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/tryonhq/tryon/pkg/tryon"
)

const generationColumns = `g.id, g.client_id, g.key_id, g.status, g.mode, g.service, g.provider, g.model,
	g.prompt, g.width, g.height, coalesce(g.duration_seconds, 0), g.metadata, g.idempotency_key,
	g.price_micros, g.cost_micros, g.output_url, g.output_content_type, g.output_width,
	g.output_height, g.output_bytes, g.error_code, g.error_message, g.retry_after_ms,
	coalesce(g.operation, ''), g.latency_ms, g.created_at, g.deadline, g.completed_at,
	g.params, g.num_outputs, g.outputs, g.expired_at, g.erased_at,
	CASE WHEN g.status = 'succeeded' AND g.expired_at IS NULL THEN g.completed_at +
		(SELECT c.retention_days FROM clients c WHERE c.id = g.client_id) * interval '1 day' END`

// generationRow reads one generation by id, scoped to a tenant by $2 (NULL
// reads any), with scanGeneration's columns: tryon_generation runs
// generationColumns' query with its plan kept for the session.
const generationRow = `SELECT * FROM tryon_generation($1, $2)`

func scanGeneration(row pgx.Row) (*tryon.Generation, error) {
	var g tryon.Generation
	var outURL, outType, errCode, errMsg *string
	var outW, outH *int
	var outBytes, retryMS *int64
	err := row.Scan(&g.ID, &g.ClientID, &g.KeyID, &g.Status, &g.Mode, &g.Service, &g.Provider, &g.Model,
		&g.Prompt, &g.Width, &g.Height, &g.DurationSecs, &g.Metadata, &g.IdempotencyKey,
		&g.PriceMicros, &g.CostMicros, &outURL, &outType, &outW,
		&outH, &outBytes, &errCode, &errMsg, &retryMS,
		&g.Operation, &g.LatencyMS, &g.CreatedAt, &g.Deadline, &g.CompletedAt,
		&g.Params, &g.NumOutputs, &g.Outputs, &g.ExpiredAt, &g.ErasedAt, &g.ExpiresAt)
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

// FindGeneration returns a generation by id, without limits or expiry: for
// the admission path, which has already been counted.
func (s *Store) FindGeneration(ctx context.Context, id uuid.UUID) (*tryon.Generation, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	g, err := scanGeneration(s.pool.QueryRow(ctx, generationRow, id, nil))
	if err != nil {
		return nil, translate(err, "find generation")
	}
	return g, nil
}

// ReadGeneration counts the request against the key's rate limit, fails the
// generation if it is past its deadline, takes its poll lease when it is a
// long-running job due for a poll (pollLease > 0), and returns it: all in one
// round trip. clientID scopes the read to a tenant; uuid.Nil (admin) reads any.
//
// The rate limit is the batch's last statement (as in ReadMetrics): the
// batch is one implicit transaction, and counting the request locks the
// key's rate_counters row until it commits. First, the lock would be held
// through the reads, so that one key's reads (a client polling, a shop's
// page views) would run one at a time; last, it is held for no more than
// the commit. A refused read therefore still reads; if it took a poll
// lease, the lease is given back, so that the next reader polls.
func (s *Store) ReadGeneration(ctx context.Context, p *tryon.Principal, id uuid.UUID, pollLease, webhookLease time.Duration) (*tryon.Read[*tryon.Generation], error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var scope *uuid.UUID
	if p.Client != nil {
		scope = &p.Client.ID
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT expired, claimed FROM `+refreshCall, refreshArgs(id, scope, pollLease, webhookLease)...)
	b.Queue(generationRow, id, scope)
	queueRate(b, p)
	res := s.pool.SendBatch(ctx, b)
	r := &tryon.Read[*tryon.Generation]{Rate: tryon.RateState{Limit: p.RequestsPerMinute()}}
	g, readErr := func() (*tryon.Generation, error) {
		if err := res.QueryRow().Scan(&r.Expired, &r.Claimed); err != nil {
			return nil, err
		}
		return scanGeneration(res.QueryRow())
	}()
	readErr = translate(readErr, "read generation")
	if readErr != nil && readErr != tryon.ErrNotFound {
		res.Close()
		return nil, readErr
	}
	if err := scanRate(res.QueryRow(), &r.Rate); err != nil {
		res.Close()
		return nil, err
	}
	if err := res.Close(); err != nil {
		return nil, translate(err, "read generation")
	}
	if err := r.Rate.Verdict(); err != nil {
		if r.Claimed {
			// Refused: this request will not poll, so the lease it took
			// must not keep the next reader waiting for it to run out.
			r.Claimed = false
			if herr := s.HoldPoll(ctx, id, 0); herr != nil {
				return nil, herr
			}
		}
		return r, err
	}
	if readErr != nil {
		return r, readErr
	}
	r.Value = g
	return r, nil
}

// ListGenerations counts the request against the rate limit, fails the
// tenant's generations past their deadline, and returns a page, in one round
// trip.
func (s *Store) ListGenerations(ctx context.Context, p *tryon.Principal, f tryon.ListFilter, webhookLease time.Duration) (*tryon.Read[tryon.Page], error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var cursorAt *time.Time
	var cursorID *uuid.UUID
	if f.Cursor != nil {
		cursorAt, cursorID = &f.Cursor.CreatedAt, &f.Cursor.ID
	}
	clientID := p.ClientID()
	b := &pgx.Batch{}
	// Called only when the tenant has a generation processing past its
	// deadline (the partial index answers that), as in ReadGeneration.
	b.Queue(`SELECT delivery_id FROM `+expireCall+`
		WHERE EXISTS (SELECT FROM generations due WHERE due.client_id = $2 AND due.status = 'processing' AND due.deadline <= now())`,
		expireArgs(clientID, 100, webhookLease)...)
	b.Queue(`SELECT `+generationColumns+` FROM generations g
		WHERE g.client_id = $1
		  AND ($2::timestamptz IS NULL OR (g.created_at, g.id) < ($2, $3))
		  AND ($4 = '' OR g.status = $4) AND ($5 = '' OR g.service = $5) AND ($6 = '' OR g.mode = $6)
		ORDER BY g.created_at DESC, g.id DESC
		LIMIT $7`, clientID, cursorAt, cursorID, string(f.Status), string(f.Service), string(f.Mode), f.Limit+1)
	// The rate limit last, as in ReadGeneration: its row stays locked only
	// for the commit, not through the page's read.
	queueRate(b, p)
	res := s.pool.SendBatch(ctx, b)
	defer res.Close()
	r := &tryon.Read[tryon.Page]{Rate: tryon.RateState{Limit: p.RequestsPerMinute()}}
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
	if err := scanRate(res.QueryRow(), &r.Rate); err != nil {
		return nil, err
	}
	if err := r.Rate.Verdict(); err != nil {
		return r, err
	}
	if len(items) > f.Limit {
		items = items[:f.Limit]
		last := items[len(items)-1]
		r.Value.Next = &tryon.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	r.Value.Items = items
	return r, nil
}

// SetOperation stores a long-running provider operation on a processing
// generation and moves its deadline to the long job's. Its synchronous
// commit is what makes the generation's admission durable before the 202
// hands out its id; when readmit is set, a generation whose admission a
// database crash lost is recorded again first, in the same transaction.
func (s *Store) SetOperation(ctx context.Context, id uuid.UUID, operation string, lifetime time.Duration, readmit *tryon.Admission) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	b := &pgx.Batch{}
	if readmit != nil && readmit.ID == id {
		queueReadmit(b, readmit)
	}
	b.Queue(`
		UPDATE generations SET operation = $2, deadline = created_at + $3 * interval '1 millisecond'
		WHERE id = $1 AND status = 'processing'`, id, operation, lifetime.Milliseconds())
	err := s.pool.SendBatch(ctx, b).Close()
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
