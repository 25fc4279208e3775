package billing

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// MicrosPerCent is one US cent in micro-dollars: Checkout charges whole cents.
const MicrosPerCent = 10_000

// CheckoutRequest asks Stripe for a Checkout session that pays a top-up.
type CheckoutRequest struct {
	ClientID     uuid.UUID
	ClientName   string
	CustomerID   string // the tenant's Stripe customer, if linked
	AmountMicros tryon.Micros
	SuccessURL   string
	CancelURL    string
	// IdempotencyKey is sent to Stripe, which answers a repeat with the
	// session it created the first time; empty sends none of ours.
	IdempotencyKey string
}

// Checkout is a created Checkout session.
type Checkout struct {
	SessionID string
	URL       string
}

// CheckoutCreator creates Checkout sessions.
type CheckoutCreator interface {
	CreateCheckout(ctx context.Context, r CheckoutRequest) (*Checkout, error)
}

// StripeEvent is a webhook event whose signature was checked.
type StripeEvent struct {
	ID      string
	Type    string
	Session *CheckoutSession // for checkout.session.* events
}

// CheckoutSession is what a top-up needs of a Checkout session.
type CheckoutSession struct {
	ID            string
	PaymentStatus string // "paid" once the money is captured
	AmountTotal   int64  // cents
	Currency      string
	Metadata      map[string]string
}

// EventVerifier checks a webhook's signature and decodes its event.
type EventVerifier interface {
	VerifyEvent(payload []byte, signature string) (*StripeEvent, error)
}

// Topup is a paid top-up to credit.
type Topup struct {
	EventID      string
	EventType    string
	SessionID    string
	ClientID     uuid.UUID
	AmountMicros tryon.Micros
}

// Top-up outcomes, as recorded for the event.
const (
	TopupCredited        = "credited"
	TopupDuplicateEvent  = "duplicate_event"
	TopupAlreadyCredited = "already_credited"
	TopupNotPrepaid      = "not_credited_postpaid"
)

// SavedCheckout is a Checkout session created under an Idempotency-Key.
type SavedCheckout struct {
	RequestHash  []byte // of the request that created it: amount and return URLs
	SessionID    string
	URL          string
	AmountMicros tryon.Micros
}

// TopupStore credits top-ups.
type TopupStore interface {
	// FindTopupCheckout returns the session created under key in the last
	// 24 hours, or nil.
	FindTopupCheckout(ctx context.Context, clientID uuid.UUID, key string) (*SavedCheckout, error)
	// SaveTopupCheckout records c under key and returns the session on
	// record: c, or one a concurrent request recorded first.
	SaveTopupCheckout(ctx context.Context, clientID uuid.UUID, key string, c SavedCheckout) (*SavedCheckout, error)
	// StripeCustomer returns the tenant's linked Stripe customer, or "".
	StripeCustomer(ctx context.Context, clientID uuid.UUID) (string, error)
	// CreditTopup records the event and, the first time its session is
	// seen, credits the tenant with a ledger entry, in one transaction.
	CreditTopup(ctx context.Context, t Topup) (outcome string, err error)
	// RecordStripeEvent records an event that credits nothing; first is
	// false when it was recorded before.
	RecordStripeEvent(ctx context.Context, id, typ, outcome string) (first bool, err error)
}

// Topups takes prepaid top-ups through Stripe Checkout.
type Topups struct {
	Store    TopupStore
	Checkout CheckoutCreator
	Events   EventVerifier
	Log      *slog.Logger
	// MinMicros and MaxMicros bound one top-up.
	MinMicros, MaxMicros tryon.Micros
}

// TopupRequest is a tenant's request for a top-up.
type TopupRequest struct {
	AmountMicros          tryon.Micros
	SuccessURL, CancelURL string
	// IdempotencyKey, when set, makes a retry answer with the session the
	// first request created (Replayed), for 24 hours.
	IdempotencyKey *string
}

// hash identifies what was asked: a key reused with another request is
// refused rather than answered with a session for a different amount.
func (r TopupRequest) hash() []byte {
	h := sha256.New()
	fmt.Fprintf(h, "%d\x00%s\x00%s", r.AmountMicros, r.SuccessURL, r.CancelURL)
	return h.Sum(nil)
}

