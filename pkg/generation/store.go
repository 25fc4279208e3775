package generation

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// Store is what running generations needs from the database. pkg/postgres
// implements it; each step that touches money or limits is one call, one
// round trip and one transaction there.
type Store interface {
	// PrecheckAdmission counts a request against its key's rate limit and
	// looks up its Idempotency-Key, before its inputs are fetched. A refused
	// request is the rate limit's error, returned with the precheck.
	PrecheckAdmission(ctx context.Context, caller *tryon.Principal, idemKey *string, hash []byte) (*tryon.Precheck, error)
	// Admit decides a generation's admission (see tryon.Admission for the
	// checks and their order) and, when admitted, records it as processing
	// with its price reserved.
	Admit(ctx context.Context, a tryon.Admission) (*tryon.AdmitResult, error)
	// FinishGeneration settles (on success) or releases (otherwise) a
	// generation's reservation, exactly once, and queues its webhook. A
	// generation whose admission was lost is recorded again from
	// c.Readmit first, in the same transaction.
	FinishGeneration(ctx context.Context, id uuid.UUID, c tryon.Completion, webhookLease time.Duration) (*tryon.FinishResult, error)
	// FindGeneration returns a generation by id, with no rate accounting.
	FindGeneration(ctx context.Context, id uuid.UUID) (*tryon.Generation, error)
	// ReadGeneration counts a read against the caller's rate limit, expires
	// the generation if it is past its deadline and takes its poll lease
	// when it is a long job due for a poll. A refused read is the rate
	// limit's error, returned with the read.
	ReadGeneration(ctx context.Context, p *tryon.Principal, id uuid.UUID, pollLease, webhookLease time.Duration) (*tryon.Read[*tryon.Generation], error)
	// ListGenerations counts a listing against the caller's rate limit,
	// expires the tenant's generations past their deadline and returns a
	// page; a refused listing is the rate limit's error, returned with the read.
	ListGenerations(ctx context.Context, p *tryon.Principal, f tryon.ListFilter, webhookLease time.Duration) (*tryon.Read[tryon.Page], error)
	// CancelGeneration counts a cancel against the caller's rate limit,
	// expires the generation if it is past its deadline, and cancels it if
	// it is still processing (see tryon.CancelOutcome). Not the caller's:
	// tryon.ErrNotFound. A refused request is the rate limit's error,
	// returned with the read.
	CancelGeneration(ctx context.Context, p *tryon.Principal, id uuid.UUID, webhookLease time.Duration) (*tryon.Read[*tryon.Cancellation], error)
	// RecordParams records the try-on and output parameters a generation
	// was admitted with.
	RecordParams(ctx context.Context, id uuid.UUID, p *tryon.Params) error
	// SetOperation records a long job's provider operation and moves its
	// deadline to the long job's, committing synchronously. readmit, when
	// set, is the generation's admission, recorded again first if a
	// database crash lost it.
	SetOperation(ctx context.Context, id uuid.UUID, operation string, lifetime time.Duration, readmit *tryon.Admission) error
	// HoldPoll spaces out the next poll of a running long job.
	HoldPoll(ctx context.Context, id uuid.UUID, until time.Duration) error
	// ClaimPoll takes one long job's poll lease when it is processing, due
	// and free, and returns the generation as it stands: claimed says
	// whether the caller may poll it now.
	ClaimPoll(ctx context.Context, id uuid.UUID, lease time.Duration) (claimed bool, g *tryon.Generation, err error)
	// ClaimDue takes the poll lease of long jobs due for a poll, oldest first.
	ClaimDue(ctx context.Context, limit int, lease time.Duration) ([]*tryon.Generation, error)
	// ExpireAll fails generations past their deadline, releasing their
	// reservations, and returns the webhook deliveries it queued.
	ExpireAll(ctx context.Context, limit int, webhookLease time.Duration) (expired int, deliveries []uuid.UUID, err error)
	// PurgeExpired deletes what is kept only for a while (idempotency
	// claims, old deliveries).
	PurgeExpired(ctx context.Context) error
}

// DeliveryStore is what sending webhooks needs from the database.
type DeliveryStore interface {
	ClaimDeliveries(ctx context.Context, ids []uuid.UUID, limit int, lease time.Duration) ([]tryon.Delivery, error)
	RecordDelivery(ctx context.Context, id uuid.UUID, delivered bool, status int, errMsg string, retryAt time.Time) error
}
