package generation

import "time"

// Budget is the time a request may spend, computed once at its start
// (docs/DESIGN.md, "The time budget").
type Budget struct {
	Start time.Time
	// Kill is when the platform stops the function: start + maxDuration, or
	// the platform's own deadline when it sends one. A generation still
	// processing after it was abandoned by a killed process.
	Kill time.Time
	// Work is when provider calls must give up: Kill minus the margin kept
	// to store the result and answer.
	Work time.Time
	// Wait is when the caller stops waiting (Prefer: wait); a long-running
	// job answers 202 then, an image gives up.
	Wait time.Time
}

// NewBudget computes a request's budget. platformDeadline is ignored when
// zero, and wait when negative (no Prefer: wait).
func NewBudget(start time.Time, maxDuration, margin time.Duration, platformDeadline time.Time, wait time.Duration) Budget {
	b := Budget{Start: start, Kill: start.Add(maxDuration)}
	if !platformDeadline.IsZero() && platformDeadline.Before(b.Kill) {
		b.Kill = platformDeadline
	}
	b.Work = b.Kill.Add(-margin)
	if b.Work.Before(start) {
		b.Work = start
	}
	b.Wait = b.Work
	if wait >= 0 && start.Add(wait).Before(b.Wait) {
		b.Wait = start.Add(wait)
	}
	return b
}

// Lifetime is how long a generation admitted now may stay processing.
func (b Budget) Lifetime() time.Duration { return b.Kill.Sub(b.Start) }
