package vertex

import (
	"context"
	"errors"
	"time"

	"github.com/tryonhq/tryon/pkg/retry"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// defaultRetryPolicy: three attempts in all, each worth making only with
// 5 s left (a prediction takes several seconds).
var defaultRetryPolicy = retry.Policy{
	Waits:         []time.Duration{500 * time.Millisecond, time.Second},
	MaxRetryAfter: 20 * time.Second,
	MinAttempt:    5 * time.Second,
}

// predictWithRetry repeats a prediction refused for quota (429) or by a busy
// server (5xx): neither ran the model, so neither is billed twice. A lost
// answer (a transport error) is not repeated.
func (p *Provider) predictWithRetry(ctx context.Context, body predictRequest) (*tryon.Result, error) {
	return retry.Do(ctx, p.retry, func(ctx context.Context) (*tryon.Result, error) { return p.predict(ctx, body) },
		func(err error) retry.Verdict {
			var pe *tryon.ProviderError
			if errors.As(err, &pe) && pe.Status != 0 && (pe.Kind == tryon.FailRateLimited || pe.Kind == tryon.FailUnavailable) {
				return retry.Verdict{Retry: true, After: pe.RetryAfter}
			}
			return retry.Verdict{}
		},
		func(err error, attempt int, wait time.Duration) {
			p.log.Warn("vertex prediction failed, retrying", "attempt", attempt, "wait", wait, "error", err)
		})
}
