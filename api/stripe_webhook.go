package handler

import (
	"net/http"

	"github.com/tryonhq/tryon/pkg/app"
)

// StripeWebhook serves POST /stripe/webhook (Stripe's signed events).
func StripeWebhook(w http.ResponseWriter, r *http.Request) { app.Serve("stripe_webhook", w, r) }
