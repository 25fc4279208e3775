package generation_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// fire sends n requests at once and returns the responses.
func fire(n int, send func(i int) *apptest.Response) []*apptest.Response {
	out := make([]*apptest.Response, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = send(i)
		}()
	}
	close(start)
	wg.Wait()
	return out
}

func statuses(rs []*apptest.Response) map[int]int {
	m := map[int]int{}
	for _, r := range rs {
		m[r.Status]++
	}
	return m
}

func TestPrepaidBalanceCoversExactlyKGenerations(t *testing.T) {
	const k, price = 5, 40_000
	balance := tryon.Micros(k * price)
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{BalanceMicros: &balance, MaxConcurrent: 100, RequestsPerMinute: 1000})
	rs := fire(5*k, func(i int) *apptest.Response {
		// A little latency keeps admissions and settlements interleaved.
		return env.Generate(shop.LiveKey, map[string]any{"prompt": fmt.Sprintf("dress %d [fake:sleep=20ms]", i)})
	})
	got := statuses(rs)
	if got[200] != k || got[402] != 4*k || len(got) != 2 {
		t.Fatalf("statuses %v, want %d × 200 and %d × 402", got, k, 4*k)
	}
	for _, r := range rs {
		if r.Status == 402 && (r.Code != tryon.CodeInsufficientCredits || r.Data != nil) {
			t.Fatalf("a 402 recorded something: %s", r.Body)
		}
		credits, err := strconv.ParseInt(r.Header.Get("X-Credits-Remaining"), 10, 64)
		if err != nil || credits < 0 || credits > int64(balance) {
			t.Fatalf("X-Credits-Remaining %q on %d", r.Header.Get("X-Credits-Remaining"), r.Status)
		}
	}
	l := readLedger(t, env, shop.Client.ID)
	if *l.balance != 0 || l.reserved != 0 || l.charged != k*price || l.usageRows != k*price {
		t.Fatalf("ledger %+v", l)
	}
}

