package billing

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/webhook"
)

// MeterEvent is one usage record on its way to Stripe Billing: a meter event
// whose identifier is the generation id, so that Stripe counts it once
// however many times it is sent.
type MeterEvent struct {
	GenerationID uuid.UUID
	ClientID     uuid.UUID
	CustomerID   string
	// ValueMicros is what the generation cost: the meter sums micro-dollars,
	// and the Stripe price charges 0.0001 cents (one micro-dollar) per unit.
	ValueMicros int64
	OccurredAt  time.Time
	// Attempts counts the sends before this one.
	Attempts int
}

// MeterStore is the outbox of meter events. A usage record's event is
// written with it, in the transaction that charges the generation.
type MeterStore interface {
	// ClaimMeterEvents takes up to limit due pending events and moves their
	// next attempt lease ahead, so no other drain sends them meanwhile.
	ClaimMeterEvents(ctx context.Context, limit int, lease time.Duration) ([]MeterEvent, error)
	// MarkMeterEventSent records that Stripe accepted the event.
	MarkMeterEventSent(ctx context.Context, generationID uuid.UUID) error
	// RetryMeterEvent records a failed send: retried at retryAt, or failed
	// for good when retryAt is zero.
	RetryMeterEvent(ctx context.Context, generationID uuid.UUID, errMsg string, retryAt time.Time) error
}

// MeterSender sends one meter event to Stripe.
type MeterSender interface {
	SendMeterEvent(ctx context.Context, e MeterEvent) error
}

// ErrPermanent marks a send that will fail the same way if retried (Stripe
// refused the request itself); the event is failed at once.
var ErrPermanent = errors.New("stripe refused the request")

// MeterMaxAttempts is how many sends an event gets before it is failed: the
// webhook schedule's (webhook.Retry, whose waits the meter uses too), about
// three days, well within the 35 days Stripe accepts an event's timestamp.
const MeterMaxAttempts = webhook.MaxAttempts

// Meter drains the outbox to Stripe. It runs in the cron sweep, never on a
// request's path.
type Meter struct {
	Store  MeterStore
	Sender MeterSender
	Log    *slog.Logger
	// Lease is how long a claimed event is kept from other drains: longer
	// than one send can take.
	Lease time.Duration
}

// MeterOutbox counts the outbox's unsent events, for metrics.
type MeterOutbox struct {
	Pending int64 `json:"pending"`
	Failed  int64 `json:"failed"`
	// OldestPendingSeconds is how long the oldest pending event has waited.
	OldestPendingSeconds int64 `json:"oldest_pending_seconds"`
}

// DrainReport says what one drain did.
type DrainReport struct {
	Sent   int `json:"sent"`
	Retry  int `json:"retry"`
	Failed int `json:"failed"`
}

// Drain sends due events, batch by batch, until none is due, ctx ends or
// max events were tried. A drain killed between a send and its record leaves
// the event leased; once the lease ends it is sent again with the same
// identifier, which Stripe deduplicates.
func (m *Meter) Drain(ctx context.Context, max int) (DrainReport, error) {
	var rep DrainReport
	for tried := 0; tried < max && ctx.Err() == nil; {
		batch, err := m.Store.ClaimMeterEvents(ctx, min(20, max-tried), m.Lease)
		if err != nil {
			return rep, err
		}
		if len(batch) == 0 {
			break
		}
		for _, e := range batch {
			tried++
			if err := m.send(ctx, e, &rep); err != nil {
				return rep, err
			}
		}
	}
	return rep, nil
}

func (m *Meter) send(ctx context.Context, e MeterEvent, rep *DrainReport) error {
	sendErr := m.Sender.SendMeterEvent(ctx, e)
	if sendErr == nil {
		rep.Sent++
		return m.Store.MarkMeterEventSent(ctx, e.GenerationID)
	}
	if ctx.Err() != nil {
		// Not Stripe's answer: we are out of time. The lease brings it back.
		return ctx.Err()
	}
	var retryAt time.Time
	if attempt := e.Attempts + 1; attempt < MeterMaxAttempts && !errors.Is(sendErr, ErrPermanent) {
		retryAt = time.Now().Add(webhook.Retry.Backoff(attempt))
		rep.Retry++
	} else {
		rep.Failed++
	}
	m.Log.Warn("stripe meter event not sent", "generation_id", e.GenerationID, "client_id", e.ClientID,
		"attempt", e.Attempts+1, "error", sendErr.Error(), "retry", !retryAt.IsZero())
	return m.Store.RetryMeterEvent(ctx, e.GenerationID, sendErr.Error(), retryAt)
}
