package tryon

import (
	"fmt"
	"time"
)

// AdminRequestsPerMinute is the rate limit of operator keys, which have no
// tenant to carry one.
const AdminRequestsPerMinute = 600

// RateState is where a key stands in its current one-minute rate window.
type RateState struct {
	Limit int
	// Used counts the requests in this window, the current one included.
	Used  int
	Reset time.Time
}

// Exceeded reports whether the current request is over the limit.
func (r RateState) Exceeded() bool { return r.Limit > 0 && r.Used > r.Limit }

// Remaining is how many more requests the window allows.
func (r RateState) Remaining() int { return max(r.Limit-r.Used, 0) }

// Error is the 429 of a request over the limit, with the seconds to the
// next window as its Retry-After.
func (r RateState) Error() *Error {
	return &Error{Code: CodeRateLimited, RetryAfter: time.Until(r.Reset),
		Message: fmt.Sprintf("rate limit of %d requests per minute exceeded", r.Limit)}
}
