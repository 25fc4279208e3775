// Package retry is the one retry policy of every client that tries a call
// again (Gemini, fal, Vertex AI, Vercel Blob, webhook deliveries): a
// bounded number of attempts, a schedule of waits with jitter, a server's
// Retry-After honoured when it asks for longer, and never a wait or an
// attempt past the caller's deadline. Each client chooses its numbers; the
// rules are these.
package retry

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// Policy says how often and how patiently a call is tried again.
type Policy struct {
	// Waits are the pauses after the first, second... failed attempt:
	// there are len(Waits)+1 attempts in all.
	Waits []time.Duration
	// MaxRetryAfter is the longest wait a server may ask for that is still
	// sat through; asking for longer ends the retries, so that the caller
	// can pass the wait on (as the tenant's Retry-After) instead of holding
	// a request. Zero means no limit.
	MaxRetryAfter time.Duration
	// MinAttempt is the time an attempt needs to be worth making: a retry
	// squeezed into the last moments before the deadline would only turn a
	// clear failure into a timeout.
	MinAttempt time.Duration
	// Sleep pauses between attempts; nil is a timer that ends early with
	// the context. Tests set it to see the waits without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Attempts is how many attempts the policy allows, the first included.
func (p Policy) Attempts() int { return len(p.Waits) + 1 }

// Backoff is the wait after the attempt-th failure (counting from 1): the
// schedule's step plus up to a quarter more at random, so that clients
// failing together do not come back in step. Attempt 0 or less gives 0;
// attempts past the schedule get its last step.
func (p Policy) Backoff(attempt int) time.Duration {
	if attempt <= 0 || len(p.Waits) == 0 {
		return 0
	}
	d := p.Waits[min(attempt, len(p.Waits))-1]
	if d < 4 {
		return d
	}
	return d + rand.N(d/4)
}

// Next says whether a call that failed for the attempt-th time is tried
// again and after how long: not once the attempts are used up, not when the
// server asked for a wait over MaxRetryAfter; otherwise after the backoff
// or the server's retryAfter, whichever is longer.
func (p Policy) Next(attempt int, retryAfter time.Duration) (time.Duration, bool) {
	if attempt >= p.Attempts() || (p.MaxRetryAfter > 0 && retryAfter > p.MaxRetryAfter) {
		return 0, false
	}
	return max(p.Backoff(attempt), retryAfter), true
}

// Room reports whether ctx's deadline leaves time to wait and then make a
// worthwhile attempt. Without a deadline the attempts alone bound retries.
func (p Policy) Room(ctx context.Context, wait time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return !ok || time.Until(deadline) > wait+p.MinAttempt
}

// Verdict is what a failed attempt says about trying again.
type Verdict struct {
	// Retry is true when the same call may succeed if made again.
	Retry bool
	// After is the wait the server asked for (Retry-After), or zero.
	After time.Duration
}

// Do makes the call until it succeeds or judge finds its error final, the
// attempts are used up, the server asks for too long a wait, or ctx's
// deadline leaves no room for another attempt. The last attempt's result
// is returned (also when ctx ends during a wait: the caller can tell from
// ctx). onRetry, when not nil, hears of each retry before its wait, for the
// log.
func Do[T any](ctx context.Context, p Policy, call func(context.Context) (T, error), judge func(error) Verdict,
	onRetry func(err error, attempt int, wait time.Duration)) (T, error) {
	sleep := p.Sleep
	if sleep == nil {
		sleep = tryon.Sleep
	}
	for attempt := 1; ; attempt++ {
		res, err := call(ctx)
		if err == nil || ctx.Err() != nil {
			return res, err
		}
		v := judge(err)
		if !v.Retry {
			return res, err
		}
		wait, ok := p.Next(attempt, v.After)
		if !ok || !p.Room(ctx, wait) {
			return res, err
		}
		if onRetry != nil {
			onRetry(err, attempt, wait)
		}
		if sleep(ctx, wait) != nil {
			return res, err
		}
	}
}

// maxRetryAfter clamps what ParseRetryAfter returns, so that seconds cannot
// overflow a Duration; a week outlasts every retry anyway.
const maxRetryAfter = 7 * 24 * time.Hour

// ParseRetryAfter reads a Retry-After header (RFC 9110: seconds, or an HTTP
// date); anything else, or a wait in the past, is zero.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfter)
	}
	return 0
}
