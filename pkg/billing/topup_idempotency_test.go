package billing_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/stripemock"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// checkoutsCreated counts the Checkout sessions Stripe was asked for, with
// the Idempotency-Keys they carried.
func checkoutsCreated(sm *stripemock.Mock) (n int, keys []string) {
	for _, q := range sm.Requests() {
		if q.Path == "/v1/checkout/sessions" {
			n++
			keys = append(keys, q.IdempotencyKey)
		}
	}
	return n, keys
}

type topupAnswer struct {
	status   int
	code     tryon.Code
	session  string
	url      string
	replayed string
}

func topup(t *testing.T, env *apptest.Env, key, idem string, amount int64) topupAnswer {
	t.Helper()
	r := env.Do("POST", "/billing/topup", key, map[string]any{"amount_micros": amount}, "Idempotency-Key", idem)
	var data struct {
		SessionID string `json:"checkout_session_id"`
		URL       string `json:"url"`
	}
	_ = json.Unmarshal(r.Data, &data)
	return topupAnswer{status: r.Status, code: r.Code, session: data.SessionID, url: data.URL, replayed: r.Header.Get("Idempotent-Replayed")}
}

// A top-up retried with its Idempotency-Key (a timeout, a double click)
// answers with the session it already has, never a second payment page.
func TestTopupIdempotencyKeyReplaysTheSession(t *testing.T) {
	t.Parallel()
	sm := stripemock.Start(t)
	env := stripeEnv(t, sm.URL)
	balance := tryon.Micros(0)
	shop := env.Tenant(apptest.TenantOptions{BalanceMicros: &balance})
	other := env.Tenant(apptest.TenantOptions{BalanceMicros: &balance})

	first := topup(t, env, shop.LiveKey, "topup-7", 20_000_000)
	if first.status != 201 || first.session == "" || first.replayed != "" {
		t.Fatalf("first: %+v; stripe saw %+v", first, sm.Requests())
	}
	again := topup(t, env, shop.LiveKey, "topup-7", 20_000_000)
	if again.status != 200 || again.session != first.session || again.url != first.url || again.replayed != "true" {
		t.Errorf("retry: %+v, want 200 replaying %s", again, first.session)
	}
	n, keys := checkoutsCreated(sm)
	if n != 1 {
		t.Fatalf("Stripe was asked for %d sessions, want 1", n)
	}
	// Stripe gets a key of ours, scoped to the tenant, so that a retry
	// that reaches it (after a lost answer) finds the same session there.
	if want := "tryon-topup-" + shop.Client.ID.String() + "-topup-7"; keys[0] != want {
		t.Errorf("Stripe's Idempotency-Key %q, want %q", keys[0], want)
	}

	if r := topup(t, env, shop.LiveKey, "topup-7", 30_000_000); r.status != 422 || r.code != tryon.CodeIdempotencyMismatch {
		t.Errorf("same key, other amount: %+v, want 422 idempotency_mismatch", r)
	}
	// Another tenant's key of the same name is its own.
	if r := topup(t, env, other.LiveKey, "topup-7", 20_000_000); r.status != 201 || r.session == "" || r.replayed != "" {
		t.Errorf("other tenant, same key: %+v, want a session of its own", r)
	}
	if n, _ := checkoutsCreated(sm); n != 2 {
		t.Errorf("Stripe was asked for %d sessions, want 2", n)
	}
	if r := env.Do("POST", "/billing/topup", shop.LiveKey, map[string]any{"amount_micros": 20_000_000}, "Idempotency-Key", strings.Repeat("k", 256)); r.Status != 400 {
		t.Errorf("Idempotency-Key of 256 characters: %d, want 400", r.Status)
	}

	// Kept for 24 hours, then purged by the sweep.
	if _, err := env.Store.Pool().Exec(context.Background(),
		`UPDATE topup_checkouts SET created_at = now() - interval '25 hours' WHERE client_id = $1`, shop.Client.ID); err != nil {
		t.Fatal(err)
	}
	if err := env.Store.PurgeExpired(context.Background()); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := env.Store.Pool().QueryRow(context.Background(),
		`SELECT count(*) FROM topup_checkouts WHERE client_id = $1`, shop.Client.ID).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d expired records left (%v)", left, err)
	}
}

// Concurrent requests with one key all answer with one session.
func TestConcurrentTopupsWithOneKeyAnswerOneSession(t *testing.T) {
	t.Parallel()
	sm := stripemock.Start(t)
	env := stripeEnv(t, sm.URL)
	balance := tryon.Micros(0)
	shop := env.Tenant(apptest.TenantOptions{BalanceMicros: &balance})
	const n = 8
	answers := make([]topupAnswer, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			answers[i] = topup(t, env, shop.LiveKey, "double-click", 50_000_000)
		}()
	}
	close(start)
	wg.Wait()
	created := 0
	for i, a := range answers {
		if a.status != 201 && a.status != 200 {
			t.Fatalf("answer %d: %+v", i, a)
		}
		if a.session != answers[0].session {
			t.Errorf("answer %d names session %s, answer 0 %s", i, a.session, answers[0].session)
		}
		if a.replayed == "" {
			created++
		}
	}
	if created != 1 {
		t.Errorf("%d answers say they created the session, want 1", created)
	}
}
