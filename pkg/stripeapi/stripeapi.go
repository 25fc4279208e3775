// Package stripeapi is Tryon's side of Stripe, through the official
// library (github.com/stripe/stripe-go): it sends Billing meter events,
// creates Checkout sessions for top-ups and verifies webhook signatures, in
// the billing package's types.
package stripeapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"
	"github.com/tryonhq/tryon/pkg/billing"
)

// Config is what the client needs.
type Config struct {
	SecretKey string
	// WebhookSecret is the webhook endpoint's signing secret (whsec_...).
	WebhookSecret string
	// APIURL is Stripe's API base; stripe-mock's in tests.
	APIURL string
	// MeterEventName is the event_name of the Stripe meter usage is sent to.
	MeterEventName string
	// HTTPClient makes the calls; nil means one with a 30s timeout.
	HTTPClient *http.Client
}

// Client talks to Stripe.
type Client struct {
	cfg Config
	sc  *stripe.Client
}

// New returns a Client.
func New(cfg Config) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	bc := &stripe.BackendConfig{
		HTTPClient: hc,
		// The drain retries on its own schedule; within one call stripe-go
		// retries twice on network errors, with the same Idempotency-Key.
		MaxNetworkRetries: stripe.Int64(2),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	}
	if cfg.APIURL != "" {
		bc.URL = stripe.String(cfg.APIURL)
	}
	return &Client{cfg: cfg, sc: stripe.NewClient(cfg.SecretKey, stripe.WithBackends(stripe.NewBackendsWithConfig(bc)))}
}

// SendMeterEvent sends one usage record as a meter event. Its identifier is
// the generation id, which Stripe deduplicates for at least 24 hours, and
// the request's Idempotency-Key is derived from it too, so a resend after a
// crash or a lost answer counts once.
func (c *Client) SendMeterEvent(ctx context.Context, e billing.MeterEvent) error {
	params := &stripe.BillingMeterEventCreateParams{
		EventName:  stripe.String(c.cfg.MeterEventName),
		Identifier: stripe.String(e.GenerationID.String()),
		Payload: map[string]string{
			"stripe_customer_id": e.CustomerID,
			"value":              strconv.FormatInt(e.ValueMicros, 10),
		},
		Timestamp: stripe.Int64(e.OccurredAt.Unix()),
	}
	params.SetIdempotencyKey("tryon-meter-" + e.GenerationID.String())
	_, err := c.sc.V1BillingMeterEvents.Create(ctx, params)
	return classify(err)
}

// CreateCheckout creates a Checkout session (mode payment) for a top-up,
// with the tenant's id in its metadata for the webhook.
func (c *Client) CreateCheckout(ctx context.Context, r billing.CheckoutRequest) (*billing.Checkout, error) {
	cents := int64(r.AmountMicros) / billing.MicrosPerCent
	params := &stripe.CheckoutSessionCreateParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModePayment)),
		SuccessURL:        stripe.String(r.SuccessURL),
		CancelURL:         stripe.String(r.CancelURL),
		ClientReferenceID: stripe.String(r.ClientID.String()),
		// The payer pays in US dollars: with Adaptive Pricing the session's
		// amount would be in the payer's currency, not the credit's.
		AdaptivePricing: &stripe.CheckoutSessionCreateAdaptivePricingParams{Enabled: stripe.Bool(false)},
		LineItems: []*stripe.CheckoutSessionCreateLineItemParams{{
			Quantity: stripe.Int64(1),
			PriceData: &stripe.CheckoutSessionCreateLineItemPriceDataParams{
				Currency:   stripe.String("usd"),
				UnitAmount: stripe.Int64(cents),
				ProductData: &stripe.CheckoutSessionCreateLineItemPriceDataProductDataParams{
					Name: stripe.String("Tryon prepaid credit"),
				},
			},
		}},
		Metadata: map[string]string{
			"client_id":     r.ClientID.String(),
			"amount_micros": strconv.FormatInt(int64(r.AmountMicros), 10),
		},
	}
	if r.CustomerID != "" {
		params.Customer = stripe.String(r.CustomerID)
	}
	if r.IdempotencyKey != "" {
		params.SetIdempotencyKey(r.IdempotencyKey)
	}
	s, err := c.sc.V1CheckoutSessions.Create(ctx, params)
	if err != nil {
		return nil, classify(err)
	}
	return &billing.Checkout{SessionID: s.ID, URL: s.URL}, nil
}

// VerifyEvent checks the Stripe-Signature header against the endpoint's
// secret (and that it was signed within five minutes) and decodes the
// event. The event's API version may differ from the library's: only the
// fields of a Checkout session that have been stable for years are read.
func (c *Client) VerifyEvent(payload []byte, signature string) (*billing.StripeEvent, error) {
	if c.cfg.WebhookSecret == "" {
		return nil, errors.New("STRIPE_WEBHOOK_SECRET is not set")
	}
	ev, err := webhook.ConstructEventWithOptions(payload, signature, c.cfg.WebhookSecret,
		webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil {
		return nil, err
	}
	out := &billing.StripeEvent{ID: ev.ID, Type: string(ev.Type)}
	if ev.Data != nil && len(ev.Data.Raw) > 0 && strings.HasPrefix(out.Type, "checkout.session.") {
		var s stripe.CheckoutSession
		if err := json.Unmarshal(ev.Data.Raw, &s); err != nil {
			return nil, fmt.Errorf("decode checkout session: %w", err)
		}
		out.Session = &billing.CheckoutSession{ID: s.ID, PaymentStatus: string(s.PaymentStatus),
			AmountTotal: s.AmountTotal, Currency: string(s.Currency), Metadata: s.Metadata}
	}
	return out, nil
}

// classify marks Stripe's refusals of the request itself (4xx other than
// 409, 429) as permanent: sending them again cannot succeed.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var se *stripe.Error
	if errors.As(err, &se) {
		msg := fmt.Errorf("stripe %d %s: %s", se.HTTPStatusCode, se.Type, se.Msg)
		if se.HTTPStatusCode >= 400 && se.HTTPStatusCode < 500 && se.HTTPStatusCode != http.StatusConflict && se.HTTPStatusCode != http.StatusTooManyRequests {
			return fmt.Errorf("%w: %w", billing.ErrPermanent, msg)
		}
		return msg
	}
	return err
}
