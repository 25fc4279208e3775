// Package generation runs generations from admission to their final state:
// it validates a request, fetches its input images, admits it (limits,
// idempotency, credits), calls the provider within the request's time
// budget, stores the output, and settles or releases the money. Long-running
// jobs (video) are finished by later requests: reads of the generation and
// the cron sweep. It holds no database connection while a provider works.
package generation

import (
	"context"
	"log/slog"
	"time"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// Providers chooses the provider for a generation.
type Providers struct {
	// Live serves live keys, per service.
	Live map[tryon.Service]tryon.Provider
	// Test serves every test key: the local fake provider, never billed.
	Test tryon.Provider
}

// For returns the provider for a mode and service.
func (p Providers) For(mode tryon.Mode, s tryon.Service) tryon.Provider {
	if mode == tryon.ModeTest {
		return p.Test
	}
	return p.Live[s]
}

// Named returns the provider that started a generation, by its recorded
// name, so a later request polls the same one.
func (p Providers) Named(mode tryon.Mode, s tryon.Service, name string) tryon.Provider {
	if pr := p.For(mode, s); pr != nil && pr.Name() == name {
		return pr
	}
	if p.Test != nil && p.Test.Name() == name {
		return p.Test
	}
	for _, pr := range p.Live {
		if pr.Name() == name {
			return pr
		}
	}
	return nil
}

// Settings are the runner's timings and prices.
type Settings struct {
	// MaxDuration is the generate function's maxDuration, ReadMaxDuration
	// GET /generate/:id's and SweepMaxDuration the cron function's.
	MaxDuration      time.Duration
	ReadMaxDuration  time.Duration
	SweepMaxDuration time.Duration
	Margin           time.Duration
	LongJobDeadline  time.Duration
	// PollInterval spaces out polls of a running job by readers.
	PollInterval time.Duration
	// WebhookLease keeps the sweep off a delivery its finisher is sending.
	WebhookLease time.Duration
	DefaultPrice func(tryon.Service) tryon.Micros
}

// Runner runs generations. It is safe for concurrent use.
type Runner struct {
	Store     Store
	Providers Providers
	Storage   tryon.Storage
	Fetcher   tryon.Fetcher
	Notifier  *Notifier
	// Eraser deletes outputs on request and past their retention (erase.go).
	Eraser   *Eraser
	Settings Settings
	Log      *slog.Logger
	Now      func() time.Time

	unfinished unfinished
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// timed runs a provider call and adds its duration to the request's timings.
func timed[T any](ctx context.Context, f func() (T, error)) (T, error) {
	start := time.Now()
	v, err := f()
	tryon.TimingsFrom(ctx).AddUpstream(time.Since(start))
	return v, err
}
