package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// ExpireOutputs deletes the outputs of up to limit succeeded generations
// past their tenant's retention (retention.sql, tryon_expire_outputs) and
// says how many it expired. Postgres bytes go at once; Blob URLs are queued
// for DeleteBlobs's caller.
func (s *Store) ExpireOutputs(ctx context.Context, limit int) (int, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var n int
	err := s.pool.QueryRow(ctx, `SELECT tryon_expire_outputs($1)`, limit).Scan(&n)
	return n, translate(err, "expire outputs")
}

// Erasure is what one erase did.
type Erasure struct {
	// Erased are the generations erased now; Processing those left alone
	// because they are still running.
	Erased, Processing []uuid.UUID
	// Deliveries are the generation.deleted webhooks queued, leased to the
	// caller.
	Deliveries []uuid.UUID
}

// Erase erases the tenant's generations among ids (tryon_erase): outputs,
// prompt, metadata and end user; billing records stay. Already erased and
// other tenants' generations are skipped. hookLease > 0 queues a
// generation.deleted webhook for each one erased when the tenant has one.
func (s *Store) Erase(ctx context.Context, clientID uuid.UUID, ids []uuid.UUID, hookLease time.Duration) (*Erasure, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var lease *int64
	if hookLease > 0 {
		ms := hookLease.Milliseconds()
		lease = &ms
	}
	e := &Erasure{}
	err := s.pool.QueryRow(ctx, `SELECT erased, processing, deliveries FROM tryon_erase($1, $2, $3)`,
		clientID, ids, lease).Scan(&e.Erased, &e.Processing, &e.Deliveries)
	if err != nil {
		return nil, translate(err, "erase")
	}
	return e, nil
}

// EraseGeneration erases one of the tenant's generations for
// DELETE /generate/:id: tryon.ErrNotFound when it is not the tenant's, a
// generation_processing error while it runs, and nothing new (no second
// webhook) when it was erased before.
func (s *Store) EraseGeneration(ctx context.Context, clientID, id uuid.UUID, hookLease time.Duration) ([]uuid.UUID, error) {
	e, err := s.Erase(ctx, clientID, []uuid.UUID{id}, hookLease)
	if err != nil {
		return nil, err
	}
	if len(e.Processing) > 0 {
		return nil, tryon.Errorf(tryon.CodeGenerationProcessing,
			"the generation is still processing: cancel it (POST /generate/%s/cancel) or wait for it to finish, then delete it", id)
	}
	if len(e.Erased) == 0 {
		// Not erased now: erased before, or not the tenant's.
		var exists bool
		qctx, cancel := s.op(ctx)
		defer cancel()
		err := s.pool.QueryRow(qctx, `SELECT EXISTS (SELECT 1 FROM generations WHERE id = $1 AND client_id = $2)`, id, clientID).Scan(&exists)
		if err != nil {
			return nil, translate(err, "erase")
		}
		if !exists {
			return nil, tryon.ErrNotFound
		}
	}
	return e.Deliveries, nil
}

// EraseClientPage erases the next page of a tenant's generations, newest
// first after the cursor (nil: from the newest), for `tryon client erase`:
// it says how many it erased now, how many it left because they are still
// processing, and the cursor of the next page (nil after the last).
// Offboarding queues no webhooks.
func (s *Store) EraseClientPage(ctx context.Context, clientID uuid.UUID, after *tryon.Cursor, limit int) (erased, processing int, next *tryon.Cursor, err error) {
	ids, next, err := s.generationIDs(ctx, clientID, after, limit)
	if err != nil || len(ids) == 0 {
		return 0, 0, nil, err
	}
	e, err := s.Erase(ctx, clientID, ids, 0)
	if err != nil {
		return 0, 0, nil, err
	}
	return len(e.Erased), len(e.Processing), next, nil
}

// generationIDs returns a page of the tenant's generation ids, newest
// first after the cursor, and the cursor of the next page.
func (s *Store) generationIDs(ctx context.Context, clientID uuid.UUID, after *tryon.Cursor, limit int) ([]uuid.UUID, *tryon.Cursor, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var at *time.Time
	var atID uuid.UUID
	if after != nil {
		at, atID = &after.CreatedAt, after.ID
	}
	rows, err := s.pool.Query(ctx, `
		SELECT id, created_at FROM generations
		WHERE client_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
		ORDER BY created_at DESC, id DESC
		LIMIT $4`, clientID, at, atID, limit)
	if err != nil {
		return nil, nil, translate(err, "list generation ids")
	}
	var ids []uuid.UUID
	var last tryon.Cursor
	_, err = pgx.ForEachRow(rows, []any{&last.ID, &last.CreatedAt}, func() error {
		ids = append(ids, last.ID)
		return nil
	})
	if err != nil {
		return nil, nil, translate(err, "list generation ids")
	}
	if len(ids) < limit {
		return ids, nil, nil
	}
	return ids, &last, nil
}