func TestPostpaidTenantsAreNeverRefusedForMoney(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	if _, err := env.Store.ChangeClient(context.Background(), shop.Client.ID, postgres.ClientChange{
		Prices: map[tryon.Service]tryon.Micros{tryon.ServiceBanana: 1_000_000_000}, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	r := env.Generate(shop.LiveKey, map[string]any{"prompt": "a costly dress"})
	if r.Status != 200 || r.Generation(t).CostMicros != 1_000_000_000 || r.Header.Get("X-Credits-Remaining") != "" {
		t.Fatalf("got %d %s %v", r.Status, r.Body, r.Header)
	}
}

func TestTestKeysAreNeverBilled(t *testing.T) {
	zero := tryon.Micros(0)
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{BalanceMicros: &zero})
	r := env.Generate(shop.TestKey, map[string]any{"prompt": "a free dress"})
	if r.Status != 200 || r.Generation(t).Mode != "test" || r.Generation(t).CostMicros != 0 || r.Generation(t).Provider != "fake" {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
	if live := env.Generate(shop.LiveKey, map[string]any{"prompt": "a paid dress"}); live.Status != 402 {
		t.Fatalf("live with no credit: %d", live.Status)
	}
}

func TestOneIdempotencyKeyMakesOneGenerationAndOneCharge(t *testing.T) {
	balance := tryon.Micros(1_000_000)
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{BalanceMicros: &balance, MaxConcurrent: 100, RequestsPerMinute: 1000})
	body := map[string]any{"prompt": "one dress [fake:sleep=50ms]", "width": 512}
	rs := fire(20, func(int) *apptest.Response {
		return env.Generate(shop.LiveKey, body, "Idempotency-Key", "order-42")
	})
	ids := map[string]bool{}
	for _, r := range rs {
		switch r.Status {
		case 200:
			ids[r.Generation(t).ID] = true
		case 409:
			if r.Code != tryon.CodeIdempotencyInProgress {
				t.Fatalf("409 with %s", r.Code)
			}
		default:
			t.Fatalf("got %d %s", r.Status, r.Body)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%d different generations for one key", len(ids))
	}
	if n := countGenerations(t, env, shop.Client.ID); n != 1 {
		t.Fatalf("%d generations recorded", n)
	}
	if l := readLedger(t, env, shop.Client.ID); l.charged != 40_000 || l.usageRows != 40_000 || *l.balance != 960_000 {
		t.Fatalf("ledger %+v", l)
	}
	// After the first finished: a replay, flagged, not charged again; the
	// same JSON in another key order and spacing is the same request.
	replay := env.Generate(shop.LiveKey, `{ "width": 512, "prompt": "one dress [fake:sleep=50ms]" }`, "Idempotency-Key", "order-42")
	if replay.Status != 200 || replay.Header.Get("Idempotent-Replayed") != "true" || !ids[replay.Generation(t).ID] {
		t.Fatalf("replay: %d %v %s", replay.Status, replay.Header, replay.Body)
	}
	mismatch := env.Generate(shop.LiveKey, map[string]any{"prompt": "another dress"}, "Idempotency-Key", "order-42")
	if mismatch.Status != 422 || mismatch.Code != tryon.CodeIdempotencyMismatch {
		t.Fatalf("mismatch: %d %s", mismatch.Status, mismatch.Body)
	}
	other := env.Tenant(apptest.TenantOptions{})
	if r := env.Generate(other.LiveKey, body, "Idempotency-Key", "order-42"); r.Status != 200 || ids[r.Generation(t).ID] {
		t.Fatalf("keys are not scoped to the tenant: %d %s", r.Status, r.Body)
	}
	if l := readLedger(t, env, shop.Client.ID); l.charged != 40_000 {
		t.Fatalf("charged twice: %+v", l)
	}
}

func TestIdempotencyKeyValidation(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{})
	long := make([]byte, 256)
	for i := range long {
		long[i] = 'k'
	}
	for name, key := range map[string]string{"TooLong": string(long), "Tab": "a\tb", "NonASCII": "clé"} {
		r := env.Generate(shop.TestKey, map[string]any{"prompt": "x"}, "Idempotency-Key", key)
		if r.Status != 400 || len(r.Details) != 1 || r.Details[0].Field != "Idempotency-Key" {
			t.Fatalf("%s: got %d %s", name, r.Status, r.Body)
		}
	}
	ok := env.Generate(shop.TestKey, map[string]any{"prompt": "x"}, "Idempotency-Key", string(long[:255]))
	if ok.Status != 200 {
		t.Fatalf("a 255-character key: %d %s", ok.Status, ok.Body)
	}
}

func TestIdempotencyReplayOfAFailureAndAfterARefusal(t *testing.T) {
	zero := tryon.Micros(0)
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{BalanceMicros: &zero})
	// Refused for money: nothing is kept, so the same key works once topped up.
	if r := env.Generate(shop.LiveKey, map[string]any{"prompt": "x"}, "Idempotency-Key", "k1"); r.Status != 402 {
		t.Fatalf("got %d", r.Status)
	}
	if _, err := env.Store.ChangeClient(context.Background(), shop.Client.ID, postgres.ClientChange{CreditMicros: 100_000, Reason: "top up"}); err != nil {
		t.Fatal(err)
	}
	if r := env.Generate(shop.LiveKey, map[string]any{"prompt": "x"}, "Idempotency-Key", "k1"); r.Status != 200 {
		t.Fatalf("after top-up: %d %s", r.Status, r.Body)
	}
	// A failed generation replays as the same failure.
	first := env.Generate(shop.LiveKey, map[string]any{"prompt": "x [fake:blocked]"}, "Idempotency-Key", "k2")
	again := env.Generate(shop.LiveKey, map[string]any{"prompt": "x [fake:blocked]"}, "Idempotency-Key", "k2")
	if first.Status != 422 || again.Status != 422 || again.Header.Get("Idempotent-Replayed") != "true" || first.Generation(t).ID != again.Generation(t).ID {
		t.Fatalf("first %d, replay %d %v", first.Status, again.Status, again.Header)
	}
}

func TestFailuresAndTimeoutsReleaseTheReservation(t *testing.T) {
	balance := tryon.Micros(100_000)
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{BalanceMicros: &balance})
	for _, prompt := range []string{"x [fake:unavailable]", "x [fake:error]", "x [fake:blocked]"} {
		if r := env.Generate(shop.LiveKey, map[string]any{"prompt": prompt}); r.Status < 400 {
			t.Fatalf("%s: %d", prompt, r.Status)
		}
	}
	timeout := env.Generate(shop.LiveKey, map[string]any{"prompt": "x [fake:sleep=5s]"}, "Prefer", "wait=1")
	if timeout.Status != 504 || timeout.Code != tryon.CodeGenerationTimeout {
		t.Fatalf("timeout: %d %s", timeout.Status, timeout.Body)
	}
	if l := readLedger(t, env, shop.Client.ID); *l.balance != 100_000 || l.reserved != 0 || l.charged != 0 || l.processing != 0 {
		t.Fatalf("ledger %+v", l)
	}
}

