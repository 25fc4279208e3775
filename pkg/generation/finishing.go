package generation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/media"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// Finishing a generation (storing its output, then settling or releasing
// its money) must survive a brief database outage: the provider has done
// the work and, for a live key, been paid. So each step that fails because
// the database is unavailable is retried until the request's finishing
// time (finishBy) runs out; the client then gets its result late rather
// than an error. What still cannot be finished is remembered by the
// instance (unfinished.go) and finished as soon as the database answers
// again, not at the generation's deadline, so that the tenant's slots and
// reservation come back at once and a retry with the same Idempotency-Key
// replays the result.

// complete stores a provider's output and finishes the generation as
// succeeded, or as failed when the output cannot be stored for a reason
// other than the database being down.
func (r *Runner) complete(ctx context.Context, res *Result, id uuid.UUID, out *tryon.Result, budget Budget, baseURL string) (*Result, error) {
	c, err := r.store(ctx, id, out, r.finishBy(budget))
	if err != nil {
		r.unfinished.remember(r, id, pending{output: out, completion: tryon.Completion{Readmit: res.admission}, baseURL: baseURL})
		return nil, err
	}
	res, err = r.finish(ctx, res, id, c, budget, baseURL)
	if err == nil {
		r.discardUnrecorded(ctx, c, res.Generation)
	}
	return res, err
}

// finish records the end of a generation, then sends its webhook. The
// generation's admission goes with it: admission commits asynchronously,
// so a database crash may have lost it, and the paid result is then
// finished by recording the admission again (tryon_readmit).
func (r *Runner) finish(ctx context.Context, res *Result, id uuid.UUID, c tryon.Completion, budget Budget, baseURL string) (*Result, error) {
	c.Readmit = res.admission
	var f *tryon.FinishResult
	err := retryUnavailable(ctx, r.finishBy(budget), func() (err error) {
		f, err = r.Store.FinishGeneration(ctx, id, c, r.Settings.WebhookLease)
		return err
	})
	if err != nil {
		if isUnavailable(err) {
			r.unfinished.remember(r, id, pending{completion: c, baseURL: baseURL})
		}
		return nil, err
	}
	r.logReadmitted(id, f)
	res.Generation = f.Generation
	if f.CreditsRemaining != nil {
		res.CreditsRemaining = f.CreditsRemaining
	}
	if !f.Finished {
		// Someone else finished it (a cancel, say) and released its
		// reservation: admission's figure is stale, so the request
		// wrapper looks the credits up again.
		res.CreditsRemaining, res.CreditsKnown = nil, false
	}
	if f.DeliveryID != nil {
		r.Notifier.Deliver(ctx, []uuid.UUID{*f.DeliveryID}, baseURL)
	}
	return res, nil
}

// logReadmitted says when finishing had to record a lost admission again.
func (r *Runner) logReadmitted(id uuid.UUID, f *tryon.FinishResult) {
	if f.Readmitted {
		r.Log.Warn("the generation's admission was lost by the database; recorded again and finished",
			"generation", id, "status", f.Generation.Status)
	}
}

// finishBy is when a request stops retrying its finishing steps: a third
// of the way through the margin kept after provider work, so that the
// answer is still written in time and what the instance remembers can
// still be settled within the generation's deadline once the database is
// back.
func (r *Runner) finishBy(b Budget) time.Time {
	return b.Work.Add(b.Kill.Sub(b.Work) / 3)
}

// store copies a provider's outputs into storage, the first under the
// generation's id and output i (from 1) under id-(i+1). A storage failure
// that is the database being unavailable is retried until until, then
// returned as an error (the outputs are kept by the caller). Any other
// failure of the first output becomes the generation's failure; of a later
// one, it ends the storing: the outputs stored so far are a partial
// success, settled for what they are, so none of them is left in storage
// with nothing pointing at it.
func (r *Runner) store(ctx context.Context, id uuid.UUID, out *tryon.Result, until time.Time) (tryon.Completion, error) {
	c := tryon.Completion{Succeeded: true}
	for i, o := range out.All() {
		ctype, w, h := o.ContentType, o.Width, o.Height
		if info, ok := media.Sniff(o.Bytes); ok {
			ctype = info.ContentType
			if info.IsImage() {
				w, h = info.Width, info.Height
			}
		}
		name := id.String()
		if i > 0 {
			name += fmt.Sprintf("-%d", i+1)
		}
		name += extension(ctype)
		var url string
		var staged *tryon.StagedOutput
		err := retryUnavailable(ctx, until, func() (err error) {
			if st, ok := r.Storage.(tryon.Stager); ok {
				// Storage in the database: the output is written by the
				// transaction that records the success, saving a round
				// trip and a commit.
				url, staged, err = st.Stage(name, ctype, o.Bytes)
				return err
			}
			url, err = r.Storage.Put(ctx, name, ctype, o.Bytes)
			return err
		})
		if isUnavailable(err) {
			return tryon.Completion{}, err
		}
		if err != nil {
			r.Log.Error("store output", "generation", id, "output", i, "error", err)
			if i > 0 {
				return c, nil
			}
			return tryon.Completion{Error: &tryon.GenerationError{Code: tryon.CodeUpstreamError,
				Message: "the output could not be stored"}}, nil
		}
		c.Outputs = append(c.Outputs, tryon.Output{URL: url, ContentType: ctype, Width: w, Height: h, Bytes: int64(len(o.Bytes))})
		if staged != nil {
			c.Staged = append(c.Staged, staged)
		}
	}
	return c, nil
}

// isUnavailable reports whether err says the database could not be reached.
func isUnavailable(err error) bool {
	var te *tryon.Error
	return errors.As(err, &te) && te.Code == tryon.CodeUnavailable
}

// retryUnavailable runs f until it succeeds, fails for another reason than
// the database being unavailable, or until passes, backing off from 50 ms
// to 1 s between attempts.
func retryUnavailable(ctx context.Context, until time.Time, f func() error) error {
	backoff := 50 * time.Millisecond
	for {
		err := f()
		if err == nil || !isUnavailable(err) {
			return err
		}
		wait := min(backoff, time.Until(until))
		if wait <= 0 || tryon.Sleep(ctx, wait) != nil {
			return err
		}
		backoff = min(2*backoff, time.Second)
	}
}
