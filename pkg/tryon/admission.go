package tryon

import (
	"time"

	"github.com/google/uuid"
)

// Admission is a generation asking to be admitted. The store's admission
// checks, in this order: the tenant is active, the key is under its rate
// limit (unless Precounted), the Idempotency-Key is free (or names an
// earlier request: a replay or a mismatch), the tenant is under its
// concurrency limit, and a prepaid balance covers the price; only then is
// the generation recorded as processing with its price reserved.
type Admission struct {
	ID             uuid.UUID
	KeyID          uuid.UUID
	ClientID       uuid.UUID
	Mode           Mode
	Service        Service
	Provider       string
	Model          string
	Prompt         string
	Width, Height  int
	DurationSecs   int
	NumOutputs     int // outputs asked for: the price per output times this is reserved (0 means 1)
	Metadata       map[string]string
	IdempotencyKey *string
	RequestHash    []byte
	// DefaultPrice applies when the tenant has no price of its own.
	DefaultPrice Micros
	// Lifetime is how long the generation may stay processing before anyone
	// reading it fails it: the request's hard time limit, or a long job's.
	Lifetime time.Duration
	// Precounted means the admission precheck already counted this request
	// against the rate limit.
	Precounted bool
	// Token is the client token asking, if any: admission then also checks
	// its end user's rate limit and its caps (tryon_admit_token).
	Token *ClientToken
}

// Outcome is what admission decided.
type Outcome string

// Admission outcomes, in the order admission checks them. The store passes
// them to its SQL, so these are the only spelling.
const (
	Suspended           Outcome = "suspended"
	RateLimited         Outcome = "rate_limited"
	Replay              Outcome = "replay"
	IdempotencyMismatch Outcome = "idempotency_mismatch"
	ConcurrencyLimited  Outcome = "concurrency_limited"
	InsufficientCredits Outcome = "insufficient_credits"
	Admitted            Outcome = "admitted"
)

// AdmitResult is the outcome of an admission with what the response needs.
type AdmitResult struct {
	Outcome Outcome
	Rate    RateState
	// GenerationID is the new generation, or the first one for a replay.
	GenerationID uuid.UUID
	PriceMicros  Micros // reserved (or would have been): the price per output × the outputs asked for
	// BalanceMicros is nil for a postpaid tenant.
	BalanceMicros  *Micros
	ReservedMicros Micros
	RetryAfter     time.Duration
}

// CreditsRemaining is the prepaid balance not reserved by generations in flight.
func (r *AdmitResult) CreditsRemaining() *Micros {
	if r.BalanceMicros == nil {
		return nil
	}
	left := *r.BalanceMicros - r.ReservedMicros
	return &left
}

// Precheck is what is known about a request before its inputs are fetched:
// it has been counted against the rate limit, and its Idempotency-Key looked up.
type Precheck struct {
	Rate RateState
	// PriorID is the generation an unexpired Idempotency-Key already names,
	// and SameRequest whether it was made by the same request.
	PriorID     *uuid.UUID
	SameRequest bool
}
