package gemini

import (
	"context"
	"errors"
	"time"

	"github.com/tryonhq/tryon/pkg/retry"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// defaultRetryPolicy: three attempts in all; a wait the API asks for over
// 20 s is handed to the caller instead, to become the tenant's Retry-After.
var defaultRetryPolicy = retry.Policy{
	Waits:         []time.Duration{time.Second, 2 * time.Second},
	MaxRetryAfter: 20 * time.Second,
}

// Minimum time an attempt needs to have a chance (retry.Policy.MinAttempt).
// Nano Banana answers in about 10 to 30 s; submitting a Veo job is quick.
const (
	minImageAttempt  = 10 * time.Second
	minSubmitAttempt = 2 * time.Second
)

// withRetry runs call under the retry policy. Only retryable kinds are
// retried (rate limited, unavailable, and no_output once), after the
// API's RetryAfter or a backoff, while ctx's deadline leaves room for the
// wait plus minAttempt; otherwise the last error is returned as it is.
func withRetry[T any](ctx context.Context, p *Provider, minAttempt time.Duration, call func(context.Context) (T, error)) (T, error) {
	policy := p.retry
	policy.MinAttempt = minAttempt
	noOutputRetried := false
	return retry.Do(ctx, policy, call,
		func(err error) retry.Verdict {
			var pe *tryon.ProviderError
			if !errors.As(err, &pe) || !pe.Retryable() {
				return retry.Verdict{}
			}
			if pe.Kind == tryon.FailNoOutput {
				if noOutputRetried {
					return retry.Verdict{}
				}
				noOutputRetried = true
			}
			return retry.Verdict{Retry: true, After: pe.RetryAfter}
		},
		func(err error, attempt int, wait time.Duration) {
			var pe *tryon.ProviderError
			errors.As(err, &pe)
			p.log.Warn("gemini: retrying a transient failure",
				"kind", string(pe.Kind), "attempt", attempt, "wait", wait, "detail", pe.Detail)
		})
}
