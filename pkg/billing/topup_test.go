package billing_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v82/webhook"
	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/stripemock"
	"github.com/tryonhq/tryon/pkg/tryon"
)

func TestTopupCreatesACheckoutSession(t *testing.T) {
	t.Parallel()
	sm := stripemock.Start(t)
	env := stripeEnv(t, sm.URL)
	ctx := context.Background()
	balance := tryon.Micros(1_000_000)
	shop := env.Tenant(apptest.TenantOptions{BalanceMicros: &balance})
	postpaid := env.Tenant(apptest.TenantOptions{})
	admin := env.Key(nil, tryon.KeyAdmin, nil)
	if err := env.Store.LinkStripeCustomer(ctx, shop.Client.ID, "cus_TryonShop3"); err != nil {
		t.Fatal(err)
	}

	r := env.Do("POST", "/billing/topup", shop.LiveKey, map[string]any{"amount_micros": 20_000_000, "success_url": "https://shop.example/paid"})
	var data struct {
		SessionID string `json:"checkout_session_id"`
		URL       string `json:"url"`
	}
	if err := json.Unmarshal(r.Data, &data); r.Status != 201 || err != nil || data.SessionID == "" || data.URL == "" {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var sent []stripemock.Request
	for _, q := range sm.Requests() {
		if q.Path == "/v1/checkout/sessions" {
			sent = append(sent, q)
		}
	}
	if len(sent) != 1 {
		t.Fatalf("%d checkout sessions created, want 1", len(sent))
	}
	f := sent[0].Form
	for k, want := range map[string]string{
		"mode": "payment", "metadata[client_id]": shop.Client.ID.String(), "metadata[amount_micros]": "20000000",
		"line_items[0][price_data][unit_amount]": "2000", "line_items[0][price_data][currency]": "usd",
		"line_items[0][quantity]": "1", "customer": "cus_TryonShop3", "success_url": "https://shop.example/paid",
		"client_reference_id": shop.Client.ID.String(), "adaptive_pricing[enabled]": "false",
	} {
		if got := f.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if sent[0].Status != 200 {
		t.Errorf("stripe-mock refused the session: %d", sent[0].Status)
	}

	for _, c := range []struct {
		name string
		key  string
		body any
		want int
	}{
		{"PostpaidRefused", postpaid.LiveKey, map[string]any{"amount_micros": 20_000_000}, 400},
		{"BelowMinimum", shop.LiveKey, map[string]any{"amount_micros": 4_990_000}, 400},
		{"AboveMaximum", shop.LiveKey, map[string]any{"amount_micros": 10_000_010_000}, 400},
		{"NotWholeCents", shop.LiveKey, map[string]any{"amount_micros": 20_000_001}, 400},
		{"BadReturnURL", shop.LiveKey, map[string]any{"amount_micros": 20_000_000, "cancel_url": "javascript:alert(1)"}, 400},
		{"UnknownField", shop.LiveKey, map[string]any{"amount": 20}, 400},
		{"AdminForbidden", admin, map[string]any{"amount_micros": 20_000_000}, 403},
		{"TestKeyForbidden", shop.TestKey, map[string]any{"amount_micros": 20_000_000}, 403},
		{"NoKey", "", map[string]any{"amount_micros": 20_000_000}, 401},
	} {
		t.Run(c.name, func(t *testing.T) {
			if r := env.Do("POST", "/billing/topup", c.key, c.body); r.Status != c.want {
				t.Errorf("%d %s, want %d", r.Status, r.Body, c.want)
			}
		})
	}
}

// Without a webhook secret a payment could never be credited: no top-ups.
func TestNoTopupsWithoutAWebhookSecret(t *testing.T) {
	t.Parallel()
	sm := stripemock.Start(t)
	env := apptest.New(t, apptest.Options{Settings: map[string]string{"STRIPE_SECRET_KEY": "sk_test_tryon", "STRIPE_API_URL": sm.URL}})
	balance := tryon.Micros(0)
	shop := env.Tenant(apptest.TenantOptions{BalanceMicros: &balance})
	if r := env.Do("POST", "/billing/topup", shop.LiveKey, map[string]any{"amount_micros": 20_000_000}); r.Status != 404 {
		t.Errorf("top-up: %d %s, want 404", r.Status, r.Body)
	}
	body, sig := checkoutEvent(t, "evt_1", "checkout.session.completed", "cs_1", shop.Client.ID.String(), 2000, true)
	if status, _ := postEvent(t, env, body, sig); status != 404 {
		t.Errorf("webhook: %d, want 404", status)
	}
	if env.App.Billing.Meter == nil {
		t.Error("the meter is off though STRIPE_SECRET_KEY is set")
	}
	if len(sm.Requests()) != 0 {
		t.Errorf("Stripe was called: %v", sm.Requests())
	}
}

// checkoutEvent is a Stripe event about a Checkout session, signed as
// Stripe signs webhooks.
func checkoutEvent(t *testing.T, eventID, typ, sessionID, clientID string, cents int64, paid bool) (body []byte, signature string) {
	t.Helper()
	status := "unpaid"
	if paid {
		status = "paid"
	}
	body, err := json.Marshal(map[string]any{
		"id": eventID, "object": "event", "type": typ, "api_version": "2025-08-27.basil", "created": 1764230412,
		"data": map[string]any{"object": map[string]any{
			"id": sessionID, "object": "checkout.session", "mode": "payment", "payment_status": status,
			"amount_total": cents, "currency": "usd", "metadata": map[string]string{"client_id": clientID},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: "whsec_tryon_test"})
	return body, signed.Header
}

func postEvent(t *testing.T, env *apptest.Env, body []byte, signature string) (int, string) {
	t.Helper()
	r := env.Do("POST", "/stripe/webhook", "", body, "Content-Type", "application/json", "Stripe-Signature", signature)
	var data struct {
		Outcome string `json:"outcome"`
	}
	_ = json.Unmarshal(r.Data, &data)
	return r.Status, data.Outcome
}

func balanceOf(t *testing.T, env *apptest.Env, id uuid.UUID) tryon.Micros {
	t.Helper()
	c, err := env.Store.FindClient(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if c.BalanceMicros == nil {
		return -1
	}
	return *c.BalanceMicros
}

// A paid Checkout session credits the tenant once, however often and
// however concurrently Stripe delivers its events.
func TestStripeWebhookCreditsATopupOnce(t *testing.T) {
	t.Parallel()
	sm := stripemock.Start(t)
	env := stripeEnv(t, sm.URL)
	ctx := context.Background()
	balance := tryon.Micros(1_000_000)
	shop := env.Tenant(apptest.TenantOptions{BalanceMicros: &balance})
	id := shop.Client.ID.String()

	body, sig := checkoutEvent(t, "evt_paid1", "checkout.session.completed", "cs_test_paid1", id, 2000, true)
	const deliveries = 6
	outcomes := make([]string, deliveries)
	var wg sync.WaitGroup
	for i := range deliveries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, outcome := postEvent(t, env, body, sig)
			if status != 200 {
				t.Errorf("delivery %d: %d", i, status)
			}
			outcomes[i] = outcome
		}()
	}
	wg.Wait()
	credited := 0
	for _, o := range outcomes {
		switch o {
		case "credited":
			credited++
		case "duplicate_event":
		default:
			t.Errorf("outcome %q", o)
		}
	}
	if credited != 1 {
		t.Errorf("%d deliveries credited, want 1: %v", credited, outcomes)
	}
	if got := balanceOf(t, env, shop.Client.ID); got != 21_000_000 {
		t.Errorf("balance %d, want 21000000", got)
	}
	entries, err := env.Store.Ledger(ctx, shop.Client.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := entries[len(entries)-1]
	if last.Kind != "credit" || last.AmountMicros != 20_000_000 || last.Reason != "top-up paid through Stripe Checkout" {
		t.Errorf("ledger entry %+v", last)
	}

	// Another event about the same session (an asynchronous payment's).
	body, sig = checkoutEvent(t, "evt_paid2", "checkout.session.async_payment_succeeded", "cs_test_paid1", id, 2000, true)
	if status, outcome := postEvent(t, env, body, sig); status != 200 || outcome != "already_credited" {
		t.Errorf("second event of a session: %d %s", status, outcome)
	}
	// An unpaid completion waits for its payment.
	body, sig = checkoutEvent(t, "evt_unpaid", "checkout.session.completed", "cs_test_later", id, 5000, false)
	if status, outcome := postEvent(t, env, body, sig); status != 200 || outcome != "unpaid" {
		t.Errorf("unpaid session: %d %s", status, outcome)
	}
	if got := balanceOf(t, env, shop.Client.ID); got != 21_000_000 {
		t.Errorf("balance %d after events that credit nothing, want 21000000", got)
	}

	// A forged or tampered delivery is refused and credits nothing.
	body, sig = checkoutEvent(t, "evt_forged", "checkout.session.completed", "cs_test_forged", id, 900000, true)
	tampered := []byte(string(body[:len(body)-1]) + " }")
	for name, c := range map[string]struct {
		body []byte
		sig  string
	}{
		"NoSignature": {body, ""}, "WrongSecret": {body, webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: "whsec_other"}).Header},
		"TamperedBody": {tampered, sig},
	} {
		if status, _ := postEvent(t, env, c.body, c.sig); status != 400 {
			t.Errorf("%s: %d, want 400", name, status)
		}
	}
	if got := balanceOf(t, env, shop.Client.ID); got != 21_000_000 {
		t.Errorf("balance %d after forged events, want 21000000", got)
	}

	// Paid by a tenant who has since become postpaid, or by none.
	postpaid := env.Tenant(apptest.TenantOptions{})
	body, sig = checkoutEvent(t, "evt_post", "checkout.session.completed", "cs_test_post", postpaid.Client.ID.String(), 2000, true)
	if status, outcome := postEvent(t, env, body, sig); status != 200 || outcome != "not_credited_postpaid" {
		t.Errorf("postpaid: %d %s", status, outcome)
	}
	body, sig = checkoutEvent(t, "evt_ghost", "checkout.session.completed", "cs_test_ghost", uuid.NewString(), 2000, true)
	if status, outcome := postEvent(t, env, body, sig); status != 200 || outcome != "unknown_client" {
		t.Errorf("unknown tenant: %d %s", status, outcome)
	}
	body, sig = checkoutEvent(t, "evt_other", "customer.created", "cus_x", id, 0, false)
	if status, outcome := postEvent(t, env, body, sig); status != 200 || outcome != "ignored" {
		t.Errorf("another event type: %d %s", status, outcome)
	}
	if status, outcome := postEvent(t, env, body, sig); status != 200 || outcome != "duplicate_event" {
		t.Errorf("another event type, again: %d %s", status, outcome)
	}
}
