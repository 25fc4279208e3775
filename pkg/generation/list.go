package generation

import (
	"context"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// List runs GET /generations for a tenant: newest first, after failing any
// of its generations past their deadline, so no listing shows a generation
// stuck in processing.
func (r *Runner) List(ctx context.Context, p *tryon.Principal, f tryon.ListFilter, baseURL string) (tryon.Page, *tryon.RateState, error) {
	ctx = context.WithoutCancel(ctx)
	read, err := r.Store.ListGenerations(ctx, p, f, r.Settings.WebhookLease)
	if err != nil {
		return tryon.Page{}, rateOf(read), err
	}
	r.Notifier.Deliver(ctx, read.Expired, baseURL)
	return read.Value, &read.Rate, nil
}
