package webhook

import (
	"errors"
	"net/http"
	"time"

	"github.com/tryonhq/tryon/pkg/retry"
	"github.com/tryonhq/tryon/pkg/safefetch"
)

// MaxAttempts is how many times one event is offered to an endpoint before
// the delivery is marked failed: the first attempt and nine retries spread
// over about three days, the example schedule of the Standard Webhooks
// specification ("Deliverability and reliability").
const MaxAttempts = 10

// Retry is the delivery retry policy: the specification's example schedule
// (the wait after the first, second... failed attempt), with the jitter it
// recommends so that endpoints failing under load are not all retried at
// once. The sweep, not a loop, makes the retries, so only its Next is used.
var Retry = retry.Policy{Waits: []time.Duration{
	5 * time.Second,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	5 * time.Hour,
	10 * time.Hour,
	14 * time.Hour,
	20 * time.Hour,
	24 * time.Hour,
}}

// NextAttempt says whether a delivery whose attempt-th try failed with err
// is offered again, and after how long: per Retry, the receiver's
// Retry-After winning when longer. Two failures are final: 410 Gone (the
// receiver wants no more deliveries) and the URL guard's refusal (the
// endpoint resolves to a private or local address, and asking again gives
// the same answer).
func NextAttempt(attempt int, err error) (time.Duration, bool) {
	if errors.Is(err, safefetch.ErrBlocked) {
		return 0, false
	}
	var de *DeliveryError
	after := time.Duration(0)
	if errors.As(err, &de) {
		if de.Status == http.StatusGone {
			return 0, false
		}
		after = de.RetryAfter
	}
	return Retry.Next(attempt, after)
}
