package billing_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"

	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/billing"
	"github.com/tryonhq/tryon/pkg/stripemock"
	"github.com/tryonhq/tryon/pkg/tryon"
)

const meterPath = "/v1/billing/meter_events"

func stripeEnv(t *testing.T, apiURL string) *apptest.Env {
	t.Helper()
	return apptest.New(t, apptest.Options{Settings: map[string]string{
		"STRIPE_SECRET_KEY": "sk_test_tryon", "STRIPE_API_URL": apiURL, "STRIPE_WEBHOOK_SECRET": "whsec_tryon_test",
		"STRIPE_METER_EVENT_NAME": "tryon_usage_micros", "PRICE_BANANA_MICROS": "40000",
	}})
}

func meterRequests(sm *stripemock.Mock) []stripemock.Request {
	var out []stripemock.Request
	for _, r := range sm.Requests() {
		if r.Path == meterPath {
			out = append(out, r)
		}
	}
	return out
}

// TestMeterEventsOncePerBilledGeneration charges a linked tenant, kills a
// drain between Stripe's answer and the outbox's record, runs two drains at
// once, lets the dead drain's lease run out and drains again: every billed
// generation reaches Stripe, as a request stripe-mock's validation accepts,
// under one identifier (its generation id) and one Idempotency-Key, so
// Stripe counts it once; unlinked tenants, test traffic and failures send
// nothing.
func TestMeterEventsOncePerBilledGeneration(t *testing.T) {
	t.Parallel()
	sm := stripemock.Start(t)
	env := stripeEnv(t, sm.URL)
	ctx := context.Background()
	linked := env.Tenant(apptest.TenantOptions{RequestsPerMinute: 1000, MaxConcurrent: 10})
	unlinked := env.Tenant(apptest.TenantOptions{RequestsPerMinute: 1000})
	if err := env.Store.LinkStripeCustomer(ctx, linked.Client.ID, "cus_TryonShop1"); err != nil {
		t.Fatal(err)
	}
	billed := map[string]bool{}
	for i := range 8 {
		billed[generate(t, env, linked.LiveKey, "a dress "+string(rune('a'+i)), 200)] = true
	}
	generate(t, env, linked.TestKey, "a test dress", 200)
	generate(t, env, linked.LiveKey, "a hat [fake:error]", 502)
	generate(t, env, unlinked.LiveKey, "a coat", 200)

	meter := env.App.Billing.Meter
	if meter == nil {
		t.Fatal("STRIPE_SECRET_KEY is set but the meter is not wired")
	}

	// A drain dies right after Stripe accepted its first event.
	dying, kill := context.WithCancel(ctx)
	var once sync.Once
	var crashed string
	sm.SetAfterResponse(func(r stripemock.Request) {
		if r.Path == meterPath {
			once.Do(func() {
				crashed = r.Form.Get("identifier")
				kill()
				panic(http.ErrAbortHandler)
			})
		}
	})
	if _, err := meter.Drain(dying, 1); err == nil {
		t.Fatal("the killed drain reported no error")
	}
	sm.SetAfterResponse(nil)
	if !billed[crashed] {
		t.Fatalf("the killed drain sent %q, not a billed generation", crashed)
	}

	// Two drains at once share out the rest; the dead drain's event is
	// still leased.
	var wg sync.WaitGroup
	reports := make([]billing.DrainReport, 2)
	for i := range reports {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Small drains, many times, so the two interleave.
			for {
				rep, err := meter.Drain(ctx, 2)
				if err != nil {
					t.Error(err)
					return
				}
				if rep.Sent == 0 {
					return
				}
				reports[i].Sent += rep.Sent
			}
		}()
	}
	wg.Wait()
	if got := reports[0].Sent + reports[1].Sent; got != len(billed)-1 {
		t.Errorf("the concurrent drains sent %d events, want %d", got, len(billed)-1)
	}

	// The lease runs out (the clock moved on): the event goes again.
	if _, err := env.Store.Pool().Exec(ctx, `UPDATE stripe_meter_events SET next_attempt_at = now() WHERE status = 'pending'`); err != nil {
		t.Fatal(err)
	}
	if rep, err := meter.Drain(ctx, 100); err != nil || rep.Sent != 1 {
		t.Fatalf("drain after the lease: %+v, %v; want the killed drain's one event", rep, err)
	}
	if rep, err := meter.Drain(ctx, 100); err != nil || rep != (billing.DrainReport{}) {
		t.Fatalf("a drain of an empty outbox: %+v, %v", rep, err)
	}

	sends := map[string][]stripemock.Request{}
	for _, r := range meterRequests(sm) {
		id := r.Form.Get("identifier")
		sends[id] = append(sends[id], r)
		if r.Status != 200 {
			t.Errorf("stripe-mock refused a meter event: %d %v", r.Status, r.Form)
		}
		if r.Form.Get("event_name") != "tryon_usage_micros" || r.Form.Get("payload[stripe_customer_id]") != "cus_TryonShop1" ||
			r.Form.Get("payload[value]") != "40000" || r.Form.Get("timestamp") == "" {
			t.Errorf("meter event %v", r.Form)
		}
		if r.IdempotencyKey != "tryon-meter-"+id {
			t.Errorf("Idempotency-Key %q for identifier %s", r.IdempotencyKey, id)
		}
	}
	if len(sends) != len(billed) {
		t.Errorf("%d identifiers reached Stripe, want %d (one per billed generation)", len(sends), len(billed))
	}
	for id := range billed {
		want := 1
		if id == crashed {
			want = 2 // once before the crash, once after; the same identifier
		}
		if len(sends[id]) != want {
			t.Errorf("generation %s was sent %d times, want %d", id, len(sends[id]), want)
		}
	}
	st, err := env.Store.StripeMeterStateOf(ctx, linked.Client.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Sent != int64(len(billed)) || st.Pending != 0 || st.Failed != 0 {
		t.Errorf("outbox state %+v, want all %d sent", st, len(billed))
	}
	if st, err := env.Store.StripeMeterStateOf(ctx, unlinked.Client.ID); err != nil || st.Sent+st.Pending+st.Failed != 0 {
		t.Errorf("an unlinked tenant has meter events: %+v %v", st, err)
	}

	// The cron function drains what the next charge queues.
	id := generate(t, env, linked.LiveKey, "a scarf", 200)
	r := env.Do("GET", "/api/cron", "", nil, "Authorization", "Bearer test-cron-secret")
	var rep struct {
		StripeMeter billing.DrainReport `json:"stripe_meter"`
	}
	if err := json.Unmarshal(r.Data, &rep); r.Status != 200 || err != nil || rep.StripeMeter.Sent != 1 {
		t.Errorf("cron: %d %s", r.Status, r.Body)
	}
	if got := meterRequests(sm); got[len(got)-1].Form.Get("identifier") != id {
		t.Errorf("cron sent %v, want %s", got[len(got)-1].Form, id)
	}
}

