package generation_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// While a prepaid tenant's first request with an Idempotency-Key is still
// running, every other answer (the 409 for the same key, a 422 for a
// different body, a 429 over the rate limit) reports the credits left after
// that request's reservation, and a 409 is not a replay (issue 10, item 6).
func TestCreditsAndReplayHeadersWhileTheFirstRequestRuns(t *testing.T) {
	balance := tryon.Micros(1_000_000)
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{BalanceMicros: &balance, RequestsPerMinute: 4, MaxConcurrent: 10})
	slow := `{"prompt": "a slow coat [fake:sleep=3s]"}`

	done := make(chan *http.Response, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, env.URL+"/generate", strings.NewReader(slow))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Client-Key", shop.LiveKey)
		req.Header.Set("Idempotency-Key", "coat-1")
		resp, err := env.Client.Do(req)
		if err != nil {
			t.Error(err)
			done <- nil
			return
		}
		resp.Body.Close()
		done <- resp
	}()
	// Wait until the first request is admitted: its row holds the reservation.
	for deadline := time.Now().Add(10 * time.Second); ; {
		var n int
		if err := env.Store.Pool().QueryRow(context.Background(),
			`SELECT count(*) FROM generations WHERE idempotency_key = 'coat-1' AND status = 'processing'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first request was never admitted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	const left = "960000" // the balance less the running request's 40000

	inProgress := env.Generate(shop.LiveKey, slow, "Idempotency-Key", "coat-1")
	if inProgress.Status != 409 || inProgress.Code != tryon.CodeIdempotencyInProgress {
		t.Fatalf("same key: %d %s", inProgress.Status, inProgress.Body)
	}
	if got := inProgress.Header.Get("Idempotent-Replayed"); got != "" {
		t.Errorf("a 409 says Idempotent-Replayed: %q", got)
	}
	mismatch := env.Generate(shop.LiveKey, `{"prompt": "a hat"}`, "Idempotency-Key", "coat-1")
	if mismatch.Status != 422 {
		t.Fatalf("different body: %d %s", mismatch.Status, mismatch.Body)
	}
	env.Generate(shop.LiveKey, `{"prompt": "x", "width": 1}`) // a 400 uses the fourth request of the minute
	limited := env.Generate(shop.LiveKey, `{"prompt": "a scarf"}`)
	if limited.Status != 429 || limited.Code != tryon.CodeRateLimited {
		t.Fatalf("over the limit: %d %s", limited.Status, limited.Body)
	}
	for name, r := range map[string]*apptest.Response{"409": inProgress, "422": mismatch, "429": limited} {
		if got := r.Header.Get("X-Credits-Remaining"); got != left {
			t.Errorf("%s: X-Credits-Remaining %q, want %s", name, got, left)
		}
	}
	if first := <-done; first != nil && first.StatusCode != 200 {
		t.Fatalf("the first request: %d", first.StatusCode)
	}
}

// A test key and a live key of one tenant never share an Idempotency-Key
// record: staging traffic must not replay fake outputs to production
// (issue 10, item 3).
func TestLiveAndTestKeepTheirOwnIdempotencyKeys(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	body := `{"prompt": "a linen shirt"}`
	test := env.Generate(shop.TestKey, body, "Idempotency-Key", "look-7")
	live := env.Generate(shop.LiveKey, body, "Idempotency-Key", "look-7")
	if test.Status != 200 || live.Status != 200 {
		t.Fatalf("test %d, live %d: %s", test.Status, live.Status, live.Body)
	}
	tg, lg := test.Generation(t), live.Generation(t)
	if live.Header.Get("Idempotent-Replayed") != "" || tg.ID == lg.ID || lg.Mode != "live" {
		t.Fatalf("the live request replayed the test one: %s", live.Body)
	}
	// Each mode still replays its own.
	for _, c := range []struct {
		key string
		id  string
	}{{shop.TestKey, tg.ID}, {shop.LiveKey, lg.ID}} {
		again := env.Generate(c.key, body, "Idempotency-Key", "look-7")
		if again.Header.Get("Idempotent-Replayed") != "true" || again.Generation(t).ID != c.id {
			t.Fatalf("no replay of its own mode: %s", again.Body)
		}
	}
	// A test request with a different body is a mismatch only against test.
	if r := env.Generate(shop.TestKey, `{"prompt": "a hat"}`, "Idempotency-Key", "look-7"); r.Status != 422 {
		t.Fatalf("test mismatch: %d", r.Status)
	}
}