// Start creates the Checkout session a prepaid tenant pays a top-up with.
// Replayed is true when an Idempotency-Key found the session an earlier
// request created.
func (t *Topups) Start(ctx context.Context, c *tryon.Client, req TopupRequest) (co *Checkout, replayed bool, err error) {
	if req.IdempotencyKey == nil {
		co, err = t.create(ctx, c, req)
		return co, false, err
	}
	key, hash := *req.IdempotencyKey, req.hash()
	prior, err := t.Store.FindTopupCheckout(ctx, c.ID, key)
	if err != nil {
		return nil, false, err
	}
	if prior == nil {
		co, err = t.create(ctx, c, req)
		if err != nil {
			return nil, false, err
		}
		prior, err = t.Store.SaveTopupCheckout(ctx, c.ID, key, SavedCheckout{RequestHash: hash,
			SessionID: co.SessionID, URL: co.URL, AmountMicros: req.AmountMicros})
		if err != nil {
			return nil, false, err
		}
		if prior.SessionID == co.SessionID {
			return co, false, nil
		}
		// A concurrent request with the same key recorded its session
		// first; Stripe was sent the same Idempotency-Key, so in
		// production both are the same session anyway.
		replayed = true
	} else {
		replayed = true
	}
	if !bytes.Equal(prior.RequestHash, hash) {
		return nil, false, tryon.Errorf(tryon.CodeIdempotencyMismatch, "this Idempotency-Key was used with a different request")
	}
	return &Checkout{SessionID: prior.SessionID, URL: prior.URL}, replayed, nil
}

// create checks the request and asks Stripe for the session.
func (t *Topups) create(ctx context.Context, c *tryon.Client, req TopupRequest) (*Checkout, error) {
	amount := req.AmountMicros
	if c.BalanceMicros == nil {
		return nil, tryon.Errorf(tryon.CodeInvalidRequest, "this account is postpaid: it is invoiced monthly and takes no top-ups")
	}
	if amount < t.MinMicros || amount > t.MaxMicros || amount%MicrosPerCent != 0 {
		return nil, tryon.Invalid(tryon.FieldError{Field: "amount_micros",
			Message: fmt.Sprintf("must be whole cents (a multiple of %d) from %d to %d", MicrosPerCent, t.MinMicros, t.MaxMicros)})
	}
	customer, err := t.Store.StripeCustomer(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	cr := CheckoutRequest{ClientID: c.ID, ClientName: c.Name, CustomerID: customer,
		AmountMicros: amount, SuccessURL: req.SuccessURL, CancelURL: req.CancelURL}
	if req.IdempotencyKey != nil {
		// Scoped to the tenant, so two tenants' keys never meet at Stripe.
		cr.IdempotencyKey = "tryon-topup-" + c.ID.String() + "-" + *req.IdempotencyKey
	}
	return t.Checkout.CreateCheckout(ctx, cr)
}

// HandleWebhook verifies and applies one Stripe webhook delivery. It
// returns what it did; an error means Stripe should retry (or, for a bad
// signature, that the delivery is refused).
func (t *Topups) HandleWebhook(ctx context.Context, payload []byte, signature string) (string, error) {
	ev, err := t.Events.VerifyEvent(payload, signature)
	if err != nil {
		return "", tryon.Errorf(tryon.CodeInvalidRequest, "the Stripe-Signature does not verify: %v", err)
	}
	switch ev.Type {
	case "checkout.session.completed", "checkout.session.async_payment_succeeded":
	default:
		return t.record(ctx, ev, "ignored")
	}
	s := ev.Session
	if s == nil || s.PaymentStatus != "paid" {
		// An asynchronous payment completes the session unpaid; its
		// async_payment_succeeded event credits it later.
		return t.record(ctx, ev, "unpaid")
	}
	clientID, err := uuid.Parse(s.Metadata["client_id"])
	if err != nil || s.Currency != "usd" || s.AmountTotal <= 0 {
		t.Log.Error("stripe checkout session is not a top-up", "event_id", ev.ID, "session_id", s.ID, "currency", s.Currency)
		return t.record(ctx, ev, "not_a_topup")
	}
	outcome, err := t.Store.CreditTopup(ctx, Topup{EventID: ev.ID, EventType: ev.Type, SessionID: s.ID,
		ClientID: clientID, AmountMicros: tryon.Micros(s.AmountTotal * MicrosPerCent)})
	if errors.Is(err, tryon.ErrNotFound) {
		// The tenant was deleted after it paid: retrying cannot help.
		t.Log.Error("stripe top-up for an unknown tenant: not credited", "event_id", ev.ID, "session_id", s.ID, "client_id", clientID)
		return t.record(ctx, ev, "unknown_client")
	}
	if err != nil {
		return "", err
	}
	if outcome == TopupNotPrepaid {
		t.Log.Error("stripe top-up paid by a postpaid tenant: not credited, refund or credit it by hand",
			"event_id", ev.ID, "session_id", s.ID, "client_id", clientID)
	}
	return outcome, nil
}

func (t *Topups) record(ctx context.Context, ev *StripeEvent, outcome string) (string, error) {
	first, err := t.Store.RecordStripeEvent(ctx, ev.ID, ev.Type, outcome)
	if err != nil {
		return "", err
	}
	if !first {
		return TopupDuplicateEvent, nil
	}
	return outcome, nil
}
