package webhook

import (
	"math/rand/v2"
	"time"
)

// MaxAttempts is how many times one event is offered to an endpoint before
// the delivery is marked failed: the first attempt and nine retries spread
// over about three days, the example schedule of the Standard Webhooks
// specification ("Deliverability and reliability").
const MaxAttempts = 10

// schedule is the specification's example: the wait after the first,
// second... failed attempt.
var schedule = [MaxAttempts - 1]time.Duration{
	5 * time.Second,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	5 * time.Hour,
	10 * time.Hour,
	14 * time.Hour,
	20 * time.Hour,
	24 * time.Hour,
}

// Backoff returns how long to wait after the attempt-th failed delivery of an
// event (counting from 1) before the next: 5s, 5m, 30m, 2h, 5h, 10h, 14h, 20h,
// 24h, plus up to 10% of random jitter, which the specification recommends
// so that endpoints failing under load are not all retried at once. Attempt 0
// or less gives 0, as the first attempt is immediate; attempts past the
// schedule get its last step, though callers stop after MaxAttempts. A
// receiver's Retry-After (DeliveryError.RetryAfter), when longer, should win.
func Backoff(attempt int) time.Duration {
	if attempt <= 0 {
		return 0
	}
	d := schedule[min(attempt, len(schedule))-1]
	return d + rand.N(d/10)
}
