package generation

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// unfinished is what this instance could not finish because the database
// was down: generations whose provider call ended but whose output could
// not be stored or whose settlement could not be recorded. One goroutine
// retries them, from 100 ms up to every second, and stops when none is
// left, so they are settled (or released) as soon as the database answers
// again rather than held until their deadline. A generation that passes its
// deadline meanwhile is failed by the settlement itself ("the deadline
// wins"), so nothing is charged late. Lost only if the process dies; the
// deadline then releases it, as for any crash.
type unfinished struct {
	mu      sync.Mutex
	pending map[uuid.UUID]pending
	running bool
}

// pending is one remembered generation: its output still to be stored, or
// its completion still to be recorded. The completion carries the
// admission (Readmit) from the start, so that finishing can record it
// again if the database lost it (see Runner.finish).
type pending struct {
	output     *tryon.Result
	completion tryon.Completion
	baseURL    string
}

// remember adds a generation, starting the retrying goroutine when idle.
func (u *unfinished) remember(r *Runner, id uuid.UUID, p pending) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.pending == nil {
		u.pending = map[uuid.UUID]pending{}
	}
	u.pending[id] = p
	r.Log.Warn("generation could not be finished; it is retried until the database is back", "generation", id)
	if !u.running {
		u.running = true
		go u.drain(r)
	}
}

// Unfinished returns how many generations this instance still has to
// finish once the database is back.
func (r *Runner) Unfinished() int {
	r.unfinished.mu.Lock()
	defer r.unfinished.mu.Unlock()
	return len(r.unfinished.pending)
}

func (u *unfinished) drain(r *Runner) {
	backoff := 100 * time.Millisecond
	for {
		u.mu.Lock()
		if len(u.pending) == 0 {
			u.running = false
			u.mu.Unlock()
			return
		}
		batch := maps.Clone(u.pending)
		u.mu.Unlock()
		for id, p := range batch {
			done, next := r.settleRemembered(id, p)
			u.mu.Lock()
			if done {
				delete(u.pending, id)
			} else {
				u.pending[id] = next
			}
			u.mu.Unlock()
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, time.Second)
	}
}

// settleRemembered tries once to finish a remembered generation. Not done
// means the database is still unavailable; next is what is left to do (an
// output once stored is not stored again).
func (r *Runner) settleRemembered(id uuid.UUID, p pending) (done bool, next pending) {
	ctx := context.Background()
	if p.output != nil {
		c, err := r.store(ctx, id, p.output, time.Time{})
		if err != nil {
			return false, p
		}
		c.Readmit = p.completion.Readmit
		p = pending{completion: c, baseURL: p.baseURL}
	}
	f, err := r.Store.FinishGeneration(ctx, id, p.completion, r.Settings.WebhookLease)
	if isUnavailable(err) {
		return false, p
	}
	if err != nil {
		// Not the database being down: the deadline releases it.
		r.Log.Error("finish remembered generation", "generation", id, "error", err)
		return true, p
	}
	r.logReadmitted(id, f)
	r.Log.Info("generation finished after the database came back", "generation", id, "status", f.Generation.Status)
	if f.DeliveryID != nil {
		r.Notifier.Deliver(ctx, []uuid.UUID{*f.DeliveryID}, p.baseURL)
	}
	return true, p
}
