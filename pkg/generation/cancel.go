package generation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// Canceling a generation. The tenant's cancel is decided in the database
// alone (tryon_cancel), in one transaction, as a finish is: the generation
// leaves processing, which releases its reservation and slot, and is never
// charged. Whoever else is working on it finds out when it tries to finish:
// a POST still waiting for its image, a reader or the sweep that polled a
// video to the end all call tryon_finish, which refuses a row that is no
// longer processing (finished=false) and hands back the canceled row; the
// POST answers with it, nothing is charged, and an output staged in the
// database is not stored (FinishGeneration stores it only with a recorded
// success). Readers and the sweep never claim a canceled job, since they
// only poll processing ones.

// UpstreamCancelTimeout bounds the request to the provider to stop a
// canceled job: the tenant's cancel is already recorded, so a slow
// provider only delays the answer this long.
const UpstreamCancelTimeout = 10 * time.Second

// Cancel runs POST /generate/:id/cancel for a tenant key or a client token.
// A processing generation is canceled and its provider asked to stop its
// job where it can (best effort: a refusal there is logged and changes
// nothing here); a canceled one is returned as it is (idempotent); a
// finished one is returned with CodeGenerationFinished. The rate state is
// returned with every outcome, for the headers.
func (r *Runner) Cancel(ctx context.Context, p *tryon.Principal, id uuid.UUID, opts ReadOptions) (*tryon.Generation, *tryon.RateState, error) {
	ctx = context.WithoutCancel(ctx)
	read, err := r.Store.CancelGeneration(ctx, p, id, r.Settings.WebhookLease)
	if err != nil {
		return nil, rateOf(read), err
	}
	c := read.Value
	g := c.Generation
	// One delivery run for the webhooks this batch queued: the expired
	// generations' and this cancel's.
	deliveries := read.Expired
	if c.Outcome == tryon.CancelCanceled && c.DeliveryID != nil {
		deliveries = append(deliveries, *c.DeliveryID)
	}
	defer r.Notifier.Deliver(ctx, deliveries, opts.BaseURL)
	switch c.Outcome {
	case tryon.CancelCanceled:
		r.Log.Info("generation canceled", "generation", g.ID, "client_id", g.ClientID, "service", g.Service)
		if g.Operation != "" {
			r.cancelUpstream(ctx, g)
		}
	case tryon.CancelAlreadyCanceled:
	case tryon.CancelFinished:
		return g, &read.Rate, tryon.Errorf(tryon.CodeGenerationFinished,
			"the generation has already %s and can no longer be canceled", g.Status)
	default:
		return nil, &read.Rate, fmt.Errorf("cancel: unknown outcome %q", c.Outcome)
	}
	return g, &read.Rate, nil
}

// cancelUpstream asks the provider that runs a canceled long job to stop
// it. Providers that cannot cancel (or a job already done upstream) are
// left alone: nobody will poll the job again, so its output, if any, is
// never downloaded, stored or charged.
func (r *Runner) cancelUpstream(ctx context.Context, g *tryon.Generation) {
	canceler, ok := r.Providers.Named(g.Mode, g.Service, g.Provider).(tryon.Canceler)
	if !ok {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, UpstreamCancelTimeout)
	defer cancel()
	_, err := timed(ctx, func() (struct{}, error) { return struct{}{}, canceler.Cancel(cctx, g.Operation) })
	if err == nil {
		return
	}
	// The provider's own words go to the log (Detail), never its key:
	// providers redact their errors.
	var pe *tryon.ProviderError
	if errors.As(err, &pe) {
		r.Log.Warn("upstream cancel failed; the generation is canceled anyway", "generation", g.ID,
			"provider", pe.Provider, "kind", pe.Kind, "status", pe.Status, "detail", pe.Detail)
		return
	}
	r.Log.Warn("upstream cancel failed; the generation is canceled anyway", "generation", g.ID,
		"provider", g.Provider, "error", err)
}
