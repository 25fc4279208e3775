package tryon

import (
	"time"

	"github.com/google/uuid"
)

// Completion is how a generation ended, as its finisher saw it. Settlement
// charges the tenant only when it succeeded, in live mode, within its
// deadline ("the deadline wins": past it, the reservation no longer counts,
// so a late success is recorded as timed out and not billed).
type Completion struct {
	Succeeded bool
	// Outputs are what came back and was stored, the first being the
	// generation's output; a success settles the price per output times
	// len(Outputs).
	Outputs    []Output
	Error      *GenerationError
	RetryAfter time.Duration
	// Staged, when set, is the outputs' data, written with the success.
	Staged []*StagedOutput
	// Readmit, when set, is the generation's admission, recorded again if a
	// database crash lost it (admission commits asynchronously) before the
	// generation is finished, in the same transaction. Set by the request
	// that admitted the generation; nil for any other finisher.
	Readmit *Admission
}

// Output is the first output, or nil.
func (c *Completion) Output() *Output {
	if len(c.Outputs) == 0 {
		return nil
	}
	return &c.Outputs[0]
}

// TimedOut is the recorded error of a generation that ran out of time:
// its provider call outlived the budget, or it passed its deadline.
func TimedOut() *GenerationError {
	return &GenerationError{Code: CodeGenerationTimeout, Message: "the provider did not answer within the time budget"}
}

// FinishResult is a finalised generation.
type FinishResult struct {
	Generation *Generation
	// Finished is true when this call finalised it, false when someone else
	// already had (then Generation is their result).
	Finished bool
	// DeliveryID is the webhook delivery queued by this call, if any.
	DeliveryID *uuid.UUID
	// CreditsRemaining is the unreserved prepaid balance afterwards; nil for postpaid.
	CreditsRemaining *Micros
	// Readmitted is true when the generation's admission had been lost and
	// was recorded again from Completion.Readmit before finishing.
	Readmitted bool
}
