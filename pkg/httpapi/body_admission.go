package httpapi

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// Large request bodies are admitted into memory a few at a time.
//
// A POST /generate with two inline photos is a body of a few MB that
// becomes, while it is parsed and its images are decoded, the body, its
// base64 strings and the decoded files: about twice the body, held until
// the images are normalised, which waits for the decode budget
// (pkg/inputimage). Were every such request read as it arrives, a process
// under a flood of them would hold every waiting request's copies at once.
// So a body larger than smallBody waits, before it is read any further, for
// its size in a process-wide budget of BodyBudget bytes, and gives it back
// once the request no longer holds its images; a waiting request holds
// only its first smallBody bytes. The wait is FIFO and ends with the
// request's own budget, as 503 unavailable with Retry-After. Bodies up to
// smallBody (prompts, URLs, billing and token requests) never wait.
const (
	// BodyBudget is how many bytes of large bodies one process holds at
	// once: two bodies of the largest size, or three or four of the usual
	// size of two phone photos, which is as many as the decode budget can
	// decode at a time anyway.
	BodyBudget = 2 * MaxBodyBytes
	// smallBody is the largest body read without waiting for the budget.
	smallBody = 64 << 10
	// bodyRetryAfter is the hint of a 503 for a body that found no room
	// within its request's budget: large bodies are read and decoded
	// within seconds, so room comes back soon.
	bodyRetryAfter = 2 * time.Second
	// bodyReadTime is the time an admitted body has to arrive, from when
	// it was admitted: what `tryon serve` allows a whole request.
	bodyReadTime = time.Minute
)

// bodyGate is a budget of large bodies held in memory.
type bodyGate struct {
	sem *semaphore.Weighted
	// queued, when set, is called by each request that finds no room and
	// is about to wait: tests synchronise on it.
	queued func()
}

// bodies is the process's budget of large request bodies.
var bodies = &bodyGate{sem: semaphore.NewWeighted(BodyBudget)}

// bodyHold is a body's share of the budget. release gives it back; it may
// be called any number of times, from any goroutine, and on nil.
type bodyHold struct {
	once   sync.Once
	gate   *bodyGate
	weight int64
}

// admit waits for weight bytes of room until ctx ends, then refuses with
// 503 unavailable.
func (g *bodyGate) admit(ctx context.Context, weight int64) (*bodyHold, error) {
	if g.sem.TryAcquire(weight) {
		return &bodyHold{gate: g, weight: weight}, nil
	}
	if g.queued != nil {
		g.queued()
	}
	if err := g.sem.Acquire(ctx, weight); err != nil {
		return nil, &tryon.Error{Code: tryon.CodeUnavailable, RetryAfter: bodyRetryAfter,
			Message: "the server is busy reading other large requests; try again shortly",
			Cause:   fmt.Errorf("wait for %d bytes of body budget: %w", weight, err)}
	}
	return &bodyHold{gate: g, weight: weight}, nil
}

func (h *bodyHold) release() {
	if h == nil {
		return
	}
	h.once.Do(func() { h.gate.sem.Release(h.weight) })
}