// ClaimBlobDeletions takes up to limit queued Blob URLs whose attempt is due
// and leases them for lease, so that no other sender takes them meanwhile.
func (s *Store) ClaimBlobDeletions(ctx context.Context, limit int, lease time.Duration) ([]string, error) {
	return s.claimBlobDeletions(ctx, nil, limit, lease)
}

// ClaimGenerationBlobDeletions is ClaimBlobDeletions for the URLs of one
// generation's outputs.
func (s *Store) ClaimGenerationBlobDeletions(ctx context.Context, id uuid.UUID, limit int, lease time.Duration) ([]string, error) {
	return s.claimBlobDeletions(ctx, &id, limit, lease)
}

// claimBlobDeletions leases due URLs, of one generation when generation is
// set. URLs another sender holds are skipped, left to it.
func (s *Store) claimBlobDeletions(ctx context.Context, generation *uuid.UUID, limit int, lease time.Duration) ([]string, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `
		UPDATE blob_deletions d SET next_attempt_at = now() + $2 * interval '1 millisecond', attempts = attempts + 1
		WHERE d.url IN (
			SELECT url FROM blob_deletions
			WHERE next_attempt_at <= now() AND ($3::uuid IS NULL OR generation_id = $3)
			ORDER BY next_attempt_at LIMIT $1
			FOR UPDATE SKIP LOCKED)
		RETURNING d.url`, limit, lease.Milliseconds(), generation)
	if err != nil {
		return nil, translate(err, "claim blob deletions")
	}
	urls, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return urls, translate(err, "claim blob deletions")
}

// SettleBlobDeletions records a delete of urls: done (sendErr nil) forgets
// them, otherwise they are tried again at retryAt.
func (s *Store) SettleBlobDeletions(ctx context.Context, urls []string, sendErr error, retryAt time.Time) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var err error
	if sendErr == nil {
		_, err = s.pool.Exec(ctx, `DELETE FROM blob_deletions WHERE url = ANY ($1)`, urls)
	} else {
		msg := sendErr.Error()
		if len(msg) > 500 {
			msg = msg[:500]
		}
		_, err = s.pool.Exec(ctx, `UPDATE blob_deletions SET next_attempt_at = $2, last_error = $3 WHERE url = ANY ($1)`,
			urls, retryAt, msg)
	}
	return translate(err, "settle blob deletions")
}

// PendingBlobDeletions counts the Blob URLs still queued for deletion.
func (s *Store) PendingBlobDeletions(ctx context.Context, clientID *uuid.UUID) (int, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM blob_deletions WHERE $1::uuid IS NULL OR client_id = $1`, clientID).Scan(&n)
	return n, translate(err, "count blob deletions")
}

// RetentionDays returns the tenant's retention.
func (s *Store) RetentionDays(ctx context.Context, clientID uuid.UUID) (int, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var days int
	err := s.pool.QueryRow(ctx, `SELECT retention_days FROM clients WHERE id = $1`, clientID).Scan(&days)
	return days, translate(err, "retention")
}

// SetRetention sets how many days the tenant's outputs are kept and records
// the change in its ledger (kind "limits"), in one transaction. A shorter
// retention applies to outputs already stored: the next sweep deletes those
// now past it.
func (s *Store) SetRetention(ctx context.Context, clientID uuid.UUID, days int, reason string) error {
	if days < tryon.MinRetentionDays || days > tryon.MaxRetentionDays {
		return tryon.Invalid(tryon.FieldError{Field: "retention_days",
			Message: fmt.Sprintf("must be %d to %d", tryon.MinRetentionDays, tryon.MaxRetentionDays)})
	}
	if strings.TrimSpace(reason) == "" {
		return tryon.Invalid(tryon.FieldError{Field: "reason", Message: "is required"})
	}
	_, err := s.ChangeClient(ctx, clientID, ClientChange{Reason: reason, RetentionDays: days})
	return err
}