// TestAKilledRequestIsReleasedByTheNextRead admits a generation the way a
// request does and then abandons it, as a process killed by the platform
// would; time is moved past its deadline in the row itself.
func TestAKilledRequestIsReleasedByTheNextRead(t *testing.T) {
	balance := tryon.Micros(40_000)
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{BalanceMicros: &balance, MaxConcurrent: 1})
	ctx := context.Background()
	p, err := env.Store.FindPrincipal(ctx, keyDigest(t, shop.LiveKey))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := uuid.NewV7()
	r, err := env.Store.Admit(ctx, tryon.Admission{ID: id, KeyID: p.Key.ID, ClientID: shop.Client.ID,
		Mode: tryon.ModeLive, Service: tryon.ServiceBanana, Provider: "fake", Model: "fake-banana", Prompt: "killed",
		Width: 64, Height: 64, DefaultPrice: 40_000, Lifetime: time.Minute})
	if err != nil || r.Outcome != tryon.Admitted {
		t.Fatalf("admit: %v %+v", err, r)
	}
	// While it is held, the slot and the money are taken.
	if g := env.Generate(shop.LiveKey, map[string]any{"prompt": "x"}); g.Status != 429 || g.Code != tryon.CodeConcurrencyLimited || g.Header.Get("Retry-After") == "" {
		t.Fatalf("while held: %d %s", g.Status, g.Body)
	}
	if l := readLedger(t, env, shop.Client.ID); l.reserved != 40_000 {
		t.Fatalf("ledger %+v", l)
	}
	if _, err := env.Store.Pool().Exec(ctx, `UPDATE generations SET deadline = now() - interval '1 second' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	// Past its deadline it holds nothing, even before anyone reads it...
	if l := readLedger(t, env, shop.Client.ID); l.reserved != 0 || l.processing != 1 {
		t.Fatalf("past the deadline: %+v", l)
	}
	// ...and the next read finalises it.
	got := env.Do(http.MethodGet, "/generate/"+id.String(), shop.LiveKey, nil)
	g := got.Generation(t)
	if got.Status != 200 || g.Status != "failed" || g.Error.Code != tryon.CodeGenerationTimeout || g.CostMicros != 0 {
		t.Fatalf("read: %d %s", got.Status, got.Body)
	}
	if l := readLedger(t, env, shop.Client.ID); l.processing != 0 || *l.balance != 40_000 || l.charged != 0 {
		t.Fatalf("after the read: %+v", l)
	}
	if ok := env.Generate(shop.LiveKey, map[string]any{"prompt": "x"}); ok.Status != 200 {
		t.Fatalf("the slot and credit did not come back: %d %s", ok.Status, ok.Body)
	}
}

func TestConcurrencyLimitHoldsUnderLoad(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{MaxConcurrent: 2, RequestsPerMinute: 1000})
	rs := fire(10, func(i int) *apptest.Response {
		return env.Generate(shop.TestKey, map[string]any{"prompt": fmt.Sprintf("slow %d [fake:sleep=300ms]", i)})
	})
	got := statuses(rs)
	if got[200] < 2 || got[200]+got[429] != 10 {
		t.Fatalf("statuses %v", got)
	}
	for _, r := range rs {
		if r.Status == 429 && (r.Code != tryon.CodeConcurrencyLimited || r.Header.Get("Retry-After") == "") {
			t.Fatalf("429 without its code or Retry-After: %v %s", r.Header, r.Body)
		}
	}
	// Never more than 2 in flight: the rows' lifetimes overlap at most 2 deep.
	rows, err := env.Store.Pool().Query(context.Background(),
		`SELECT created_at, completed_at FROM generations WHERE client_id = $1`, shop.Client.ID)
	if err != nil {
		t.Fatal(err)
	}
	type event struct {
		at    time.Time
		delta int
	}
	var events []event
	for rows.Next() {
		var a, b time.Time
		if err := rows.Scan(&a, &b); err != nil {
			t.Fatal(err)
		}
		events = append(events, event{a, 1}, event{b, -1})
	}
	sort.Slice(events, func(i, j int) bool {
		if events[i].at.Equal(events[j].at) {
			return events[i].delta < events[j].delta
		}
		return events[i].at.Before(events[j].at)
	})
	depth, most := 0, 0
	for _, e := range events {
		depth += e.delta
		most = max(most, depth)
	}
	if most > 2 || len(events) != 2*got[200] {
		t.Fatalf("%d in flight at once (%d rows)", most, len(events)/2)
	}
}

// TestRateLimitIsSharedAcrossInstances runs two separate app instances on
// one database, as two Vercel function instances would be. At 5 a minute a
// key earns one request back every 12 s, far longer than the test runs.
func TestRateLimitIsSharedAcrossInstances(t *testing.T) {
	first := apptest.New(t, apptest.Options{})
	second := apptest.New(t, apptest.Options{DatabaseURL: first.App.Config.DatabaseURL})
	shop := first.Tenant(apptest.TenantOptions{RequestsPerMinute: 5})
	var statuses, remaining []string
	for i := range 8 {
		env := first
		if i%2 == 1 {
			env = second
		}
		r := env.Do(http.MethodGet, "/generations", shop.LiveKey, nil)
		var left, reset int
		if _, err := fmt.Sscanf(r.Header.Get("RateLimit"), `"minute";r=%d;t=%d`, &left, &reset); err != nil {
			t.Fatalf("RateLimit %q: %v", r.Header.Get("RateLimit"), err)
		}
		statuses = append(statuses, strconv.Itoa(r.Status))
		remaining = append(remaining, strconv.Itoa(left))
		// The full quota is back 12 s after each allowed request.
		if want := 12 * min(i+1, 5); reset > want || reset < want-2 {
			t.Errorf("request %d: the quota resets in %d s, want about %d", i+1, reset, want)
		}
		if r.Status == 429 && (r.Code != tryon.CodeRateLimited || r.Header.Get("Retry-After") == "") {
			t.Fatalf("429 without its code or Retry-After: %v", r.Header)
		}
	}
	if got := strings.Join(statuses, " "); got != "200 200 200 200 200 429 429 429" {
		t.Fatalf("statuses across two instances: %s", got)
	}
	if got := strings.Join(remaining, " "); got != "4 3 2 1 0 0 0 0" {
		t.Fatalf("remaining across two instances: %s", got)
	}
}

func keyDigest(t *testing.T, key string) [32]byte {
	t.Helper()
	k, err := apikeyParse(key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestEveryGenerateAnswerCarriesCreditsForPrepaidTenants(t *testing.T) {
	balance := tryon.Micros(100_000)
	env := apptest.New(t, apptest.Options{})
	prepaid := env.Tenant(apptest.TenantOptions{BalanceMicros: &balance, RequestsPerMinute: 3})
	postpaid := env.Tenant(apptest.TenantOptions{})
	answers := []*apptest.Response{
		env.Generate(prepaid.LiveKey, map[string]any{"prompt": "x"}),                                                                                        // 200
		env.Generate(prepaid.LiveKey, map[string]any{"width": 1}),                                                                                           // 400
		env.Generate(prepaid.LiveKey, `{"prompt":"x"}`, "Content-Type", "text/plain"),                                                                       // 415
		env.Generate(prepaid.LiveKey, map[string]any{"prompt": "x"}),                                                                                        // 429 rate limited
		env.Generate(prepaid.LiveKey, map[string]any{"prompt": "x", "person_image": "https://a.example/p.png", "garment_image": "https://a.example/g.png"}), // 429 at the precheck
	}
	for i, r := range answers {
		if got := r.Header.Get("X-Credits-Remaining"); got != "60000" {
			t.Errorf("answer %d (%d): X-Credits-Remaining %q, want 60000", i, r.Status, got)
		}
	}
	if r := env.Generate(postpaid.LiveKey, map[string]any{"width": 1}); r.Header.Get("X-Credits-Remaining") != "" {
		t.Errorf("a postpaid tenant got X-Credits-Remaining")
	}
	if st := answers[3].Status; st != 429 {
		t.Fatalf("the fourth answer is %d, want 429", st)
	}
}