// When Stripe cannot be reached the event stays pending with its error and
// a retry time, visible per tenant and in the cron report.
func TestMeterFailuresAreVisible(t *testing.T) {
	t.Parallel()
	env := stripeEnv(t, "http://127.0.0.1:1")
	ctx := context.Background()
	shop := env.Tenant(apptest.TenantOptions{})
	if err := env.Store.LinkStripeCustomer(ctx, shop.Client.ID, "cus_TryonShop2"); err != nil {
		t.Fatal(err)
	}
	generate(t, env, shop.LiveKey, "a dress", 200)
	r := env.Do("GET", "/api/cron", "", nil, "Authorization", "Bearer test-cron-secret")
	var rep struct {
		StripeMeter billing.DrainReport `json:"stripe_meter"`
		Outbox      struct {
			Pending int64 `json:"pending"`
		} `json:"stripe_meter_outbox"`
	}
	if err := json.Unmarshal(r.Data, &rep); r.Status != 200 || err != nil || rep.StripeMeter.Retry != 1 || rep.Outbox.Pending != 1 {
		t.Fatalf("cron: %d %s", r.Status, r.Body)
	}
	st, err := env.Store.StripeMeterStateOf(ctx, shop.Client.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pending != 1 || st.LastError == "" || st.CustomerID != "cus_TryonShop2" {
		t.Errorf("state %+v, want one pending event with its error", st)
	}
	admin := env.Key(nil, tryon.KeyAdmin, nil)
	r = env.Do("GET", "/metrics", admin, nil)
	var m struct {
		StripeMeter *struct {
			Pending int64 `json:"pending"`
			Failed  int64 `json:"failed"`
		} `json:"stripe_meter"`
	}
	if err := json.Unmarshal(r.Data, &m); r.Status != 200 || err != nil || m.StripeMeter == nil || m.StripeMeter.Pending != 1 {
		t.Errorf("GET /metrics (admin): %d %.300s", r.Status, r.Body)
	}
	var attempts int
	var due bool
	if err := env.Store.Pool().QueryRow(ctx, `SELECT attempts, next_attempt_at <= now() FROM stripe_meter_events`).Scan(&attempts, &due); err != nil {
		t.Fatal(err)
	}
	if attempts != 1 || due {
		t.Errorf("attempts %d, due now %v: want 1 and a backoff", attempts, due)
	}
}
