package generation

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/tryon"
	"github.com/tryonhq/tryon/pkg/webhook"
	"github.com/tryonhq/tryon/pkg/wire"
)

// EventDeleted is the webhook of an erased generation (erase.go).
const EventDeleted = "generation.deleted"

// Notifier delivers generation.succeeded, generation.failed,
// generation.canceled and generation.deleted webhooks. Deliveries are
// queued by the transaction that finalises a generation (tryon_finish,
// tryon_cancel) or erases it (tryon_erase);
// whichever request finalised it sends it at once, and the cron sweep
// retries failures as webhook.NextAttempt says, up to webhook.MaxAttempts.
type Notifier struct {
	Store  DeliveryStore
	Sender *webhook.Sender
	Log    *slog.Logger
	// Lease keeps others off a delivery while one sender is at it; longer
	// than a delivery can take.
	Lease time.Duration
}

// InlineDeliveryTimeout bounds the attempt a request makes before it
// answers, whatever WEBHOOK_TIMEOUT allows the sweep: a slow receiver must
// not hold up the tenant's answer, and the sweep retries what did not get
// through in time.
const InlineDeliveryTimeout = 2 * time.Second

// Deliver sends the deliveries with the given ids (queued by this request),
// within InlineDeliveryTimeout, and records each outcome. baseURL makes
// output URLs absolute in the payloads.
func (n *Notifier) Deliver(ctx context.Context, ids []uuid.UUID, baseURL string) {
	if n == nil || len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, InlineDeliveryTimeout)
	defer cancel()
	n.deliver(ctx, ids, len(ids), baseURL)
}

// DeliverDue sends up to limit pending deliveries whose next attempt is due,
// for the cron sweep, and says how many were delivered and failed.
func (n *Notifier) DeliverDue(ctx context.Context, limit int, baseURL string) (delivered, failed int) {
	if n == nil {
		return 0, 0
	}
	return n.deliver(ctx, nil, limit, baseURL)
}

func (n *Notifier) deliver(ctx context.Context, ids []uuid.UUID, limit int, baseURL string) (delivered, failed int) {
	claimed, err := n.Store.ClaimDeliveries(ctx, ids, limit, n.Lease)
	if err != nil {
		n.Log.Error("claim webhook deliveries", "error", err)
		return 0, 0
	}
	for _, d := range claimed {
		if n.send(ctx, d, baseURL) {
			delivered++
		} else {
			failed++
		}
	}
	return delivered, failed
}

func (n *Notifier) send(ctx context.Context, d tryon.Delivery, baseURL string) bool {
	g := d.Generation
	stamp := g.CreatedAt
	if g.CompletedAt != nil {
		stamp = *g.CompletedAt
	}
	if d.Event == EventDeleted && g.ErasedAt != nil {
		stamp = *g.ErasedAt
	}
	body, err := json.Marshal(wire.Event{Type: d.Event, Timestamp: wire.Time(stamp), Data: wire.FromGeneration(g, baseURL)})
	if err != nil {
		n.Log.Error("render webhook", "delivery", d.ID, "error", err)
		return false
	}
	msgID := "msg_" + strings.ReplaceAll(d.ID.String(), "-", "")
	status, sendErr := n.Sender.Send(ctx, d.URL, d.Secret, msgID, time.Now(), body)
	attempt := d.Attempts + 1
	var retryAt time.Time
	errMsg := ""
	if sendErr != nil {
		errMsg = sendErr.Error()
		if wait, again := webhook.NextAttempt(attempt, sendErr); again {
			retryAt = time.Now().Add(wait)
		}
		n.Log.Warn("webhook delivery failed", "delivery", d.ID, "generation", g.ID, "client_id", g.ClientID,
			"attempt", attempt, "status", status, "error", errMsg, "final", retryAt.IsZero())
	}
	// Recorded with a fresh context: the request's may be nearly spent.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := n.Store.RecordDelivery(rctx, d.ID, sendErr == nil, status, errMsg, retryAt); err != nil {
		n.Log.Error("record webhook delivery", "delivery", d.ID, "error", err)
	}
	return sendErr == nil
}
