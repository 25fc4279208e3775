package tryon

import (
	"fmt"
	"time"
)

// AdminRequestsPerMinute is the rate limit of operator keys, which have no
// tenant to carry one.
const AdminRequestsPerMinute = 600

// RateState is where a key stands against its rate limit after a request.
type RateState struct {
	Limit int
	// Limited is true when this request was refused.
	Limited bool
	// Remaining is how many more requests the key may make right now.
	Remaining int
	// Reset is when the key's full quota is back.
	Reset time.Time
	// RetryAfter is, for a refused request, how long until the next one is allowed.
	RetryAfter time.Duration
}

// Verdict is nil for a request the limit let through, and the 429 for one
// it refused. Stores return it with the read they counted, so no caller
// checks the limit by hand.
func (r RateState) Verdict() error {
	if !r.Limited {
		return nil
	}
	return r.Error()
}

// Error is the 429 of a request over the limit.
func (r RateState) Error() *Error {
	return &Error{Code: CodeRateLimited, RetryAfter: r.RetryAfter,
		Message: fmt.Sprintf("rate limit of %d requests per minute exceeded", r.Limit)}
}
