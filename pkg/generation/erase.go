package generation

import (
	"context"
	"log/slog"
	"math"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// Retention and erasure of outputs: they are photos of real people. The
// cron sweep deletes outputs past their tenant's retention_days; DELETE
// /generate/:id and `tryon client erase` erase at once. The database always
// learns first (EraseStore): one transaction clears a generation's outputs,
// deletes their bytes kept in Postgres (leaving a tombstone, so their URL
// answers 410) and queues their Vercel Blob URLs; only then is Blob asked
// to delete them, and a URL leaves the queue once Blob confirmed. A crash
// in between leaves it queued for the next sweep, and deleting a blob twice
// is harmless: nothing is lost track of and nothing is deleted before the
// database says so.

// EraseStore is what retention and erasure need from the database.
// pkg/postgres implements it.
type EraseStore interface {
	// ExpireOutputs deletes the outputs of up to limit succeeded
	// generations past their tenant's retention, skipping those another
	// sweep or eraser holds, and says how many.
	ExpireOutputs(ctx context.Context, limit int) (int, error)
	// EraseGeneration erases one of a tenant's generations (outputs,
	// prompt, metadata) and returns the generation.deleted deliveries it
	// queued: ErrNotFound for another tenant's, a generation_processing
	// error while it runs; erasing twice queues nothing the second time.
	EraseGeneration(ctx context.Context, clientID, id uuid.UUID, webhookLease time.Duration) ([]uuid.UUID, error)
	// EraseClientPage erases the next page of a tenant's generations after
	// the cursor (nil: the newest), leaving those still processing, and
	// returns the next page's cursor (nil after the last).
	EraseClientPage(ctx context.Context, clientID uuid.UUID, after *tryon.Cursor, limit int) (erased, processing int, next *tryon.Cursor, err error)
	// ClaimBlobDeletions leases up to limit queued Blob URLs due for a delete.
	ClaimBlobDeletions(ctx context.Context, limit int, lease time.Duration) ([]string, error)
	// ClaimGenerationBlobDeletions leases up to limit queued Blob URLs of
	// one generation's outputs.
	ClaimGenerationBlobDeletions(ctx context.Context, id uuid.UUID, limit int, lease time.Duration) ([]string, error)
	// SettleBlobDeletions forgets URLs Blob deleted (sendErr nil) or
	// schedules them again at retryAt.
	SettleBlobDeletions(ctx context.Context, urls []string, sendErr error, retryAt time.Time) error
}

// Eraser deletes outputs: on request, and as retention says.
type Eraser struct {
	Store EraseStore
	// Blobs deletes from Vercel Blob; nil when no Blob store is configured
	// (queued URLs then wait for one).
	Blobs    tryon.Remover
	Notifier *Notifier
	Log      *slog.Logger
	// WebhookLease keeps the sweep off a generation.deleted delivery the
	// eraser is sending.
	WebhookLease time.Duration
}

// Bounds of one sweep's retention work, besides its time budget: at most
// expireBatches × expireBatch generations expired, at most blobBatches ×
// blobBatch Blob URLs deleted. The rest waits for the next sweep.
const (
	expireBatch   = 200
	expireBatches = 10
	blobBatch     = 100
	blobBatches   = 10
	// blobLease is how long a claimed URL is left to its sender; a sender
	// that dies leaves it to the next sweep after this.
	blobLease = 2 * time.Minute
	// blobRetry spaces out deletes Blob refused or did not answer.
	blobRetry = 5 * time.Minute
)

// InlineBlobDeleteTimeout bounds the Blob delete DELETE /generate/:id makes
// before it answers; what Blob did not confirm by then stays queued for the
// sweep.
const InlineBlobDeleteTimeout = 10 * time.Second

// Erase erases the caller's generation id at once (DELETE /generate/:id):
// its outputs from every store, its prompt and metadata; billing records
// stay. It is idempotent. The generation.deleted webhook, when the tenant
// has one, is sent before it returns (and retried by the sweep).
func (e *Eraser) Erase(ctx context.Context, p *tryon.Principal, id uuid.UUID, baseURL string) error {
	if p.Client == nil {
		return tryon.ErrNotFound
	}
	deliveries, err := e.Store.EraseGeneration(ctx, p.Client.ID, id, e.WebhookLease)
	if err != nil {
		return err
	}
	// The database has forgotten the outputs; Blob's copies go now, or
	// with the next sweep if Blob does not answer in time. Only this
	// generation's: the rest of the queue is the sweep's, and one tenant's
	// request never waits on another's deletes.
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), InlineBlobDeleteTimeout)
	e.deleteGenerationBlobs(bctx, id)
	cancel()
	e.Notifier.Deliver(ctx, deliveries, baseURL)
	return nil
}

