package generation

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// ReadOptions carry what the HTTP layer knows about a read.
type ReadOptions struct {
	PlatformDeadline time.Time
	BaseURL          string
}

// Get runs GET /generate/:id. A tenant reads its own generations, an admin
// any. A generation past its deadline is failed first; a long job due for a
// poll is polled once, within this request's budget, and finished when done.
// The rate state is returned with every outcome, for the headers.
func (r *Runner) Get(ctx context.Context, p *tryon.Principal, id uuid.UUID, opts ReadOptions) (*tryon.Generation, *tryon.RateState, error) {
	ctx = context.WithoutCancel(ctx)
	budget := NewBudget(r.now(), r.Settings.ReadMaxDuration, r.Settings.Margin, opts.PlatformDeadline, -1)
	read, err := r.Store.ReadGeneration(ctx, p, id, budget.Lifetime(), r.Settings.WebhookLease)
	if err != nil {
		return nil, rateOf(read), err
	}
	r.Notifier.Deliver(ctx, read.Expired, opts.BaseURL)
	g := read.Value
	if read.Claimed {
		g = r.advance(ctx, g, budget, opts.BaseURL)
	}
	return g, &read.Rate, nil
}

// rateOf is where a read left the key against its rate limit: nil when
// the read failed before the store counted it.
func rateOf[T any](read *tryon.Read[T]) *tryon.RateState {
	if read == nil {
		return nil
	}
	return &read.Rate
}

// advance polls a long job whose poll lease the caller holds, and finishes
// it when done. A poll that fails for a passing reason leaves the job alone:
// its own deadline decides when to give up.
func (r *Runner) advance(ctx context.Context, g *tryon.Generation, budget Budget, baseURL string) *tryon.Generation {
	provider := r.Providers.Named(g.Mode, g.Service, g.Provider)
	op, ok := provider.(tryon.Operator)
	if !ok {
		r.Log.Error("no operator for a long job", "generation", g.ID, "provider", g.Provider)
		return g
	}
	pctx, cancel := context.WithDeadline(ctx, budget.Work)
	out, err := timed(ctx, func() (*tryon.Result, error) { return op.Poll(pctx, g.Operation) })
	cancel()
	var res *Result
	switch {
	case err == nil && out == nil, err != nil && transient(err):
		if err != nil {
			r.Log.Warn("poll failed; will retry", "generation", g.ID, "error", err)
		}
		if err := r.Store.HoldPoll(ctx, g.ID, r.Settings.PollInterval); err != nil {
			r.Log.Error("hold poll", "generation", g.ID, "error", err)
		}
		return g
	case err != nil:
		res, err = r.finish(ctx, &Result{}, g.ID, r.failure(g.ID, err, false), budget, baseURL)
	default:
		res, err = r.complete(ctx, &Result{}, g.ID, out, budget, baseURL)
	}
	if err != nil {
		r.Log.Error("finish long job", "generation", g.ID, "error", err)
		return g
	}
	return res.Generation
}

// SweepReport says what one cron sweep did.
type SweepReport struct {
	Expired           int `json:"expired"`
	Polled            int `json:"polled"`
	Finished          int `json:"finished"`
	WebhooksDelivered int `json:"webhooks_delivered"`
	WebhooksFailed    int `json:"webhooks_failed"`
	// OutputsExpired counts generations whose outputs outlived their
	// tenant's retention and were deleted; BlobsDeleted the Blob URLs
	// deleted (erase.go).
	OutputsExpired     int  `json:"outputs_expired"`
	BlobsDeleted       int  `json:"blobs_deleted"`
	StoppedOnTimeLimit bool `json:"stopped_on_time_limit"`
}

// Sweep advances work nobody is reading: it fails generations past their
// deadline, polls long jobs oldest first, retries due webhook deliveries,
// and deletes outputs past their tenant's retention, within the cron
// function's budget.
func (r *Runner) Sweep(ctx context.Context, opts ReadOptions) (SweepReport, error) {
	ctx = context.WithoutCancel(ctx)
	budget := NewBudget(r.now(), r.Settings.SweepMaxDuration, r.Settings.Margin, opts.PlatformDeadline, -1)
	var rep SweepReport
	for {
		n, deliveries, err := r.Store.ExpireAll(ctx, 200, r.Settings.WebhookLease)
		if err != nil {
			return rep, err
		}
		rep.Expired += n
		r.Notifier.Deliver(ctx, deliveries, opts.BaseURL)
		if n < 200 {
			break
		}
	}
	for r.now().Before(budget.Work) {
		due, err := r.Store.ClaimDue(ctx, 4, budget.Kill.Sub(r.now()))
		if err != nil {
			return rep, err
		}
		if len(due) == 0 {
			break
		}
		for _, g := range due {
			rep.Polled++
			if after := r.advance(ctx, g, budget, opts.BaseURL); after.Status != tryon.StatusProcessing {
				rep.Finished++
			}
		}
	}
	for r.now().Before(budget.Work) {
		d, f := r.Notifier.DeliverDue(ctx, 20, opts.BaseURL)
		rep.WebhooksDelivered, rep.WebhooksFailed = rep.WebhooksDelivered+d, rep.WebhooksFailed+f
		if d+f == 0 {
			break
		}
	}
	if r.Eraser != nil && r.now().Before(budget.Work) {
		n, err := r.Eraser.ExpireDue(ctx, budget.Work)
		rep.OutputsExpired = n
		if err != nil {
			return rep, err
		}
		bctx, cancel := context.WithDeadline(ctx, budget.Work)
		rep.BlobsDeleted = r.Eraser.DeleteBlobs(bctx, blobBatches)
		cancel()
	}
	rep.StoppedOnTimeLimit = !r.now().Before(budget.Work)
	if err := r.Store.PurgeExpired(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return rep, err
	}
	return rep, nil
}
