package generation

import (
	"context"

	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// List runs GET /generations for a tenant: newest first, after failing any
// of its generations past their deadline, so no listing shows a generation
// stuck in processing.
func (r *Runner) List(ctx context.Context, p *tryon.Principal, f postgres.ListFilter, baseURL string) (postgres.Page, tryon.RateState, error) {
	ctx = context.WithoutCancel(ctx)
	read, err := r.Store.ListGenerations(ctx, p, f, r.Settings.WebhookLease)
	if err != nil {
		return postgres.Page{}, tryon.RateState{Limit: p.RequestsPerMinute()}, err
	}
	rate := read.Rate
	if rate.Exceeded() {
		return postgres.Page{}, rate, rate.Error()
	}
	r.Notifier.Deliver(ctx, read.Expired, baseURL)
	return read.Value, rate, nil
}