// ExpireDue deletes the outputs past their tenant's retention, at most
// expireBatches batches and until work ends, and says how many generations
// it expired.
func (e *Eraser) ExpireDue(ctx context.Context, work time.Time) (int, error) {
	total := 0
	for range expireBatches {
		n, err := e.Store.ExpireOutputs(ctx, expireBatch)
		total += n
		if err != nil {
			return total, err
		}
		if n < expireBatch || !time.Now().Before(work) {
			break
		}
	}
	return total, nil
}

// DeleteBlobs sends up to batches batches of queued Blob deletions and says
// how many URLs Blob confirmed. Without a Blob store it does nothing.
func (e *Eraser) DeleteBlobs(ctx context.Context, batches int) int {
	if e == nil || e.Blobs == nil {
		return 0
	}
	deleted := 0
	for range batches {
		if ctx.Err() != nil {
			return deleted
		}
		urls, err := e.Store.ClaimBlobDeletions(ctx, blobBatch, blobLease)
		if err != nil {
			e.Log.Error("claim blob deletions", "error", err)
			return deleted
		}
		if len(urls) == 0 {
			return deleted
		}
		n, ok := e.sendBlobDeletions(ctx, urls)
		deleted += n
		if !ok || len(urls) < blobBatch {
			return deleted
		}
	}
	return deleted
}

// deleteGenerationBlobs sends the queued Blob deletions of one generation.
func (e *Eraser) deleteGenerationBlobs(ctx context.Context, id uuid.UUID) {
	if e == nil || e.Blobs == nil {
		return
	}
	urls, err := e.Store.ClaimGenerationBlobDeletions(ctx, id, blobBatch, blobLease)
	if err != nil {
		e.Log.Error("claim blob deletions", "error", err)
		return
	}
	if len(urls) > 0 {
		e.sendBlobDeletions(ctx, urls)
	}
}

// sendBlobDeletions asks Blob to delete claimed urls and records the
// outcome: forgotten when Blob confirmed, due again after blobRetry when
// not. It says how many Blob confirmed, and whether to go on (false when
// Blob or the database failed).
func (e *Eraser) sendBlobDeletions(ctx context.Context, urls []string) (int, bool) {
	sendErr := e.Blobs.Delete(ctx, urls)
	deleted := 0
	if sendErr != nil {
		// The URLs are unguessable, but they are a tenant's outputs:
		// the log says how many, not which.
		e.Log.Warn("blob delete failed; retried later", "urls", len(urls), "error", sendErr)
	} else {
		deleted = len(urls)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	err := e.Store.SettleBlobDeletions(rctx, urls, sendErr, time.Now().Add(blobRetry))
	cancel()
	if err != nil {
		e.Log.Error("settle blob deletions", "error", err)
		return deleted, false
	}
	return deleted, sendErr == nil
}

// ClientErasure is what erasing a whole tenant did.
type ClientErasure struct {
	// Erased counts the generations erased now (not those erased before).
	Erased int
	// Processing counts generations left because they are still running:
	// erase again once they finish.
	Processing int
	// BlobsDeleted counts the Blob URLs deleted; BlobsPending those still
	// queued (Blob refused or is not configured here), which the cron
	// sweep keeps trying.
	BlobsDeleted int
}

// EraseClient erases every generation of a tenant (offboarding): outputs
// from every store, prompts and metadata; its billing records stay. Safe
// to run again: what was erased is skipped.
func (e *Eraser) EraseClient(ctx context.Context, clientID uuid.UUID) (ClientErasure, error) {
	var res ClientErasure
	var cursor *tryon.Cursor
	for {
		erased, processing, next, err := e.Store.EraseClientPage(ctx, clientID, cursor, 500)
		res.Erased += erased
		res.Processing += processing
		if err != nil {
			return res, err
		}
		if next == nil {
			break
		}
		cursor = next
	}
	// Until the queue is empty: a failed delete is queued for a later
	// sweep and not claimed again now, so this ends.
	res.BlobsDeleted = e.DeleteBlobs(ctx, math.MaxInt)
	return res, nil
}
