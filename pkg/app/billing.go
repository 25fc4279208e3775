package app

import (
	"log/slog"
	"time"

	"github.com/tryonhq/tryon/pkg/billing"
	"github.com/tryonhq/tryon/pkg/config"
	"github.com/tryonhq/tryon/pkg/httpapi"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/stripeapi"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// meterLease keeps a claimed meter event from other drains: longer than a
// send with stripe-go's retries can take.
const meterLease = 2 * time.Minute

// newBilling wires statements; with STRIPE_SECRET_KEY the Stripe meter, and
// with STRIPE_WEBHOOK_SECRET too, top-ups.
func newBilling(cfg *config.Config, store *postgres.Store, log *slog.Logger) httpapi.Billing {
	b := httpapi.Billing{Statements: &billing.Statements{Store: store}}
	if !cfg.StripeEnabled() {
		return b
	}
	sc := stripeapi.New(stripeapi.Config{SecretKey: cfg.StripeSecretKey, WebhookSecret: cfg.StripeWebhookSecret,
		APIURL: cfg.StripeAPIURL, MeterEventName: cfg.StripeMeterEventName})
	b.Meter = &billing.Meter{Store: store, Sender: sc, Log: log, Lease: meterLease}
	if cfg.StripeWebhookSecret == "" {
		// A top-up paid without a webhook to report it would never be
		// credited: no top-ups then.
		return b
	}
	b.Topups = &billing.Topups{Store: store, Checkout: sc, Events: sc, Log: log,
		MinMicros: tryon.Micros(cfg.StripeTopupMin), MaxMicros: tryon.Micros(cfg.StripeTopupMax)}
	return b
}
