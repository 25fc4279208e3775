package fal

import (
	"context"
	"errors"
	"time"

	"github.com/tryonhq/tryon/pkg/retry"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// defaultRetryPolicy: three attempts in all. An attempt needs 5 s to be worth
// making (Nano Banana takes several seconds), and a rate limit asking for
// more than 20 s is handed back as the tenant's Retry-After.
var defaultRetryPolicy = retry.Policy{
	Waits:         []time.Duration{500 * time.Millisecond, time.Second},
	MaxRetryAfter: 20 * time.Second,
	MinAttempt:    5 * time.Second,
}

// callWithRetry makes the call, retrying only rate limits and 5xx answers.
// Those are safe to repeat: fal does not bill 5xx answers and a 429 never ran.
// A transport error is not retried, because the model may have run and been
// billed even though we lost the answer.
func (p *Provider) callWithRetry(ctx context.Context, endpoint string, body []byte) (*answer, error) {
	repeatable := false
	ans, err := retry.Do(ctx, p.retry,
		func(ctx context.Context) (*answer, error) {
			ans, again, err := p.call(ctx, endpoint, body)
			repeatable = again
			return ans, err
		},
		func(err error) retry.Verdict {
			var perr *tryon.ProviderError
			if !repeatable || !errors.As(err, &perr) {
				return retry.Verdict{}
			}
			return retry.Verdict{Retry: true, After: perr.RetryAfter}
		},
		func(err error, attempt int, wait time.Duration) {
			var perr *tryon.ProviderError
			errors.As(err, &perr)
			p.log.Warn("fal call failed, retrying",
				"endpoint", endpoint, "attempt", attempt, "kind", string(perr.Kind),
				"status", perr.Status, "wait", wait)
		})
	if err != nil && ctx.Err() != nil {
		// The budget ran out, in an attempt or in a wait: a timeout.
		return nil, classifyTransport(ctx, err)
	}
	return ans, err
}
