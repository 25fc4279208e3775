package tryon

import (
	"context"

	"github.com/google/uuid"
)

// CancelOutcome is what a request to cancel a generation found.
type CancelOutcome string

// The outcomes of a cancel. The strings are tryon_cancel's (cancel.sql).
const (
	// CancelCanceled: this request moved the generation from processing
	// to canceled, releasing its reservation.
	CancelCanceled CancelOutcome = "canceled"
	// CancelAlreadyCanceled: an earlier request canceled it; canceling is
	// idempotent, so the answer is the same.
	CancelAlreadyCanceled CancelOutcome = "already_canceled"
	// CancelFinished: it had already succeeded or failed, which a cancel
	// cannot undo (CodeGenerationFinished).
	CancelFinished CancelOutcome = "finished"
)

// Cancellation is the result of a cancel request.
type Cancellation struct {
	Outcome    CancelOutcome
	Generation *Generation
	// DeliveryID is the generation.canceled webhook delivery queued by
	// this request, if any.
	DeliveryID *uuid.UUID
}

// Canceler is an Operator whose upstream job can be stopped: asked by a
// tenant's cancel, so that the provider stops working (and, where it bills
// us, charging) for an output nobody will take. Cancellation upstream is
// best effort: Tryon's own record is canceled whatever Cancel answers.
type Canceler interface {
	Cancel(ctx context.Context, operation string) error
}

// Remover is a Storage that can delete outputs it stored, by the URLs Put
// returned; deleting one already gone succeeds. An output uploaded while
// its generation was being canceled (or was timing out) belongs to no
// generation once the finish is refused, and is deleted rather than left
// behind; retention and erasure delete through it too. Storage in the
// database needs none for the first: it stores an output only with its
// recorded success (Stager). *blob.Store implements it.
type Remover interface {
	Delete(ctx context.Context, urls []string) error
}
