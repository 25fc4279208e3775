package gemini

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// retryPolicy bounds the retries of transient failures.
type retryPolicy struct {
	maxAttempts int
	// baseDelay is the first backoff when the upstream gave no RetryAfter;
	// it doubles per attempt, plus up to half of it as jitter so that
	// instances hit by the same outage do not retry in step.
	baseDelay time.Duration
	// maxWait is the longest wait worth making; a longer RetryAfter is
	// handed to the caller instead, to become the tenant's Retry-After.
	maxWait time.Duration
}

var defaultRetryPolicy = retryPolicy{maxAttempts: 3, baseDelay: time.Second, maxWait: 20 * time.Second}

// Minimum time an attempt needs to have a chance; a retry that cannot get
// this much before the deadline would only turn a clear error into a timeout.
// Nano Banana answers in about 10 to 30 s; submitting a Veo job is quick.
const (
	minImageAttempt  = 10 * time.Second
	minSubmitAttempt = 2 * time.Second
)

// retry runs call until it succeeds or fails for good. Only retryable kinds
// are retried (rate limited, unavailable, and no_output once), each after
// RetryAfter or a backoff, and only while ctx's deadline leaves room for the
// wait plus minAttempt; otherwise the last error is returned as it is.
func retry[T any](ctx context.Context, p *Provider, minAttempt time.Duration, call func(context.Context) (T, error)) (T, error) {
	noOutputRetried := false
	for attempt := 1; ; attempt++ {
		res, err := call(ctx)
		var pe *tryon.ProviderError
		if err == nil || !errors.As(err, &pe) || !pe.Retryable() || attempt >= p.retry.maxAttempts {
			return res, err
		}
		if pe.Kind == tryon.FailNoOutput {
			if noOutputRetried {
				return res, err
			}
			noOutputRetried = true
		}
		wait := pe.RetryAfter
		if wait <= 0 {
			base := p.retry.baseDelay << (attempt - 1)
			wait = base + rand.N(base/2+1)
		}
		if wait > p.retry.maxWait {
			return res, err
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait+minAttempt {
			return res, err
		}
		p.log.Warn("gemini: retrying a transient failure",
			"kind", string(pe.Kind), "attempt", attempt, "wait", wait, "detail", pe.Detail)
		if tryon.Sleep(ctx, wait) != nil {
			return res, err
		}
	}
}
