package fal

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// retryPolicy says how often and how patiently a call is retried.
type retryPolicy struct {
	maxAttempts int           // attempts in all, the first included
	base        time.Duration // wait before the second attempt; doubles after
	max         time.Duration // longest wait between attempts
	// minAttempt is the time an attempt needs to be worth making: Nano Banana
	// takes several seconds, so a retry squeezed into the last moments of the
	// deadline would only turn a clear failure into a timeout.
	minAttempt time.Duration
}

var defaultRetryPolicy = retryPolicy{
	maxAttempts: 3,
	base:        500 * time.Millisecond,
	max:         4 * time.Second,
	minAttempt:  5 * time.Second,
}

// backoff is the wait after the given failed attempt (1-based): exponential,
// capped, with the upper half jittered so that many instances hitting the same
// 503 do not come back in step.
func (r retryPolicy) backoff(attempt int) time.Duration {
	d := r.base
	for i := 1; i < attempt && d < r.max; i++ {
		d *= 2
	}
	d = min(d, r.max)
	if d < 2 {
		return d
	}
	half := d / 2
	return half + rand.N(half)
}

// roomFor reports whether ctx's deadline leaves time to wait and then make a
// worthwhile attempt. Without a deadline, maxAttempts alone bounds the retries.
func (r retryPolicy) roomFor(ctx context.Context, wait time.Duration) bool {
	deadline, ok := ctx.Deadline()
	if !ok {
		return true
	}
	return time.Until(deadline) > wait+r.minAttempt
}

// callWithRetry makes the call, retrying only rate limits and 5xx answers.
// Those are safe to repeat: fal does not bill 5xx answers and a 429 never ran.
// A transport error is not retried, because the model may have run and been
// billed even though we lost the answer.
func (p *Provider) callWithRetry(ctx context.Context, endpoint string, body []byte) (*answer, error) {
	for attempt := 1; ; attempt++ {
		ans, retry, err := p.call(ctx, endpoint, body)
		if err == nil {
			return ans, nil
		}
		perr, ok := err.(*tryon.ProviderError)
		if !ok || !retry || attempt >= p.retry.maxAttempts {
			return nil, err
		}
		wait := max(p.retry.backoff(attempt), perr.RetryAfter)
		if !p.retry.roomFor(ctx, wait) {
			return nil, err
		}
		p.log.Warn("fal call failed, retrying",
			"endpoint", endpoint, "attempt", attempt, "kind", string(perr.Kind),
			"status", perr.Status, "wait", wait)
		if err := tryon.Sleep(ctx, wait); err != nil {
			return nil, classifyTransport(ctx, err)
		}
	}
}
